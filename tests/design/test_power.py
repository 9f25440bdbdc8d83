"""Frequentist planning against published tables and closed forms.

Published values: Cohen J. (1988), *Statistical Power Analysis for the Behavioral Sciences*,
2nd ed.: Table 2.4.1 (two-sample t-test, n per group) and Table 6.4.1 (two proportions via
Cohen's h, n per group), both for alpha = 0.05 two-sided.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from channelab.design.baselines import resolve_baselines
from channelab.design.power import EffectSize, design_effect, plan_power
from channelab.errors import DataError, SpecError
from channelab.spec import Baseline, parse_spec

Z = norm.ppf


def _spec(metrics, *, arms=None, tmp_path=None, adjust=(), **plan):
    raw = {
        "name": "plan",
        "data": {"path": "rows.csv"},
        "arm_column": "arm",
        "control": "control",
        "arms": arms or {"control": {}, "treatment": {}},
        "metrics": metrics,
        "adjust": list(adjust),
        "plan": plan,
    }
    if tmp_path is not None:
        path = tmp_path / "plan.yaml"
        import yaml

        path.write_text(yaml.safe_dump(raw))
        from channelab.spec.loader import load_spec

        return load_spec(path)
    return parse_spec(raw)


def _plan(metric_type, baseline, **plan):
    role = "revenue" if metric_type == "revenue" else "outcome"
    spec = _spec([{"name": "y", "role": role, "type": metric_type}], baselines={"y": baseline}, **plan)
    return plan_power(spec, resolve_baselines(spec).values)


def _lift_for_h(p0: float, h: float) -> float:
    """The relative lift whose Cohen's h from p0 is h: 2 asin sqrt(p1) - 2 asin sqrt(p0) = h."""
    return math.sin(math.asin(math.sqrt(p0)) + h / 2) ** 2 / p0 - 1


def test_two_proportions_match_cohens_table_6_4_1():
    # h = 0.20, power 0.80: n = 392 per group; h = 0.50: n = 63 (Cohen's table rounds to nearest)
    for h, table in ((0.2, 392), (0.5, 63)):
        plan = _plan("binary", {"mean": 0.5}, target_lift=_lift_for_h(0.5, h), power=[0.8])
        assert abs(plan.metrics[0].n_control[0.8] - table) <= 1


def test_continuous_matches_cohens_table_2_4_1():
    # d = 0.5: n = 64 per group at power 0.80 and 86 at 0.90 (two-sample t-test)
    plan = _plan("continuous", {"mean": 10.0, "sd": 10.0}, target_lift=0.5, power=[0.8, 0.9])
    assert plan.metrics[0].n_control == {0.8: 64, 0.9: 86}
    assert plan.metrics[0].n_total == {0.8: 128, 0.9: 172}


def test_negative_binomial_counts_match_the_closed_form():
    # n = (z_{1-a/2} + z_{1-b})^2 (1/mu0 + 1/mu1 + 2 phi) / log(mu1/mu0)^2 (Zhu & Lakkis 2014)
    for mu, phi, lift in ((0.15, 0.1, 0.2), (2.0, 0.0, 0.1), (0.5, 1.5, 0.3)):
        plan = _plan("count", {"mean": mu, "overdispersion": phi}, target_lift=lift, power=[0.9])
        expected = (
            (Z(0.975) + Z(0.9)) ** 2 * (1 / mu + 1 / (mu * (1 + lift)) + 2 * phi) / math.log1p(lift) ** 2
        )
        assert plan.metrics[0].n_control[0.9] == math.ceil(expected)


def test_revenue_uses_the_hurdle_moments():
    share, amount, s = 0.02, 20_000.0, 1.0
    plan = _plan(
        "revenue", {"share": share, "amount": amount, "amount_sd_log": s}, target_lift=0.25, power=[0.8]
    )
    mean = share * amount
    var = share * amount**2 * math.exp(s**2) - mean**2
    expected = 2 * (Z(0.975) + Z(0.8)) ** 2 * var / (0.25 * mean) ** 2
    assert plan.metrics[0].n_control[0.8] == math.ceil(expected)
    assert plan.metrics[0].unit_sd == pytest.approx(math.sqrt(var))


@pytest.mark.parametrize(
    ("metric_type", "baseline"),
    [
        ("binary", {"mean": 0.08}),
        ("count", {"mean": 0.3, "overdispersion": 0.4}),
        ("revenue", {"share": 0.05, "amount": 900.0}),
        ("continuous", {"mean": 50.0, "sd": 30.0}),
    ],
)
def test_mde_at_the_planned_n_has_the_planned_power(metric_type, baseline):
    plan = _plan(metric_type, baseline, n=6000, power=[0.8, 0.9])
    mp = plan.metrics[0]
    for p, mde in mp.mde.items():
        assert plan.power_at("y", [mde])[0] == pytest.approx(p, abs=1e-4)
    assert mp.mde[0.9] > mp.mde[0.8]
    size = EffectSize.from_baseline(metric_type, Baseline(**baseline))
    assert size.lift(size.d(0.37)) == pytest.approx(0.37)


def test_several_arms_split_alpha_and_unequal_shares_set_the_ratio():
    metrics = [{"name": "y", "role": "outcome", "type": "binary"}]
    one = plan_power(_spec(metrics, baselines={"y": {"mean": 0.1}}, power=[0.8]), {"y": Baseline(mean=0.1)})
    arms = {"control": {"share": 2}, "a": {"share": 1}, "b": {"share": 1}, "c": {"share": 1}}
    spec = _spec(metrics, arms=arms, baselines={"y": {"mean": 0.1}}, power=[0.8])
    three = plan_power(spec, {"y": Baseline(mean=0.1)})
    assert three.comparisons == 3
    assert three.alpha_per_comparison == pytest.approx(0.05 / 3)
    # the control holds 2/5 of the units and each treatment 1/5: ratio 1/2 in the z-test
    h = abs(2 * math.asin(math.sqrt(0.11)) - 2 * math.asin(math.sqrt(0.1)))
    n_control = (Z(1 - 0.05 / 6) + Z(0.8)) ** 2 * (1 + 1 / 0.5) / h**2
    assert three.metrics[0].n_control[0.8] == math.ceil(n_control)
    assert three.metrics[0].n_total[0.8] == math.ceil(math.ceil(n_control) / 0.4)
    assert three.metrics[0].n_control[0.8] > one.metrics[0].n_control[0.8]
    unadjusted = plan_power(
        spec.model_copy(update={"plan": spec.plan.model_copy(update={"multiplicity": "none"})}),
        {"y": Baseline(mean=0.1)},
    )
    assert unadjusted.alpha_per_comparison == 0.05


def test_design_effect_and_cluster_designs():
    assert design_effect(20, 0.05) == pytest.approx(1.95)  # Kish: 1 + (m - 1) ICC
    assert design_effect(20, 0.05, cv=0.5) == pytest.approx(2.2)  # Eldridge et al. 2006
    metrics = [{"name": "y", "role": "outcome", "type": "binary"}]
    flat = plan_power(_spec(metrics, baselines={"y": {"mean": 0.1}}, n=10_000), {"y": Baseline(mean=0.1)})
    raw_cluster = _spec(metrics, baselines={"y": {"mean": 0.1}}, n=10_000, cluster_size=20, icc=0.05)
    spec = raw_cluster.model_copy(
        update={"unit": raw_cluster.unit.model_copy(update={"randomised_by": "rep"})}
    )
    clustered = plan_power(spec, {"y": Baseline(mean=0.1)})
    f, c = flat.metrics[0], clustered.metrics[0]
    assert c.design_effect == pytest.approx(1.95)
    assert c.n_control[0.8] == pytest.approx(f.n_control[0.8] * 1.95, abs=1)
    assert c.mde[0.8] > f.mde[0.8]
    no_icc = spec.model_copy(update={"plan": spec.plan.model_copy(update={"icc": None})})
    with pytest.raises(SpecError, match=r"plan\.cluster_size and plan\.icc"):
        plan_power(no_icc, {"y": Baseline(mean=0.1)})


def test_duration_in_weeks():
    plan = _plan("binary", {"mean": 0.1}, units_per_week=1000, power=[0.8])
    mp = plan.metrics[0]
    assert mp.weeks == {0.8: math.ceil(mp.n_total[0.8] / 1000)}


def test_missing_or_incomplete_baselines_say_what_to_add():
    metrics = [{"name": "meetings", "role": "outcome", "type": "count"}]
    spec = _spec(metrics)
    with pytest.raises(
        SpecError, match=r"no baseline for metric 'meetings'.*plan\.baselines\.meetings \(mean\)"
    ):
        plan_power(spec, resolve_baselines(spec).values)
    spec = _spec([{"name": "r", "role": "revenue", "type": "revenue"}], baselines={"r": {"share": 0.1}})
    with pytest.raises(SpecError, match=r"plan\.baselines\.r: a revenue metric needs amount"):
        plan_power(spec, resolve_baselines(spec).values)
    with pytest.raises(
        SpecError, match=r"plan\.baselines: 'meetngs' is not a metric; did you mean 'meetings'"
    ):
        _spec(metrics, baselines={"meetngs": {"mean": 1.0}})


# ---- baselines from a pilot ------------------------------------------------------------------


def _pilot(tmp_path, rows: pd.DataFrame, metrics, **plan):
    rows.to_csv(tmp_path / "pilot.csv", index=False)
    return _spec(metrics, tmp_path=tmp_path, pilot={"path": "pilot.csv"}, **plan)


def test_expected_r_squared_scales_the_sample_size_and_the_mde():
    """ANCOVA's variance is (1 - R²) times the raw one: n x 0.64 and MDE x 0.8 at R² = 0.36."""
    metric = {"name": "y", "role": "outcome", "type": "continuous"}
    spec = _spec(
        [metric], adjust=["x"], baselines={"y": {"mean": 10, "sd": 2}}, r_squared={"y": 0.36}, n=2000
    )
    m = plan_power(spec, resolve_baselines(spec).values).metrics[0]
    assert m.r_squared == 0.36
    assert m.r_squared_source == "plan.r_squared"
    for q, n in m.n_total.items():
        assert m.n_total_adjusted[q] == pytest.approx(0.64 * n, abs=2)
        assert m.mde_adjusted[q] == pytest.approx(0.8 * m.mde[q], rel=0.01)


def test_pilot_r_squared_is_the_control_arms_regression(tmp_path):
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(8)
    n = 3000
    x1, x2 = rng.gamma(2.0, 2.0, n), rng.poisson(3.0, n)
    rows = pd.DataFrame(
        {
            "arm": np.where(np.arange(n) % 2 == 0, "control", "treatment"),
            "x1": x1,
            "x2": x2,
            "meetings": rng.poisson(np.exp(-1 + 0.15 * x1 + 0.1 * x2)),
        }
    )
    spec = _pilot(tmp_path, rows, [METRICS[1]], adjust=["x1", "x2"])
    r2, source = resolve_baselines(spec).r_squared["meetings"]
    control = rows[rows["arm"] == "control"]
    assert r2 == pytest.approx(smf.ols("meetings ~ x1 + x2", control).fit().rsquared, rel=1e-9)
    assert source == "pilot (pilot.csv)"
    plan = plan_power(spec, resolve_baselines(spec).values, r_squared={"meetings": (r2, source)})
    assert plan.metrics[0].n_total_adjusted[0.8] < plan.metrics[0].n_total[0.8]


def test_r_squared_needs_adjust_columns():
    with pytest.raises(SpecError, match=r"plan\.r_squared: it is the variance the adjust columns explain"):
        _spec([METRICS[3]], baselines={"score": {"mean": 1, "sd": 1}}, r_squared={"score": 0.3})


METRICS = [
    {"name": "booked", "role": "outcome", "type": "binary"},
    {"name": "meetings", "role": "outcome", "type": "count"},
    {"name": "revenue", "role": "revenue", "type": "revenue"},
    {"name": "score", "role": "outcome", "type": "continuous"},
]


def test_pilot_baselines_are_the_control_arms_moments(tmp_path):
    rng = np.random.default_rng(4)
    n = 4000
    rows = pd.DataFrame(
        {
            "arm": np.where(np.arange(n) % 2 == 0, "control", "treatment"),
            "booked": rng.binomial(1, 0.2, n),
            "meetings": rng.negative_binomial(2, 2 / 2.5, n),  # mean 0.5, phi 0.5
            "revenue": np.where(rng.random(n) < 0.1, np.round(rng.lognormal(5, 0.8, n), 2), 0.0),
            "score": rng.normal(3, 2, n),
        }
    )
    rows.loc[rows["arm"] == "treatment", "meetings"] += 5  # ignored: not the control
    spec = _pilot(tmp_path, rows, METRICS)
    got = resolve_baselines(spec)
    control = rows[rows["arm"] == "control"]
    m = control["meetings"]
    assert got.values["booked"].mean == pytest.approx(control["booked"].mean())
    assert got.values["meetings"].mean == pytest.approx(m.mean())
    assert got.values["meetings"].overdispersion == pytest.approx((m.var() - m.mean()) / m.mean() ** 2)
    spend = control["revenue"][control["revenue"] > 0]
    assert got.values["revenue"].share == pytest.approx((control["revenue"] > 0).mean())
    assert got.values["revenue"].amount == pytest.approx(spend.mean())
    assert got.values["revenue"].amount_sd_log == pytest.approx(np.log(spend).std(ddof=1))
    assert got.values["score"].sd == pytest.approx(control["score"].std(ddof=1))
    assert set(got.sources.values()) == {"pilot (pilot.csv)"}
    # a baseline in the spec wins over the pilot's
    spec = _pilot(tmp_path, rows, METRICS, baselines={"booked": {"mean": 0.3}})
    got = resolve_baselines(spec)
    assert got.values["booked"].mean == 0.3
    assert got.sources["booked"] == "plan.baselines"


def test_pilot_icc_recovers_a_known_intra_cluster_correlation(tmp_path):
    rng = np.random.default_rng(5)
    n_clusters, size, icc = 400, 25, 0.1
    cluster = np.repeat(np.arange(n_clusters), size)
    level = rng.normal(0, math.sqrt(icc), n_clusters)[cluster]
    rows = pd.DataFrame(
        {
            "arm": "control",
            "rep": cluster,
            "score": 10 + level + rng.normal(0, math.sqrt(1 - icc), cluster.size),
        }
    )
    spec = _pilot(tmp_path, rows, [{"name": "score", "role": "outcome", "type": "continuous"}])
    spec = spec.model_copy(update={"unit": spec.unit.model_copy(update={"randomised_by": "rep"})})
    mean_size, cv, est = resolve_baselines(spec).clusters["score"]
    assert mean_size == size
    assert cv == 0
    assert est == pytest.approx(icc, abs=0.025)  # se of the ANOVA estimator here is about 0.01


def test_pilot_problems_name_the_file_and_the_fix(tmp_path):
    rows = pd.DataFrame({"arm": ["treatment"] * 3, "booked": [0, 1, 0]})
    with pytest.raises(DataError, match=r"pilot\.csv: no rows of the control arm 'control'"):
        resolve_baselines(_pilot(tmp_path, rows, METRICS[:1]))
    rows = pd.DataFrame({"arm": ["control"] * 3, "booked": [0, None, 1]})
    with pytest.raises(DataError, match=r"column 'booked' has 1 missing value"):
        resolve_baselines(_pilot(tmp_path, rows, METRICS[:1]))
    rows = pd.DataFrame({"arm": ["control"] * 3, "revenue": [0.0, 0.0, 0.0]})
    with pytest.raises(DataError, match=r"metric 'revenue'.*give plan\.baselines instead"):
        resolve_baselines(_pilot(tmp_path, rows, METRICS[2:3]))
    with pytest.raises(DataError, match=r"data file not found \(plan\.pilot"):
        resolve_baselines(_spec(METRICS[:1], tmp_path=tmp_path, pilot={"path": "nope.csv"}))
