"""The Bayesian model of the cells, and the population means it implies.

It knows nothing of files, plots or reports: it takes :class:`~channelab.cells.Cells` and a
:class:`~channelab.spec.Spec`, and returns an ArviZ ``DataTree``.

Each metric gets one linear predictor per *part* (revenue has two: whether a unit spends,
and how much), on the metric's link scale::

    eta[cell] = intercept + arm[arm] + sum_k covariate_k[level_k]
                + arm_x_segment[arm, segment]     (model.lift_by, pooled toward zero)
                + cluster[cluster]                (unit.randomised_by, random intercept)

with the control arm's effect fixed at 0 and zero-sum covariate effects. Arm effects are
partially pooled toward their common mean when the spec says so (by default with three or
more treatments). Priors are documented on :class:`~channelab.spec.Priors`. Every likelihood
is written from the cell statistics and equals the row-level likelihood up to a constant.

All data are produced by :func:`model_data`, by name; for repeated fits they enter as
``pm.Data`` containers, so one compiled model is re-run on new cells (:class:`Refitter`).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Any, ClassVar, override

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from scipy.special import expit, logit

from channelab.cells import Cells, MetricCells, Strata
from channelab.errors import ModelError
from channelab.spec import Metric, Priors, Spec

Tensors = dict[str, pt.TensorVariable]
#: Raw (estimate, standard error) per group (arm or cluster) on the link scale; NaN where a
#: group has no information (e.g. no deals, so no deal amounts).
GroupEstimates = tuple[np.ndarray, np.ndarray]

# ---- families -----------------------------------------------------------------------------


class Family:
    """Likelihood and mean function of one metric type. Subclasses are a few declarative lines.

    ``data`` returns the metric's arrays by container name; ``add_likelihood`` reads them back
    as tensors. Container names are ``{metric}:{statistic}`` and ``{metric}[.part]:centre``.
    """

    parts: ClassVar[tuple[str, ...]] = ("",)

    def data(self, name: str, s: MetricCells, n: np.ndarray) -> dict[str, np.ndarray]:
        """Arrays of this metric (statistics and intercept-prior centres) by container name."""
        raise NotImplementedError

    def add_likelihood(self, name: str, d: Tensors, eta: Tensors, priors: Priors) -> None:
        """Add the cell-level likelihood of metric ``name`` to the model in context."""
        raise NotImplementedError

    def mean(
        self, name: str, s: MetricCells, n: np.ndarray, eta: dict[str, np.ndarray], post: xr.Dataset
    ) -> np.ndarray:
        """Mean per unit on the data scale, from link-scale draws with dims (chain, draw, ...)."""
        raise NotImplementedError

    def group_estimates(
        self, s: MetricCells, n: np.ndarray, group: np.ndarray, n_groups: int
    ) -> dict[str, GroupEstimates]:
        """Per part, the raw link-scale level of each group (arm, cluster) with its standard error."""
        raise NotImplementedError


class Binary(Family):
    """Binomial on (n, successes), logit link."""

    @override
    def data(self, name, s, n):
        return {
            f"{name}:successes": s.total,
            f"{name}:centre": _logit_clipped(s.total.sum(), n.sum()),
        }

    @override
    def add_likelihood(self, name, d, eta, priors):
        _binomial_kernel(f"{name}:loglik", d[f"{name}:successes"], d["n_float"], eta[""])

    @override
    def mean(self, name, s, n, eta, post):
        return expit(eta[""])

    @override
    def group_estimates(self, s, n, group, n_groups):
        return {"": _logit_estimates(_by_group(s.total, group, n_groups), _by_group(n, group, n_groups))}


class Poisson(Family):
    """Poisson on (n, Σ y): the sum of n Poisson(μ) counts is Poisson(n μ). Log link."""

    @override
    def data(self, name, s, n):
        return {
            f"{name}:total": s.total,
            f"{name}:centre": _log_mean(s.total.sum(), n.sum()),
        }

    @override
    def add_likelihood(self, name, d, eta, priors):
        # Σ y over n units is Poisson(n μ): kernel S η − n e^η (weights scale S and n alike)
        pm.Potential(f"{name}:loglik", pt.sum(d[f"{name}:total"] * eta[""] - d["n_float"] * pt.exp(eta[""])))

    @override
    def mean(self, name, s, n, eta, post):
        return np.exp(eta[""])

    @override
    def group_estimates(self, s, n, group, n_groups):
        total = np.maximum(_by_group(s.total, group, n_groups), 0.5)
        return {"": (np.log(total / _by_group(n, group, n_groups)), 1 / np.sqrt(total))}


class NegativeBinomial(Poisson):
    """Negative binomial from the frequency table of values, exactly and cheaply. Log link.

    ``overdispersion`` = 1/alpha, so Var = μ + overdispersion · μ²; 0 is Poisson. With alpha
    shared by all cells, the log-likelihood splits into a per-cell part that needs only
    (n, Σ y) and a part that needs only how many units took each value, over all cells::

        Σ_c [n_c α log(α / (α + μ_c)) + S_c log(μ_c / (α + μ_c))]
        + Σ_v W_v [lgamma(v + α) - lgamma(α)]        (+ a constant)

    so a gradient costs one term per cell plus one per distinct value.
    """

    @override
    def data(self, name, s, n):
        if s.freq_value is None or s.freq_units is None:
            raise ModelError(f"metric {name!r}: count cells carry no frequency table")
        values, inverse = np.unique(s.freq_value, return_inverse=True)
        return {
            f"{name}:total": s.total,
            f"{name}:values": values.astype(np.float64),
            f"{name}:value_units": np.bincount(inverse, weights=s.freq_units, minlength=values.size),
            f"{name}:centre": _log_mean(s.total.sum(), n.sum()),
        }

    @override
    def add_likelihood(self, name, d, eta, priors):
        over = pm.HalfNormal(f"{name}:overdispersion", sigma=priors.dispersion_sd)
        alpha = 1.0 / over
        log_alpha = pt.log(alpha)
        log_denominator = pt.logaddexp(log_alpha, eta[""])  # log(α + μ)
        per_cell = d["n_float"] * alpha * (log_alpha - log_denominator) + d[f"{name}:total"] * (
            eta[""] - log_denominator
        )
        values = d[f"{name}:values"]
        per_value = d[f"{name}:value_units"] * (pt.gammaln(values + alpha) - pt.gammaln(alpha))
        pm.Potential(f"{name}:loglik", pt.sum(per_cell) + pt.sum(per_value))


class Revenue(Family):
    """Hurdle: Binomial for "any revenue" (logit) and LogNormal amounts from the log statistics.

    Mean per unit = π · exp(m + σ²/2).
    """

    parts = ("any", "amount")

    @override
    def data(self, name, s, n):
        if s.n_pos is None or s.sum_log is None or s.sum_log_sq is None:
            raise ModelError(f"metric {name!r}: revenue cells carry no log statistics")
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
    def add_likelihood(self, name, d, eta, priors):
        _binomial_kernel(f"{name}:any_loglik", d[f"{name}:n_pos"], d["n_float"], eta["any"])
        sigma = pm.HalfNormal(f"{name}:sigma", sigma=priors.sigma_sd)
        m, k = eta["amount"], d[f"{name}:n_pos"]
        quad = d[f"{name}:sum_log_sq"] - 2 * m * d[f"{name}:sum_log"] + k * m**2
        pm.Potential(f"{name}:amount_loglik", pt.sum(-k * pt.log(sigma) - quad / (2 * sigma**2)))

    @override
    def mean(self, name, s, n, eta, post):
        sigma = _expand(post[f"{name}:sigma"].to_numpy(), eta["amount"].ndim)
        return expit(eta["any"]) * np.exp(eta["amount"] + sigma**2 / 2)

    @override
    def group_estimates(self, s, n, group, n_groups):
        if s.n_pos is None or s.sum_log is None or s.sum_log_sq is None:
            raise ModelError(f"metric {s.metric.name!r}: revenue cells carry no log statistics")
        k = _by_group(s.n_pos, group, n_groups)
        with np.errstate(divide="ignore", invalid="ignore"):  # groups without deals: NaN
            mean_log = np.where(k > 0, _by_group(s.sum_log, group, n_groups) / k, np.nan)
            pooled = s.sum_log.sum() / s.n_pos.sum()
            sd_log = np.sqrt(max(s.sum_log_sq.sum() / s.n_pos.sum() - pooled**2, 1e-12))
            se = np.where(k > 0, sd_log / np.sqrt(k), np.nan)
        return {
            "any": _logit_estimates(_by_group(s.n_pos, group, n_groups), _by_group(n, group, n_groups)),
            "amount": (mean_log, se),
        }


class Continuous(Family):
    """Normal from (n, Σ y, Σ y²), fitted on y standardised by its pooled mean and sd."""

    @override
    def data(self, name, s, n):
        centre, scale = _standardiser(s, n)
        return {
            f"{name}:z_sum": (s.total - n * centre) / scale,
            f"{name}:z_sum_sq": (s.sum_sq - 2 * centre * s.total + n * centre**2) / scale**2,
            f"{name}:centre": np.asarray(0.0),
        }

    @override
    def add_likelihood(self, name, d, eta, priors):
        sigma = pm.HalfNormal(f"{name}:sigma", sigma=priors.sigma_sd)
        mu, n = eta[""], d["n_float"]
        quad = d[f"{name}:z_sum_sq"] - 2 * mu * d[f"{name}:z_sum"] + n * mu**2
        pm.Potential(f"{name}:loglik", pt.sum(-n * pt.log(sigma) - quad / (2 * sigma**2)))

    @override
    def mean(self, name, s, n, eta, post):
        centre, scale = _standardiser(s, n)
        return centre + scale * eta[""]

    @override
    def group_estimates(self, s, n, group, n_groups):
        _, scale = _standardiser(s, n)
        units = _by_group(n, group, n_groups)
        return {"": (_by_group(s.total, group, n_groups) / units / scale, 1 / np.sqrt(units))}


def _binomial_kernel(
    name: str, successes: pt.TensorVariable, n: pt.TensorVariable, eta: pt.TensorVariable
) -> None:
    """Binomial log-likelihood on the logit scale, without the constant log C(n, k).

    Written as a potential so that weighted (non-integer) counts from matching are allowed;
    with whole counts it equals ``pm.Binomial`` up to that constant.
    """
    pm.Potential(name, pt.sum(-successes * pt.softplus(-eta) - (n - successes) * pt.softplus(eta)))


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


def _logit_clipped(successes: float, n: float) -> np.ndarray:
    return np.asarray(logit(np.clip(successes / n, 0.5 / n, 1 - 0.5 / n)), dtype=np.float64)


def _log_mean(total: float, n: float) -> np.ndarray:
    return np.asarray(np.log(max(total, 0.5) / n), dtype=np.float64)


def _standardiser(s: MetricCells, n: np.ndarray) -> tuple[float, float]:
    total_n = n.sum()
    mean = s.total.sum() / total_n
    var = max(s.sum_sq.sum() / total_n - mean**2, 0.0)
    return float(mean), float(np.sqrt(var)) if var > 0 else 1.0


def _by_group(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    return np.bincount(group, weights=values, minlength=n_groups)


def _logit_estimates(successes: np.ndarray, units: np.ndarray) -> GroupEstimates:
    p = np.clip(successes / units, 0.5 / units, 1 - 0.5 / units)
    return logit(p), np.sqrt(1 / (units * p * (1 - p)))


def centred_pooling(estimates: GroupEstimates, within: np.ndarray | None = None) -> bool:
    """Whether a set of pooled effects (arms, clusters) should use the centred parameterisation.

    Centred suits effects that differ by more than their noise (the data dominate); the
    non-centred form suits effects that are alike or noisy (the spread may be near zero, a
    funnel for the centred form). The spread is estimated by moments from the groups' raw
    estimates, less the mean of the group they sit in (``within``, e.g. each cluster's arm):
    tau² = (residual sum of squares / degrees of freedom) - mean(se²), and centred is chosen
    when tau² exceeds mean(se²). Groups without information (NaN) are left out.
    """
    est, se = estimates
    keep = np.isfinite(est) & np.isfinite(se)
    est, se = est[keep], se[keep]
    within = np.zeros(est.size, dtype=np.int64) if within is None else within[keep]
    _, within = np.unique(within, return_inverse=True)
    dof = est.size - int(within.max(initial=-1)) - 1
    if dof < 1:
        return False
    resid = est - (np.bincount(within, weights=est) / np.bincount(within))[within]
    noise = float(np.mean(se**2))
    return float(resid @ resid) / dof - noise > noise


def _expand(x: np.ndarray, ndim: int) -> np.ndarray:
    """Append axes to ``x`` until it broadcasts against an array of ``ndim`` dimensions."""
    return x.reshape(x.shape + (1,) * (ndim - x.ndim))


# ---- building -----------------------------------------------------------------------------


def _prefix(metric: Metric, part: str) -> str:
    return f"{metric.name}.{part}" if part else metric.name


def model_data(cells: Cells, spec: Spec) -> dict[str, np.ndarray]:
    """Every data-dependent array of the model, by the name of its ``pm.Data`` container."""
    data: dict[str, np.ndarray] = {
        "n_float": cells.n,
        "arm_idx": cells.arm_idx,
        **{f"level_idx:{cov}": idx for cov, idx in cells.level_idx.items()},
    }
    if cells.cluster_idx is not None:
        data["cluster_idx"] = cells.cluster_idx
        cluster_arm = np.zeros(len(cells.clusters), dtype=np.int64)
        cluster_arm[cells.cluster_idx] = cells.arm_idx  # one arm per cluster (a blocking check)
        data["cluster_arm"] = cluster_arm
    for metric in spec.metrics:
        data.update(family_for(metric).data(metric.name, cells.metrics[metric.name], cells.n))
    return data


@dataclass(frozen=True)
class BuiltModel:
    """A PyMC model of the cells, with each linear predictor (per cell) kept for inspection."""

    model: pm.Model
    eta: dict[str, pt.TensorVariable]

    @property
    def likelihood_terms(self) -> list[pt.TensorVariable]:
        """Observed variables and likelihood potentials (everything but the priors)."""
        return [*self.model.observed_RVs, *self.model.potentials]

    @property
    def summary_vars(self) -> list[str]:
        """Parameters whose convergence is checked: free variables and small deterministics."""
        return [v.name for v in (*self.model.free_RVs, *self.model.deterministics)]


def build_model(cells: Cells, spec: Spec, *, mutable: bool = False) -> BuiltModel:
    """Build the PyMC model of every metric in ``spec`` from ``cells``.

    With ``mutable`` the data enter as ``pm.Data`` containers that a compiled model can swap
    (:class:`Refitter`); otherwise as constants, which PyTensor folds into a faster graph
    (about 1.5× faster to compile and sample for a single fit).
    """
    coords: dict[str, list[str]] = {"treatment": list(cells.arms[1:])}
    coords.update({cov: list(lv) for cov, lv in cells.levels.items() if len(lv) > 1})
    if cells.cluster_idx is not None:
        coords["cluster"] = list(cells.clusters)
    etas: dict[str, pt.TensorVariable] = {}
    arrays = model_data(cells, spec)
    with pm.Model(coords=coords) as model:
        data = {
            name: pm.Data(name, value) if mutable else pt.as_tensor_variable(value, name=name)
            for name, value in arrays.items()
        }
        for metric in spec.metrics:
            family, priors = family_for(metric), spec.priors_for(metric)
            centring = _centring(family, cells.metrics[metric.name], cells, arrays.get("cluster_arm"))
            eta = {
                part: _linear_predictor(
                    _prefix(metric, part),
                    data,
                    cells,
                    spec,
                    priors,
                    centred_arms=centring[part][0],
                    centred_clusters=centring[part][1],
                )
                for part in family.parts
            }
            etas.update({_prefix(metric, part): e for part, e in eta.items()})
            family.add_likelihood(metric.name, data, eta, priors)
    return BuiltModel(model=model, eta=etas)


def _centring(
    family: Family, stats: MetricCells, cells: Cells, cluster_arm: np.ndarray | None
) -> dict[str, tuple[bool, bool]]:
    """Per part: whether pooled arm effects, and cluster effects, are centred (:func:`centred_pooling`)."""
    arms = family.group_estimates(stats, cells.n, cells.arm_idx, len(cells.arms))
    clusters = (
        family.group_estimates(stats, cells.n, cells.cluster_idx, len(cells.clusters))
        if cells.cluster_idx is not None
        else {}
    )
    return {
        part: (
            centred_pooling((est[1:], se[1:])),  # treatments only: the control is fixed at 0
            part in clusters and centred_pooling(clusters[part], within=cluster_arm),
        )
        for part, (est, se) in arms.items()
    }


def _linear_predictor(
    prefix: str,
    d: Tensors,
    cells: Cells,
    spec: Spec,
    priors: Priors,
    *,
    centred_arms: bool,
    centred_clusters: bool,
) -> pt.TensorVariable:
    intercept = pm.Normal(f"{prefix}:intercept", mu=d[f"{prefix}:centre"], sigma=priors.intercept_sd)
    arm = pt.concatenate([pt.zeros(1), _arm_effects(prefix, cells, spec, priors, centred=centred_arms)])
    if cells.cluster_idx is not None:
        eta = _cluster_levels(prefix, intercept, arm, d, priors, centred=centred_clusters)[d["cluster_idx"]]
    else:
        eta = intercept + arm[d["arm_idx"]]
    for cov, levels in cells.levels.items():
        if len(levels) > 1:
            effect = pm.ZeroSumNormal(f"{prefix}:{cov}", sigma=priors.covariate_sd, dims=cov)
            eta = eta + effect[d[f"level_idx:{cov}"]]
    by = spec.model.lift_by
    if by is not None and len(cells.levels[by]) > 1:
        spread = pm.HalfNormal(f"{prefix}:lift_by_{by}_sd", sigma=priors.heterogeneity_sd)
        z = pm.ZeroSumNormal(f"{prefix}:arm_x_{by}_z", sigma=1.0, dims=("treatment", by), n_zerosum_axes=1)
        het = pm.Deterministic(f"{prefix}:arm_x_{by}", spread * z, dims=("treatment", by))
        full = pt.concatenate([pt.zeros((1, len(cells.levels[by]))), het], axis=0)
        eta = eta + full[d["arm_idx"], d[f"level_idx:{by}"]]
    return eta


def _cluster_levels(
    prefix: str,
    intercept: pt.TensorVariable,
    arm: pt.TensorVariable,
    d: Tensors,
    priors: Priors,
    *,
    centred: bool,
) -> pt.TensorVariable:
    """Each cluster's level: intercept + its arm's effect + a random cluster effect.

    Every cluster lies in one arm, so with much data per cluster the levels are centred on
    intercept + arm (hierarchical centring: the intercept and arm effects are then informed
    through the cluster levels and mix well); with little data the effects are non-centred.
    The effects themselves are kept as ``{prefix}:cluster`` for g-computation.
    """
    spread = pm.HalfNormal(f"{prefix}:cluster_sd", sigma=priors.cluster_sd)
    expected = intercept + arm[d["cluster_arm"]]
    if centred:
        level = pm.Normal(f"{prefix}:cluster_level", expected, spread, dims="cluster")
        pm.Deterministic(f"{prefix}:cluster", level - expected, dims="cluster")
        return level
    z = pm.Normal(f"{prefix}:cluster_z", 0.0, 1.0, dims="cluster")
    return expected + pm.Deterministic(f"{prefix}:cluster", spread * z, dims="cluster")


def _arm_effects(
    prefix: str, cells: Cells, spec: Spec, priors: Priors, *, centred: bool
) -> pt.TensorVariable:
    """Arm effects: independent, or partially pooled toward their common mean.

    The pooled form is centred or non-centred per part, as :func:`centred_pooling` decides
    from the data; both define the same prior.
    """
    mu = np.array([priors.arm_mu.get(a, 0.0) for a in cells.arms[1:]])
    if not spec.pools_arms:
        return pm.Normal(f"{prefix}:arm", mu=mu, sigma=priors.arm_sd, dims="treatment")
    common = pm.Normal(f"{prefix}:arm_mean", 0.0, priors.arm_sd)
    spread = pm.HalfNormal(f"{prefix}:arm_sd", sigma=priors.arm_sd)
    if centred:
        return pm.Normal(f"{prefix}:arm", mu=mu + common, sigma=spread, dims="treatment")
    z = pm.Normal(f"{prefix}:arm_z", 0.0, 1.0, dims="treatment")
    return pm.Deterministic(f"{prefix}:arm", mu + common + spread * z, dims="treatment")


# ---- sampling -----------------------------------------------------------------------------


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


class Refitter:
    """Compile the model once, then sample it on new cells of the same design in well under a second.

    The design (arms, covariate levels, clusters) must match the cells it was built from; the
    number of cells and the statistics may change. Used by calibration, power and replication
    planning, where hundreds of fits are run. Sampling uses nutpie.
    """

    def __init__(self, cells: Cells, spec: Spec) -> None:
        self.spec = spec
        self.built = build_model(cells, spec, mutable=True)
        self._levels = (cells.arms, cells.levels, cells.clusters)
        self._compiled: Any = None

    def compile(self) -> None:
        """Compile the model (seconds); done on the first fit if not called."""
        import nutpie

        self._compiled = nutpie.compile_pymc_model(self.built.model)

    def fit(
        self, cells: Cells, *, seed: int, draws: int | None = None, tune: int | None = None
    ) -> xr.DataTree:
        """Sample the posterior given ``cells``; ``draws`` and ``tune`` default to the spec's."""
        import nutpie

        if (cells.arms, cells.levels, cells.clusters) != self._levels:
            raise ModelError("Refitter: the new cells have other arms, covariate levels or clusters")
        if self._compiled is None:
            self.compile()
        used = {var.name for var in self._compiled.shared_var_keys}  # e.g. no arm_idx with clusters
        compiled = self._compiled.with_data(
            **{name: value for name, value in model_data(cells, self.spec).items() if name in used}
        )
        cfg = self.spec.sampler
        return nutpie.sample(
            compiled,
            draws=draws or cfg.draws,
            tune=tune or cfg.tune,
            chains=cfg.chains,
            cores=min(cfg.chains, os.cpu_count() or 1),
            seed=seed,
            target_accept=cfg.target_accept,
            save_warmup=False,
            progress_bar=False,
        )


# ---- population means (g-computation) ----------------------------------------------------


def population_means(
    posterior: xr.Dataset, cells: Cells, spec: Spec, *, by: str | None = None
) -> dict[str, xr.DataArray]:
    """Posterior of each metric's mean per unit under each arm, over the experiment's own units.

    For arm a, the mean in every stratum (covariate levels and cluster) is weighted by that
    stratum's share of all units (g-computation), so arms are compared on the same mix. With
    ``by`` (a covariate), the average is taken within each of its levels instead.

    Returns
    -------
    dict
        Per metric name, a DataArray with dims (chain, draw, arm), plus ``by`` when given.
    """
    strata = cells.strata()
    if by is None:
        groups, labels = np.zeros(strata.size, dtype=np.int64), None
    else:
        groups, labels = strata.level_idx[by], list(cells.levels[by])
    n_groups = int(groups.max()) + 1
    weights = np.zeros((strata.size, n_groups))
    weights[np.arange(strata.size), groups] = strata.weights
    weights /= weights.sum(axis=0, keepdims=True)
    out = {}
    for metric in spec.metrics:
        family = family_for(metric)
        per_chain = []
        for chain in range(posterior.sizes["chain"]):  # one chain at a time bounds memory
            post = posterior.isel(chain=[chain])
            eta = {part: _eta_grid(post, _prefix(metric, part), cells, strata) for part in family.parts}
            per_chain.append(
                family.mean(metric.name, cells.metrics[metric.name], cells.n, eta, post) @ weights
            )
        means = np.concatenate(per_chain, axis=0)
        if by is None:
            out[metric.name] = xr.DataArray(
                means[..., 0], dims=("chain", "draw", "arm"), coords={"arm": list(cells.arms)}
            )
        else:
            out[metric.name] = xr.DataArray(
                means, dims=("chain", "draw", "arm", by), coords={"arm": list(cells.arms), by: labels}
            )
    return out


def _eta_grid(post: xr.Dataset, prefix: str, cells: Cells, strata: Strata) -> np.ndarray:
    """Linear predictor for every arm in every stratum: dims (chain, draw, arm, stratum)."""
    grid = _expand(post[f"{prefix}:intercept"].to_numpy(), 4) + np.zeros((len(cells.arms), strata.size))
    grid[..., 1:, :] += post[f"{prefix}:arm"].to_numpy()[..., :, None]
    for cov, idx in strata.level_idx.items():
        if f"{prefix}:{cov}" in post:
            grid += post[f"{prefix}:{cov}"].to_numpy()[..., idx][..., None, :]
        het = f"{prefix}:arm_x_{cov}"
        if het in post:
            grid[..., 1:, :] += post[het].to_numpy()[..., idx]
    if strata.cluster_idx is not None:
        grid += post[f"{prefix}:cluster"].to_numpy()[..., strata.cluster_idx][..., None, :]
    return grid
