"""Commands on one experiment, end to end: run, monitor, validate, design, replicate, assign, match."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from channelab.engine import Engine
from channelab.engine.duck import matching_files
from channelab.files import check_outputs, commit, json_bytes
from channelab.pipeline import StepCallback, Validation, validate, with_options
from channelab.spec import DataSource, Spec, load_spec

if TYPE_CHECKING:  # imported where used: a command loads only what it needs (validate: no model)
    from channelab.design.assurance import SimCallback
    from channelab.design.plan import Design
    from channelab.engine.registry import Added, RecordSource
    from channelab.pipeline import Analysis
    from channelab.pipeline.looks import Monitor
    from channelab.replication.plan import ReplicationPlan
    from channelab.reporting.html import Twin

__all__ = [
    "Monitored",
    "Planned",
    "Report",
    "design_experiment",
    "monitor_experiment",
    "plan_replication",
    "replicate_experiment",
    "run_experiment",
    "validate_experiment",
]


class Report(NamedTuple):
    """An analysis and the PDF and JSON written from it (and the HTML twin, :attr:`html`).

    Attributes
    ----------
    analysis
        Everything the run produced.
    pdf, json
        The report and the JSON written.
    registry
        The registry the run's effects were added to, if any.
    added
        What was added to it (records, covariances, duplicates counted once).
    """

    analysis: Analysis
    pdf: Path
    json: Path
    registry: Path | None = None
    added: Added | None = None

    @property
    def html(self) -> Path:
        """The HTML twin, written beside the PDF (a property: the tuple still unpacks as before)."""
        return self.pdf.with_suffix(".html")


class Planned[T](NamedTuple):
    """A plan (a design or a replication plan) and the PDF and JSON written from it (and :attr:`html`).

    Attributes
    ----------
    result
        The plan.
    spec
        The spec planned, options applied.
    pdf, json
        The report and the JSON written.
    """

    result: T
    spec: Spec
    pdf: Path
    json: Path

    @property
    def html(self) -> Path:
        """The HTML twin, written beside the PDF (a property: the tuple still unpacks as before)."""
        return self.pdf.with_suffix(".html")


def _noop(_: str) -> None:
    """A step callback that shows nothing."""


def inputs_of(spec: Spec, *extra: Path) -> list[Path]:
    """Every file the spec reads (itself, data, pilot, learned priors) and ``extra``: never overwritten."""
    found = [*extra]
    if spec.source_path is not None:
        found.append(spec.source_path)
    for source in (spec.data, spec.plan.pilot):
        if source is not None and source.path is not None:
            path = spec.resolve_path(source.path)
            found += matching_files(path)
    if spec.priors.from_ is not None:
        found.append(spec.resolve_path(Path(spec.priors.from_)))
    return found


def _pair(out_dir: str | Path, stem: str) -> tuple[Path, Path, Path]:
    """Where a report's JSON, PDF and HTML twin go."""
    out = Path(out_dir)
    return out / f"{stem}.json", out / f"{stem}.pdf", out / f"{stem}.html"


def _commit_pair(
    paths: tuple[Path, Path, Path], report: Twin, payload: dict[str, object], inputs: list[Path]
) -> tuple[Path, Path]:
    """Commit a report's JSON, PDF and HTML together (:func:`channelab.files.commit`); (pdf, json)."""
    js, pd, page = paths
    commit({js: json_bytes(payload), pd: report.pdf, page: report.html}, inputs=inputs)
    return pd, js


class Monitored(NamedTuple):
    """Every look of a monitored test and the PDF and JSON written from them (and :attr:`html`).

    Attributes
    ----------
    monitor
        Every look, the decisions, and whether the test may stop.
    pdf, json
        The report and the JSON written.
    """

    monitor: Monitor
    pdf: Path
    json: Path

    @property
    def html(self) -> Path:
        """The HTML twin, written beside the PDF (a property: the tuple still unpacks as before)."""
        return self.pdf.with_suffix(".html")


def monitor_experiment(
    path: str | Path,
    *,
    out_dir: str | Path = "reports",
    as_of: date | None = None,
    every: str | int | None = None,
    seed: int | None = None,
    on_step: StepCallback | None = None,
) -> Monitored:
    """Analyse the test at ``path`` at every look up to ``as_of``; write ``OUT/NAME.monitor.{pdf,json,html}``.

    Parameters
    ----------
    path
        The experiment file (YAML).
    out_dir
        The folder the outputs are written to.
    as_of
        Overrides the spec's analysis date, the last look (default: the latest date in the data).
    every
        Overrides the spec's ``monitor.every``: ``week``, ``day`` or a number of days.
    seed
        Overrides the spec's random seed.
    on_step
        Called with a short description of each step as it starts.

    Returns
    -------
    Monitored
        The monitor and the paths written.
    """
    from channelab.pipeline.monitor import monitor
    from channelab.reporting.html import twin
    from channelab.reporting.json_report import monitor_json
    from channelab.reporting.pdf.monitor import monitor_pdf

    step = on_step or _noop
    spec = with_options(load_spec(path), seed=seed, as_of=as_of, every=every)
    paths, inputs = _pair(out_dir, f"{spec.name}.monitor"), inputs_of(spec)
    check_outputs(paths, inputs=inputs)
    result = monitor(spec, on_step=step)
    step("Drawing figures and writing the PDF, JSON and HTML")
    pdf, js = _commit_pair(paths, twin(monitor_pdf, result), monitor_json(result), inputs)
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
    registry: str | Path | None = None,
    source: RecordSource = "run",
) -> Report:
    """Analyse the experiment at ``path`` and write ``OUT/NAME.{pdf,json,html}``.

    Parameters
    ----------
    path
        The experiment file (YAML).
    out_dir
        The folder the outputs are written to.
    seed
        Overrides the spec's random seed.
    data
        Another data file to analyse with the same spec (e.g. a second replication); the
        outputs are then named ``NAME.DATASTEM``.
    engine
        Overrides the spec's engine.
    as_of
        Overrides the spec's analysis date.
    on_step
        Called with a short description of each step as it starts.
    progressbar
        Show the sampler's progress bar.
    registry
        A registry of results to add the run's effects to (else the spec's ``registry``, inside
        ``out_dir``), after the report is written, in one transaction.
    source
        What the registry records the run as: ``run`` or ``replicate``.

    Returns
    -------
    Report
        The analysis, the paths written, and what was added to a registry.
    """
    from channelab.pipeline import analyse

    step = on_step or _noop
    spec, stem = _with_data(load_spec(path), data)
    spec = with_options(spec, seed=seed, engine=engine, as_of=as_of)
    paths, inputs = _pair(out_dir, stem), inputs_of(spec)
    check_outputs(paths, inputs=inputs)  # a bad --out fails now, not after the fit
    store = None
    if registry is not None or spec.registry:  # the registry code loads only for a run that adds to one
        from channelab.app.programme import registry_for

        store = registry_for(spec, out_dir, registry)  # one of another version fails now too
    analysis = analyse(spec, on_step=step, progressbar=progressbar)
    from channelab.reporting.html import analysis_twin
    from channelab.reporting.json_report import analysis_json

    step("Drawing figures and writing the PDF, JSON and HTML")
    pdf, js = _commit_pair(paths, analysis_twin(analysis), analysis_json(analysis), inputs)
    if store is None:
        return Report(analysis, pdf, js)
    from channelab.app.programme import record_run

    step(f"Adding the effects to the registry {store}")
    added = record_run(analysis, store, source=source, inputs=inputs, report=js)
    return Report(analysis, pdf, js, store, added)


def _with_data(spec: Spec, data: str | Path | None) -> tuple[Spec, str]:
    """``spec`` reading another data file (``--data``), and the stem of its outputs (``NAME.DATASTEM``)."""
    if data is None:
        return spec, spec.name
    data = Path(data).resolve()
    given = (
        DataSource(path=data)
        if spec.data is None or spec.data.summaries is not None
        else spec.data.model_copy(update={"path": data})
    )
    return spec.model_copy(update={"data": given}), f"{spec.name}.{data.stem}"


def validate_experiment(path: str | Path, *, on_step: StepCallback | None = None) -> Validation:
    """Check the experiment at ``path`` and its data, and reduce them to cells; no fitting.

    Parameters
    ----------
    path
        The experiment file (YAML).
    on_step
        Called with a short description of each step as it starts.

    Returns
    -------
    Validation
        The spec to fit, the data's fingerprint, the checks and the cells.
    """
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
    """Plan the experiment at ``path``; write ``OUT/NAME.design.{pdf,json,html}``.

    Parameters
    ----------
    path
        The experiment file (YAML).
    out_dir
        The folder the outputs are written to.
    sims
        Overrides the assurance simulations per metric and lift (0 skips assurance).
    rule_sims
        Overrides the simulated monitored tests per metric and lift (0 skips the stopping rule).
    seed
        Overrides the spec's random seed.
    on_step
        Called with a short description of each step as it starts.
    on_sim
        Called with the simulations done and their total, as they run.

    Returns
    -------
    Planned
        The design, the spec and the paths written.
    """
    from channelab.design.plan import design
    from channelab.reporting.html import twin
    from channelab.reporting.json_report import design_json
    from channelab.reporting.pdf.design import design_pdf

    spec = with_options(load_spec(path), seed=seed)
    paths, inputs = _pair(out_dir, f"{spec.name}.design"), inputs_of(spec)
    check_outputs(paths, inputs=inputs)
    result = design(spec, sims=sims, rule_sims=rule_sims, on_step=on_step, on_sim=on_sim)
    pdf, js = _commit_pair(paths, twin(design_pdf, result), design_json(result), inputs)
    return Planned(result, spec, pdf, js)


def plan_replication(
    path: str | Path,
    *,
    out_dir: str | Path = "reports",
    seed: int | None = None,
    on_step: StepCallback | None = None,
) -> Planned[ReplicationPlan]:
    """Plan a replication of the study in ``path``'s ``original:`` block; write ``NAME.plan.*``.

    Parameters
    ----------
    path
        The experiment file (YAML).
    out_dir
        The folder the outputs are written to.
    seed
        Overrides the spec's random seed.
    on_step
        Called with a short description of each step as it starts.

    Returns
    -------
    Planned
        The replication plan, the spec and the paths written.
    """
    from channelab.replication.original import original_study
    from channelab.replication.plan import plan
    from channelab.reporting.html import twin
    from channelab.reporting.json_report import plan_json
    from channelab.reporting.pdf.replication import plan_pdf

    spec = with_options(load_spec(path), seed=seed)
    original_study(spec)  # refuses a spec without an original study, before any work
    paths, inputs = _pair(out_dir, f"{spec.name}.plan"), inputs_of(spec)
    check_outputs(paths, inputs=inputs)
    (on_step or _noop)("Planning sample sizes and simulating replication Bayes factors")
    result = plan(spec)
    pdf, js = _commit_pair(paths, twin(plan_pdf, result, spec), plan_json(result), inputs)
    return Planned(result, spec, pdf, js)


def replicate_experiment(
    path: str | Path,
    *,
    out_dir: str | Path = "reports",
    seed: int | None = None,
    data: str | Path | None = None,
    on_step: StepCallback | None = None,
    registry: str | Path | None = None,
) -> Report:
    """Judge replication data against the original study in ``path`` (the full report).

    Parameters
    ----------
    path
        The experiment file (YAML).
    out_dir
        The folder the outputs are written to.
    seed
        Overrides the spec's random seed.
    data
        The replication data, instead of the spec's (the outputs are then named ``NAME.DATASTEM``).
    on_step
        Called with a short description of each step as it starts.
    registry
        A registry of results to add the replication's effects to (else the spec's).

    Returns
    -------
    Report
        The analysis, its judgement against the original, and the paths written.
    """
    from channelab.replication.original import original_study

    original_study(load_spec(path))
    return run_experiment(
        path, out_dir=out_dir, seed=seed, data=data, on_step=on_step, registry=registry, source="replicate"
    )
