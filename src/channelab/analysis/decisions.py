"""Decision rules: from the posterior of a difference to a verdict per metric, and to one per arm.

Every decision rests on the **difference** of the mean per unit, d = μ_arm − μ_control (the
estimand), never on the ratio: P(lift > 0) is P(d > 0), which stays right when the control's
mean can be zero or negative. The ROPE is stated relative to the control's level, so draw by
draw its edges on the difference are ``rope × |μ_control|``; where the control's mean is
positive this is exactly the relative lift against the relative ROPE, and the verdict agrees
with the equal-tailed interval drawn in the report (:mod:`channelab.analysis.intervals`).

A one-sided claim needs probability ``level`` (:func:`claim_level`): with the ``hdi_rope``
rule, 1 − (1 − p)/2 for interval mass p (the interval's tail: 0.97 for a 94 % interval), so
"the interval lies beyond the ROPE edge" and "P(beyond the edge) ≥ level" are the same
statement; with the ``probability`` rule, its threshold.

The claims contract (what licenses each verdict; :mod:`channelab.analysis.claims` holds every
sentence's condition and ``benchmarks/claims.py`` measures how often each is false):

- metric ``real lift``: P(d > hi · |μ_c|) ≥ level; ``harm``: P(d < lo · |μ_c|) ≥ level;
- metric ``no effect``: with ``hdi_rope`` both tails inside the ROPE (P(above) and P(below)
  ≤ 1 − level, the interval within the ROPE); with ``probability`` P(inside) ≥ level;
- metric ``inconclusive``: none of these.
- an arm where a **binary** metric never (or always) happened: the data bound its rate only
  from one side (no events in n units: below 1 − (1 − level)^(1/n), the exact one-sided
  Clopper–Pearson bound), and where in that range it lies rests on the prior. A ``real lift``
  or ``harm`` stands only if it also holds with that arm's rate at the bound's end least
  favourable to the claim (:func:`without_events_verdict`); ``no effect`` never does. Any
  other type with such an arm stays ``inconclusive`` (a mean of zero gives no bound free of
  the model: the size of a purchase nobody made is the prior's).
- arm verdicts read only unconditional outcome and revenue metrics (a share among an earlier
  stage explains but never decides):
  ``real lift`` some decide a real lift and none a harm (``real lift, but harms`` when a
  guardrail is credibly worse); ``harm`` the reverse; ``engagement only`` some engagement
  metric is a real lift **and every deciding metric is credibly not up** (P(d > hi · |μ_c|)
  ≤ 1 − level: the outcome did not rise by an amount that matters; this, not "the outcome's
  lift is below the engagement's", is what the sentence "did not turn into the costly step"
  says, so it is the condition chosen); ``engagement up, outcome undecided`` engagement a real
  lift and the outcomes not settled either way; ``no effect`` every deciding metric no effect;
  ``inconclusive`` otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from channelab.analysis.results import ArmVerdict, MetricVerdict
from channelab.spec import DECISIVE_ROLES, Decision, Role


class Judged(Protocol):
    """What an arm's verdict reads of each metric.

    An :class:`~channelab.analysis.results.Effect`, or a known truth (the simulators' true
    verdicts), which need not pretend to be one.

    Attributes
    ----------
    role : Role
        The metric's role.
    verdict : MetricVerdict
        The verdict on the metric.
    label : str
        The metric's name in sentences.
    prob_above_rope : float
        P(the difference is above the ROPE).
    conditional : bool
        Whether the metric is a share among an earlier stage (it never decides an arm).
    no_events : tuple of str
        Arms where the metric never or always happened.
    """

    @property
    def role(self) -> Role: ...  # noqa: D102
    @property
    def verdict(self) -> MetricVerdict: ...  # noqa: D102
    @property
    def label(self) -> str: ...  # noqa: D102
    @property
    def prob_above_rope(self) -> float: ...  # noqa: D102
    @property
    def conditional(self) -> bool: ...  # noqa: D102
    @property
    def no_events(self) -> tuple[str, ...]: ...  # noqa: D102


#: Beyond this many times the current sample, we say "far more data" instead of a number.
MAX_FACTOR = 100.0


def claim_level(decision: Decision, prob: float) -> float:
    """The posterior probability a one-sided claim (beyond a ROPE edge) needs under ``decision``."""
    return 1 - (1 - prob) / 2 if decision.rule == "hdi_rope" else decision.threshold


def rope_probabilities(
    diff: np.ndarray, control: np.ndarray, rope: tuple[float, float]
) -> tuple[float, float]:
    """P(d above the ROPE) and P(d below it), the ROPE's edges scaled by |μ_control| draw by draw.

    Parameters
    ----------
    diff : numpy.ndarray
        Draws of the difference d = μ_arm − μ_control.
    control : numpy.ndarray
        The same draws of μ_control.
    rope : tuple of float
        The ROPE, relative to the control's level.

    Returns
    -------
    tuple of float
        P(above the ROPE) and P(below it).
    """
    scale = np.abs(np.asarray(control, dtype=float).ravel())
    d = np.asarray(diff, dtype=float).ravel()
    return float(np.mean(d > rope[1] * scale)), float(np.mean(d < rope[0] * scale))


def metric_verdict(above: float, below: float, level: float, decision: Decision) -> MetricVerdict:
    """Verdict on one metric from P(above the ROPE) and P(below it) (see the module docstring).

    Parameters
    ----------
    above, below : float
        P(the difference is above the ROPE) and P(below it) (:func:`rope_probabilities`).
    level : float
        The probability a one-sided claim needs (:func:`claim_level`).
    decision : Decision
        The spec's decision rule: ``hdi_rope`` or ``probability``.

    Returns
    -------
    MetricVerdict
        ``real lift``, ``harm``, ``no effect`` or ``inconclusive``.
    """
    if above >= level:
        return "real lift"
    if below >= level:
        return "harm"
    inside = max(above, below) <= 1 - level if decision.rule == "hdi_rope" else 1 - above - below >= level
    return "no effect" if inside else "inconclusive"


def interval_verdict(lower: float, upper: float, rope: tuple[float, float]) -> MetricVerdict:
    """Verdict from an interval against the ROPE (both on one scale): beyond it, within it, or neither.

    Parameters
    ----------
    lower, upper : float
        The interval's ends.
    rope : tuple of float
        The ROPE's edges.

    Returns
    -------
    MetricVerdict
        ``real lift`` above the ROPE, ``harm`` below it, ``no effect`` within it, else ``inconclusive``.
    """
    if lower > rope[1]:
        return "real lift"
    if upper < rope[0]:
        return "harm"
    return "no effect" if rope[0] <= lower and upper <= rope[1] else "inconclusive"


def zero_event_bound(n: int, level: float) -> float:
    """The largest rate that n units with no events leave credible: 1 − (1 − level)^(1/n).

    The exact one-sided Clopper–Pearson bound (about 3/n at level 0.95, the "rule of three").

    Parameters
    ----------
    n : int
        Units observed, none with the event.
    level : float
        The claim level.

    Returns
    -------
    float
        The bound, in (0, 1]; 1 without units.
    """
    return 1.0 if n <= 0 else float(1 - (1 - level) ** (1 / n))


def without_events_verdict(
    judged: MetricVerdict,
    arms: tuple[np.ndarray, np.ndarray],
    empty: tuple[str | None, str | None],
    units: tuple[int, int],
    rope: tuple[float, float],
    level: float,
) -> MetricVerdict:
    """A binary metric's verdict where an arm never (``"never"``) or always (``"always"``) had the event.

    The empty arm's rate is set to the end of its data-only range least favourable to the
    claim (never: [0, b]; always: [1 − b], 1] with b :func:`zero_event_bound`); the claim
    stands if it still holds at ``level``, else the verdict is ``inconclusive``.

    Parameters
    ----------
    judged : MetricVerdict
        The verdict the posterior gives.
    arms : tuple of numpy.ndarray
        Draws of the treated arm's and the control's rate.
    empty : tuple of str or None
        For the treated arm and the control: ``"never"``, ``"always"`` or None (events seen).
    units : tuple of int
        Units of the treated arm and of the control.
    rope : tuple of float
        The ROPE, relative to the control's level.
    level : float
        The claim level.

    Returns
    -------
    MetricVerdict
        ``judged`` if it survives, else ``inconclusive``.
    """
    if judged not in ("real lift", "harm"):
        return "inconclusive"
    up = judged == "real lift"
    worst = []
    for draws, state, n, high_hurts in zip(arms, empty, units, (not up, up), strict=True):
        bound = zero_event_bound(n, level)
        ends = {"never": (0.0, bound), "always": (1 - bound, 1.0)}.get(state or "")
        worst.append(draws if ends is None else np.full_like(draws, ends[1] if high_hurts else ends[0]))
    treated, control = worst
    above, below = rope_probabilities(treated - control, control, rope)
    return judged if (above if up else below) >= level else "inconclusive"


def credibly_not_up(effect: Judged, level: float) -> bool:
    """Whether the metric credibly did not rise by an amount that matters: P(above the ROPE) ≤ 1 − level."""
    return not effect.no_events and effect.prob_above_rope <= 1 - level


def more_data_factor(mean: float, hdi: tuple[float, float], rope: tuple[float, float]) -> float:
    """Roughly how many times the current sample would make the verdict decisive.

    Interval width shrinks as 1/sqrt(n). If the estimate stays where it is, the interval
    must shrink until it clears the nearest ROPE edge (estimate outside the ROPE) or fits
    inside the ROPE (estimate inside). Each side of the interval is scaled on its own, since
    an interval need not be symmetric.

    Parameters
    ----------
    mean : float
        The estimate.
    hdi : tuple of float
        Its interval.
    rope : tuple of float
        The ROPE's edges, on the estimate's scale.

    Returns
    -------
    float
        The factor (at least 1), or ``inf`` when the estimate sits on an edge.
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
    """A guardrail's verdict read in its better direction: ``harm`` is credibly worse.

    Parameters
    ----------
    verdict : MetricVerdict
        The verdict read upward (``real lift``: credibly up).
    worse : str
        The guardrail's worse direction, ``up`` or ``down``.

    Returns
    -------
    MetricVerdict
        The verdict, flipped when the guardrail gets worse as it rises.
    """
    return _FLIPPED[verdict] if worse == "up" else verdict


def guardrail_harms(effects: Sequence[Judged]) -> tuple[str, ...]:
    """Labels of the guardrails among ``effects`` that were made credibly worse."""
    return tuple(e.label for e in effects if e.role == "guardrail" and e.verdict == "harm")


def deciding[J: Judged](effects: Sequence[J]) -> list[J]:
    """The metrics that decide an arm: unconditional outcomes and revenue."""
    return [e for e in effects if e.role in DECISIVE_ROLES and not e.conditional]


def arm_verdict(effects: Sequence[Judged], level: float) -> ArmVerdict:
    """Verdict on one arm from its metrics' verdicts, reading the funnel (see the module docstring).

    Parameters
    ----------
    effects : sequence of Judged
        The arm's effects on every metric (or known true verdicts).
    level : float
        The probability a one-sided claim needs (:func:`claim_level`).

    Returns
    -------
    ArmVerdict
        The arm's verdict.
    """
    decisive = deciding(effects)
    verdicts = [e.verdict for e in decisive]
    up, down = "real lift" in verdicts, "harm" in verdicts
    if up and not down:
        return "real lift, but harms" if guardrail_harms(effects) else "real lift"
    if down and not up:
        return "harm"
    if up and down:
        return "inconclusive"
    if any(e.role == "engagement" and e.verdict == "real lift" for e in effects):
        if decisive and all(credibly_not_up(e, level) for e in decisive):
            return "engagement only"
        return "engagement up, outcome undecided"
    if verdicts and all(v == "no effect" for v in verdicts):
        return "no effect"
    return "inconclusive"
