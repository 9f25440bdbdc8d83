"""The value every result states: a posterior mean and its interval (computed in :mod:`.intervals`).

Its own module so that the results (:mod:`.results`) and the money (:mod:`.economics_results`)
share it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Interval"]


@dataclass(frozen=True)
class Interval:
    """Posterior mean and an interval (equal-tailed for lifts, highest-density elsewhere).

    Attributes
    ----------
    mean : float
        The posterior mean (of a relative lift: the ratio of the means, less one).
    lower, upper : float
        The interval's ends, at the spec's interval mass.
    """

    mean: float
    lower: float
    upper: float
