"""The stopping rule's calibration for a time-to-event outcome (``time_model: survival``).

Simulated units enter over the planned looks and, with the outcome, have it a delay after entry;
every look counts every entered unit as far as it has come. The cells at each look are computed
from arrays (:class:`~channelab.design.assurance.FollowUp`) and must equal the engine's on the
same dated rows; at lift 0 the rule's false real-lift rate must stay the rule's, and the survival
model must reach decisions with no more units entered than the windowed one.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np
import pytest

from channelab.design.assurance import (
    DELAY_BETA,
    SIM_START,
    follow_up,
    outcome_delays,
    single_metric_spec,
)
from channelab.design.monitor import entry_rows, look_schedule, operating_characteristics
from channelab.engine.aggregate import frame_cells
from channelab.spec import Baseline, parse_spec

MEETINGS = {"name": "meetings", "role": "outcome", "type": "binary", "at": "meetings_at", "window_days": 28}


def _spec(time_model: str = "survival", n: int = 3000, per_week: int = 500, **metric):
    return parse_spec(
        {"name": "calibrated", "data": {"path": "units.csv"},
         "unit": {"kind": "prospect", "entered_at": "entered"}, "arm_column": "arm", "control": "Control",
         "arms": {"Control": {"channel": "control"}, "Phone": {"channel": "phone"}},
         "metrics": [{**MEETINGS, "time_model": time_model, **metric}],
         "plan": {"n": n, "target_lift": 0.5, "units_per_week": per_week,
                  "baselines": {"meetings": {"mean": 0.1}}},
         "monitor": {"every": "week"}, "seed": 4}
    )  # fmt: skip


def test_the_delays_have_the_stated_shape_and_only_outcomes_have_one():
    outcome = np.arange(40_000) % 2
    delay = outcome_delays(outcome, 28, seed=1)
    assert np.isinf(delay[outcome == 0]).all()
    days = delay[outcome == 1]
    assert days.min() >= 0
    assert days.max() <= 28
    a, b = DELAY_BETA
    assert days.mean() == pytest.approx(28 * a / (a + b) - 0.5, abs=0.1)  # whole days: floor


@pytest.mark.parametrize("hazards", ["varying", "proportional"])
def test_the_cells_at_each_look_are_the_engines(hazards):
    spec = _spec(hazards=hazards, intervals=[3, 10, 20])
    one = single_metric_spec(spec, spec.metrics[0])
    schedule = look_schedule(spec, spec.metrics[0], 3000)
    assert schedule.survival
    assert [schedule.counted(k) for k in (1, 6, 9)] == [500, 3000, 3000]  # every entered unit
    rows = entry_rows(one, Baseline(mean=0.3), 0.0, schedule.simulated, seed=5)
    follow = follow_up(rows, one, (schedule.entry, 7), seed=5)
    assert follow.entry.min() == 1
    assert follow.entry.max() == 7 * schedule.entry
    for day in (3, 7, 20, 28, 29, 35, 50, 69, 70, 200):
        at = one.model_copy(update={"as_of": SIM_START + timedelta(days=day)})
        engine, arrays = frame_cells(follow.rows, at), follow.cells_at(day)
        assert engine.arms == arrays.arms
        np.testing.assert_array_equal(engine.arm_idx, arrays.arm_idx)
        np.testing.assert_allclose(engine.n, arrays.n)
        mine, theirs = arrays.metrics["meetings"], engine.metrics["meetings"]
        for field in ("total", "sum_sq", "n", "events", "exposure"):
            np.testing.assert_allclose(
                getattr(mine, field), getattr(theirs, field), err_msg=f"{field}, day {day}"
            )
        assert mine.bounds == theirs.bounds


def test_the_assurance_fit_follows_every_unit_for_the_whole_window():
    from channelab.design.assurance import simulated_cells

    spec = _spec()
    one = single_metric_spec(spec, spec.metrics[0])
    cells = simulated_cells(one, spec.metrics[0], Baseline(mean=0.2), 0.0, [2000, 2000], seed=3)
    s = cells.metrics["meetings"]
    np.testing.assert_allclose(s.events.sum(axis=1), s.total)  # every outcome counted, no unit censored
    assert s.exposure[:, -1].sum() > 0


@pytest.mark.slow
@pytest.mark.calibration  # benchmark-scale: make test-calibration (not in make test)
def test_at_lift_0_survival_keeps_the_rules_rate_and_decides_no_later_than_windowed():
    # 3,000 prospects over 6 weekly looks and 4 more for the 28-day window; a +50 % lift on 10 %.
    lifts, sims = (0.0, 0.5), 12
    survival = operating_characteristics(
        _spec(), {"meetings": Baseline(mean=0.1)}, lifts=lifts, sims=sims, seed=2
    )
    windowed = operating_characteristics(
        _spec("window"), {"meetings": Baseline(mean=0.1)}, lifts=lifts, sims=sims, seed=2
    )
    null = survival.row("meetings", 0.0, "obrien_fleming")
    assert null.real_lift <= 1 / sims  # the rule's rate is a few %: at most one in 12 tests
    big_s = survival.row("meetings", 0.5, "obrien_fleming")
    big_w = windowed.row("meetings", 0.5, "obrien_fleming")
    assert big_s.real_lift >= 0.75
    assert big_s.expected_n <= big_w.expected_n
    assert big_s.mean_stop <= big_w.mean_stop
    assert dataclasses.asdict(survival.schedules["meetings"])["survival"]
