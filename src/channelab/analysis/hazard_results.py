"""The time-to-event results as values: incidence curves, hazard ratios, the proportionality check.

Computed in :mod:`.hazards`; their own module so that the results (:mod:`.results`) hold them
without importing the model code.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

from channelab.analysis.interval import Interval

__all__ = ["PROPORTIONALITY_ALPHA", "Incidence", "Proportionality", "TimeToEvent"]

#: The p-value below which the report says a hazard ratio changes over the window.
PROPORTIONALITY_ALPHA = 0.05


@dataclass(frozen=True)
class Proportionality:
    """Whether the hazard ratios are constant over the window: a likelihood-ratio test.

    Attributes
    ----------
    statistic
        The deviance of the proportional-hazards Poisson fit on the arm × interval table.
    df
        Its degrees of freedom (cells of the table less the fit's parameters).
    p_value
        P(χ²_df ≥ statistic).
    flagged
        Whether p < :data:`PROPORTIONALITY_ALPHA`: the data contradict a constant ratio.
    """

    statistic: float
    df: int
    p_value: float
    flagged: bool


@dataclass(frozen=True)
class Incidence:
    """One arm's cumulative incidence: P(outcome by day t since entry), with its interval.

    Attributes
    ----------
    arm
        The arm.
    days
        The days t, from 0 to the window's last day.
    mean, lower, upper
        Per day, the posterior mean and the equal-tailed interval of P(outcome by day t).
    """

    arm: str
    days: tuple[int, ...]
    mean: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]


@dataclass(frozen=True)
class TimeToEvent:
    """A survival metric's incidence curves, hazard ratios and proportionality check.

    Attributes
    ----------
    metric
        The metric's name.
    window_days
        Its window W: the lift is in P(outcome within W days).
    bounds
        The intervals' bounds in days since entry.
    hazards
        ``varying`` or ``proportional`` (the spec's choice).
    incidence
        One curve per arm, control first.
    hazard_ratios
        Per treatment (in the spec's order), e^arm with its equal-tailed interval.
    proportionality
        Per treatment, the check of its constant ratio to the control, or ``None`` where the
        table cannot test it (one interval).
    inside_window
        Per arm, units still inside their window at the analysis date (counted as far as they
        have come).
    """

    metric: str
    window_days: int
    bounds: tuple[int, ...]
    hazards: str
    incidence: tuple[Incidence, ...]
    hazard_ratios: tuple[tuple[str, Interval], ...]
    proportionality: tuple[tuple[str, Proportionality | None], ...]
    inside_window: tuple[tuple[str, int], ...]

    def for_arms(self, arms: Collection[str]) -> TimeToEvent:
        """These results for the control (the first curve) and the treatments ``arms`` only.

        Parameters
        ----------
        arms
            The treatment arms to keep.
        """
        control = self.incidence[0].arm
        keep = {control, *arms}
        return replace(
            self,
            incidence=tuple(c for c in self.incidence if c.arm in keep),
            hazard_ratios=tuple(r for r in self.hazard_ratios if r[0] in keep),
            inside_window=tuple(w for w in self.inside_window if w[0] in keep),
            proportionality=tuple(p for p in self.proportionality if p[0] in keep),
        )
