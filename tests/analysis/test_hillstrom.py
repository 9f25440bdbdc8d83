"""The flagship experiment on the real Hillstrom data: exact arm means, sensible effects, JSON contract."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from channelab.analysis.effects import compute_effects, lift_draws, metric_effects, verdicts
from helpers import DATA

pytestmark = pytest.mark.slow

ARMS = ["Mens E-Mail", "Womens E-Mail"]
METRICS = {"visit": "engagement", "conversion": "outcome", "spend": "revenue"}


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(DATA / "hillstrom.csv").groupby("segment")[list(METRICS)].mean()


def test_arm_means_equal_raw_means_exactly(hillstrom_run, raw):
    analysis, _, _ = hillstrom_run[:3]
    for e in analysis.effects.effects:
        assert e.control_mean == pytest.approx(raw.loc["No E-Mail", e.metric], rel=1e-12)
        assert e.arm_mean == pytest.approx(raw.loc[e.arm, e.metric], rel=1e-12)


def test_effects_are_close_to_raw_differences(hillstrom_run, raw):
    # randomised: the covariate-adjusted population lift must agree with the raw ratio
    analysis, _, _ = hillstrom_run[:3]
    for e in analysis.effects.effects:
        raw_lift = raw.loc[e.arm, e.metric] / raw.loc["No E-Mail", e.metric] - 1
        width = e.lift.upper - e.lift.lower
        assert e.lift.lower < raw_lift < e.lift.upper
        assert abs(e.lift.mean - raw_lift) < 0.15 * width
        raw_abs = raw.loc[e.arm, e.metric] - raw.loc["No E-Mail", e.metric]
        assert e.abs_lift.lower < raw_abs < e.abs_lift.upper


def test_published_finding_both_emails_lift_purchases(hillstrom_run):
    # Hillstrom (2008): both e-mails raised conversion; the men's e-mail most (about +119 %).
    analysis, _, _ = hillstrom_run[:3]
    mens = analysis.effects.get("Mens E-Mail", "conversion")
    assert 0.8 < mens.lift.mean < 1.6
    assert [a.verdict for a in analysis.effects.arms] == ["real lift", "real lift"]
    assert analysis.diagnostics.converged
    assert analysis.checks.srm_p > 0.1


def test_json_matches_the_contract(hillstrom_run):
    _analysis, _, json_path = hillstrom_run[:3]
    doc = json.loads(json_path.read_text())
    assert doc["experiment"] == "hillstrom_email"
    assert doc["control"] == "No E-Mail"
    assert doc["hdi_prob"] == 0.94
    assert doc["n_units"] == 64000
    assert doc["design"] == "randomised"
    assert set(doc["checks"]) >= {"srm_p", "rhat_max", "ess_bulk_min", "divergences", "converged"}
    assert doc["checks"]["converged"] is True
    assert doc["checks"]["rhat_max"] <= 1.01
    assert doc["checks"]["ess_bulk_min"] >= 400
    assert [a["arm"] for a in doc["arms"]] == ARMS
    for arm in doc["arms"]:
        assert arm["verdict"] in {
            "real lift",
            "engagement only",
            "harm",
            "no effect",
            "inconclusive",
        }
        assert arm["arm"] in arm["summary"]
    assert len(doc["effects"]) == len(ARMS) * len(METRICS)
    for e in doc["effects"]:
        assert e["role"] == METRICS[e["metric"]]
        lo, hi = e["lift"]["hdi"]
        assert lo < e["lift"]["mean"] < hi
        assert 0 <= e["lift"]["prob_positive"] <= 1
        assert 0 <= e["lift"]["prob_in_rope"] <= 1
        assert e["abs_lift"]["hdi"][0] < e["abs_lift"]["mean"] < e["abs_lift"]["hdi"][1]
        assert e["verdict"] in {"real lift", "harm", "no effect", "inconclusive"}
        # relative lifts are fractions of the control mean
        assert e["lift"]["mean"] == pytest.approx(e["abs_lift"]["mean"] / e["control_mean"], rel=0.1)
    # funnel order within each arm
    assert [e["metric"] for e in doc["effects"][:3]] == ["visit", "conversion", "spend"]
    assert doc["data"]["rows"] == 64000
    assert len(doc["data"]["sha256"]) == 64
    assert doc["provenance"]["seed"] == 2008


@pytest.mark.parametrize("arm", ARMS)
def test_spend_lift_is_the_raw_difference_in_mean_spend(hillstrom_run, arm):
    """Money as the data say it: amounts are not lognormal and spread differently by arm."""
    analysis, _, _ = hillstrom_run[:3]
    rows = pd.read_csv(DATA / "hillstrom.csv")
    spend = {a: rows.loc[rows["segment"] == a, "spend"] for a in (arm, "No E-Mail")}
    diff = spend[arm].mean() - spend["No E-Mail"].mean()  # +$0.770 (Mens), +$0.424 (Womens)
    se = (spend[arm].var() / len(spend[arm]) + spend["No E-Mail"].var() / len(spend["No E-Mail"])) ** 0.5
    z = 1.881  # the normal quantile of a 94 % interval
    e = analysis.effects.get(arm, "spend")
    assert e.abs_lift.mean == pytest.approx(diff, abs=0.01)
    assert e.abs_lift.lower == pytest.approx(diff - z * se, abs=0.03)  # Welch's interval, within cents
    assert e.abs_lift.upper == pytest.approx(diff + z * se, abs=0.03)
    raw_rel = diff / spend["No E-Mail"].mean()
    assert e.lift.mean == pytest.approx(raw_rel, abs=0.02)
    summary = next(a.summary for a in analysis.effects.arms if a.arm == arm)
    said = re.search(r"spend per customer by (\d+) %", summary)
    assert said is not None
    assert abs(int(said.group(1)) - 100 * raw_rel) <= 2  # page 1 says the raw percentage


def test_verdicts_and_lift_draws_alone_are_those_of_the_effects(hillstrom_run):
    """What ``channelab design`` reads of each simulated test (the verdicts), the stopping rule's
    calibration (the lift draws) and a monitored look (the effects), computed without the rest of
    the effects, are the report's own."""
    analysis = hillstrom_run[0]
    posterior, cells = analysis.posterior["posterior"].to_dataset(), analysis.cells
    seen = set()
    for rope in (0.05, 0.3, 2.0):  # as run (all real lifts), then wider ROPEs: other verdicts
        spec = analysis.spec.model_copy(
            update={"metrics": [m.model_copy(update={"rope": rope}) for m in analysis.spec.metrics]}
        )
        said = verdicts(posterior, cells, spec)
        effects = compute_effects(posterior, cells, spec, seed=spec.seed)
        assert said == {(e.arm, e.metric): e.verdict for e in effects.effects}
        seen |= set(said.values())
    assert len(seen) > 2, seen
    alone = metric_effects(posterior, cells, analysis.spec)  # what a monitored look keeps
    assert alone.effects == analysis.effects.effects
    assert alone.claim_level == analysis.effects.claim_level
    lifts = lift_draws(posterior, analysis.cells, analysis.spec)
    assert lifts.keys() == analysis.effects.lift_draws.keys()
    for key, draws in analysis.effects.lift_draws.items():
        np.testing.assert_array_equal(lifts[key], draws)
        np.testing.assert_array_equal(alone.lift_draws[key], draws)
