"""Weighting observational cohorts: the propensity formula, entropy balancing, IPW and overlap weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelab.cohort.balance import balance
from channelab.cohort.build import match_experiment
from channelab.cohort.propensity import design_matrix, entropy_weights, propensity_scores, separation
from channelab.cohort.weighting import entropy_formula, weigh
from channelab.engine.source import frame_source
from channelab.errors import DataError, SpecError
from channelab.simulate.observational import COVARIATES, simulate_channels, simulate_observational
from channelab.spec import parse_spec
from channelab.spec.formula import Formula, parse
from helpers import channels_spec, observational_spec


def _spec(method: str, **matching):
    return parse_spec(
        observational_spec(matching={"method": method, "covariates": list(COVARIATES), **matching})
    )


# ---- the formula ----------------------------------------------------------------------------


def test_formula_round_trips_and_lists_its_columns():
    text = "age + age^2 + log1p(re74) + zero(re74) + spline(age, 5) + black:re75 + `odd name`"
    f = parse(text)
    assert str(f) == text
    assert f.columns == ["age", "re74", "black", "re75", "odd name"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("age + exp(re74)", r"term 2 'exp\(re74\)': got the function 'exp'"),
        ("age^4", r"term 1 'age\^4': got the power 4, but expected 2 or 3"),
        ("age + + re74", r"term 2 is empty"),
        ("spline(age, 12)", r"a spline has 2 to 10 columns, got 12"),
        ("__import__('os').system('x')", r"term 1 .* is not a column"),
        ("age * re74", r"is not a column, a power \(x\^2\), an interaction \(a:b\)"),
    ],
)
def test_formula_outside_the_language_is_refused_naming_the_term(text, message):
    with pytest.raises(ValueError, match=message):
        parse(text)


def test_spec_refuses_a_bad_formula_and_contradicting_settings():
    with pytest.raises(SpecError, match=r"matching\.propensity: .*got the function 'eval'"):
        _spec("ipw", propensity="eval(age)")
    with pytest.raises(SpecError, match=r"matching\.propensity: 'income' is not a matching covariate"):
        _spec("ipw", propensity="age + income")
    with pytest.raises(SpecError, match=r"matching\.estimand: nearest estimates the effect on the treated"):
        _spec("nearest", estimand="ate")
    with pytest.raises(SpecError, match=r"matching\.exact: weighting balances every covariate"):
        _spec("entropy", exact=["black"])


def test_design_matrix_builds_each_factor_and_drops_redundant_columns():
    rows = pd.DataFrame(
        {
            "x": [0.0, 1.0, 2.0, 0.0, 5.0, 9.0, 3.0, 0.0],
            "b": [0, 1, 0, 1, 1, 0, 1, 0],
            "g": list("aabbccab"),
        }
    )
    rows = pd.concat([rows, rows.assign(x=rows["x"] + 0.5)], ignore_index=True)  # more units than columns
    f = parse("x + log1p(x) + zero(x) + b + b^2 + g + g:x + spline(x, 4)")
    m = design_matrix(rows, f, where="t")
    assert "b^2" not in m.columns  # a 0/1 column's square is itself
    np.testing.assert_allclose(m["log1p(x)"], np.log1p(rows["x"]))
    np.testing.assert_array_equal(m["zero(x)"], (rows["x"] == 0).astype(float))
    np.testing.assert_array_equal(m["g=b:x"], (rows["g"] == "b") * rows["x"])
    assert "g=a" not in m.columns  # the first level is the reference
    assert np.linalg.matrix_rank(np.column_stack([np.ones(len(m)), m])) == m.shape[1] + 1
    with pytest.raises(DataError, match=r"log1p\(g\) in the propensity formula needs numbers"):
        design_matrix(rows, parse("log1p(g)"), where="t")
    with pytest.raises(DataError, match=r"names column\(s\) not in the data: \['nope'\]"):
        design_matrix(rows, parse("nope"), where="t")


# ---- the weights ----------------------------------------------------------------------------


def test_entropy_weights_hit_the_target_and_stay_uniform_when_already_there():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(500, 3))
    w, gap = entropy_weights(x, np.array([0.3, -0.2, 0.1]))
    assert gap < 1e-8
    np.testing.assert_allclose(w @ x, [0.3, -0.2, 0.1], atol=1e-8)
    assert w.sum() == pytest.approx(1.0)
    uniform, _ = entropy_weights(x, x.mean(axis=0))
    np.testing.assert_allclose(uniform, 1 / 500, rtol=1e-6)
    _, unreachable = entropy_weights(x, np.array([10.0, 0.0, 0.0]))  # beyond every control
    assert unreachable > 1e-3


def test_ipw_and_overlap_weights_follow_their_formulas():
    rows, _ = simulate_observational("moderate", seed=2)
    treated = rows["program"] == "treated"
    f = Formula.main_effects(list(COVARIATES))
    ipw = weigh(rows, id_column="unit_id", group=treated, formula=f, method="ipw").units
    e = ipw["propensity"].to_numpy()
    t = ipw["treated"].to_numpy()
    np.testing.assert_allclose(ipw["weight"], np.where(t, 1.0, e / (1 - e)))
    ate = weigh(rows, id_column="unit_id", group=treated, formula=f, method="ipw", estimand="ate").units
    np.testing.assert_allclose(ate["weight"], np.where(t, 1 / e, 1 / (1 - e)))
    overlap = weigh(rows, id_column="unit_id", group=treated, formula=f, method="overlap").units
    np.testing.assert_allclose(overlap["weight"], np.where(t, 1 - e, e))
    # the logistic score equations make overlap weights balance every covariate's mean exactly
    x = design_matrix(rows.sort_values("unit_id"), f, where="t").to_numpy()
    w = overlap["weight"].to_numpy()
    gap = np.average(x[t], axis=0, weights=w[t]) - np.average(x[~t], axis=0, weights=w[~t])
    np.testing.assert_allclose(gap / x.std(axis=0), 0, atol=1e-6)


def test_trim_drops_units_outside_the_band_and_lists_the_treated():
    rows, _ = simulate_observational("psid", seed=3)
    treated = rows["program"] == "treated"
    f = Formula.main_effects(list(COVARIATES))
    m = weigh(rows, id_column="unit_id", group=treated, formula=f, method="ipw", trim=0.1)
    e, w = m.units["propensity"], m.units["weight"]
    assert ((w == 0) == ((e < 0.1) | (e > 0.9))).all()
    outside = (e < 0.1) | (e > 0.9)
    assert len(m.dropped) == int((outside & m.units["treated"]).sum())


def test_entropy_balancing_balances_means_and_variances_where_matching_cannot():
    rows, _ = simulate_observational("psid", seed=4)
    treated = rows["program"] == "treated"
    f = entropy_formula(rows, list(COVARIATES))
    assert "re74^2" in str(f)
    assert "black^2" not in str(f)
    m = weigh(rows, id_column="unit_id", group=treated, formula=f, method="entropy")
    weights = m.units.set_index("unit_id")["weight"].reindex(rows["unit_id"]).to_numpy()
    after = balance(rows, treated, weights, list(COVARIATES))
    before = balance(rows, treated, None, list(COVARIATES))
    assert before["smd"].abs().max() > 1.5  # the pool is very different
    assert after["smd"].abs().max() < 1e-4
    numbers = after[after["level"] == ""]
    np.testing.assert_allclose(numbers["variance_ratio"], 1.0, rtol=0.02)  # variances too
    assert (m.units.loc[m.units["treated"], "weight"] == 1).all()


def test_separation_measures_how_well_the_score_tells_the_groups_apart():
    t = np.array([True] * 4 + [False] * 4)
    perfect = separation(np.array([0.9, 0.8, 0.7, 0.6, 0.1, 0.2, 0.3, 0.4]), t)
    assert perfect.auc == 1.0
    assert perfect.beyond == 1.0
    assert perfect.near_perfect
    none = separation(np.full(8, 0.5), t)
    assert none.auc == 0.5
    assert none.beyond == 0.0
    assert not none.near_perfect


def test_multinomial_scores_sum_to_one_per_unit():
    rng = np.random.default_rng(1)
    x = pd.DataFrame({"a": rng.normal(size=900), "b": rng.normal(size=900)})
    group = rng.integers(0, 3, 900)
    p = propensity_scores(x, group, n_groups=3)
    assert p.shape == (900, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


# ---- the experiment's gate -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["nearest", "cem", "ipw", "overlap", "entropy"])
def test_groups_that_do_not_overlap_are_refused_with_the_reason(method):
    rows, _ = simulate_observational("no_overlap", seed=1)
    with pytest.raises(DataError, match=r"do not overlap|differ too much to compare honestly"):
        match_experiment(frame_source(rows), _spec(method))


def test_entropy_passes_the_gate_on_a_hard_pool_that_nearest_matching_fails():
    rows, _ = simulate_observational("psid", seed=1)
    with pytest.raises(DataError, match=r"still imbalanced .* Try entropy balancing"):
        match_experiment(frame_source(rows), _spec("nearest"))
    result = match_experiment(frame_source(rows), _spec("entropy"))
    assert result.estimand == "ATT"
    assert result.weighted
    assert result.after["smd"].abs().max() < 1e-4
    assert 20 <= result.effective(treated=False) < result.matched.units["treated"].eq(False).sum()


def test_too_few_effective_controls_are_refused():
    rows, _ = simulate_observational("psid", seed=1)
    with pytest.raises(DataError, match=r"rests on [\d.]+ effective untreated units .* fewer than"):
        match_experiment(frame_source(rows), _spec("entropy", min_effective=5000))


def test_estimands_follow_the_method():
    rows, _ = simulate_observational("moderate", seed=1)
    assert match_experiment(frame_source(rows), _spec("overlap")).estimand == "ATO"
    ate = _spec("ipw", estimand="ate", accept_imbalance=True, min_effective=1)
    assert match_experiment(frame_source(rows), ate).estimand == "ATE"
    assert _spec("entropy").target_arms == ("treated",)
    assert _spec("overlap").target_arms == ()
    assert _spec("ipw", estimand="ate").target_arms == ()


# ---- more than two arms ---------------------------------------------------------------------


def _channels_spec(method: str, **matching):
    return parse_spec(channels_spec(matching={"method": method, "covariates": ["x1", "x2"], **matching}))


def test_matching_more_than_two_arms_is_refused_pointing_to_weighting():
    with pytest.raises(SpecError, match=r"arms: matching pairs .* weight them \(matching\.method: entropy"):
        _channels_spec("nearest")


@pytest.mark.parametrize("method", ["entropy", "ipw"])
def test_every_channel_is_balanced_against_the_untreated(method):
    rows, _ = simulate_channels(6000, seed=5)
    result = match_experiment(frame_source(rows), _channels_spec(method))
    assert set(result.after["arm"]) == {"email", "social"}
    assert set(result.effective_sizes) == {"none", "email", "social"}
    before = result.before.groupby("arm")["smd"].apply(lambda s: s.abs().max())
    after = result.after.groupby("arm")["smd"].apply(lambda s: s.abs().max())
    assert (before > 0.3).all()  # each channel reached other accounts
    assert (after < (1e-4 if method == "entropy" else 0.1)).all()


def test_a_treated_arm_reweighted_to_a_handful_is_refused():
    """ate reweights the treated too: 300 treated standing for a pool of 5,000 rest on a few of them."""
    rows, _ = simulate_observational("moderate", seed=1)
    with pytest.raises(DataError, match=r"rests on [\d.]+ effective units of treated"):
        match_experiment(frame_source(rows), _spec("ipw", estimand="ate", accept_imbalance=True))


def test_cli_match_shows_balance_per_channel(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from channelab.cli import app

    rows, _ = simulate_channels(3000, seed=2)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(channels_spec("rows.csv")))
    result = CliRunner().invoke(app, ["match", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "c.csv")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "estimand: the effect on the treated (ATT)" in text
    assert "email" in text
    assert "social" in text
    assert (pd.read_csv(tmp_path / "c.csv")["weight"] > 0).all()


def test_the_design_is_counted_from_the_terms_and_the_levels_before_it_is_built(monkeypatch):
    from channelab.cohort import propensity

    rng = np.random.default_rng(4)
    rows = pd.DataFrame(
        {"x": rng.normal(size=300), "z": rng.normal(size=300), "g": rng.choice(list("abcde"), 300)}
    )
    f = parse("x + g + g:x + spline(x, 6) + spline(x, 4):spline(z, 3):g + zero(x) + x^2")
    assert f.widths({"x": None, "z": None, "g": 5}) == [1, 4, 4, 6, 48, 1, 1]
    monkeypatch.setattr(propensity, "_independent", lambda x: np.arange(x.shape[1]))  # keep every column
    assert design_matrix(rows, f, where="t").shape[1] == 65

    def never(*args, **kwargs):
        raise AssertionError("built a column of a design that is refused")

    monkeypatch.setattr(propensity, "_factor_columns", never)
    wide = pd.DataFrame({f"c{k}": [f"L{(j * s) % 40}" for j in range(2000)] for k, s in enumerate((1, 3, 7))})
    with pytest.raises(DataError, match=r"'c0:c1:c2' would make 59,319 design columns .*39 × 39 × 39"):
        design_matrix(wide, parse("c0:c1:c2"), where="t")
    with pytest.raises(DataError, match=r"would make 78 design columns.*more than the 50 units"):
        design_matrix(wide.head(50), parse("c0 + c1"), where="t")


def test_a_term_of_splines_too_wide_is_refused_when_parsed():
    assert parse("spline(a, 10):spline(b, 10):spline(c, 10)").widths({}) == [1000]
    with pytest.raises(ValueError, match=r"term 2 .* makes 10,000 columns .* at most 1,000"):
        parse("a + spline(a, 10):spline(b, 10):spline(c, 10):spline(d, 10)")


def test_a_design_too_slow_to_fit_on_its_units_is_refused():
    from channelab.cohort.propensity import check_design_size

    rng = np.random.default_rng(5)
    rows = pd.DataFrame({"a": rng.normal(size=20_000), "b": rng.normal(size=20_000)})
    check_design_size(rows, parse("spline(a, 10):spline(b, 10)"), where="t")  # 100 columns: fine
    with pytest.raises(DataError, match=r"300 design columns for 20,000 units.*at most 223 columns"):
        check_design_size(rows, parse("spline(a, 10):spline(b, 10):spline(a, 3)"), where="t")
    check_design_size(rows, parse("spline(a, 10):spline(b, 10)"), where="t", arms=2)
    with pytest.raises(DataError, match=r"20,000 units in 4 arms allow at most 74 columns"):
        check_design_size(rows, parse("spline(a, 10):spline(b, 10)"), where="t", arms=3)
