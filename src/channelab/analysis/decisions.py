"""Decision rules: from a lift posterior to a verdict per metric, and from verdicts to one per arm.

Per arm across the funnel, ``engagement only`` means engagement credibly up while no outcome
or revenue metric is (the slacktivism pattern).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from channelab.analysis.results import ArmVerdict, Effect, MetricVerdict
from channelab.spec import DECISIVE_ROLES, Decision

#: Beyond this many times the current sample, we say "far more data" instead of a number.
MAX_FACTOR = 100.0


def metric_verdict(
    draws: np.ndarray, hdi: tuple[float, float], rope: tuple[float, float], decision: Decision
) -> MetricVerdict:
    """Verdict on one metric's relative lift, by the spec's decision rule."""
    lo, hi = rope
    if decision.rule == "hdi_rope":
        if hdi[0] > hi:
            return "real lift"
        if hdi[1] < lo:
            return "harm"
        if lo <= hdi[0] and hdi[1] <= hi:
            return "no effect"
        return "inconclusive"
    t = decision.threshold
    if np.mean(draws > hi) >= t:
        return "real lift"
    if np.mean(draws < lo) >= t:
        return "harm"
    if np.mean((draws >= lo) & (draws <= hi)) >= t:
        return "no effect"
    return "inconclusive"


def more_data_factor(mean: float, hdi: tuple[float, float], rope: tuple[float, float]) -> float:
    """Roughly how many times the current sample would make the verdict decisive.

    Interval width shrinks as 1/sqrt(n). If the estimate stays where it is, the interval
    must shrink until it clears the nearest ROPE edge (estimate outside the ROPE) or fits
    inside the ROPE (estimate inside). Each side of the interval is scaled on its own, since
    a relative lift's interval (taken on the log scale) is not symmetric. Returns ``inf``
    when the estimate sits on an edge.
    """
    lo, hi = rope
    below, above = mean - hdi[0], hdi[1] - mean  # the interval's reach on each side
    if mean > hi:
        needs = [(below, mean - hi)]
    elif mean < lo:
        needs = [(above, lo - mean)]
    else:
        needs = [(below, mean - lo), (above, hi - mean)]
    if any(room <= 0 for _, room in needs):
        return float("inf")
    return max(1.0, *((reach / room) ** 2 for reach, room in needs))


#: A verdict read the other way round: a guardrail that gets worse as it rises.
_FLIPPED: dict[MetricVerdict, MetricVerdict] = {
    "real lift": "harm",
    "harm": "real lift",
    "no effect": "no effect",
    "inconclusive": "inconclusive",
}


def guardrail_verdict(verdict: MetricVerdict, worse: str) -> MetricVerdict:
    """A guardrail's verdict read in its better direction: ``harm`` is credibly worse."""
    return _FLIPPED[verdict] if worse == "up" else verdict


def guardrail_harms(effects: Sequence[Effect]) -> tuple[str, ...]:
    """Labels of the guardrails among ``effects`` that were made credibly worse."""
    return tuple(e.label for e in effects if e.role == "guardrail" and e.verdict == "harm")


def arm_verdict(effects: Sequence[Effect]) -> ArmVerdict:
    """Verdict on one arm from its metrics' verdicts, reading the funnel.

    A real lift needs an outcome or revenue metric credibly beyond the ROPE. Engagement
    alone, however large, is reported as ``engagement only``. A real lift that made a
    guardrail credibly worse is ``real lift, but harms``.
    """
    decisive = [e.verdict for e in effects if e.role in DECISIVE_ROLES]
    engagement = [e.verdict for e in effects if e.role == "engagement"]
    up, down = "real lift" in decisive, "harm" in decisive
    if up and not down:
        return "real lift, but harms" if guardrail_harms(effects) else "real lift"
    if down and not up:
        return "harm"
    if up and down:
        return "inconclusive"
    if "real lift" in engagement:
        return "engagement only"
    if decisive and all(v == "no effect" for v in decisive):
        return "no effect"
    return "inconclusive"
