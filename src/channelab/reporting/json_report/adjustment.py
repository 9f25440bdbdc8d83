"""An analysis's pre-period adjustment in JSON: how each metric was adjusted and what it gained."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from channelab.analysis.results import Interval
    from channelab.pipeline import Analysis


def adjustment_json(analysis: Analysis) -> dict[str, Any] | None:
    """The pre-period adjustment: columns, method and R² per metric, each lift with and without."""
    a = analysis.adjustment
    if a is None:
        return None
    return {
        "columns": list(a.columns),
        "methods": a.methods,
        "strata": {c: list(labels) for c, labels in a.strata.items()},
        "r_squared": a.r_squared,
        "unadjusted_converged": a.unadjusted_converged,
        "effects": [
            {
                "arm": x.arm,
                "metric": x.metric,
                "adjusted": _lift(x.adjusted, x.abs_adjusted),
                "unadjusted": _lift(x.unadjusted, x.abs_unadjusted),
                "width_ratio": x.width_ratio,
            }
            for x in a.lifts
        ],
    }


def _lift(iv: Interval, abs_iv: Interval) -> dict[str, Any]:
    """A lift, relative and absolute, with the width of the absolute interval."""
    return {
        "lift": {"mean": iv.mean, "hdi": [iv.lower, iv.upper]},
        "abs_lift": {"mean": abs_iv.mean, "hdi": [abs_iv.lower, abs_iv.upper]},
        "width": abs_iv.upper - abs_iv.lower,  # of the difference in means per unit
    }
