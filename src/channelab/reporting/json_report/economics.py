"""An analysis's money in JSON: each arm's value against the control, and the ranking of the arms."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from channelab.reporting.json_report.common import interval_json

if TYPE_CHECKING:
    from channelab.analysis.economics_results import EffortCost
    from channelab.analysis.results import Economics, ExtraOutcome


def arm_economics_json(economics: Economics | None, arm: str) -> dict[str, Any] | None:
    """An arm's money against the control, per unit and per 1,000 units (None without costs or values)."""
    if economics is None:
        return None
    a = economics.get(arm)
    return {
        "currency": economics.currency,
        "cost_per_unit": a.cost_per_unit,
        "cost_interval": None if a.cost_interval is None else interval_json(a.cost_interval),
        "cost_from_effort": _effort(a.effort),
        "value_per_unit": interval_json(a.value_per_unit),
        "net_value_per_unit": interval_json(a.net_per_unit),
        "return_on_spend": None if a.return_on_spend is None else interval_json(a.return_on_spend),
        "extra_outcomes": [_extra_outcome(o) for o in a.outcomes],
        "prob_best": a.prob_best,
        "expected_loss": a.expected_loss,
    }


def _effort(e: EffortCost | None) -> dict[str, Any] | None:
    """Where the cost comes from effort: the metric, money per hour, the extra hours and their cost."""
    if e is None:
        return None
    return {
        "metric": e.metric,
        "per_hour": e.per_hour,
        "extra_per_unit": interval_json(e.extra),
        "cost_per_unit": interval_json(e.cost),
    }


def _extra_outcome(o: ExtraOutcome) -> dict[str, Any]:
    """One further outcome an arm buys: per 1,000 units, per 1,000 spent, and the cost of each."""
    return {
        "metric": o.metric,
        "per_1000_units": interval_json(o.per_thousand),
        "per_1000_spent": None if o.per_thousand_spent is None else interval_json(o.per_thousand_spent),
        "cost_each": None  # median and equal-tailed interval, where the increment is credibly > 0
        if o.cost_each is None
        else {"median": o.cost_each.mean, "interval": [o.cost_each.lower, o.cost_each.upper]},
        "prob_no_increment": o.prob_no_increment,
    }


def ranking_json(economics: Economics | None) -> list[dict[str, Any]] | None:
    """Every arm, the control included, by P(highest net value), with the expected loss of choosing it."""
    if economics is None:
        return None
    order = sorted(economics.prob_best, key=lambda a: (-economics.prob_best[a], economics.expected_loss[a]))
    return [
        {
            "arm": a,
            "prob_best": economics.prob_best[a],
            "expected_loss": economics.expected_loss[a],
            "credibly_best": a == economics.best,
        }
        for a in order
    ]
