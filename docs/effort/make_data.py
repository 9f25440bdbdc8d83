"""Write ``effort_pilot.csv``: a small simulated outreach test that records rep hours per prospect.

The social-selling pilot's data (``data/social_selling_pilot.csv``) has no effort column, so the
worked example "cost per meeting from rep hours" in ``docs/analyst.md`` uses this data set. Its
truth, per prospect:

=========  ==========  ===========
arm        meetings    rep hours
=========  ==========  ===========
Control    10 %        0.5
E-mail     11 %        0.6
Phone      16 %        2.0
=========  ==========  ===========

Hours are gamma-distributed (shape 4), rounded to the minute. Run it from the repository root;
the same seed writes the same file::

    .venv/bin/python docs/effort/make_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

#: Per arm: its share of prospects booking a meeting, and its mean rep hours per prospect.
TRUTH = {"Control": (0.10, 0.5), "E-mail": (0.11, 0.6), "Phone": (0.16, 2.0)}
PER_ARM = 2000
SEED = 35
OUT = Path(__file__).resolve().parent / "effort_pilot.csv"


def simulate(seed: int = SEED, per_arm: int = PER_ARM) -> pd.DataFrame:
    """One row per prospect: its arm, whether it booked a meeting, and the rep hours spent on it.

    Parameters
    ----------
    seed : int
        The random seed.
    per_arm : int
        Prospects per arm.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for arm, (rate, hours) in TRUTH.items():
        frames.append(
            pd.DataFrame(
                {
                    "arm": arm,
                    "meetings": rng.binomial(1, rate, per_arm),
                    "rep_hours": np.round(rng.gamma(4.0, hours / 4.0, per_arm) * 60) / 60,
                }
            )
        )
    rows = pd.concat(frames, ignore_index=True)
    rows.insert(0, "prospect_id", [f"P{i + 1:05d}" for i in range(len(rows))])
    return rows


if __name__ == "__main__":
    simulate().to_csv(OUT, index=False, float_format="%.4f")
    print(f"wrote {OUT}")
