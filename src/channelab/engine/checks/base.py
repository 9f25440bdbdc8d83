"""What every check shares: the :class:`Check` protocol, the :class:`Finding` and the report.

A check reads what it needs (the rows, or a published table) together with the spec and the
report of the checks run before it, and returns a typed result: :class:`Found` (findings only)
or a result that also carries a measurement of the report (:class:`ArmCounts`,
:class:`SampleRatio`, :class:`Balanced`, :class:`Fallbacks`). A runner folds each result into
the :class:`CheckReport`, in the order of its tuple of checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol, TypeVar

from channelab.errors import DataError
from channelab.spec import Spec

#: How serious a finding is: errors stop the run, warnings are caveats, infos are notes.
Severity = Literal["error", "warning", "info"]

_Data = TypeVar("_Data", contravariant=True)


@dataclass(frozen=True)
class Finding:
    """One result of one check: what was found, how serious, and how many rows it touches.

    Attributes
    ----------
    check : str
        The check's name (``"unknown_arms"``, ``"sample_ratio"``, ...).
    severity : {"error", "warning", "info"}
        Errors stop the run; warnings are carried into the report as caveats; infos are notes.
    message : str
        What was found, where (column, example rows) and what to do.
    count : int
        Rows (or units, ids, metrics) the finding touches; 0 when not counted.
    """

    check: str
    severity: Severity
    message: str
    count: int = 0


@dataclass(frozen=True)
class Balance:
    """A pre-period column across the arms, as randomisation should leave it: alike.

    Attributes
    ----------
    column : str
        The pre-period column (listed in ``adjust``).
    mean, sd : dict of str to float
        Per arm, the column's mean and standard deviation.
    smd : dict of str to float
        Each treatment's standardised mean difference from the control (pooled sd).
    p_value : float
        The one-way ANOVA F test that all arm means are equal.
    """

    column: str
    mean: dict[str, float]
    sd: dict[str, float]
    smd: dict[str, float]
    p_value: float


@dataclass(frozen=True)
class CheckReport:
    """All findings on the rows, with the arm counts behind the sample-ratio test.

    Attributes
    ----------
    n_rows : int
        Rows read (arms, for a published table).
    arm_counts : dict of str to int
        Units per arm, in the spec's order.
    planned_shares : dict of str to float
        The planned allocation of a randomised design with known shares; else empty.
    srm_p : float
        The sample-ratio test's p-value (NaN when it did not run).
    findings : tuple of Finding
        Every finding, in the order the checks ran.
    fallbacks : dict of str to str
        Metrics fitted with another likelihood than the spec's, because the data cannot
        support it (aggregated counts hold no per-unit frequencies): metric name -> likelihood.
    balance : tuple of Balance
        Balance of each pre-period column adjusted for (``adjust``) across the arms.
    """

    n_rows: int
    arm_counts: dict[str, int]
    planned_shares: dict[str, float]
    srm_p: float
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    fallbacks: dict[str, str] = field(default_factory=dict)
    balance: tuple[Balance, ...] = ()

    @property
    def errors(self) -> list[Finding]:
        """Findings that stop the run."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """Findings carried into the report as caveats."""
        return [f for f in self.findings if f.severity == "warning"]


class Result(Protocol):
    """What a check returns: something that folds into the report.

    Implemented by :class:`Found`, :class:`ArmCounts`, :class:`SampleRatio`, :class:`Balanced`
    and :class:`Fallbacks`, each adding its findings and the part of the report it measured.
    """

    def fold(self, report: CheckReport) -> CheckReport:
        """``report`` with this result added.

        Parameters
        ----------
        report : CheckReport
            The report of the checks run so far.
        """
        ...


class Check(Protocol[_Data]):
    """One check: reads ``data`` (the rows, or a published table), the spec and the report so far.

    A check never raises for bad data: it returns its findings, and the runner stops the run
    once every check has spoken.
    """

    def __call__(self, data: _Data, spec: Spec, so_far: CheckReport, /) -> Result:
        """The check's result, to be folded into ``so_far``.

        Parameters
        ----------
        data : Source or DataSource
            What is checked: the rows (:class:`~channelab.engine.source.Source`), or the spec's
            data holding a published per-arm table.
        spec : Spec
            The experiment the data are checked against.
        so_far : CheckReport
            The report of the checks run before (their findings, the arm counts).
        """
        ...


@dataclass(frozen=True)
class Found:
    """Findings only: appended to the report's."""

    findings: tuple[Finding, ...] = ()

    def fold(self, report: CheckReport) -> CheckReport:
        """``report`` with these findings appended."""
        return replace(report, findings=report.findings + self.findings)


@dataclass(frozen=True)
class ArmCounts:
    """Units per arm (in the spec's order), and what is wrong with the arm labels."""

    counts: dict[str, int]
    findings: tuple[Finding, ...] = ()

    def fold(self, report: CheckReport) -> CheckReport:
        """``report`` with these arm counts and findings."""
        return replace(report, arm_counts=self.counts, findings=report.findings + self.findings)


@dataclass(frozen=True)
class SampleRatio:
    """The sample-ratio test's p-value (NaN when it did not run), and what it says."""

    p: float
    findings: tuple[Finding, ...] = ()

    def fold(self, report: CheckReport) -> CheckReport:
        """``report`` with this p-value and findings."""
        return replace(report, srm_p=self.p, findings=report.findings + self.findings)


@dataclass(frozen=True)
class Balanced:
    """The balance of each pre-period column, and warnings where it is off."""

    balance: tuple[Balance, ...] = ()
    findings: tuple[Finding, ...] = ()

    def fold(self, report: CheckReport) -> CheckReport:
        """``report`` with this balance and findings."""
        return replace(report, balance=self.balance, findings=report.findings + self.findings)


@dataclass(frozen=True)
class Fallbacks:
    """Likelihoods the data cannot support (metric name -> likelihood used), each with a note."""

    used: dict[str, str] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()

    def fold(self, report: CheckReport) -> CheckReport:
        """``report`` with these fallbacks and notes."""
        return replace(report, fallbacks=self.used, findings=report.findings + self.findings)


def run_all[T](checks: Sequence[Check[T]], data: T, spec: Spec, start: CheckReport) -> CheckReport:
    """Fold the result of each check, in order, into ``start``; each check sees the report so far."""
    report = start
    for check in checks:
        report = check(data, spec, report).fold(report)
    return report


def planned_shares(spec: Spec) -> dict[str, float]:
    """The planned allocation a report shows: a randomised design's known shares, else none."""
    return spec.planned_shares() if spec.shares_known and spec.design == "randomised" else {}


def refuse(where: object, findings: Sequence[Finding]) -> None:
    """Raise one :class:`~channelab.errors.DataError` listing every error among ``findings``.

    Raises
    ------
    DataError
        Naming ``where`` (the data) and each error's message, when there is any error.
    """
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        lines = "\n".join(f"  - {f.message}" for f in errors)
        raise DataError(f"{where}: the data fail {len(errors)} check(s):\n{lines}")
