"""The flow of one experiment: spec → checks → cells → model → posterior → effects.

Each stage hands the next a plain typed value; this module only wires them together. The
data are read once (:mod:`channelab.pipeline.read`); nothing is written here:
:mod:`channelab.app` renders and writes the outputs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import xarray as xr

from channelab.analysis.adjustment import compare as compare_adjustment
from channelab.analysis.diagnostics import Diagnostics
from channelab.analysis.effects import compute_effects
from channelab.analysis.fitting import converged_fit
from channelab.analysis.model import CellModel, build_model, sample
from channelab.analysis.results import Adjustment, Effects
from channelab.analysis.sampler import resolve_backend
from channelab.cells import Cells
from channelab.cohort.build import MatchResult
from channelab.engine import CheckReport
from channelab.pipeline.learned import LearnedStart, with_learned_priors
from channelab.pipeline.options import with_options
from channelab.pipeline.read import LabData, StepCallback, no_steps, read, read_labs
from channelab.provenance import Provenance, stamp
from channelab.spec import Sampler, Spec

if TYPE_CHECKING:  # a run without an original study imports no replication code (nor statsmodels)
    from channelab.replication.judge import ReplicationResult
    from channelab.replication.labs import LabsResult


@dataclass(frozen=True)
class Analysis:
    """Everything one run produced; the report and JSON are rendered from this alone.

    Attributes
    ----------
    spec
        The spec fitted (see :class:`~channelab.pipeline.read.Validation`).
    checks
        What the checks of the data found.
    cells
        The data reduced to cells.
    posterior
        The posterior draws (``posterior`` group) and the sampler's statistics.
    diagnostics
        The convergence gate's reading of the fit.
    effects
        Lifts, verdicts and decisions per arm and metric.
    provenance
        Who made the run from what: versions, seed, sampler, spec hash, data fingerprint.
    timings
        Seconds per step (read, sampling, effects, ...), for the appendix.
    matching
        The matched cohort and its balance, for ``design: matched``.
    replication
        The judgement against the original study, for a spec with an ``original:`` block.
    adjustment
        What the pre-period adjustment gained, for a spec that adjusts.
    learned
        How a learned-priors file (``priors.from``) was used, and the effects under the default
        priors beside them.
    labs
        A many-lab replication (``replication.labs``): each lab's effect, the pooled effect and
        the judgement on the pooled evidence.
    """

    spec: Spec
    checks: CheckReport
    cells: Cells
    posterior: xr.DataTree
    diagnostics: Diagnostics
    effects: Effects
    provenance: Provenance
    timings: dict[str, float] = field(default_factory=dict)
    matching: MatchResult | None = None
    replication: ReplicationResult | None = None
    adjustment: Adjustment | None = None
    learned: LearnedStart | None = None
    labs: LabsResult | None = None

    @property
    def data(self) -> dict[str, object]:
        """The data's fingerprint: path, size, rows and SHA-256 (from :attr:`provenance`)."""
        return dict(self.provenance.data)


def announce_compiling(built: CellModel, step: StepCallback) -> None:
    """Say on screen, with an estimate, when fitting ``built`` first compiles models new to the machine.

    Parameters
    ----------
    built
        The model about to be fitted.
    step
        The progress callback.
    """
    if new := built.compiles_first:  # about 20 s each on two cores, then loaded in under a second
        step(f"Compiling {new} model(s) new to this machine: about {20 * new} s, once (channelab warm-up)")


def fit_cells(
    cells: Cells,
    spec: Spec,
    *,
    on_step: StepCallback | None = None,
    progressbar: bool = False,
    spent: dict[str, float] | None = None,
    built: CellModel | None = None,
) -> tuple[xr.DataTree, Diagnostics]:
    """Fit the model of ``spec`` to ``cells`` through the convergence gate (refits when it fails).

    Parameters
    ----------
    cells
        The data reduced to cells.
    spec
        The spec to fit; its ``seed`` seeds the first fit (a refit draws its own from it).
    on_step
        Called with a short description of each step as it starts.
    progressbar
        Show the sampler's progress bar.
    spent
        Accumulates the seconds spent compiling and sampling (``compile_seconds``,
        ``sampling_seconds``).
    built
        The model of ``cells`` and ``spec`` when already built, perhaps with its first fit
        started (:meth:`~channelab.analysis.model.CellModel.prefetch`).

    Returns
    -------
    tuple of xarray.DataTree and Diagnostics
        The posterior of the last fit and the gate's reading of it.
    """
    step = on_step or no_steps
    built = built or build_model(cells, spec)
    announce_compiling(built, step)

    def draw(settings: Sampler, draw_seed: int) -> xr.DataTree:
        if draw_seed != spec.seed:
            step(f"Refitting after a failed convergence gate ({settings.draws:,} draws per chain)")
        posterior = sample(built, spec, seed=draw_seed, settings=settings, progressbar=progressbar)
        if spent is not None:
            for key in ("compile_seconds", "sampling_seconds"):
                spent[key] = spent.get(key, 0.0) + float(posterior.attrs.get(key, 0.0))
        return posterior

    return converged_fit(draw, cells, spec, seed=spec.seed, on_gate=lambda: step("Checking convergence"))


def analyse(
    spec: Spec,
    *,
    seed: int | None = None,
    on_step: StepCallback | None = None,
    progressbar: bool = False,
) -> Analysis:
    """Run the whole analysis of ``spec``: validate, fit, diagnose and derive effects.

    Parameters
    ----------
    spec
        The experiment, options applied (:func:`~channelab.pipeline.options.with_options`).
    seed
        Overrides ``spec.seed``, as :func:`~channelab.pipeline.options.with_options` does.
    on_step
        Called with a short description of each step as it starts.
    progressbar
        Show the sampler's progress bar.

    Returns
    -------
    Analysis
        Everything the run produced, from which the report and the JSON are rendered.
    """
    step = on_step or no_steps
    timings: dict[str, float] = {}
    with _timed(timings, "validate"):
        checked = read(with_options(spec, seed=seed), step=step)
    spec, cells, backend = checked.spec, checked.cells, resolve_backend(checked.spec.sampler.backend)
    spec, learned = with_learned_priors(spec, cells)
    labs = read_labs(spec, step=step)  # before sampling: a bad lab fails in seconds
    step(f"Sampling the posterior ({backend}, {spec.sampler.chains} chains)")
    spent: dict[str, float] = {}
    with _timed(timings, "sample"):
        posterior, diagnostics = fit_cells(cells, spec, on_step=step, progressbar=progressbar, spent=spent)
    step("Computing effects")
    with _timed(timings, "effects"):
        effects = _effects(posterior, cells, spec)
        replication, pooled = _replication(cells, spec, step, labs)
    adjustment = None
    if cells.pre_period is not None:  # the same units without adjust: what it gained
        step("Fitting without the pre-period adjustment, to show what it gained")
        with _timed(timings, "unadjusted fit"):
            adjustment = _gained(effects, cells, spec, step=step, progressbar=progressbar, spent=spent)
    if learned is not None and learned.uses:
        step("Fitting the default priors too, to show what the learned priors changed")
        with _timed(timings, "default-prior fit"):
            plain, _ = fit_cells(cells, checked.spec, on_step=step, progressbar=progressbar, spent=spent)
            learned = replace(learned, default_effects=_effects(plain, cells, checked.spec))
    timings.update(spent)
    return Analysis(
        spec=spec,
        checks=checked.checks,
        cells=cells,
        posterior=posterior,
        diagnostics=diagnostics,
        effects=effects,
        provenance=stamp(spec, seed=spec.seed, sampler=backend, data=checked.data),
        timings=timings,
        matching=checked.matching,
        replication=replication,
        adjustment=adjustment,
        learned=learned,
        labs=pooled,
    )


@contextmanager
def _timed(timings: dict[str, float], key: str) -> Iterator[None]:
    """Record the seconds the block took as ``timings[key]``."""
    start = time.perf_counter()
    yield
    timings[key] = time.perf_counter() - start


def _effects(posterior: xr.DataTree, cells: Cells, spec: Spec) -> Effects:
    """The effects of a fit (follow-through draws seeded by ``spec.seed``)."""
    return compute_effects(posterior["posterior"].to_dataset(), cells, spec, seed=spec.seed)


def _replication(
    cells: Cells, spec: Spec, step: StepCallback, labs: tuple[LabData, ...]
) -> tuple[ReplicationResult | None, LabsResult | None]:
    """The judgement against the spec's original study, if it has one, and of its labs pooled."""
    if spec.original is None:
        return None, None
    from channelab.pipeline.labs import pool_labs
    from channelab.replication.judge import judge

    step("Judging the replication against the original study")
    return judge(cells, spec), pool_labs(labs, spec, step=step) if labs else None


def _gained(
    effects: Effects,
    cells: Cells,
    spec: Spec,
    *,
    step: StepCallback,
    progressbar: bool,
    spent: dict[str, float],
) -> Adjustment:
    """What the pre-period adjustment gained: the same units fitted without it, compared."""
    plain_cells, plain_spec = cells.without_adjustment(), spec.model_copy(update={"adjust": []})
    plain, diagnostics = fit_cells(
        plain_cells, plain_spec, on_step=step, progressbar=progressbar, spent=spent
    )
    plain_effects = _effects(plain, plain_cells, plain_spec)
    return compare_adjustment(effects, plain_effects, cells, spec, unadjusted_converged=diagnostics.converged)
