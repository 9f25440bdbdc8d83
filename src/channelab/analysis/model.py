"""The Bayesian model of the cells: build, sample, and re-run one compiled model on new cells.

It knows nothing of files, plots or reports: it takes :class:`~channelab.cells.Cells` and a
:class:`~channelab.spec.Spec`, and returns an ArviZ ``DataTree``.

Each metric gets one linear predictor per *part* (revenue has two: whether a unit spends,
and how much), on the metric's link scale::

    eta[cell] = intercept + arm[arm] + sum_k covariate_k[level_k]
                + arm_x_segment[arm, segment]     (model.lift_by, pooled toward zero)
                + cluster[cluster]                (unit.randomised_by, random intercept)
                + stratum_j[stratum_j]            (adjust: quantile strata; not normal models)

and, for normal models with pre-period columns (``adjust``), each unit's mean adds its arm's
slopes times its standardised pre-period values (exact from the cells' sums),
with the control arm's effect fixed at 0 and zero-sum covariate effects. Arm effects are
partially pooled toward their common mean when the spec says so (by default with three or
more treatments). Priors are documented on :class:`~channelab.spec.Priors`. Every likelihood
is written from the cell statistics and equals the row-level likelihood up to a constant.
The terms every family shares are built by :mod:`.predictor`, the likelihoods by
:mod:`.families`.

All data are produced by :func:`_model_data`, by name, and enter as ``pm.Data`` containers,
so one compiled model serves any cells of the same structure: in a later run (the cache of
:mod:`.compiled`) and on new cells (:class:`Refitter`).
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

import lazy_loader
import numpy as np
import xarray as xr

from channelab.analysis.blocks import CANONICAL, Fitting, block_key, block_seed, canonical_levels
from channelab.analysis.compiled import compiled_model, is_compiled
from channelab.analysis.families import family_for
from channelab.analysis.family_base import Tensor, var_prefix
from channelab.analysis.predictor import centring, linear_predictor
from channelab.analysis.sampler import interrupts, resolve_backend, run_pymc, start_nutpie
from channelab.cells import Cells
from channelab.errors import ModelError
from channelab.spec import Metric, Sampler, Spec

if TYPE_CHECKING:
    import pymc as pm

    from channelab.likelihoods import Likelihood
else:  # imported on first use: a run whose models are all compiled builds no graph
    pm = lazy_loader.load("pymc")


def modelled(spec: Spec) -> list[Metric]:
    """The metrics the joint model fits: all but quantiles, whose posterior is drawn apart.

    Parameters
    ----------
    spec
        The experiment.
    """
    return [m for m in spec.metrics if m.likelihood.modelled]


def _model_data(cells: Cells, spec: Spec) -> dict[str, np.ndarray]:
    """Every data-dependent array of the model, by the name of its ``pm.Data`` container."""
    data = _shared_data(cells)
    for metric in modelled(spec):
        data.update(_metric_data(cells, metric, metric.name))
    return data


def _shared_data(cells: Cells, level_dims: dict[str, str] | None = None) -> dict[str, np.ndarray]:
    """The arrays every metric's model reads: units per cell, arm, levels, clusters, pre-period sums.

    ``level_dims`` names the covariates' and strata's level indices (by default their own names).
    """
    dims = level_dims or {}
    data: dict[str, np.ndarray] = {
        "n_float": cells.n,
        "arm_idx": cells.arm_idx,
        **{f"level_idx:{dims.get(cov, cov)}": idx for cov, idx in cells.level_idx.items()},
    }
    if cells.cluster_idx is not None:
        data["cluster_idx"] = cells.cluster_idx
        cluster_arm = np.zeros(len(cells.clusters), dtype=np.int64)
        cluster_arm[cells.cluster_idx] = cells.arm_idx  # one arm per cluster (a blocking check)
        data["cluster_arm"] = cluster_arm
    pre = cells.pre_period
    if pre is not None:
        data["adjust:u_sum"], data["adjust:uu_sum"] = pre.standardised(cells.n)
    return data


def _metric_data(cells: Cells, metric: Metric, name: str) -> dict[str, np.ndarray]:
    """One metric's arrays, under ``name`` (its own, or :data:`~.blocks.CANONICAL` in its block)."""
    family, stats = family_for(metric), cells.metrics[metric.name]
    units = cells.units(metric.name)
    data: dict[str, np.ndarray] = {}
    if stats.n is not None:  # its own units (an outcome window): see families.units
        data[f"{name}:n"] = units
    data.update(family.data(name, stats, units))
    pre = cells.pre_period
    if pre is not None:
        data.update(family.adjustment_data(name, stats, units, pre))
    return data


class CellModel:
    """The model of every metric in a spec, given cells: built and compiled only when needed.

    The structure (coords, centring, data layout, spec settings) is fixed on construction and
    gives the key of the compiled model (:func:`~channelab.analysis.compiled.structure_key`).
    The PyMC graph (:attr:`model`, :attr:`eta`) is built on first use, which a fit whose
    compiled model is cached never makes.

    Parameters
    ----------
    cells : Cells
        The cells to model.
    spec : Spec
        The experiment: metrics, priors and model settings.

    Attributes
    ----------
    cells, spec
        As given.
    data : dict of str to numpy.ndarray
        Every data-dependent array, by the name of its ``pm.Data`` container.
    coords : dict of str to list of str
        The model's coordinates: arms, treatments, covariate levels, clusters, pre-period columns.
    centring : dict of str to dict of str to tuple of bool
        Per metric and part: whether pooled arm effects, and cluster effects, are centred.
    metrics : list of Metric
        The metrics modelled, each fitted on its own by nutpie (:mod:`.blocks`).
    keys : list of str
        The key of each metric's compiled model in the cache (its structure without names, the
        code and the library versions).
    """

    def __init__(self, cells: Cells, spec: Spec) -> None:
        self.cells, self.spec = cells, spec
        self.data = _model_data(cells, spec)
        self.coords: dict[str, list[str]] = {"arm": list(cells.arms), "treatment": list(cells.arms[1:])}
        self.coords.update({cov: list(lv) for cov, lv in cells.levels.items() if len(lv) > 1})
        if cells.cluster_idx is not None:
            self.coords["cluster"] = list(cells.clusters)
        if cells.pre_period is not None:
            self.coords["adjust"] = list(cells.pre_period.columns)
        self.centring = {
            m.name: centring(family_for(m), cells.metrics[m.name], cells, self.data.get("cluster_arm"))
            for m in modelled(spec)
        }
        self.metrics = modelled(spec)
        self._ahead: tuple[Sampler, int, Fitting] | None = None
        self.level_dims = canonical_levels(cells.levels)
        self.keys = [
            block_key(
                m,
                spec,
                self._block_coords,
                self.centring[m.name],
                self._block_data(m, cells),
                self.level_dims,
            )
            for m in self.metrics
        ]

    @property
    def model(self) -> pm.Model:
        """The PyMC model (built on first use)."""
        return self._graph[0]

    @property
    def eta(self) -> dict[str, Tensor]:
        """Each part's linear predictor per cell, by variable prefix (built on first use)."""
        return self._graph[1]

    @property
    def likelihood_terms(self) -> list[Tensor]:
        """Observed variables and likelihood potentials (everything but the priors)."""
        return [*self.model.observed_RVs, *self.model.potentials]

    def adaptation(self, cfg: Sampler, metric: Metric | None = None) -> str:
        """The mass matrix nutpie adapts for ``metric``'s model: ``auto`` is low rank where effects correlate.

        That is where pre-period strata cross, and in a time-to-event model (arm effects,
        per-period changes and baseline steps: 82 leapfrog steps per draw with a diagonal one, 7.5).
        """
        pre = self.cells.pre_period
        correlated = (pre is not None and bool(pre.cuts)) or (metric is not None and metric.survival)
        return cfg.adaptation if cfg.adaptation != "auto" else "low_rank" if correlated else "diag"

    @property
    def compiles_first(self) -> int:
        """How many metrics' models fitting it with nutpie compiles first (each once per machine)."""
        if resolve_backend(self.spec.sampler.backend) != "nutpie":
            return 0
        return sum(not is_compiled(key) for key in dict.fromkeys(self.keys))

    def compiled(self, index: int, cells: Cells | None = None) -> Any:
        """The compiled model (nutpie's) of metric ``index``, with the data of ``cells`` (or its own)."""
        metric = self.metrics[index]
        data = self._block_data(metric, cells or self.cells)
        return compiled_model(
            self.keys[index], data, lambda: self._block_graph(metric), coords=self._block_coords
        )

    def start(
        self, cfg: Sampler, *, seed: int, cells: Cells | None = None, progressbar: bool = False
    ) -> Fitting:
        """Start sampling each metric's model with nutpie (on ``cells``, or its own), side by side.

        With a progress bar the metrics run one after the other (nutpie draws one bar at a time).
        """
        start, running = time.perf_counter(), []
        try:
            for i, metric in enumerate(self.metrics):
                adaptation = self.adaptation(cfg, metric)
                compiled = self.compiled(i, cells)
                seed_i = block_seed(seed, i)
                running.append(
                    start_nutpie(compiled, cfg, seed=seed_i, adaptation=adaptation, progressbar=progressbar)
                )
                if progressbar:
                    running[-1].wait()
        except BaseException:
            for sampler in running:
                sampler.cancel()
            raise
        names = [m.name for m in self.metrics]
        return Fitting(running, names, self.level_dims, time.perf_counter() - start)

    def prefetch(self, cfg: Sampler, *, seed: int) -> None:
        """Start fitting the model's own cells now: the next :meth:`fit` with these settings takes the draws.

        A monitor's next look samples while this one is read; a fit with other settings (a
        refit) discards the prefetched draws.
        """
        self._ahead = (cfg, seed, self.start(cfg, seed=seed))

    def fit(
        self, cfg: Sampler, *, seed: int, cells: Cells | None = None, progressbar: bool = False
    ) -> xr.DataTree:
        """Sample each metric's model with nutpie (on ``cells``, or its own) and join the draws.

        The metrics' samplers run side by side (:class:`~.blocks.Fitting`): their draws are
        those of each sampled alone. The posterior's attributes record ``compile_seconds`` and
        ``sampling_seconds``.
        """
        ahead, self._ahead = self._ahead, None
        if ahead is not None and cells is None and ahead[:2] == (cfg, seed):
            return ahead[2].wait()
        if ahead is not None:
            ahead[2].cancel()
        return self.start(cfg, seed=seed, cells=cells, progressbar=progressbar).wait()

    @property
    def _block_coords(self) -> dict[str, list[str]]:
        """The coordinates of a metric's own model: its covariates' and strata's by canonical name."""
        return {self.level_dims.get(dim, dim): labels for dim, labels in self.coords.items()}

    def _block_data(self, metric: Metric, cells: Cells) -> dict[str, np.ndarray]:
        """The data of ``metric``'s own model: the shared arrays and its own, under the canonical names."""
        return {**_shared_data(cells, self.level_dims), **_metric_data(cells, metric, CANONICAL)}

    def _block_graph(self, metric: Metric) -> pm.Model:
        """The PyMC model of ``metric`` alone, with canonical names (:mod:`.blocks`), built to compile."""
        with pm.Model(coords=self._block_coords) as model:
            data = {
                name: pm.Data(name, value) for name, value in self._block_data(metric, self.cells).items()
            }
            self._add_metric(metric, CANONICAL, data, self.level_dims)
        return model

    def _add_metric(
        self, metric: Metric, name: str, data: dict[str, Tensor], level_dims: dict[str, str] | None = None
    ) -> dict[str, Tensor]:
        """Add ``metric``'s predictors and likelihood, named ``name``, to the model in context.

        ``level_dims`` names the covariates' and strata's dimensions (by default their own names).
        """
        family, priors = family_for(metric), self.spec.priors_for(metric)
        centred = self.centring[metric.name]
        dims = level_dims or {}
        levels = {dims.get(k, k): v for k, v in _levels_used(metric.likelihood, self.cells).items()}
        by = self.spec.model.lift_by
        eta = {
            part: linear_predictor(
                f"{name}.{part}" if part else name,
                data,
                self.cells,
                self.spec,
                priors,
                centred_arms=centred[part][0],
                centred_clusters=centred[part][1],
                levels=levels,
                lift_by=dims.get(by, by) if by is not None else None,
            )
            for part in family.parts
        }
        family.add_likelihood(name, data, eta, priors)
        return {var_prefix(metric, part): e for part, e in eta.items()}

    @functools.cached_property
    def _graph(self) -> tuple[pm.Model, dict[str, Tensor]]:
        """The joint model of every metric (PyMC's own sampler fits it; nutpie fits each alone)."""
        etas: dict[str, Tensor] = {}
        with pm.Model(coords=self.coords) as model:
            data = {name: pm.Data(name, value) for name, value in self.data.items()}
            for metric in self.metrics:
                etas.update(self._add_metric(metric, metric.name, data))
        return model, etas


def build_model(cells: Cells, spec: Spec) -> CellModel:
    """The model of every metric in ``spec`` given ``cells`` (its PyMC graph is built on first use).

    The data enter as ``pm.Data`` containers, so the compiled model serves any data of the
    same structure: other runs (the on-disk cache) and other cells (:class:`Refitter`).

    Parameters
    ----------
    cells : Cells
        The cells to model: the sufficient statistics per arm and covariate level.
    spec : Spec
        The experiment: metrics and their families, priors, model settings.

    Returns
    -------
    CellModel
        The model, ready for :func:`sample`.
    """
    return CellModel(cells, spec)


def _levels_used(row: Likelihood, cells: Cells) -> dict[str, tuple[str, ...]]:
    """The levels the predictor of a metric with likelihood ``row`` has effects for.

    Covariates, and the pre-period strata unless the likelihood adjusts exactly (by slopes).
    """
    return cells.covariates if row.exact_adjustment else cells.levels


# ---- sampling -----------------------------------------------------------------------------


def sample(
    built: CellModel,
    spec: Spec,
    *,
    seed: int,
    settings: Sampler | None = None,
    progressbar: bool = False,
) -> xr.DataTree:
    """Draw from the posterior with the spec's sampler settings (or ``settings``) and ``seed``.

    Ctrl-C raises :class:`KeyboardInterrupt` even when the sampler (nutpie) catches it and hands
    back a truncated trace, so that an interrupted fit is never analysed as if it were whole.

    Parameters
    ----------
    built : CellModel
        The model to sample, from :func:`build_model`.
    spec : Spec
        The experiment; its ``sampler`` settings are used unless ``settings`` is given.
    seed : int
        The sampler's seed. The caller resolves it (a run uses the spec's ``seed`` unless told
        otherwise); the same seed gives the same draws.
    settings : Sampler, optional
        Sampler settings to use instead of the spec's (e.g. a refit's longer chains).
    progressbar : bool, default False
        Whether the sampler shows its progress bar.

    Returns
    -------
    xarray.DataTree
        The posterior, with ``posterior`` and ``sample_stats`` groups.

    Raises
    ------
    ModelError
        When the sampler fails on the data (e.g. degenerate cells).
    KeyboardInterrupt
        When sampling was interrupted, even if the sampler handed back a truncated trace.
    """
    cfg = settings or spec.sampler
    with interrupts() as interrupted:
        try:
            if resolve_backend(cfg.backend) == "nutpie":
                posterior = sample_nutpie(built, cfg, seed=seed, progressbar=progressbar)
            else:
                with built.model:
                    posterior = run_pymc(cfg, seed=seed, progressbar=progressbar)
        except (ValueError, RuntimeError, FloatingPointError) as exc:
            if interrupted:
                raise KeyboardInterrupt from None
            raise ModelError(f"sampling failed: {exc}. Check the data for degenerate cells.") from exc
    if interrupted or posterior["posterior"].sizes.get("draw", 0) < cfg.draws:
        raise KeyboardInterrupt
    return posterior


def sample_nutpie(built: CellModel, cfg: Sampler, *, seed: int, progressbar: bool = False) -> xr.DataTree:
    """Sample the model with nutpie, each metric on its own, compiled through the cache (:mod:`.compiled`).

    The posterior's attributes record ``compile_seconds`` and ``sampling_seconds``.

    Parameters
    ----------
    built : CellModel
        The model to sample.
    cfg : Sampler
        Draws, tuning steps, chains and target acceptance.
    seed : int
        nutpie's seed (each metric's fit draws its own from it, :func:`~.blocks.block_seed`).
    progressbar : bool, default False
        Whether nutpie shows its progress bar.

    Returns
    -------
    xarray.DataTree
        The posterior, without the warm-up draws.
    """
    return built.fit(cfg, seed=seed, progressbar=progressbar)


class Refitter:
    """Compile the model once, then sample it on new cells of the same design in well under a second.

    The design (arms, covariate levels, clusters) must match the cells it was built from; the
    number of cells and the statistics may change. Used by calibration, power and replication
    planning, where hundreds of fits are run. Sampling uses nutpie.

    Parameters
    ----------
    cells : Cells
        Cells of the design to fit (any data of that design will do).
    spec : Spec
        The experiment; its ``sampler`` settings are used unless a fit is given others.

    Attributes
    ----------
    spec : Spec
        As given.
    built : CellModel
        The model of ``cells``, whose compiled form every fit reuses.
    """

    def __init__(self, cells: Cells, spec: Spec) -> None:
        self.spec = spec
        self.built = build_model(cells, spec)
        self._levels = (cells.arms, cells.levels, cells.clusters)

    def compile(self) -> None:
        """Compile the model (seconds, or less from the cache); done on the first fit if not called."""
        for i in range(len(self.built.metrics)):
            self.built.compiled(i)

    def fit(self, cells: Cells, *, seed: int, settings: Sampler | None = None) -> xr.DataTree:
        """Sample the posterior given ``cells``, with the spec's sampler settings or ``settings``.

        Parameters
        ----------
        cells : Cells
            New cells of the same design (arms, covariate levels, clusters).
        seed : int
            nutpie's seed.
        settings : Sampler, optional
            Sampler settings to use instead of the spec's.

        Returns
        -------
        xarray.DataTree
            The posterior.

        Raises
        ------
        ModelError
            When ``cells`` have other arms, covariate levels or clusters than the design.
        """
        if (cells.arms, cells.levels, cells.clusters) != self._levels:
            raise ModelError("Refitter: the new cells have other arms, covariate levels or clusters")
        return self.built.fit(settings or self.spec.sampler, seed=seed, cells=cells)
