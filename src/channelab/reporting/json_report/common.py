"""The shape every JSON output gives an interval: its mean and its two bounds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from channelab.analysis.results import Interval


def interval_json(iv: Interval) -> dict[str, Any]:
    """``{"mean": ..., "hdi": [lower, upper]}``: an interval as the JSON writes it everywhere.

    Parameters
    ----------
    iv
        The interval (its mean and equal-tailed bounds).
    """
    return {"mean": iv.mean, "hdi": [iv.lower, iv.upper]}
