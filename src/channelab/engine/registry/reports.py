"""Records from results made before the registry existed: channelab's JSON run reports.

:func:`records_from_report` turns one run report into :class:`Record` s (one per arm x metric
effect per unit; conditional shares are left out and said so) and the arms' covariances. A
report written before the report carried ``diff_sd``, ``loglift`` and ``arms[].covariances``
still imports: the sds come from its equal-tailed intervals, as :attr:`Imported.notes` says.
Its data are keyed by :func:`~channelab.engine.registry.imported.data_fingerprint`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from statistics import NormalDist
from typing import Any, NamedTuple

from channelab.engine.registry.imported import Imported, data_fingerprint, read_bounded
from channelab.engine.registry.records import (
    VERDICTS,
    Covariance,
    Record,
    checked_covariances,
    fault,
    pooled_channel,
)
from channelab.errors import DataError, first_few, shown
from channelab.limits import MAX_REPORT_BYTES

__all__ = ["records_from_report"]

_SHA256 = re.compile(r"[0-9a-f]{64}")
_NOT_RUN = "import the JSON report that channelab run wrote, unchanged"
#: Keys that only other kinds of channelab JSON output have, and what each kind is.
_OTHER_KINDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("n_planned", "assurance", "stopping_rule"), "a design report (channelab design)"),
    (("looks", "decisions", "stop"), "a monitoring report (channelab monitor)"),
    (("citation", "assurance_curve", "small_telescopes_n_per_arm"), "a replication plan"),
    (("groups", "links", "record_sources"), "a learn report (channelab learn)"),
    (("priors",), "a learned-priors file (channelab learn)"),
)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _read_report(path: Path) -> dict[str, Any]:
    """The report's top-level object, refused when not JSON or when another kind of output."""
    text = read_bounded(path, MAX_REPORT_BYTES, "a channelab JSON run report")
    try:
        report = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}: not a channelab report: not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}). {_NOT_RUN[0].upper()}{_NOT_RUN[1:]} (the .json beside the PDF)."
        ) from None
    except (ValueError, RecursionError) as exc:
        said = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise DataError(
            f"{path}: not a channelab report: {said}. {_NOT_RUN[0].upper()}{_NOT_RUN[1:]}."
        ) from None
    if not isinstance(report, dict):
        raise DataError(
            f"{path}: not a channelab report: the JSON is a {type(report).__name__}, not an object "
            f"with effects and provenance. {_NOT_RUN[0].upper()}{_NOT_RUN[1:]}."
        )
    if "effects" not in report:
        for keys, kind in _OTHER_KINDS:
            if any(k in report for k in keys):
                raise DataError(
                    f"{path}: this is {kind}, not a run report; it holds no measured effects. Import "
                    "run reports (the NAME.json that channelab run writes)."
                )
        raise DataError(f"{path}: not a channelab run report: it has no 'effects' field; {_NOT_RUN}.")
    replication = report.get("replication")
    if isinstance(replication, dict) and replication.get("labs"):
        raise DataError(
            f"{path}: this is a many-lab replication: its effects stack every lab's rows, so importing "
            "them would count the labs as one test. Record the labs one by one with `channelab "
            "replicate SPEC --registry PATH`."
        )
    return report


def _field(path: Path, obj: object, name: str, where: str) -> Any:
    if not isinstance(obj, dict):
        raise DataError(f"{path}: {where.rstrip('. :')} is {shown(obj)}, not an object; {_NOT_RUN}.")
    if name not in obj:
        raise DataError(f"{path}: {where}{name} is missing: not a complete channelab run report; {_NOT_RUN}.")
    return obj[name]


def _text(path: Path, obj: object, name: str, where: str) -> str:
    value = _field(path, obj, name, where)
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{path}: {where}{name} is {shown(value)}, not text; {_NOT_RUN}.")
    return value


def _number(path: Path, obj: object, name: str, where: str) -> float:
    value = _field(path, obj, name, where)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DataError(f"{path}: {where}{name} is {shown(value)}, not a finite number; {_NOT_RUN}.")
    return float(value)


def _whole(path: Path, obj: object, name: str, where: str) -> int:
    value = _number(path, obj, name, where)
    if not value.is_integer():
        raise DataError(f"{path}: {where}{name} is {shown(value)}, not a whole number of units; {_NOT_RUN}.")
    return int(value)


def _pair(path: Path, obj: object, name: str, where: str) -> tuple[float, float]:
    value = _field(path, obj, name, where)
    if not isinstance(value, list) or len(value) != 2:
        raise DataError(
            f"{path}: {where}{name} is {shown(value)}, not an interval [lower, upper]; {_NOT_RUN}."
        )
    ends = {f"{name}[{i}]": end for i, end in enumerate(value)}
    lower, upper = (_number(path, ends, f"{name}[{i}]", where) for i in (0, 1))
    if lower > upper:
        raise DataError(f"{path}: {where}{name} runs from {lower:g} down to {upper:g}; {_NOT_RUN}.")
    return lower, upper


def _keys(path: Path, report: dict[str, Any]) -> tuple[str, str]:
    """The report's spec hash and data fingerprint (:func:`data_fingerprint`)."""
    provenance = _field(path, report, "provenance", "")
    spec_hash = _field(path, provenance, "spec_sha256", "provenance.")
    if not isinstance(spec_hash, str) or not _SHA256.fullmatch(spec_hash.lower()):
        raise DataError(
            f"{path}: provenance.spec_sha256 is {shown(spec_hash)}, not a SHA-256 hash of the experiment "
            f"file; the registry keys every test by it. {_NOT_RUN[0].upper()}{_NOT_RUN[1:]}."
        )
    data = _field(path, provenance, "data", "provenance.")
    if not isinstance(data, dict) or not data:
        raise DataError(
            f"{path}: provenance.data is {shown(data)}, not the data's description; the registry keys "
            f"every test by its data. {_NOT_RUN[0].upper()}{_NOT_RUN[1:]}."
        )
    sha = data.get("sha256")
    if sha is not None and (not isinstance(sha, str) or not _SHA256.fullmatch(sha.lower())):
        raise DataError(f"{path}: provenance.data.sha256 is {shown(sha)}, not a SHA-256 hash; {_NOT_RUN}.")
    return spec_hash.lower(), data_fingerprint(data)


def _z(path: Path, report: dict[str, Any]) -> float:
    """The normal quantile whose two-sided interval has the report's probability (``hdi_prob``)."""
    prob = _number(path, report, "hdi_prob", "")
    if not 0 < prob < 1:
        raise DataError(f"{path}: hdi_prob is {prob:g}, not a probability between 0 and 1; {_NOT_RUN}.")
    return NormalDist().inv_cdf((1 + prob) / 2)


def _last_date(path: Path, report: dict[str, Any]) -> date | None:
    """``time.as_of`` (the date the analysis stands at), or None where the report has no time."""
    time = report.get("time")
    if time is None:
        return None
    as_of = _field(path, time, "as_of", "time.")
    try:
        return date.fromisoformat(as_of if isinstance(as_of, str) else "")
    except ValueError:
        raise DataError(
            f"{path}: time.as_of is {shown(as_of)}, not a date (YYYY-MM-DD); {_NOT_RUN}."
        ) from None


def _arms(path: Path, report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each arm's entry of ``arms[]`` (its channel and, in newer reports, covariances), by label."""
    arms = _field(path, report, "arms", "")
    if not isinstance(arms, list):
        raise DataError(f"{path}: arms is {shown(arms)}, not a list; {_NOT_RUN}.")
    out: dict[str, dict[str, Any]] = {}
    for i, arm in enumerate(arms):
        label = _text(path, arm, "arm", f"arms[{i}].")
        channel = arm.get("channel")
        if channel is not None and not isinstance(channel, str):
            raise DataError(f"{path}: arms[{i}].channel is {shown(channel)}, not text; {_NOT_RUN}.")
        out[label] = arm
    return out


class _Read(NamedTuple):
    """One effect's record, and whether its sds were approximated and its verdict replaced."""

    record: Record
    approximated: bool
    unjudged: str | None


def _diff_sd(path: Path, effect: dict[str, Any], where: str, z: float) -> tuple[float, bool]:
    """The sd of the difference, and whether it was approximated from the interval."""
    if "diff_sd" in effect:
        return _number(path, effect, "diff_sd", where), False
    lower, upper = _pair(path, _field(path, effect, "abs_lift", where), "hdi", f"{where}abs_lift.")
    return (upper - lower) / (2 * z), True


def _loglift(
    path: Path, effect: dict[str, Any], where: str, z: float
) -> tuple[float | None, float | None, bool]:
    """Mean and sd of log(1 + lift) (None where the lift is not defined), and whether approximated."""
    if "loglift" in effect:
        if (loglift := effect["loglift"]) is None:
            return None, None, False
        at = f"{where}loglift."
        return _number(path, loglift, "mean", at), _number(path, loglift, "sd", at), False
    lift = _field(path, effect, "lift", where)
    if not isinstance(lift, dict):
        raise DataError(f"{path}: {where}lift is {shown(lift)}, not an object; {_NOT_RUN}.")
    if lift.get("defined") is False or lift.get("hdi") is None:  # the report says: not defined
        return None, None, False
    lower, upper = _pair(path, lift, "hdi", f"{where}lift.")
    if lower <= -1:  # the arm's mean may be zero: no log lift
        return None, None, False
    low, high = math.log1p(lower), math.log1p(upper)
    return (low + high) / 2, (high - low) / (2 * z), True


class _Common(NamedTuple):
    """What every record of one report shares: its keys, name, date, arms and interval quantile."""

    spec_hash: str
    fingerprint: str
    experiment: str
    last_date: date | None
    arms: dict[str, dict[str, Any]]
    z: float


def _effect(path: Path, effect: object, i: int, common: _Common) -> _Read:
    """One ``effects[i]`` entry as a record."""
    where = f"effects[{i}]."
    arm, metric = _text(path, effect, "arm", where), _text(path, effect, "metric", where)
    assert isinstance(effect, dict)
    where = f"effects[{i}] (arm {arm!r}, metric {metric!r}): "
    diff_sd, diff_approximated = _diff_sd(path, effect, where, common.z)
    ll_mean, ll_sd, ll_approximated = _loglift(path, effect, where, common.z)
    verdict = _text(path, effect, "verdict", where)
    channel = common.arms.get(arm, {}).get("channel")
    record = Record(
        spec_hash=common.spec_hash,
        data_fingerprint=common.fingerprint,
        experiment=common.experiment,
        first_date=None,
        last_date=common.last_date,
        arm=arm,
        channel=pooled_channel(arm, channel),
        metric=metric,
        role=_text(path, effect, "role", where),  # type: ignore[arg-type]  # checked by fault()
        metric_type=_text(path, effect, "type", where),  # type: ignore[arg-type]
        control_mean=_number(path, effect, "control_mean", where),
        diff_mean=_number(path, _field(path, effect, "abs_lift", where), "mean", f"{where}abs_lift."),
        diff_sd=diff_sd,
        loglift_mean=ll_mean,
        loglift_sd=ll_sd,
        n_arm=_whole(path, effect, "n_arm", where),
        n_control=_whole(path, effect, "n_control", where),
        verdict=verdict if verdict in VERDICTS else "not judged",  # type: ignore[arg-type]
        source="import:json",
        report=str(path),
    )
    if problem := fault(record):
        raise DataError(f"{path}: {where.rstrip('. :')}: {problem}; {_NOT_RUN}.")
    return _Read(record, diff_approximated or ll_approximated, None if verdict in VERDICTS else verdict)


def _covariances(
    path: Path, arms: dict[str, dict[str, Any]], records: Sequence[Record], keys: tuple[str, str]
) -> tuple[list[Covariance], int, int]:
    """The arms' covariances between imported metrics; how many are null, and of a metric left out."""
    have = {(r.arm, r.metric) for r in records}
    out, unknown, left = [], 0, 0
    for label, arm in arms.items():
        entries = arm.get("covariances") or []
        if not isinstance(entries, list):
            raise DataError(
                f"{path}: arms ({label!r}).covariances is {shown(entries)}, not a list; {_NOT_RUN}."
            )
        for j, entry in enumerate(entries):
            where = f"arms ({label!r}).covariances[{j}]."
            a, b = _text(path, entry, "metric_a", where), _text(path, entry, "metric_b", where)
            diff, loglift = entry.get("diff"), entry.get("loglift")
            if (label, a) not in have or (label, b) not in have:
                left += 1  # a metric left out (a conditional share)
                continue
            if diff is None:
                unknown += 1  # the data cannot say (aggregated rows, published summaries)
                continue
            cov_ll = None if loglift is None else _number(path, entry, "loglift", where)
            out.append(Covariance(*keys, label, a, b, _number(path, entry, "diff", where), cov_ll))
    return out, unknown, left


def records_from_report(path: Path) -> Imported:
    """Read a channelab JSON run report as registry records (``source`` ``import:json``).

    Parameters
    ----------
    path
        The ``NAME.json`` that ``channelab run`` (or ``replicate``) wrote.

    Returns
    -------
    Imported
        One record per ``effects[]`` entry that is an effect per unit (conditional shares are
        left out, as the notes say), keyed by ``provenance.spec_sha256`` and
        :func:`data_fingerprint` of ``provenance.data``, dated ``time.as_of`` where the report
        has it; and the arms' covariances where the report has them. Reports written before the
        fields ``diff_sd``, ``loglift`` and ``arms[].covariances`` import with sds approximated
        from the equal-tailed intervals (``(upper - lower) / (2 z)``; log lifts from the log of
        the lift interval's ends) and no covariances, as the notes say.

    Raises
    ------
    DataError
        The file is missing, too large, not JSON, another kind of channelab output (a design,
        monitoring or plan report), or lacks a field a record needs (named).
    """
    path = Path(path)
    report = _read_report(path)
    spec_hash, fingerprint = _keys(path, report)
    title = report.get("title") or report.get("experiment")
    experiment = title if isinstance(title, str) and title.strip() else _text(path, report, "experiment", "")
    arms = _arms(path, report)
    effects = _field(path, report, "effects", "")
    if not isinstance(effects, list) or not effects:
        raise DataError(f"{path}: effects is {shown(effects)}, not a list of measured effects; {_NOT_RUN}.")
    common = _Common(spec_hash, fingerprint, experiment, _last_date(path, report), arms, _z(path, report))
    reads = [_effect(path, e, i, common) for i, e in enumerate(effects) if not _conditional(path, e, i)]
    records = [r.record for r in reads]
    covariances, *dropped = _covariances(path, arms, records, (spec_hash, fingerprint))
    covariances = checked_covariances(covariances, records, str(path))
    conditional = [
        f"{e.get('arm')}: {e.get('metric')}" for i, e in enumerate(effects) if _conditional(path, e, i)
    ]
    return Imported(
        records, covariances, _notes(reads, conditional, dropped, report), any(r.approximated for r in reads)
    )


def _conditional(path: Path, effect: object, i: int) -> bool:
    flag = effect.get("conditional", False) if isinstance(effect, dict) else False
    if not isinstance(flag, bool):
        raise DataError(f"{path}: effects[{i}].conditional is {shown(flag)}, not true or false; {_NOT_RUN}.")
    return flag


def _percent(prob: object) -> str:
    return f"{prob * 100:g} %" if isinstance(prob, float) else "equal-tailed"


def _notes(
    reads: Sequence[_Read], conditional: Sequence[str], dropped: Sequence[int], report: dict[str, Any]
) -> list[str]:
    """What the user should know about the import, in plain sentences."""
    unknown, left = dropped
    notes = []
    if conditional:
        notes.append(
            f"{len(conditional)} conditional share(s) left out ({first_few(list(conditional))}): "
            "the registry pools effects per unit."
        )
    if approximated := sum(r.approximated for r in reads):
        prob = report.get("hdi_prob")
        notes.append(
            f"The sds of {approximated} of {len(reads)} record(s) were approximated from the report's "
            f"{_percent(prob)} intervals: it predates the fields diff_sd and loglift. Re-run the test "
            "for exact sds and the covariances between its metrics."
        )
    if unknown:
        notes.append(
            f"{unknown} covariance(s) between metrics are null in the report (its data cannot give them: "
            "aggregated rows or published summaries); they are not stored."
        )
    if left:
        notes.append(f"{left} covariance(s) involve a metric left out and are not stored.")
    unjudged = sorted({r.unjudged for r in reads if r.unjudged})
    if unjudged:
        notes.append(
            f"Verdict(s) {first_few([repr(v) for v in unjudged])} are not the registry's; those records are "
            "stored as 'not judged'."
        )
    return notes
