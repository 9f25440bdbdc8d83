"""The PDF report of an analysis, laid out with reportlab from the :class:`Analysis` alone.

Page 1 speaks to leadership: what each arm did in words, its verdict, the funnel figure,
and any warning that should stop a decision (no convergence, a failed data check). Then
come the table of effects, one posterior plot per metric, and an appendix with the data
checks, sampler diagnostics, priors, data fingerprint and provenance.

The report renders; it never fits or recomputes a statistic. Text uses reportlab's
built-in fonts only, so it passes through :func:`_sanitise` (WinAnsi characters only).
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections.abc import Sequence
from importlib import metadata
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from matplotlib.figure import Figure
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from channelab.checks import SRM_ALPHA
from channelab.diagnostics import ESS_MIN, RHAT_MAX
from channelab.effects import Effect
from channelab.files import write_atomic
from channelab.plots import (
    VERDICT_COLOURS,
    assurance_curve_figure,
    forest_figure,
    funnel_figure,
    interval_label,
    love_plot,
    metric_posterior_figure,
    overlap_figure,
    power_curve_figure,
    segment_figure,
    trace_figure,
)
from channelab.spec import MetricType, Priors, Spec
from channelab.verdicts import pct

if TYPE_CHECKING:
    from channelab.design import Design
    from channelab.pipeline import Analysis
    from channelab.power import MetricPower
    from channelab.replicate import ReplicationPlan

MARGIN = 1.8 * cm
_FRAME_PADDING = 6  # reportlab's default padding inside a page frame, in points
FRAME_WIDTH = A4[0] - 2 * MARGIN - 2 * _FRAME_PADDING
FRAME_HEIGHT = A4[1] - 2 * MARGIN - 2 * _FRAME_PADDING
#: Resolution of embedded figures: sharp in print, a few hundred kB per figure.
DPI = 170
#: A figure may shrink into the rest of a page down to this share of its best size, no further.
MIN_FIGURE_SCALE = 0.7

_RED = colors.HexColor("#b42318")
_AMBER_BG = colors.HexColor("#fff4d6")
_AMBER_EDGE = colors.HexColor("#bf8700")
_GREY = colors.HexColor("#57606a")
_UNRELIABLE = "#8c959f"
_RULE = colors.HexColor("#d0d7de")
_STRIPE = colors.HexColor("#f6f8fa")

# Characters outside WinAnsi that the text may hold, and what the built-in fonts show instead.
_REPLACEMENTS = str.maketrans(
    {
        "\u2212": "\u2013",  # minus sign -> en dash, the same width as digits
        "\u2011": "-",
        "\u2009": " ",
        "\u202f": " ",
        "\u2264": "<=",
        "\u2265": ">=",
        "\u2248": "~",
        "\u2192": "->",
    }
)

_PRIOR_MEANINGS = {
    "intercept_sd": "Spread of the control level on the link scale (log-odds for rates, log for "
    "counts and amounts), centred on the pooled observed level.",
    "arm_mu": "Where each arm's effect is centred before seeing data, on the link scale; 0 "
    "means no effect is expected (an earlier study's estimate may be entered instead).",
    "arm_sd": "How large an arm's effect may plausibly be on the link scale; 1 allows an arm "
    "to change odds or means up to about 7-fold either way.",
    "covariate_sd": "Spread of the stratum (covariate) effects, which sum to zero across the "
    "levels of each covariate.",
    "sigma_sd": "Half-normal scale for the spread of log amounts (revenue) or of standardised "
    "values (continuous); other metric types do not use it.",
    "dispersion_sd": "Half-normal scale for the overdispersion of counts under the negative "
    "binomial; other metric types do not use it.",
}


def write_pdf(analysis: Analysis, path: str | Path) -> Path:
    """Render ``analysis`` as the PDF report and write it atomically to ``path``.

    Parameters
    ----------
    analysis : Analysis
        A finished run; nothing is fitted or recomputed here.
    path : str or Path
        Where to write the PDF; missing folders are created.

    Returns
    -------
    Path
        The path written.
    """
    return write_atomic(Path(path), _build(analysis))


def _build(analysis: Analysis) -> bytes:
    """Lay out every section and return the PDF bytes (same analysis, same bytes)."""
    spec = analysis.spec
    st = _styles()
    story = [
        *_leadership_page(analysis, st),
        PageBreak(),
        *_replication_section(analysis, st),
        *_effects_section(analysis, st),
        *_posterior_section(analysis, st),
        PageBreak(),
        *_checks_section(analysis, st),
        *_matching_section(analysis, st),
        *_diagnostics_section(analysis, st),
        *_priors_section(analysis, st),
        *_provenance_section(analysis, st),
    ]
    return _render(
        story,
        title=spec.display_title,
        subject=spec.description.strip(),
        creator=f"channelab {analysis.provenance.get('channelab', '')}",
        footer=f"channelab  ·  {spec.name}  ·  {spec.display_title}",
    )


def _render(story: list[Flowable], *, title: str, subject: str, creator: str, footer: str) -> bytes:
    """Lay out ``story`` on A4 pages with the footer and return the PDF bytes (deterministic)."""
    buf = BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=_sanitise(title),
        author="channelab",
        subject=_sanitise(subject),
        creator=creator,
        invariant=1,
    )
    previous = rl_config.useA85
    rl_config.useA85 = 0  # embed images as binary: the pure-Python ASCII85 encoder costs seconds
    try:
        doc.build(story, canvasmaker=functools.partial(_FooterCanvas, footer=_sanitise(footer)))
    finally:
        rl_config.useA85 = previous
    return buf.getvalue()


# ---- design (channelab design) ------------------------------------------------------------


def write_plan_pdf(plan: ReplicationPlan, spec: Spec, path: str | Path) -> Path:
    """Render a replication plan (sample sizes, small telescopes, assurance) as a PDF, atomically."""
    st = _styles()
    a, b = plan.contrast
    story: list[Flowable] = [
        _para(f"Replication plan: {spec.display_title}", st["title"]),
        _para(f"Original: {plan.citation}", st["meta"]),
        Spacer(1, 0.3 * cm),
        _para(
            f"The claim to replicate: {a} beats {b} (original n = {plan.n_original[0]:g} and "
            f"{plan.n_original[1]:g}). Each table gives the participants per arm a two-sided test at "
            f"alpha = {spec.replication.alpha:g} needs to detect the original difference, half of it, "
            "and d33, the difference the original study had only 33 % power to detect (Simonsohn 2015). "
            f"Small telescopes: {plan.telescopes_n:,} per arm (2.5 × the original's) gives about 80 % "
            "power to reject d33 if the true effect is zero.",
            st["body"],
        ),
    ]
    for metric, table in plan.tables.items():
        binary = "h" in table.columns
        size = "h" if binary else "d"
        header = ["Effect", f"Cohen's {size}", "Difference", "Power", "Per arm", "Both arms"]
        if "decisive_if_real" in table.columns:
            header += ["Decisive if real", "Decisive if null"]
        rows = [header]
        for r in table.to_dict("records"):
            diff = (
                f"{100 * (r['p1'] - r['p2']):+.1f} pp" if binary else f"{spec.currency}{r['difference']:,.2f}"
            )
            row = [
                r["effect"],
                f"{r[size]:.3f}",
                diff,
                _percent(r["power"]),
                f"{r['n_per_arm']:,}",
                f"{r['n_total']:,}",
            ]
            if "decisive_if_real" in r:
                row += [_percent(r["decisive_if_real"]), _percent(r["decisive_if_null"])]
            rows.append(row)
        label = next(m.display for m in spec.metrics if m.name == metric)
        story += [
            Spacer(1, 0.3 * cm),
            _para(label, st["h1"]),
            _table(rows, [1.6, 1.5, 1.7, 1.1, 1.3, 1.4, 2.0, 2.0][: len(header)], st),
        ]
    if plan.curve is not None:
        story += [
            Spacer(1, 0.3 * cm),
            _para("Bayesian assurance of a decisive replication Bayes factor", st["h1"]),
            _figure(assurance_curve_figure(plan.curve, threshold=plan.bf_threshold)),
            _para(
                f"Share of simulated replications of {plan.curve_metric} whose BF_r0 is decisive: at least "
                f"{plan.bf_threshold:g} when the effect is real (rates drawn from the original study's "
                f"posterior, so small true effects are included) and at most 1/{plan.bf_threshold:g} when "
                "both arms share one rate. Power curves promise detection of one fixed effect; "
                "assurance averages over what the original study leaves uncertain.",
                st["small"],
            ),
        ]
    if plan.assumed:
        story += [
            Spacer(1, 0.3 * cm),
            _para("Assumed, not published", st["h1"]),
            *(_para(line, st["small"]) for line in plan.assumed),
        ]
    pdf = _render(
        story,
        title=f"Replication plan: {spec.display_title}",
        subject=plan.citation,
        creator="channelab",
        footer=f"channelab  ·  {spec.name}  ·  replication plan",
    )
    return write_atomic(Path(path), pdf)


def write_design_pdf(d: Design, path: str | Path) -> Path:
    """Render a :class:`~channelab.design.Design` as a short PDF and write it atomically."""
    spec, p = d.spec, d.power
    st = _styles()
    arms = ", ".join(f"{a} {_percent(share)}" for a, share in p.shares.items())
    unit = spec.unit.randomised_by or spec.unit.kind
    story: list[Flowable] = [
        _para(f"Design: {spec.display_title}", st["title"]),
        _para(
            f"Arms and planned shares: {arms} · randomised by {unit} · target lift "
            f"{pct(p.target_lift, sign=True)} · alpha = {p.alpha:g} two-sided"
            + (
                f", split over {p.comparisons} comparisons (Bonferroni)"
                if p.alpha_per_comparison < p.alpha
                else ""
            ),
            st["meta"],
        ),
        Spacer(1, 0.3 * cm),
    ]
    for m in p.metrics:
        story.append(_para(_design_sentence(d, m), st["lead"]))
        story.append(Spacer(1, 0.15 * cm))
    powers = [f"{_percent(q)}" for q in p.powers]
    rows = [
        ["Metric", "Baseline (control)", "Power", "Units, all arms", "Control arm", "Weeks", "MDE at plan"]
    ]
    for m in p.metrics:
        for q, label in zip(p.powers, powers, strict=True):
            rows.append(
                [
                    m.label,
                    _baseline_text(m, spec.currency),
                    label,
                    f"{m.n_total[q]:,}",
                    f"{m.n_control[q]:,}",
                    f"{m.weeks[q]:,}" if m.weeks else "–",
                    pct(m.mde[q], sign=True) if m.mde and math.isfinite(m.mde[q]) else "–",
                ]
            )
    story += [Spacer(1, 0.2 * cm), _table(rows, [2.4, 2.6, 1.0, 1.6, 1.4, 1.0, 1.4], st)]
    if p.n is not None:
        table = d.assurance.table if d.assurance is not None else None
        story += [Spacer(1, 0.3 * cm), _figure(power_curve_figure(p, assurance=table))]
    if d.assurance is not None:
        a = d.assurance
        rows = [["Metric", "True lift", "Units simulated", "Experiments", "channelab says real lift"]]
        labels = {m.metric: m.label for m in p.metrics}
        for r in a.rows:
            rows.append(
                [
                    labels[r.metric],
                    pct(r.lift, sign=True),
                    f"{a.n_total[r.metric]:,}",
                    f"{r.sims:,}",
                    f"{_percent(r.real_lift)} (± {_percent(2 * r.se)})",
                ]
            )
        story += [
            _para("Assurance: what channelab itself would conclude", st["h1"]),
            _table(rows, [2.4, 1.2, 1.6, 1.4, 2.6], st),
        ]
    story += [Spacer(1, 0.3 * cm), _para(_design_assumptions(d), st["small"])]
    return write_atomic(
        Path(path),
        _render(
            story,
            title=f"Design: {spec.display_title}",
            subject=spec.description.strip(),
            creator=f"channelab {d.provenance.get('channelab', '')}",
            footer=f"channelab design  ·  {spec.name}",
        ),
    )


def _design_sentence(d: Design, m: MetricPower) -> str:
    p, q = d.power, d.power.powers[0]
    text = (
        f"{m.label.capitalize()}: to detect a {pct(p.target_lift, sign=True)} lift with {_percent(q)} power, "
        f"the test needs {m.n_total[q]:,} units in all ({m.n_control[q]:,} in the control arm)"
    )
    if m.weeks:
        weeks = f"{m.weeks[q]} week{'s' if m.weeks[q] != 1 else ''}"
        text += f", about {weeks} at {d.spec.plan.units_per_week:,} a week"
    text += "."
    if m.mde is not None and p.n is not None:
        mde = m.mde[q]
        found = pct(mde, sign=True) if math.isfinite(mde) else "no lift of any size"
        text += f" With the planned {p.n:,}, the smallest lift it finds with {_percent(q)} power is {found}."
    if d.assurance is not None:
        parts = [
            f"{_percent(r.real_lift)} of experiments if the true lift is "
            + ("zero" if r.lift == 0 else pct(r.lift, sign=True))
            for r in d.assurance.rows
            if r.metric == m.metric
        ]
        text += " channelab's own verdict would be real lift in " + " and ".join(parts) + "."
    return text


def _percent(x: float) -> str:
    """A probability or share as a whole percentage, in the report's style: 0.8 -> '80 %'."""
    return f"{100 * x:.0f} %"


def _baseline_text(m: MetricPower, currency: str) -> str:
    b = m.baseline
    match m.type:
        case "binary":
            return f"{_level(m.control_mean, 'binary', currency)}"
        case "count":
            return f"{m.control_mean:.3g} per unit, overdispersion {b.overdispersion:.2g}"
        case "revenue":
            return f"{b.share:.1%} spend, {currency}{b.amount:,.0f} each (log-sd {b.amount_sd_log:.2g})"
        case _:
            return f"mean {m.control_mean:.3g}, sd {m.unit_sd:.3g}"


def _design_assumptions(d: Design) -> str:
    p = d.power
    sources = "; ".join(f"{m.label}: {m.baseline_source}" for m in p.metrics)
    text = (
        "How these numbers are made. Two-sided tests of each treatment against the control at "
        f"alpha = {p.alpha_per_comparison:.4g} per comparison: binary metrics by Cohen's h, counts by the "
        "negative-binomial log rate ratio, revenue by the difference in mean per unit (share who spend × "
        "lognormal amounts), continuous metrics by the t-test; solved with statsmodels. Baselines: "
        f"{sources}."
    )
    clustered = [m for m in p.metrics if m.design_effect > 1]
    if clustered:
        text += (
            " Whole clusters are randomised, so sample sizes are multiplied by the design effect "
            "1 + ((cv² + 1) m − 1) ICC: "
            + "; ".join(f"{m.label} {m.design_effect:.2f} (ICC {m.icc:.3g})" for m in clustered)
            + "."
        )
    if d.assurance is not None:
        text += (
            f" Assurance: experiments simulated from the baselines, each fitted with channelab's model "
            f"(no covariates) and read with its decision rule ({d.spec.decision.rule}, "
            f"{interval_label(d.spec.hdi_prob)}, ROPE per metric); a lift must clear the ROPE, so assurance "
            "is lower than the z-test's power for lifts near the ROPE."
        )
    return text


# ---- page 1: for leadership ---------------------------------------------------------------


def _leadership_page(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    spec, effects = analysis.spec, analysis.effects
    arms = ", ".join([f"{spec.control} (control)", *spec.treatments])
    cluster = spec.unit.randomised_by
    randomised = (
        f"randomised by {cluster} ({len(analysis.cells.clusters)} clusters; intervals allow for "
        "cluster-to-cluster variation)"
        if cluster
        else f"randomised by {spec.unit.kind}"
    )
    design = (
        f"{spec.design.capitalize()} experiment  ·  {analysis.cells.n_units:,} "
        f"{spec.unit.kind}s, {randomised}  ·  {len(spec.arms)} arms: {arms}"
    )
    if analysis.matching is not None:
        units = analysis.matching.matched.units
        kept = units[units["weight"] > 0]
        design = (
            f"Matched cohorts, not randomised  ·  effect on the treated (ATT)  ·  "
            f"{int(kept['treated'].sum()):,} of {int(units['treated'].sum()):,} treated {spec.unit.kind}s "
            f"matched to {int((~kept['treated']).sum()):,} untreated on {', '.join(spec.matching_covariates)}"
        )
    out: list[Flowable] = [
        _para(spec.display_title, st["title"]),
        _para(spec.description.strip(), st["lead"]),
        _para(design, st["meta"]),
        Spacer(1, 0.3 * cm),
    ]
    if not analysis.diagnostics.converged:
        out += [_not_converged_banner(analysis.diagnostics.problems, st), Spacer(1, 0.3 * cm)]
    if analysis.checks.warnings:
        messages = [f.message for f in analysis.checks.warnings]
        out += [_caveat_box(messages, st), Spacer(1, 0.3 * cm)]
    if analysis.replication is not None:
        r = analysis.replication
        out += [
            _para("Did the original effect replicate?", st["h1"]),
            _verdict_row(r.verdict, _esc(r.sentence), st, reliable=True),
            Spacer(1, 0.15 * cm),
            _para(f"Original: {r.citation}", st["small"]),
            Spacer(1, 0.2 * cm),
        ]
    out.append(_para("What each arm did", st["h1"]))
    for arm in effects.arms:
        heading = f"<b>{_esc(arm.arm)}</b> vs {_esc(spec.control)}"
        summary = f"{heading}<br/>{_esc(arm.summary)}"
        out += [
            _verdict_row(arm.verdict, summary, st, reliable=analysis.diagnostics.converged),
            Spacer(1, 0.15 * cm),
        ]
    mass = interval_label(effects.hdi_prob)
    figures = _funnel_figures(analysis)
    out += [
        KeepTogether([_para("The funnel at a glance", st["h1"]), _figure(figures[0])]),
        *(_figure(fig) for fig in figures[1:]),
        _para(
            f"How to read it: each bar is the {mass} of the lift against {spec.control}, the "
            "range that holds the true lift with that probability. The blue band marks changes too "
            "small to matter (the ROPE); the hatched grey bar is how far the lift would wander by "
            "chance alone at this sample size. A bar clear of both is a real movement. Engagement "
            "rows are shown for context: only outcome and revenue decide a real lift.",
            st["small"],
        ),
    ]
    return out


#: Arms per funnel figure: more would shrink every panel below reading size on an A4 page.
FUNNEL_ARMS_PER_FIGURE = 3


def _funnel_figures(analysis: Analysis) -> list[Figure]:
    """The funnel, a few arms per figure in one column, all on one lift scale."""
    spec, effects = analysis.spec, analysis.effects
    arms = spec.treatments
    groups = [arms[i : i + FUNNEL_ARMS_PER_FIGURE] for i in range(0, len(arms), FUNNEL_ARMS_PER_FIGURE)]
    figures = [funnel_figure(effects.for_arms(g), control=spec.control, ncols=1) for g in groups]
    limits = [fig.axes[0].get_xlim() for fig in figures]
    lo, hi = min(a for a, _ in limits), max(b for _, b in limits)
    for fig in figures:
        fig.axes[0].set_xlim(lo, hi)  # panels share x within a figure, so one call sets all
    return figures


def _not_converged_banner(problems: Sequence[str], st: dict[str, ParagraphStyle]) -> Table:
    listed = "; ".join(_esc(p) for p in problems)
    text = (
        "<b>NOT CONVERGED — do not act on these numbers.</b><br/>"
        f"The sampler failed its convergence checks: {listed}. Rerun with more tuning steps or "
        "draws (the sampler section of the experiment file) before reading any result below."
    )
    return _box(Paragraph(text, st["banner"]), background=_RED, edge=_RED)


def _caveat_box(messages: Sequence[str], st: dict[str, ParagraphStyle]) -> Table:
    text = "<b>Caveat from the data checks:</b> " + " ".join(_esc(m) for m in messages)
    return _box(Paragraph(text, st["body"]), background=_AMBER_BG, edge=_AMBER_EDGE)


def _verdict_row(verdict: str, markup: str, st: dict[str, ParagraphStyle], *, reliable: bool) -> Table:
    """Put a verdict badge beside a paragraph of plain language.

    The badge wears the verdict's colour, or a neutral grey marked unreliable when the
    sampler did not converge, so no green badge contradicts the red banner above it.
    """
    label = _esc(verdict.upper()) if reliable else f"{_esc(verdict.upper())}<br/>(unreliable)"
    badge = Paragraph(label, st["badge"])
    colour = {**VERDICT_COLOURS, **REPLICATION_COLOURS}[verdict] if reliable else _UNRELIABLE
    table = Table([[badge, Paragraph(markup, st["body"])]], colWidths=[3.2 * cm, FRAME_WIDTH - 3.2 * cm])
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (0, 0), colors.HexColor(colour)),
                ("VALIGN", (0, 0), (0, 0), "MIDDLE"),
                ("VALIGN", (1, 0), (1, 0), "TOP"),
                ("LEFTPADDING", (1, 0), (1, 0), 8),
            ]
        )
    )
    return table


# ---- replication ---------------------------------------------------------------------------

#: Badge colours of replication verdicts.
REPLICATION_COLOURS: dict[str, str] = {
    "replicated": VERDICT_COLOURS["real lift"],
    "not replicated": VERDICT_COLOURS["harm"],
    "inconclusive": VERDICT_COLOURS["inconclusive"],
}


def _bf(value: float) -> str:
    """A Bayes factor in words-friendly precision."""
    if value >= 1000:
        return "> 1,000"
    if value < 0.001:
        return "< 1/1,000"
    return f"{value:.3g}" if value >= 1 else f"1/{1 / value:.3g}"


def _replication_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """The original vs the replication: numbers used, forest plot, Bayes factors, verdicts."""
    r = analysis.replication
    if r is None:
        return []
    spec = analysis.spec
    a, b = r.contrast
    percent = [m.metric for m in r.metrics if m.type == "binary"]

    def diff(metric: str, value: float) -> str:
        return f"{100 * value:+.1f} pp" if metric in percent else f"{spec.currency}{value:+,.2f}"

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
    return [
        _para("Replication of the original study", st["h1"]),
        _para(f"{r.citation} {r.study}.", st["body"]),
        Spacer(1, 0.15 * cm),
        _verdict_row(r.verdict, _esc(r.sentence), st, reliable=True),
        Spacer(1, 0.2 * cm),
        _para(
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
        _table(bfs, [2.2, 2.6, 2.6, 2.4, 2.4, 1.3, 1.2, 1.9], st),
        Spacer(1, 0.2 * cm),
        _figure(forest_figure(r.contrasts, percent_metrics=percent)),
        _para(assumed, st["small"]),
        Spacer(1, 0.15 * cm),
        _table(numbers, [3.0, 3.5, 1.6, 8.7], st),
        PageBreak(),
    ]


# ---- effects and posteriors ---------------------------------------------------------------


def _effects_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    effects, currency = analysis.effects, analysis.spec.currency
    mass = interval_label(effects.hdi_prob)
    header = [
        "Arm",
        "Metric",
        "Role",
        "Control mean",
        "Arm mean",
        f"Lift ({mass})",
        "Change per unit",
        "P(lift>0)",
        "P(in ROPE)",
        "ROPE",
        "Verdict",
    ]
    rows = [[Paragraph(f"<b>{_esc(h)}</b>", st["cell"]) for h in header]]
    rows += [_effect_row(e, currency, st) for e in effects.effects]
    weights = [1.9, 1.9, 1.8, 1.35, 1.35, 2.3, 1.45, 1.3, 1.3, 1.1, 1.65]
    table = Table(rows, colWidths=_widths(weights), repeatRows=1)
    table.setStyle(_grid_style(_arm_stripes([e.arm for e in effects.effects])))
    note = (
        f"Lifts are relative to {analysis.spec.control} and come from the model, averaged over the "
        "experiment's own mix of strata; the control and arm means are the raw observed averages. "
        f"The interval is the {mass}: the true lift lies inside it with that probability. "
        "P(in ROPE) is the probability that the change is too small to matter. Change per unit "
        "is the absolute difference (pp = percentage points)."
    )
    return [
        _para("Effects, metric by metric", st["h1"]),
        table,
        Spacer(1, 0.2 * cm),
        _para(note, st["small"]),
        *_segments_section(analysis, st),
    ]


def _segments_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Per-segment lifts of the outcome and revenue metrics, when the spec asks (model.lift_by)."""
    segments = [g for g in analysis.effects.segments if g.role != "engagement"]
    if not segments:
        return []
    by = segments[0].segment
    mass = interval_label(analysis.effects.hdi_prob)
    header = ["Arm", "Metric", by, "Share of units", f"Lift ({mass})", "P(lift>0)", "Verdict"]
    rows = [[Paragraph(f"<b>{_esc(h)}</b>", st["cell"]) for h in header]]
    for g in segments:
        verdict = f'<font color="{VERDICT_COLOURS[g.verdict]}"><b>{_esc(g.verdict)}</b></font>'
        cells = [
            _esc(g.arm),
            _esc(g.label),
            _esc(g.level),
            _esc(f"{g.share:.0%}"),
            f"<b>{_esc(pct(g.lift.mean, sign=True))}</b> {_esc(_span(g.lift.lower, g.lift.upper))}",
            _esc(_prob(g.prob_positive)),
            verdict,
        ]
        rows.append([Paragraph(c, st["cell"]) for c in cells])
    table = Table(rows, colWidths=_widths([1.9, 2.0, 1.6, 1.3, 3.2, 1.3, 1.7]), repeatRows=1)
    table.setStyle(_grid_style(_arm_stripes([g.arm for g in segments])))
    note = (
        f"Arm effects may differ by {by}; each level's own effect is pooled toward the arm's "
        "overall effect, so a level with few units borrows strength from the rest."
    )
    return [
        Spacer(1, 0.4 * cm),
        _para(f"Lift by {by}", st["h1"]),
        _figure(segment_figure(analysis.effects, control=analysis.spec.control)),
        table,
        Spacer(1, 0.2 * cm),
        _para(note, st["small"]),
    ]


def _effect_row(e: Effect, currency: str, st: dict[str, ParagraphStyle]) -> list[Paragraph]:
    lift = f"<b>{_esc(pct(e.lift.mean, sign=True))}</b><br/>{_esc(_span(e.lift.lower, e.lift.upper))}"
    verdict = f'<font color="{VERDICT_COLOURS[e.verdict]}"><b>{_esc(e.verdict)}</b></font>'
    cells = [
        _esc(e.arm),
        _esc(e.label),
        _esc(e.role),
        _esc(_level(e.control_mean, e.type, currency)),
        _esc(_level(e.arm_mean, e.type, currency)),
        lift,
        _esc(_change(e.abs_lift.mean, e.type, currency)),
        _esc(_prob(e.prob_positive)),
        _esc(_prob(e.prob_in_rope)),
        _esc(_rope(e.rope)),
        verdict,
    ]
    return [Paragraph(c, st["cell"]) for c in cells]


def _posterior_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    spec = analysis.spec
    out: list[Flowable] = [
        Spacer(1, 0.4 * cm),
        _para("Lift posteriors, metric by metric", st["h1"]),
        _para(
            "Each row is one arm: the shaded curve is how plausible each lift is given the data, "
            "the thick bar its interval, the blue band the ROPE and the hatched bar the noise "
            "band.",
            st["body"],
        ),
    ]
    for m in spec.metrics_in_funnel_order:
        fig = metric_posterior_figure(analysis.effects, m.name, control=spec.control)
        out += [Spacer(1, 0.3 * cm), _figure(fig)]
    return out


# ---- appendix -----------------------------------------------------------------------------


def _matching_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Balance before and after matching, the love plot and the propensity overlap (matched designs)."""
    m = analysis.matching
    if m is None:
        return []
    spec, units = analysis.spec, m.matched.units
    cfg = spec.matching
    method = {
        "nearest": f"{cfg.ratio}:1 nearest neighbour on the logit propensity"
        + (f", caliper {cfg.caliper:g} SD" if cfg.caliper else "")
        + (", with replacement" if cfg.replace else ", without replacement"),
        "exact": "exact matching",
        "cem": f"coarsened exact matching ({cfg.bins} bins per number)",
    }[cfg.method]
    dropped = m.matched.dropped
    text = (
        f"No one randomised these {spec.unit.kind}s, so the comparison group is built by {method}"
        + (f", exactly on {', '.join(cfg.exact)}" if cfg.exact else "")
        + f". The effect is the one on the treated (ATT). {len(dropped):,} treated {spec.unit.kind}s found "
        "no comparable untreated one and are left out. Balance is required within "
        f"|SMD| {m.max_smd:g}" + (" (accepted beyond it by the spec)" if cfg.accept_imbalance else "") + ". "
        "The model is the one used for randomised tests, on the matched units with their matching "
        "weights, each group's weights scaled to its effective sample size."
    )
    rows = [["Covariate", "Level", "SMD before", "SMD after", "Variance ratio after"]]
    before, after = m.before, m.after
    for i in range(len(before)):
        ratio = float(after["variance_ratio"].iloc[i])
        rows.append(
            [
                str(before["covariate"].iloc[i]),
                str(before["level"].iloc[i]),
                f"{float(before['smd'].iloc[i]):+.3f}",
                f"{float(after['smd'].iloc[i]):+.3f}",
                "" if math.isnan(ratio) else f"{ratio:.2f}",
            ]
        )
    lost = m.dropped_by(spec.matching_covariates)
    lost = lost[lost["dropped"] > 0].sort_values("share", ascending=False)
    if len(lost):
        parts = zip(lost["covariate"], lost["level"], lost["dropped"], lost["treated"], strict=True)
        text += (
            " Left out, by segment: " + "; ".join(f"{c} {lv}: {n:,} of {t:,}" for c, lv, n, t in parts) + "."
        )
    out: list[Flowable] = [
        _para("Matching and balance", st["h1"]),
        _para(text, st["body"]),
        Spacer(1, 0.2 * cm),
        _table(rows, [2.5, 2.0, 1.5, 1.5, 2.0], st),
        Spacer(1, 0.2 * cm),
        _figure(love_plot(m.before, m.after, max_smd=m.max_smd)),
    ]
    if cfg.method == "nearest":
        out.append(
            _figure(
                overlap_figure(
                    units["propensity"].to_numpy(), units["treated"].to_numpy(), units["weight"].to_numpy()
                )
            )
        )
    return out


def _checks_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    checks = analysis.checks
    total = sum(checks.arm_counts.values())
    planned = analysis.spec.design != "matched"
    counts = [["Arm", "Units", "Share"] + (["Planned share", "Expected units"] if planned else [])]
    counts += [
        [arm, f"{n:,}", f"{100 * n / total:.2f} %"]
        + (
            [f"{100 * checks.planned_shares[arm]:.2f} %", f"{checks.planned_shares[arm] * total:,.0f}"]
            if planned
            else []
        )
        for arm, n in checks.arm_counts.items()
    ]
    findings = [["Severity", "Check", "Finding", "Rows"]]
    findings += [[f.severity, f.check, f.message, f"{f.count:,}"] for f in checks.findings]
    summary = f"{checks.n_rows:,} rows read; no row was dropped. " + (
        f"Sample-ratio test (chi-square of the arm sizes against the planned allocation): "
        f"p = {checks.srm_p:.3g}, flagged below {SRM_ALPHA:g}."
        if planned
        else "No sample-ratio test: in a matched design nobody planned the arm sizes. "
        "Arm sizes are those of the data before matching."
    )
    return [
        _para("Appendix A. Data checks", st["h1"]),
        _para(summary, st["body"]),
        Spacer(1, 0.2 * cm),
        _table(counts, [5.0, 2.5, 2.5, 3.0, 3.0][: len(counts[0])], st),
        Spacer(1, 0.3 * cm),
        _table(findings, [1.7, 2.8, 11.3, 1.6], st),
    ]


def _diagnostics_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    d = analysis.diagnostics
    gate = [
        ["Quantity", "Value", "Required", "Result"],
        [
            "R-hat (r_hat), largest",
            f"{d.rhat_max:.3f}",
            f"at most {RHAT_MAX}",
            _pass(d.rhat_max <= RHAT_MAX),
        ],
        [
            "Bulk ESS, smallest",
            f"{d.ess_bulk_min:,.0f}",
            f"at least {ESS_MIN}",
            _pass(d.ess_bulk_min >= ESS_MIN),
        ],
        [
            "Tail ESS, smallest",
            f"{d.ess_tail_min:,.0f}",
            f"at least {ESS_MIN} (advisory)",
            "ok" if d.ess_tail_min >= ESS_MIN else "low",
        ],
        ["Divergent transitions", f"{d.divergences:,}", "0", _pass(d.divergences == 0)],
        ["Chains × draws", f"{d.chains} × {d.draws:,}", "", ""],
    ]
    status = (
        "The convergence gate is passed: the posterior can be used."
        if d.converged
        else "NOT CONVERGED: " + "; ".join(d.problems) + "."
    )
    posterior = analysis.posterior["posterior"].to_dataset()
    arm_vars = [v for v in posterior.data_vars if str(v).endswith(":arm")]
    return [
        Spacer(1, 0.4 * cm),
        _para("Appendix B. Sampler diagnostics", st["h1"]),
        _para(
            f"Thresholds after Vehtari et al. (2021): R-hat at most {RHAT_MAX} and bulk ESS at "
            f"least {ESS_MIN} for every free parameter, and no divergent transitions. {status}",
            st["body"],
        ),
        Spacer(1, 0.2 * cm),
        _table(gate, [5.0, 3.0, 5.0, 3.0], st),
        Spacer(1, 0.3 * cm),
        _para("Arm effects (link scale: log-odds for rates, log for counts and amounts)", st["h2"]),
        _arm_parameter_table(analysis, st),
        KeepTogether(
            [
                _para("Trace and rank plots of the arm effects", st["h2"]),
                _figure(trace_figure(posterior, [str(v) for v in arm_vars])),
            ]
        ),
    ]


def _arm_parameter_table(analysis: Analysis, st: dict[str, ParagraphStyle]) -> Table:
    table = analysis.diagnostics.table
    rows = table[table.index.str.contains(":arm[", regex=False)]
    lb = next(c for c in table.columns if c.endswith("_lb"))
    ub = next(c for c in table.columns if c.endswith("_ub"))
    mass = interval_label(analysis.effects.hdi_prob)
    out = [["Parameter", "Mean", "SD", f"{mass} low", f"{mass} high", "ESS bulk", "ESS tail", "R-hat"]]
    out += [
        [
            str(name),
            f"{r['mean']:.3f}",
            f"{r['sd']:.3f}",
            f"{r[lb]:.3f}",
            f"{r[ub]:.3f}",
            f"{r['ess_bulk']:,.0f}",
            f"{r['ess_tail']:,.0f}",
            f"{r['r_hat']:.3f}",
        ]
        for name, r in rows.iterrows()
    ]
    return _table(out, [5.0, 1.5, 1.5, 2.0, 2.0, 1.6, 1.6, 1.4], st)


def _priors_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    spec = analysis.spec
    fields = list(_PRIOR_MEANINGS)
    meanings = [["Prior", "What it means"], *([f, _PRIOR_MEANINGS[f]] for f in fields)]
    values = [["Metric", *fields]]
    values += [
        [f"{m.display} ({m.type})", *(_prior_value(spec.priors_for(m), f) for f in fields)]
        for m in spec.metrics_in_funnel_order
    ]
    return [
        Spacer(1, 0.4 * cm),
        _para("Appendix C. Priors in force", st["h1"]),
        _para(
            "Weakly informative priors on each metric's link scale. Package defaults apply to "
            "every metric; the experiment file's priors override them, and a metric's own priors "
            "override those.",
            st["body"],
        ),
        Spacer(1, 0.2 * cm),
        _table(meanings, [2.6, 14.8], st),
        Spacer(1, 0.3 * cm),
        _table(values, [4.1, 2.1, 3.2, 1.6, 2.2, 1.8, 2.4], st),
    ]


def _provenance_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    data = analysis.data
    rendered = f"matplotlib {metadata.version('matplotlib')}, reportlab {metadata.version('reportlab')}"
    rows = [
        ["Item", "Value"],
        ["data file", str(data.get("path"))],
        ["data sha256", str(data.get("sha256"))],
        ["data size", f"{data.get('bytes', 0):,} bytes, {data.get('rows', 0):,} rows"],
        *([k, str(v)] for k, v in analysis.provenance.items()),
        ["report drawn with", rendered],
    ]
    return [
        Spacer(1, 0.4 * cm),
        _para("Appendix D. Data fingerprint and provenance", st["h1"]),
        _para("Enough to reproduce this report: the exact data, spec, seed and software.", st["body"]),
        Spacer(1, 0.2 * cm),
        _table(rows, [3.4, 14.0], st),
    ]


# ---- formatting ---------------------------------------------------------------------------


def _level(value: float, kind: MetricType, currency: str) -> str:
    """Format an observed mean per unit: rates in percent, money in the currency."""
    if kind == "binary":
        return f"{100 * value:.2f} %"
    if kind == "revenue":
        return f"{currency}{value:,.2f}"
    return f"{value:,.3g}"


def _change(value: float, kind: MetricType, currency: str) -> str:
    """Format a signed absolute lift: percentage points for rates, money for revenue."""
    sign = "+" if value >= 0 else "\u2212"
    if kind == "binary":
        return f"{sign}{abs(100 * value):.2f} pp"
    if kind == "revenue":
        return f"{sign}{currency}{abs(value):,.2f}"
    return f"{sign}{abs(value):,.3g}"


def _prob(p: float) -> str:
    """Format a probability in percent, never claiming a certainty the draws cannot show."""
    if p >= 0.9995:
        return ">99.9 %"
    if p < 0.0005:
        return "<0.1 %"
    return f"{100 * p:.1f} %"


def _span(lower: float, upper: float) -> str:
    return f"{pct(lower, sign=True)} to {pct(upper, sign=True)}"


def _rope(rope: tuple[float, float]) -> str:
    lo, hi = rope
    return f"±{pct(hi)}" if lo == -hi else _span(lo, hi)


def _prior_value(priors: Priors, name: str) -> str:
    value = getattr(priors, name)
    if isinstance(value, dict):
        return ", ".join(f"{arm}: {mu:g}" for arm, mu in value.items()) or "0 for every arm"
    return f"{value:g}"


def _pass(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def _sanitise(text: str) -> str:
    """Return text the built-in fonts can draw: symbols spelled out, accents dropped, else '?'.

    Helvetica in a PDF covers WinAnsi only; anything else would print as a black box.
    """
    return "".join(ch if _win_ansi(ch) else _fallback(ch) for ch in text.translate(_REPLACEMENTS))


def _win_ansi(ch: str) -> bool:
    try:
        ch.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _fallback(ch: str) -> str:
    plain = unicodedata.normalize("NFKD", ch).encode("cp1252", "ignore").decode("cp1252")
    return plain or "?"


def _esc(text: str) -> str:
    """Make plain text safe for a paragraph: sanitised, XML-escaped, unbroken before units."""
    return escape(_sanitise(text)).replace(" %", "\u00a0%").replace(" pp", "\u00a0pp")


# ---- building blocks ----------------------------------------------------------------------


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(_esc(text), style)


def _table(rows: list[list[str]], weights: list[float], st: dict[str, ParagraphStyle]) -> Table:
    """Lay out a plain grid of wrapping cells; the first row is the bold header."""
    header = [Paragraph(f"<b>{_esc(c)}</b>", st["cell"]) for c in rows[0]]
    body = [[Paragraph(_esc(c), st["cell"]) for c in row] for row in rows[1:]]
    table = Table([header, *body], colWidths=_widths(weights), repeatRows=1)
    table.setStyle(_grid_style([]))
    return table


def _widths(weights: list[float]) -> list[float]:
    """Share the text width among columns in proportion to ``weights`` (in points)."""
    total = sum(weights)
    return [FRAME_WIDTH * w / total for w in weights]


def _grid_style(extra: list[tuple[Any, ...]]) -> TableStyle:
    return TableStyle(
        [
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, _GREY),
            ("LINEBELOW", (0, 1), (-1, -1), 0.3, _RULE),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            *extra,
        ]
    )


def _arm_stripes(arms: list[str]) -> list[tuple[Any, ...]]:
    """Shade every other arm's block of rows (row 0 is the header)."""
    order = list(dict.fromkeys(arms))
    return [
        ("BACKGROUND", (0, i), (-1, i), _STRIPE)
        for i, arm in enumerate(arms, start=1)
        if order.index(arm) % 2
    ]


def _box(content: Flowable, *, background: colors.Color, edge: colors.Color) -> Table:
    table = Table([[content]], colWidths=[FRAME_WIDTH])
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), background),
                ("BOX", (0, 0), (-1, -1), 1, edge),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


def _figure(fig: Figure) -> Flowable:
    """Embed ``fig`` as a PNG the width of the text, free to shrink into the rest of a page."""
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    buf.seek(0)
    w, h = fig.get_size_inches()
    return _FitImage(buf, width=FRAME_WIDTH, height=FRAME_WIDTH * h / w)


class _FitImage(Image):
    """An image that shrinks to fit the space left on a page, but not below a readable size."""

    def __init__(self, buf: BytesIO, *, width: float, height: float) -> None:
        super().__init__(buf, width=width, height=height)
        self._full = (width, height)

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        w, h = self._full
        best = min(1.0, availWidth / w, FRAME_HEIGHT / h)  # on a page of its own
        scale = min(best, availHeight / h)
        if scale < MIN_FIGURE_SCALE * best:  # too small here: wait for the next page
            scale = best
        self.drawWidth, self.drawHeight = w * scale, h * scale
        return self.drawWidth, self.drawHeight


class _FooterCanvas(Canvas):
    """A canvas that holds pages back until the end, so each footer can say 'page n of N'."""

    def __init__(self, *args: Any, footer: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self.setFont("Helvetica", 7.5)
            self.setFillColor(_GREY)
            self.drawString(MARGIN, MARGIN / 2, self._footer)
            self.drawRightString(A4[0] - MARGIN, MARGIN / 2, f"page {number} of {len(self._pages)}")
            super().showPage()
        super().save()


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontSize=9.5, leading=12.5)
    return {
        "title": ParagraphStyle("title", parent=base["Title"], alignment=TA_LEFT, fontSize=20, leading=24),
        "lead": ParagraphStyle("lead", parent=body, fontSize=11, leading=14.5),
        "meta": ParagraphStyle("meta", parent=body, fontSize=9, textColor=_GREY),
        "h1": ParagraphStyle("h1", parent=base["Heading1"], fontSize=13.5, leading=17, spaceBefore=8),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontSize=11, leading=14, spaceBefore=6),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10.5, textColor=_GREY),
        "cell": ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9.5),
        "badge": ParagraphStyle(
            "badge",
            parent=body,
            fontName="Helvetica-Bold",
            fontSize=10,
            leading=12,
            textColor=colors.white,
            alignment=TA_CENTER,
        ),
        "banner": ParagraphStyle("banner", parent=body, fontSize=10.5, leading=14, textColor=colors.white),
    }
