"""The design report (``channelab design``): sample sizes, MDEs, power curves, assurance, stopping rule."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import Flowable, Paragraph, Spacer, Table

from channelab.analysis.wording import pct
from channelab.design.assurance import DELAY_BETA
from channelab.reporting.plots.design import power_curve_figure
from channelab.reporting.plots.style import interval_label
from channelab.reporting.words import origin_line

if TYPE_CHECKING:
    from channelab.design.monitor import StoppingRule
    from channelab.design.plan import Design
    from channelab.design.power import MetricPower
from channelab.reporting.pdf.layout import (
    esc,
    figure_flowable,
    fmt_level,
    fmt_percent,
    grid_table,
    literal_text,
    para,
    provenance_block,
    render,
    styles,
)
from channelab.reporting.pdf.leadership import glossary_box


def _cell_texts(table: Table) -> list[str]:
    """The words in a table's cells (paragraphs' text, or the values as written)."""
    return [
        cell.text if isinstance(cell, Paragraph) else str(cell)
        for row in getattr(table, "_cellvalues", [])
        for cell in row
    ]


@literal_text
def design_pdf(d: Design) -> bytes:
    """A :class:`~channelab.design.plan.Design` as a short PDF.

    Parameters
    ----------
    d
        The design (:func:`channelab.design.plan.design`); nothing is recomputed here.

    Returns
    -------
    bytes
        The PDF document: one sentence per metric, the sample-size table, the power curve,
        assurance and the stopping rule where simulated, the assumptions and the provenance.
    """
    spec, p = d.spec, d.power
    st = styles()
    arms = ", ".join(f"{a} {fmt_percent(share)}" for a, share in p.shares.items())
    unit = spec.unit.randomised_by or spec.unit.kind
    meta = (
        f"Arms and planned shares: {arms} · randomised by {unit} · target lift "
        f"{pct(p.target_lift, sign=True)} · alpha = {p.alpha:g} two-sided"
        + (
            f", split over {p.comparisons} comparisons (Bonferroni)"
            if p.alpha_per_comparison < p.alpha
            else ""
        )
    )
    sentences = [_design_sentence(d, m) for m in p.metrics]
    table = _sample_size_table(d, st)
    story: list[Flowable] = [
        para(f"Design: {spec.display_title}", st["title"]),
        para(meta, st["meta"]),
        Spacer(1, 0.15 * cm),
        Paragraph(f"<b>{esc(origin_line(spec))}</b>", st["body"]),
        Spacer(1, 0.2 * cm),
        *glossary_box([meta, *sentences, *_cell_texts(table), _design_assumptions(d)], st),
    ]
    for sentence in sentences:
        story.append(para(sentence, st["lead"]))
        story.append(Spacer(1, 0.15 * cm))
    story += [Spacer(1, 0.2 * cm), table]
    if p.n is not None:
        table = d.assurance.table if d.assurance is not None else None
        story += [Spacer(1, 0.3 * cm), figure_flowable(power_curve_figure(p, assurance=table))]
    story += _assurance_section(d, st)
    if d.stopping_rule is not None:
        story += _stopping_rule_section(d, d.stopping_rule, st)
    story += [Spacer(1, 0.3 * cm), para(_design_assumptions(d), st["small"])]
    story += provenance_block(d.provenance, st)
    return render(
        story,
        title=f"Design: {spec.display_title}",
        subject=spec.description.strip(),
        creator=f"channelab {d.provenance.channelab}",
        footer=f"channelab design  ·  {spec.name}",
    )


def _sample_size_table(d: Design, st: dict[str, ParagraphStyle]) -> Table:
    """Per metric and power: the units needed in all and in the control, the weeks, the MDE at plan."""
    p = d.power
    powers = [f"{fmt_percent(q)}" for q in p.powers]
    rows = [
        ["Metric", "Baseline (control)", "Power", "Units, all arms", "Control arm", "Weeks", "MDE at plan"]
    ]
    for m in p.metrics:
        for q, label in zip(p.powers, powers, strict=True):
            rows.append(
                [
                    m.label,
                    _baseline_text(m, d.spec.currency),
                    label,
                    f"{m.n_total[q]:,}",
                    f"{m.n_control[q]:,}",
                    f"{m.weeks[q]:,}" if m.weeks else "–",
                    pct(m.mde[q], sign=True) if m.mde and math.isfinite(m.mde[q]) else "–",
                ]
            )
    return grid_table(rows, [2.4, 2.6, 1.0, 1.6, 1.4, 1.0, 1.4], st)


def _assurance_section(d: Design, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """How often channelab itself would call a real lift, per metric and true lift (when simulated)."""
    a = d.assurance
    if a is None:
        return []
    rows = [["Metric", "True lift", "Units simulated", "Experiments", "channelab says real lift"]]
    labels = {m.metric: m.label for m in d.power.metrics}
    for r in a.rows:
        rows.append(
            [
                labels[r.metric],
                pct(r.lift, sign=True),
                f"{a.n_total[r.metric]:,}",
                f"{r.sims:,}",
                f"{fmt_percent(r.real_lift)} (± {fmt_percent(2 * r.se)})",
            ]
        )
    return [
        para("Assurance: what channelab itself would conclude", st["h1"]),
        grid_table(rows, [2.4, 1.2, 1.6, 1.4, 2.6], st),
    ]


def _design_sentence(d: Design, m: MetricPower) -> str:
    p, q = d.power, d.power.powers[0]
    text = (
        f"{m.label.capitalize()}: to detect a {pct(p.target_lift, sign=True)} lift with "
        f"{fmt_percent(q)} power, the test needs {m.n_total[q]:,} units in all "
        f"({m.n_control[q]:,} in the control arm)"
    )
    if m.weeks:
        weeks = f"{m.weeks[q]} week{'s' if m.weeks[q] != 1 else ''}"
        text += f", about {weeks} at {d.spec.plan.units_per_week:,} a week"
    text += "."
    if m.mde is not None and p.n is not None:
        mde = m.mde[q]
        found = pct(mde, sign=True) if math.isfinite(mde) else "no lift of any size"
        text += (
            f" With the planned {p.n:,}, the smallest lift it finds with {fmt_percent(q)} power is {found}."
        )
    if m.r_squared is not None and m.n_total_adjusted is not None:
        columns = " and ".join(d.spec.adjust)
        text += (
            f" Adjusted for {columns}, which explain {m.r_squared:.0%} of its variance "
            f"({m.r_squared_source}), it needs {m.n_total_adjusted[q]:,} instead"
        )
        if m.mde_adjusted is not None:
            adjusted = m.mde_adjusted[q]
            text += f" and finds {pct(adjusted, sign=True) if math.isfinite(adjusted) else 'no lift'} at plan"
        text += "."
    if d.assurance is not None:
        parts = [
            f"{fmt_percent(r.real_lift)} of experiments if the true lift is "
            + ("zero" if r.lift == 0 else pct(r.lift, sign=True))
            for r in d.assurance.rows
            if r.metric == m.metric
        ]
        text += " channelab's own verdict would be real lift in " + " and ".join(parts) + "."
    return text


def _baseline_text(m: MetricPower, currency: str) -> str:
    b = m.baseline
    match m.type:
        case "binary":
            return f"{fmt_level(m.control_mean, 'binary', currency)}"
        case "count":
            return f"{m.control_mean:.3g} per unit, overdispersion {b.overdispersion:.2g}"
        case "revenue":
            amount = "an unknown amount" if b.amount is None else fmt_level(b.amount, "revenue", currency)
            return f"{b.share:.1%} spend, {amount} each (log-sd {b.amount_sd_log:.2g})"
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


#: The rules in words, for the stopping-rule table.
_RULE_WORDS = {"obrien_fleming": "this rule (stricter early)", "none": "naive (usual interval at every look)"}


def _stopping_rule_section(d: Design, rule: StoppingRule, st: dict[str, Any]) -> list[Flowable]:
    """How often the monitored test would call a real lift, stop early, and how many units it takes."""
    labels = {m.metric: m.label for m in d.power.metrics}
    unit = f"{d.spec.unit.kind}s"
    story: list[Flowable] = [para("Stopping rule: monitoring at the planned looks", st["h1"])]
    for metric in rule.schedules:
        story += [para(_rule_sentence(d, rule, metric, labels[metric]), st["lead"]), Spacer(1, 0.15 * cm)]
    rows = [
        [
            "Metric",
            "True lift",
            "Rule",
            "Real lift (95 % interval)",
            "Harm",
            "Stops early",
            f"{unit.capitalize()} entered at stop (mean)",
        ]
    ]
    for r in rule.rows:
        rows.append(
            [
                labels[r.metric],
                pct(r.lift, sign=True) if r.lift else "0 (none)",
                _RULE_WORDS[r.rule],
                f"{_share(r.real_lift)} ({_share(r.low)} to {_share(r.high)})",
                _share(r.harm),
                fmt_percent(r.stops_early),
                f"{r.expected_n:,.0f}",
            ]
        )
    story += [grid_table(rows, [2.2, 1.0, 2.4, 2.4, 1.0, 1.2, 1.6], st), Spacer(1, 0.15 * cm)]
    story.append(para(_rule_method(d, rule), st["small"]))
    return story


def _rule_sentence(d: Design, rule: StoppingRule, metric: str, label: str) -> str:
    """One metric's false real-lift rate, against the naive rule's, and its power at the target lift."""
    spec, target = d.spec, d.spec.plan.target_lift
    ours = rule.spending
    null = rule.row(metric, 0.0, ours)
    words = "this rule" if ours != "none" else "reading the usual interval at every look"
    text = (
        f"{label.capitalize()}: with {_looks_phrase(rule.every_days, rule.looks)} and {words}, a channel "
        f"that does nothing is called a real lift in {_share(null.real_lift)} of tests "
        f"({_share(null.low)} to {_share(null.high)})"
    )
    if ours != "none":
        naive = rule.row(metric, 0.0, "none")
        text += (
            "; stopping at the first look whose interval clears the ROPE would call it in "
            f"{_share(naive.real_lift)}"
        )
    text += "."
    if target != 0:
        hit = rule.row(metric, target, ours)
        planned = rule.schedules[metric].units
        text += (
            f" A {pct(target, sign=True)} lift is found in {fmt_percent(hit.real_lift)} of tests; a test "
            f"stops on average when {hit.expected_n:,.0f} of the {planned:,} planned {spec.unit.kind}s "
            "have entered."
        )
    return text


def _rule_method(d: Design, rule: StoppingRule) -> str:
    """What was simulated: the plan's baseline, no covariates, the planned looks, both rules."""
    spec, first = d.spec, next(iter(rule.schedules.values()))
    sims = rule.rows[0].sims if rule.rows else 0
    rate = f" ({spec.plan.units_per_week:,} a week)" if spec.plan.units_per_week else ""
    text = (
        f"How these numbers are made. {sims:,} monitored tests per metric and true lift, each outcome "
        f"metric simulated on its own from the plan's baseline, with no covariates: {first.units:,} "
        f"{spec.unit.kind}s, split by the planned shares, enter in random order, the same number in each "
        f"of the first {first.entry} looks{rate}, so every look adds the same number of counted units"
    )
    waits = [f"{s.wait} for {name}" for name, s in rule.schedules.items() if s.wait and not s.survival]
    if waits:
        text += (
            " once the first outcome windows have closed (a unit counts when its window has; looks "
            f"that count none: {', '.join(waits)})"
        )
    timed = [name for name, s in rule.schedules.items() if s.survival]
    if timed:
        a, b = DELAY_BETA
        text += (
            f"; {', '.join(timed)} (a time-to-event outcome) counts every entered unit at every look, "
            "followed until its outcome, the window's end or the look, each outcome arriving window × "
            f"Beta({a:g}, {b:g}) days after entry (on average a third of the window, the same in every arm: "
            "an assumption, as the plan gives the share within the window, not when), and is read once "
            "every arm has units followed for the whole window"
        )
    if any(s.simulated < s.units for s in rule.schedules.values()):
        text += "; whole clusters are randomised, so the simulated units are the effective sample"
    both = "read by both rules from the same fit" if rule.spending != "none" else "read by the rule"
    text += (
        f". Each of the {rule.looks} planned looks, one every {_every_words(rule.every_days)}, is fitted "
        f"with channelab's model and {both}: a lift is real when exp(m ± z s) − 1, m and s the posterior "
        f"mean and sd of log(1 + lift), lies above the ROPE, with z = {rule.z[-1]:.2f} "
        f"(the spec's {fmt_percent(spec.hdi_prob)} interval) at every look for the naive rule"
    )
    if rule.spending != "none":
        text += " and z / sqrt(k/K) at look k of K for this rule"
    return text + (
        ". A channel is decided at its first decisive look and stays so; a test stops when every channel "
        "is decided, else at the last look. Rates are shares of channel decisions; intervals are Wilson 95 %."
    )


def _looks_phrase(every_days: int, looks: int) -> str:
    """``weekly looks for 16 weeks``, ``daily looks for 30 days`` or ``looks every 5 days for 80 days``."""
    if every_days == 7:
        return f"weekly looks for {looks} week{'s' if looks != 1 else ''}"
    if every_days == 1:
        return f"daily looks for {looks} day{'s' if looks != 1 else ''}"
    return f"looks every {every_days} days for {looks * every_days} days"


def _every_words(every_days: int) -> str:
    return {1: "day", 7: "week"}.get(every_days, f"{every_days} days")


def _share(x: float) -> str:
    """A rate with one decimal below 10 %: small error rates need it (2.0 %, not 2 %)."""
    return "–" if not math.isfinite(x) else f"{100 * x:.1f} %" if x < 0.1 else fmt_percent(x)
