"""The PDF report of a monitored test: may it stop now, each arm's decision, and the path to it.

Page 1 answers leadership's question in one sentence ("Stop: Phone is a real lift" or "Keep
going: about 3 more weeks expected"), gives each arm's decision with the look it was reached
at, and draws each outcome's lift at every look. Then the looks table, the rule, and provenance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import Flowable, PageBreak, Paragraph, Spacer

from channelab.analysis.monitor import MIN_COUNTED, MIN_FOLLOWED
from channelab.analysis.wording import pct
from channelab.pipeline.headline import undecided_words
from channelab.reporting.pdf.layout import (
    AMBER_BG,
    AMBER_EDGE,
    boxed,
    esc,
    figure_flowable,
    fmt_rope,
    fmt_span,
    grid_table,
    literal_text,
    para,
    provenance_block,
    render,
    styles,
    verdict_row,
)
from channelab.reporting.pdf.leadership import glossary_box
from channelab.reporting.plots.monitor import lift_path_figure
from channelab.reporting.plots.style import interval_label
from channelab.reporting.words import origin_line
from channelab.spec import DECISIVE_ROLES, Metric

if TYPE_CHECKING:
    from channelab.pipeline.monitor import Look, Monitor


@literal_text
def monitor_pdf(m: Monitor) -> bytes:
    """The PDF report of monitored test ``m`` (nothing is fitted or recomputed here)."""
    spec = m.spec
    st = styles()
    story = [*_first_page(m, st), PageBreak(), *_looks_section(m, st), *_rule_section(m, st)]
    story += provenance_block(m.provenance, st)
    return render(
        story,
        title=f"{spec.display_title}: monitoring",
        subject=spec.description.strip(),
        creator=f"channelab {m.provenance.channelab}",
        footer=f"channelab  ·  {spec.name}  ·  monitoring as of {m.as_of.isoformat()}",
    )


def _counted_how(x: Metric, last: Look) -> str:
    """How an outcome's units were counted at the last look: its window closed, or followed so far."""
    if x.survival and x.name in last.followed:
        whole = sum(last.followed[x.name].values())
        rest = ", the rest as far as they came" if whole < sum(last.counted[x.name].values()) else ""
        return f" ({whole:,} followed for the whole {x.window_days}-day window{rest})"
    return f" ({x.window_days}-day window closed)" if x.window_days else ""


def _first_page(m: Monitor, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    spec = m.spec
    last = m.looks[-1]
    unit = spec.unit.kind
    counted = [
        f"{sum(last.counted[x.name].values()):,} counted for {x.display}" + _counted_how(x, last)
        for x in spec.metrics_in_funnel_order
        if x.decisive
    ]
    meta = (
        f"As of {m.as_of.isoformat()}  ·  look {last.index} of {m.planned} planned, one every "
        f"{spec.monitor.every_label}  ·  {sum(last.entered.values()):,} {unit}s entered since "
        f"{m.first_entry.isoformat()}, {'; '.join(counted)}"
    )
    rows = [_arm_row(m, arm) for arm in spec.treatments]
    caption_text = (
        f"How to read it: the stopping rule reads the {interval_label(spec.hdi_prob)} of each lift "
        "at every look, made wider at early looks so that looking every "
        f"{spec.monitor.every_label} does not inflate false verdicts; a channel is decided at the "
        "first look where that interval clears the ROPE (real lift or harm) or fits inside it (no "
        "effect), and the decision stands. An outcome with a window counts only the units whose "
        "window has closed, so a slow channel is not read before its outcomes can arrive. An outcome "
        "with a time-to-event model counts every entered unit for the days it has been followed, "
        "censored where its window is still open, and is read once every arm has units followed for "
        "the whole window." + (f" {' '.join(m.notes)}" if m.notes else "")
    )
    out: list[Flowable] = [
        para(f"{spec.display_title}: may the test stop?", st["title"]),
        para(meta, st["meta"]),
        Spacer(1, 0.15 * cm),
        Paragraph(f"<b>{esc(origin_line(spec))}</b>", st["body"]),
        Spacer(1, 0.2 * cm),
        *glossary_box([m.headline, *(text for _, text in rows), caption_text], st),
        boxed(Paragraph(f"<b>{esc(m.headline)}</b>", st["lead"]), background=AMBER_BG, edge=AMBER_EDGE),
        Spacer(1, 0.3 * cm),
        para("Each channel", st["h1"]),
    ]
    for badge, text in rows:
        out += [verdict_row(badge, text, st, reliable=True), Spacer(1, 0.12 * cm)]
    caption = para(caption_text, st["small"])
    read = m.last_read
    figures = [
        lift_path_figure(m, metric)
        for metric in spec.metrics_in_funnel_order
        if metric.decisive and read is not None
    ]
    # the note under the last figure stays with it: the figure shrinks to leave it room
    out += [figure_flowable(fig) for fig in figures[:-1]]
    out.append(figure_flowable(figures[-1], caption=caption) if figures else caption)
    return out


def _arm_row(m: Monitor, arm: str) -> tuple[str, str]:
    """An arm's badge and its paragraph: its decision (or why none), the latest and decision estimates."""
    spec, read = m.spec, m.last_read
    d = m.decisions.get(arm)
    text = f"<b>{esc(arm)}</b> vs {esc(spec.control)}<br/>"
    if d is not None:
        text += f"Decided at look {d.look} ({d.date.isoformat()}): {esc(d.verdict)}{esc(d.on)}. "
    else:
        text += esc(undecided_words(final=m.stop))
    if read is not None:
        text += f"Latest (look {read.index}): {_lifts_text(read, arm, rule=d is None)}"
    at = next((look for look in m.looks if d is not None and look.index == d.look), None)
    if at is not None and at is not read:
        text += (
            f" At the decision: {_lifts_text(at, arm, rule=True)} A test stopped early tends to "
            "overstate the lift it stopped on; quote the latest estimate."
        )
    return (d.verdict if d else "inconclusive"), text


def _lifts_text(look: Look, arm: str, *, rule: bool) -> str:
    """The arm's outcome lifts at ``look``: estimate, and the HDI or the stopping rule's interval."""
    assert look.effects is not None
    parts = []
    for e, r in zip(look.effects.effects, look.readings, strict=True):
        if e.arm == arm and e.role in DECISIVE_ROLES:
            lo, hi = (r.lower, r.upper) if rule else (e.lift.lower, e.lift.upper)
            what = "rule's interval" if rule else interval_label(look.effects.hdi_prob)
            span = f"{what} {fmt_span(lo, hi)}; ROPE {fmt_rope(e.rope)}"
            parts.append(f"{e.label} {pct(e.lift.mean, sign=True)} ({span})")
    return esc("; ".join(parts) + ".")


def _looks_section(m: Monitor, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    spec = m.spec
    outcomes = [x for x in spec.metrics_in_funnel_order if x.decisive]
    header = [
        "Look",
        "Date",
        "Entered",
        *(f"Counted: {x.display}" for x in outcomes),
        "Interval (sds)",
        "Decided",
    ]
    rows = [header]
    seen: set[str] = set()
    for look in m.looks:
        new = [f"{a}: {v}" for a, v in look.decided.items() if a not in seen]
        seen |= set(look.decided)
        rows.append(
            [
                str(look.index),
                look.date.isoformat(),
                f"{sum(look.entered.values()):,}",
                *(f"{sum(look.counted[x.name].values()):,}" for x in outcomes),
                f"±{look.z:.2f}" if look.effects is not None else "not read",
                "; ".join(new)
                or (look.note if look.effects is None else "")
                or ("" if look.converged else "did not converge: not used for decisions"),
            ]
        )
    weights = [1.0, 2.2, 1.8, *([2.2] * len(outcomes)), 1.8, 6.0]
    return [
        para("Every look", st["h1"]),
        para(
            f"Each look is the test as it stood on its date: the {spec.unit.kind}s entered by then and, "
            "for an outcome with a window, those whose window had closed (with a time-to-event model, "
            "all of them, as far as they had come). A look is read once every arm has at least "
            f"{MIN_COUNTED} units counted for every outcome and, for a time-to-event outcome, "
            f"{MIN_FOLLOWED} followed for its whole window.",
            st["body"],
        ),
        Spacer(1, 0.2 * cm),
        grid_table(rows, weights, st),
    ]


def _rule_section(m: Monitor, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    spec = m.spec
    spending = (
        "O'Brien–Fleming-shaped: at look k of K the half-width is z / √(k/K) posterior sds of "
        "log(1 + lift), so early looks need overwhelming evidence and the last look is the usual rule"
        if spec.monitor.spending == "obrien_fleming"
        else "none: the usual interval at every look (this habit inflates false real-lift verdicts)"
    )
    return [
        para("The stopping rule", st["h1"]),
        para(
            f"Decision rule: the {interval_label(spec.hdi_prob)} against each metric's ROPE, read at "
            f"{m.planned} planned looks, one every {spec.monitor.every_label}. Spending: {spending}. "
            "An arm is decided at its first look where an outcome is a real lift or a harm, or all "
            "its outcomes are no effect; the test may stop when every arm is decided or at the last "
            "planned look. Its error rates under this plan are measured by simulation in "
            "channelab design (the stopping-rule section of the design report).",
            st["body"],
        ),
    ]
