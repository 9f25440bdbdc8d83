"""The simulated programme of tests: its records estimate the truth it returns, calibrated.

Known truth: a channel's mean effects, spreads and link are set, each test's true effects are
returned, and the records must recover them within Monte Carlo error. Fast (no sampling).
"""

from __future__ import annotations

import dataclasses
import math
import time
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from channelab.engine.registry import Added, open_registry
from channelab.errors import ChannelabError
from channelab.simulate import (
    SOCIAL_PROGRAMME,
    ChannelTruth,
    Programme,
    programme_summaries,
    simulate_programme,
)
from channelab.simulate.paired_binary import joint_both
from channelab.simulate.programme import ENGAGEMENT_METRIC, OUTCOME_METRIC, WIN_PROBABILITY

#: Many tests of one channel with a strong within-unit association, so that Monte Carlo error is small.
MANY = ChannelTruth("email", math.log(1.3), math.log(1.1), 0.2, 0.08, 0.5, tests=4000)
SETTINGS = {"n_per_arm": (1000, 4000), "engagement_rate": (0.1, 0.2), "outcome_rate": (0.03, 0.06)}


@pytest.fixture(scope="module")
def many() -> Programme:
    return simulate_programme([MANY], seed=1, odds_ratio=8.0, **SETTINGS)


def _arrays(p: Programme, metric: str, scale: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimates, sds and true values of ``scale`` (loglift or diff) of ``metric``, in test order."""
    recs = [r for r in p.records if r.metric == metric]
    est = np.array([getattr(r, f"{scale}_mean") for r in recs])
    sd = np.array([getattr(r, f"{scale}_sd") for r in recs])
    true = np.array([getattr(p.truth[(r.spec_hash, r.arm, r.metric)], scale) for r in recs])
    return est, sd, true


def test_the_same_seed_gives_the_same_programme_and_another_seed_another():
    a = simulate_programme(SOCIAL_PROGRAMME, seed=7)
    assert a == simulate_programme(SOCIAL_PROGRAMME, seed=7)
    other = simulate_programme(SOCIAL_PROGRAMME, seed=8)
    assert [r.diff_mean for r in other.records] != [r.diff_mean for r in a.records]
    assert {r.spec_hash for r in other.records}.isdisjoint(r.spec_hash for r in a.records)


def test_two_records_and_one_covariance_per_test_with_unique_keys():
    p = simulate_programme(SOCIAL_PROGRAMME, seed=2)
    tests = sum(c.tests for c in SOCIAL_PROGRAMME)
    assert len(p.records) == 2 * tests == len(p.truth)
    assert len(p.covariances) == len(p.tables) == tests
    keys = {(r.spec_hash, r.data_fingerprint, r.arm, r.metric) for r in p.records}
    assert len(keys) == len(p.records)
    assert [r.metric for r in p.records[:2]] == [ENGAGEMENT_METRIC, OUTCOME_METRIC]
    assert [r.role for r in p.records[:2]] == ["engagement", "outcome"]
    social = [r.experiment for r in p.records if r.channel == "social" and r.metric == OUTCOME_METRIC]
    assert social == [f"social test {i:02d}" for i in range(1, 15)]
    firsts = [r.first_date for r in p.records if r.channel == "social" and r.metric == OUTCOME_METRIC]
    assert firsts == sorted(firsts)  # numbered in date order
    assert all(date(2025, 1, 6) <= r.first_date <= r.last_date < date(2026, 1, 6) for r in p.records)


def test_the_mean_estimated_effect_recovers_the_channels_mean(many: Programme):
    for metric, mu in ((ENGAGEMENT_METRIC, MANY.mu_engagement), (OUTCOME_METRIC, MANY.mu_outcome)):
        est, _, _ = _arrays(many, metric, "loglift")
        se = est.std() / math.sqrt(est.size)
        assert abs(est.mean() - mu) < 4 * se, (metric, est.mean(), mu, se)


@pytest.mark.parametrize("metric", [ENGAGEMENT_METRIC, OUTCOME_METRIC])
@pytest.mark.parametrize("scale", ["loglift", "diff"])
def test_the_posterior_sds_are_calibrated_against_the_true_effects(many: Programme, metric: str, scale: str):
    est, sd, true = _arrays(many, metric, scale)
    error = est - true
    assert math.sqrt(np.mean(error**2)) == pytest.approx(math.sqrt(np.mean(sd**2)), rel=0.10)
    assert np.std(error / sd) == pytest.approx(1.0, rel=0.10)
    assert abs(np.mean(error / sd)) < 4 / math.sqrt(est.size)  # unbiased within MC error


@pytest.mark.parametrize("scale", ["loglift", "diff"])
def test_the_covariance_matches_the_correlation_of_the_sampling_errors(many: Programme, scale: str):
    est_e, sd_e, true_e = _arrays(many, ENGAGEMENT_METRIC, scale)
    est_o, sd_o, true_o = _arrays(many, OUTCOME_METRIC, scale)
    model = np.array([getattr(c, f"cov_{scale}") for c in many.covariances]) / (sd_e * sd_o)
    empirical = np.corrcoef((est_e - true_e) / sd_e, (est_o - true_o) / sd_o)[0, 1]
    assert model.mean() > 0.15  # the association is strong enough for the check to bite
    assert empirical == pytest.approx(model.mean(), abs=3 / math.sqrt(est_e.size))


def test_without_association_the_covariance_and_the_errors_are_uncorrelated():
    p = simulate_programme([dataclasses.replace(MANY, tests=3000)], seed=4, odds_ratio=1.0, **SETTINGS)
    est_e, sd_e, true_e = _arrays(p, ENGAGEMENT_METRIC, "loglift")
    est_o, sd_o, true_o = _arrays(p, OUTCOME_METRIC, "loglift")
    model = np.array([c.cov_loglift for c in p.covariances]) / (sd_e * sd_o)
    assert abs(model.mean()) < 0.01
    assert abs(np.corrcoef(est_e - true_e, est_o - true_o)[0, 1]) < 3 / math.sqrt(est_e.size)


def test_the_true_effects_follow_the_channels_link(many: Programme):
    _, _, theta_e = _arrays(many, ENGAGEMENT_METRIC, "loglift")
    _, _, theta_o = _arrays(many, OUTCOME_METRIC, "loglift")
    slope, _ = np.polyfit(theta_e, theta_o, 1)
    se = MANY.tau_outcome_resid / (MANY.tau_engagement * math.sqrt(theta_e.size))
    assert abs(slope - MANY.slope) < 4 * se
    assert np.corrcoef(theta_e, theta_o)[0, 1] ** 2 == pytest.approx(MANY.r_squared, abs=0.04)
    assert theta_e.std() == pytest.approx(MANY.tau_engagement, rel=0.05)
    assert theta_o.std() == pytest.approx(MANY.tau_outcome, rel=0.05)


def test_the_truth_is_the_population_ratio_and_difference_of_the_rates(many: Programme):
    for effect in list(many.truth.values())[:50]:
        assert effect.loglift == pytest.approx(math.log(effect.arm_rate / effect.control_rate))
        assert effect.diff == pytest.approx(effect.arm_rate - effect.control_rate)
        assert 0 < effect.control_rate < 1
        assert 0 < effect.arm_rate <= 0.95


def test_a_huge_engagement_lift_keeps_the_arm_rate_below_one():
    huge = ChannelTruth("social", math.log(8.0), 0.0, 0.5, 0.05, 0.0, tests=200)
    p = simulate_programme([huge], seed=3, engagement_rate=(0.2, 0.5))
    assert max(e.arm_rate for e in p.truth.values()) <= 0.95 + 1e-12
    _, _, theta = _arrays(p, ENGAGEMENT_METRIC, "loglift")
    assert theta.mean() == pytest.approx(math.log(8.0), abs=0.15)  # the lift is kept; control is lowered


def test_records_are_sound_for_the_registry(tmp_path: Path):
    p = simulate_programme(SOCIAL_PROGRAMME, seed=5)
    with open_registry(tmp_path / "programme.duckdb", create=True) as reg:
        added = reg.add(p.records, p.covariances, origin="simulated programme")
        assert added == Added(len(p.records), 0, len(p.covariances), 0)
        assert sorted(reg.records(), key=lambda r: (r.spec_hash, r.metric)) == sorted(
            p.records, key=lambda r: (r.spec_hash, r.metric)
        )


def test_verdicts_follow_the_normal_rule_and_the_winners_are_exactly_the_launched_arms(many: Programme):
    diff = np.array([[r.diff_mean, r.diff_sd] for r in many.records])
    p_up = norm.cdf(diff[:, 0] / diff[:, 1])
    wanted = np.where(p_up <= 1 - WIN_PROBABILITY, "harm", "inconclusive")
    wanted = np.where(p_up >= WIN_PROBABILITY, "real lift", wanted)
    assert [r.verdict for r in many.records] == wanted.tolist()
    assert {"real lift", "inconclusive"} <= set(wanted)
    outcome = {r.spec_hash: r.verdict for r in many.records if r.metric == OUTCOME_METRIC}
    for r in many.records:
        assert r.launched == (outcome[r.spec_hash] == "real lift")
    launched = sum(r.launched for r in many.records if r.metric == OUTCOME_METRIC)
    assert 0 < launched < len(outcome)  # some winners, some not


def test_the_joint_has_the_marginals_and_the_odds_ratio_within_the_frechet_bounds():
    pe, po = np.array([0.1, 0.3, 0.6, 0.9]), np.array([0.05, 0.5, 0.7, 0.2])
    for odds_ratio in (0.2, 1.0, 4.0, 1e6):
        both = joint_both(pe, po, odds_ratio)
        assert np.all(both >= np.maximum(0, pe + po - 1) - 1e-12)
        assert np.all(both <= np.minimum(pe, po))
        if odds_ratio < 1e6:
            table = both * (1 - pe - po + both) / ((pe - both) * (po - both))
            assert table == pytest.approx(np.full(4, odds_ratio), rel=1e-6)


def test_the_summaries_are_the_observed_proportions_of_each_test():
    p = simulate_programme(SOCIAL_PROGRAMME, seed=6)
    frame = programme_summaries(p)
    assert list(frame.columns) == [
        *("experiment", "arm", "metric", "role", "type", "n", "control", "mean"),
        *("channel", "launched", "date", "pair", "pair_mean"),
    ]
    assert len(frame) == 2 * len(p.records)  # control and treatment rows of each record
    table = p.tables[0]
    assert frame.loc[0, "mean"] == (table.control[0] + table.control[1]) / table.n_per_arm
    assert frame.loc[3, "mean"] == (table.treated[0] + table.treated[2]) / table.n_per_arm
    counts = frame["mean"] * frame["n"]
    assert np.allclose(counts, counts.round())
    assert (frame["type"] == "binary").all()


def test_the_default_programme_tells_the_social_story():
    p = simulate_programme(SOCIAL_PROGRAMME, seed=0)
    social = [r for r in p.records if r.channel == "social"]
    views = np.mean([r.loglift_mean for r in social if r.metric == ENGAGEMENT_METRIC])
    meetings = np.mean([r.loglift_mean for r in social if r.metric == OUTCOME_METRIC])
    assert math.exp(views) == pytest.approx(2.8, rel=0.15)
    assert abs(meetings) < 0.15


def test_ten_thousand_records_simulate_quickly():
    start = time.perf_counter()
    p = simulate_programme([dataclasses.replace(MANY, tests=5000)], seed=9)
    assert len(p.records) == 10_000
    assert time.perf_counter() - start < 3  # about 0.3 s on one core


@pytest.mark.parametrize(
    ("channels", "settings", "match"),
    [
        ([MANY, MANY], {}, "each channel must be named once"),
        ([], {}, "at least one ChannelTruth"),
        ([MANY], {"n_per_arm": (1, 100)}, "n_per_arm"),
        ([MANY], {"n_per_arm": (500, 100)}, "n_per_arm"),
        ([MANY], {"n_per_arm": (10.5, 100)}, "two whole numbers"),
        ([MANY], {"engagement_rate": (0.0, 0.3)}, "engagement_rate"),
        ([MANY], {"outcome_rate": (0.01, 1.0)}, "outcome_rate"),
        ([MANY], {"odds_ratio": 0.0}, "odds_ratio"),
        ([MANY], {"odds_ratio": math.nan}, "odds_ratio"),
        ([MANY], {"start": date(1960, 1, 1)}, "start"),
        ([dataclasses.replace(MANY, tests=60_000)], {}, "at most 50,000"),
    ],
)
def test_bad_settings_are_refused_with_the_setting_named(channels, settings, match):
    with pytest.raises(ChannelabError, match=match):
        simulate_programme(channels, seed=1, **settings)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"tau_engagement": -0.1}, "tau_engagement.*cannot be negative"),
        ({"tau_outcome_resid": -1e-9}, "tau_outcome_resid.*cannot be negative"),
        ({"mu_outcome": math.inf}, "mu_outcome.*finite"),
        ({"slope": 50.0}, "slope.*at most 10"),
        ({"tests": 0}, "tests.*at least 1"),
        ({"channel": "control"}, "control arm"),
        ({"channel": " "}, "non-empty"),
    ],
)
def test_a_bad_channel_is_refused_with_the_field_named(changes, match):
    with pytest.raises(ChannelabError, match=match):
        dataclasses.replace(MANY, **changes)


def test_a_records_numbers_are_those_of_the_jeffreys_posteriors_of_its_arms():
    p = simulate_programme([dataclasses.replace(MANY, tests=3)], seed=11, n_per_arm=(20, 40))
    rng = np.random.default_rng(0)
    for i, table in enumerate(p.tables):
        for m, r in enumerate(p.records[2 * i : 2 * i + 2]):
            x = [cells[0] + cells[1 + m] for cells in (table.control, table.treated)]
            control, arm = (rng.beta(0.5 + k, 0.5 + table.n_per_arm - k, size=400_000) for k in x)
            assert r.control_mean == x[0] / table.n_per_arm
            assert r.diff_mean == pytest.approx(np.mean(arm - control), abs=1e-3)
            assert r.diff_sd == pytest.approx(np.std(arm - control), rel=0.01)
            lift = np.log(arm) - np.log(control)
            assert r.loglift_mean == pytest.approx(np.mean(lift), abs=0.01 * np.std(lift))
            assert r.loglift_sd == pytest.approx(np.std(lift), rel=0.01)
