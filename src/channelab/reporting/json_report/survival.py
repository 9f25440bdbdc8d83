"""The JSON of a survival metric's extra results: incidence curves, hazard ratios, proportionality."""

from __future__ import annotations

from typing import Any

from channelab.analysis.hazard_results import PROPORTIONALITY_ALPHA, Proportionality, TimeToEvent
from channelab.analysis.results import Effects

__all__ = ["time_to_event_json"]


def time_to_event_json(effects: Effects) -> list[dict[str, Any]]:
    """One entry per survival metric (empty without any).

    Parameters
    ----------
    effects
        The analysis's effects.

    Returns
    -------
    list of dict
        Per metric: its window and intervals, the hazards setting, per arm the cumulative
        incidence (days, mean, lower, upper), per treatment the hazard ratio with the check of
        its constancy over the window (and that check's licence), and the units still inside their window.
    """
    return [_one(t) for t in effects.time_to_event]


def _one(t: TimeToEvent) -> dict[str, Any]:
    checks = dict(t.proportionality)
    return {
        "metric": t.metric,
        "estimand": f"P(outcome within {t.window_days} days of entry); the lift in effects[] is its lift",
        "window_days": t.window_days,
        "interval_bounds_days": list(t.bounds),
        "hazards": t.hazards,
        "incidence": [
            {
                "arm": c.arm,
                "days": list(c.days),
                **{k: list(getattr(c, k)) for k in ("mean", "lower", "upper")},
            }
            for c in t.incidence
        ],
        "hazard_ratios": [
            {
                "arm": arm,
                "mean": r.mean,
                "interval": [r.lower, r.upper],
                "proportionality": _check(checks.get(arm)),
            }
            for arm, r in t.hazard_ratios
        ],
        "inside_window": dict(t.inside_window),
    }


def _check(check: Proportionality | None) -> dict[str, Any] | None:
    if check is None:
        return None
    return {
        "statistic": check.statistic,
        "df": check.df,
        "p_value": check.p_value,
        "time_varying": check.flagged,
        "licence": f"'changed over the window' is said when p < {PROPORTIONALITY_ALPHA}; the hazard ratio "
        "is stated only otherwise",
    }
