"""A three-stage funnel (click → enrol → pay) in which one arm engages more and follows through less.

A course platform shows an ad per arm: a plain one (control) and a social-proof one that draws
more clicks from less committed people. Each unit clicks, enrols only after a click and pays
only after enrolling. The truth is the per-arm rate of each stage among the units of the stage
before: exactly what a metric with a ``denominator`` estimates, and the follow-through from
clicks to enrolments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from channelab.simulate.common import write_with_truth

#: Per arm: P(click), P(enrol | click), P(pay | enrol).
FUNNEL_RATES: dict[str, tuple[float, float, float]] = {
    "Plain ad": (0.040, 0.200, 0.30),
    "Social proof ad": (0.052, 0.150, 0.30),
}


#: The three stages as spec metrics: clicks, enrolments among clicks, payments among enrolments.
FUNNEL_METRICS: list[dict[str, str]] = [
    {"name": "clicked", "label": "clicks", "role": "engagement", "type": "binary"},
    {
        "name": "enrolled",
        "label": "enrolments",
        "role": "outcome",
        "type": "binary",
        "denominator": "clicked",
    },
    {"name": "paid", "label": "payments", "role": "outcome", "type": "binary", "denominator": "enrolled"},
]


def simulate_funnel(
    n_per_arm: int,
    *,
    days: int = 14,
    rates: dict[str, tuple[float, float, float]] | None = None,
    seed: int,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Unit rows (``day``, ``arm``, ``clicked``, ``enrolled``, ``paid``) and the true stage rates."""
    rates = rates or FUNNEL_RATES
    rng = np.random.default_rng(seed)
    arms = np.repeat(list(rates), n_per_arm)
    p = np.array([rates[a] for a in arms])
    clicked = rng.random(arms.size) < p[:, 0]
    enrolled = clicked & (rng.random(arms.size) < p[:, 1])
    paid = enrolled & (rng.random(arms.size) < p[:, 2])
    rows = pd.DataFrame(
        {
            "day": rng.integers(1, days + 1, arms.size),
            "arm": arms,
            "clicked": clicked.astype(int),
            "enrolled": enrolled.astype(int),
            "paid": paid.astype(int),
        }
    )
    truth = {
        "scenario": "funnel",
        "seed": seed,
        "n_per_arm": n_per_arm,
        "clicked": {a: r[0] for a, r in rates.items()},
        "enrolled_given_clicked": {a: r[1] for a, r in rates.items()},
        "paid_given_enrolled": {a: r[2] for a, r in rates.items()},
    }
    return rows, truth


def daily_report(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows as a platform would share them: per day and arm, visitors and stage counts."""
    grouped = rows.groupby(["day", "arm"], sort=True)
    report = grouped[["clicked", "enrolled", "paid"]].sum()
    report.insert(0, "visitors", grouped.size())
    return report.reset_index()


def write_funnel(path: str | Path, *, n_per_arm: int, seed: int) -> Path:
    """Write the daily report of :func:`simulate_funnel` as CSV, and the truth beside it."""
    rows, truth = simulate_funnel(n_per_arm, seed=seed)
    return write_with_truth(path, daily_report(rows), truth)
