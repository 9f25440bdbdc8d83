"""The claims contract: every claim has a condition, the JSON lists the claims made, and the
decision quantities are those of the difference (known truth and closed forms)."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from channelab.analysis.claims import CONTRACT, ClaimKind, claims_made, metric_claim
from channelab.analysis.results import ArmResult, Effects
from channelab.pipeline import analyse
from channelab.reporting.json_report import analysis_json
from helpers import make_effect

REPORTS = Path(__file__).resolve().parents[2] / "reports"
LEVEL = 0.97


def test_every_claim_kind_has_a_written_condition_and_a_falsifier():
    assert set(CONTRACT) == set(typing.get_args(ClaimKind))
    assert all(condition and falsifier for condition, falsifier in CONTRACT.values())


def test_claims_made_reads_verdicts_directions_and_arm_verdicts():
    rise = dataclasses.replace(
        make_effect(metric="m1", verdict="inconclusive", mean=0.04), prob_positive=0.99
    )
    flat = dataclasses.replace(make_effect(metric="m2", verdict="inconclusive", mean=0.0), prob_positive=0.5)
    lift = make_effect(metric="m3", verdict="real lift", mean=0.3)
    guard = make_effect(metric="u", role="guardrail", verdict="harm", mean=0.5)
    # no direction is claimed inside the ROPE, however likely the sign
    assert [metric_claim(e) for e in (rise, flat, lift, guard)] == [
        None,
        None,
        "real lift",
        "guardrail harm",
    ]
    effects = Effects(
        hdi_prob=0.94,
        effects=(rise, flat, lift, guard),
        arms=(ArmResult("arm", "email", "real lift, but harms", ""),),
        lift_draws={},
        claim_level=LEVEL,
    )
    kinds = [(c.kind, c.metric) for c in claims_made(effects)]
    assert kinds == [
        ("real lift", "m3"),
        ("guardrail harm", "u"),
        ("arm: real lift", None),
    ]


def test_committed_reports_bands_contain_zero_and_claims_are_listed():
    """Every committed example's noise bands contain 0; a relative lift is shown only where defined."""
    files = [f for f in REPORTS.glob("*.json") if "effects" in json.loads(f.read_text())]
    assert len(files) >= 8
    for f in files:
        report = json.loads(f.read_text())
        assert {c["claim"] for c in report["claims"]} <= set(CONTRACT), f.name
        for e in report["effects"]:
            lo, hi = e["abs_lift"]["noise_band"]
            assert lo <= 0 <= hi, (f.name, e["arm"], e["metric"])
            if e["lift"]["defined"]:
                lo, hi = e["lift"]["noise_band"]
                assert lo <= 0 <= hi, (f.name, e["arm"], e["metric"])
            else:
                assert e["lift"]["hdi"] is None


@pytest.mark.slow
def test_p_positive_with_a_control_mean_near_zero_is_p_arm_above_control(write_experiment):
    """A change score whose control mean is ~0: prob_positive is P(arm mean > control mean),
    which for two normal means with many units is Φ(difference / Welch's se) (closed form)."""
    rng = np.random.default_rng(54)
    n = 400
    rows = pd.DataFrame(
        {
            "unit_id": np.arange(2 * n),
            "arm": np.repeat(["control", "treatment"], n),
            "segment": "s0",
            "y": np.concatenate([rng.normal(0.0, 1.0, n), rng.normal(0.02, 1.0, n)]),
        }
    )
    spec = write_experiment(rows, [{"name": "y", "role": "outcome", "type": "continuous"}], covariates=[])
    analysis = analyse(spec)
    (e,) = analysis.effects.effects
    c, t = (rows.loc[rows["arm"] == a, "y"] for a in ("control", "treatment"))
    se = np.hypot(c.std(ddof=1) / np.sqrt(n), t.std(ddof=1) / np.sqrt(n))
    exact = stats.norm.cdf((t.mean() - c.mean()) / se)
    assert e.prob_positive == pytest.approx(exact, abs=0.03)  # Monte Carlo error of 2,000 draws ≈ 0.011
    assert not e.relative_defined
    out = analysis_json(analysis)["effects"][0]
    assert out["lift"]["defined"] is False
    assert out["lift"]["hdi"] is None
    assert out["abs_lift"]["prob_positive"] == e.prob_positive
