"""Verdicts in plain language: percentages, one phrase per metric, one summary per arm."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from channelab.analysis.decisions import MAX_FACTOR
from channelab.analysis.results import ArmEconomics, ArmVerdict, Economics, Effect, FollowThrough
from channelab.spec import DECISIVE_ROLES


def pct(x: float, *, sign: bool = False) -> str:
    """A relative change as a percentage: 1.19 -> '119 %', 0.034 -> '3.4 %'."""
    v = 100 * x
    fmt = ("{:+.1f}" if sign else "{:.1f}") if abs(v) < 10 else ("{:+,.0f}" if sign else "{:,.0f}")
    return fmt.format(v).replace("-", "−") + " %"


def _interval(e: Effect, hdi_prob: float) -> str:
    return f"{hdi_prob * 100:.0f} % interval {pct(e.lift.lower, sign=True)} to {pct(e.lift.upper, sign=True)}"


def _metric_phrase(e: Effect, hdi_prob: float) -> str:
    """How one metric moved, in words, with its interval."""
    if e.no_events:
        where = join_words(list(e.no_events))
        return (
            f"could not be judged on {e.label}: it never or always happened in {where}, "
            "so the estimate rests on the prior alone"
        )
    iv = _interval(e, hdi_prob)
    match e.verdict:
        case "real lift":
            return f"raised {e.label} by {pct(e.lift.mean)} ({iv})"
        case "harm":
            return f"lowered {e.label} by {pct(-e.lift.mean)} ({iv})"
        case "no effect":
            return f"left {e.label} practically unchanged ({pct(e.lift.mean, sign=True)}; {iv})"
        case _ if e.lift.lower > 0:
            return (
                f"raised {e.label} by {pct(e.lift.mean)} ({iv}); a rise is credible, but whether it "
                f"exceeds the {_rope_text(e.rope)} that matters is not settled"
            )
        case _ if e.lift.upper < 0:
            return (
                f"lowered {e.label} by {pct(-e.lift.mean)} ({iv}); a drop is credible, but whether it "
                f"exceeds the {_rope_text(e.rope)} that matters is not settled"
            )
        case _:
            return f"did not credibly move {e.label} ({pct(e.lift.mean, sign=True)}; {iv})"


def _rope_text(rope: tuple[float, float]) -> str:
    """The ROPE as a size: '5 %' when symmetric, else '−3 % to +5 %'."""
    lo, hi = rope
    return pct(hi) if lo == -hi else f"{pct(lo, sign=True)} to {pct(hi, sign=True)}"


def arm_summary(
    arm: str,
    verdict: ArmVerdict,
    effects: Sequence[Effect],
    hdi_prob: float,
    *,
    follow: Sequence[tuple[FollowThrough, FollowThrough]] = (),
) -> str:
    """One plain-language paragraph for leadership: what the arm did, costly steps first.

    ``follow`` pairs the arm's follow-through with the control's; credible changes are named.
    """
    decisive = [e for e in effects if e.role in DECISIVE_ROLES]
    engagement = [e for e in effects if e.role == "engagement"]
    parts = [_metric_phrase(e, hdi_prob) for e in decisive]
    text = f"{arm} " + join_words(parts) + "."
    if engagement:
        text += " " + _engagement_sentence(engagement)
    harmed = [e for e in effects if e.role == "guardrail" and e.verdict == "harm"]
    if harmed:
        moves = [
            f"{e.label} {'rose' if e.lift.mean > 0 else 'fell'} by {pct(abs(e.lift.mean))} "
            f"({_interval(e, hdi_prob)})"
            for e in harmed
        ]
        text += " Guardrail: " + join_words(moves) + ", worse beyond what is allowed."
    text += _follow_through_sentences([(f, c) for f, c in follow if f.credible_change], hdi_prob)
    match verdict:
        case "real lift":
            text += " Verdict: real lift."
        case "real lift, but harms":
            names = join_words([e.label for e in harmed])
            text += f" Verdict: real lift, but it harms {names}: weigh that before a rollout."
        case "engagement only":
            text += (
                " Verdict: engagement only. People engaged more, but that did not turn into the "
                "costly step; do not read the engagement rise as a business result."
            )
        case "harm":
            text += " Verdict: harm."
        case "no effect":
            text += " Verdict: no effect of practical size."
        case "inconclusive":
            text += " Verdict: inconclusive." + _more_data_sentence(decisive)
    return text


def _follow_through_sentences(moved: Sequence[tuple[FollowThrough, FollowThrough]], hdi_prob: float) -> str:
    """Credible changes of follow-through, one sentence per outcome and direction.

    One pair reads in full (the two rates); several to the same outcome list each lift.
    """
    out = ""
    groups: dict[tuple[str, bool], list[tuple[FollowThrough, FollowThrough]]] = {}
    for f, c in moved:
        groups.setdefault((f.outcome_label, f.credible_change > 0), []).append((f, c))
    for (outcome, up), items in groups.items():
        verb = "rose" if up else "fell"
        if len(items) == 1:
            f, c = items[0]
            out += (
                f" Follow-through {verb}: {pct(f.rate.mean)} of those with {f.engagement_label} went on "
                f"to {outcome}, against {pct(c.rate.mean)} under the control ({_lift_span(f, hdi_prob)})."
            )
        else:
            parts = [f"{f.engagement_label} ({_lift_span(f, hdi_prob)})" for f, _ in items]
            out += (
                f" Follow-through to {outcome} {verb} among those with " + join_words(parts, sep=", ") + "."
            )
    return out


def _lift_span(f: FollowThrough, hdi_prob: float) -> str:
    assert f.lift is not None
    return (
        f"{pct(f.lift.mean, sign=True)}; {hdi_prob * 100:.0f} % interval "
        f"{pct(f.lift.lower, sign=True)} to {pct(f.lift.upper, sign=True)}"
    )


def _engagement_sentence(effects: Sequence[Effect]) -> str:
    """Engagement in one short sentence, grouped by direction (intervals are in the table)."""
    up = [f"{e.label} by {pct(e.lift.mean)}" for e in effects if e.verdict == "real lift"]
    down = [f"{e.label} by {pct(-e.lift.mean)}" for e in effects if e.verdict == "harm"]
    flat = [e.label for e in effects if e.verdict not in ("real lift", "harm")]
    parts = []
    if up:
        parts.append("raised " + join_words(up, sep=", "))
    if down:
        parts.append("lowered " + join_words(down, sep=", "))
    if flat:
        parts.append("did not credibly move " + join_words(flat, sep=", "))
    return "Engagement: it " + "; ".join(parts) + "."


def _more_data_sentence(decisive: Sequence[Effect]) -> str:
    open_ = [e for e in decisive if e.verdict == "inconclusive" and not e.no_events]
    if not open_ and any(e.no_events for e in decisive):
        return " An arm without events cannot be compared; collect data in which the outcome occurs."
    if not open_:
        return " Outcome metrics point in opposite directions."
    e = min(open_, key=lambda x: x.more_data_factor)
    factor = e.more_data_factor
    lo, hi = e.rope
    question = (
        f"whether {e.label} changed by more than the {_rope_text(e.rope)} that matters"
        if e.lift.mean > hi or e.lift.mean < lo
        else f"whether the change in {e.label} is within the {_rope_text(e.rope)} too small to matter"
    )
    if not np.isfinite(factor) or factor > MAX_FACTOR:
        return (
            f" The estimate sits on the edge of the ROPE; far more data would be needed to settle {question}."
        )
    extra = (factor - 1) * e.n_arm
    if extra < 1:
        return f" If the estimates hold, slightly more data would settle {question}."
    return (
        f" If the estimates hold, about {factor:.1f}× the current sample "
        f"(roughly {extra:,.0f} more units per arm) would settle {question}."
    )


def join_words(parts: Sequence[str], *, sep: str = "; ") -> str:
    """'a; b and c' (with ``sep`` between all but the last two)."""
    if len(parts) <= 1:
        return "".join(parts)
    return sep.join(parts[:-1]) + " and " + parts[-1]


def money(x: float, currency: str, *, sign: bool = False) -> str:
    """An amount of money: 48.2 -> '$48', 1234.5 -> '$1,235', 3.456 -> '$3.46', with a sign when asked."""
    body = f"{currency}{abs(x):,.2f}" if abs(x) < 10 else f"{currency}{abs(x):,.0f}"
    if x < 0:
        return "−" + body
    return ("+" if sign else "") + body


def _count(x: float) -> str:
    """A signed count per 1,000: '+28.9', '−6.8'."""
    return f"{x:+,.1f}".replace("-", "−")


def money_sentence(e: ArmEconomics, economics: Economics, unit: str, hdi_prob: float) -> str:
    """One arm's economics in a leader's terms: extra outcomes, their cost, net value, P(best)."""
    c, mass = economics.currency, f"{hdi_prob * 100:.0f} %"
    parts = []
    for o in e.outcomes:
        n = o.per_thousand
        span = f"{mass} interval {_count(n.lower)} to {_count(n.upper)}"
        extra = f"{_count(n.mean)} {o.label} per 1,000 {unit}s ({span})"
        if o.cost_each is not None:
            each = o.cost_each
            extra += (
                f" at about {money(each.mean, c)} each ({mass} interval {money(each.lower, c)} to "
                f"{money(each.upper, c)})"
            )
        elif o.per_thousand_spent is not None:
            extra += (
                f", not credibly more, so no cost per one (P(none extra) = {o.prob_no_increment:.2f}; "
                f"{_count(o.per_thousand_spent.mean)} per {c}1,000 spent)"
            )
        parts.append(extra)
    net = e.net_per_unit
    span = f"{money(net.lower, c, sign=True)} to {money(net.upper, c, sign=True)}"
    return (
        f"{e.arm}: "
        + ("; ".join(parts) + "; " if parts else "")
        + f"net value {money(net.mean, c, sign=True)} per {unit} ({mass} interval {span}) at a cost of "
        f"{money(e.cost_per_unit, c)} per {unit}; best net value with probability {e.prob_best:.2f} "
        f"(choosing it forgoes {money(e.expected_loss, c)} per {unit} against the best, on average)."
    )
