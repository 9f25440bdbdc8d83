"""Rep hours in simulated outreach: their draws match their truth, and they leave every other column alone.

Fast (simulations of at most 30,000 prospects, no sampling). Tolerances are Monte Carlo errors:
``Z`` standard errors of the mean, each from the sample's own sd over √n.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from channelab.cli import app
from channelab.simulate import Unsubscribes, simulate_outreach
from channelab.simulate.effort import DEFAULT_HOURS, Effort
from helpers import DATA

Z = 4.0  # a correct simulator fails one of these checks about once in 16,000 runs
runner = CliRunner()


@pytest.fixture(scope="module")
def pilot() -> tuple[pd.DataFrame, dict]:
    """The pilot's scenario at its size, with effort."""
    rows, truth = simulate_outreach("slacktivism", n_prospects=30_000, seed=7, effort=Effort())
    return rows, truth.to_dict()


def _within(values: pd.Series, target: float) -> bool:
    """Whether the mean of ``values`` is within ``Z`` standard errors of ``target``."""
    return abs(values.mean() - target) <= Z * values.std() / np.sqrt(len(values))


def test_mean_rep_hours_per_arm_matches_the_truth(pilot):
    rows, truth = pilot
    for arm, channel in truth["arms"].items():
        hours = rows.loc[rows["arm"] == arm, "rep_hours"]
        true = truth["means"][arm]["rep_hours"]
        assert true == pytest.approx(DEFAULT_HOURS[channel] + truth["means"][arm]["meetings"])
        assert _within(hours, true), (arm, hours.mean(), true)


def test_the_truth_lifts_are_of_the_true_means(pilot):
    _, truth = pilot
    control = truth["means"][truth["control"]]["rep_hours"]
    for arm, lifts in truth["lifts"].items():
        assert lifts["rep_hours"] == pytest.approx(truth["means"][arm]["rep_hours"] / control - 1)
    assert truth["metrics"]["rep_hours"] == "effort"
    assert list(truth["metrics"])[-1] == "rep_hours"
    assert truth["parameters"]["effort"]["per_meeting"] == 1.0


def test_each_meeting_adds_per_meeting_hours_on_average(pilot):
    rows, truth = pilot
    for arm, channel in truth["arms"].items():
        in_arm = rows[rows["arm"] == arm]
        outreach = in_arm["rep_hours"] - in_arm["meetings"]  # the outreach alone, whatever the meetings
        assert _within(outreach, DEFAULT_HOURS[channel]), arm
        one, none = (
            in_arm.loc[in_arm["meetings"] == 1, "rep_hours"],
            in_arm.loc[in_arm["meetings"] == 0, "rep_hours"],
        )
        gap, se = (
            one.mean() - none.mean(),
            np.hypot(one.std() / np.sqrt(len(one)), none.std() / np.sqrt(len(none))),
        )
        assert abs(gap - 1.0) <= Z * se, (arm, gap)


def test_per_meeting_and_shape_are_honoured():
    rng = np.random.default_rng(3)
    effort = Effort(per_meeting=2.5, shape=4.0)
    n = 40_000
    channels = np.array(["phone", "other"] * (n // 2))
    meetings = np.repeat([0, 2], n // 2)
    hours = pd.Series(effort.draw(channels, meetings, rng))
    for channel, k in [("phone", 0), ("other", 2)]:
        picked = hours[(channels == channel) & (meetings == k)]
        mean = effort.mean_hours(channel)
        assert _within(picked, mean + 2.5 * k), channel
        # gamma: variance mean² / shape, whose sample variance has sd σ² √((2 + 6 / shape) / n)
        var = mean**2 / 4.0
        assert abs(picked.var() - var) <= Z * var * np.sqrt((2 + 6 / 4.0) / len(picked)), channel
    assert effort.mean_hours("other") == 0.10  # a channel not listed


def test_hours_are_non_negative_and_rounded_to_a_hundredth(pilot):
    rows, _ = pilot
    hours = rows["rep_hours"].to_numpy()
    assert (hours >= 0).all()
    assert np.array_equal(np.round(hours, 2), hours)
    assert list(rows.columns)[-1] == "rep_hours"


def test_effort_leaves_every_other_column_and_the_verdicts_alone():
    kwargs = {"n_prospects": 3000, "seed": 11, "unsubscribes": Unsubscribes()}
    with_effort, truth = simulate_outreach("slacktivism", effort=Effort(), **kwargs)
    without, plain = simulate_outreach("slacktivism", **kwargs)
    pd.testing.assert_frame_equal(with_effort.drop(columns="rep_hours"), without)
    assert truth.verdicts == plain.verdicts  # a cost, not a metric with a verdict
    for arm, means in truth.means.items():
        assert {k: v for k, v in means.items() if k != "rep_hours"} == plain.means[arm]


def test_bad_effort_settings_are_refused():
    for bad in [{"hours": {"phone": 0.0}}, {"default": -1.0}, {"shape": 0.0}, {"per_meeting": -0.5}]:
        with pytest.raises(ValueError, match="Effort"):
            Effort(**bad)


def test_cli_effort_adds_the_column_and_its_truth(tmp_path):
    out = tmp_path / "pilot.csv"
    args = ["simulate", "slacktivism", "--out", str(out), "--n-prospects", "600", "--unsubscribes"]
    result = runner.invoke(app, [*args, "--effort"])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out)
    assert list(rows.columns)[-2:] == ["unsubscribes", "rep_hours"]
    doc = json.loads((tmp_path / "pilot.truth.json").read_text())
    assert doc["means"]["Phone"]["rep_hours"] == pytest.approx(0.40 + doc["means"]["Phone"]["meetings"])
    assert "--effort" in runner.invoke(app, ["simulate", "--help"]).output


def test_committed_pilot_hours_match_its_truth():
    """The committed pilot (``--effort``): its rep hours per arm agree with its truth file."""
    rows = pd.read_csv(DATA / "social_selling_pilot.csv")
    truth = json.loads((DATA / "social_selling_pilot.truth.json").read_text())
    assert list(rows.columns)[-1] == "rep_hours"
    assert truth["parameters"]["effort"] == Effort().to_dict()
    for arm in truth["arms"]:
        assert _within(rows.loc[rows["arm"] == arm, "rep_hours"], truth["means"][arm]["rep_hours"]), arm
