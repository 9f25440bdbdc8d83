"""The read step of every flow: the spec's data opened, checked and reduced to cells.

:func:`opened` opens the rows, sets the analysis date, runs the checks and replaces the
likelihoods the data cannot support, and keeps the rows open: a monitored test aggregates them
at each look (:mod:`channelab.pipeline.monitor`). :func:`read` reduces them, once, to the cells
of one analysis, or reads a spec's published summaries; :func:`read_labs` reads every lab of a
many-lab replication the same way. :func:`validate` is all of it, with no model imported: it
fails in seconds, before any sampling (analyse, :mod:`channelab.pipeline.run`, starts with it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from channelab.cells import Cells
from channelab.cohort.build import WEIGHT, MatchResult, match_experiment
from channelab.engine import CheckReport, Source, build_cells, open_source, run_checks, watch
from channelab.engine.aggregate import summary_cells
from channelab.engine.checks import arm_units, summary_checks
from channelab.engine.timing import date_range, with_as_of
from channelab.errors import DataError, SpecError
from channelab.spec import DataSource, Spec
from channelab.spec.labs import Lab

#: Receives a short description of each step as it starts (the CLI shows it as progress).
StepCallback = Callable[[str], None]


#: Characters that make a path a glob (read as one table of every match).
_GLOB = frozenset("*?[")


def no_steps(_: str) -> None:
    """A step callback that shows nothing (the default of every flow)."""


@dataclass(frozen=True)
class Validation:
    """Result of validating a spec against its data, before any fitting.

    Attributes
    ----------
    spec
        The spec to fit: likelihoods the data cannot support replaced as the checks report
        (``CheckReport.fallbacks``), and for a test put in time its analysis date (``as_of``).
    data
        The data's fingerprint (path, size, rows, SHA-256), or what the published summaries are.
    checks
        What the checks of the rows (or of the summaries) found.
    cells
        The data reduced to cells, what the model sees.
    matching
        The matched cohort and its balance, for ``design: matched``.
    """

    spec: Spec
    data: dict[str, object]
    checks: CheckReport
    cells: Cells
    matching: MatchResult | None = None


@dataclass(frozen=True)
class Opened:
    """The rows, open and checked: the spec to fit, what the checks found, and the source.

    ``span`` is the first entry date and the latest date in the data when opening scanned
    for them (a test put in time without an analysis date, or asked to), else ``None``.
    """

    source: Source
    spec: Spec
    checks: CheckReport
    span: tuple[date, date] | None = None

    @property
    def first_entry(self) -> date:
        """The date the first unit entered (scanned now unless opening already did)."""
        return (self.span or date_range(self.source, self.spec))[0]

    def fingerprint(self) -> dict[str, object]:
        """The data's fingerprint, once the files are proven unchanged since they were opened."""
        self.source.verify_unchanged()
        return self.source.fingerprint()


@contextmanager
def opened(spec: Spec, *, step: StepCallback, dated: bool = False) -> Iterator[Opened]:
    """Open the spec's rows, set the analysis date and check them; the rows stay open inside.

    The analysis date is ``spec.as_of``, else (for a test put in time) the latest date in the
    data. ``dated`` scans the first entry and latest dates before the checks even when the
    spec has its analysis date (a monitored test's looks start at the first entry). Closing
    the block closes the rows.

    Raises
    ------
    DataError
        If the files are missing or unreadable, or the rows fail a blocking check.
    """
    step("Reading data" + (" with Spark" if spec.engine == "spark" else ""))
    with open_source(spec) as source:
        span = date_range(source, spec) if spec.timed and (dated or spec.as_of is None) else None
        checked = with_as_of(source, spec, spec.as_of or (span[1] if span else None))
        step("Checking rows")
        checks = run_checks(source, checked)
        yield Opened(source, checked.with_likelihoods(checks.fallbacks), checks, span)


def read(spec: Spec, *, step: StepCallback) -> Validation:
    """Read the spec's data once: checked, matched if the design says so, reduced to cells.

    Every arm must have enough units counted for every metric (:func:`arm_units`).
    """
    if spec.input_kind == "published summaries":
        return _read_summaries(spec, step)
    with opened(spec, step=step) as rows:
        matching = None
        if rows.spec.design == "matched":
            step(f"Matching ({rows.spec.matching.method}) and checking balance")
            matching = match_experiment(rows.source, rows.spec)
        step("Aggregating cells")
        with watch(rows.source, lambda pct: step(f"Aggregating cells ({pct:.0f} %)")):
            weight = WEIGHT if matching else None
            cells = build_cells(rows.source, rows.spec, weight=weight, weights="sampling")
        data = {**rows.fingerprint(), "origin": _origin(spec)}
        arm_units(cells, rows.spec, where=str(rows.source.path))
    return Validation(spec=rows.spec, data=data, checks=rows.checks, cells=cells, matching=matching)


def _read_summaries(spec: Spec, step: StepCallback) -> Validation:
    """A spec's published per-arm table (``data.summaries``), checked and made cells."""
    step("Reading the published summaries")
    checks = summary_checks(spec)
    fitted = spec.with_likelihoods(checks.fallbacks)
    cells = summary_cells(fitted)
    arm_units(cells, fitted, where=f"{spec.source_path or 'the spec'}: data.summaries")
    data: dict[str, object] = {
        "summaries": "data.summaries in the spec",
        "rows": checks.n_rows,
        "origin": _origin(spec),
    }
    return Validation(spec=fitted, data=data, checks=checks, cells=cells)


def _origin(spec: Spec) -> str:
    """Where the data came from: ``simulated``, ``published`` or ``observed`` (``data.origin``)."""
    return spec.data.resolved_origin if spec.data is not None else "observed"


def validate(spec: Spec, *, on_step: StepCallback | None = None) -> Validation:
    """Check the spec's data and reduce it to cells; fails in seconds, before any sampling.

    The spec returned in the :class:`Validation` is the one to fit: likelihoods the data
    cannot support are replaced as the checks report (``CheckReport.fallbacks``), and a test
    put in time has its analysis date (``as_of``, by default the latest date in the data).
    Every arm must have enough units counted for every metric.

    Parameters
    ----------
    spec
        The experiment, options applied (:func:`~channelab.pipeline.options.with_options`).
    on_step
        Called with a short description of each step as it starts.

    Returns
    -------
    Validation
        The spec to fit, the data's fingerprint, the checks, the cells and any matched cohort.

    Raises
    ------
    SpecError, DataError
        If the spec names no data, or the data fail a blocking check.
    """
    checked = read(spec, step=on_step or no_steps)
    read_labs(checked.spec, step=on_step or no_steps)  # every lab's data checked too
    return checked


@dataclass(frozen=True)
class LabData:
    """One lab's data, read and checked.

    Attributes
    ----------
    name
        The lab's name.
    cells
        Its data reduced to cells.
    data
        Its fingerprint (path, size, rows, SHA-256) or what its summaries are.
    warnings
        The data checks' warnings.
    """

    name: str
    cells: Cells
    data: dict[str, object]
    warnings: tuple[str, ...]


def read_labs(spec: Spec, *, step: StepCallback) -> tuple[LabData, ...]:
    """Read every lab of ``spec.replication.labs`` (none when the spec has no labs).

    Parameters
    ----------
    spec
        The spec, its data format and checks applying to every lab.
    step
        Called with a short description of each step as it starts.

    Returns
    -------
    tuple of LabData
        One per lab, in the spec's order.

    Raises
    ------
    SpecError, DataError
        If a lab's file is missing, or its data fail a blocking check; the message names the lab.
    """
    labs = spec.replication.labs or []
    out = []
    for i, lab in enumerate(labs):
        step(f"Reading lab {i + 1} of {len(labs)}: {lab.name}")
        where = f"replication.labs.{i} ({lab.name!r})"
        lab_spec = _lab_spec(spec, lab, where)
        try:
            checked = read(lab_spec, step=lambda _: None)
        except (DataError, SpecError) as exc:
            raise type(exc)(f"{where}: {exc}") from None
        warnings = tuple(f"{lab.name}: {w.message}" for w in checked.checks.warnings)
        data = checked.data
        if lab.summaries is not None:
            data = {**data, "summaries": f"replication.labs.{i}.summaries in the spec"}
        out.append(LabData(lab.name, checked.cells, data, warnings))
    return tuple(out)


def _lab_spec(spec: Spec, lab: Lab, where: str) -> Spec:
    """``spec`` reading the lab's rows (in the spec's data format) or its published summaries."""
    if lab.summaries is not None:
        origin = spec.data.origin if spec.data is not None else None
        return spec.model_copy(update={"data": DataSource(summaries=lab.summaries, origin=origin)})
    assert lab.data is not None  # a lab has data or summaries (Lab's validator)
    path = spec.resolve_path(lab.data)
    if not _GLOB & set(str(lab.data)) and not path.is_file():
        folder = spec.source_path.parent if spec.source_path else Path.cwd()
        raise DataError(
            f"{where}.data: {path}: no such file; check the lab's path (a relative path is read "
            f"from the experiment file's folder, {folder})"
        )
    given = (
        DataSource(path=path, origin=spec.data.origin if spec.data is not None else None)
        if spec.data is None or spec.data.summaries is not None
        else spec.data.model_copy(update={"path": path})
    )
    return spec.model_copy(update={"data": given})
