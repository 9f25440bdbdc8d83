"""A three-stage funnel (click → enrol → pay) in which one arm engages more and follows through less.

A course platform shows an ad per arm: a plain one (control) and a social-proof one that draws
more clicks from less committed people. Each unit clicks, enrols only after a click and pays
only after enrolling. The truth is the per-arm rate of each stage among the units of the stage
before: exactly what a metric with a ``denominator`` estimates, and the follow-through from
clicks to enrolments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from channelab.simulate.common import TruthRecord, write_with_truth

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


@dataclass(frozen=True)
class FunnelTruth(TruthRecord):
    """What :func:`simulate_funnel` put into the data: each arm's rate at each stage.

    :meth:`~channelab.simulate.common.TruthRecord.to_dict` gives the layout of the truth file
    (the attributes in this order); :func:`write_funnel` adds ``data``.

    Attributes
    ----------
    scenario
        Always ``funnel``.
    seed, n_per_arm
        The simulation's seed and units per arm.
    clicked
        Per arm, P(click).
    enrolled_given_clicked
        Per arm, P(enrol | click): the follow-through from clicks to enrolments.
    paid_given_enrolled
        Per arm, P(pay | enrol).
    """

    scenario: Literal["funnel"] = field(default="funnel", init=False)
    seed: int
    n_per_arm: int
    clicked: dict[str, float]
    enrolled_given_clicked: dict[str, float]
    paid_given_enrolled: dict[str, float]


def simulate_funnel(
    n_per_arm: int,
    *,
    days: int = 14,
    rates: dict[str, tuple[float, float, float]] | None = None,
    seed: int,
) -> tuple[pd.DataFrame, FunnelTruth]:
    """Simulate a click → enrol → pay funnel; return its unit rows and its truth.

    Parameters
    ----------
    n_per_arm
        Units (visitors) per arm.
    days
        Days over which the units arrive (uniformly).
    rates
        Per arm, P(click), P(enrol | click) and P(pay | enrol); default :data:`FUNNEL_RATES`.
    seed
        Seed of ``numpy.random.default_rng``, the only source of randomness.

    Returns
    -------
    rows : pandas.DataFrame
        One row per unit: ``day``, ``arm``, ``clicked``, ``enrolled``, ``paid`` (0/1).
    truth : FunnelTruth
        The true rate of every stage per arm.
    """
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
    truth = FunnelTruth(
        seed=seed,
        n_per_arm=n_per_arm,
        clicked={a: r[0] for a, r in rates.items()},
        enrolled_given_clicked={a: r[1] for a, r in rates.items()},
        paid_given_enrolled={a: r[2] for a, r in rates.items()},
    )
    return rows, truth


def daily_report(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows as a platform would share them: per day and arm, visitors and stage counts.

    Parameters
    ----------
    rows
        Unit rows of :func:`simulate_funnel` (``day``, ``arm``, ``clicked``, ``enrolled``, ``paid``).

    Returns
    -------
    pandas.DataFrame
        One row per (day, arm), sorted: ``day``, ``arm``, ``visitors``, ``clicked``,
        ``enrolled``, ``paid``.
    """
    grouped = rows.groupby(["day", "arm"], sort=True)
    report = grouped[["clicked", "enrolled", "paid"]].sum()
    report.insert(0, "visitors", grouped.size())
    return report.reset_index()


def write_funnel(path: str | Path, *, n_per_arm: int, seed: int) -> Path:
    """Write the daily report of :func:`simulate_funnel` as CSV, and the truth beside it.

    Parameters
    ----------
    path
        The CSV file; the truth goes to ``<stem>.truth.json`` beside it, with the CSV's SHA-256.
    n_per_arm, seed
        As in :func:`simulate_funnel` (default rates and days).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    rows, truth = simulate_funnel(n_per_arm, seed=seed)
    return write_with_truth(path, daily_report(rows), truth)
