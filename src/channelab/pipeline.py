"""The flow of one experiment: spec → checks → cells → model → posterior → effects → outputs.

Each stage hands the next a plain typed value; this module only wires them together.
"""

from __future__ import annotations

import hashlib
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import xarray as xr

from channelab.cells import Cells, build_cells
from channelab.checks import CheckReport, run_checks
from channelab.diagnostics import Diagnostics, diagnose
from channelab.effects import Effects, compute_effects
from channelab.matching import WEIGHT, MatchResult, match_experiment
from channelab.model import build_model, resolve_backend, sample
from channelab.replicate import ReplicationResult, judge
from channelab.source import Engine, open_source, watch
from channelab.spec import Spec, load_spec, parse_spec

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
    data: dict[str, object]
    checks: CheckReport
    cells: Cells
    posterior: xr.DataTree
    diagnostics: Diagnostics
    effects: Effects
    provenance: dict[str, object]
    timings: dict[str, float] = field(default_factory=dict)
    matching: MatchResult | None = None
    replication: ReplicationResult | None = None


def validate(spec: Spec, *, on_step: StepCallback | None = None) -> Validation:
    """Check the spec's data and reduce it to cells; fails in seconds, before any sampling."""
    step = on_step or (lambda _: None)
    step("Reading data" + (" with Spark" if spec.engine == "spark" else ""))
    source = open_source(spec)
    step("Checking rows")
    checks = run_checks(source, spec)
    matching = None
    if spec.design == "matched":
        step(f"Matching ({spec.matching.method}) and checking balance")
        matching = match_experiment(source, spec)
    step("Aggregating cells")
    with watch(source, lambda pct: step(f"Aggregating cells ({pct:.0f} %)")):
        cells = build_cells(source, spec, weight=WEIGHT if matching else None)
    source.close()
    return Validation(spec=spec, data=source.fingerprint(), checks=checks, cells=cells, matching=matching)


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
    timings["validate"] = time.perf_counter() - t0
    step(f"Sampling the posterior ({resolve_backend(spec.sampler.backend)}, {spec.sampler.chains} chains)")
    t1 = time.perf_counter()
    built = build_model(checked.cells, spec)
    posterior = sample(built, spec, seed=seed, progressbar=progressbar)
    timings["sample"] = time.perf_counter() - t1
    step("Checking convergence and computing effects")
    t2 = time.perf_counter()
    diagnostics = diagnose(posterior, built.summary_vars, spec.hdi_prob)
    effects = compute_effects(posterior["posterior"].to_dataset(), checked.cells, spec)
    run_seed = spec.seed if seed is None else seed
    replication = None
    if spec.original is not None:
        step("Judging the replication against the original study")
        replication = judge(checked.cells, spec, seed=run_seed)
    timings["effects"] = time.perf_counter() - t2
    return Analysis(
        spec=spec,
        data=checked.data,
        checks=checked.checks,
        cells=checked.cells,
        posterior=posterior,
        diagnostics=diagnostics,
        effects=effects,
        provenance=provenance(spec, seed=run_seed),
        timings=timings,
        matching=checked.matching,
        replication=replication,
    )


def provenance(spec: Spec, *, seed: int) -> dict[str, object]:
    """Who made this output from what: package versions, seed, sampler, spec hash, time."""
    spec_bytes = spec.source_path.read_bytes() if spec.source_path else spec.model_dump_json().encode()
    return {
        "channelab": metadata.version("channelab"),
        "python": platform.python_version(),
        "pymc": metadata.version("pymc"),
        "arviz": metadata.version("arviz"),
        "sampler": resolve_backend(spec.sampler.backend),
        "seed": seed,
        "spec_path": str(spec.source_path) if spec.source_path else None,
        "spec_sha256": hashlib.sha256(spec_bytes).hexdigest(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run_experiment(
    path: str | Path,
    *,
    out_dir: str | Path = "reports",
    seed: int | None = None,
    data: str | Path | None = None,
    engine: Engine | None = None,
    on_step: StepCallback | None = None,
    progressbar: bool = False,
) -> tuple[Analysis, Path, Path]:
    """Analyse the experiment at ``path`` and write ``OUT/NAME.pdf`` and ``OUT/NAME.json``.

    ``data`` analyses another data file with the same spec (e.g. a second replication);
    the outputs are then named ``NAME.DATASTEM``. ``engine`` overrides the spec's engine.
    """
    from channelab.export import write_json
    from channelab.report import write_pdf

    spec = load_spec(path)
    stem = spec.name
    if data is not None:
        data = Path(data).resolve()
        stem = f"{spec.name}.{data.stem}"
        spec = spec.model_copy(update={"data": spec.data.model_copy(update={"path": data})})
    if engine is not None and engine != spec.engine:
        spec = parse_spec({**spec.model_dump(exclude_unset=True), "engine": engine}, source=spec.source_path)
    analysis = analyse(spec, seed=seed, on_step=on_step, progressbar=progressbar)
    out = Path(out_dir)
    step = on_step or (lambda _: None)
    step("Writing the JSON")
    json_path = write_json(analysis, out / f"{stem}.json")
    step("Drawing figures and writing the PDF")
    pdf_path = write_pdf(analysis, out / f"{stem}.pdf")
    return analysis, pdf_path, json_path
