"""A test put in time has ``booked``: 0/1, a meeting was booked (dated by ``meetings_at``), with its truth.

Fast (simulations only, no sampling).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from channelab.simulate import Arrival, simulate_outreach
from channelab.simulate.ab import SimMetric, draw_metric
from channelab.simulate.outreach_time import p_zero
from channelab.simulate.scenarios import OUTREACH_METRICS, WEEKS

#: SHA-256 of the CSV of ``simulate_outreach("slacktivism", n_prospects=600, seed=7,
#: arrival=Arrival(weeks=4))`` as the simulator wrote it before ``booked`` existed (the same
#: bytes once ``booked`` is dropped).
TIMED_BEFORE_BOOKED = "f129f7665399e180cd9e1c70a3a853754e724fc3bdc99b360d07b28810eec079"
#: The same for the run without an Arrival, which ``booked`` leaves alone.
UNTIMED = "ba0558399b9585cddb61a497132ad640477825ca5a0517a83cfea76a5239e15a"


def _sha(rows: pd.DataFrame) -> str:
    return hashlib.sha256(rows.to_csv(index=False, lineterminator="\n").encode()).hexdigest()


def test_booked_is_one_exactly_when_a_meeting_was_booked_and_sits_after_its_date():
    rows, truth = simulate_outreach("slacktivism", n_prospects=3000, seed=4, arrival=Arrival(weeks=6))
    columns = list(rows.columns)
    assert columns[columns.index("meetings_at") + 1] == "booked"
    assert rows["booked"].dtype.kind == "i"
    assert rows["booked"].tolist() == (rows["meetings"] > 0).astype(int).tolist()
    assert ((rows["booked"] == 1) == (rows["meetings_at"] != "")).all()  # dated exactly when booked
    assert 0 < rows["booked"].sum() < len(rows)
    doc = truth.to_dict()
    assert doc["metrics"]["booked"] == "outcome"
    assert set(doc["means"]["Control"]) == set(OUTREACH_METRICS) | {"booked"}
    assert all("booked" in by_metric for by_metric in doc["lifts"].values())


def test_without_an_arrival_there_is_no_booked_column_nor_truth():
    rows, truth = simulate_outreach("slacktivism", n_prospects=600, seed=7)
    assert "booked" not in rows.columns
    assert "booked" not in truth.to_dict()["metrics"]
    assert all("booked" not in by_metric for by_metric in truth.means.values())
    assert _sha(rows) == UNTIMED  # as before booked existed


def test_booked_leaves_every_other_column_as_it_was():
    timed, _ = simulate_outreach("slacktivism", n_prospects=600, seed=7, arrival=Arrival(weeks=4))
    assert _sha(timed.drop(columns="booked")) == TIMED_BEFORE_BOOKED
    # with the default weeks, the test in time draws the same units and metrics as the one without
    same_weeks, _ = simulate_outreach("slacktivism", n_prospects=600, seed=7, arrival=Arrival(weeks=WEEKS))
    plain, _ = simulate_outreach("slacktivism", n_prospects=600, seed=7)
    pd.testing.assert_frame_equal(same_weeks.drop(columns=["entered_at", "meetings_at", "booked"]), plain)


@pytest.mark.parametrize("overdispersion", [0.0, 0.1, 0.8])
def test_p_zero_is_the_share_of_zeros_the_metric_draws(overdispersion):
    m = SimMetric("count", 1.0, overdispersion=overdispersion)
    shift = np.log(np.array([[0.05, 0.15, 0.6, 2.0]]))
    n = 200_000
    seg = np.repeat(np.arange(4), n)
    draws, mu = draw_metric(m, shift, shift, np.zeros(seg.size, dtype=int), seg, np.random.default_rng(1))
    share = np.array([np.mean(draws[seg == s] == 0) for s in range(4)])
    expected = p_zero(m, mu[0])
    se = np.sqrt(expected * (1 - expected) / n)
    assert np.all(np.abs(share - expected) < 4 * se), (share, expected)


def test_the_true_booked_means_and_lifts_are_what_a_large_simulation_shows():
    """Empirical share booked per arm and its lift over Control, within 4 Monte-Carlo SEs of the truth."""
    rows, truth = simulate_outreach("slacktivism", n_prospects=150_000, seed=21, arrival=Arrival(weeks=12))
    by_arm = rows.groupby("arm")["booked"].agg(["mean", "size"])
    p, n = by_arm["mean"], by_arm["size"]
    se = np.sqrt(p * (1 - p) / n)
    for arm in truth.means:
        # 6 SEs from the meetings' mean: a truth that used meetings for booked would fail
        assert abs(p[arm] - truth.means[arm]["booked"]) < 4 * se[arm], arm
    control = truth.control
    for arm, lifts in truth.lifts.items():
        lift = p[arm] / p[control] - 1
        # delta method: var(p1/p0) ≈ (p1/p0)² (var p1 / p1² + var p0 / p0²)
        lift_se = (p[arm] / p[control]) * np.hypot(se[arm] / p[arm], se[control] / p[control])
        assert abs(lift - lifts["booked"]) < 4 * lift_se, (arm, lift, lifts["booked"], lift_se)
    # a share booked rises less than the meetings behind it: some who book, book more than one
    for arm in ("Phone", "Video", "In person"):
        assert 0 < truth.lifts[arm]["booked"] < truth.lifts[arm]["meetings"]
    for arm in ("E-mail", "Social"):
        assert truth.lifts[arm]["booked"] == pytest.approx(0.0, abs=1e-12)


def test_booked_does_not_change_the_true_verdicts():
    _, truth = simulate_outreach("slacktivism", n_prospects=6000, seed=2014, arrival=Arrival(weeks=12))
    assert truth.verdicts == {
        "E-mail": "engagement only",
        "Phone": "real lift",
        "Social": "engagement only",
        "Video": "real lift",
        "In person": "real lift",
    }
    assert all(truth.verdict(arm) == truth.verdict(arm, OUTREACH_METRICS) for arm in truth.lifts)
