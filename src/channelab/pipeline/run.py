"""The flow of one experiment: spec → checks → cells → model → posterior → effects.

Each stage hands the next a plain typed value; this module only wires them together. It
computes and writes nothing: :mod:`channelab.app` renders and writes the outputs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import xarray as xr

from channelab.analysis.adjustment import compare as compare_adjustment
from channelab.analysis.diagnostics import Diagnostics
from channelab.analysis.effects import compute_effects
from channelab.analysis.fitting import converged_fit
from channelab.analysis.model import build_model, resolve_backend, sample
from channelab.analysis.results import Adjustment, Effects
from channelab.cells import Cells
from channelab.cohort.build import WEIGHT, MatchResult, match_experiment
from channelab.engine import CheckReport, build_cells, open_source, run_checks, watch
from channelab.engine.aggregate import summary_cells
from channelab.engine.checks import arm_units, summary_checks
from channelab.engine.timing import with_as_of
from channelab.provenance import Provenance, stamp
from channelab.replication.judge import ReplicationResult, judge
from channelab.spec import Sampler, Spec

#: Receives a short description of each step as it starts (the CLI shows it as progress).
StepCallback = Callable[[str], None]


@dataclass(frozen=True)
class Validation:
    """Result of validating a spec against its data, before any fitting."""

    spec: Spec
    data: dict[str, object]
    checks: CheckReport
    cells: Cells
    matching: MatchResult | None = None


@dataclass(frozen=True)
class Analysis:
    """Everything one run produced; the report and JSON are rendered from this alone."""

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

    @property
    def data(self) -> dict[str, object]:
        """The data's fingerprint: path, size, rows and SHA-256 (from :attr:`provenance`)."""
        return dict(self.provenance.data)


def validate(spec: Spec, *, on_step: StepCallback | None = None) -> Validation:
    """Check the spec's data and reduce it to cells; fails in seconds, before any sampling.

    The spec returned in the :class:`Validation` is the one to fit: likelihoods the data
    cannot support are replaced as the checks report (``CheckReport.fallbacks``), and a test
    put in time has its analysis date (``as_of``, by default the latest date in the data).
    Every arm must have enough units counted for every metric (:func:`arm_units`).
    """
    step = on_step or (lambda _: None)
    if spec.data is not None and spec.data.summaries is not None:
        step("Reading the published summaries")
        checks = summary_checks(spec)
        data: dict[str, object] = {"summaries": "data.summaries in the spec", "rows": checks.n_rows}
        fitted = spec.with_likelihoods(checks.fallbacks)
        cells = summary_cells(fitted)
        arm_units(cells, fitted, where=f"{spec.source_path or 'the spec'}: data.summaries")
        return Validation(spec=fitted, data=data, checks=checks, cells=cells)
    step("Reading data" + (" with Spark" if spec.engine == "spark" else ""))
    with open_source(spec) as source:
        spec = with_as_of(source, spec)
        step("Checking rows")
        checks = run_checks(source, spec)
        matching = None
        if spec.design == "matched":
            step(f"Matching ({spec.matching.method}) and checking balance")
            matching = match_experiment(source, spec)
        step("Aggregating cells")
        fitted = spec.with_likelihoods(checks.fallbacks)
        with watch(source, lambda pct: step(f"Aggregating cells ({pct:.0f} %)")):
            cells = build_cells(source, fitted, weight=WEIGHT if matching else None, weights="sampling")
        source.verify_unchanged()
        arm_units(cells, fitted, where=str(source.path))
    return Validation(spec=fitted, data=source.fingerprint(), checks=checks, cells=cells, matching=matching)


def fit_cells(
    cells: Cells,
    spec: Spec,
    *,
    seed: int,
    on_step: StepCallback | None = None,
    progressbar: bool = False,
    spent: dict[str, float] | None = None,
) -> tuple[xr.DataTree, Diagnostics]:
    """Fit the model of ``spec`` to ``cells`` through the convergence gate (refits when it fails).

    ``spent`` accumulates the seconds spent compiling and sampling.
    """
    step = on_step or (lambda _: None)
    built = build_model(cells, spec)

    def draw(settings: Sampler, draw_seed: int) -> xr.DataTree:
        if draw_seed != seed:
            step(f"Refitting after a failed convergence gate ({settings.draws:,} draws per chain)")
        posterior = sample(built, spec, seed=draw_seed, settings=settings, progressbar=progressbar)
        if spent is not None:
            for key in ("compile_seconds", "sampling_seconds"):
                spent[key] = spent.get(key, 0.0) + float(posterior.attrs.get(key, 0.0))
        return posterior

    return converged_fit(draw, cells, spec, seed=seed, on_gate=lambda: step("Checking convergence"))


def analyse(
    spec: Spec,
    *,
    seed: int | None = None,
    on_step: StepCallback | None = None,
    progressbar: bool = False,
) -> Analysis:
    """Run the whole analysis of ``spec``: validate, fit, diagnose and derive effects."""
    step = on_step or (lambda _: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    checked = validate(spec, on_step=step)
    spec = checked.spec
    timings["validate"] = time.perf_counter() - t0
    step(f"Sampling the posterior ({resolve_backend(spec.sampler.backend)}, {spec.sampler.chains} chains)")
    t1 = time.perf_counter()
    run_seed = spec.seed if seed is None else seed
    spent: dict[str, float] = {}

    def fit(cells: Cells, fitted: Spec) -> tuple[xr.DataTree, Diagnostics]:
        return fit_cells(cells, fitted, seed=run_seed, on_step=step, progressbar=progressbar, spent=spent)

    posterior, diagnostics = fit(checked.cells, spec)
    timings["sample"] = time.perf_counter() - t1
    step("Computing effects")
    t2 = time.perf_counter()
    effects = compute_effects(posterior["posterior"].to_dataset(), checked.cells, spec, seed=run_seed)
    replication = None
    if spec.original is not None:
        step("Judging the replication against the original study")
        replication = judge(checked.cells, spec, seed=run_seed)
    timings["effects"] = time.perf_counter() - t2
    adjustment = None
    if checked.cells.pre_period is not None:  # the same units without adjust: what it gained
        step("Fitting without the pre-period adjustment, to show what it gained")
        t3 = time.perf_counter()
        plain_cells, plain_spec = checked.cells.without_adjustment(), spec.model_copy(update={"adjust": []})
        plain, plain_diagnostics = fit(plain_cells, plain_spec)
        plain_effects = compute_effects(
            plain["posterior"].to_dataset(), plain_cells, plain_spec, seed=run_seed
        )
        adjustment = compare_adjustment(
            effects, plain_effects, checked.cells, spec, unadjusted_converged=plain_diagnostics.converged
        )
        timings["unadjusted fit"] = time.perf_counter() - t3
    timings.update(spent)
    return Analysis(
        spec=spec,
        checks=checked.checks,
        cells=checked.cells,
        posterior=posterior,
        diagnostics=diagnostics,
        effects=effects,
        provenance=stamp(
            spec, seed=run_seed, sampler=resolve_backend(spec.sampler.backend), data=checked.data
        ),
        timings=timings,
        matching=checked.matching,
        replication=replication,
        adjustment=adjustment,
    )
