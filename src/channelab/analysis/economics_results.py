"""The money of an analysis as immutable values: extra outcomes, each arm's economics, the ranking.

Computed by :mod:`channelab.analysis.economics`; re-exported by :mod:`channelab.analysis.results`.
"""

from __future__ import annotations

from dataclasses import dataclass

from channelab.analysis.interval import Interval

__all__ = ["ArmEconomics", "Economics", "EffortCost", "ExtraOutcome"]


@dataclass(frozen=True)
class ExtraOutcome:
    """What one outcome's increment from an arm is, and costs: per 1,000 units and per 1,000 spent.

    Attributes
    ----------
    metric, label : str
        The outcome's name, and its name in sentences.
    per_thousand : Interval
        Extra outcomes per 1,000 units.
    per_thousand_spent : Interval or None
        Extra outcomes per 1,000 spent (None unless the arm costs more than the control in every draw).
    cost_each : Interval or None
        The median and equal-tailed interval of cost / increment over the joint draws, only when
        the increment's interval lies above zero and the cost is positive in every draw.
    prob_no_increment : float
        P(increment ≤ 0).
    """

    metric: str
    label: str
    per_thousand: Interval
    per_thousand_spent: Interval | None
    cost_each: Interval | None
    prob_no_increment: float


@dataclass(frozen=True)
class EffortCost:
    """The part of an arm's cost read from the effort spent on its units (``cost.per_hour`` × ``cost.hours``).

    Attributes
    ----------
    metric, label : str
        The effort metric's name (hours or touches per unit), and its name in sentences.
    per_hour : float
        Money per hour (or touch) of effort.
    extra : Interval
        The arm's effort per unit beyond the control's (posterior mean and HDI).
    cost : Interval
        The effort's cost per unit beyond the control's: per_hour × the effort draws (with
        ``costs_are: total``, the arm's effort cost less the control's).
    """

    metric: str
    label: str
    per_hour: float
    extra: Interval
    cost: Interval


@dataclass(frozen=True)
class ArmEconomics:
    """One treatment's money against the control, per unit (see :mod:`channelab.analysis.economics`).

    Attributes
    ----------
    arm : str
        The treatment arm.
    cost_per_unit : float
        Its cost per unit beyond the control's (the posterior mean where effort makes it random).
    value_per_unit, net_per_unit : Interval
        The value of its increments per unit, and that value less the cost.
    return_on_spend : Interval or None
        Net value over cost (None unless the arm costs more than the control in every draw).
    outcomes : tuple of ExtraOutcome
        The extra outcomes (binary and count outcome metrics) and what each costs.
    prob_best : float
        P(the arm has the highest net value per unit).
    expected_loss : float
        The mean shortfall of its net value from the best arm's.
    cost_interval : Interval or None
        The cost per unit's posterior mean and HDI (both ends equal when every cost is a constant).
    effort : EffortCost or None
        The cost's part read from the effort spent (None when the arm has no ``per_hour``).
    """

    arm: str
    cost_per_unit: float
    value_per_unit: Interval
    net_per_unit: Interval
    return_on_spend: Interval | None
    outcomes: tuple[ExtraOutcome, ...]
    prob_best: float
    expected_loss: float
    cost_interval: Interval | None = None
    effort: EffortCost | None = None


@dataclass(frozen=True)
class Economics:
    """Every treatment's economics, and P(best net value) and expected loss of every arm, control too.

    Attributes
    ----------
    currency : str
        The spec's currency symbol.
    arms : tuple of ArmEconomics
        Each treatment's economics, in the spec's order.
    prob_best, expected_loss : dict of str to float
        P(highest net value) and expected loss of every arm, the control's net value counted at 0.
    valued : tuple of str
        The metrics that carry money (revenue, and metrics with a ``value``).
    best : str or None
        The arm (or the control) that is credibly best: P(best) ≥ ``best_level``; else None,
        and no ranking is presented as a recommendation.
    best_level : float
        The P(best) a recommendation needs.
    """

    currency: str
    arms: tuple[ArmEconomics, ...]
    prob_best: dict[str, float]
    expected_loss: dict[str, float]
    valued: tuple[str, ...]
    best: str | None = None
    best_level: float = 0.95

    def get(self, arm: str) -> ArmEconomics:
        """The economics of treatment ``arm``.

        Parameters
        ----------
        arm : str
            A treatment arm.

        Returns
        -------
        ArmEconomics
            Its economics.
        """
        return next(a for a in self.arms if a.arm == arm)
