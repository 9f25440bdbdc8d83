"""Each metric is fitted on its own, under a compiled model named for its structure only.

The key of a metric's model must not change with names (metric, arms, covariates, roles, labels)
or sizes (numbers of arms and levels), so that a new experiment file reuses what was compiled for
another, and must change with anything that changes the graph (family, pooling, covariates,
priors). The fits are joined draw by draw.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from channelab.analysis.blocks import block_seed, join, renamed
from channelab.analysis.model import build_model
from channelab.engine import build_cells, frame_source
from channelab.simulate.ab import SimMetric, simulate_ab
from channelab.spec import parse_spec
from helpers import ROOT, spec_dict


def _keys(
    names=("y",), arms=("control", "treatment"), kind="binary", covariate="segment", **overrides
) -> list[str]:
    roles = ["outcome", *(["engagement"] * (len(names) - 1))]
    metrics = [
        {"name": n, "role": r, "type": kind, "label": f"the {n}"} for n, r in zip(names, roles, strict=True)
    ]
    arm_map = {a: {"channel": "control" if a == arms[0] else "email"} for a in arms}
    overrides = {"covariates": [covariate], **overrides}
    spec = parse_spec(spec_dict("x.csv", metrics, arms=arm_map, control=arms[0], **overrides))
    rows, _ = simulate_ab(n_per_arm=300, arms=arms, metrics={n: SimMetric(kind, 0.2) for n in names}, seed=3)
    rows = rows.rename(columns={"segment": covariate})
    return build_model(build_cells(frame_source(rows), spec), spec).keys


def test_the_key_of_a_metric_model_has_no_names_in_it():
    (base,) = _keys()
    assert _keys(names=("meetings", "clicked"), arms=("none", "phone")) == [base, base]  # names, roles
    assert _keys(covariate="region") == [base]  # the covariate's name
    assert _keys(kind="count") != [base]  # another family
    assert _keys(arms=("control", "a", "b")) == [base]  # another number of arms: any sizes (.flat)
    assert _keys(covariates=[]) != [base]  # no covariate
    assert _keys(arms=("control", "a", "b"), model={"pool_arms": True}) != [base]  # pooled arms
    assert _keys(priors={"arm_sd": 0.5}) != [base]  # another prior


def test_a_learned_prior_per_arm_enters_the_key_by_position():
    mu = {"priors": {"arm_mu": {"a": 0.1, "b": 0.3}}}
    ab, ba = _keys(arms=("control", "a", "b"), **mu), _keys(arms=("control", "b", "a"), **mu)
    assert ab != ba  # the same names in another order put each prior on another arm
    assert ab == _keys(arms=("control", "a", "b"), **mu)


def _fit(name: str, value: float, diverging: int) -> xr.DataTree:
    draws = xr.DataArray(np.full((2, 3), value), dims=("chain", "draw"))
    stats = xr.DataArray(np.zeros((2, 3), dtype=bool), dims=("chain", "draw"))
    stats[0, :diverging] = True
    tree = xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({"y:arm": draws, "y.any:sd": draws + 1}),
            "sample_stats": xr.Dataset({"diverging": stats}),
        }
    )
    tree.attrs.update(compile_seconds=1.0, sampling_seconds=2.0)
    return renamed(tree, name)


def test_fits_are_renamed_and_joined_draw_by_draw_with_every_divergence_kept():
    joined = join([_fit("visit", 1.0, 1), _fit("spend", 2.0, 2)], ["visit", "spend"])
    post = joined["posterior"].to_dataset()
    assert set(post.data_vars) == {"visit:arm", "visit.any:sd", "spend:arm", "spend.any:sd"}
    assert float(post["visit:arm"].mean()) == 1.0
    assert float(post["spend.any:sd"].mean()) == 3.0
    assert int(joined["sample_stats"]["diverging"].sum()) == 3
    assert joined.attrs["compile_seconds"] == 1.0  # the first fit's: the fits ran side by side


def _three_binary_metrics():
    from channelab.spec import Sampler

    names = ("meetings", "clicked", "replied")
    metrics = [{"name": n, "role": "outcome", "type": "binary", "label": n} for n in names]
    spec = parse_spec(spec_dict("x.csv", metrics, covariates=["segment"]))
    sims = {n: SimMetric("binary", 0.2, {"treatment": 0.3}) for n in names}
    rows, _ = simulate_ab(n_per_arm=400, metrics=sims, seed=5)
    return (
        names,
        lambda: build_model(build_cells(frame_source(rows), spec), spec),
        Sampler(draws=200, tune=200, chains=2),
    )


@pytest.mark.slow
def test_metrics_sampled_side_by_side_draw_exactly_what_each_draws_alone():
    """Each metric's chains depend on its seed only, not on the samplers running beside them."""
    from channelab.analysis.sampler import start_nutpie

    names, build, cfg = _three_binary_metrics()
    built = build()
    together = built.fit(cfg, seed=11)["posterior"]
    for i, name in enumerate(names):
        alone = start_nutpie(built.compiled(i), cfg, seed=block_seed(11, i), adaptation="diag").wait()
        draws = renamed(alone, name, built.level_dims)["posterior"]
        for var in draws.data_vars:
            np.testing.assert_array_equal(together[var].values, draws[var].values)


@pytest.mark.slow
def test_a_prefetched_fit_is_the_fit_asked_for_and_other_settings_discard_it():
    """A fit started ahead (a monitor's next look) gives the draws of the fit asked for later."""
    _, build, cfg = _three_binary_metrics()
    plain = build().fit(cfg, seed=11)["posterior"]
    ahead = build()
    ahead.prefetch(cfg, seed=11)
    xr.testing.assert_identical(ahead.fit(cfg, seed=11)["posterior"], plain)
    ahead.prefetch(cfg, seed=11)
    other = ahead.fit(cfg, seed=12)["posterior"]  # another seed: the started fit is cancelled
    xr.testing.assert_identical(other, build().fit(cfg, seed=12)["posterior"])
    assert not other.equals(plain)


def test_canonical_level_names_are_the_covariates_own_again():
    draws = xr.DataArray(np.zeros((2, 3, 2)), dims=("chain", "draw", "level1"))
    tree = xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset(
                {"y:level1": draws, "y:lift_by_level1_sd": draws[..., 0], "y:level10x": draws}
            ),
            "sample_stats": xr.Dataset({"diverging": draws[..., 0].astype(bool)}),
        }
    )
    post = renamed(tree, "meetings", {"segment": "level0", "region": "level1"})["posterior"]
    assert set(post.data_vars) == {"meetings:region", "meetings:lift_by_region_sd", "meetings:level10x"}
    assert post["meetings:region"].dims == ("chain", "draw", "region")


def test_each_metric_has_its_own_seed_and_the_first_keeps_the_runs():
    seeds = [block_seed(7, i) for i in range(4)]
    assert seeds[0] == 7
    assert len(set(seeds)) == 4
    assert seeds == [block_seed(7, i) for i in range(4)]  # reproducible


WARM = """
import json, sys
from channelab.analysis.model import build_model
from channelab.app import validate_experiment, warm_up
if __name__ == "__main__":  # the workers (spawned) import this script again
    first = [w.compiled for w in warm_up(sys.argv[1:], processes=2)]
    checked = validate_experiment(sys.argv[1])
    print(json.dumps({"first": first, "again": [w.compiled for w in warm_up(sys.argv[1:])],
                      "run_compiles": build_model(checked.cells, checked.spec).compiles_first}))
"""


@pytest.mark.slow
def test_warm_up_compiles_each_structure_once_side_by_side_and_a_first_run_then_compiles_nothing(tmp_path):
    quickstart = ROOT / "docs" / "quickstart"
    path = quickstart / "first_test.yaml"  # two binary metrics, two arms: one structure
    counted = tmp_path / "counted.yaml"  # the same file with its meetings counted: another one
    counted.write_text(
        path.read_text()
        .replace("type: binary\n", "type: count\n")
        .replace("type: count\n", "type: binary\n", 1)
    )
    (tmp_path / "first_test.csv").write_bytes((quickstart / "first_test.csv").read_bytes())
    script = tmp_path / "warm.py"
    script.write_text(WARM)
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / 'cache'}"}
    done = subprocess.run(
        [sys.executable, str(script), str(path), str(counted)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["first"] == [True, False, False, True]  # one model serves both binary metrics
    assert result["again"] == [False, False, False, False]
    assert result["run_compiles"] == 0
