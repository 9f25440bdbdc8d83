"""The outreach simulator: its truth is what the data show, and its files are reproducible.

Fast (no sampling). Truth-versus-data checks use 200,000 prospects and compare the log of each
empirical arm-mean ratio with log(1 + true lift), allowing 4 standard errors of that log ratio:
the delta method on the two arms' means, cluster-robust over the randomised unit (the prospect,
or the rep in the clustered scenario), se²(log ȳ) = R/(R-1) Σ_r (Y_r - ȳ n_r)² / (ȳ Σ_r n_r)²
per arm. The residuals include the spread of the prospects' expected values, so chance
imbalance of segments, reps and weeks between arms is covered. At 200k prospects the se is
about 1 % for engagement, 2.5 % for meetings and 9 % for revenue (rep-randomised: ~10-20 %).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from channelab.cli import app
from channelab.errors import ChannelabError
from channelab.simulate.outreach import simulate_outreach, write_simulation
from channelab.simulate.scenarios import BASE_METRICS, OUTREACH_METRICS, SCENARIOS, SEGMENTS, Scenario

N_LARGE = 200_000
Z = 4.0
runner = CliRunner()


@pytest.fixture(scope="module")
def large():
    """Every scenario at 200k prospects (about a second each), simulated once."""
    return {name: simulate_outreach(name, n_prospects=N_LARGE, seed=20) for name in SCENARIOS}


def _log_mean(y: pd.Series, cluster: pd.Series | None) -> tuple[float, float]:
    """log of the mean of ``y`` and its variance, linearised and robust to ``cluster`` (None: rows)."""
    mean = y.mean()
    resid = y - mean
    if cluster is not None:
        resid = resid.groupby(cluster.to_numpy()).sum()
    r = len(resid)
    return math.log(mean), r / (r - 1) * float((resid**2).sum()) / (mean * len(y)) ** 2


def _clusters(rows: pd.DataFrame) -> pd.Series | None:
    """The randomised clusters: the reps when every rep has one arm, else None (prospects)."""
    return rows["rep_id"] if rows.groupby("rep_id")["arm"].nunique().max() == 1 else None


def _log_ratios(rows: pd.DataFrame, lifts: dict[str, dict[str, float]], control: str):
    """Per (treatment, metric): data log ratio, truth log ratio and se (clustered by the randomised unit)."""
    by_rep = _clusters(rows) is not None
    arms = dict(tuple(rows.groupby("arm")))
    c = arms[control]
    for arm, by_metric in lifts.items():
        a = arms[arm]
        for metric, lift in by_metric.items():
            (la, va), (lc, vc) = (_log_mean(d[metric], d["rep_id"] if by_rep else None) for d in (a, c))
            yield arm, metric, la - lc, math.log1p(lift), math.sqrt(va + vc)


def _assert_data_match_truth(rows: pd.DataFrame, lifts: dict[str, dict[str, float]], control: str) -> None:
    misses = [
        f"{arm}/{metric}: data {math.expm1(got):+.3f}, truth {math.expm1(want):+.3f}, se {se:.3f}"
        for arm, metric, got, want, se in _log_ratios(rows, lifts, control)
        if abs(got - want) > Z * se
    ]
    assert not misses, misses


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_empirical_lifts_match_the_truth(large, name):
    rows, truth = large[name]
    _assert_data_match_truth(rows, truth.lifts, truth.control)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_control_means_are_the_base_rates_and_data_agree(large, name):
    rows, truth = large[name]
    base = {"profile_views": 2.0, "likes_comments": 1.0, "connection_accepts": 0.3, "email_replies": 0.2}
    base["meetings"] = 1.0 if name == "pre_period" else 0.15  # contacts of customers meet more
    for metric, mean in base.items():
        assert truth.means["Control"][metric] == pytest.approx(mean, rel=1e-9)
    control = rows[rows["arm"] == "Control"]
    unit = control["rep_id"] if _clusters(rows) is not None else None
    for metric, mean in truth.means["Control"].items():
        got, var = _log_mean(control[metric], unit)
        assert abs(got - math.log(mean)) < Z * math.sqrt(var), metric
    got, var = _log_mean((control["revenue"] > 0).astype(float), unit)
    assert abs(got - math.log(0.02)) < Z * math.sqrt(var)


def test_slacktivism_truth_is_as_documented(large):
    _, truth = large["slacktivism"]
    lifts = truth.lifts
    for metric in ("profile_views", "likes_comments", "connection_accepts"):
        assert lifts["Social"][metric] == pytest.approx(2.0)
    assert lifts["Social"]["meetings"] == lifts["Social"]["revenue"] == lifts["Social"]["email_replies"] == 0
    assert lifts["Phone"]["meetings"] == pytest.approx(0.2)
    # odds x1.2 on a ~2 % deal probability: a little under +20 % in expected revenue
    assert 0.19 < lifts["Phone"]["revenue"] < 0.2
    assert lifts["E-mail"] == pytest.approx(
        {m: (0.5 if m == "email_replies" else 0) for m in OUTREACH_METRICS}
    )
    assert lifts["Video"]["meetings"] == pytest.approx(0.1)
    assert lifts["In person"]["meetings"] == pytest.approx(0.3)
    assert truth.verdicts == {
        "E-mail": "engagement only",
        "Phone": "real lift",
        "Social": "engagement only",
        "Video": "real lift",
        "In person": "real lift",
    }


def test_slacktivism_data_show_tripled_engagement_and_flat_meetings(large):
    rows, truth = large["slacktivism"]
    ratios = {(arm, m): (got, se) for arm, m, got, _, se in _log_ratios(rows, truth.lifts, "Control")}
    got, se = ratios[("Social", "profile_views")]
    assert abs(got - math.log(3)) < Z * se
    got, se = ratios[("Social", "meetings")]
    assert abs(got) < Z * se


def test_null_scenario_has_no_effects(large):
    _, truth = large["null"]
    assert all(v == 0 for by_metric in truth.lifts.values() for v in by_metric.values())
    assert set(truth.verdicts.values()) == {"no effect"}


def test_heterogeneous_phone_works_only_in_enterprise(large):
    rows, truth = large["heterogeneous"]
    by_size = truth.segment_lifts["company_size"]
    assert set(by_size) == set(SEGMENTS["company_size"])
    assert by_size["enterprise"]["Phone"]["meetings"] == pytest.approx(0.6)
    assert by_size["smb"]["Phone"]["meetings"] == by_size["mid_market"]["Phone"]["meetings"] == 0
    # overall: diluted by the non-enterprise majority, and exactly what the data show
    assert 0.05 < truth.lifts["Phone"]["meetings"] < 0.15
    for level, lifts in by_size.items():
        _assert_data_match_truth(rows[rows["company_size"] == level], lifts, "Control")
    assert truth.verdicts["Phone"] == "real lift"
    assert {v for a, v in truth.verdicts.items() if a != "Phone"} == {"no effect"}


def test_clustered_randomises_whole_reps_in_balanced_arms(large):
    rows, truth = large["clustered"]
    arms_per_rep = rows.groupby("rep_id")["arm"].nunique()
    assert (arms_per_rep == 1).all()
    reps_per_arm = rows.groupby("arm")["rep_id"].nunique()
    assert set(reps_per_arm) == {SCENARIOS["clustered"].n_reps // len(truth.arms)}
    assert truth.randomised_by == "rep"


def test_clustered_meetings_are_correlated_within_rep(large):
    rows, _ = large["clustered"]
    # within each arm, rep means vary far more than counting noise allows: rep effects are real
    scaled = rows["meetings"] / rows.groupby("arm")["meetings"].transform("mean")
    by_rep = scaled.groupby(rows["rep_id"]).agg(["mean", "var", "count"])
    between = by_rep["mean"].var()
    noise = (by_rep["var"] / by_rep["count"]).mean()
    assert between > 20 * noise
    # and far more than in a prospect-randomised scenario with milder rep effects
    rows_p, _ = large["null"]
    scaled_p = rows_p["meetings"] / rows_p["meetings"].mean()
    assert between > 3 * scaled_p.groupby(rows_p["rep_id"]).mean().var()


def test_prospect_randomisation_is_exactly_balanced():
    rows, truth = simulate_outreach("slacktivism", n_prospects=30_003, seed=1)
    counts = rows["arm"].value_counts()
    assert [counts[a] for a in truth.arms] == [5001, 5001, 5001, 5000, 5000, 5000]


def test_population_structure(large):
    rows, _ = large["slacktivism"]
    assert rows["prospect_id"].is_unique
    assert list(rows.columns) == [
        "prospect_id",
        "account_id",
        "rep_id",
        "industry",
        "company_size",
        "region",
        "seniority",
        "week",
        "arm",
        *OUTREACH_METRICS,
    ]
    shared = rows[["account_id", "industry", "company_size", "region", "rep_id"]].drop_duplicates()
    assert shared["account_id"].is_unique  # an account's prospects share segments and rep
    sizes = rows.groupby("account_id").size()
    assert sizes.between(1, 8).all()
    assert 40 <= rows["rep_id"].nunique() <= 60
    assert set(rows["week"].unique()) == set(range(1, 9))
    for column, levels in SEGMENTS.items():
        assert set(rows[column].unique()) == set(levels)
    assert (rows["revenue"] >= 0).all()
    assert (rows["revenue"] == rows["revenue"].round(2)).all()
    assert 0.015 < (rows["revenue"] > 0).mean() < 0.03
    assert rows.loc[rows["revenue"] > 0, "revenue"].median() == pytest.approx(20_000, rel=0.15)
    assert (rows["meetings"] <= 1).mean() > 0.98
    for metric in OUTREACH_METRICS:
        assert (rows[metric] >= 0).all()
        assert pd.api.types.is_integer_dtype(rows[metric]) or metric == "revenue"


def test_engagement_counts_are_overdispersed(large):
    # Var = mu + k mu^2 with k at least the negative binomial's own (segments, reps, weeks add more)
    rows, _ = large["null"]
    control = rows[rows["arm"] == "Control"]
    for metric in ("profile_views", "likes_comments", "connection_accepts", "email_replies"):
        y = control[metric]
        k = (y.var() - y.mean()) / y.mean() ** 2
        assert k > 0.8 * BASE_METRICS[metric].overdispersion, metric


def test_week_to_week_noise_on_engagement(large):
    # week effects, and not sampling noise, move weekly engagement: weekly means spread widely
    rows, _ = large["null"]
    weekly = rows.groupby("week")["profile_views"].agg(["mean", "var", "count"])
    assert weekly["mean"].var() > 10 * (weekly["var"] / weekly["count"]).mean()


def test_same_seed_same_data_and_different_seed_different_data():
    a, ta = simulate_outreach("clustered", n_prospects=5_000, seed=9)
    b, tb = simulate_outreach("clustered", n_prospects=5_000, seed=9)
    c, _ = simulate_outreach("clustered", n_prospects=5_000, seed=10)
    pd.testing.assert_frame_equal(a, b)
    assert ta == tb
    assert not a.equals(c)


def test_write_simulation_is_byte_identical_and_truth_matches_data(tmp_path):
    first = write_simulation("heterogeneous", tmp_path / "a.csv", n_prospects=3_000, seed=4)
    second = write_simulation("heterogeneous", tmp_path / "b.csv", n_prospects=3_000, seed=4)
    assert first.data.read_bytes() == second.data.read_bytes()
    assert first.truth_path == tmp_path / "a.truth.json"
    doc = json.loads(first.truth_path.read_text())
    assert doc["data"]["file"] == "a.csv"
    assert doc["data"]["sha256"] == hashlib.sha256(first.data.read_bytes()).hexdigest()
    assert doc["lifts"] == first.truth.lifts
    assert doc["segment_lifts"]["company_size"]["enterprise"]["Phone"]["meetings"] == pytest.approx(0.6)
    assert set(doc) >= {"scenario", "seed", "n", "arms", "control", "means", "verdicts", "parameters"}
    assert not list(tmp_path.glob("*.tmp"))


def test_write_simulation_parquet_round_trips(tmp_path):
    files = write_simulation("null", tmp_path / "rows.parquet", n_prospects=2_000, seed=5)
    rows, _ = simulate_outreach("null", n_prospects=2_000, seed=5)
    pd.testing.assert_frame_equal(pd.read_parquet(files.data), rows, check_dtype=False)
    assert json.loads(files.truth_path.read_text())["data"]["format"] == "parquet"


def test_custom_scenario_and_bad_ones_are_refused():
    two_arms = replace(SCENARIOS["null"], name="two", arms=(("BAU", "control"), ("Call", "phone")), n_reps=10)
    rows, truth = simulate_outreach(two_arms, n_prospects=1_000, seed=1)
    assert set(rows["arm"].unique()) == {"BAU", "Call"}
    assert truth.control == "BAU"
    with pytest.raises(ChannelabError, match="expected treatment arms"):
        replace(SCENARIOS["slacktivism"], arms=(("Control", "control"), ("Phone", "phone")))
    with pytest.raises(ChannelabError, match="first with channel 'control'"):
        replace(SCENARIOS["null"], arms=(("Phone", "phone"), ("Control", "control")))
    with pytest.raises(ChannelabError, match="did you mean 'slacktivism'"):
        simulate_outreach("slacktivsm", seed=1)
    with pytest.raises(ChannelabError, match="at least one prospect per arm"):
        simulate_outreach("null", n_prospects=3, seed=1)


def test_scenario_registry_is_documented():
    for name, scenario in SCENARIOS.items():
        assert isinstance(scenario, Scenario)
        assert scenario.name == name
        assert len(scenario.description) > 40


# ---- command line ---------------------------------------------------------------------------


def test_cli_simulate_writes_data_and_truth(tmp_path):
    out = tmp_path / "pilot.csv"
    result = runner.invoke(app, ["simulate", "slacktivism", "--out", str(out), "--n-prospects", "1200"])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out)
    doc = json.loads((tmp_path / "pilot.truth.json").read_text())
    assert len(rows) == doc["n"] == 1200
    assert doc["scenario"] == "slacktivism"
    assert doc["seed"] == 2014
    assert "Phone +20 %" in result.output


def test_cli_simulate_help_lists_scenarios():
    result = runner.invoke(app, ["simulate", "--help"])
    assert result.exit_code == 0
    for name in SCENARIOS:
        assert name in result.output


def test_cli_unknown_scenario_exits_2(tmp_path):
    result = runner.invoke(app, ["simulate", "slacktivsm", "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    assert "did you mean 'slacktivism'" in result.output
    assert "heterogeneous" in result.output
    assert not list(tmp_path.iterdir())


def test_pre_period_columns_are_measured_before_and_predict_the_test(large):
    rows, truth = large["pre_period"]
    columns = list(rows.columns)
    assert columns.index("prior_engagement") == columns.index("arm") - 1
    assert pd.api.types.is_integer_dtype(rows["prior_meetings"])
    assert (rows["prior_engagement"] > 0).all()
    control = rows[rows["arm"] == "Control"]
    for column, by_metric in truth.explained.items():
        for metric, r2 in by_metric.items():  # the truth file's R², from the control prospects
            assert r2 == pytest.approx(np.corrcoef(control[column], control[metric])[0, 1] ** 2, rel=1e-9)
    assert 0.3 <= truth.explained["prior_meetings"]["meetings"] <= 0.5  # as documented
    assert truth.explained["prior_engagement"]["meetings"] > 0.05
    # measured before assignment: the arms do not differ in them beyond chance
    for column in ("prior_meetings", "prior_engagement"):
        groups = [g.to_numpy() for _, g in rows.groupby("arm")[column]]
        assert stats.f_oneway(*groups).pvalue > 1e-4


def test_scenarios_without_a_history_have_no_pre_period_columns(large):
    rows, truth = large["null"]
    assert "prior_meetings" not in rows
    assert truth.explained == {}
    assert "explained" not in truth.to_dict()
