"""The effects pages of an analysis report: the table of effects, its notes, and the posteriors.

After page 1 come the table of every arm's effect on every metric (with a note on the model
behind each figure), the lifts with and without the pre-period adjustment, the lifts per
segment (``model.lift_by``), and one posterior figure per metric.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import Flowable, Paragraph, Spacer

from channelab.analysis.descriptive_wording import ratio_change, ratio_level
from channelab.analysis.wording import join_words, pct
from channelab.likelihoods import replaced
from channelab.reporting.pdf.layout import (
    GridTable,
    arm_stripes,
    col_widths,
    esc,
    figure_flowable,
    fmt_change,
    fmt_level,
    fmt_prob,
    fmt_rope,
    fmt_span,
    grid_style,
    para,
)
from channelab.reporting.plots.effects import metric_posterior_figure, row_words, segment_figure
from channelab.reporting.plots.style import EXPLAINS, VERDICT_COLOURS, interval_label
from channelab.spec import DECISIVE_ROLES, DESCRIPTIVE_TYPES

if TYPE_CHECKING:
    from channelab.analysis.results import Effect, Interval
    from channelab.pipeline import Analysis
    from channelab.spec import Metric


def effects_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """The table of effects, metric by metric, with its note, the adjustment and the segments."""
    effects, currency = analysis.effects, analysis.spec.currency
    mass = interval_label(effects.hdi_prob)
    header = [
        "Arm",
        "Metric",
        "Role",
        "Control mean",
        "Arm mean",
        f"Lift ({mass})",
        f"Change per unit ({mass})",
        "P(arm > control)",
        "P(in ROPE)",
        "ROPE",
        "Verdict",
    ]
    rows = [[Paragraph(f"<b>{esc(h)}</b>", st["cell"]) for h in header]]
    rows += [_effect_row(e, currency, st) for e in effects.effects]
    weights = [1.55, 1.8, 1.8, 1.25, 1.25, 2.0, 2.0, 1.35, 1.2, 1.1, 1.95]  # 'inconclusive' on one line
    table = GridTable(rows, colWidths=col_widths(weights), repeatRows=1)
    table.setStyle(grid_style(arm_stripes([e.arm for e in effects.effects])))
    note = (
        f"Lifts are relative to {analysis.spec.control} and come from the model, averaged over the "
        "experiment's own mix of strata; the control and arm means are the raw observed averages. "
        f"Each interval is the equal-tailed {mass}: the true value lies inside it with that "
        "probability. Change per unit is the difference of the means (pp = percentage points), the "
        "quantity every verdict and probability is computed from; the relative lift is the same "
        "event on the ratio scale, so the two intervals agree about zero. Where the control's mean is "
        "not clearly above zero the relative lift is not defined and only the change per unit is "
        "shown. P(arm > control) is the probability that the arm's mean per unit is above the "
        "control's; P(in ROPE) that the change is too small to matter."
        + (
            " A metric named 'among' an earlier stage is a share of that stage's units: it describes "
            "whom an arm drew in and never decides an arm; the same outcome 'per' unit, listed with "
            "it, does."
            if any(e.conditional and e.type not in DESCRIPTIVE_TYPES for e in effects.effects)
            else ""
        )
        + (
            " A ratio (Σ numerator / Σ denominator per arm, e.g. revenue per meeting) describes and "
            "never decides an arm, as it can rise because its denominator falls; its means and change "
            "are those of the ratio, per unit of its denominator, not per unit."
            if any(e.type == "ratio" for e in effects.effects)
            else ""
        )
        + (
            " A quantile (the q-quantile of a column's values per arm, e.g. the median deal) describes "
            "and never decides an arm; its means are the arms' own quantiles and its change their "
            "difference, from the Bayesian bootstrap of each arm's units, outside the model."
            if any(e.type == "quantile" for e in effects.effects)
            else ""
        )
        + "".join(f" {note}" for m in analysis.spec.metrics if (note := _model_note(m, analysis)))
    )
    return [
        para("Effects, metric by metric", st["h1"]),
        table,
        Spacer(1, 0.2 * cm),
        para(note, st["small"]),
        *_adjustment_section(analysis, st),
        *_segments_section(analysis, st),
    ]


def _role(e: Effect) -> str:
    """The row's funnel role, and under it why a ratio or a share among a stage only describes."""
    if e.type in DESCRIPTIVE_TYPES:
        return f"{esc(e.role)}<br/><i>{e.type}: describes only</i>"
    return f"{esc(e.role)}<br/><i>share: explains only</i>" if e.conditional else esc(e.role)


def _level(e: Effect, x: float, currency: str) -> str:
    """An observed mean: a ratio's as in its sentence (money for a ratio of money), else :func:`fmt_level`."""
    return ratio_level(e, x, currency) if e.type in DESCRIPTIVE_TYPES else fmt_level(x, e.type, currency)


def _change(e: Effect, x: float, currency: str) -> str:
    """A signed difference: a ratio's as in its sentence, else :func:`fmt_change`."""
    return ratio_change(e, x, currency) if e.type in DESCRIPTIVE_TYPES else fmt_change(x, e.type, currency)


def _effect_row(e: Effect, currency: str, st: dict[str, ParagraphStyle]) -> list[Paragraph]:
    if e.relative_defined:
        lift = f"<b>{esc(pct(e.lift.mean, sign=True))}</b><br/>{esc(fmt_span(e.lift.lower, e.lift.upper))}"
    else:
        lift = "<b>not defined</b><br/>control mean not clearly above 0"
    d = e.abs_lift
    change = (
        f"<b>{esc(_change(e, d.mean, currency))}</b><br/>"
        f"{esc(_change(e, d.lower, currency))} to {esc(_change(e, d.upper, currency))}"
    )
    colour, words = (EXPLAINS, row_words(e)) if e.conditional else (VERDICT_COLOURS[e.verdict], e.verdict)
    verdict = f'<font color="{colour}"><b>{esc(words)}</b></font>'
    cells = [
        esc(e.arm),
        esc(e.label),
        _role(e),
        esc(_level(e, e.control_mean, currency)),
        esc(_level(e, e.arm_mean, currency)),
        lift,
        change,
        esc(fmt_prob(e.prob_positive)),
        esc(fmt_prob(e.prob_in_rope)),
        esc(fmt_rope(e.rope)),
        verdict,
    ]
    return [Paragraph(c, st["cell"]) for c in cells]


def _model_note(metric: Metric, analysis: Analysis) -> str:
    """Which model a figure comes from, in a sentence, where it is not the obvious one."""
    row = metric.likelihood
    if metric.name in analysis.checks.fallbacks:
        used = analysis.checks.fallbacks[metric.name].replace("_", " ")
        return (
            f"{metric.display.capitalize()} is fitted as {used}, not the {replaced(row).label} the spec "
            "asks for: the data lack the statistics it needs (see the data checks)."
        )
    return f"{metric.display.capitalize()} is modelled {row.modelled_as}." if row.modelled_as else ""


def _adjustment_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Each lift with and without the pre-period adjustment, and how each metric was adjusted."""
    a = analysis.adjustment
    if a is None:
        return []
    mass = interval_label(analysis.effects.hdi_prob)
    header = ["Arm", "Metric", "How", "R²", f"Lift, adjusted ({mass})", "Without adjustment", "Width ratio"]
    rows = [[Paragraph(f"<b>{esc(h)}</b>", st["cell"]) for h in header]]
    for x in a.lifts:
        cells = [
            esc(x.arm),
            esc(x.label),
            "slopes (exact)" if a.methods[x.metric] == "exact" else "strata",
            esc(pct(a.r_squared[x.metric])),
            f"<b>{_lift_text(x.adjusted)}</b>",
            _lift_text(x.unadjusted),
            esc(f"{x.width_ratio:.2f}"),
        ]
        rows.append([Paragraph(c, st["cell"]) for c in cells])
    table = GridTable(rows, colWidths=col_widths([1.9, 2.0, 1.6, 1.0, 3.2, 3.0, 1.3]), repeatRows=1)
    table.setStyle(grid_style(arm_stripes([x.arm for x in a.lifts])))
    strata = "; ".join(f"{c}: {len(labels)} strata ({', '.join(labels)})" for c, labels in a.strata.items())
    columns = join_words(a.columns, sep=", ")
    note = (
        f"Adjusted for {columns}, each measured before assignment. Normal models (continuous "
        "metrics and means per unit) adjust exactly: each arm has its own slope on the standardised "
        "values, fitted from the cells' sums of values, squares and cross-products, as a regression "
        "on the rows would (ANCOVA with a slope per arm)."
        + (
            " The other metrics (rates, counts) have no such exact summary for a number, so they adjust "
            "through strata of equal shares of the units (quantiles), one effect per stratum: a "
            f"post-stratification that captures most of what a smooth curve would ({strata})."
            if a.strata
            else ""
        )
        + " R² is the share of each metric's within-arm variance the adjustment explains; the width "
        "ratio is that of the intervals for the change per unit, adjusted over unadjusted, from a "
        "second fit to the same units without the pre-period columns. Both lifts average over all "
        "the experiment's units, so the adjustment changes precision, not what is estimated; a "
        "pre-period column that explains little gains little."
        + (
            ""
            if a.unadjusted_converged
            else " The unadjusted fit did not pass the convergence gate; its widths are indicative only."
        )
    )
    return [
        Spacer(1, 0.4 * cm),
        para("Adjusted for pre-period values", st["h1"]),
        table,
        Spacer(1, 0.2 * cm),
        para(note, st["small"]),
    ]


def _lift_text(iv: Interval) -> str:
    return f"{esc(pct(iv.mean, sign=True))} {esc(fmt_span(iv.lower, iv.upper))}"


def _segments_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Per-segment lifts of the outcome and revenue metrics, when the spec asks (model.lift_by)."""
    segments = [g for g in analysis.effects.segments if g.role in DECISIVE_ROLES]
    if not segments:
        return []
    by = segments[0].segment
    mass = interval_label(analysis.effects.hdi_prob)
    header = ["Arm", "Metric", by, "Share of units", f"Lift ({mass})", "P(arm > control)", "Verdict"]
    rows = [[Paragraph(f"<b>{esc(h)}</b>", st["cell"]) for h in header]]
    for g in segments:
        verdict = f'<font color="{VERDICT_COLOURS[g.verdict]}"><b>{esc(g.verdict)}</b></font>'
        cells = [
            esc(g.arm),
            esc(g.label),
            esc(g.level),
            esc(f"{g.share:.0%}"),
            f"<b>{esc(pct(g.lift.mean, sign=True))}</b> {esc(fmt_span(g.lift.lower, g.lift.upper))}",
            esc(fmt_prob(g.prob_positive)),
            verdict,
        ]
        rows.append([Paragraph(c, st["cell"]) for c in cells])
    table = GridTable(rows, colWidths=col_widths([1.9, 2.0, 1.6, 1.3, 3.2, 1.3, 1.7]), repeatRows=1)
    table.setStyle(grid_style(arm_stripes([g.arm for g in segments])))
    note = (
        f"Arm effects may differ by {by}; each level's own effect is pooled toward the arm's "
        "overall effect, so a level with few units borrows strength from the rest."
    )
    return [
        Spacer(1, 0.4 * cm),
        para(f"Lift by {by}", st["h1"]),
        figure_flowable(segment_figure(analysis.effects, control=analysis.spec.control)),
        table,
        Spacer(1, 0.2 * cm),
        para(note, st["small"]),
    ]


def posterior_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """One figure per metric, in funnel order, of each arm's lift posterior."""
    spec = analysis.spec
    out: list[Flowable] = [
        Spacer(1, 0.4 * cm),
        para("Lift posteriors, metric by metric", st["h1"]),
        para(
            "Each row is one arm: the shaded curve is how plausible each lift is given the data, "
            f"the thick bar its {interval_label(analysis.effects.hdi_prob)}, the blue band the ROPE "
            "and the hatched bar the noise band (for reference: it decides nothing). The verdict rule "
            "is stated under the funnel on page 1. A row whose relative lift is not defined states "
            "the difference per unit instead.",
            st["body"],
        ),
    ]
    for m in spec.metrics_in_funnel_order:
        fig = metric_posterior_figure(analysis.effects, m.name, control=spec.control)
        out += [Spacer(1, 0.3 * cm), figure_flowable(fig)]
    return out
