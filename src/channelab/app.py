"""What each command does, end to end: load the spec, compute, render, write the outputs.

The only module that imports both computation (:mod:`channelab.pipeline`, design, replication)
and rendering (:mod:`channelab.reporting`). Every function takes the experiment file's path and
returns what it computed and wrote, so the CLI only parses arguments and prints.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from channelab.engine import Engine
from channelab.errors import SpecError
from channelab.files import check_outputs, commit, json_bytes, write_atomic
from channelab.pipeline import Analysis, StepCallback, Validation, analyse, validate
from channelab.spec import DataSource, Spec, load_spec, parse_spec

if TYPE_CHECKING:  # imported where used: a command loads only what it needs
    from channelab.design.assign import AssignmentResult
    from channelab.design.assurance import SimCallback
    from channelab.design.plan import Design
    from channelab.pipeline.monitor import Monitor
    from channelab.replication.plan import ReplicationPlan

__all__ = [
    "Assigned",
    "Matched",
    "Monitored",
    "Planned",
    "Report",
    "assign_experiment",
    "design_experiment",
    "match_experiment_cohort",
    "monitor_experiment",
    "plan_replication",
    "replicate_experiment",
    "run_experiment",
    "validate_experiment",
]


class Report(NamedTuple):
    """An analysis and the PDF and JSON written from it."""

    analysis: Analysis
    pdf: Path
    json: Path


class Planned[T](NamedTuple):
    """A plan (a design or a replication plan) and the PDF and JSON written from it."""

    result: T
    spec: Spec
    pdf: Path
    json: Path


@dataclass(frozen=True)
class Assigned:
    """An assignment of units to arms, and the CSV written."""

    spec: Spec
    result: AssignmentResult
    path: Path


@dataclass(frozen=True)
class Matched:
    """A matched cohort (the validation that built it) and the CSV written."""

    validation: Validation
    path: Path


def _noop(_: str) -> None:
    """A step callback that shows nothing."""


def _inputs_of(spec: Spec, *extra: Path) -> list[Path]:
    """Every file the spec reads (itself, its data files, its pilot) and ``extra``: never overwritten."""
    found = [*extra]
    if spec.source_path is not None:
        found.append(spec.source_path)
    for source in (spec.data, spec.plan.pilot):
        if source is not None and source.path is not None:
            path = spec.resolve_path(source.path)
            found += [Path(p) for p in glob.glob(str(path), recursive=True)] if source.is_glob else [path]
    return found


def _pair(out_dir: str | Path, stem: str) -> tuple[Path, Path]:
    """Where a report's JSON and PDF go."""
    return Path(out_dir) / f"{stem}.json", Path(out_dir) / f"{stem}.pdf"


def _commit_pair(
    paths: tuple[Path, Path], pdf: bytes, payload: dict[str, object], inputs: list[Path]
) -> tuple[Path, Path]:
    """Commit a report's JSON and PDF together (:func:`channelab.files.commit`); (pdf, json)."""
    js, pd = paths
    commit({js: json_bytes(payload), pd: pdf}, inputs=inputs)
    return pd, js


def _revised(spec: Spec, **changes: object) -> Spec:
    """``spec`` with ``changes`` (from the command line), validated again as a whole."""
    return parse_spec({**spec.model_dump(exclude_unset=True), **changes}, source=spec.source_path)


class Monitored(NamedTuple):
    """Every look of a monitored test and the PDF and JSON written from them."""

    monitor: Monitor
    pdf: Path
    json: Path


def monitor_experiment(
    path: str | Path,
    *,
    out_dir: str | Path = "reports",
    as_of: date | None = None,
    every: str | int | None = None,
    seed: int | None = None,
    on_step: StepCallback | None = None,
) -> Monitored:
    """Analyse the test at ``path`` at every look up to ``as_of``; write ``OUT/NAME.monitor.{pdf,json}``.

    ``every`` (``week``, ``day`` or a number of days) overrides the spec's ``monitor.every``.
    """
    from channelab.pipeline.monitor import monitor
    from channelab.reporting.json_report import monitor_json
    from channelab.reporting.pdf.monitor import monitor_pdf

    step = on_step or _noop
    spec = load_spec(path)
    if every is not None:
        spec = _revised(spec, monitor={**spec.monitor.model_dump(exclude_unset=True), "every": every})
    if as_of is not None:
        spec = _revised(spec, as_of=as_of)
    paths, inputs = _pair(out_dir, f"{spec.name}.monitor"), _inputs_of(spec)
    check_outputs(paths, inputs=inputs)
    result = monitor(spec, seed=seed, on_step=step)
    step("Drawing figures and writing the PDF and JSON")
    pdf, js = _commit_pair(paths, monitor_pdf(result), monitor_json(result), inputs)
    return Monitored(result, pdf, js)


def run_experiment(
    path: str | Path,
    *,
    out_dir: str | Path = "reports",
    seed: int | None = None,
    data: str | Path | None = None,
    engine: Engine | None = None,
    as_of: date | None = None,
    on_step: StepCallback | None = None,
    progressbar: bool = False,
) -> Report:
    """Analyse the experiment at ``path`` and write ``OUT/NAME.pdf`` and ``OUT/NAME.json``.

    ``data`` analyses another data file with the same spec (e.g. a second replication);
    the outputs are then named ``NAME.DATASTEM``. ``engine`` overrides the spec's engine and
    ``as_of`` its analysis date.
    """
    step = on_step or _noop
    spec = load_spec(path)
    stem = spec.name
    if data is not None:
        data = Path(data).resolve()
        stem = f"{spec.name}.{data.stem}"
        given = (
            DataSource(path=data)
            if spec.data is None or spec.data.summaries is not None
            else spec.data.model_copy(update={"path": data})
        )
        spec = spec.model_copy(update={"data": given})
    if engine is not None and engine != spec.engine:
        spec = _revised(spec, engine=engine)
    if as_of is not None:
        spec = _revised(spec, as_of=as_of)
    paths, inputs = _pair(out_dir, stem), _inputs_of(spec)
    check_outputs(paths, inputs=inputs)  # a bad --out fails now, not after the fit
    analysis = analyse(spec, seed=seed, on_step=step, progressbar=progressbar)
    from channelab.reporting.json_report import analysis_json
    from channelab.reporting.pdf.analysis import analysis_pdf

    step("Drawing figures and writing the PDF and JSON")
    pdf, js = _commit_pair(paths, analysis_pdf(analysis), analysis_json(analysis), inputs)
    return Report(analysis, pdf, js)


def validate_experiment(path: str | Path, *, on_step: StepCallback | None = None) -> Validation:
    """Check the experiment at ``path`` and its data, and reduce them to cells; no fitting."""
    return validate(load_spec(path), on_step=on_step)


def design_experiment(
    path: str | Path,
    *,
    out_dir: str | Path = "reports",
    sims: int | None = None,
    rule_sims: int | None = None,
    seed: int | None = None,
    on_step: StepCallback | None = None,
    on_sim: SimCallback | None = None,
) -> Planned[Design]:
    """Plan the experiment at ``path`` and write ``OUT/NAME.design.pdf`` and ``.json``.

    ``sims`` and ``rule_sims`` override the simulations of assurance and of the stopping rule.
    """
    from channelab.design.plan import design
    from channelab.reporting.json_report import design_json
    from channelab.reporting.pdf.design import design_pdf

    spec = load_spec(path)
    paths, inputs = _pair(out_dir, f"{spec.name}.design"), _inputs_of(spec)
    check_outputs(paths, inputs=inputs)
    result = design(spec, sims=sims, rule_sims=rule_sims, seed=seed, on_step=on_step, on_sim=on_sim)
    pdf, js = _commit_pair(paths, design_pdf(result), design_json(result), inputs)
    return Planned(result, spec, pdf, js)


def plan_replication(
    path: str | Path,
    *,
    out_dir: str | Path = "reports",
    seed: int | None = None,
    on_step: StepCallback | None = None,
) -> Planned[ReplicationPlan]:
    """Plan a replication of the study in ``path``'s ``original:`` block; write ``NAME.plan.*``."""
    from channelab.replication.original import original_study
    from channelab.replication.plan import plan
    from channelab.reporting.json_report import plan_json
    from channelab.reporting.pdf.replication import plan_pdf

    spec = load_spec(path)
    original_study(spec)  # refuses a spec without an original study, before any work
    paths, inputs = _pair(out_dir, f"{spec.name}.plan"), _inputs_of(spec)
    check_outputs(paths, inputs=inputs)
    (on_step or _noop)("Planning sample sizes and simulating replication Bayes factors")
    result = plan(spec, seed=seed)
    pdf, js = _commit_pair(paths, plan_pdf(result, spec), plan_json(result), inputs)
    return Planned(result, spec, pdf, js)


def replicate_experiment(
    path: str | Path,
    *,
    out_dir: str | Path = "reports",
    seed: int | None = None,
    data: str | Path | None = None,
    on_step: StepCallback | None = None,
) -> Report:
    """Judge replication data against the original study in ``path`` (the full report)."""
    from channelab.replication.original import original_study

    original_study(load_spec(path))
    return run_experiment(path, out_dir=out_dir, seed=seed, data=data, on_step=on_step)


def assign_experiment(
    path: str | Path, *, units: str | Path, out: str | Path, seed: int | None = None
) -> Assigned:
    """Randomise the units file to the arms of the experiment at ``path``; write the CSV to ``out``."""
    from channelab.design.assign import assign, read_units, write_assignment

    spec = load_spec(path)
    units, out = Path(units), Path(out)
    inputs = _inputs_of(spec, units)
    check_outputs([out], inputs=inputs)
    rows = read_units(units)
    result = assign(spec, rows, seed=spec.seed if seed is None else seed, name=str(units))
    return Assigned(spec, result, write_assignment(result, out, inputs=inputs))


def match_experiment_cohort(
    path: str | Path, *, out: str | Path, on_step: StepCallback | None = None
) -> Matched:
    """Build the matched cohort of a ``design: matched`` experiment; write it with weights to ``out``."""
    spec = load_spec(path)
    if spec.design != "matched":
        raise SpecError(f"{path}: design is {spec.design!r}; `channelab match` needs design: matched.")
    inputs = _inputs_of(spec)
    check_outputs([Path(out)], inputs=inputs)
    checked = validate(spec, on_step=on_step)
    if checked.matching is None:  # pragma: no cover - design: matched always matches
        raise SpecError(f"{path}: no matched cohort was built.")
    units = checked.matching.matched.units
    kept = units[units["weight"] > 0]
    written = write_atomic(Path(out), kept.to_csv(index=False, lineterminator="\n").encode(), inputs=inputs)
    return Matched(checked, written)
