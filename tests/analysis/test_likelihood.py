"""The cell likelihood equals the row likelihood up to a constant, for every metric type.

Both are evaluated at two different parameter points; their difference must not change.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit

from channelab.analysis.model import build_model
from channelab.engine.aggregate import build_cells
from channelab.engine.rows import open_source
from channelab.simulate.ab import SimMetric, simulate_ab

ARMS = ("control", "treatment", "other")
CASES = {
    "binary": (SimMetric("binary", 0.2, {"treatment": 0.3}), {"type": "binary", "role": "outcome"}),
    "count_nb": (SimMetric("count", 1.5, {"treatment": 0.2}), {"type": "count", "role": "outcome"}),
    "count_poisson": (
        SimMetric("count", 1.5, {"treatment": 0.2}),
        {"type": "count", "role": "outcome", "count_likelihood": "poisson"},
    ),
    "revenue_lognormal": (
        SimMetric("revenue", 0.3, {"treatment": 0.2}, amount=40.0),
        {"type": "revenue", "role": "revenue", "revenue_likelihood": "lognormal_hurdle"},
    ),
    "revenue_cell_means": (
        SimMetric("revenue", 0.3, {"treatment": 0.2}, amount=40.0),
        {"type": "revenue", "role": "revenue"},
    ),
    "continuous": (
        SimMetric("continuous", 10.0, {"treatment": 0.5}, sigma=2.0),
        {"type": "continuous", "role": "outcome"},
    ),
}


def _row_loglik(
    kind: str,
    y: np.ndarray,
    eta: dict[str, np.ndarray],
    params: dict[str, np.ndarray],
    scale,
    arm: np.ndarray,
) -> float:
    """Row-level log-likelihood written independently with scipy, on the original data scale."""
    if kind == "binary":
        return stats.bernoulli.logpmf(y, expit(eta[""])).sum()
    if kind == "count_poisson":
        return stats.poisson.logpmf(y, np.exp(eta[""])).sum()
    if kind == "count_nb":
        alpha = 1.0 / params["y:overdispersion"]
        mu = np.exp(eta[""])
        return stats.nbinom.logpmf(y, alpha, alpha / (alpha + mu)).sum()
    if kind == "revenue_lognormal":
        pos = y > 0
        ll = stats.bernoulli.logpmf(pos, expit(eta["any"])).sum()
        sigma = params["y:sigma"]
        return ll + stats.lognorm.logpdf(y[pos], sigma, scale=np.exp(eta["amount"][pos])).sum()
    centre, sd = scale
    sigma = params["y:sigma"][arm]  # one per arm
    return stats.norm.logpdf(y, centre + sd * eta[""], sd * sigma).sum()


@pytest.mark.parametrize("kind", list(CASES))
def test_cell_likelihood_equals_row_likelihood_up_to_constant(kind, write_experiment):
    sim, metric = CASES[kind]
    rows, _ = simulate_ab(n_per_arm=80, arms=ARMS, metrics={"y": sim}, seed=11)
    spec = write_experiment(
        rows,
        [{"name": "y", **metric}],
        arms={"control": {}, "treatment": {}, "other": {}},
    )
    source = open_source(spec)
    cells = build_cells(source, spec)
    built = build_model(cells, spec)
    model = built.model

    # map every row to its cell
    cell_of = {
        (cells.arms[a], cells.levels["segment"][s]): i
        for i, (a, s) in enumerate(zip(cells.arm_idx, cells.level_idx["segment"], strict=True))
    }
    row_cell = np.array([cell_of[(a, s)] for a, s in zip(rows["arm"], rows["segment"], strict=True)])

    loglik = model.compile_logp(vars=built.likelihood_terms)
    names = sorted(built.eta)
    scalars = [v for v in model.free_RVs if v.name in ("y:sigma", "y:overdispersion")]
    graphs = model.replace_rvs_by_values([built.eta[k] for k in names] + scalars)
    outputs = model.compile_fn(graphs, inputs=model.value_vars, point_fn=True)
    y = rows["y"].to_numpy()
    sd = rows["y"].std(ddof=0)
    scale = (rows["y"].mean(), sd)

    rng = np.random.default_rng(3)
    gaps = []
    for _ in range(3):
        point = {k: v + rng.normal(0, 0.3, size=np.shape(v)) for k, v in model.initial_point().items()}
        values = outputs(point)
        eta = {k.split(".")[1] if "." in k else "": values[i][row_cell] for i, k in enumerate(names)}
        params = {v.name: np.asarray(values[len(names) + j]) for j, v in enumerate(scalars)}
        arm = rows["arm"].map({a: i for i, a in enumerate(cells.arms)}).to_numpy()
        gaps.append(loglik(point) - _row_loglik(kind, y, eta, params, scale, arm))
    # the likelihood itself moves by many units between points; the gap must not move at all
    assert np.ptp(gaps) < 1e-6 * max(1.0, abs(gaps[0]))


@pytest.mark.parametrize("phi", [1.0, 1e-3, 1.0001e-6, 0.9999e-6, 1e-9, 1e-30])
def test_negative_binomial_value_term_stays_accurate_in_the_poisson_limit(phi):
    """lgamma(v + 1/φ) − lgamma(1/φ) − v log(1/φ) = Σ_{k<v} log1p(k φ), and its derivative in φ.

    The textbook form cancels numbers of size α log α as φ → 0; a chain that wanders there
    used to get NaN gradients and stick (every draw divergent).
    """
    import pytensor
    import pytensor.tensor as pt

    from channelab.analysis.families import _log_rising_ratio

    v, o = pt.dvector(), pt.dscalar()
    total = _log_rising_ratio(v, o).sum()
    f = pytensor.function([v, o], [total, pytensor.grad(total, o)])
    values = np.array([0.0, 1, 2, 5, 20, 100, 5000])
    k = [np.arange(int(x)) for x in values]
    exact = sum(np.log1p(ks * phi).sum() for ks in k)
    slope = sum((ks / (1 + ks * phi)).sum() for ks in k)
    value, grad = f(values, phi)
    assert value == pytest.approx(exact, rel=1e-8, abs=1e-300)
    assert grad == pytest.approx(slope, rel=1e-8)
