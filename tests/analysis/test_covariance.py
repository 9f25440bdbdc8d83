"""The within-arm covariance of effects across metrics: the sampling truth, posterior sds, None not 0."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import yaml

from channelab.analysis.covariance import arm_covariances, sampling_correlations, sampling_covariances, scaled
from channelab.engine.aggregate import frame_cells
from channelab.spec import load_spec, parse_spec
from helpers import EXPERIMENTS, make_effect, mocked_sampling

#: Per arm, the joint probabilities of (engaged, meeting): (1, 1), (1, 0), (0, 1), (0, 0).
JOINT = {"control": (0.05, 0.15, 0.02, 0.78), "treatment": (0.09, 0.21, 0.02, 0.68)}
BODY = {
    "name": "joint",
    "unit": {"kind": "prospect"},
    "data": {"path": "rows.csv"},
    "arm_column": "arm",
    "control": "control",
    "arms": ["control", "treatment"],
    "metrics": [
        {"name": "engaged", "type": "binary", "role": "engagement"},
        {"name": "meeting", "type": "binary", "role": "outcome"},
    ],
    "seed": 3,
    "sampler": {"draws": 200, "tune": 200, "chains": 2, "backend": "pymc"},
}


def joint_rows(n_per_arm: int, seed: int) -> pd.DataFrame:
    """Units drawn from each arm's 2 × 2 table of (engaged, meeting), in two segments."""
    rng = np.random.default_rng(seed)
    frames = []
    for arm, probs in JOINT.items():
        kind = rng.choice(4, size=n_per_arm, p=probs)
        frames.append(
            pd.DataFrame(
                {
                    "arm": arm,
                    "segment": rng.choice(["a", "b"], n_per_arm),
                    "engaged": (kind <= 1).astype(int),
                    "meeting": ((kind == 0) | (kind == 2)).astype(int),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def closed_form(n_per_arm: int) -> tuple[np.ndarray, np.ndarray]:
    """The sampling covariance of (engaged, meeting) differences and of their log ratios."""
    diff, log = np.zeros((2, 2)), np.zeros((2, 2))
    for p11, p10, p01, _ in JOINT.values():
        pe, pm = p11 + p10, p11 + p01
        cov = np.array([[pe * (1 - pe), p11 - pe * pm], [p11 - pe * pm, pm * (1 - pm)]]) / n_per_arm
        diff += cov
        log += cov / np.outer([pe, pm], [pe, pm])
    return diff, log


def test_the_sampling_covariance_of_the_differences_is_the_closed_form():
    """(p_ab − p_a p_b)/n per arm, summed over the arms: not 0, not off by a factor."""
    n = 40_000
    cells = frame_cells(joint_rows(n, seed=1), parse_spec({**BODY, "covariates": ["segment"]}))
    diff, log = sampling_covariances(cells, "engaged", "meeting", ("treatment", "control"))
    truth_diff, truth_log = closed_form(n)
    assert diff is not None
    assert log is not None
    assert diff[0, 1] > 0.5 * truth_diff[0, 1]
    np.testing.assert_allclose(diff, truth_diff, rtol=0.06)
    np.testing.assert_allclose(log, truth_log, rtol=0.06)
    # the same pair asked the other way round gives the same numbers, transposed
    swapped, _ = sampling_covariances(cells, "meeting", "engaged", ("treatment", "control"))
    assert swapped is not None
    np.testing.assert_allclose(swapped, diff[::-1, ::-1])


def test_the_covariance_matches_that_of_repeated_experiments():
    """Over many simulated experiments, the estimates' own covariance is the one computed from one."""
    n, reps = 4_000, 20_000
    rng = np.random.default_rng(11)
    estimates = {}
    for arm, probs in JOINT.items():
        counts = rng.multinomial(n, probs, size=reps)  # columns (1, 1), (1, 0), (0, 1), (0, 0)
        estimates[arm] = np.stack([counts[:, 0] + counts[:, 1], counts[:, 0] + counts[:, 2]], axis=1) / n
    diffs = estimates["treatment"] - estimates["control"]
    logs = np.log(estimates["treatment"]) - np.log(estimates["control"])
    empirical_diff, empirical_log = np.cov(diffs.T), np.cov(logs.T)

    cells = frame_cells(joint_rows(n, seed=2), parse_spec(BODY))
    diff, log = sampling_covariances(cells, "engaged", "meeting", ("treatment", "control"))
    assert diff is not None
    assert log is not None
    # one experiment's estimate has its own sampling error (a few %); 0 or a factor of 2 fails
    np.testing.assert_allclose(diff, empirical_diff, rtol=0.2)
    np.testing.assert_allclose(log, empirical_log, rtol=0.2)
    r_diff, r_log = sampling_correlations(cells, "engaged", "meeting", ("treatment", "control"))
    assert r_diff == pytest.approx(np.corrcoef(diffs.T)[0, 1], abs=0.05)
    assert r_log == pytest.approx(np.corrcoef(logs.T)[0, 1], abs=0.05)


def test_reported_covariances_scale_the_correlation_by_the_posterior_sds():
    cells = frame_cells(joint_rows(3_000, seed=4), parse_spec(BODY))
    spec = parse_spec(BODY)
    r_diff, r_log = sampling_correlations(cells, "engaged", "meeting", ("treatment", "control"))
    assert r_diff is not None
    assert r_log is not None
    effects = [
        _with_sds(make_effect(arm="treatment", metric="engaged", role="engagement"), 0.02, 0.1),
        _with_sds(make_effect(arm="treatment", metric="meeting"), 0.01, 0.3),
    ]
    (cov,) = arm_covariances("treatment", effects, cells, spec)
    assert (cov.metric_a, cov.metric_b) == ("engaged", "meeting")
    assert cov.diff == pytest.approx(r_diff * 0.02 * 0.01)
    assert cov.loglift == pytest.approx(r_log * 0.1 * 0.3)
    matrix = np.array([[0.02**2, cov.diff], [cov.diff, 0.01**2]])
    assert np.all(np.linalg.eigvalsh(matrix) >= 0)  # a valid covariance

    undefined = [effects[0], _with_sds(make_effect(arm="treatment", metric="meeting"), 0.01, None)]
    (cov,) = arm_covariances("treatment", undefined, cells, spec)
    assert cov.diff == pytest.approx(r_diff * 0.02 * 0.01)
    assert cov.loglift is None
    assert scaled(None, 1.0, 1.0) is None
    assert scaled(0.0, 1.0, 1.0) == 0.0


def test_correlations_are_clipped_and_none_without_spread():
    rows = joint_rows(500, seed=5).assign(meeting=lambda d: d["engaged"])  # the same values
    cells = frame_cells(rows, parse_spec(BODY))
    r_diff, r_log = sampling_correlations(cells, "engaged", "meeting", ("treatment", "control"))
    assert r_diff == pytest.approx(1.0)
    assert r_log == pytest.approx(1.0)
    assert -1.0 <= r_diff <= 1.0
    flat = frame_cells(rows.assign(meeting=0), parse_spec(BODY))  # no meeting anywhere: no spread
    assert sampling_correlations(flat, "engaged", "meeting", ("treatment", "control")) == (None, None)


def test_a_share_and_its_outcome_per_unit_have_no_covariance_never_zero():
    body = {
        **BODY,
        "metrics": [
            {"name": "engaged", "type": "binary", "role": "engagement"},
            {"name": "meeting", "type": "binary", "role": "outcome", "denominator": "engaged"},
        ],
    }
    spec = parse_spec(body)
    rows = joint_rows(500, seed=6)
    cells = frame_cells(rows.assign(meeting=rows["meeting"] * rows["engaged"]), spec)
    effects = [
        _with_sds(make_effect(arm="treatment", metric="engaged", role="engagement"), 0.02, 0.1),
        _with_sds(make_effect(arm="treatment", metric="meeting", conditional=True), 0.01, 0.3),
        replace(
            _with_sds(make_effect(arm="treatment", metric="meeting_per_unit"), 0.01, 0.3),
            derived_from="meeting",
        ),
    ]
    covs = arm_covariances("treatment", effects, cells, spec)
    assert [(c.metric_a, c.metric_b) for c in covs] == [
        ("engaged", "meeting"),
        ("engaged", "meeting_per_unit"),
        ("meeting", "meeting_per_unit"),
    ]
    assert all(c.diff is None and c.loglift is None for c in covs)


def _with_sds(effect, diff_sd: float, loglift_sd: float | None):
    return replace(
        effect, diff_sd=diff_sd, loglift_sd=loglift_sd, loglift_mean=None if loglift_sd is None else 0.1
    )


def _analysis_json(spec):
    from channelab.pipeline import analyse
    from channelab.reporting.json_report import analysis_json

    with mocked_sampling():
        return json.loads(json.dumps(analysis_json(analyse(spec))))


def _joint_json(tmp_path):
    joint_rows(2_000, seed=7).to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "joint.yaml").write_text(yaml.safe_dump({**BODY, "covariates": ["segment"]}))
    return _analysis_json(load_spec(tmp_path / "joint.yaml"))


def test_the_json_carries_the_sds_log_lifts_and_covariances(tmp_path):
    """Prior draws in place of NUTS: the lift may be undefined, and then its log is null too."""
    doc = _joint_json(tmp_path)
    engaged, meeting = doc["effects"]
    for e in (engaged, meeting):
        assert e["diff_sd"] > 0
        assert (e["loglift"] is None) == (not e["lift"]["defined"])
        assert e["loglift"] is None or set(e["loglift"]) == {"mean", "sd"}
    (arm,) = doc["arms"]
    (cov,) = arm["covariances"]
    assert set(cov) == {"metric_a", "metric_b", "diff", "loglift"}
    assert (cov["metric_a"], cov["metric_b"]) == ("engaged", "meeting")
    assert 0 < cov["diff"] <= engaged["diff_sd"] * meeting["diff_sd"]
    assert (cov["loglift"] is None) == (engaged["loglift"] is None or meeting["loglift"] is None)


@pytest.mark.slow
def test_a_real_fit_reports_covariances_of_the_sampling_truth(tmp_path):
    """With NUTS the posterior sds are the sampling sds, so the covariance is near the closed form."""
    from channelab.pipeline import analyse
    from channelab.reporting.json_report import analysis_json

    joint_rows(2_000, seed=7).to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "joint.yaml").write_text(yaml.safe_dump(BODY))
    doc = json.loads(json.dumps(analysis_json(analyse(load_spec(tmp_path / "joint.yaml")))))
    engaged, meeting = doc["effects"]
    (cov,) = doc["arms"][0]["covariances"]
    truth_diff, truth_log = closed_form(2_000)
    assert engaged["diff_sd"] == pytest.approx(np.sqrt(truth_diff[0, 0]), rel=0.15)
    assert meeting["loglift"]["sd"] == pytest.approx(np.sqrt(truth_log[1, 1]), rel=0.15)
    assert cov["diff"] == pytest.approx(truth_diff[0, 1], rel=0.3)
    assert cov["loglift"] == pytest.approx(truth_log[0, 1], rel=0.3)


@pytest.mark.parametrize("name", ["crm_weekly_aggregated", "ubc_study1_published"])
def test_the_json_says_null_not_zero_where_the_data_hold_no_cross_products(name):
    doc = _analysis_json(load_spec(EXPERIMENTS / f"{name}.yaml"))
    covariances = [c for a in doc["arms"] for c in a["covariances"]]
    assert covariances
    assert all(c["diff"] is None and c["loglift"] is None for c in covariances)
    assert all(isinstance(e["diff_sd"], float) for e in doc["effects"])


def test_moments_pool_within_strata_over_the_clusters_of_an_arm():
    """Per arm, Σ over (segment) strata of the centred cross-products, over units less strata."""
    from channelab.analysis.covariance import arm_moments

    rows = joint_rows(600, seed=8)
    rows["rep"] = rows["arm"].str[0] + (np.arange(len(rows)) % 6).astype(str)  # clusters within arms
    spec = parse_spec(
        {**BODY, "unit": {"kind": "prospect", "randomised_by": "rep"}, "covariates": ["segment"]}
    )
    cells = frame_cells(rows, spec)
    assert cells.cluster_idx is not None
    pair = cells.pair("engaged", "meeting")
    assert pair is not None
    mom = arm_moments(cells, pair)
    for i, arm in enumerate(cells.arms):
        sub = rows[rows["arm"] == arm]
        centred = sub.groupby("segment")[["engaged", "meeting"]].transform(lambda s: s - s.mean())
        df = len(sub) - sub["segment"].nunique()
        assert mom.n_both[i] == len(sub)
        assert mom.cov[i] == pytest.approx((centred["engaged"] * centred["meeting"]).sum() / df)
        assert mom.var_a[i] == pytest.approx((centred["engaged"] ** 2).sum() / df)
