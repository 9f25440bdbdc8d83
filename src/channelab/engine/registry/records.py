"""Records and covariances of the registry of results: their fields, vocabularies and checks.

The tables' columns (:data:`TABLES`) follow the dataclasses' fields, so that a record is stored
and read back as one tuple. :func:`problem` says in words what is wrong with a record (a
negative sd, an unknown role, a lift given without its sd...), for the writer and the reader.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime
from typing import Literal, get_args

from channelab.errors import DataError
from channelab.limits import (
    MAX_DATE_YEAR,
    MAX_LABEL,
    MAX_PUBLISHED_VALUE,
    MAX_REPORT_PATH,
    MAX_TITLE,
    MAX_UNITS,
    MIN_DATE_YEAR,
)
from channelab.spec import MetricType, Role, pooled_channel

__all__ = ["SCHEMA_VERSION", "SOURCES", "VERDICTS", "Added", "Covariance", "Record", "pooled_channel"]

#: Version of the tables below; a registry of another version is refused, never guessed at.
SCHEMA_VERSION = 1
#: Where a record came from: a run, a replication, an imported JSON report or published summary.
RecordSource = Literal["run", "replicate", "import:json", "import:summary"]
SOURCES: tuple[str, ...] = get_args(RecordSource)
#: A metric's verdict (run), a replication's, or ``not judged`` (an imported published summary).
RecordVerdict = Literal[
    "real lift", "harm", "no effect", "inconclusive", "replicated", "not replicated", "not judged"
]
VERDICTS: tuple[str, ...] = get_args(RecordVerdict)

META = "channelab_registry"
#: Per table: (column, DuckDB type, may be null), in the order of the dataclass fields.
TABLES: dict[str, tuple[tuple[str, str, bool], ...]] = {
    META: (("version", "INTEGER", False), ("created", "VARCHAR", False)),
    "records": tuple(
        (name, kind, name in ("first_date", "last_date", "loglift_mean", "loglift_sd", "report"))
        for name, kind in (
            *((n, "VARCHAR") for n in ("spec_hash", "data_fingerprint", "experiment")),
            *((n, "DATE") for n in ("first_date", "last_date")),
            *((n, "VARCHAR") for n in ("arm", "channel", "metric", "role", "metric_type")),
            *((n, "DOUBLE") for n in ("control_mean", "diff_mean", "diff_sd", "loglift_mean", "loglift_sd")),
            *((n, "BIGINT") for n in ("n_arm", "n_control")),
            ("verdict", "VARCHAR"),
            ("launched", "BOOLEAN"),
            ("source", "VARCHAR"),
            ("created", "VARCHAR"),
            ("report", "VARCHAR"),
        )
    ),
    "covariances": (
        *((n, "VARCHAR", False) for n in ("spec_hash", "data_fingerprint", "arm", "metric_a", "metric_b")),
        ("cov_diff", "DOUBLE", False),
        ("cov_loglift", "DOUBLE", True),
    ),
}
KEYS = {
    "records": ("spec_hash", "data_fingerprint", "arm", "metric"),
    "covariances": ("spec_hash", "data_fingerprint", "arm", "metric_a", "metric_b"),
}


def now() -> str:
    """The current time in UTC, as ISO 8601 text to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Record:
    """One test's effect of one arm on one metric, as the registry keeps it.

    Attributes
    ----------
    spec_hash, data_fingerprint
        The experiment file's hash and the data's fingerprint (provenance): together with arm
        and metric, the key of a record; a second record with the same key is a duplicate.
    experiment
        The experiment's name (its title), for tables and messages.
    first_date, last_date
        First and last date of the data (entry dates), or None where unknown.
    arm, channel
        The arm's label, and the channel it is pooled under (``arms.X.channel``; else the label).
    metric, role, metric_type
        The metric's name, its role (engagement, outcome, revenue, guardrail) and type.
    control_mean
        The control arm's mean of the metric (a proportion for a binary metric).
    diff_mean, diff_sd
        Posterior mean and sd of the absolute difference, arm minus control.
    loglift_mean, loglift_sd
        Posterior mean and sd of log(1 + relative lift); None where the lift is not defined
        (a control mean of zero, a continuous metric around zero).
    n_arm, n_control
        Units in the arm and in control.
    verdict
        One of :data:`VERDICTS`.
    launched
        Whether the arm was launched after the test (``registry mark --launched``).
    source
        One of :data:`SOURCES`.
    created
        When the record was made (ISO 8601 text, UTC).
    report
        The path of the JSON report the record came from (a run's, or an imported one), as
        written or given (relative paths stay relative), for the digest's links; None where
        there is none (a published summary, a simulated programme).
    """

    spec_hash: str
    data_fingerprint: str
    experiment: str
    first_date: date | None
    last_date: date | None
    arm: str
    channel: str
    metric: str
    role: Role
    metric_type: MetricType
    control_mean: float
    diff_mean: float
    diff_sd: float
    loglift_mean: float | None
    loglift_sd: float | None
    n_arm: int
    n_control: int
    verdict: RecordVerdict
    launched: bool = False
    source: RecordSource = "run"
    created: str = field(default_factory=now)
    report: str | None = None


@dataclass(frozen=True, slots=True)
class Covariance:
    """The within-arm posterior covariance of one test's effects on two metrics.

    Attributes
    ----------
    spec_hash, data_fingerprint, arm
        The test and arm, as in its two :class:`Record` s.
    metric_a, metric_b
        The two metrics (stored in sorted order: the covariance is symmetric).
    cov_diff
        Covariance of the two absolute differences.
    cov_loglift
        Covariance of the two log(1 + lift); None where either lift is not defined.
    """

    spec_hash: str
    data_fingerprint: str
    arm: str
    metric_a: str
    metric_b: str
    cov_diff: float
    cov_loglift: float | None


@dataclass(frozen=True, slots=True)
class Added:
    """What one :meth:`Registry.add` wrote, so the caller can say so.

    Attributes
    ----------
    added
        Records written.
    duplicates
        Records not written because a record of the same test, arm and metric was already in
        the registry or earlier in the same batch (counted once).
    covariances
        Covariances written.
    covariance_duplicates
        Covariances not written for the same reason.
    """

    added: int
    duplicates: int
    covariances: int = 0
    covariance_duplicates: int = 0

    def sentence(self) -> str:
        """What was written, in words: records added and duplicates counted once."""
        said = f"{self.added:,} record(s) added"
        if self.covariances:
            said += f" with {self.covariances:,} within-test covariance(s)"
        if self.duplicates:
            said += (
                f"; {self.duplicates:,} already there (the same test: spec hash, data, arm and metric) "
                "counted once"
            )
        return said


_TEXTS = {"spec_hash": MAX_TITLE, "data_fingerprint": MAX_TITLE, "experiment": MAX_TITLE}
_TEXTS["report"] = MAX_REPORT_PATH
_TEXTS |= {n: MAX_LABEL for n in ("arm", "channel", "metric", "metric_a", "metric_b", "created")}
_VOCAB = {"role": get_args(Role), "metric_type": get_args(MetricType), "verdict": VERDICTS, "source": SOURCES}
_NUMBERS = ("control_mean", "diff_mean", "loglift_mean", "cov_diff", "cov_loglift")
_SDS = ("diff_sd", "loglift_sd")


def _text_problem(name: str, value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"{name} must be non-empty text, not {value!r}"
    if len(value) > _TEXTS.get(name, MAX_LABEL):
        return f"{name} is {len(value)} characters long; at most {_TEXTS.get(name, MAX_LABEL)} are kept"
    if name in _VOCAB and value not in _VOCAB[name]:
        return f"{name} is {value!r}; it must be one of {', '.join(map(repr, _VOCAB[name]))}"
    return None


def _number_problem(name: str, value: object) -> str | None:
    if value is None and name in ("loglift_mean", "loglift_sd", "cov_loglift"):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{name} must be a number, not {value!r}"
    if not math.isfinite(value) or abs(value) > MAX_PUBLISHED_VALUE:
        return f"{name} is {value!r}; it must be finite and at most {MAX_PUBLISHED_VALUE:g} in size"
    if name in _SDS and value < 0:
        return f"{name} is {value!r}: a standard deviation cannot be negative"
    if name in ("n_arm", "n_control") and (not isinstance(value, int) or not 1 <= value <= MAX_UNITS):
        return f"{name} is {value!r}; it must be a whole number of units from 1 to {MAX_UNITS:,}"
    return None


def _date_problem(record: Record) -> str | None:
    for name in ("first_date", "last_date"):
        value = getattr(record, name)
        if value is None:
            continue
        if type(value) is not date:
            return f"{name} must be a date (or None), not {value!r}"
        if not MIN_DATE_YEAR <= value.year <= MAX_DATE_YEAR:
            return f"{name} is {value}; dates run from {MIN_DATE_YEAR} to {MAX_DATE_YEAR}"
    if record.first_date and record.last_date and record.first_date > record.last_date:
        return f"first_date {record.first_date} is after last_date {record.last_date}"
    try:
        datetime.fromisoformat(record.created)
    except (TypeError, ValueError):
        return f"created is {record.created!r}, not an ISO 8601 date and time"
    return None


def fault(item: Record | Covariance) -> str | None:
    """The first thing wrong with a record or covariance, in words; None when it is sound."""
    for f in fields(item):
        value = getattr(item, f.name)
        if f.name == "report" and value is None:
            continue
        if f.name in _TEXTS or f.name in _VOCAB:
            found = _text_problem(f.name, value)
        elif f.name in (*_NUMBERS, *_SDS, "n_arm", "n_control"):
            found = _number_problem(f.name, value)
        elif f.name == "launched" and not isinstance(value, bool):
            found = f"launched must be True or False, not {value!r}"
        else:
            continue
        if found:
            return found
    if isinstance(item, Covariance):
        return "metric_a and metric_b are the same metric" if item.metric_a == item.metric_b else None
    if (item.loglift_mean is None) != (item.loglift_sd is None):
        return "loglift_mean and loglift_sd must both be given or both be None"
    return _date_problem(item)


def named(item: Record | Covariance) -> str:
    """A record or covariance in words, for messages."""
    if isinstance(item, Record):
        return f"experiment {item.experiment!r}, arm {item.arm!r}, metric {item.metric!r}"
    return f"test {item.spec_hash!r}, arm {item.arm!r}, metrics {item.metric_a!r} and {item.metric_b!r}"


def key(item: Record | Covariance) -> tuple[object, ...]:
    """What makes two records (or covariances) the same: test, data, arm and metric(s)."""
    return tuple(getattr(item, k) for k in KEYS["records" if isinstance(item, Record) else "covariances"])


def _sorted_pair(cov: Covariance) -> Covariance:
    if isinstance(cov.metric_a, str) and isinstance(cov.metric_b, str) and cov.metric_a > cov.metric_b:
        return replace(cov, metric_a=cov.metric_b, metric_b=cov.metric_a)
    return cov


def _beyond_sds(cov: Covariance, a: Record, b: Record) -> str | None:
    """Why ``cov`` is impossible given its records' sds (a correlation beyond ±1), or None."""
    if cov.cov_loglift is not None and (a.loglift_sd is None or b.loglift_sd is None):
        return "cov_loglift is given but a record of the pair has no loglift_sd"
    pairs = [("cov_diff", cov.cov_diff, a.diff_sd * b.diff_sd)]
    if cov.cov_loglift is not None and a.loglift_sd is not None and b.loglift_sd is not None:
        pairs.append(("cov_loglift", cov.cov_loglift, a.loglift_sd * b.loglift_sd))
    for name, value, bound in pairs:
        if abs(value) > bound * (1 + 1e-6) + 1e-300:
            return (
                f"|{name}| {abs(value):.6g} exceeds the product of the two sds ({bound:.6g}), "
                "a correlation beyond ±1"
            )
    return None


def checked_covariances(
    covs: Sequence[Covariance], records: Sequence[Record], where: str
) -> list[Covariance]:
    """Covariances in sorted pair order, each naming two records of the batch and within their sds."""
    sds = {key(r): r for r in records}
    out = []
    for i, cov in enumerate(covs, start=1):
        if not isinstance(cov, Covariance):
            raise DataError(f"{where}: covariance {i} is a {type(cov).__name__}, not a Covariance.")
        cov = _sorted_pair(cov)
        problem = fault(cov)
        pair = [sds.get((*key(cov)[:3], m)) for m in (cov.metric_a, cov.metric_b)]
        if problem is None and None in pair:
            problem = (
                "no record of both metrics for this arm in the same batch; add covariances with their records"
            )
        elif problem is None and pair[0] and pair[1]:
            problem = _beyond_sds(cov, pair[0], pair[1])
        if problem:
            raise DataError(f"{where}: covariance {i} ({named(cov)}): {problem}. Nothing was added.")
        out.append(cov)
    return out


def first_of_each[T: (Record, Covariance)](items: Iterable[T]) -> list[T]:
    """The first item of each key, in order."""
    seen: dict[tuple[object, ...], T] = {}
    for item in items:
        seen.setdefault(key(item), item)
    return list(seen.values())
