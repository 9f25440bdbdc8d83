"""Matching on confounded data: the naive comparison is biased, the matched one is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from channelab.cohort.balance import balance
from channelab.cohort.build import effective_weights
from channelab.cohort.matching import match

TRUE_LIFT = 0.10  # social selling raises meetings 10 % among the accounts that got it


def _confounded(n: int = 20_000, seed: int = 1) -> tuple[pd.DataFrame, pd.Series]:
    """Reps pick already-engaged accounts: engagement raises both treatment and meetings.

    Column ``expected`` is each account's true mean number of meetings (noise-free).
    """
    return _simulate(n, seed)


def _simulate(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    engagement = rng.normal(0, 1, n)
    size = rng.choice(["smb", "mid", "enterprise"], n, p=[0.5, 0.3, 0.2])
    big = (size == "enterprise").astype(float)
    treated = rng.random(n) < expit(-1.2 + 1.0 * engagement + 0.6 * big)
    mu = np.exp(-1.0 + 0.5 * engagement + 0.3 * big + np.log1p(TRUE_LIFT) * treated)
    rows = pd.DataFrame(
        {
            "account_id": [f"A{i:06d}" for i in range(n)],
            "engagement": engagement,
            "size": size,
            "meetings": rng.poisson(mu),
            "expected": mu,
        }
    )
    return rows, pd.Series(treated)


def _lift(rows: pd.DataFrame, treated: pd.Series, weights: np.ndarray, column: str = "meetings") -> float:
    t = treated.to_numpy()
    y = rows[column].to_numpy(dtype=float)
    return float(np.average(y[t], weights=weights[t]) / np.average(y[~t], weights=weights[~t]) - 1)


@pytest.mark.parametrize(
    ("method", "options"),
    [("nearest", {}), ("nearest", {"replace": True, "ratio": 2}), ("cem", {"bins": 8})],
)
def test_matching_removes_selection_bias(method, options):
    rows, treated = _confounded()
    naive = _lift(rows, treated, np.ones(len(rows)))
    assert naive > 0.5  # selection on engagement, not the channel, drives most of it
    m = match(
        rows,
        id_column="account_id",
        treated=treated,
        covariates=["engagement", "size"],
        method=method,
        **options,
    )
    aligned = m.units.set_index("account_id").loc[rows["account_id"], "weight"].to_numpy()
    # noise-free: the matched controls' true means, against the treated's (which include the lift)
    assert _lift(rows, treated, aligned, "expected") == pytest.approx(TRUE_LIFT, abs=0.06)
    assert _lift(rows, treated, aligned) == pytest.approx(TRUE_LIFT, abs=0.15)  # plus Poisson noise
    before = balance(rows, treated, None, ["engagement", "size"])
    after = balance(rows, treated, aligned, ["engagement", "size"])
    assert (after["smd"].abs() < before["smd"].abs()).all()
    assert after["smd"].abs().max() < 0.1


def test_caliper_drops_treated_without_a_close_control():
    rows, treated = _confounded(n=4000)
    tight = match(
        rows, id_column="account_id", treated=treated, covariates=["engagement", "size"], caliper=0.001
    )
    loose = match(
        rows, id_column="account_id", treated=treated, covariates=["engagement", "size"], caliper=None
    )
    assert len(tight.dropped) > len(loose.dropped)
    matched = loose.matched
    # without replacement every control is used once, and 1:1 weights are all 1
    assert (matched["weight"] == 1).all()
    assert matched["treated"].sum() == (~matched["treated"]).sum()


def test_exact_matching_pairs_identical_strata():
    rows, treated = _confounded(n=3000)
    m = match(rows, id_column="account_id", treated=treated, covariates=["size"], method="exact")
    used = m.matched.merge(rows, on="account_id")
    assert (used.groupby("subclass")["size"].nunique() == 1).all()
    for _, group in used.groupby("subclass"):
        t = group[group["treated"]]
        c = group[~group["treated"]]
        assert len(t)
        assert len(c)
    w_c = m.matched.loc[~m.matched["treated"], "weight"]
    assert w_c.sum() == pytest.approx(len(w_c))  # control weights sum to the matched controls


def test_result_does_not_depend_on_row_order():
    rows, treated = _confounded(n=3000)
    first = match(rows, id_column="account_id", treated=treated, covariates=["engagement", "size"])
    shuffled = np.random.default_rng(0).permutation(len(rows))
    second = match(
        rows.iloc[shuffled],
        id_column="account_id",
        treated=treated.iloc[shuffled],
        covariates=["engagement", "size"],
    )
    pd.testing.assert_frame_equal(first.units, second.units)


@pytest.mark.parametrize("ratio", [1, 3])
def test_fast_greedy_matching_equals_a_brute_force_search(ratio):
    """The union-find pool (fast on 100,000 units, see benchmarks/) picks what a plain scan picks."""
    rows, treated = _confounded(n=3000, seed=5)
    m = match(rows, id_column="account_id", treated=treated, covariates=["engagement", "size"], ratio=ratio)
    p = m.units["propensity"].to_numpy()
    logit = np.log(p / (1 - p))
    width = 0.2 * np.std(logit, ddof=1)
    t = m.units["treated"].to_numpy()
    free = set(np.flatnonzero(~t))
    expected = np.zeros(len(t))
    for i in sorted(np.flatnonzero(t), key=lambda i: -logit[i]):
        found = []
        for _ in range(ratio):
            near = [j for j in free if abs(logit[j] - logit[i]) <= width]
            if not near:
                break
            j = min(near, key=lambda j: abs(logit[j] - logit[i]))
            free.remove(j)
            found.append(j)
        if found:
            expected[i] = 1.0
            expected[found] += 1.0 / len(found)
    np.testing.assert_allclose(m.units["weight"].to_numpy(), expected)


def test_effective_weights_count_a_reused_control_once():
    rows, treated = _confounded(n=4000, seed=6)
    m = match(rows, id_column="account_id", treated=treated, covariates=["engagement", "size"], replace=True)
    w, t = m.units["weight"].to_numpy(), m.units["treated"].to_numpy()
    assert w[~t].max() > 1  # some controls serve several treated units
    eff = effective_weights(w, t)
    kish = w[~t].sum() ** 2 / np.square(w[~t]).sum()
    assert eff[~t].sum() == pytest.approx(kish)  # the controls count as their effective number
    y = rows.set_index("account_id").loc[m.units["account_id"], "meetings"].to_numpy(dtype=float)
    assert np.average(y[~t], weights=eff[~t]) == pytest.approx(np.average(y[~t], weights=w[~t]))
    np.testing.assert_array_equal(eff[t], w[t])  # treated weights (1 or 0) unchanged
    # 2:1 without replacement, every treated unit matched: each control is its own account
    pairs = effective_weights(np.array([1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.0]), np.arange(7) < 2)
    np.testing.assert_allclose(pairs, [1, 1, 1, 1, 1, 1, 0])


# ---- the whole flow ---------------------------------------------------------------------------


def _matched_spec(tmp_path, rows: pd.DataFrame, treated: pd.Series, **matching):
    import yaml

    from channelab.spec.loader import load_spec

    data = rows.drop(columns=["expected"]).assign(channel=np.where(treated, "social", "none"))
    data["size_band"] = data["size"]
    data.to_csv(tmp_path / "crm.csv", index=False)
    spec = {
        "name": "matched",
        "design": "matched",
        "unit": {"kind": "account", "id": "account_id"},
        "data": {"path": "crm.csv"},
        "arm_column": "channel",
        "control": "none",
        "arms": {"none": {"channel": "control"}, "social": {"channel": "social"}},
        "metrics": [{"name": "meetings", "role": "outcome", "type": "count"}],
        "covariates": ["size_band"],
        "matching": {"covariates": ["engagement", "size"], **matching},
        "seed": 4,
        "sampler": {"draws": 500, "tune": 500, "chains": 2},
    }
    (tmp_path / "matched.yaml").write_text(yaml.safe_dump(spec))
    return load_spec(tmp_path / "matched.yaml")


@pytest.mark.slow
def test_matched_design_recovers_the_effect_on_the_treated(tmp_path):
    from channelab.pipeline import analyse

    rows, treated = _confounded(n=8000, seed=3)
    result = analyse(_matched_spec(tmp_path, rows, treated))
    assert result.matching is not None
    assert result.matching.after["smd"].abs().max() < 0.1
    lift = result.effects.get("social", "meetings").lift
    assert lift.lower <= TRUE_LIFT <= lift.upper
    naive = _lift(rows, treated, np.ones(len(rows)))
    assert not lift.lower <= naive <= lift.upper  # the naive +60 % is far outside


def test_balance_gate_names_the_covariates(tmp_path):
    from channelab.errors import DataError
    from channelab.pipeline import validate

    rows, treated = _confounded(n=3000, seed=4)
    spec = _matched_spec(tmp_path, rows, treated, method="exact", covariates=["size"])
    spec = spec.model_copy(
        update={
            "matching": spec.matching.model_copy(
                update={"covariates": ["engagement"], "exact": ["size"], "method": "exact"}
            )
        }
    )
    with pytest.raises(DataError, match=r"still imbalanced beyond \|SMD\| 0\.1: engagement \(SMD \+"):
        validate(spec)
    accepted = spec.model_copy(
        update={"matching": spec.matching.model_copy(update={"accept_imbalance": True})}
    )
    assert validate(accepted).matching.imbalanced["covariate"].tolist() == ["engagement"]


def test_cli_match_writes_the_cohort_with_weights(tmp_path):
    from typer.testing import CliRunner

    from channelab.cli import app

    rows, treated = _confounded(n=3000, seed=6)
    _matched_spec(tmp_path, rows, treated)
    result = CliRunner().invoke(
        app, ["match", str(tmp_path / "matched.yaml"), "--out", str(tmp_path / "m.csv")]
    )
    assert result.exit_code == 0, result.output
    assert "estimand: the effect on the treated (ATT)" in " ".join(result.output.split())
    cohort = pd.read_csv(tmp_path / "m.csv")
    assert set(cohort.columns) >= {"account_id", "treated", "weight", "subclass"}
    assert (cohort["weight"] > 0).all()


def test_dropped_treated_are_counted_by_segment(tmp_path):
    from channelab.pipeline import validate

    rows, treated = _confounded(n=3000, seed=8)
    spec = _matched_spec(tmp_path, rows, treated, caliper=0.02, accept_imbalance=True)
    result = validate(spec).matching
    lost = result.dropped_by(["engagement", "size"])
    assert set(lost["covariate"]) == {"size"}  # a continuous covariate has no segments
    assert lost["dropped"].sum() == len(result.matched.dropped) > 0
    assert lost["treated"].sum() == int(treated.sum())


@pytest.mark.slow
def test_matched_example_report_recovers_the_simulated_truth(tmp_path):
    """The committed example: naive meetings +60 % is selection; matched, the truth (+0 %) is covered."""
    import json

    from pypdf import PdfReader

    from channelab.app import run_experiment
    from helpers import DATA, EXPERIMENTS

    report = run_experiment(EXPERIMENTS / "matched_social_selling.yaml", out_dir=tmp_path)
    analysis, pdf, out = report.analysis, report.pdf, report.json
    truth = json.loads((DATA / "matched_social_selling.truth.json").read_text())
    for metric in ("likes_comments", "meetings"):
        lift = analysis.effects.get("social", metric).lift
        assert lift.lower <= truth["att"][metric] <= lift.upper, metric
        assert not lift.lower <= truth["naive"][metric] <= lift.upper, metric
    assert analysis.effects.arms[0].verdict != "real lift"  # no meetings lift, whatever the likes do
    report = json.loads(out.read_text())
    assert report["design"] == "matched"
    assert max(abs(r["smd_after"]) for r in report["matching"]["balance"]) <= 0.1
    assert "effect on the treated" in " ".join(PdfReader(pdf).pages[0].extract_text().split()).lower()


def test_cem_bins_follow_the_treated_on_a_skewed_zero_inflated_covariate():
    """Earnings zero for many, long-tailed for the rest, with treated poorer than the pool.

    Equal-width bins lump most treated units into the first bin, so the SMD barely moves; bins
    at the treated units' quantiles give zero a stratum of its own and remove most of the gap
    (what is left within bins is for an outcome model to adjust).
    """
    rng = np.random.default_rng(12)
    n_t, n_c = 300, 6000
    earnings = np.concatenate(
        [
            np.where(rng.random(n_t) < 0.6, 0.0, rng.lognormal(8.0, 1.0, n_t)),
            np.where(rng.random(n_c) < 0.1, 0.0, rng.lognormal(9.5, 1.0, n_c)),
        ]
    )
    rows = pd.DataFrame({"id": np.arange(n_t + n_c), "earnings": np.round(earnings, 2)})
    treated = pd.Series(np.arange(n_t + n_c) < n_t)
    m = match(rows, id_column="id", treated=treated, covariates=["earnings"], method="cem", bins=5)
    aligned = m.units.set_index("id").loc[rows["id"], "weight"].to_numpy()
    kept = aligned[treated.to_numpy()] > 0
    assert kept.mean() > 0.95  # every treated stratum has controls
    zero = rows["earnings"].to_numpy() == 0
    strata = m.units.set_index("id").loc[rows["id"], "subclass"].to_numpy()
    assert len(set(strata[zero & treated.to_numpy()])) == 1  # zero earnings: one stratum
    assert set(strata[zero]) & set(strata[~zero]) == set()  # of its own
    equal_width = rows.assign(band=pd.cut(rows["earnings"], bins=5, labels=False, include_lowest=True))
    old = match(equal_width, id_column="id", treated=treated, covariates=["band"], method="exact")
    old_weights = old.units.set_index("id").loc[rows["id"], "weight"].to_numpy()
    smd = {
        k: balance(rows, treated, w, ["earnings"])["smd"].abs().max()
        for k, w in (("before", None), ("equal width", old_weights), ("quantiles", aligned))
    }
    assert smd["before"] > 3  # the treated earn far less
    assert smd["equal width"] > 2  # equal-width bins hardly help
    assert smd["quantiles"] < 0.3 * smd["equal width"]
    assert smd["quantiles"] < 1
