"""A many-lab replication in the PDF: its page-1 verdict and its section (forest plots, tables).

Page 1 (:func:`labs_verdict`, called by :mod:`~channelab.reporting.pdf.leadership`) leads with
the judgement on the pooled evidence and the conditions that licence its words; the section
(:func:`labs_section`, called by :mod:`~channelab.reporting.pdf.replication`) shows per metric
each lab's own estimate and shrunken true effect, the pooled mean, a new lab's range and the
original study, then the pooled numbers in one table. Nothing is recomputed here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from channelab.reporting.pdf.layout import esc, figure_flowable, fmt_change, grid_table, para, verdict_row
from channelab.reporting.plots.replication import labs_forest_figure

if TYPE_CHECKING:
    from channelab.pipeline import Analysis
    from channelab.replication.judge import Estimate
    from channelab.replication.labs import LabsMetric, LabsResult
    from channelab.spec import MetricType

__all__ = ["labs_section", "labs_verdict", "labs_words"]


def labs_verdict(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Page 1: the verdict on the pooled evidence, its licence, and the stacked replication's beside it.

    Parameters
    ----------
    analysis
        A finished analysis with a many-lab replication (``analysis.labs``).
    st
        The document's styles.
    """
    labs, r = analysis.labs, analysis.replication
    if labs is None:
        return []
    head = labs.head
    out: list[Flowable] = [
        para(f"Did the effect replicate across {labs.n_labs} labs?", st["h1"]),
        verdict_row(head.judged.verdict, esc(labs.sentence), st, reliable=labs.converged),
        Spacer(1, 0.15 * cm),
        para(labs.licence, st["small"]),
    ]
    if not labs.converged:
        out.append(
            para(
                "The pooled model did not pass the convergence gate ("
                + "; ".join(labs.problems)
                + "), so the verdict is marked unreliable.",
                st["small"],
            )
        )
    if r is not None:
        out.append(
            para(
                f"Every lab's rows stacked as one replication, ignoring how the labs differ: {r.verdict}. "
                "The pooled judgement above is the one to quote.",
                st["small"],
            )
        )
    return [*out, Spacer(1, 0.1 * cm), para(f"Original: {labs.citation}", st["small"]), Spacer(1, 0.2 * cm)]


def labs_words(analysis: Analysis) -> list[str]:
    """The page-1 texts of a many-lab replication, for the page's glossary.

    Parameters
    ----------
    analysis
        A finished analysis.
    """
    labs = analysis.labs
    return [] if labs is None else [labs.sentence, labs.licence]


def labs_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """The labs one by one and pooled: a forest plot and a table per metric, then the pooled numbers.

    Parameters
    ----------
    analysis
        A finished analysis; nothing is drawn without a many-lab replication.
    st
        The document's styles.
    """
    labs = analysis.labs
    if labs is None:
        return []
    a, b = labs.contrast
    out: list[Flowable] = [
        para(f"Replication across {labs.n_labs} labs", st["h1"]),
        para(
            f"Each lab's difference {a} − {b} is the one a replication of that lab alone reports: the "
            "difference in means with its normal-approximation standard error. The labs are pooled by a "
            "hierarchical model (each lab's true effect drawn around a mean μ with a spread tau between "
            "labs; "
            "the programme model of channelab learn, on the difference scale), so each lab's true effect "
            "is shrunk toward the others by as much as its own data leave uncertain. The pooled evidence "
            "is μ's posterior, read as a normal with its mean and sd, and judged against the original "
            "exactly as one replication is (BF_r0, sceptical prior, ROPE). The section after this one "
            "judges every lab's rows stacked as one replication, ignoring how the labs differ.",
            st["small"],
        ),
        Spacer(1, 0.2 * cm),
        _pooled_table(labs, analysis, st),
        Spacer(1, 0.3 * cm),
    ]
    ordered = sorted(labs.metrics, key=lambda m: m.metric != labs.primary)
    for m in ordered:
        out += _metric_block(m, b, analysis, st)
    if labs.warnings:
        out += [para("The labs' data checks warned:", st["small"])]
        out += [para(w, st["small"]) for w in labs.warnings]
    return [*out, *_data_table(labs, st)]


def _data_table(labs: LabsResult, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Each lab's data: the file as the spec names it (or its summaries), rows and SHA-256."""
    rows = [["Lab", "Data", "Rows", "SHA-256"]]
    for lab, d in zip(labs.head.labs, labs.data, strict=True):
        source = str(d.get("path") or d.get("summaries") or "")
        sha = str(d.get("sha256", ""))
        rows.append([lab.lab, source, f"{d.get('rows', '')}", sha[:16] + ("..." if sha else "")])
    if len(rows) == 1:
        return []
    return [
        Spacer(1, 0.2 * cm),
        KeepTogether([para("Each lab's data", st["small"]), grid_table(rows, [3.0, 7.4, 1.6, 4.4], st)]),
    ]


def _kind(m: LabsMetric) -> MetricType:
    return "binary" if m.type == "binary" else "revenue"


def _fmt(m: LabsMetric, value: float, currency: str) -> str:
    return fmt_change(value, _kind(m), currency, decimals=1)


def _iv(m: LabsMetric, e: Estimate, currency: str) -> str:
    return f"{_fmt(m, e.mean, currency)} [{_fmt(m, e.lower, currency)}, {_fmt(m, e.upper, currency)}]"


def _spread_value(m: LabsMetric, e: Estimate, currency: str) -> str:
    """τ without a sign: it is a spread, never a direction."""
    return _iv(m, e, currency).replace("+", "")


def _pooled_table(labs: LabsResult, analysis: Analysis, st: dict[str, ParagraphStyle]) -> Flowable:
    """One row per metric: μ, τ, a new lab, the share beyond the ROPE, BF_r0 and the verdicts."""
    cur, pct = analysis.spec.currency, f"{100 * analysis.spec.hdi_prob:.0f} %"
    rows = [
        [
            "Metric",
            f"Pooled mean μ, {pct}",
            "Spread between labs, tau",
            "A new lab",
            "Labs beyond ROPE",
            "BF_r0",
            "Verdict",
            "Labs",
        ]
    ]
    for m in labs.metrics:
        s = m.beyond_rope
        rows.append(
            [
                m.label,
                _iv(m, m.mu, cur),
                _spread_value(m, m.tau, cur),
                f"{_fmt(m, m.prediction.lower, cur)} to {_fmt(m, m.prediction.upper, cur)}",
                f"{100 * s.mean:.0f} % [{100 * s.lower:.0f}, {100 * s.upper:.0f}]",
                _bf(m.judged.bf_r0),
                m.verdict_words,
                m.spread,
            ]
        )
    return grid_table(rows, [2.6, 2.8, 2.4, 2.4, 2.0, 1.2, 2.2, 1.9], st)


def _bf(value: float) -> str:
    if value >= 1000:
        return "> 1,000"
    if value < 0.001:
        return "< 1/1,000"
    return f"{value:.3g}" if value >= 1 else f"1/{1 / value:.3g}"


def _metric_block(m: LabsMetric, b: str, analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """One metric: the forest plot with its caption, then the labs' table (``b``: arm b of the contrast)."""
    cur = analysis.spec.currency
    r = analysis.replication
    original = r.get(m.metric).original if r is not None else m.judged.original
    caption = para(
        f"{m.label}: each lab's own estimate (open circle) and its true effect after pooling (filled "
        "dot, shrunk toward the mean), the pooled mean μ (diamond) and where a new lab's true effect "
        f"would lie (dashed), against the original study (square, 95 % interval; dotted line). The "
        f"shaded band is the ROPE at the pooled mean of {b}.",
        st["small"],
    )
    figure = figure_flowable(
        labs_forest_figure(
            m, percent=m.type == "binary", original=original, unit=cur if m.type == "revenue" else ""
        ),
        caption,
    )
    rows = [["Lab", "n per arm", "Own estimate", "True effect, pooled"]]
    for lab in m.labs:
        n = f"{lab.n[0]:,}" if lab.n[0] == lab.n[1] else f"{lab.n[0]:,} / {lab.n[1]:,}"
        rows.append([lab.lab, n, _iv(m, lab.observed, cur), _iv(m, lab.shrunken, cur)])
    table = KeepTogether([grid_table(rows, [3.0, 2.0, 5.2, 5.2], st)])
    return [figure, Spacer(1, 0.15 * cm), table, Spacer(1, 0.3 * cm)]
