"""Page 1 of an analysis report, for leadership: what each arm did, what it is worth, the funnel.

It states the design in a line, raises any warning that should stop a decision (no convergence,
a failed data check), gives the replication verdict and the adjustment's gain where there are
any, then one verdict per arm, the money, the funnel figure with how to read it, and the
follow-through of the engaged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from matplotlib.figure import Figure
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table
from scipy.stats import norm

from channelab.analysis.wording import join_words, money_order, money_sentence, pct, ranking_sentence
from channelab.reporting.pdf.labs import labs_verdict, labs_words
from channelab.reporting.pdf.layout import (
    AMBER_BG,
    AMBER_EDGE,
    RED,
    boxed,
    esc,
    figure_flowable,
    fmt_span,
    grid_table,
    para,
    verdict_row,
)
from channelab.reporting.plots.economics import net_value_figure
from channelab.reporting.plots.effects import funnel_figure, lift_limits
from channelab.reporting.plots.style import interval_label
from channelab.reporting.plots.survival import incidence_figure
from channelab.reporting.words import glossary_entries, origin_line
from channelab.spec import DESCRIPTIVE_TYPES

if TYPE_CHECKING:
    from channelab.analysis.learning.prior import PriorUse
    from channelab.pipeline import Analysis
    from channelab.spec import Metric

#: Arms per funnel figure: more would shrink every panel below reading size on an A4 page.
FUNNEL_ARMS_PER_FIGURE = 3

#: The glossary box's background and edge: quieter than a warning.
_PALE, _EDGE = colors.HexColor("#f6f8fa"), colors.HexColor("#d0d7de")


#: What each kind of grey (describing) row is, for the caption under the funnel.
_GREY = {
    "share": "a share among an earlier stage says whom the arm drew into that stage",
    "ratio": "a ratio (revenue per meeting) can rise because its denominator falls",
    "quantile": "a quantile (the median deal) says nothing of the units beyond it",
}


def leadership_page(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Page 1: the design, the data's origin, its glossary, any warning, each verdict, money, funnel."""
    spec = analysis.spec
    out: list[Flowable] = [
        para(spec.display_title, st["title"]),
        para(spec.description.strip(), st["lead"]),
        para(_design_line(analysis), st["meta"]),
        Spacer(1, 0.15 * cm),
        Paragraph(f"<b>{esc(origin_line(spec))}</b>", st["body"]),
        Spacer(1, 0.2 * cm),
        *glossary_box(page_one_words(analysis), st),
        *_warnings(analysis, st),
        *_replication_verdict(analysis, st),
    ]
    if sentence := _adjustment_sentence(analysis):
        out += [para(sentence, st["meta"]), Spacer(1, 0.2 * cm)]
    if sentence := learned_prior_sentence(analysis):
        out += [para(sentence, st["meta"]), Spacer(1, 0.2 * cm)]
    out += _arm_verdicts(analysis, st)
    out += _money_section(analysis, st)
    out += _funnel_section(analysis, st)
    out += _arrival_section(analysis, st)
    return out


def page_one_words(analysis: Analysis) -> list[str]:
    """The words page 1 prints in sentences and captions, for its glossary (:mod:`..words`).

    Parameters
    ----------
    analysis
        A finished analysis.

    Returns
    -------
    list of str
        The description, the design line, the replication verdict, the adjustment sentence,
        each arm's summary, the funnel caption and, with money, the ranking's P(best).
    """
    r = analysis.replication
    return [
        analysis.spec.description,
        _design_line(analysis),
        "" if r is None else r.sentence,
        *labs_words(analysis),
        _adjustment_sentence(analysis),
        learned_prior_sentence(analysis),
        *(arm.summary for arm in analysis.effects.arms),
        funnel_caption(analysis),
        "" if analysis.effects.economics is None else "ranked by P(best)",
    ]


def glossary_box(texts: Sequence[str], st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """A small box near the top of page 1: one line per technical term the page uses.

    Parameters
    ----------
    texts
        The sentences and captions the page prints.
    st
        The document's styles.
    """
    entries = glossary_entries(texts)
    if not entries:
        return []
    lines = "<br/>".join(f"<b>{esc(term)}</b>: {esc(words)}" for term, words in entries)
    text = Paragraph(f"<b>Words on this page.</b><br/>{lines}", st["small"])
    return [boxed(text, background=_PALE, edge=_EDGE), Spacer(1, 0.3 * cm)]


def _design_line(analysis: Analysis) -> str:
    """The design in one line: how units were assigned, how many, the arms, the input and the date."""
    spec = analysis.spec
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
    return design + _time_sentence(analysis)


def _warnings(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """The banners that should stop a decision: no convergence, and the data checks' warnings."""
    out: list[Flowable] = []
    if not analysis.diagnostics.converged:
        out += [_not_converged_banner(analysis.diagnostics.problems, st), Spacer(1, 0.3 * cm)]
    if analysis.checks.warnings:
        messages = [f.message for f in analysis.checks.warnings]
        out += [_caveat_box(messages, st), Spacer(1, 0.3 * cm)]
    return out


def _replication_verdict(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Whether the original effect replicated, in a verdict row (replications only)."""
    r = analysis.replication
    if analysis.labs is not None:
        return labs_verdict(analysis, st)
    if r is None:
        return []
    return [
        para("Did the original effect replicate?", st["h1"]),
        verdict_row(r.verdict, esc(r.sentence), st, reliable=True),
        Spacer(1, 0.15 * cm),
        para(f"Original: {r.citation}", st["small"]),
        Spacer(1, 0.2 * cm),
    ]


def _arm_verdicts(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """One verdict row per arm, with its sentence; greyed when the sampler did not converge."""
    out: list[Flowable] = [para("What each arm did", st["h1"])]
    for arm in analysis.effects.arms:
        heading = f"<b>{esc(arm.arm)}</b> vs {esc(analysis.spec.control)}"
        summary = f"{heading}<br/>{esc(arm.summary)}"
        out += [
            verdict_row(arm.verdict, summary, st, reliable=analysis.diagnostics.converged),
            Spacer(1, 0.15 * cm),
        ]
    return out


def _funnel_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """The funnel figures, how to read them, and the follow-through of the engaged."""
    figures = _funnel_figures(analysis)
    caption = para(funnel_caption(analysis), st["small"])
    last = len(figures) - 1
    shown = [figure_flowable(fig, caption if k == last else None) for k, fig in enumerate(figures)]
    return [
        KeepTogether([para("The funnel at a glance", st["h1"]), shown[0]]),
        *shown[1:],
        *_follow_through_section(analysis, st),
    ]


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
    kinds = {e.type if e.type in DESCRIPTIVE_TYPES else "share" for e in effects if e.conditional}
    shares = (
        " Grey rows describe and never decide an arm: "
        + "; ".join(_GREY[k] for k in ("share", "ratio", "quantile") if k in kinds)
        + "."
        if kinds
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
    caption = para(
        f"{basis}, minus its cost beyond the control's, per {unit}; every figure comes from the "
        "same posterior draws. P(best) is the share of draws in which an arm, business as usual "
        f"included (net value 0; P = {economics.prob_best[spec.control]:.2f}), has the highest "
        f"net value; an arm is called credibly best only when its P(best) reaches "
        f"{economics.best_level:.2f}. Arms are listed {order}.",
        st["small"],
    )
    out.append(figure_flowable(net_value_figure(economics, spec.hdi_prob, unit), caption))
    return out


def _arrival_section(analysis: Analysis, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Per survival metric, when its outcomes arrived in each arm: the cumulative-incidence figure."""
    out: list[Flowable] = []
    for t in analysis.effects.time_to_event:
        m = next(m for m in analysis.spec.metrics if m.name == t.metric)
        caption = para(
            f"How to read it: each line is the share of an arm's {analysis.spec.unit.kind}s with "
            f"{m.display} by each day after entry, from a time-to-event model that counts every entered "
            f"{analysis.spec.unit.kind} for the days it has been followed (censored, not dropped); the "
            f"band is its {interval_label(analysis.effects.hdi_prob)}. The lift on this page is the "
            f"gap at day {t.window_days}. Lines that cross or part early show a channel that brings "
            f"{m.display} sooner or later, which a single hazard ratio would misstate.",
            st["small"],
        )
        figure = figure_flowable(incidence_figure(t, m.display, analysis.effects.hdi_prob), caption)
        out.append(KeepTogether([para(f"When {m.display} arrived", st["h1"]), figure]))
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
                Spacer(1, 0.15 * cm),
                para(
                    "Follow-through is the share of the units an arm engaged who then took the outcome "
                    "step: an arm can raise engagement and lower this share, the slacktivism pattern. It "
                    "describes each arm's engaged pool (an arm that engages more people engages different "
                    "people), so its change is a description, not a causal effect on the same people. "
                    "Not engaged: the same share among the units who did not engage.",
                    st["small"],
                ),
            ]
        ),
    ]


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


def _time_sentence(analysis: Analysis) -> str:
    """``  ·  as of 2026-04-27; meetings within 28 days of entry (812 prospects still maturing)``."""
    spec, cells = analysis.spec, analysis.cells
    if not spec.timed or spec.as_of is None:
        return ""

    def counted(m: Metric) -> str:  # a survival model counts them as far as they have come
        how = (
            "still inside their window, counted as far as they have come"
            if m.survival
            else "still maturing, not counted"
        )
        return f"{int(cells.maturing(m.name).sum()):,} {spec.unit.kind}s {how}"

    parts = [
        f"{m.display} within {m.window_days} days of entry ({counted(m)})"
        for m in spec.metrics_in_funnel_order
        if m.window_days is not None
    ]
    return f"  ·  as of {spec.as_of.isoformat()}" + (f"; {'; '.join(parts)}" if parts else "")


def _adjustment_sentence(analysis: Analysis) -> str:
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


def _predicted(use: PriorUse, prob: float) -> str:
    """A learned prediction (on the log-lift or difference scale) as a lift and its interval."""
    z = float(norm.ppf((1 + prob) / 2))
    ends = (use.mean - z * use.sd, use.mean, use.mean + z * use.sd)
    lo, mid, hi = (math.expm1(x) for x in ends) if use.scale == "loglift" else ends
    shown_ = (lambda x: pct(x, sign=True)) if use.scale == "loglift" else (lambda x: f"{x:+.3g}")
    return f"{shown_(mid)} ({prob * 100:.0f} % interval {shown_(lo)} to {shown_(hi)}, from {use.tests} tests)"


def learned_prior_sentence(analysis: Analysis) -> str:
    """Page 1: which arms started from the programme's predictions, and the verdicts under both priors.

    Condition: printed only when a learned-priors file set at least one arm's prior; it states the
    prediction used and, for each decisive metric, the lift under the default priors beside the
    reported one (both posteriors are computed, so nothing is claimed beyond them).
    """
    start = analysis.learned
    if start is None or not start.uses:
        return ""
    prob = analysis.spec.hdi_prob
    labels = {m.name: m.display for m in analysis.spec.metrics}
    said = [f"{u.arm} on {labels.get(u.metric, u.metric)}: {_predicted(u, prob)}" for u in start.uses]
    text = (
        f"Priors learned from {start.name}: each arm starts from the programme's prediction for its "
        f"channel ({'; '.join(said)})."
    )
    if start.default_effects is None:
        return text
    learned = {(e.arm, e.metric): e for e in analysis.effects.effects}
    compared = [
        f"{d.arm} on {d.label}, {pct(d.lift.mean, sign=True)} ({d.verdict}) instead of "
        f"{pct(learned[d.arm, d.metric].lift.mean, sign=True)} ({learned[d.arm, d.metric].verdict})"
        for d in start.default_effects.effects
        if (d.arm, d.metric) in {(u.arm, u.metric) for u in start.uses}
        and d.role in ("outcome", "revenue")
        and (d.arm, d.metric) in learned
    ]
    return text + (f" Under the default priors: {'; '.join(compared)}." if compared else "")


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
