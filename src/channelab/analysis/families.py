"""Model families: the PyMC likelihood and mean function of each family, from its cell statistics.

One class per family of the likelihood table (:mod:`channelab.likelihoods`), keyed by its
``family`` in :data:`FAMILIES`; each reads its own typed cell statistics
(:data:`channelab.cells.CELLS`). Every likelihood equals the row-level one up to a constant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, override

import lazy_loader
import numpy as np
import xarray as xr
from scipy.special import expit, logit

from channelab.analysis.family_base import (
    Family,
    GroupEstimates,
    Tensor,
    Tensors,
    by_group,
    expand,
    tensor_sum,
    units,
)
from channelab.analysis.ratio import Ratio
from channelab.analysis.survival import Survival
from channelab.cells import CountCells, HurdleCells, MetricCells, NormalCells, PrePeriod, RateCells
from channelab.errors import ModelError
from channelab.spec import Metric, Priors

if TYPE_CHECKING:
    import pymc as pm
    import pytensor.tensor as pt
else:  # imported on first use: a run whose models are all compiled builds no graph
    pm = lazy_loader.load("pymc")
    pt = lazy_loader.load("pytensor.tensor", suppress_warning=True)  # pytensor: loaded anyway


class Binary(Family[RateCells]):
    """Binomial on (trials, successes), logit link.

    Trials are the units or, for a metric with a denominator, the units who reached the earlier
    stage (its rate is then conditional on that stage).
    """

    @override
    def data(self, name: str, s: RateCells, n: np.ndarray) -> dict[str, np.ndarray]:
        trials = n if s.trials is None else s.trials
        return {
            f"{name}:successes": s.total,
            f"{name}:trials": trials,
            f"{name}:centre": _logit_clipped(s.total.sum(), max(trials.sum(), 1.0)),
        }

    @override
    def add_likelihood(self, name: str, d: Tensors, eta: Tensors, priors: Priors) -> None:
        _binomial_kernel(f"{name}:loglik", d[f"{name}:successes"], d[f"{name}:trials"], eta[""])

    @override
    def mean(
        self, name: str, s: RateCells, n: np.ndarray, eta: dict[str, np.ndarray], post: xr.Dataset
    ) -> np.ndarray:
        rate: np.ndarray = expit(eta[""])
        return rate

    @override
    def group_estimates(
        self, s: RateCells, n: np.ndarray, group: np.ndarray, n_groups: int
    ) -> dict[str, GroupEstimates]:
        trials = n if s.trials is None else s.trials
        return {"": _logit_estimates(by_group(s.total, group, n_groups), by_group(trials, group, n_groups))}


class Poisson[C: MetricCells](Family[C]):
    """Poisson on (n, Σ y): the sum of n Poisson(μ) counts is Poisson(n μ). Log link."""

    @override
    def data(self, name: str, s: C, n: np.ndarray) -> dict[str, np.ndarray]:
        return {
            f"{name}:total": s.total,
            f"{name}:centre": _log_mean(s.total.sum(), n.sum()),
        }

    @override
    def add_likelihood(self, name: str, d: Tensors, eta: Tensors, priors: Priors) -> None:
        # Σ y over n units is Poisson(n μ): kernel S η − n e^η (weights scale S and n alike)
        pm.Potential(
            f"{name}:loglik", tensor_sum(d[f"{name}:total"] * eta[""] - units(d, name) * pt.exp(eta[""]))
        )

    @override
    def mean(
        self, name: str, s: C, n: np.ndarray, eta: dict[str, np.ndarray], post: xr.Dataset
    ) -> np.ndarray:
        return np.exp(eta[""])

    @override
    def group_estimates(
        self, s: C, n: np.ndarray, group: np.ndarray, n_groups: int
    ) -> dict[str, GroupEstimates]:
        total = np.maximum(by_group(s.total, group, n_groups), 0.5)
        return {"": (np.log(total / by_group(n, group, n_groups)), 1 / np.sqrt(total))}


class NegativeBinomial(Poisson[CountCells]):
    """Negative binomial from the frequency table of values, exactly and cheaply. Log link.

    ``overdispersion`` φ = 1/α, so Var = μ + φ μ²; 0 is Poisson. With α shared by all cells,
    the log-likelihood splits into a per-cell part that needs only (n, Σ y) and a part that
    needs only how many units took each value, over all cells (Σ_v W_v v = Σ_c S_c)::

        Σ_c [-n_c log1p(μ_c φ) / φ + S_c (log μ_c - log1p(μ_c φ))]
        + Σ_v W_v [lgamma(v + α) - lgamma(α) - v log α]      (+ a constant)

    so a gradient costs one term per cell plus one per distinct value. Written this way every
    term stays finite and accurate as φ → 0 (the Poisson limit), where the textbook form
    subtracts numbers of size α log α and a chain can lose its way.
    """

    @override
    def data(self, name: str, s: CountCells, n: np.ndarray) -> dict[str, np.ndarray]:
        values, inverse = np.unique(s.frequencies.value, return_inverse=True)
        units = np.bincount(inverse, weights=s.frequencies.units, minlength=values.size)
        if not np.isclose(units @ values, s.total.sum(), rtol=1e-9):
            raise ModelError(f"metric {name!r}: the frequency table does not add up to the cell totals")
        return {
            f"{name}:total": s.total,
            f"{name}:values": values.astype(np.float64),
            f"{name}:value_units": units,
            f"{name}:centre": _log_mean(s.total.sum(), n.sum()),
        }

    @override
    def add_likelihood(self, name: str, d: Tensors, eta: Tensors, priors: Priors) -> None:
        over: Tensor = pm.HalfNormal(f"{name}:overdispersion", sigma=priors.dispersion_sd)
        log1p_mu_over: Tensor = pt.log1p(pt.exp(eta[""]) * over)  # log(1 + μ φ)
        per_cell: Tensor = -units(d, name) * log1p_mu_over / over + d[f"{name}:total"] * (
            eta[""] - log1p_mu_over
        )
        per_value: Tensor = d[f"{name}:value_units"] * _log_rising_ratio(d[f"{name}:values"], over)
        pm.Potential(f"{name}:loglik", tensor_sum(per_cell) + tensor_sum(per_value))


def _log_rising_ratio(v: Tensor, over: Tensor) -> Tensor:
    """lgamma(v + α) − lgamma(α) − v log α with α = 1/φ, accurate for any φ > 0.

    Directly while v φ ≥ 1e-4; below, where the direct form loses digits to cancellation, by
    its series in φ, v(v−1)/2 φ − v(v−1)(2v−1)/12 φ² + v²(v−1)²/12 φ³ (relative error under
    (v φ)² ≈ 1e-8).
    """
    alpha: Tensor = 1.0 / over
    direct: Tensor = pt.gammaln(v + alpha) - pt.gammaln(alpha) - v * pt.log(alpha)
    series: Tensor = (
        v * (v - 1) / 2 * over - v * (v - 1) * (2 * v - 1) / 12 * over**2 + v**2 * (v - 1) ** 2 / 12 * over**3
    )
    ratio: Tensor = pt.switch(v * over < 1e-4, series, direct)
    return ratio


class Revenue(Family[HurdleCells]):
    """Hurdle: Binomial for "any revenue" (logit) and LogNormal amounts from the log statistics.

    Mean per unit = π · exp(m + σ²/2).
    """

    parts = ("any", "amount")

    @override
    def data(self, name: str, s: HurdleCells, n: np.ndarray) -> dict[str, np.ndarray]:
        n_pos = s.n_pos.sum()
        if n_pos < 2:
            raise ModelError(
                f"metric {name!r}: {int(n_pos)} unit(s) have positive revenue; at least 2 are "
                "needed to estimate amounts. Use a binary metric for 'any revenue' instead."
            )
        return {
            f"{name}:n_pos": s.n_pos,
            f"{name}:sum_log": s.sum_log,
            f"{name}:sum_log_sq": s.sum_log_sq,
            f"{name}.any:centre": _logit_clipped(n_pos, n.sum()),
            f"{name}.amount:centre": np.asarray(s.sum_log.sum() / n_pos, dtype=np.float64),
        }

    @override
    def add_likelihood(self, name: str, d: Tensors, eta: Tensors, priors: Priors) -> None:
        _binomial_kernel(f"{name}:any_loglik", d[f"{name}:n_pos"], units(d, name), eta["any"])
        sigma: Tensor = pm.HalfNormal(f"{name}:sigma", sigma=priors.sigma_sd)
        m, k = eta["amount"], d[f"{name}:n_pos"]
        quad: Tensor = d[f"{name}:sum_log_sq"] - 2 * m * d[f"{name}:sum_log"] + k * m**2
        pm.Potential(f"{name}:amount_loglik", tensor_sum(-k * pt.log(sigma) - quad / (2 * sigma**2)))

    @override
    def mean(
        self, name: str, s: HurdleCells, n: np.ndarray, eta: dict[str, np.ndarray], post: xr.Dataset
    ) -> np.ndarray:
        sigma = expand(post[f"{name}:sigma"].to_numpy(), eta["amount"].ndim)
        any_revenue: np.ndarray = expit(eta["any"])
        return any_revenue * np.exp(eta["amount"] + sigma**2 / 2)

    @override
    def group_estimates(
        self, s: HurdleCells, n: np.ndarray, group: np.ndarray, n_groups: int
    ) -> dict[str, GroupEstimates]:
        k = by_group(s.n_pos, group, n_groups)
        with np.errstate(divide="ignore", invalid="ignore"):  # groups without deals: NaN
            mean_log = np.where(k > 0, by_group(s.sum_log, group, n_groups) / k, np.nan)
            pooled = s.sum_log.sum() / s.n_pos.sum()
            sd_log = np.sqrt(max(s.sum_log_sq.sum() / s.n_pos.sum() - pooled**2, 1e-12))
            se = np.where(k > 0, sd_log / np.sqrt(k), np.nan)
        return {
            "any": _logit_estimates(by_group(s.n_pos, group, n_groups), by_group(n, group, n_groups)),
            "amount": (mean_log, se),
        }


class Normal(Family[NormalCells]):
    """Normal from (n, Σ y, Σ y²) with one spread per arm, fitted on y standardised by its pooled mean and sd.

    The family of every metric modelled by its cell means: ``continuous``, and revenue or counts
    as ``cell_means``. The estimand is the mean per unit, so the likelihood is the one whose
    arm means are the sample means whatever the shape of the values (zeros, a few large deals,
    bounded orders): with many units each cell's mean is close to normal (central limit
    theorem). One spread per arm gives a difference Welch's, not the pooled, variance: with a
    single spread, a small arm that varies more than a large control borrows the control's
    precision (10,000 units of sd 1 against 100 of sd 5 gave an interval 0.24x Welch's).

    The spread is per arm, not per arm × stratum: randomisation justifies the per-arm variance
    (Neyman's, Welch's) whatever the strata, and an arm's spread pooled over its strata gives
    the g-computed mean its variance. With strata whose spreads differ fourfold, in opposite
    directions in the two arms, the posterior sd of the difference was within 2 % of the
    post-stratified (per-cell Neyman) standard error. A spread per cell would add a parameter
    per stratum (and cluster), many resting on a few units: a cell of one unit says nothing of
    its spread, so its sd would be the prior's.

    With pre-period columns u (standardised over all units), each unit's mean is the cell's
    plus its arm's slopes times u (ANCOVA with a slope per arm, as Lin 2013 recommends), and
    the likelihood stays exact from cell sums: the residual sum of squares needs only Σ z,
    Σ z², Σ u, Σ u uᵀ and Σ u z. As u averages 0 over the units, the population mean is
    unchanged: the adjustment moves precision, not the estimand.
    """

    @override
    def data(self, name: str, s: NormalCells, n: np.ndarray) -> dict[str, np.ndarray]:
        centre, scale = standardiser(s, n)
        return {
            f"{name}:z_sum": (s.total - n * centre) / scale,
            f"{name}:z_sum_sq": (s.sum_sq - 2 * centre * s.total + n * centre**2) / scale**2,
            f"{name}:centre": np.asarray(0.0),
        }

    @override
    def adjustment_data(
        self, name: str, s: NormalCells, n: np.ndarray, pre: PrePeriod
    ) -> dict[str, np.ndarray]:
        if s.sum_xy is None:
            raise ModelError(f"metric {name!r}: cells carry no Σ x y for the adjusted columns")
        centre, scale = standardiser(s, n)
        mean, sd = pre.moments(n)
        uz = s.sum_xy - centre * pre.sum_x - s.total[:, None] * mean + n[:, None] * centre * mean
        return {f"{name}:uz_sum": uz / (sd * scale)}

    @override
    def add_likelihood(self, name: str, d: Tensors, eta: Tensors, priors: Priors) -> None:
        # one sd of the standardised values per arm
        sigma: Tensor = pm.HalfNormal(f"{name}:sigma", sigma=priors.sigma_sd, dims="arm")[d["arm_idx"]]
        mu, n = eta[""], units(d, name)
        quad: Tensor = d[f"{name}:z_sum_sq"] - 2 * mu * d[f"{name}:z_sum"] + n * mu**2
        if f"{name}:uz_sum" in d:  # Σ (z − μ − b·u)² = the above − 2 b·Σuz + 2 μ b·Σu + b Σuuᵀ b
            b: Tensor = pm.Normal(f"{name}:slope", 0.0, priors.slope_sd, dims=("arm", "adjust"))[d["arm_idx"]]
            u, uu = d["adjust:u_sum"], d["adjust:uu_sum"]
            quad += (
                -2 * tensor_sum(b * d[f"{name}:uz_sum"], axis=1)
                + 2 * mu * tensor_sum(b * u, axis=1)
                + tensor_sum(b[:, :, None] * uu * b[:, None, :], axis=(1, 2))
            )
        pm.Potential(f"{name}:loglik", tensor_sum(-n * pt.log(sigma) - quad / (2 * sigma**2)))

    @override
    def mean(
        self, name: str, s: NormalCells, n: np.ndarray, eta: dict[str, np.ndarray], post: xr.Dataset
    ) -> np.ndarray:
        centre, scale = standardiser(s, n)
        return centre + scale * eta[""]

    @override
    def group_estimates(
        self, s: NormalCells, n: np.ndarray, group: np.ndarray, n_groups: int
    ) -> dict[str, GroupEstimates]:
        """Each group's standardised mean; its standard error from its own sd (pooled below 2 units)."""
        _, scale = standardiser(s, n)
        units = by_group(n, group, n_groups)
        total, sum_sq = by_group(s.total, group, n_groups), by_group(s.sum_sq, group, n_groups)
        with np.errstate(divide="ignore", invalid="ignore"):  # groups without units: NaN
            mean = total / units
            var = (sum_sq - units * mean**2) / (units - 1)
            sd = np.where((units >= 2) & (var > 0), np.sqrt(var) / scale, 1.0)
            return {"": (mean / scale, sd / np.sqrt(units))}


def _binomial_kernel(name: str, successes: Tensor, n: Tensor, eta: Tensor) -> None:
    """Binomial log-likelihood on the logit scale, without the constant log C(n, k).

    Written as a potential so that weighted (non-integer) counts from matching are allowed;
    with whole counts it equals ``pm.Binomial`` up to that constant.
    """
    pm.Potential(name, tensor_sum(-successes * pt.softplus(-eta) - (n - successes) * pt.softplus(eta)))


def family_for(metric: Metric) -> Family[Any]:
    """The :class:`Family` of a metric's likelihood (its row of :mod:`channelab.likelihoods`).

    Parameters
    ----------
    metric
        The metric; its :attr:`~channelab.spec.Metric.likelihood` names the family.
    """
    return FAMILIES[metric.likelihood.family]


#: The PyMC likelihood of each family of the table (:attr:`channelab.likelihoods.Likelihood.family`).
FAMILIES: dict[str, Family[Any]] = {
    "binomial": Binary(),
    "poisson": Poisson(),
    "negative_binomial": NegativeBinomial(),
    "lognormal_hurdle": Revenue(),
    "normal": Normal(),
    "piecewise_exponential": Survival(),
    "ratio_normal": Ratio(),
}


def _logit_clipped(successes: float, n: float) -> np.ndarray:
    """Logit of the rate ``successes / n``, kept half a unit from 0 and 1."""
    return np.asarray(logit(np.clip(successes / n, 0.5 / n, 1 - 0.5 / n)), dtype=np.float64)


def _log_mean(total: float, n: float) -> np.ndarray:
    """Log of the mean per unit, with a total of at least half a unit."""
    return np.asarray(np.log(max(total, 0.5) / n), dtype=np.float64)


def standardiser(s: MetricCells, n: np.ndarray) -> tuple[float, float]:
    """Pooled mean and sd of the metric over all units (an sd of 0 reads 1)."""
    total_n = n.sum()
    mean = s.total.sum() / total_n
    var = max(s.sum_sq.sum() / total_n - mean**2, 0.0)
    return float(mean), float(np.sqrt(var)) if var > 0 else 1.0


def _logit_estimates(successes: np.ndarray, units: np.ndarray) -> GroupEstimates:
    """Logit of each group's rate and its standard error; NaN for a group without units."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.clip(successes / units, 0.5 / units, 1 - 0.5 / units)
        est, se = logit(p), np.sqrt(1 / (units * p * (1 - p)))
    empty = units <= 0
    return np.where(empty, np.nan, est), np.where(empty, np.nan, se)
