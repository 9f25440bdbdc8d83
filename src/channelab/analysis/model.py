"""The Bayesian model of the cells: build, sample, and re-run one compiled model on new cells.

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

All data are produced by :func:`_model_data`, by name; for repeated fits they enter as
``pm.Data`` containers, so one compiled model is re-run on new cells (:class:`Refitter`).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from channelab.analysis.compiled import compile_nutpie
from channelab.analysis.families import Family, GroupEstimates, Tensors, family_for, var_prefix
from channelab.cells import Cells, MetricCells
from channelab.errors import ModelError
from channelab.spec import Priors, Sampler, Spec


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


def _model_data(cells: Cells, spec: Spec) -> dict[str, np.ndarray]:
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
    coords: dict[str, list[str]] = {"arm": list(cells.arms), "treatment": list(cells.arms[1:])}
    coords.update({cov: list(lv) for cov, lv in cells.levels.items() if len(lv) > 1})
    if cells.cluster_idx is not None:
        coords["cluster"] = list(cells.clusters)
    etas: dict[str, pt.TensorVariable] = {}
    arrays = _model_data(cells, spec)
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
                    var_prefix(metric, part),
                    data,
                    cells,
                    spec,
                    priors,
                    centred_arms=centring[part][0],
                    centred_clusters=centring[part][1],
                )
                for part in family.parts
            }
            etas.update({var_prefix(metric, part): e for part, e in eta.items()})
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
    """Draw from the posterior with the spec's sampler settings and seed.

    Ctrl-C raises :class:`KeyboardInterrupt` even when the sampler (nutpie) catches it and hands
    back a truncated trace, so that an interrupted fit is never analysed as if it were whole.
    """
    cfg = spec.sampler
    run_seed = spec.seed if seed is None else seed
    with _interrupts() as interrupted:
        try:
            if resolve_backend(cfg.backend) == "nutpie":
                posterior = sample_nutpie(built.model, cfg, seed=run_seed, progressbar=progressbar)
            else:
                with built.model:
                    posterior = pm.sample(
                        draws=cfg.draws,
                        tune=cfg.tune,
                        chains=cfg.chains,
                        cores=min(cfg.chains, os.cpu_count() or 1),
                        target_accept=cfg.target_accept,
                        random_seed=run_seed,
                        nuts_sampler="pymc",
                        progressbar=progressbar,
                        compute_convergence_checks=False,
                    )
        except (ValueError, RuntimeError, FloatingPointError) as exc:
            if interrupted:
                raise KeyboardInterrupt from None
            raise ModelError(f"sampling failed: {exc}. Check the data for degenerate cells.") from exc
    if interrupted or posterior["posterior"].sizes.get("draw", 0) < cfg.draws:
        raise KeyboardInterrupt
    return posterior


def sample_nutpie(model: pm.Model, cfg: Sampler, *, seed: int, progressbar: bool = False) -> xr.DataTree:
    """Sample ``model`` with nutpie, compiled through the on-disk cache (:mod:`.compiled`).

    The posterior's attributes record ``compile_seconds`` and ``sampling_seconds``.
    """
    start = time.perf_counter()
    compiled = compile_nutpie(model)
    compiled_at = time.perf_counter()
    trace = _run_nutpie(compiled, cfg, seed=seed, progressbar=progressbar)
    trace.attrs.update(
        compile_seconds=compiled_at - start, sampling_seconds=time.perf_counter() - compiled_at
    )
    return trace


def _run_nutpie(
    compiled: Any,
    cfg: Sampler,
    *,
    seed: int,
    draws: int | None = None,
    tune: int | None = None,
    progressbar: bool = False,
) -> xr.DataTree:
    """Run the nutpie sampler on a compiled model with the spec's settings (``draws``, ``tune`` override)."""
    import nutpie

    return nutpie.sample(
        compiled,
        draws=draws or cfg.draws,
        tune=tune or cfg.tune,
        chains=cfg.chains,
        cores=min(cfg.chains, os.cpu_count() or 1),
        seed=seed,
        target_accept=cfg.target_accept,
        save_warmup=False,
        progress_bar=progressbar,
    )


@contextmanager
def _interrupts() -> Iterator[list[bool]]:
    """Note a Ctrl-C (the list becomes non-empty) while still delivering it as usual."""
    seen: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return
    previous = signal.getsignal(signal.SIGINT)

    def note(signum: int, frame: FrameType | None) -> None:
        seen.append(True)
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGINT, note)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)


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
        self._compiled = compile_nutpie(self.built.model)

    def fit(
        self, cells: Cells, *, seed: int, draws: int | None = None, tune: int | None = None
    ) -> xr.DataTree:
        """Sample the posterior given ``cells``; ``draws`` and ``tune`` default to the spec's."""
        if (cells.arms, cells.levels, cells.clusters) != self._levels:
            raise ModelError("Refitter: the new cells have other arms, covariate levels or clusters")
        if self._compiled is None:
            self.compile()
        used = {var.name for var in self._compiled.shared_var_keys}  # e.g. no arm_idx with clusters
        compiled = self._compiled.with_data(
            **{name: value for name, value in _model_data(cells, self.spec).items() if name in used}
        )
        return _run_nutpie(compiled, self.spec.sampler, seed=seed, draws=draws, tune=tune)
