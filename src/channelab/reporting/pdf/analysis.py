"""The PDF report of an analysis, laid out with reportlab from the :class:`Analysis` alone.

Page 1 speaks to leadership: what each arm did in words, its verdict, the funnel figure,
and any warning that should stop a decision (no convergence, a failed data check). Then
come the table of effects, one posterior plot per metric, and an appendix with the data
checks, sampler diagnostics, priors, data fingerprint and provenance.

The report renders; it never fits or recomputes a statistic. Text uses reportlab's
built-in fonts only (see :mod:`~channelab.reporting.pdf.layout`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from matplotlib.figure import Figure
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    Spacer,
    Table,
)

from channelab.analysis.results import Effect, Interval
from channelab.analysis.wording import join_words, money_order, money_sentence, pct, ranking_sentence
from channelab.reporting.plots.economics import net_value_figure
from channelab.reporting.plots.effects import (
    funnel_figure,
    lift_limits,
    metric_posterior_figure,
    segment_figure,
)
from channelab.reporting.plots.style import VERDICT_COLOURS, interval_label
from channelab.spec import DECISIVE_ROLES, Metric

if TYPE_CHECKING:
    from channelab.pipeline import Analysis
from channelab.reporting.pdf.appendix import (
    checks_section,
    diagnostics_section,
    matching_section,
    priors_section,
    provenance_section,
)
from channelab.reporting.pdf.layout import (
    AMBER_BG,
    AMBER_EDGE,
    RED,
    arm_stripes,
    boxed,
    col_widths,
    esc,
    figure_flowable,
    fmt_change,
    fmt_level,
    fmt_prob,
    fmt_rope,
    fmt_span,
    grid_style,
    grid_table,
    literal_text,
    para,
    render,
    styles,
    verdict_row,
)
from channelab.reporting.pdf.replication import replication_section


@literal_text
def analysis_pdf(analysis: Analysis) -> bytes:
    """The PDF report of ``analysis``: every section laid out (same analysis, same bytes).

    Nothing is fitted or recomputed here; writing the bytes is the caller's.
    """
    spec = analysis.spec
    st = styles()
    story = [
        *_leadership_page(analysis, st),
        PageBreak(),
        *replication_section(analysis, st),
        *_effects_section(analysis, st),
        *_posterior_section(analysis, st),
        PageBreak(),
        *checks_section(analysis, st),
        *matching_section(analysis, st),
        *diagnostics_section(analysis, st),
        *priors_section(analysis, st),
        *provenance_section(analysis, st),
    ]
    return render(
        story,
        title=spec.display_title,
        subject=spec.description.strip(),
        creator=f"channelab {analysis.provenance.channelab}",
        footer=f"channelab  ·  {spec.name}  ·  {spec.display_title}",
    )


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
        m = analysis.matching
        design = (
            f"{'Weighted' if m.weighted else 'Matched'} cohorts, not randomised  ·  {m.estimand_words}  ·  "
            + m.summary(spec.unit.kind, spec.matching_covariates)
        )
    kind = spec.input_kind
    if kind == "published summaries":
        design += "  ·  from published summaries (per-arm n, proportions, means and sds), not unit data"
    elif kind == "aggregated rows":
        design += "  ·  from aggregated rows (counts and sums per row)"
    design += time_sentence(analysis)
    out: list[Flowable] = [
        para(spec.display_title, st["title"]),
        para(spec.description.strip(), st["lead"]),
        para(design, st["meta"]),
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
            para("Did the original effect replicate?", st["h1"]),
            verdict_row(r.verdict, esc(r.sentence), st, reliable=True),
            Spacer(1, 0.15 * cm),
            para(f"Original: {r.citation}", st["small"]),
            Spacer(1, 0.2 * cm),
        ]
    if sentence := adjustment_sentence(analysis):
        out += [para(sentence, st["meta"]), Spacer(1, 0.2 * cm)]
    out.append(para("What each arm did", st["h1"]))
    for arm in effects.arms:
        heading = f"<b>{esc(arm.arm)}</b> vs {esc(spec.control)}"
        summary = f"{heading}<br/>{esc(arm.summary)}"
        out += [
            verdict_row(arm.verdict, summary, st, reliable=analysis.diagnostics.converged),
            Spacer(1, 0.15 * cm),
        ]
    out += _money_section(analysis, st)
    figures = _funnel_figures(analysis)
    out += [
        KeepTogether([para("The funnel at a glance", st["h1"]), figure_flowable(figures[0])]),
        *(figure_flowable(fig) for fig in figures[1:]),
        para(funnel_caption(analysis), st["small"]),
        *_follow_through_section(analysis, st),
    ]
    return out


def funnel_caption(analysis: Analysis) -> str:
    """How to read the funnel figure, stating the verdict rule the run used, with its interval mass."""
    spec = analysis.spec
    mass = interval_label(analysis.effects.hdi_prob)
    if spec.decision.rule == "hdi_rope":
        rule = (
            "A bar wholly beyond the ROPE is a real lift (wholly below it, harm); a bar wholly inside "
            "it is no effect; a bar that crosses an edge of the ROPE is inconclusive."
        )
    else:
        p = f"{spec.decision.threshold:.2f}"
        rule = (
            f"A lift is real (or harm) when the posterior puts at least {p} of its mass beyond the ROPE "
            f"(or below it), no effect when at least {p} lies inside, and inconclusive otherwise."
        )
    effects = analysis.effects.effects
    undefined = (
        " Where the control's mean is not clearly above zero a relative lift is not defined: the row "
        "states the difference per unit and its interval instead."
        if not all(e.relative_defined for e in effects)
        else ""
    )
    shares = (
        " Grey rows are shares among an earlier stage: they describe whom an arm drew into that "
        "stage and never decide it."
        if any(e.conditional for e in effects)
        else ""
    )
    guardrails = (
        " A guardrail is read by which way is worse: a bar wholly beyond the ROPE on its worse "
        "side (a rise in unsubscribes, say) is harm, on its better side a real lift."
        if any(e.role == "guardrail" for e in effects)
        else ""
    )
    return (
        f"How to read it: each thick bar is the {mass} (equal-tailed) of the lift against "
        f"{spec.control}, the range that holds the true lift with that probability; the dot is the "
        f"mean. The blue band is the ROPE, changes too small to matter. {rule} The hatched grey "
        "bar is how far chance alone would move the estimate at this sample size, drawn for "
        "reference: it decides nothing. A bar or band that runs past the axis is cut at its edge "
        f"and marked with an arrowhead.{undefined} Engagement rows are context: only outcomes and "
        f"revenue decide an arm.{shares}{guardrails}"
    )


def _money_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Page 1 in money: one sentence per arm and the net-value figure (when costs or values are given)."""
    economics, spec = analysis.effects.economics, analysis.spec
    if economics is None:
        return []
    unit = spec.unit.kind
    valued = [m.display for m in spec.metrics if m.name in economics.valued]
    basis = (
        f"Net value is the value of each arm's extra {join_words(valued, sep=', ')} "
        "(revenue at face value, the others at the spec's value per unit)"
        if valued
        else "No metric carries a value, so net value is minus the cost"
    )
    out: list[Flowable] = [
        KeepTogether(
            [para("What each arm is worth", st["h1"]), para(ranking_sentence(economics, unit), st["body"])]
        )
    ]
    out += [
        para(money_sentence(e, economics, unit, spec.hdi_prob), st["body"]) for e in money_order(economics)
    ]
    order = (
        "ranked by P(best)"
        if economics.best is not None
        else "in the test's order, not ranked, as no arm is credibly best"
    )
    out += [
        figure_flowable(net_value_figure(economics, spec.hdi_prob, unit)),
        para(
            f"{basis}, minus its cost beyond the control's, per {unit}; every figure comes from the "
            "same posterior draws. P(best) is the share of draws in which an arm, business as usual "
            f"included (net value 0; P = {economics.prob_best[spec.control]:.2f}), has the highest "
            f"net value; an arm is called credibly best only when its P(best) reaches "
            f"{economics.best_level:.2f}. Arms are listed {order}.",
            st["small"],
        ),
    ]
    return out


def _follow_through_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Of the engaged, how many took the costly step, per arm: the slacktivism number itself."""
    items = analysis.effects.follow_through
    if not items:
        return []
    mass = interval_label(analysis.effects.hdi_prob)
    with_unengaged = any(f.unengaged is not None for f in items)
    rows = [
        [
            "Arm",
            "Engaged on",
            "Went on to",
            "Engaged",
            f"Follow-through ({mass})",
            *(["Not engaged"] if with_unengaged else []),
            f"vs {analysis.spec.control} ({mass})",
        ]
    ]
    for f in items:
        rows.append(
            [
                f.arm,
                f.engagement_label,
                f.outcome_label,
                f"{f.took:,.0f} of {f.engaged:,.0f}",
                f"{pct(f.rate.mean)} ({pct(f.rate.lower)} to {pct(f.rate.upper)})",
                *(["–" if f.unengaged is None else f"{pct(f.unengaged.mean)}"] if with_unengaged else []),
                "–"
                if f.lift is None
                else f"{pct(f.lift.mean, sign=True)} ({fmt_span(f.lift.lower, f.lift.upper)})",
            ]
        )
    weights = [2.2, 2.2, 2.2, 1.8, 2.6, *([1.4] if with_unengaged else []), 2.8]
    return [
        Spacer(1, 0.2 * cm),
        KeepTogether(
            [
                para("Follow-through: of the engaged, who took the costly step?", st["h1"]),
                grid_table(rows, weights, st),
            ]
        ),
        Spacer(1, 0.15 * cm),
        para(
            "Follow-through is the share of the units an arm engaged who then took the outcome step: "
            "an arm can raise engagement and lower this share, the slacktivism pattern. It describes "
            "each arm's engaged pool (an arm that engages more people engages different people), so "
            "its change is a description, not a causal effect on the same people. Not engaged: the "
            "same share among the units who did not engage.",
            st["small"],
        ),
    ]


#: Arms per funnel figure: more would shrink every panel below reading size on an A4 page.
FUNNEL_ARMS_PER_FIGURE = 3


def _funnel_figures(analysis: Analysis) -> list[Figure]:
    """The funnel, a few arms per figure in one column, all on one lift scale (every arm's intervals)."""
    spec, effects = analysis.spec, analysis.effects
    arms = spec.treatments
    groups = [arms[i : i + FUNNEL_ARMS_PER_FIGURE] for i in range(0, len(arms), FUNNEL_ARMS_PER_FIGURE)]
    limits = lift_limits(effects.effects)
    return [funnel_figure(effects.for_arms(g), control=spec.control, ncols=1, xlim=limits) for g in groups]


def _not_converged_banner(problems: Sequence[str], st: dict[str, ParagraphStyle]) -> Table:
    listed = "; ".join(esc(p) for p in problems)
    text = (
        "<b>NOT CONVERGED — do not act on these numbers.</b><br/>"
        f"The sampler failed its convergence checks: {listed}. Rerun with more tuning steps or "
        "draws (the sampler section of the experiment file) before reading any result below."
    )
    return boxed(Paragraph(text, st["banner"]), background=RED, edge=RED)


def _caveat_box(messages: Sequence[str], st: dict[str, ParagraphStyle]) -> Table:
    text = "<b>Caveat from the data checks:</b> " + " ".join(esc(m) for m in messages)
    return boxed(Paragraph(text, st["body"]), background=AMBER_BG, edge=AMBER_EDGE)


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
        f"Change per unit ({mass})",
        "P(arm > control)",
        "P(in ROPE)",
        "ROPE",
        "Verdict",
    ]
    rows = [[Paragraph(f"<b>{esc(h)}</b>", st["cell"]) for h in header]]
    rows += [_effect_row(e, currency, st) for e in effects.effects]
    weights = [1.55, 1.8, 1.8, 1.25, 1.25, 2.0, 2.0, 1.35, 1.2, 1.1, 1.95]  # 'inconclusive' on one line
    table = Table(rows, colWidths=col_widths(weights), repeatRows=1)
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
            if any(e.conditional for e in effects.effects)
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


def time_sentence(analysis: Analysis) -> str:
    """``  ·  as of 2026-04-27; meetings within 28 days of entry (812 prospects still maturing)``."""
    spec, cells = analysis.spec, analysis.cells
    if not spec.timed or spec.as_of is None:
        return ""
    parts = [
        f"{m.display} within {m.window_days} days of entry ({int(cells.maturing(m.name).sum()):,} "
        f"{spec.unit.kind}s still maturing, not counted)"
        for m in spec.metrics_in_funnel_order
        if m.window_days is not None
    ]
    return f"  ·  as of {spec.as_of.isoformat()}" + (f"; {'; '.join(parts)}" if parts else "")


def adjustment_sentence(analysis: Analysis) -> str:
    """Page 1: what was adjusted for and what it gained on the outcome and revenue lifts."""
    a = analysis.adjustment
    if a is None:
        return ""
    decisive = {m.name for m in analysis.spec.metrics if m.decisive}
    ratios = [x.width_ratio for x in a.lifts if x.metric in decisive]
    r2, columns = max(a.r_squared[k] for k in decisive), join_words(a.columns, sep=", ")
    return (
        f"Adjusted for pre-period {columns}, measured before assignment: the outcome and "
        f"revenue intervals are {_width_change(min(ratios), max(ratios))} without it (the pre-period "
        f"explains up to {pct(r2)} of an outcome's variance within arms). Same estimand: each lift "
        + (
            "is still the effect on the treated, averaged over the treated units."
            if analysis.spec.target_arms
            else "is still averaged over all the experiment's units."
        )
    )


def _width_change(lo: float, hi: float) -> str:
    """How the widths changed, from the lowest and highest width ratio (1 = no change)."""
    least, most = round(100 * (1 - hi)), round(100 * (1 - lo))  # % narrower; negative is wider
    if max(abs(least), abs(most)) <= 2:
        return "about as wide as"
    if least >= 0:
        return f"{most} % narrower than" if least == most else f"{least}–{most} % narrower than"
    if most <= 0:
        return f"{-most}–{-least} % wider than"
    return f"between {-least} % wider and {most} % narrower than"


def _lift_text(iv: Interval) -> str:
    return f"{esc(pct(iv.mean, sign=True))} {esc(fmt_span(iv.lower, iv.upper))}"


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
    table = Table(rows, colWidths=col_widths([1.9, 2.0, 1.6, 1.0, 3.2, 3.0, 1.3]), repeatRows=1)
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


def _model_note(metric: Metric, analysis: Analysis) -> str:
    """Which model a figure comes from, in a sentence, where it is not the obvious one."""
    if metric.name in analysis.checks.fallbacks:
        asked = "negative binomial" if metric.type == "count" else "lognormal hurdle"
        used = analysis.checks.fallbacks[metric.name].replace("_", " ")
        return (
            f"{metric.display.capitalize()} is fitted as {used}, not the {asked} the spec asks for: "
            "the data lack the statistics it needs (see the data checks)."
        )
    if metric.type != "revenue":
        return ""
    if metric.revenue_likelihood == "cell_means":
        return (
            f"{metric.display.capitalize()} is modelled as a mean per unit (a normal likelihood of "
            "each cell's mean, one spread per arm), which is right whatever the shape of the amounts."
        )
    return (
        f"{metric.display.capitalize()} is modelled as a hurdle: whether a unit spends, then lognormal "
        "amounts with one log-spread; right only if the amounts are lognormal with that spread in every arm."
    )


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
    table = Table(rows, colWidths=col_widths([1.9, 2.0, 1.6, 1.3, 3.2, 1.3, 1.7]), repeatRows=1)
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


def _effect_row(e: Effect, currency: str, st: dict[str, ParagraphStyle]) -> list[Paragraph]:
    if e.relative_defined:
        lift = f"<b>{esc(pct(e.lift.mean, sign=True))}</b><br/>{esc(fmt_span(e.lift.lower, e.lift.upper))}"
    else:
        lift = "<b>not defined</b><br/>control mean not clearly above 0"
    d = e.abs_lift
    change = (
        f"<b>{esc(fmt_change(d.mean, e.type, currency))}</b><br/>"
        f"{esc(fmt_change(d.lower, e.type, currency))} to {esc(fmt_change(d.upper, e.type, currency))}"
    )
    role = f"{esc(e.role)}<br/><i>share: explains only</i>" if e.conditional else esc(e.role)
    verdict = f'<font color="{VERDICT_COLOURS[e.verdict]}"><b>{esc(e.verdict)}</b></font>'
    cells = [
        esc(e.arm),
        esc(e.label),
        role,
        esc(fmt_level(e.control_mean, e.type, currency)),
        esc(fmt_level(e.arm_mean, e.type, currency)),
        lift,
        change,
        esc(fmt_prob(e.prob_positive)),
        esc(fmt_prob(e.prob_in_rope)),
        esc(fmt_rope(e.rope)),
        verdict,
    ]
    return [Paragraph(c, st["cell"]) for c in cells]


def _posterior_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
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
