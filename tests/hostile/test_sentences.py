"""Sentences that would claim more than the data hold, on data built to tempt them (issue 32, item 5).

Each case samples for real (the verdict is the point), so the file is in the slow tier: a control
without events, a non-negative metric whose few treated units put a normal model's mean below
zero, and a control of ten units against a hundred thousand under a true null.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from harness import RUN, Case, csv_text, run_case, spec, to_yaml

pytestmark = pytest.mark.slow


def _experiment(frame: pd.DataFrame, metrics: list[dict]) -> dict[str, str]:
    experiment = spec(metrics=metrics, covariates=[], sampler={})
    return {"exp.yaml": to_yaml(experiment), "rows.csv": csv_text(frame)}


def _arms(n_control: int, n_treated: int) -> np.ndarray:
    return np.array(["control"] * n_control + ["email"] * n_treated)


def _effect(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "out" / "hostile.json").read_text())["effects"][0]


def test_a_control_without_events_does_not_hide_a_clear_lift(tmp_path, monkeypatch):
    """0 of 40 against 12 of 40: the rate in control is at most 8 % whatever the prior; the lift is real."""
    bought = np.r_[np.zeros(40), np.ones(12), np.zeros(28)].astype(int)
    frame = pd.DataFrame({"id": np.arange(80), "arm": _arms(40, 40), "bought": bought})
    metrics = [{"name": "bought", "type": "binary", "role": "outcome"}]
    output = run_case(Case(_experiment(frame, metrics), RUN, 0, "email: real lift"), tmp_path, monkeypatch)
    assert "did not credibly move" not in output
    effect = _effect(tmp_path)
    assert effect["no_events_in"] == ["control"]
    assert effect["verdict"] == "real lift"


def test_a_rare_event_against_a_control_without_events_stays_open(tmp_path, monkeypatch):
    """0 of 40 against 2 of 40: the control's rate could be as high as the arm's; no claim."""
    bought = np.r_[np.zeros(40), np.ones(2), np.zeros(38)].astype(int)
    frame = pd.DataFrame({"id": np.arange(80), "arm": _arms(40, 40), "bought": bought})
    metrics = [{"name": "bought", "type": "binary", "role": "outcome"}]
    run_case(Case(_experiment(frame, metrics), RUN, 0, "email: inconclusive"), tmp_path, monkeypatch)


def test_no_relative_interval_below_minus_100_percent(tmp_path, monkeypatch):
    """Six treated units of revenue, one large: the normal model's mean reaches below zero."""
    rng = np.random.default_rng(2)
    spend = np.r_[np.round(rng.lognormal(3, 0.5, 300), 2), [0, 0, 0, 0, 0, 900.0]]
    frame = pd.DataFrame({"id": np.arange(306), "arm": _arms(300, 6), "spend": spend})
    metrics = [{"name": "spend", "type": "revenue", "role": "revenue", "revenue_likelihood": "cell_means"}]
    output = run_case(Case(_experiment(frame, metrics), RUN, 0, "email: inconclusive"), tmp_path, monkeypatch)
    effect = _effect(tmp_path)
    assert effect["lift"]["defined"] is False
    summary = json.loads((tmp_path / "out" / "hostile.json").read_text())["arms"][0]["summary"]
    assert "too few units for a ratio" in summary
    assert "%" not in summary.split("interval")[1].split(";")[0]
    assert "Traceback" not in output


def test_ten_controls_against_a_hundred_thousand_under_a_true_null_claim_nothing(tmp_path, monkeypatch):
    rng = np.random.default_rng(4)
    arm = _arms(10, 100_000)
    frame = pd.DataFrame({"id": np.arange(arm.size), "arm": arm, "bought": (rng.random(arm.size) < 0.05)})
    frame["bought"] = frame["bought"].astype(int)
    metrics = [{"name": "bought", "type": "binary", "role": "outcome"}]
    run_case(Case(_experiment(frame, metrics), RUN, 0, "email: inconclusive"), tmp_path, monkeypatch)
    assert _effect(tmp_path)["verdict"] == "inconclusive"
