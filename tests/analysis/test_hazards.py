"""The proportionality check of the time-to-event model, against tables with known hazards.

Each table is drawn exactly as the piecewise-exponential model says: per arm and interval, events
~ Poisson(days at risk × hazard). With one constant hazard ratio the likelihood-ratio test must
reject about as often as its level says; with a ratio that changes over the window, nearly always.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from channelab.analysis.hazard_results import PROPORTIONALITY_ALPHA
from channelab.analysis.hazards import proportionality
from channelab.cells import Cells, SurvivalCells
from channelab.spec import parse_spec

SPEC = parse_spec(
    {"name": "t", "unit": {"entered_at": "entered_at"}, "data": {"path": "rows.csv"}, "arm_column": "arm",
     "control": "control", "arms": ["control", "phone", "social"],
     "metrics": [{"name": "meeting", "role": "outcome", "type": "binary", "at": "meeting_at",
                  "window_days": 28, "time_model": "survival"}]}
)  # fmt: skip
BASELINE = np.array([0.004, 0.003, 0.002, 0.0015])  # per day, intervals of 7 days
DAYS = np.array([40_000.0, 30_000.0, 22_000.0, 15_000.0])  # days at risk per arm and interval


def table(ratios: np.ndarray, rng: np.random.Generator) -> Cells:
    """Three arms (one cell each): control at BASELINE, the others at BASELINE × their ratio per interval."""
    hazard = np.vstack([BASELINE, BASELINE * ratios[0], BASELINE * ratios[1]])
    exposure = np.tile(DAYS, (3, 1))
    events = rng.poisson(exposure * hazard).astype(float)
    metric = SPEC.metrics[0]
    stats = SurvivalCells(
        metric=metric, total=events.sum(1), sum_sq=events.sum(1), n=np.full(3, 2000.0), events=events,
        exposure=exposure, bounds=metric.interval_bounds,
    )  # fmt: skip
    return Cells(
        arms=("control", "phone", "social"), arm_idx=np.arange(3), levels={}, level_idx={},
        n=np.full(3, 2000.0), metrics={"meeting": stats},
    )  # fmt: skip


def rejection_rate(ratios: np.ndarray, arm: str | None, reps: int = 400) -> float:
    rng = np.random.default_rng(7)
    flags = [proportionality(table(ratios, rng), "meeting", arm) for _ in range(reps)]
    assert all(f is not None for f in flags)
    return float(np.mean([f.flagged for f in flags if f is not None]))


@pytest.mark.parametrize("arm", [None, "phone", "social"])
def test_constant_ratios_are_rejected_at_about_the_level(arm):
    rate = rejection_rate(np.array([[1.3] * 4, [0.8] * 4]), arm)
    se = np.sqrt(PROPORTIONALITY_ALPHA * (1 - PROPORTIONALITY_ALPHA) / 400)
    assert abs(rate - PROPORTIONALITY_ALPHA) < 3 * se, rate


def test_a_ratio_that_changes_over_the_window_is_flagged():
    """Phone only speeds meetings up (twice the hazard early, a third of it late); social is steady."""
    ratios = np.array([[2.0, 1.2, 0.6, 0.35], [1.0] * 4])
    assert rejection_rate(ratios, "phone") > 0.95
    social = rejection_rate(ratios, "social")
    assert social < PROPORTIONALITY_ALPHA + 3 * np.sqrt(0.05 * 0.95 / 400), social


def test_one_interval_or_no_events_cannot_be_tested():
    cells = table(np.ones((2, 4)), np.random.default_rng(1))
    s = cells.metrics["meeting"]
    assert isinstance(s, SurvivalCells)
    empty = replace(cells, metrics={"meeting": replace(s, events=np.zeros_like(s.events))})
    assert proportionality(empty, "meeting") is None
    late = replace(cells, metrics={"meeting": replace(s, exposure=s.exposure * [1, 0, 0, 0])})
    assert proportionality(late, "meeting") is None  # only the first interval was reached
