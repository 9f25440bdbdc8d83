"""The trial-level link: whether tests that raise engagement more also raise the outcome more.

For the tests i that measured an engagement metric and an outcome metric on the same arm
(estimates y_i = (y_e, y_o), sampling covariance S_i: the standard errors and the within-test
covariance of the two estimates)::

    θ_i ~ Normal₂(μ, Σ),   Σ = [[τ_e², ρ τ_e τ_o], [ρ τ_e τ_o, τ_o²]]     the tests' true effects
    y_i ~ Normal₂(θ_i, S_i)                                               what each test measured

so y_i ~ Normal₂(μ, Σ + S_i) with θ integrated out (bivariate random-effects meta-analysis;
Riley et al. 2007; the trial-level surrogacy of Buyse et al. 2000). The **slope** of true
outcome effects on true engagement effects is ρ τ_o / τ_e and **R²** is ρ². Leaving out the
within-test covariance would count correlated sampling error (the same units engage and book)
as a link; where a record has none it is taken as zero, and the result says so.
Priors: μ and τ as the programme model's (τ log-normal), ρ uniform on (−1, 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import lazy_loader
import numpy as np
import xarray as xr

from channelab.analysis.compiled import structure_key
from channelab.analysis.diagnostics import Diagnostics, diagnose, fit_until_converged
from channelab.analysis.learning.hierarchy import prior_vector
from channelab.analysis.learning.studies import Scale
from channelab.analysis.sampler import sample_graph
from channelab.spec import ProgrammePriors, Sampler

if TYPE_CHECKING:
    import pymc as pm
    import pytensor.tensor as pt
else:  # imported on first use: a run whose models are all compiled builds no graph
    pm = lazy_loader.load("pymc")
    pt = lazy_loader.load("pytensor.tensor", suppress_warning=True)  # pytensor: loaded anyway

__all__ = ["LinkData", "LinkDraws", "fit_link"]


@dataclass(frozen=True, slots=True)
class LinkData:
    """Paired estimates of one channel's engagement and outcome effects, test by test.

    Attributes
    ----------
    channel, engagement, outcome
        The channel and the two metrics.
    scale
        The scale of both (log lift where every test has both log lifts, else difference).
    labels
        The tests (and arms), in the order of the arrays.
    estimate
        Shape (k, 2): engagement then outcome estimate per test.
    se
        Shape (k, 2): their standard errors.
    cov
        Shape (k,): the within-test sampling covariance of the two estimates (0 where unknown).
    cov_known
        How many tests gave their within-test covariance.
    """

    channel: str
    engagement: str
    outcome: str
    scale: Scale
    labels: tuple[str, ...]
    estimate: np.ndarray
    se: np.ndarray
    cov: np.ndarray
    cov_known: int


@dataclass(frozen=True, slots=True)
class LinkDraws:
    """Posterior draws of the link model (chains stacked).

    Attributes
    ----------
    data
        What was fitted.
    mu, tau
        Shape (S, 2): the mean effects and the spreads between tests (engagement, outcome).
    rho
        Shape (S,): the correlation of true effects across tests.
    diagnostics
        Convergence of the fit.
    """

    data: LinkData
    mu: np.ndarray
    tau: np.ndarray
    rho: np.ndarray
    diagnostics: Diagnostics

    @property
    def slope(self) -> np.ndarray:
        """Draws of the slope of true outcome effects on true engagement effects."""
        return np.asarray(self.rho * self.tau[:, 1] / self.tau[:, 0])

    @property
    def r2(self) -> np.ndarray:
        """Draws of R²: the share of the spread of true outcome effects the link explains."""
        return np.asarray(self.rho**2)


def _build(data: dict[str, np.ndarray]) -> pm.Model:
    with pm.Model() as model:
        d = {name: pm.Data(name, value) for name, value in data.items()}
        mu = pm.Normal("mu", 0.0, d["prior"][0] * d["c"], shape=2)
        tau = pm.LogNormal("tau", mu=d["prior"][1] + pt.log(d["ct"]), sigma=d["prior"][2], shape=2)
        rho = pm.Uniform("rho", -1.0, 1.0)
        a = tau[0] ** 2 + d["se"][:, 0] ** 2
        b = rho * tau[0] * tau[1] + d["cov"]
        c = tau[1] ** 2 + d["se"][:, 1] ** 2
        det = a * c - b**2
        x, z = d["y"][:, 0] - mu[0], d["y"][:, 1] - mu[1]
        quad = (c * x**2 - 2 * b * x * z + a * z**2) / det
        pm.Potential("tests", -0.5 * (pt.log(det) + quad).sum())
    return model


def _scales(link: LinkData) -> tuple[np.ndarray, np.ndarray]:
    """Per metric, the prior scales of μ and τ, as the programme model's (:func:`~.hierarchy.group_scale`).

    Both are 1 on the log-lift scale; on the difference scale they are the typical magnitude
    and the spread of the estimates, noise included.
    """
    if link.scale == "loglift":
        return np.ones(2), np.ones(2)
    noise = np.median(link.se, axis=0) ** 2
    c = np.sqrt(np.mean(link.estimate**2, axis=0) + noise)
    ct = np.sqrt(np.var(link.estimate, axis=0) + noise)
    return np.where(c > 0, c, 1.0), np.where(ct > 0, ct, 1.0)


def fit_link(
    link: LinkData, *, priors: ProgrammePriors, sampler: Sampler, seed: int, hdi_prob: float
) -> LinkDraws:
    """Fit the bivariate model to one channel's paired engagement and outcome estimates.

    Parameters
    ----------
    link : LinkData
        The paired estimates (at least three tests for a slope to mean anything).
    priors : ProgrammePriors
        Priors of μ and τ (as the programme model's).
    sampler : Sampler
        Sampler settings.
    seed : int
        The first fit's seed.
    hdi_prob : float
        Interval mass of the diagnostics' summary.

    Returns
    -------
    LinkDraws
        Draws of μ, τ and ρ.
    """
    data = {
        "y": link.estimate.astype(float),
        "se": link.se.astype(float),
        "cov": link.cov.astype(float),
        "c": _scales(link)[0],
        "ct": _scales(link)[1],
        "prior": prior_vector(priors),
    }
    key = structure_key({"learning": "link"})

    def draw(settings: Sampler, run_seed: int) -> xr.DataTree:
        return sample_graph(key, data, lambda: _build(data), settings, seed=run_seed)

    def judge(posterior: xr.DataTree) -> Diagnostics:
        return diagnose(posterior, hdi_prob)

    posterior, diagnostics = fit_until_converged(draw, judge, sampler, seed, retries=sampler.retries)
    post = posterior["posterior"].to_dataset().stack(sample=("chain", "draw"))
    mu = post["mu"].transpose("sample", ...).to_numpy()
    tau = post["tau"].transpose("sample", ...).to_numpy()
    return LinkDraws(link, mu, tau, post["rho"].to_numpy(), diagnostics)
