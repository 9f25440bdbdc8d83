"""The claims contract: every claim a report makes, and the posterior condition that licenses it.

A report's words are claims about the world. Each kind below is made only when its condition
holds, every sentence generator checks it (:func:`require`), and the JSON lists the claims a
run made (``claims``), so ``benchmarks/claims.py`` can count how often each kind is false in
worlds whose truth is known. ``level`` is the probability a one-sided claim needs
(:func:`~channelab.analysis.decisions.claim_level`: 0.97 for the default 94 % interval rule);
``d`` is the difference of the mean per unit (arm − control), ``c`` the control's mean, and
the ROPE's edges on ``d`` are ``rope × |c|`` draw by draw.

Statements of uncertainty ("inconclusive", "undecided", "no arm is credibly best") are not
claims about the world and cannot be false; the benchmark reports how often a definite claim
was made where the truth was undecided instead. No sentence claims a direction inside the
ROPE ("a rise is credible, but not whether it matters"): the ROPE says such changes are
practically zero, and in worlds without an effect that sign claim was false in nearly every
case it was made (``benchmarks/claims.py``), so an undecided metric states its interval only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from channelab.analysis.decisions import credibly_not_up, deciding
from channelab.analysis.results import ArmResult, Economics, Effect, Effects, FollowThrough

ClaimKind = Literal[
    "real lift",
    "harm",
    "no effect",
    "arm: real lift",
    "arm: harm",
    "arm: no effect",
    "arm: engagement only",
    "arm: engagement up",
    "guardrail harm",
    "follow-through rose",
    "follow-through fell",
    "cost per extra outcome",
    "credibly best",
]

#: What licenses each claim (posterior condition), and what would make it false (the truth).
CONTRACT: dict[ClaimKind, tuple[str, str]] = {
    "real lift": (
        "P(d > hi·|c|) ≥ level (a guardrail: beyond the ROPE in its better direction); where a binary "
        "metric never or always happened in an arm, also with that arm's rate at its exact bound",
        "the true lift is at most the ROPE's upper edge (a guardrail: not truly better beyond it)",
    ),
    "harm": (
        "P(d < lo·|c|) ≥ level; where a binary metric never or always happened in an arm, also with "
        "that arm's rate at its exact bound",
        "the true lift is at least the ROPE's lower edge",
    ),
    "no effect": (
        "the interval lies within the ROPE (hdi_rope), or P(inside) ≥ level (probability rule)",
        "the true lift is outside the ROPE",
    ),
    "arm: real lift": (
        "some unconditional outcome or revenue metric is a real lift and none a harm",
        "no deciding metric truly rose beyond the ROPE",
    ),
    "arm: harm": (
        "some unconditional outcome or revenue metric is a harm and none a real lift",
        "no deciding metric truly fell beyond the ROPE",
    ),
    "arm: no effect": (
        "every unconditional outcome and revenue metric is no effect",
        "some deciding metric truly moved beyond the ROPE",
    ),
    "arm: engagement only": (
        "an engagement metric is a real lift and every deciding metric has P(d > hi·|c|) ≤ 1 − level",
        "no engagement metric truly rose beyond the ROPE, or some deciding metric truly did",
    ),
    "arm: engagement up": (
        "an engagement metric is a real lift (the outcome is not settled: a statement of ignorance)",
        "no engagement metric truly rose beyond the ROPE",
    ),
    "guardrail harm": (
        "the guardrail is beyond the ROPE in its worse direction with probability ≥ level",
        "the guardrail did not truly get worse beyond the ROPE",
    ),
    "follow-through rose": (
        "the equal-tailed interval of the follow-through's lift lies above the outcome's ROPE",
        "the true follow-through did not rise beyond the ROPE",
    ),
    "follow-through fell": (
        "the equal-tailed interval of the follow-through's lift lies below the outcome's ROPE",
        "the true follow-through did not fall beyond the ROPE",
    ),
    "cost per extra outcome": (
        "the increment's equal-tailed interval lies above 0 (only then is a cost per one stated)",
        "the true increment is ≤ 0",
    ),
    "credibly best": (
        "P(highest net value) ≥ BEST_LEVEL (0.95), the control counted at 0",
        "another arm (or the control) truly has the higher net value",
    ),
}


@dataclass(frozen=True)
class Claim:
    """One claim a report makes: its kind, the arm and metric it is about, and any detail.

    Attributes
    ----------
    kind : ClaimKind
        What is claimed (a key of :data:`CONTRACT`).
    arm : str
        The arm the claim is about.
    metric : str or None
        The metric it is about (of a follow-through claim: the engagement), if any.
    detail : str or None
        The outcome of a follow-through claim.
    """

    kind: ClaimKind
    arm: str
    metric: str | None = None
    detail: str | None = None


class UnlicensedClaim(AssertionError):
    """A sentence generator was asked to write a claim its posterior condition does not license (a bug)."""


def require(holds: bool, kind: ClaimKind, where: str) -> None:
    """Refuse to write claim ``kind`` about ``where`` unless its condition ``holds``."""
    if not holds:
        raise UnlicensedClaim(f"claim {kind!r} about {where} is not licensed: {CONTRACT[kind][0]}")


def claims_made(effects: Effects) -> tuple[Claim, ...]:
    """Every claim the report of ``effects`` makes (what page 1, the tables and the JSON assert).

    Parameters
    ----------
    effects : Effects
        The effects a report states.

    Returns
    -------
    tuple of Claim
        The claims of the metric verdicts, the arm verdicts, follow-through and money, in that order.
    """
    return tuple(_claims(effects))


_METRIC_CLAIMS: dict[str, ClaimKind] = {"real lift": "real lift", "harm": "harm", "no effect": "no effect"}
_ARM_CLAIMS: dict[str, ClaimKind] = {
    "real lift": "arm: real lift",
    "real lift, but harms": "arm: real lift",
    "harm": "arm: harm",
    "no effect": "arm: no effect",
    "engagement only": "arm: engagement only",
    "engagement up, outcome undecided": "arm: engagement up",
}


def _claims(effects: Effects) -> Iterator[Claim]:
    """The claims of the metric verdicts, the arm verdicts, follow-through and money, in that order."""
    yield from _metric_claims(effects.effects)
    yield from _arm_claims(effects.arms)
    yield from _follow_through_claims(effects.follow_through)
    if effects.economics is not None:
        yield from _money_claims(effects.economics)


def _metric_claims(effects: Iterable[Effect]) -> Iterator[Claim]:
    """The claim each metric's verdict makes, where it makes one."""
    for e in effects:
        kind = metric_claim(e)
        if kind is not None:
            yield Claim(kind, e.arm, e.metric)


def _arm_claims(arms: Iterable[ArmResult]) -> Iterator[Claim]:
    """The claim each arm's verdict makes (statements of uncertainty make none)."""
    for a in arms:
        if a.verdict in _ARM_CLAIMS:
            yield Claim(_ARM_CLAIMS[a.verdict], a.arm)


def _follow_through_claims(follow: Iterable[FollowThrough]) -> Iterator[Claim]:
    """A rise or fall of follow-through, where it is credible beyond the outcome's ROPE."""
    for f in follow:
        if f.credible_change:
            kind: ClaimKind = "follow-through rose" if f.credible_change > 0 else "follow-through fell"
            yield Claim(kind, f.arm, f.engagement, detail=f.outcome)


def _money_claims(economics: Economics) -> Iterator[Claim]:
    """Each cost per extra outcome stated, and the credibly best arm if there is one."""
    for arm in economics.arms:
        for o in arm.outcomes:
            if o.cost_each is not None:
                yield Claim("cost per extra outcome", arm.arm, o.metric)
    if economics.best is not None:
        yield Claim("credibly best", economics.best)


def metric_claim(e: Effect) -> ClaimKind | None:
    """The claim one effect's verdict or sentence makes about its metric, if any.

    Parameters
    ----------
    e : Effect
        One arm's effect on one metric.

    Returns
    -------
    ClaimKind or None
        ``real lift``, ``harm``, ``no effect`` or (a guardrail made worse) ``guardrail harm``;
        None for an inconclusive verdict (and so for most metrics without events in an arm).
    """
    if e.role == "guardrail":
        return "guardrail harm" if e.verdict == "harm" else _METRIC_CLAIMS.get(e.verdict)
    return _METRIC_CLAIMS.get(e.verdict)


def verdict_licensed(e: Effect, level: float) -> bool:
    """Whether the posterior licenses the claim of a (non-guardrail) metric's verdict.

    ``no effect`` is checked by a condition both rules imply: P(inside) ≥ 2·level − 1.
    """
    match e.verdict:
        case "real lift":
            return e.prob_above_rope >= level
        case "harm":
            return e.prob_below_rope >= level
        case "no effect":
            return e.prob_in_rope >= 2 * level - 1
    return True


def engagement_only_licensed(effects: list[Effect], level: float) -> bool:
    """The condition of ``arm: engagement only`` on one arm's effects."""
    decisive = deciding(effects)
    engaged = any(e.role == "engagement" and e.verdict == "real lift" for e in effects)
    return engaged and bool(decisive) and all(credibly_not_up(e, level) for e in decisive)
