"""The programme model: per channel and metric, a population mean effect and a spread between tests.

For the studies i of group g (estimate y_i, standard error s_i, on the group's scale)::

    θ_i ~ Normal(μ_g, τ_g)          the test's true effect
    y_i ~ Normal(θ_i, s_i)          what the test measured

with μ_g / c_g ~ Normal(0, ``mu_sd``) and log(τ_g / d_g) ~ Normal(log ``tau_median``, ``tau_log_sd``):
the spread between tests that 14,886 meta-analyses of ratio effects found (Turner et al. 2015;
:class:`~channelab.spec.ProgrammePriors`), zero density at τ = 0. c_g and d_g are 1 on the log-lift
scale; on the difference scale c_g is the group's typical magnitude (the root mean square of its
estimates and median standard error) and d_g the spread of its estimates, noise included.

The true effects are integrated out: the sampler sees y_i ~ Normal(μ_g, √(s_i² + τ_g²)) and two
parameters per group, so ten thousand records cost a few seconds. Each test's shrunken effect is
drawn afterwards, per posterior draw, from its exact conditional
Normal((τ² y + s² μ) / (s² + τ²), s τ / √(s² + τ²)): the same posterior as sampling every θ_i, at
a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import lazy_loader
import numpy as np
import xarray as xr

from channelab.analysis.compiled import structure_key
from channelab.analysis.diagnostics import Diagnostics, diagnose, fit_until_converged
from channelab.analysis.learning.studies import Group
from channelab.analysis.sampler import sample_graph
from channelab.spec import ProgrammePriors, Sampler

if TYPE_CHECKING:
    import pymc as pm
    import pytensor.tensor as pt
else:  # imported on first use: a run whose models are all compiled builds no graph
    pm = lazy_loader.load("pymc")
    pt = lazy_loader.load("pytensor.tensor", suppress_warning=True)  # pytensor: loaded anyway

__all__ = ["Hierarchy", "ProgrammePriors", "fit_hierarchy", "shrunken_draws"]


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """Posterior draws of the programme model.

    Attributes
    ----------
    groups
        The groups, in the order of the draws' last axis.
    mu, tau
        Draws of each group's mean effect and between-test spread, shape (draws, groups), on
        each group's scale.
    diagnostics
        Convergence of the fit (and its refits).
    """

    groups: tuple[Group, ...]
    mu: np.ndarray
    tau: np.ndarray
    diagnostics: Diagnostics


def group_scale(group: Group) -> tuple[float, float]:
    """The prior scales (c_μ, c_τ) of a group's mean and spread.

    Both are 1 on the log-lift scale. On the difference scale they are the group's typical
    magnitude, and the spread of its estimates with noise included: a shared level is no
    evidence of spread between tests.
    """
    if group.scale == "loglift":
        return 1.0, 1.0
    noise = float(np.median(group.se)) ** 2
    c_mu = float(np.sqrt(np.mean(group.estimate**2) + noise))
    c_tau = float(np.sqrt(np.var(group.estimate) + noise))
    return (c_mu if c_mu > 0 else 1.0), (c_tau if c_tau > 0 else 1.0)


def prior_vector(priors: ProgrammePriors) -> np.ndarray:
    """The priors as the graphs read them: (sd of μ, mean and sd of log τ)."""
    return np.array([priors.mu_sd, np.log(priors.tau_median), priors.tau_log_sd], dtype=float)


def _data(groups: Sequence[Group], priors: ProgrammePriors) -> dict[str, np.ndarray]:
    return {
        "y": np.concatenate([g.estimate for g in groups]).astype(float),
        "se": np.concatenate([g.se for g in groups]).astype(float),
        "g": np.concatenate([np.full(len(g.studies), j) for j, g in enumerate(groups)]).astype("int64"),
        "c": np.array([group_scale(g)[0] for g in groups], dtype=float),
        "ct": np.array([group_scale(g)[1] for g in groups], dtype=float),
        "prior": prior_vector(priors),
    }


def _build(n_groups: int, data: dict[str, np.ndarray]) -> pm.Model:
    with pm.Model() as model:
        d = {name: pm.Data(name, value) for name, value in data.items()}
        mu_z = pm.Normal("mu_z", 0.0, d["prior"][0], shape=n_groups)
        tau_z = pm.LogNormal("tau_z", mu=d["prior"][1], sigma=d["prior"][2], shape=n_groups)
        mu, tau = mu_z * d["c"], tau_z * d["ct"]
        sd = pt.sqrt(d["se"] ** 2 + tau[d["g"]] ** 2)
        pm.Potential("studies", pm.logp(pm.Normal.dist(mu[d["g"]], sd), d["y"]).sum())
    return model


def fit_hierarchy(
    groups: Sequence[Group], *, priors: ProgrammePriors, sampler: Sampler, seed: int, hdi_prob: float
) -> Hierarchy:
    """Fit the programme model to ``groups``, refitting until the convergence gate passes.

    Parameters
    ----------
    groups : sequence of Group
        The studies by channel and metric (:func:`~.studies.group_studies`).
    priors : ProgrammePriors
        Priors of μ and τ.
    sampler : Sampler
        Sampler settings (draws, chains, refits).
    seed : int
        The first fit's seed; refit k uses seed + k.
    hdi_prob : float
        Interval mass of the diagnostics' summary.

    Returns
    -------
    Hierarchy
        Draws of μ and τ per group (chains stacked), with the diagnostics.
    """
    data = _data(groups, priors)
    key = structure_key({"learning": "hierarchy", "groups": len(groups)})

    def draw(settings: Sampler, run_seed: int) -> xr.DataTree:
        return sample_graph(key, data, lambda: _build(len(groups), data), settings, seed=run_seed)

    def judge(posterior: xr.DataTree) -> Diagnostics:
        return diagnose(posterior, hdi_prob)

    posterior, diagnostics = fit_until_converged(draw, judge, sampler, seed, retries=sampler.retries)
    post = posterior["posterior"].to_dataset()
    stack = ("chain", "draw")
    mu = post["mu_z"].stack(sample=stack).transpose("sample", ...).to_numpy() * data["c"]
    tau = post["tau_z"].stack(sample=stack).transpose("sample", ...).to_numpy() * data["ct"]
    return Hierarchy(tuple(groups), mu, tau, diagnostics)


def shrunken_draws(
    estimate: np.ndarray, se: np.ndarray, mu: np.ndarray, tau: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Draws of each test's true effect given the data and the draws of μ and τ of its group.

    Parameters
    ----------
    estimate, se : numpy.ndarray
        The tests' estimates and standard errors, shape (k,).
    mu, tau : numpy.ndarray
        Draws of the group's mean and spread, shape (S,).
    rng : numpy.random.Generator
        The source of the conditional draws.

    Returns
    -------
    numpy.ndarray
        Shape (S, k): one draw of every test's true effect per posterior draw.
    """
    s2, t2 = se[None, :] ** 2, tau[:, None] ** 2
    total = s2 + t2
    mean = (t2 * estimate[None, :] + s2 * mu[:, None]) / total
    sd = np.sqrt(s2 * t2 / total)
    return np.asarray(mean + sd * rng.standard_normal(mean.shape))
