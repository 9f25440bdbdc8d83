"""Simulated timed tests (:func:`channelab.simulate.timing.timed_test`) against their world.

The worlds of ``benchmarks/time_to_event.py``: control 5 % within 28 days, channels with
other mean delays; in the speeding-only world a channel has the control's rate and a shorter
delay, so its lift in meetings within 28 days is 0 while early it books more.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from channelab.simulate.timing import Arrival, timed_test

ARRIVAL = Arrival(weeks=8, delays={"control": 8.0, "phone": 3.0, "social": 18.0})
CHANNELS = {"Control": "control", "Phone": "phone", "Social": "social"}


def days(rows: pd.DataFrame) -> pd.Series:
    """Days from entry to the outcome, for the rows with one."""
    met = rows[rows["meeting"] == 1]
    return (pd.to_datetime(met["meeting_at"]) - pd.to_datetime(met["entered_at"])).dt.days


def test_rates_delays_and_entry_follow_the_world():
    rates = {"Control": 0.05, "Phone": 0.06, "Social": 0.06}
    rows = timed_test(60_000, rates, CHANNELS, ARRIVAL, seed=5)
    assert rows["arm"].value_counts().to_dict() == {a: 20_000 for a in CHANNELS}
    for arm, rate in rates.items():
        share = rows.loc[rows["arm"] == arm, "meeting"].mean()
        assert abs(share - rate) < 4 * np.sqrt(rate * (1 - rate) / 20_000), (arm, share)
    delay = days(rows)
    by_arm = delay.groupby(rows.loc[delay.index, "arm"]).mean()
    # delays are whole days, int(28 · Beta): about half a day shorter than the Beta's mean
    for arm, channel in CHANNELS.items():
        assert abs(by_arm[arm] + 0.5 - ARRIVAL.delays[channel]) < 0.5, (arm, by_arm[arm])
    assert delay.between(0, ARRIVAL.max_days - 1).all()
    entered = pd.to_datetime(rows["entered_at"])
    assert entered.dt.day_of_week.max() <= 4
    assert entered.min().date() == ARRIVAL.start
    assert (entered.max().date() - ARRIVAL.start).days <= 7 * (ARRIVAL.weeks - 1) + 4
    assert (rows.loc[rows["meeting"] == 0, "meeting_at"] == "").all()


def test_speeding_only_adds_nothing_by_the_window_but_books_sooner():
    rates = {"Control": 0.05, "Phone": 0.05, "Social": 0.05}
    rows = timed_test(60_000, rates, CHANNELS, ARRIVAL, seed=8)
    delay = days(rows)
    arm = rows.loc[delay.index, "arm"]
    within_week = (delay <= 7).groupby(arm).sum() / rows["arm"].value_counts()
    within_window = (delay <= 28).groupby(arm).sum() / rows["arm"].value_counts()
    assert within_week["Phone"] > 1.5 * within_week["Control"] > 3 * within_week["Social"]
    assert abs(within_window["Phone"] / within_window["Control"] - 1) < 0.12  # se ≈ 0.04


def test_same_seed_same_rows_other_seed_other_rows():
    rates = {"Control": 0.05, "Phone": 0.06, "Social": 0.06}
    a = timed_test(3000, rates, CHANNELS, ARRIVAL, seed=1, outcome="booked")
    pd.testing.assert_frame_equal(a, timed_test(3000, rates, CHANNELS, ARRIVAL, seed=1, outcome="booked"))
    assert list(a.columns) == ["arm", "entered_at", "booked", "booked_at"]
    assert not a.equals(timed_test(3000, rates, CHANNELS, ARRIVAL, seed=2, outcome="booked"))


@pytest.mark.parametrize(
    ("n", "rates", "channels"),
    [
        (0, {"A": 0.1}, {"A": "control"}),
        (10, {"A": 1.5}, {"A": "control"}),
        (10, {"A": 0.1}, {"B": "control"}),
        (10, {"A": 0.1}, {"A": "carrier pigeon"}),
    ],
)
def test_bad_worlds_are_refused(n, rates, channels):
    with pytest.raises(ValueError, match="timed_test"):
        timed_test(n, rates, channels, Arrival(weeks=2, start=date(2026, 1, 5)), seed=0)
