"""Verdicts in plain language: percentages, one phrase per metric, one summary per arm."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from channelab.analysis.claims import engagement_only_licensed, metric_claim, require, verdict_licensed
from channelab.analysis.decisions import MAX_FACTOR, deciding, zero_event_bound
from channelab.analysis.results import ArmEconomics, ArmVerdict, Economics, Effect, FollowThrough
from channelab.spec import DECISIVE_ROLES


def pct(x: float, *, sign: bool = False) -> str:
    """A relative change as a percentage: 1.19 -> '119 %', 0.034 -> '3.4 %'.

    Parameters
    ----------
    x : float
        The change, a fraction.
    sign : bool, default False
        Whether to show a sign (+ or −).

    Returns
    -------
    str
        One decimal below 10 %, none above.
    """
    v = 100 * x
    fmt = ("{:+.1f}" if sign else "{:.1f}") if abs(v) < 10 else ("{:+,.0f}" if sign else "{:,.0f}")
    return fmt.format(v).replace("-", "−") + " %"


def _interval(e: Effect, hdi_prob: float) -> str:
    """The effect's interval in words: of the relative lift where defined, else of the difference."""
    if not e.relative_defined:
        return f"{hdi_prob * 100:.0f} % interval {amount(e.abs_lift.lower)} to {amount(e.abs_lift.upper)}"
    return f"{hdi_prob * 100:.0f} % interval {pct(e.lift.lower, sign=True)} to {pct(e.lift.upper, sign=True)}"


def _size(e: Effect, *, sign: bool = False) -> str:
    """How much the metric moved (signed, or its size): the relative lift if defined, else the difference."""
    if not e.relative_defined:
        return amount(e.abs_lift.mean) if sign else f"{abs(e.abs_lift.mean):.3g}"
    return pct(e.lift.mean, sign=True) if sign else pct(abs(e.lift.mean))


def amount(x: float) -> str:
    """A difference in a metric's own units, signed, to three significant figures: '+0.302'.

    Parameters
    ----------
    x : float
        The difference.

    Returns
    -------
    str
        The signed difference, with a true minus sign.
    """
    if x != 0 and abs(x) >= 1000:
        digits = 3 - len(str(int(abs(x))))  # three significant figures, never 1.26e+03
        return f"{round(x, digits):+,.0f}".replace("-", "−")
    return f"{x:+.3g}".replace("-", "−")


def times(factor: float) -> str:
    """A multiple that reads right: 1.05 -> '1.05×', 2.0 -> '2×', 2.74 -> '2.7×', 15.7 -> '16×'.

    Two decimals below 2 (so a 5 % increase never reads '1.0×'), one below 10, none above;
    trailing zeros are dropped.

    Parameters
    ----------
    factor : float
        The multiple, positive.

    Returns
    -------
    str
        The multiple with a times sign.
    """
    decimals = 2 if factor < 1.995 else 1 if factor < 9.95 else 0
    text = f"{factor:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + "×"


def _metric_phrase(e: Effect, hdi_prob: float, level: float) -> str:
    """How one metric moved, in words, with its interval; each phrase is licensed by its claim."""
    where = join_words(list(e.no_events))
    if e.no_events and e.verdict == "inconclusive":
        return (
            f"could not be judged on {e.label}: it never or always happened in {where}, "
            "so the data bound its level there from one side only"
        )
    iv = _interval(e, hdi_prob)
    if not e.relative_defined:
        iv += "; no relative lift, " + (
            f"as {e.arm} rests on too few units for a ratio"
            if e.lift.lower < -1 and e.control_mean > 0
            else "as the control's mean is not clearly above zero"
        )
    if e.no_events:
        iv += "; " + _without_events_note(e, level)
    kind = metric_claim(e)
    if kind is not None:
        require(verdict_licensed(e, level), kind, f"{e.arm}, {e.label}")
    match kind:
        case "real lift":
            return f"raised {e.label} by {_size(e)} ({iv})"
        case "harm":
            return f"lowered {e.label} by {_size(e)} ({iv})"
        case "no effect":
            return f"left {e.label} practically unchanged ({_size(e, sign=True)}; {iv})"
        case _:
            return (
                f"left {e.label} unsettled ({_size(e, sign=True)}; {iv}): neither beyond nor within "
                f"the {_rope_text(e.rope)} that matters"
            )


def _without_events_note(e: Effect, level: float) -> str:
    """Why a binary verdict stands with an arm where the metric never (always) happened: its bound."""
    notes = []
    for arm in e.no_events:
        mean, n = (e.control_mean, e.n_control) if arm != e.arm else (e.arm_mean, e.n_arm)
        bound = zero_event_bound(n, level)
        never = mean == 0
        level_text = pct(bound) if never else pct(1 - bound)
        notes.append(
            f"it {'never' if never else 'always'} happened in {arm}, and this holds even were its true "
            f"rate there as {'high' if never else 'low'} as {level_text}, the most {n:,} units allow"
        )
    return "; ".join(notes)


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
    level: float,
    follow: Sequence[tuple[FollowThrough, FollowThrough]] = (),
) -> str:
    """One plain-language paragraph for leadership: what the arm did, costly steps first.

    Unconditional outcomes are stated first (they decide the arm); shares among an earlier
    stage follow as explanation. Every phrase is licensed by its claim (:mod:`.claims`).

    Parameters
    ----------
    arm : str
        The treatment arm.
    verdict : ArmVerdict
        Its verdict across the funnel.
    effects : sequence of Effect
        Its effects on every metric.
    hdi_prob : float
        The interval mass.
    level : float
        The probability a one-sided claim needs.
    follow : sequence of tuple of (FollowThrough, FollowThrough)
        The arm's follow-through paired with the control's; credible changes are named.

    Returns
    -------
    str
        The paragraph.
    """
    decisive = deciding(effects)
    shares = [e for e in effects if e.role in DECISIVE_ROLES and e.conditional and e.type != "ratio"]
    engagement = [e for e in effects if e.role == "engagement"]
    parts = [_metric_phrase(e, hdi_prob, level) for e in decisive]
    text = f"{arm} " + (join_words(parts) if parts else "was judged on no outcome per unit") + "."
    text += _shares_sentence(shares, hdi_prob)
    if engagement:
        text += " " + _engagement_sentence(engagement)
    harmed = [e for e in effects if e.role == "guardrail" and e.verdict == "harm"]
    if harmed:
        moves = [
            f"{e.label} {'rose' if e.lift.mean > 0 else 'fell'} by {_size(e)} ({_interval(e, hdi_prob)})"
            for e in harmed
        ]
        text += " Guardrail: " + join_words(moves) + ", worse beyond what is allowed."
    text += _follow_through_sentences([(f, c) for f, c in follow if f.credible_change], hdi_prob)
    return text + _verdict_sentence(verdict, list(effects), decisive, harmed, level)


def _verdict_sentence(
    verdict: ArmVerdict, effects: list[Effect], decisive: list[Effect], harmed: list[Effect], level: float
) -> str:
    """The closing verdict, each licensed by its condition (:mod:`channelab.analysis.claims`)."""
    where = effects[0].arm if effects else "an arm"
    match verdict:
        case "real lift":
            require(any(e.verdict == "real lift" for e in decisive), "arm: real lift", where)
            return " Verdict: real lift."
        case "real lift, but harms":
            require(bool(harmed), "guardrail harm", where)
            names = join_words([e.label for e in harmed])
            return f" Verdict: real lift, but it harms {names}: weigh that before a rollout."
        case "engagement only":
            require(engagement_only_licensed(effects, level), "arm: engagement only", where)
            return (
                " Verdict: engagement only. People engaged more, but that did not turn into the "
                "costly step: the outcome credibly did not rise by an amount that matters. Do not "
                "read the engagement rise as a business result."
            )
        case "engagement up, outcome undecided":
            return (
                " Verdict: engagement up, outcome undecided. People engaged more; whether that turned "
                "into the costly step is not settled, so do not read the engagement rise as a "
                "business result yet." + _more_data_sentence(decisive)
            )
        case "harm":
            return " Verdict: harm."
        case "no effect":
            return " Verdict: no effect of practical size."
        case _:
            return " Verdict: inconclusive." + _more_data_sentence(decisive)


def _shares_sentence(shares: Sequence[Effect], hdi_prob: float) -> str:
    """Shares among an earlier stage that credibly moved, said as what they are: who was drawn in."""
    moved = [e for e in shares if metric_claim(e) in ("real lift", "harm")]
    if not moved:
        return ""
    parts = [
        f"{e.label} {'rose' if e.verdict == 'real lift' else 'fell'} ({_size(e, sign=True)}; "
        f"{_interval(e, hdi_prob)})"
        for e in moved
    ]
    return (
        " As a share of an earlier stage, "
        + join_words(parts)
        + ": this describes whom the arm drew into that stage, not an effect on the same people, "
        "so it explains the outcome per unit above but does not decide the arm."
    )


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
    up = [f"{e.label} by {_size(e)}" for e in effects if e.verdict == "real lift"]
    down = [f"{e.label} by {_size(e)}" for e in effects if e.verdict == "harm"]
    flat = [e.label for e in effects if e.verdict not in ("real lift", "harm")]
    parts = []
    if up:
        parts.append("raised " + join_words(up, sep=", "))
    if down:
        parts.append("lowered " + join_words(down, sep=", "))
    if flat:
        # "or", not "and": labels such as "likes and comments" must stay whole
        listed = flat[0] if len(flat) == 1 else ", ".join(flat[:-1]) + " or " + flat[-1]
        parts.append("did not credibly move " + listed)
    return "Engagement: it " + "; ".join(parts) + "."


def _more_data_sentence(decisive: Sequence[Effect]) -> str:
    open_ = [e for e in decisive if e.verdict == "inconclusive" and not e.no_events]
    if not open_ and any(e.no_events for e in decisive):
        return " An arm without events cannot be compared; collect data in which the outcome occurs."
    if not open_:
        return " Outcome metrics point in opposite directions."
    e = min(open_, key=lambda x: x.more_data_factor)
    factor = e.more_data_factor
    question = (
        f"whether {e.label} changed by more than the {_rope_text(e.rope)} that matters"
        if e.prob_in_rope < 0.5
        else f"whether the change in {e.label} is within the {_rope_text(e.rope)} too small to matter"
    )
    if not np.isfinite(factor) or factor > MAX_FACTOR:
        return (
            " The estimate sits on the edge of the band of changes too small to matter; far more data "
            f"would be needed to settle {question}."
        )
    extra = (factor - 1) * e.n_arm
    if extra < 1:
        return f" If the estimates hold, slightly more data would settle {question}."
    more = f"{pct(factor - 1)} more data than now" if factor < 1.5 else f"{times(factor)} the current sample"
    return (
        f" If the estimates hold, about {more} (roughly {extra:,.0f} more units per arm) would "
        f"settle {question}."
    )


def join_words(parts: Sequence[str], *, sep: str = "; ") -> str:
    """'a; b and c' (with ``sep`` between all but the last two).

    Parameters
    ----------
    parts : sequence of str
        The words or phrases.
    sep : str, default '; '
        The separator between all but the last two.

    Returns
    -------
    str
        The parts joined ('' for none).
    """
    if len(parts) <= 1:
        return "".join(parts)
    return sep.join(parts[:-1]) + " and " + parts[-1]


def money(x: float, currency: str, *, sign: bool = False) -> str:
    """An amount of money: 48.2 -> '$48', 1234.5 -> '$1,235', 3.456 -> '$3.46', with a sign when asked.

    Parameters
    ----------
    x : float
        The amount.
    currency : str
        The currency symbol.
    sign : bool, default False
        Whether to show a + on a positive amount (a negative one always has its −).

    Returns
    -------
    str
        Cents below 10, whole units above.
    """
    body = f"{currency}{abs(x):,.2f}" if abs(x) < 10 else f"{currency}{abs(x):,.0f}"
    if x < 0:
        return "−" + body
    return ("+" if sign else "") + body


def _count(x: float) -> str:
    """A signed count per 1,000: '+28.9', '−6.8'."""
    return f"{x:+,.1f}".replace("-", "−")


def money_sentence(e: ArmEconomics, economics: Economics, unit: str, hdi_prob: float) -> str:
    """One arm's economics in a leader's terms: net value and its uncertainty first, then its outcomes.

    Parameters
    ----------
    e : ArmEconomics
        The arm's economics.
    economics : Economics
        Every arm's economics (for the currency).
    unit : str
        What a unit is (``customer``, ``account``).
    hdi_prob : float
        The interval mass.

    Returns
    -------
    str
        The sentence; a cost per extra outcome only where its claim is licensed.
    """
    c, mass = economics.currency, f"{hdi_prob * 100:.0f} %"
    net = e.net_per_unit
    span = f"{money(net.lower, c, sign=True)} and {money(net.upper, c, sign=True)}"
    parts = []
    for o in e.outcomes:
        n = o.per_thousand
        span_n = f"{mass} interval {_count(n.lower)} to {_count(n.upper)}"
        extra = f"{_count(n.mean)} {o.label} per 1,000 {unit}s ({span_n})"
        if o.cost_each is not None:
            licensed = o.prob_no_increment <= (1 - hdi_prob) / 2
            require(licensed, "cost per extra outcome", f"{e.arm}, {o.label}")
            each = o.cost_each
            extra += (
                f" at about {money(each.mean, c)} each ({mass} interval {money(each.lower, c)} to "
                f"{money(each.upper, c)})"
            )
        elif o.per_thousand_spent is not None:
            extra += (
                f", not credibly more, so no cost per one (a {pct(o.prob_no_increment)} chance of none "
                f"extra; {_count(o.per_thousand_spent.mean)} per {c}1,000 spent)"
            )
        parts.append(extra)
    return (
        f"{e.arm}: net value per {unit} between {span} ({mass} interval; mean "
        f"{money(net.mean, c, sign=True)}) {_cost_words(e.cost_per_unit, c)} per {unit}"
        + _effort_clause(e, c, unit, mass)
        + ("; " + "; ".join(parts) if parts else "")
        + f". Best net value with probability {e.prob_best:.2f}."
    )


def _cost_words(cost: float, currency: str) -> str:
    """'at a cost of $20', or for an arm cheaper than the control 'saving $3.36'."""
    return f"saving {money(-cost, currency)}" if cost < 0 else f"at a cost of {money(cost, currency)}"


def _effort_clause(e: ArmEconomics, currency: str, unit: str, mass: str) -> str:
    """Where the cost is read from effort: its cost from the hours actually spent, and its interval.

    The rest of the cost (fixed costs spread over the units, per-unit and per-touch costs) is named
    when there is any.
    """
    if e.effort is None:
        return ""
    f, cost = e.effort, e.effort.cost
    extra = f"{f.extra.mean:+,.2f}".replace("-", "−")
    rest = e.cost_per_unit - cost.mean
    other = f", plus {money(rest, currency)} of other costs" if abs(rest) >= 0.005 else ""
    return (
        f" (cost from {f.label} actually spent: {money(cost.mean, currency)} per {unit}, {mass} interval "
        f"{money(cost.lower, currency)} to {money(cost.upper, currency)}: {extra} {f.label} per {unit} "
        f"against the control's, at {money(f.per_hour, currency)} each{other})"
    )


def ranking_sentence(economics: Economics, unit: str) -> str:
    """Which arm is best, only as far as the draws support it: else that no arm is credibly best.

    Parameters
    ----------
    economics : Economics
        Every arm's economics.
    unit : str
        What a unit is.

    Returns
    -------
    str
        The sentence.
    """
    p = economics.prob_best
    leader = max(p, key=lambda a: p[a])
    if economics.best is not None:
        require(p[economics.best] >= economics.best_level, "credibly best", economics.best)
        return (
            f"{economics.best} is credibly the best choice per {unit}: it has the highest net value with "
            f"probability {p[economics.best]:.2f} (at least {economics.best_level:.2f} is required)."
        )
    return (
        f"No arm is credibly best: the likeliest, {leader}, has the highest net value with probability "
        f"only {p[leader]:.2f} (a recommendation needs {economics.best_level:.2f}), so the arms below are "
        "listed in the test's order, not ranked; more data, or a decision on other grounds, is needed."
    )


def money_order(economics: Economics) -> list[ArmEconomics]:
    """The order to present arms' money in: best first only when one is credibly best, else as listed.

    Parameters
    ----------
    economics : Economics
        Every arm's economics.

    Returns
    -------
    list of ArmEconomics
        The treatments' economics, in that order.
    """
    if economics.best is None:
        return list(economics.arms)
    return sorted(economics.arms, key=lambda a: -a.prob_best)
