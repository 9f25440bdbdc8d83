"""B2B scenarios with known truth: the model finds what the simulator put in."""

from __future__ import annotations

import json

import pytest
import yaml

from channelab.pipeline import analyse
from channelab.simulate.outreach import simulate_outreach
from channelab.simulate.scenarios import SCENARIOS
from channelab.spec import load_spec

pytestmark = pytest.mark.slow

MEETINGS = [{"name": "meetings", "role": "outcome", "type": "count"}]


def _analyse(tmp_path, rows, metrics, **overrides):
    scenario = SCENARIOS["slacktivism"]
    rows.to_csv(tmp_path / "rows.csv", index=False)
    spec = {
        "name": "b2b",
        "unit": {"kind": "prospect", "id": "prospect_id"},
        "data": {"path": "rows.csv"},
        "arm_column": "arm",
        "control": "Control",
        "arms": {label: {"channel": channel} for label, channel in scenario.arms},
        "metrics": metrics,
        "covariates": ["company_size"],
        "seed": 3,
        "sampler": {"draws": 1000, "tune": 1000, "chains": 4},
        **overrides,
    }
    (tmp_path / "b2b.yaml").write_text(yaml.safe_dump(spec))
    return analyse(load_spec(tmp_path / "b2b.yaml"))


def test_heterogeneous_lift_is_found_in_the_right_segment(tmp_path):
    rows, truth = simulate_outreach("heterogeneous", n_prospects=30_000, seed=21)
    result = _analyse(tmp_path, rows, MEETINGS, model={"lift_by": "company_size"})
    assert result.diagnostics.converged, result.diagnostics.problems
    phone = {g.level: g for g in result.effects.segments if g.arm == "Phone" and g.metric == "meetings"}
    true = {
        level: by_arm["Phone"]["meetings"] for level, by_arm in truth.segment_lifts["company_size"].items()
    }
    best = max(phone, key=lambda level: phone[level].lift.mean)
    assert best == max(true, key=true.get) == "enterprise"
    # Pooled toward the arm's overall effect over only three levels, the estimates are shrunk
    # toward each other (+60 % true in enterprise, about +31 % estimated; 0 elsewhere, about
    # +14 %); the segment that works still stands out clearly and is credibly lifted.
    assert phone["enterprise"].verdict == "real lift"
    others = [g.lift.mean for level, g in phone.items() if level != "enterprise"]
    assert phone["enterprise"].lift.mean > 2 * max(others)


def test_cluster_term_widens_intervals_and_covers_the_truth(tmp_path):
    rows, truth = simulate_outreach("clustered", n_prospects=12_000, seed=22)
    naive = _analyse(tmp_path, rows, MEETINGS)
    clustered = _analyse(
        tmp_path, rows, MEETINGS, unit={"kind": "prospect", "id": "prospect_id", "randomised_by": "rep_id"}
    )
    assert clustered.diagnostics.converged, clustered.diagnostics.problems
    for arm in truth.lifts:
        wide, narrow = clustered.effects.get(arm, "meetings").lift, naive.effects.get(arm, "meetings").lift
        assert (wide.upper - wide.lower) > 1.5 * (narrow.upper - narrow.lower)
        assert wide.lower <= truth.lifts[arm]["meetings"] <= wide.upper


def test_null_scenario_gives_no_real_lift(tmp_path):
    rows, _ = simulate_outreach("null", n_prospects=12_000, seed=23)
    metrics = [
        {"name": "likes_comments", "role": "engagement", "type": "count"},
        *MEETINGS,
        {"name": "revenue", "role": "revenue", "type": "revenue"},
    ]
    result = _analyse(tmp_path, rows, metrics)
    assert result.diagnostics.converged, result.diagnostics.problems
    assert all(a.verdict != "real lift" for a in result.effects.arms)
    assert all(a.verdict != "engagement only" for a in result.effects.arms)


def test_social_selling_pilot_report_says_engagement_up_for_social(tmp_path):
    from pypdf import PdfReader

    from channelab.app import run_experiment
    from helpers import DATA, EXPERIMENTS

    report = run_experiment(EXPERIMENTS / "social_selling_pilot.yaml", out_dir=tmp_path)
    analysis, pdf = report.analysis, report.pdf
    verdicts = {a.arm: a.verdict for a in analysis.effects.arms}
    # Social truly triples engagement and leaves meetings flat, but 5,000 prospects per arm cannot
    # show meetings within ±5 %: engagement up is claimed, "did not turn into meetings" is not
    assert verdicts["Social"] == "engagement up, outcome undecided"
    truth = json.loads((DATA / "social_selling_pilot.truth.json").read_text())["lifts"]
    covered = {
        (e.arm, e.metric): e.lift.lower <= truth[e.arm][e.metric] <= e.lift.upper
        for e in analysis.effects.effects
    }
    # the documented truths: Social triples engagement; phone and in person lift meetings
    for arm, metric in [("Social", "profile_views"), ("Social", "likes_comments"), ("Phone", "meetings")]:
        assert covered[(arm, metric)], (arm, metric)
    # 35 intervals at 94 % from one data set (they share its control arm, so misses cluster)
    assert sum(covered.values()) >= 29
    assert verdicts["In person"] == "real lift"
    assert verdicts["Phone"] == "real lift, but harms"  # meetings up, opt-outs doubled (the guardrail)
    page_one = " ".join(PdfReader(pdf).pages[0].extract_text().split())
    assert "engagement up, outcome undecided" in page_one.lower()
    assert "did not turn into the costly step" not in page_one
    assert "Social" in page_one
    assert "real lift, but it harms unsubscribes" in page_one
