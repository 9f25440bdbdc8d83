"""The read step of every flow: the spec's data opened, checked and reduced to cells.

:func:`opened` opens the rows, sets the analysis date, runs the checks and replaces the
likelihoods the data cannot support, and keeps the rows open: a monitored test aggregates them
at each look (:mod:`channelab.pipeline.monitor`). :func:`read` reduces them, once, to the cells
of one analysis, or reads a spec's published summaries (validate and analyse,
:mod:`channelab.pipeline.run`). Fails in seconds, before any sampling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from channelab.cells import Cells
from channelab.cohort.build import WEIGHT, MatchResult, match_experiment
from channelab.engine import CheckReport, Source, build_cells, open_source, run_checks, watch
from channelab.engine.aggregate import summary_cells
from channelab.engine.checks import arm_units, summary_checks
from channelab.engine.timing import date_range, with_as_of
from channelab.spec import Spec

#: Receives a short description of each step as it starts (the CLI shows it as progress).
StepCallback = Callable[[str], None]


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
