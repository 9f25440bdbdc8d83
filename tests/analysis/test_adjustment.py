"""Adjustment for pre-period columns (``adjust``): exact from cells where the family allows, strata otherwise.

Known truths: the cell likelihood equals the row-level regression's up to a constant; the
cells' sums equal pandas'; merging the strata gives the cells of the plain spec; the explained
variance equals statsmodels' regression; per-level means move by the slopes times the level's
own pre-period mean; and, fitted, the exact adjustment reproduces Lin's regression estimator.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats
from scipy.special import expit

from channelab.analysis.adjustment import explained_variance
from channelab.analysis.gcomp import population_means
from channelab.analysis.model import build_model
from channelab.engine.aggregate import build_cells, frame_cells
from channelab.engine.rows import open_source
from channelab.simulate.ab import SimMetric, simulate_ab

ARMS = ("control", "treatment", "other")
ADJUST = ["x1", "x2"]
CASES = {
    "continuous": (
        SimMetric("continuous", 10.0, {"treatment": 0.5}, sigma=2.0),
        {"type": "continuous", "role": "outcome"},
    ),
    "revenue_cell_means": (
        SimMetric("revenue", 0.3, {"treatment": 0.2}, amount=40.0),
        {"type": "revenue", "role": "revenue"},
    ),
    "binary": (SimMetric("binary", 0.2, {"treatment": 0.3}), {"type": "binary", "role": "outcome"}),
    "count_nb": (SimMetric("count", 1.5, {"treatment": 0.2}), {"type": "count", "role": "outcome"}),
}


def _rows(metric: SimMetric, n_per_arm: int = 80, seed: int = 11) -> pd.DataFrame:
    """Rows with two pre-period columns, one skewed and one with ties, related to y."""
    rows, _ = simulate_ab(n_per_arm=n_per_arm, arms=ARMS, metrics={"y": metric}, seed=seed)
    rng = np.random.default_rng(seed)
    y = rows["y"].to_numpy(dtype=float)
    rows["x1"] = np.round(np.exp(rng.normal(0, 0.5, len(rows))) * 10 + 0.5 * y, 3)
    rows["x2"] = rng.poisson(2.0, len(rows))
    return rows


def _strata(rows: pd.DataFrame, cells) -> dict[str, np.ndarray]:
    """Each row's stratum of each binned column (index into ``cells.levels[column]``)."""
    out = {}
    for col, cuts in cells.pre_period.cuts.items():
        code = np.searchsorted(np.asarray(cuts), rows[col].to_numpy(), side="left")
        out[col] = np.searchsorted(np.unique(code), code)
    return out


@pytest.mark.parametrize("kind", list(CASES))
def test_adjusted_cell_likelihood_equals_row_likelihood_up_to_constant(kind, write_experiment):
    sim, metric = CASES[kind]
    rows = _rows(sim)
    spec = write_experiment(rows, [{"name": "y", **metric}], arms={a: {} for a in ARMS}, adjust=ADJUST)
    cells = build_cells(open_source(spec), spec)
    built = build_model(cells, spec)
    model = built.model
    exact = kind in ("continuous", "revenue_cell_means")
    assert (cells.pre_period.cuts == {}) == exact  # strata only where no exact adjustment exists

    strata = _strata(rows, cells)
    key = [cells.arm_idx, cells.level_idx["segment"], *(cells.level_idx[c] for c in strata)]
    cell_of = {tuple(int(v) for v in k): i for i, k in enumerate(zip(*key, strict=True))}
    arm = rows["arm"].map({a: i for i, a in enumerate(cells.arms)}).to_numpy()
    seg = rows["segment"].map({s: i for i, s in enumerate(cells.levels["segment"])}).to_numpy()
    row_cell = np.array([cell_of[k] for k in zip(arm, seg, *strata.values(), strict=True)])

    loglik = model.compile_logp(vars=built.likelihood_terms)
    free = [v for v in model.free_RVs if v.name in ("y:sigma", "y:overdispersion", "y:slope")]
    graphs = model.replace_rvs_by_values([built.eta["y"], *free])
    outputs = model.compile_fn(graphs, inputs=model.value_vars, point_fn=True)
    y = rows["y"].to_numpy(dtype=float)
    x = rows[ADJUST].to_numpy(dtype=float)
    u = (x - x.mean(0)) / x.std(0)
    rng = np.random.default_rng(3)
    gaps = []
    for _ in range(3):
        point = {k: v + rng.normal(0, 0.3, size=np.shape(v)) for k, v in model.initial_point().items()}
        eta, *values = outputs(point)
        params = {v.name: np.asarray(values[j]) for j, v in enumerate(free)}
        eta = eta[row_cell]
        if kind == "binary":
            row = stats.bernoulli.logpmf(y, expit(eta)).sum()
        elif kind == "count_nb":
            alpha = 1.0 / params["y:overdispersion"]
            row = stats.nbinom.logpmf(y, alpha, alpha / (alpha + np.exp(eta))).sum()
        else:
            mean = eta + (params["y:slope"][arm] * u).sum(1)
            sigma = params["y:sigma"][arm]
            row = stats.norm.logpdf(y, y.mean() + y.std() * mean, y.std() * sigma).sum()
        gaps.append(loglik(point) - row)
    assert np.ptp(gaps) < 1e-6 * max(1.0, abs(gaps[0]))


def _spec(write_experiment, rows, kind="count_nb", **overrides):
    return write_experiment(
        rows, [{"name": "y", **CASES[kind][1]}], arms={a: {} for a in ARMS}, adjust=ADJUST, **overrides
    )


def test_cells_carry_exact_pre_period_sums(write_experiment):
    rows = _rows(CASES["revenue_cell_means"][0], n_per_arm=300)
    spec = _spec(write_experiment, rows, "revenue_cell_means", covariates=[])
    cells = build_cells(open_source(spec), spec)
    arm = rows["arm"].map({a: i for i, a in enumerate(cells.arms)}).to_numpy()
    x = rows[ADJUST].to_numpy(dtype=float)
    y = rows["y"].to_numpy(dtype=float)
    order = np.argsort(cells.arm_idx)  # one cell per arm here
    for a in range(len(ARMS)):
        at = arm == a
        c = order[a]
        np.testing.assert_allclose(cells.pre_period.sum_x[c], x[at].sum(0), rtol=1e-12)
        np.testing.assert_allclose(cells.pre_period.sum_xx[c], x[at].T @ x[at], rtol=1e-12)
        np.testing.assert_allclose(cells.metrics["y"].sum_xy[c], x[at].T @ y[at], rtol=1e-12)


def test_quantile_strata_hold_equal_shares_and_respect_their_cuts(write_experiment):
    rows = _rows(CASES["binary"][0], n_per_arm=400)
    spec = _spec(write_experiment, rows, "binary", covariates=[], model={"adjust_bins": 5})
    cells = build_cells(open_source(spec), spec)
    cuts = cells.pre_period.cuts
    assert len(cuts["x1"]) == 4  # a continuous column: every cut distinct
    assert set(cuts["x1"]) <= set(rows["x1"])  # cut points are values of the data
    assert 0 < len(cuts["x2"]) <= 4  # a count with ties: fewer, unequal strata
    shares = np.bincount(cells.level_idx["x1"], weights=cells.n) / cells.n.sum()
    np.testing.assert_allclose(shares, 0.2, atol=0.01)
    for col, labels in cells.pre_period.strata.items():
        assert len(labels) == len(cells.levels[col])
        assert labels[0].startswith("≤")
        assert labels[-1].startswith(">")


def test_merging_the_strata_gives_the_cells_of_the_plain_spec(write_experiment):
    rows = _rows(CASES["count_nb"][0], n_per_arm=200)
    spec = _spec(write_experiment, rows)
    merged = frame_cells(rows, spec).without_adjustment()
    plain = frame_cells(rows, spec.model_copy(update={"adjust": []}))
    assert merged.pre_period is None
    assert merged.levels == plain.levels
    np.testing.assert_array_equal(merged.arm_idx, plain.arm_idx)
    np.testing.assert_array_equal(merged.n, plain.n)
    for f in ("total", "sum_sq"):
        np.testing.assert_allclose(getattr(merged.metrics["y"], f), getattr(plain.metrics["y"], f))
    assert _frequencies(merged) == _frequencies(plain)


def _frequencies(cells) -> dict[tuple[int, int], float]:
    """Units per (cell, value) of the count metric ``y``."""
    m, out = cells.metrics["y"], {}
    for c, v, u in zip(m.frequencies.cell, m.frequencies.value, m.frequencies.units, strict=True):
        out[(int(c), int(v))] = out.get((int(c), int(v)), 0.0) + float(u)
    return out


@pytest.mark.parametrize("kind", ["revenue_cell_means", "binary"])
def test_explained_variance_equals_the_regression_on_the_rows(kind, write_experiment):
    import statsmodels.formula.api as smf

    rows = _rows(CASES[kind][0], n_per_arm=300)
    spec = _spec(write_experiment, rows, kind, covariates=[], model={"adjust_bins": 4})
    cells = build_cells(open_source(spec), spec)
    base = smf.ols("y ~ C(arm)", rows).fit().ssr
    if kind == "binary":  # strata: the arm x stratum means
        strata = _strata(rows, cells)
        rows = rows.assign(
            g=rows["arm"]
            + "|"
            + pd.Series(strata["x1"]).astype(str)
            + "|"
            + pd.Series(strata["x2"]).astype(str)
        )
        full = smf.ols("y ~ C(g)", rows).fit().ssr
    else:  # exact: a slope per arm on both columns
        full = smf.ols("y ~ C(arm) * (x1 + x2)", rows).fit().ssr
    assert explained_variance(cells, spec.metrics[0]) == pytest.approx(1 - full / base, rel=1e-9)


def _random_draw(rows: pd.DataFrame, cells, seed: int) -> tuple[xr.Dataset, np.ndarray, np.ndarray]:
    """One posterior draw of a continuous model with random values; per arm, each row's mean under it.

    Returns the draw as a posterior, each row's predicted mean under each arm (arm, row) and
    each row's segment index.
    """
    rng = np.random.default_rng(seed)
    levels = list(cells.levels["segment"])
    draw = {
        "y:intercept": rng.normal(size=(1, 1)),
        "y:arm": rng.normal(size=(1, 1, 2)),
        "y:segment": rng.normal(size=(1, 1, len(levels))),
        "y:slope": rng.normal(size=(1, 1, 3, 2)),
    }
    post = xr.Dataset(
        {k: (("chain", "draw", *[f"d{k}{i}" for i in range(v.ndim - 2)]), v) for k, v in draw.items()}
    )
    y = rows["y"].to_numpy(dtype=float)
    x = rows[ADJUST].to_numpy(dtype=float)
    u = (x - x.mean(0)) / x.std(0)
    seg = rows["segment"].map({s: i for i, s in enumerate(levels)}).to_numpy()
    per_unit = np.stack(
        [
            y.mean()
            + y.std()
            * (
                draw["y:intercept"][0, 0]
                + (draw["y:arm"][0, 0, a - 1] if a else 0.0)
                + draw["y:segment"][0, 0, seg]
                + u @ draw["y:slope"][0, 0, a]
            )
            for a in range(3)
        ]
    )
    return post, per_unit, seg


def test_per_level_means_shift_by_the_slopes_times_the_levels_pre_period_mean(write_experiment):
    """g-computation within a level of ``by``: every unit's own prediction, averaged over the level."""
    rows = _rows(CASES["continuous"][0], n_per_arm=150)
    spec = _spec(write_experiment, rows, "continuous")
    cells = build_cells(open_source(spec), spec)
    post, per_unit, seg = _random_draw(rows, cells, seed=5)
    means = population_means(post, cells, spec, by="segment")["y"]
    for a in range(3):
        for j, level in enumerate(cells.levels["segment"]):
            got = float(means.isel(chain=0, draw=0, arm=a).sel(segment=level))
            assert got == pytest.approx(per_unit[a, seg == j].mean(), rel=1e-9)


def test_effect_on_the_treated_averages_every_arm_over_the_treated_units(write_experiment):
    """Observational ATT (``Spec.target_arms``): each arm's prediction for the treated units, averaged."""
    rows = _rows(CASES["continuous"][0], n_per_arm=150)
    spec = _spec(write_experiment, rows, "continuous")
    spec = spec.model_copy(update={"design": "matched"})  # the target, without re-validating arms
    assert spec.target_arms == tuple(spec.treatments)
    cells = build_cells(open_source(spec), spec)
    post, per_unit, _ = _random_draw(rows, cells, seed=8)
    means = population_means(post, cells, spec)["y"]
    treated = rows["arm"].isin(spec.target_arms).to_numpy()
    for a in range(3):
        assert float(means.isel(chain=0, draw=0, arm=a)) == pytest.approx(
            per_unit[a, treated].mean(), rel=1e-9
        )


# ---- fitted (slow tier) ---------------------------------------------------------------------


@pytest.mark.slow
def test_exact_adjustment_reproduces_lins_regression_estimator(write_experiment):
    """Posterior of the difference in means = Lin's OLS (arm x centred columns) with HC2 errors."""
    import statsmodels.formula.api as smf

    from channelab.analysis.model import sample

    rng = np.random.default_rng(21)
    n = 3000
    x1, x2 = rng.gamma(2.0, 5.0, n), rng.poisson(3.0, n)
    treated = rng.permutation(np.arange(n) % 2)
    y = 20 + 0.8 * x1 + 1.5 * x2 + 3 * treated + 0.3 * treated * (x1 - 10) + rng.gamma(2.0, 3.0, n)
    rows = pd.DataFrame(
        {
            "unit_id": np.arange(n),
            "arm": np.where(treated == 1, "treatment", "control"),
            "segment": "all",
            "x1": x1,
            "x2": x2,
            "y": np.round(y, 2),
        }
    )
    metric = {"name": "y", "role": "revenue", "type": "revenue"}
    spec = write_experiment(
        rows, [metric], covariates=[], adjust=ADJUST, sampler={"draws": 1000, "tune": 1000}
    )
    cells = frame_cells(rows, spec)
    post = sample(build_model(cells, spec), spec, seed=4)["posterior"].to_dataset()
    means = population_means(post, cells, spec)["y"]
    diff = (means.sel(arm="treatment") - means.sel(arm="control")).to_numpy().ravel()
    data = rows.assign(t=treated, c1=x1 - x1.mean(), c2=x2 - x2.mean())
    lin = smf.ols("y ~ t * (c1 + c2)", data).fit(cov_type="HC2")
    assert abs(diff.mean() - lin.params["t"]) < 0.1 * lin.bse["t"]
    assert diff.std() == pytest.approx(lin.bse["t"], rel=0.06)
    plain = smf.ols("y ~ t", data).fit(cov_type="HC2")
    assert diff.std() < 0.6 * plain.bse["t"]  # what adjusting bought here


@pytest.mark.slow
def test_a_binary_outcome_with_twelve_columns_is_adjusted_linearly_as_lins_regression(write_experiment):
    """12 numeric columns (5^12 strata) adjust a 0-1 outcome by its cell means: Lin's estimate, narrower.

    The spec says nothing of the method: ``adjust_method: auto`` goes linear past the strata cap.
    """
    import statsmodels.formula.api as smf

    from channelab.analysis.model import sample

    rng = np.random.default_rng(35)
    n, columns = 3000, [f"z{j}" for j in range(12)]
    x = rng.normal(size=(n, 12))
    treated = rng.permutation(np.arange(n) % 2)
    p = expit(-1.0 + x @ np.linspace(0.6, -0.5, 12) + 0.3 * treated)
    rows = pd.DataFrame(x, columns=columns).assign(
        unit_id=np.arange(n), arm=np.where(treated == 1, "treatment", "control"), segment="all"
    )
    rows["y"] = rng.binomial(1, p)
    metric = {"name": "y", "role": "outcome", "type": "binary"}
    spec = write_experiment(
        rows, [metric], covariates=[], adjust=columns, sampler={"draws": 1000, "tune": 1000}
    )
    assert spec.metrics[0].likelihood.key == "binary:cell_means"
    assert not spec.binned_adjustment
    cells = frame_cells(rows, spec)
    post = sample(build_model(cells, spec), spec, seed=4)["posterior"].to_dataset()
    means = population_means(post, cells, spec)["y"]
    diff = (means.sel(arm="treatment") - means.sel(arm="control")).to_numpy().ravel()
    data = rows.assign(t=treated, **{c: rows[c] - rows[c].mean() for c in columns})
    lin = smf.ols("y ~ t * (" + " + ".join(columns) + ")", data).fit(cov_type="HC2")
    assert abs(diff.mean() - lin.params["t"]) < 0.1 * lin.bse["t"]
    assert diff.std() == pytest.approx(lin.bse["t"], rel=0.06)
    plain = smf.ols("y ~ t", data).fit(cov_type="HC2")
    assert diff.std() < 0.9 * plain.bse["t"]


@pytest.mark.slow
def test_worked_example_meets_its_promise():
    """experiments/expansion_pilot_adjusted.yaml: meetings intervals at least 20 % narrower, same estimate.

    Its meetings alone: each metric is a model of its own, so the other two change nothing here.
    """
    from channelab.pipeline import analyse
    from channelab.spec import load_spec
    from helpers import EXPERIMENTS

    spec = load_spec(EXPERIMENTS / "expansion_pilot_adjusted.yaml")
    analysis = analyse(spec.model_copy(update={"metrics": [m for m in spec.metrics if m.name == "meetings"]}))
    assert analysis.adjustment is not None
    meetings = [x for x in analysis.adjustment.lifts if x.metric == "meetings"]
    assert len(meetings) == 5
    for x in meetings:
        assert x.width_ratio <= 0.8
        # adjusting removes chance imbalance in last year's meetings, so the estimate moves; for an
        # efficient adjustment the move has variance Var(unadjusted) - Var(adjusted) (Hausman), and
        # a 94 % interval is about 3.76 sd wide
        wide, narrow = (iv.upper - iv.lower for iv in (x.abs_unadjusted, x.abs_adjusted))
        noise = np.sqrt(wide**2 - narrow**2) / 3.76
        assert abs(x.abs_adjusted.mean - x.abs_unadjusted.mean) < 3 * noise
    assert analysis.adjustment.r_squared["meetings"] == pytest.approx(0.42, abs=0.05)
