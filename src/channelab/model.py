"""The Bayesian model of the cells, and the population means it implies.

It knows nothing of files, plots or reports: it takes :class:`~channelab.cells.Cells` and a
:class:`~channelab.spec.Spec`, and returns an ArviZ ``DataTree``.

Each metric gets one linear predictor per *part* (revenue has two: whether a unit spends,
and how much), on the metric's link scale::

    eta[cell] = intercept + arm[arm of cell] + sum_k covariate_k[level_k of cell]

with the control arm's effect fixed at 0 and zero-sum covariate effects. Priors (see
:class:`~channelab.spec.Priors`): intercept ~ Normal(link(pooled mean), intercept_sd);
arm ~ Normal(arm_mu, arm_sd); covariate ~ ZeroSumNormal(covariate_sd); scale parameters
~ HalfNormal. Every likelihood is written from the cell statistics and equals the
row-level likelihood up to a constant.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import ClassVar, override

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from scipy.special import expit, logit

from channelab.cells import Cells, MetricCells
from channelab.errors import ModelError
from channelab.spec import Metric, Priors, Spec

# ---- families -----------------------------------------------------------------------------


class Family:
    """Likelihood and mean function of one metric type. Subclasses are a few declarative lines."""

    parts: ClassVar[tuple[str, ...]] = ("",)

    def centres(self, s: MetricCells, n: np.ndarray) -> dict[str, float]:
        """Link-scale value of the pooled mean per part, where intercept priors are centred."""
        raise NotImplementedError

    def add_likelihood(
        self,
        name: str,
        s: MetricCells,
        n: np.ndarray,
        eta: dict[str, pt.TensorVariable],
        priors: Priors,
    ) -> None:
        """Add the cell-level likelihood of metric ``name`` to the model in context."""
        raise NotImplementedError

    def mean(
        self, name: str, s: MetricCells, n: np.ndarray, eta: dict[str, np.ndarray], post: xr.Dataset
    ) -> np.ndarray:
        """Mean per unit on the data scale, from link-scale draws (any trailing shape)."""
        raise NotImplementedError


class Binary(Family):
    """Binomial on (n, successes), logit link."""

    @override
    def centres(self, s: MetricCells, n: np.ndarray) -> dict[str, float]:
        return {"": _logit_clipped(s.total.sum(), n.sum())}

    @override
    def add_likelihood(self, name, s, n, eta, priors):
        pm.Binomial(f"{name}:obs", n=n.astype(np.int64), logit_p=eta[""], observed=s.total.astype(np.int64))

    @override
    def mean(self, name, s, n, eta, post):
        return expit(eta[""])


class Poisson(Family):
    """Poisson on (n, Σ y): the sum of n Poisson(μ) counts is Poisson(n μ). Log link."""

    @override
    def centres(self, s: MetricCells, n: np.ndarray) -> dict[str, float]:
        return {"": float(np.log(max(s.total.sum(), 0.5) / n.sum()))}

    @override
    def add_likelihood(self, name, s, n, eta, priors):
        pm.Poisson(f"{name}:obs", mu=n * pt.exp(eta[""]), observed=s.total.astype(np.int64))

    @override
    def mean(self, name, s, n, eta, post):
        return np.exp(eta[""])


class NegativeBinomial(Poisson):
    """Negative binomial on the per-cell frequency table of values (exact). Log link.

    ``overdispersion`` = 1/alpha, so Var = μ + overdispersion · μ²; 0 is Poisson.
    """

    @override
    def add_likelihood(self, name, s, n, eta, priors):
        assert s.freq_cell is not None
        assert s.freq_value is not None
        assert s.freq_units is not None
        over = pm.HalfNormal(f"{name}:overdispersion", sigma=priors.dispersion_sd)
        dist = pm.NegativeBinomial.dist(mu=pt.exp(eta[""])[s.freq_cell], alpha=1.0 / over)
        pm.Potential(f"{name}:loglik", pt.sum(s.freq_units * pm.logp(dist, s.freq_value)))


class Revenue(Family):
    """Hurdle: Binomial for "any revenue" (logit) and LogNormal amounts from the log statistics.

    Mean per unit = π · exp(m + σ²/2).
    """

    parts = ("any", "amount")

    @override
    def centres(self, s: MetricCells, n: np.ndarray) -> dict[str, float]:
        assert s.n_pos is not None
        assert s.sum_log is not None
        n_pos = s.n_pos.sum()
        if n_pos < 2:
            raise ModelError(
                f"metric {s.metric.name!r}: {int(n_pos)} unit(s) have positive revenue; at least 2 are "
                "needed to estimate amounts. Use a binary metric for 'any revenue' instead."
            )
        return {"any": _logit_clipped(n_pos, n.sum()), "amount": float(s.sum_log.sum() / n_pos)}

    @override
    def add_likelihood(self, name, s, n, eta, priors):
        assert s.n_pos is not None
        assert s.sum_log is not None
        assert s.sum_log_sq is not None
        pm.Binomial(
            f"{name}:any_obs",
            n=n.astype(np.int64),
            logit_p=eta["any"],
            observed=s.n_pos.astype(np.int64),
        )
        sigma = pm.HalfNormal(f"{name}:sigma", sigma=priors.sigma_sd)
        m = eta["amount"]
        quad = s.sum_log_sq - 2 * m * s.sum_log + s.n_pos * m**2
        pm.Potential(f"{name}:amount_loglik", pt.sum(-s.n_pos * pt.log(sigma) - quad / (2 * sigma**2)))

    @override
    def mean(self, name, s, n, eta, post):
        sigma = post[f"{name}:sigma"].to_numpy()
        sigma = sigma.reshape(sigma.shape + (1,) * (eta["amount"].ndim - sigma.ndim))
        return expit(eta["any"]) * np.exp(eta["amount"] + sigma**2 / 2)


class Continuous(Family):
    """Normal from (n, Σ y, Σ y²), fitted on y standardised by its pooled mean and sd."""

    @override
    def centres(self, s: MetricCells, n: np.ndarray) -> dict[str, float]:
        return {"": 0.0}

    @override
    def add_likelihood(self, name, s, n, eta, priors):
        centre, scale = _standardiser(s, n)
        z1 = (s.total - n * centre) / scale
        z2 = (s.sum_sq - 2 * centre * s.total + n * centre**2) / scale**2
        sigma = pm.HalfNormal(f"{name}:sigma", sigma=priors.sigma_sd)
        mu = eta[""]
        pm.Potential(
            f"{name}:loglik",
            pt.sum(-n * pt.log(sigma) - (z2 - 2 * mu * z1 + n * mu**2) / (2 * sigma**2)),
        )

    @override
    def mean(self, name, s, n, eta, post):
        centre, scale = _standardiser(s, n)
        return centre + scale * eta[""]


def family_for(metric: Metric) -> Family:
    """The :class:`Family` for a metric's type (and count likelihood)."""
    if metric.type == "count":
        return _FAMILIES["count:" + metric.count_likelihood]
    return _FAMILIES[metric.type]


_FAMILIES: dict[str, Family] = {
    "binary": Binary(),
    "count:negative_binomial": NegativeBinomial(),
    "count:poisson": Poisson(),
    "revenue": Revenue(),
    "continuous": Continuous(),
}


def _logit_clipped(successes: float, n: float) -> float:
    return float(logit(np.clip(successes / n, 0.5 / n, 1 - 0.5 / n)))


def _standardiser(s: MetricCells, n: np.ndarray) -> tuple[float, float]:
    total_n = n.sum()
    mean = s.total.sum() / total_n
    var = max(s.sum_sq.sum() / total_n - mean**2, 0.0)
    return float(mean), float(np.sqrt(var)) if var > 0 else 1.0


# ---- building and sampling ---------------------------------------------------------------


def _prefix(metric: Metric, part: str) -> str:
    return f"{metric.name}.{part}" if part else metric.name


@dataclass(frozen=True)
class BuiltModel:
    """A PyMC model of the cells, with each linear predictor (per cell) kept for inspection."""

    model: pm.Model
    eta: dict[str, pt.TensorVariable]

    @property
    def likelihood_terms(self) -> list[pt.TensorVariable]:
        """Observed variables and likelihood potentials (everything but the priors)."""
        return [*self.model.observed_RVs, *self.model.potentials]


def build_model(cells: Cells, spec: Spec) -> BuiltModel:
    """Build the PyMC model of every metric in ``spec`` from ``cells``."""
    coords: dict[str, list[str]] = {"treatment": list(cells.arms[1:])}
    coords.update({cov: list(lv) for cov, lv in cells.levels.items() if len(lv) > 1})
    etas: dict[str, pt.TensorVariable] = {}
    with pm.Model(coords=coords) as model:
        for metric in spec.metrics:
            family = family_for(metric)
            stats, priors = cells.metrics[metric.name], spec.priors_for(metric)
            eta = {
                part: _linear_predictor(_prefix(metric, part), centre, cells, priors)
                for part, centre in family.centres(stats, cells.n).items()
            }
            etas.update({_prefix(metric, part): e for part, e in eta.items()})
            family.add_likelihood(metric.name, stats, cells.n, eta, priors)
    return BuiltModel(model=model, eta=etas)


def _linear_predictor(prefix: str, centre: float, cells: Cells, priors: Priors) -> pt.TensorVariable:
    intercept = pm.Normal(f"{prefix}:intercept", mu=centre, sigma=priors.intercept_sd)
    arm_mu = np.array([priors.arm_mu.get(a, 0.0) for a in cells.arms[1:]])
    arm = pm.Normal(f"{prefix}:arm", mu=arm_mu, sigma=priors.arm_sd, dims="treatment")
    eta = intercept + pt.concatenate([pt.zeros(1), arm])[cells.arm_idx]
    for cov, levels in cells.levels.items():
        if len(levels) > 1:
            effect = pm.ZeroSumNormal(f"{prefix}:{cov}", sigma=priors.covariate_sd, dims=cov)
            eta = eta + effect[cells.level_idx[cov]]
    return eta


def resolve_backend(backend: str) -> str:
    """Sampler to use: nutpie when asked or when ``auto`` finds it installed, else PyMC."""
    if backend == "auto":
        return "nutpie" if importlib.util.find_spec("nutpie") else "pymc"
    return backend


def sample(
    built: BuiltModel, spec: Spec, *, seed: int | None = None, progressbar: bool = False
) -> xr.DataTree:
    """Draw from the posterior with the spec's sampler settings and seed."""
    cfg = spec.sampler
    try:
        with built.model:
            return pm.sample(
                draws=cfg.draws,
                tune=cfg.tune,
                chains=cfg.chains,
                cores=min(cfg.chains, os.cpu_count() or 1),
                target_accept=cfg.target_accept,
                random_seed=spec.seed if seed is None else seed,
                nuts_sampler=resolve_backend(cfg.backend),
                progressbar=progressbar,
                compute_convergence_checks=False,
            )
    except (ValueError, RuntimeError, FloatingPointError) as exc:
        raise ModelError(f"sampling failed: {exc}. Check the data for degenerate cells.") from exc


# ---- population means (g-computation) ----------------------------------------------------


def population_means(posterior: xr.Dataset, cells: Cells, spec: Spec) -> dict[str, xr.DataArray]:
    """Posterior of each metric's mean per unit under each arm, over the experiment's own mix.

    For arm a, the mean in every stratum is weighted by that stratum's share of all units
    (g-computation), so arms are compared on the same covariate mix.

    Returns
    -------
    dict
        Per metric name, a DataArray with dims (chain, draw, arm).
    """
    strata, weights = cells.strata()
    n_arms = len(cells.arms)
    out = {}
    for metric in spec.metrics:
        family = family_for(metric)
        eta = {}
        for part in family.parts:
            p = _prefix(metric, part)
            grid = posterior[f"{p}:intercept"].to_numpy()[..., None, None] + np.zeros((n_arms, weights.size))
            arm = posterior[f"{p}:arm"].to_numpy()
            grid[..., 1:, :] += arm[..., :, None]
            for cov, idx in strata.items():
                if f"{p}:{cov}" in posterior:
                    grid += posterior[f"{p}:{cov}"].to_numpy()[..., idx][..., None, :]
            eta[part] = grid
        means = family.mean(metric.name, cells.metrics[metric.name], cells.n, eta, posterior) @ weights
        out[metric.name] = xr.DataArray(
            means, dims=("chain", "draw", "arm"), coords={"arm": list(cells.arms)}
        )
    return out
