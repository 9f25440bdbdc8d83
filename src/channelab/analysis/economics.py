"""Money: what each arm's increments are worth, what they cost, and which arm is best, from the draws.

Per treatment arm a against the control, with μ the posterior draws of each metric's
population mean per unit (:func:`~channelab.analysis.gcomp.population_means`):

- increment of metric m per unit: μ_a(m) − μ_c(m) (shown per 1,000 units);
- value per unit: Σ value(m) × increment(m), revenue at face value, guardrails at their value;
- cost per unit: the arm's cost beyond the control's: ``Cost.variable`` plus its fixed cost
  spread over ``economics.units`` (by default its units in the test), plus, where the arm
  gives ``per_hour`` and ``hours``, the effort it spends: per_hour × μ_a(hours), draw by draw
  (with incremental costs, per_hour × (μ_a(hours) − μ_c(hours)): the effort beyond business
  as usual). A cost read from effort is random, and every figure below uses its draws;
- net value per unit: value − cost; return on spend: net / cost (where the cost is positive
  in every draw);
- cost per extra outcome: cost / increment over the joint draws (its median and equal-tailed
  interval, computed as the reciprocals of the quantiles of increment / cost, which stay finite
  when a draw's increment is 0); only where the increment's interval lies above zero, else
  the share of draws with no increment (P(increment ≤ 0)) is reported and the always-defined
  extra outcomes per 1,000 of spend is the figure to read. With a constant cost this is the
  increment's interval mapped;
- P(best): the share of draws in which the arm (the control's net value is 0) has the highest
  net value per unit; expected loss: the mean shortfall of its net value from the best's. An
  arm is *credibly best* only when its P(best) reaches ``BEST_LEVEL``; otherwise a report says
  that no arm is credibly best and ranks nothing.

Every number is a function of the same joint draws: no plug-in ratios.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr

from channelab.analysis.economics_results import EffortCost
from channelab.analysis.intervals import interval
from channelab.analysis.results import ArmEconomics, Economics, ExtraOutcome, Interval
from channelab.cells import Cells
from channelab.spec import Metric, Spec

#: Extra outcomes are stated per this many units, and per this much spend.
_PER = 1000
#: An arm is called credibly best only when it has the highest net value with this probability.
BEST_LEVEL = 0.95

#: The draws of a metric's population mean per unit in an arm, flattened: ``draws(metric, arm)``.
_Draws = Callable[[str, str], np.ndarray]


@dataclass(frozen=True)
class _Cost:
    """An arm's cost per unit beyond the control's: a constant part, and draws where effort is costed."""

    constant: float
    effort: np.ndarray | None

    def draws(self, zero: np.ndarray) -> np.ndarray:
        """The cost per unit in every draw (``zero``: an array of zeros of the draws' shape)."""
        return zero + self.constant + (0.0 if self.effort is None else self.effort)

    @property
    def mean(self) -> float:
        """The posterior mean cost per unit (exactly the constant when nothing is random)."""
        return self.constant + (0.0 if self.effort is None else float(self.effort.mean()))


def _own_cost(spec: Spec, arm: str, units: float, draws: _Draws) -> _Cost:
    """The arm's own cost per unit: per unit, per touch, fixed spread over ``units``, and effort."""
    cost = spec.arms[arm].cost
    if cost is None:
        return _Cost(0.0, None)
    constant = cost.variable + cost.fixed / (spec.economics.units or units)
    if cost.hours is None or cost.per_hour is None:
        return _Cost(constant, None)
    hours = draws(cost.hours, arm)
    if spec.economics.costs_are == "incremental":  # only the effort beyond business as usual's
        hours = hours - draws(cost.hours, spec.control)
    return _Cost(constant, cost.per_hour * hours)


def _increment(cost: _Cost, baseline: _Cost) -> _Cost:
    """The cost of an arm beyond the control's, part by part."""
    if cost.effort is None and baseline.effort is None:
        return _Cost(cost.constant - baseline.constant, None)
    effort = (0.0 if cost.effort is None else cost.effort) - (
        0.0 if baseline.effort is None else baseline.effort
    )
    return _Cost(cost.constant - baseline.constant, np.asarray(effort))


def _effort(spec: Spec, arm: str, cost: _Cost, draws: _Draws) -> EffortCost | None:
    """What the arm's effort adds to its cost, for the reports (None when its cost has no ``per_hour``)."""
    own = spec.arms[arm].cost
    if own is None or own.hours is None or own.per_hour is None or cost.effort is None:
        return None
    metric = next(m for m in spec.metrics if m.name == own.hours)
    return EffortCost(
        metric=metric.name,
        label=metric.display,
        per_hour=own.per_hour,
        extra=interval(draws(metric.name, arm) - draws(metric.name, spec.control), spec.hdi_prob),
        cost=interval(cost.effort, spec.hdi_prob),
    )


def compute_economics(means: dict[str, xr.DataArray], cells: Cells, spec: Spec) -> Economics:
    """Every arm's economics against the control, and the ranking, from the population-mean draws.

    Parameters
    ----------
    means : dict of str to xarray.DataArray
        Draws of each metric's population mean per unit (dims ``chain``, ``draw``, ``arm``).
    cells : Cells
        The cells (each arm's units spread its fixed cost).
    spec : Spec
        The experiment: arms and their costs, metric values, currency, interval mass.

    Returns
    -------
    Economics
        Every treatment's money against the control, and P(best) and expected loss of every arm.
    """
    units = dict(zip(cells.arms, cells.per_arm(cells.n), strict=True))
    valued = [m for m in spec.metrics if _value(m) is not None]

    def draws(metric: str, arm: str) -> np.ndarray:
        return means[metric].sel(arm=arm).to_numpy().ravel()

    baseline = _own_cost(spec, spec.control, units[spec.control], draws)
    zero = np.zeros_like(draws(spec.metrics[0].name, spec.control))
    nets = {spec.control: zero}
    arms = []
    for arm in spec.treatments:
        increment = {m.name: draws(m.name, arm) - draws(m.name, spec.control) for m in spec.metrics}
        cost = _increment(_own_cost(spec, arm, units[arm], draws), baseline)
        value = zero + sum((_value(m) or 0.0) * increment[m.name] for m in valued)
        nets[arm] = value - cost.draws(zero)
        arms.append((arm, cost, value, increment))
    best, loss = _ranking(nets)
    out = [
        _arm_economics(spec, arm, cost, value, increment, draws, (best[arm], loss[arm]))
        for arm, cost, value, increment in arms
    ]
    return Economics(
        currency=spec.currency,
        arms=tuple(out),
        prob_best=best,
        expected_loss=loss,
        valued=tuple(m.name for m in valued),
        best=next((a for a, p in best.items() if p >= BEST_LEVEL), None),
        best_level=BEST_LEVEL,
    )


def _arm_economics(
    spec: Spec,
    arm: str,
    cost: _Cost,
    value: np.ndarray,
    increment: dict[str, np.ndarray],
    draws: _Draws,
    ranked: tuple[float, float],
) -> ArmEconomics:
    """One treatment's money from the joint draws of its value, increments and cost."""
    spent = cost.draws(np.zeros_like(value))
    net = value - spent
    paid = bool(np.all(spent > 0))  # net / cost and increment / cost are defined in every draw
    return ArmEconomics(
        arm=arm,
        cost_per_unit=cost.mean,
        value_per_unit=interval(value, spec.hdi_prob),
        net_per_unit=interval(net, spec.hdi_prob),
        return_on_spend=interval(net / spent, spec.hdi_prob) if paid else None,
        outcomes=tuple(
            _extra_outcome(m, increment[m.name], spent if paid else None, spec.hdi_prob)
            for m in spec.metrics_in_funnel_order
            if m.role == "outcome" and m.type in ("binary", "count")
        ),
        prob_best=ranked[0],
        expected_loss=ranked[1],
        cost_interval=interval(spent, spec.hdi_prob)
        if cost.effort is not None
        else Interval(cost.mean, cost.mean, cost.mean),
        effort=_effort(spec, arm, cost, draws),
    )


def _value(metric: Metric) -> float | None:
    """Money per unit of the metric: its value, revenue at face value, else none."""
    return 1.0 if metric.role == "revenue" else metric.value


def _ranking(nets: dict[str, np.ndarray]) -> tuple[dict[str, float], dict[str, float]]:
    """P(highest net value) and the expected loss of choosing each arm, over the joint draws."""
    names = list(nets)
    stacked = np.stack([nets[a] for a in names])
    top = stacked.max(axis=0)
    winner = np.bincount(stacked.argmax(axis=0), minlength=len(names)) / stacked.shape[1]
    return (
        {a: float(p) for a, p in zip(names, winner, strict=True)},
        {a: float(np.mean(top - stacked[i])) for i, a in enumerate(names)},
    )


def _extra_outcome(
    metric: Metric, increment: np.ndarray, cost: np.ndarray | None, prob: float
) -> ExtraOutcome:
    """Extra outcomes per 1,000 units and per 1,000 of spend, and the cost of each where defined.

    ``cost`` holds the cost draws, positive in every one (None when it is not). The cost of each
    extra outcome, cost / increment draw by draw, is read through increment / cost, finite in
    every draw: its quantiles' reciprocals are cost / increment's, a draw with no increment
    counting as an infinite cost.
    """
    tail = (1 - prob) / 2
    bought = None if cost is None else increment / cost
    each = None
    if bought is not None and np.quantile(increment, tail) > 0:  # credibly positive increment
        low, middle, high = np.quantile(bought, [tail, 0.5, 1 - tail])
        if low > 0:  # and so per unit spent (the two can part only at an interpolated edge)
            each = Interval(mean=float(1 / middle), lower=float(1 / high), upper=float(1 / low))
    return ExtraOutcome(
        metric=metric.name,
        label=f"{metric.display} within {metric.window_days} days" if metric.window_days else metric.display,
        per_thousand=interval(_PER * increment, prob),
        per_thousand_spent=None if bought is None else interval(_PER * bought, prob),
        cost_each=each,
        prob_no_increment=float(np.mean(increment <= 0)),
    )
