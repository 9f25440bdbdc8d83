"""Observational runs end to end: doubly robust estimates, known truth, and byte-identical repeats."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.special import expit

from channelab.simulate.observational import COVARIATES, simulate_observational
from channelab.spec.loader import load_spec
from helpers import channels_spec, observational_spec

pytestmark = pytest.mark.slow


def _write(tmp_path, rows: pd.DataFrame, **spec) -> object:
    rows.to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(observational_spec("rows.csv", metric="y", **spec)))
    return tmp_path / "exp.yaml"


def test_doubly_robust_estimate_is_the_weighted_regression_at_the_treated_mean(tmp_path):
    """IPW + adjust: the ATT's posterior = weighted Lin regression (arm × columns) at the treated means."""
    import statsmodels.formula.api as smf

    from channelab.pipeline import analyse

    rng = np.random.default_rng(12)
    n = 4000
    x1, x2 = rng.gamma(2.0, 5.0, n), rng.poisson(3.0, n).astype(float)
    t = rng.random(n) < expit(-2.0 + 0.12 * x1 + 0.2 * x2)
    y = 20 + 0.8 * x1 + 1.5 * x2 + 3 * t + 0.3 * t * (x1 - 10) + rng.gamma(2.0, 3.0, n)
    rows = pd.DataFrame(
        {"unit_id": np.arange(n), "program": np.where(t, "treated", "none"), "x1": x1, "x2": x2}
    )
    rows["y"] = np.round(y, 2)
    path = _write(
        tmp_path,
        rows,
        matching={"method": "ipw", "covariates": ["x1", "x2"]},
        adjust=["x1", "x2"],
        sampler={"draws": 1000, "tune": 1000},
    )
    result = analyse(load_spec(path))
    effect = result.effects.get("treated", "y").abs_lift

    units = result.matching.matched.units.set_index("unit_id")
    w = units["weight"].reindex(rows["unit_id"]).to_numpy()
    data = rows.assign(t=t.astype(float), c1=x1 - x1[t].mean(), c2=x2 - x2[t].mean(), y=rows["y"])
    wls = smf.wls("y ~ t * (c1 + c2)", data, weights=w).fit(cov_type="HC2")
    assert abs(effect.mean - wls.params["t"]) < 0.1 * wls.bse["t"]
    naive = y[t].mean() - y[~t].mean()
    assert not effect.lower <= naive <= effect.upper  # selection on x1, x2 moves the raw difference


def test_entropy_balancing_with_outcome_regression_covers_the_truth_on_a_hard_pool(tmp_path):
    """LaLonde-shaped data: the naive difference is far off; the recommended method covers the ATT."""
    from channelab.pipeline import analyse

    rows, truth = simulate_observational("psid", seed=7)
    path = _write(
        tmp_path,
        rows.rename(columns={"re78": "y"}),
        matching={"method": "entropy", "covariates": list(COVARIATES)},
        adjust=list(COVARIATES),
    )
    result = analyse(load_spec(path))
    effect = result.effects.get("treated", "y").abs_lift
    assert effect.lower <= truth.att <= effect.upper
    assert not effect.lower <= truth.naive <= effect.upper


@pytest.mark.parametrize(
    "matching",
    [
        {"method": "nearest", "covariates": ["age", "education", "married", "re74", "re75"]},
        {"method": "entropy", "covariates": list(COVARIATES)},
    ],
)
def test_the_same_seed_gives_byte_identical_outputs(tmp_path, matching):
    """Matched and weighted runs with model covariates and pre-period columns, twice: the same bytes."""
    from channelab.app import run_experiment

    rows, _ = simulate_observational("moderate", seed=3)
    rows["age_band"] = pd.cut(rows["age"], [0, 25, 35, 100], labels=["young", "mid", "older"]).astype(str)
    path = _write(
        tmp_path,
        rows.rename(columns={"re78": "y"}),
        matching=matching,
        covariates=["age_band"],
        adjust=["re74", "re75"],
        sampler={"draws": 300, "tune": 300},
    )
    outputs = []
    for k in range(2):
        out = run_experiment(path, out_dir=tmp_path / f"run{k}").json
        report = json.loads(out.read_text())
        report["provenance"].pop("created", None)
        outputs.append(json.dumps(report, sort_keys=True))
    assert outputs[0] == outputs[1]


def test_several_channels_each_recover_their_effect_on_the_treated(tmp_path):
    """Three arms, multinomial selection: every channel's interval covers its effect on the treated."""
    from channelab.pipeline import analyse
    from channelab.simulate.observational import simulate_channels

    rows, truth = simulate_channels(6000, seed=9)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(channels_spec("rows.csv", seed=3)))
    result = analyse(load_spec(tmp_path / "exp.yaml"))
    for arm in ("email", "social"):
        effect = result.effects.get(arm, "y").abs_lift
        assert effect.lower <= truth.att[arm] <= effect.upper, arm
        y = rows["y"]
        naive = y[rows["program"] == arm].mean() - y[rows["program"] == "none"].mean()
        assert not effect.lower <= naive <= effect.upper, arm
