"""Replication pages: the section of an analysis report, and the replication plan's own PDF."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import Flowable, KeepTogether, PageBreak, Spacer, Table

from channelab.reporting.pdf.labs import labs_section
from channelab.reporting.plots.replication import assurance_curve_figure, forest_figure
from channelab.reporting.plots.style import interval_label
from channelab.spec import Spec

if TYPE_CHECKING:
    import pandas as pd

    from channelab.pipeline import Analysis
    from channelab.replication.plan import ReplicationPlan
    from channelab.spec import MetricType
from channelab.reporting.pdf.layout import (
    esc,
    figure_flowable,
    fmt_change,
    fmt_level,
    fmt_percent,
    grid_table,
    literal_text,
    para,
    provenance_block,
    render,
    styles,
    verdict_row,
)
from channelab.reporting.pdf.leadership import glossary_box


@literal_text
def plan_pdf(plan: ReplicationPlan, spec: Spec) -> bytes:
    """A replication plan (sample sizes, small telescopes, assurance) as a PDF.

    Parameters
    ----------
    plan
        The plan (:func:`channelab.replication.plan.plan`); nothing is recomputed here.
    spec
        The experiment it plans, for its title, metric labels, currency and replication settings.

    Returns
    -------
    bytes
        The PDF document: the claim, one sample-size table per metric, the assurance curve, the
        numbers assumed rather than published, and the provenance.
    """
    st = styles()
    a, b = plan.contrast
    claim = (
        f"The claim to replicate: {a} beats {b} (original n = {plan.n_original[0]:g} and "
        f"{plan.n_original[1]:g}). Each table gives the participants per arm a two-sided test at "
        f"alpha = {spec.replication.alpha:g} needs to detect the original difference, half of it, "
        "and d33, the difference the original study had only 33 % power to detect (Simonsohn 2015). "
        f"Small telescopes: {plan.telescopes_n:,} per arm (2.5 × the original's) gives about 80 % "
        "power to reject d33 if the true effect is zero."
    )
    headers = "Cohen's h Cohen's d Decisive if real Decisive if null"
    story: list[Flowable] = [
        para(f"Replication plan: {spec.display_title}", st["title"]),
        para(f"Original: {plan.citation}", st["meta"]),
        Spacer(1, 0.3 * cm),
        *glossary_box([claim, headers], st),
        para(claim, st["body"]),
    ]
    for metric, table in plan.tables.items():
        label = next(m.display for m in spec.metrics if m.name == metric)
        story += [Spacer(1, 0.3 * cm), para(label, st["h1"]), _sample_size_table(table, spec, st)]
    story += _assurance_curve_section(plan, st)
    if plan.assumed:
        story += [
            Spacer(1, 0.3 * cm),
            para("Assumed, not published", st["h1"]),
            *(para(line, st["small"]) for line in plan.assumed),
        ]
    story += provenance_block(plan.provenance, st)
    return render(
        story,
        title=f"Replication plan: {spec.display_title}",
        subject=plan.citation,
        creator=f"channelab {plan.provenance.channelab}",
        footer=f"channelab  ·  {spec.name}  ·  replication plan",
    )


def _sample_size_table(table: pd.DataFrame, spec: Spec, st: dict[str, ParagraphStyle]) -> Table:
    """One metric's effects to detect, each with its effect size, power and participants needed."""
    binary = "h" in table.columns
    size = "h" if binary else "d"
    header = ["Effect", f"Cohen's {size}", "Difference", "Power", "Per arm", "Both arms"]
    if "decisive_if_real" in table.columns:
        header += ["Decisive if real", "Decisive if null"]
    rows = [header]
    for r in table.to_dict("records"):
        diff = (
            fmt_change(r["p1"] - r["p2"], "binary", spec.currency, decimals=1)
            if binary
            else fmt_level(r["difference"], "revenue", spec.currency)
        )
        row = [
            r["effect"],
            f"{r[size]:.3f}",
            diff,
            fmt_percent(r["power"]),
            f"{r['n_per_arm']:,}",
            f"{r['n_total']:,}",
        ]
        if "decisive_if_real" in r:
            row += [fmt_percent(r["decisive_if_real"]), fmt_percent(r["decisive_if_null"])]
        rows.append(row)
    return grid_table(rows, [1.6, 1.5, 1.7, 1.1, 1.3, 1.4, 2.0, 2.0][: len(header)], st)


def _assurance_curve_section(plan: ReplicationPlan, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """The chance of a decisive replication Bayes factor by sample size (when simulated)."""
    if plan.curve is None:
        return []
    return [
        Spacer(1, 0.3 * cm),
        para("Bayesian assurance of a decisive replication Bayes factor", st["h1"]),
        figure_flowable(
            assurance_curve_figure(plan.curve, threshold=plan.bf_threshold),
            caption=para(
                f"Share of simulated replications of {plan.curve_metric} whose BF_r0 is decisive: at least "
                f"{plan.bf_threshold:g} when the effect is real (rates drawn from the original study's "
                f"posterior, so small true effects are included) and at most 1/{plan.bf_threshold:g} when "
                "both arms share one rate. Power curves promise detection of one fixed effect; "
                "assurance averages over what the original study leaves uncertain.",
                st["small"],
            ),
        ),
    ]


def _bf(value: float) -> str:
    """A Bayes factor in words-friendly precision."""
    if value >= 1000:
        return "> 1,000"
    if value < 0.001:
        return "< 1/1,000"
    return f"{value:.3g}" if value >= 1 else f"1/{1 / value:.3g}"


def replication_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """The original vs the replication: numbers used, forest plot, Bayes factors, verdicts."""
    r = analysis.replication
    if r is None:
        return []
    spec = analysis.spec
    a, b = r.contrast
    percent = [m.metric for m in r.metrics if m.type == "binary"]

    def diff(metric: str, value: float) -> str:
        kind: MetricType = "binary" if metric in percent else "revenue"
        return fmt_change(value, kind, spec.currency, decimals=1)

    def interval(metric: str, e: Any) -> str:
        return f"{diff(metric, e.mean)} [{diff(metric, e.lower)}, {diff(metric, e.upper)}]"

    numbers = [["Arm", "Quantity", "Value", "Source"]]
    numbers += [
        [arm, q, f"{v:g}", "published" if why is None else f"assumed: {why}"] for arm, q, v, why in r.reported
    ]
    assumed = (
        "Some of the original's numbers were not published; the experiment file assumes them, as "
        "marked below, and every original-study figure on this page rests on those assumptions."
        if r.mixes_assumed
        else "Every number of the original below is as published."
    )
    bfs = [
        [
            "Metric",
            f"Original ({a} − {b}), 95 %",
            f"Replication, {interval_label(spec.hdi_prob)}",
            "Informed prior",
            "Sceptical prior",
            "BF_r0",
            "P(in ROPE)",
            "Verdict",
        ]
    ]
    for m in r.metrics:
        bfs.append(
            [
                m.label,
                interval(m.metric, m.original),
                interval(m.metric, m.replication),
                interval(m.metric, m.informed),
                interval(m.metric, m.sceptical),
                _bf(m.bf_r0),
                f"{m.prob_in_rope:.2f}",
                m.verdict,
            ]
        )
    methods = "; ".join(f"{m.label}: {m.method}" for m in r.metrics)
    stacked = " (every lab's rows stacked)" if analysis.labs is not None else ""
    return [
        *labs_section(analysis, st),
        para(f"Replication of the original study{stacked}", st["h1"]),
        para(f"{r.citation} {r.study}.", st["body"]),
        Spacer(1, 0.15 * cm),
        verdict_row(r.verdict, esc(r.sentence), st, reliable=True),
        Spacer(1, 0.2 * cm),
        para(
            f"The claim tested: {a} beats {b}. BF_r0 (Verhagen & Wagenmakers 2014) says how many times "
            "better the original's effect predicts the replication data than no effect does; above "
            f"{r.bf_threshold:g} the effect replicated, below 1/{r.bf_threshold:g} it did not. The "
            "informed prior is the original study's posterior; the sceptical prior is centred on no "
            "difference, with the original difference at its 95th percentile. P(in ROPE) is the "
            "probability, under the sceptical prior, that the difference is too small to matter; at "
            f"{spec.replication.equivalence:g} or more the effect did not replicate. Methods: {methods}.",
            st["small"],
        ),
        Spacer(1, 0.2 * cm),
        grid_table(bfs, [2.2, 2.6, 2.6, 2.4, 2.4, 1.3, 1.2, 1.9], st),
        Spacer(1, 0.2 * cm),
        figure_flowable(forest_figure(r.contrasts, percent_metrics=percent)),
        # the note and its short table move together rather than leave a row alone on a page
        KeepTogether(
            [para(assumed, st["small"]), Spacer(1, 0.15 * cm), grid_table(numbers, [3.0, 3.5, 1.6, 8.7], st)]
        ),
        PageBreak(),
    ]
