"""Money: what each arm's increments are worth, what they cost, and which arm is best, from the draws.

Per treatment arm a against the control, with μ the posterior draws of each metric's
population mean per unit (:func:`~channelab.analysis.gcomp.population_means`):

- increment of metric m per unit: μ_a(m) − μ_c(m) (shown per 1,000 units);
- value per unit: Σ value(m) × increment(m), revenue at face value, guardrails at their value;
- cost per unit: the arm's cost beyond the control's (``Cost.variable`` plus its fixed cost
  spread over ``economics.units``, by default its units in the test);
- net value per unit: value − cost; return on spend: net / cost;
- cost per extra outcome: cost / increment, a monotone map of the increment's draws, so its
  interval is the increment's equal-tailed one mapped; only where the increment's interval
  lies above zero, else the share of draws with no increment (P(increment ≤ 0)) is reported
  and the always-defined extra outcomes per 1,000 of spend is the figure to read;
- P(best): the share of draws in which the arm (the control's net value is 0) has the highest
  net value per unit; expected loss: the mean shortfall of its net value from the best's. An
  arm is *credibly best* only when its P(best) reaches ``BEST_LEVEL``; otherwise a report says
  that no arm is credibly best and ranks nothing.

Every number is a function of the same joint draws: no plug-in ratios.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from channelab.analysis.intervals import interval
from channelab.analysis.results import ArmEconomics, Economics, ExtraOutcome, Interval
from channelab.cells import Cells
from channelab.spec import Metric, Spec

#: Extra outcomes are stated per this many units, and per this much spend.
_PER = 1000
#: An arm is called credibly best only when it has the highest net value with this probability.
BEST_LEVEL = 0.95


def _unit_cost(spec: Spec, arm: str, units: float) -> float:
    """The arm's cost per unit: per unit reached, per touch, and its fixed cost spread over ``units``."""
    cost = spec.arms[arm].cost
    if cost is None:
        return 0.0
    spread = spec.economics.units or units
    return cost.variable + cost.fixed / spread


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
    baseline = _unit_cost(spec, spec.control, units[spec.control])
    valued = [m for m in spec.metrics if _value(m) is not None]

    def draws(m: Metric, arm: str) -> np.ndarray:
        return means[m.name].sel(arm=arm).to_numpy().ravel()

    zero = np.zeros_like(draws(spec.metrics[0], spec.control))
    nets = {spec.control: zero}
    arms = []
    for arm in spec.treatments:
        increment = {m.name: draws(m, arm) - draws(m, spec.control) for m in spec.metrics}
        cost = _unit_cost(spec, arm, units[arm]) - baseline
        value = zero + sum((_value(m) or 0.0) * increment[m.name] for m in valued)
        net = value - cost
        nets[arm] = net
        arms.append((arm, cost, value, net, increment))
    best, loss = _ranking(nets)
    out = [
        ArmEconomics(
            arm=arm,
            cost_per_unit=cost,
            value_per_unit=interval(value, spec.hdi_prob),
            net_per_unit=interval(net, spec.hdi_prob),
            return_on_spend=interval(net / cost, spec.hdi_prob) if cost > 0 else None,
            outcomes=tuple(
                _extra_outcome(m, increment[m.name], cost, spec.hdi_prob)
                for m in spec.metrics_in_funnel_order
                if m.role == "outcome" and m.type in ("binary", "count")
            ),
            prob_best=best[arm],
            expected_loss=loss[arm],
        )
        for arm, cost, value, net, increment in arms
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


def _extra_outcome(metric: Metric, increment: np.ndarray, cost: float, prob: float) -> ExtraOutcome:
    """Extra outcomes per 1,000 units and per 1,000 of spend, and the cost of each where defined."""
    tail = (1 - prob) / 2
    low, high = np.quantile(increment, [tail, 1 - tail])
    each = None
    if cost > 0 and low > 0:  # the increment is credibly positive: cost / increment is defined
        each = Interval(
            mean=float(cost / np.median(increment)), lower=float(cost / high), upper=float(cost / low)
        )
    return ExtraOutcome(
        metric=metric.name,
        label=f"{metric.display} within {metric.window_days} days" if metric.window_days else metric.display,
        per_thousand=interval(_PER * increment, prob),
        per_thousand_spent=interval(_PER * increment / cost, prob) if cost > 0 else None,
        cost_each=each,
        prob_no_increment=float(np.mean(increment <= 0)),
    )
