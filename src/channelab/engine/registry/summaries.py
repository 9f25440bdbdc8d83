"""Records from published per-study summaries: a CSV of per-arm means or of effects and their ses.

The file (UTF-8 CSV, a header line, one row per study x arm x metric) has these columns:

``experiment``, ``arm``, ``metric``, ``role``, ``type``, ``n`` (every row)
    The study's name (the rows of one name are one test), the arm's label, the metric's name,
    its role (``engagement``, ``outcome``, ``revenue``, ``guardrail``), its type (``binary``,
    ``count``, ``revenue``, ``continuous``) and the arm's number of units (a whole number, 2 or
    more).
``control``, ``mean``, ``sd`` (per-arm means)
    ``control`` names the study's control arm, on every row of the study (the same label);
    the control arm's own rows have ``arm`` equal to it. ``mean`` is the arm's mean (for a
    binary metric, the proportion: 0.12 for 12 %) and ``sd`` its standard deviation per unit
    (leave it empty for a binary metric: the proportion p implies sqrt(p (1 - p))). Each arm's
    difference from control is ``mean - control mean`` with sd sqrt(sd_a² / n_a + sd_c² / n_c);
    its log lift ``log(mean / control mean)`` with sd sqrt(sd_a² / (n_a mean_a²) + sd_c² /
    (n_c mean_c²)) (no log lift where a mean is 0 or below).
``effect``, ``se``, ``scale``, ``n_control``, ``control_mean`` (an effect and its standard error)
    A treatment row may instead give an effect and its standard error on ``scale`` ``diff``
    (arm minus control) or ``loglift`` (log of the ratio of means), with the control's n and
    mean (taken from the study's control row of the metric where these are empty). The other
    scale is derived (delta method, assuming equal sampling variance in both arms), as the
    import's notes say.
``channel``, ``date``, ``launched`` (optional)
    The channel the arm is pooled under (else its label); the study's last date (YYYY-MM-DD,
    the same on every row of the study); ``true`` where the arm was launched (empty is false).
``pair``, ``pair_mean`` (optional, per-arm means: the within-test covariance of two metrics)
    On an arm's row of metric a, ``pair`` names another metric b of the same study and
    ``pair_mean`` is the arm's mean per unit of a x b (for two binary metrics, the share of
    units with both: 0.02 for 2 %). Give the pair on the control arm and on each treatment arm
    it applies to, on the row of either metric (both rows may give it, with the same value),
    where both metrics are given as means over the same n. Per arm, C = pair_mean - mean_a
    mean_b is the covariance per unit; the covariance of the treatment arm's two differences
    from control is C_arm / n_arm + C_control / n_control, and of its two log lifts
    C_arm / (n_arm mean_a mean_b) + C_control / (n_control mean_a mean_b), each arm with its own
    means (none where a mean is 0 or below). For two binary metrics ``pair_mean`` lies between
    max(0, mean_a + mean_b - 1) and min(mean_a, mean_b) (Fréchet bounds), for a binary and a
    count between 0 and the count's mean, for two counts 0 or more; a covariance that implies a
    correlation beyond ±1 with the two records' sds is refused (such numbers cannot come from
    one set of units). Without a pair, the effects on two metrics are taken as uncorrelated.
    Each row names at most one pair, so a study of k metrics can give up to k pairs per arm.

Each study is keyed by the SHA-256 of ``summary:`` + its name and of its rows as read (sorted,
``launched``, ``pair`` and ``pair_mean`` left out), so a second import of the same file adds
nothing (counted as duplicates), and a file that adds pairs to one imported before adds only
the covariances. Records are ``not judged`` and of source ``import:summary``; each pair gives
one covariance per treatment arm.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path

from channelab.engine.registry.imported import Imported
from channelab.engine.registry.records import Covariance, Record, fault, pooled_channel
from channelab.engine.registry.summary_pairs import pair_covariances
from channelab.engine.registry.summary_rows import Row, read_rows, wrong

__all__ = ["records_from_summaries"]


def records_from_summaries(path: Path) -> Imported:
    """Read a CSV of published per-study summaries as registry records (``import:summary``).

    Parameters
    ----------
    path
        The CSV; its columns are described in this module's docstring (and the docs).

    Returns
    -------
    Imported
        One record per treatment row (the control rows give the comparison), one covariance per
        treatment arm and pair of metrics given with ``pair`` and ``pair_mean`` (none without
        them), and notes (sds derived on the other scale, log lifts not defined, treatment arms
        without a pair the study gives for others).

    Raises
    ------
    DataError
        The file is missing, too large, not UTF-8 CSV, or a row is not valid: an unknown or
        missing column, an unknown role or type, n below 2, a negative sd, a proportion outside
        [0, 1], text or NaN where a number belongs, a study without its control row for a
        metric or with two, a control label that changes within a study; a pair naming the
        row's own metric or one the study lacks, given on one arm only, given twice with
        different values, on an effect row or over different n, a ``pair_mean`` outside its
        bounds or implying a correlation beyond ±1 (each names the line and column, and
        nothing is imported).
    """
    path = Path(path)
    studies: dict[str, list[Row]] = {}
    for row in read_rows(path):
        studies.setdefault(row.experiment, []).append(row)
    records: list[Record] = []
    covariances: list[Covariance] = []
    derived = undefined = 0
    notes: list[str] = []
    for rows in studies.values():
        study, covs, said = _study(path, rows)
        for record, approximated in study:
            records.append(record)
            derived += approximated
            undefined += record.loglift_mean is None
        covariances += covs
        notes += said
    if derived:
        notes.append(
            f"{derived} record(s) were given as an effect and its standard error on one scale; the "
            "other scale's sd was approximated (delta method, equal sampling variance in both arms)."
        )
    if undefined:
        notes.append(f"{undefined} record(s) have no log lift: a mean of zero or below.")
    return Imported(records, covariances, notes, derived > 0)


def _same(path: Path, rows: Sequence[Row], column: str) -> object:
    """The one value a study's rows give in ``column`` (blank cells aside), else a refusal."""
    first: Row | None = None
    for row in rows:
        if not row.cells.get(column):
            continue
        if first is None:
            first = row
        elif row.cells[column] != first.cells[column]:
            raise wrong(
                path,
                row.line,
                column,
                f"{row.cells[column]!r}, but line {first.line} gives "
                f"{first.cells[column]!r} for study {row.experiment!r}; one value per study",
            )
    if first is None:
        return None
    return first.control if column == "control" else first.last_date


def _by_arm_and_metric(path: Path, rows: Sequence[Row]) -> dict[tuple[str, str], Row]:
    """Each (arm, metric) row of a study; a second row of the same pair is refused."""
    seen: dict[tuple[str, str], Row] = {}
    first_of: dict[str, Row] = {}  # each metric's first row, which sets its role and type
    for row in rows:
        if (first := seen.get((row.arm, row.metric))) is not None:
            kind = "control row" if row.arm == row.control else "row"
            raise wrong(
                path,
                row.line,
                "arm",
                f"a second {kind} of study {row.experiment!r}, arm {row.arm!r}, "
                f"metric {row.metric!r} (the first is line {first.line}); give one row per study x arm "
                "x metric",
            )
        seen[(row.arm, row.metric)] = row
        first = first_of.setdefault(row.metric, row)
        if (row.role, row.metric_type) != (first.role, first.metric_type):
            raise wrong(
                path,
                row.line,
                "role" if row.role != first.role else "type",
                f"metric {row.metric!r} has role {row.role}, type {row.metric_type} here but role "
                f"{first.role}, type {first.metric_type} on line {first.line}; a metric has one role and "
                "type per study",
            )
    return seen


def _study(path: Path, rows: Sequence[Row]) -> tuple[list[tuple[Record, bool]], list[Covariance], list[str]]:
    """One study's records (and whether each one's other scale was derived), covariances, notes."""
    control = _same(path, rows, "control")
    last = _same(path, rows, "date")
    pairs = _by_arm_and_metric(path, rows)
    controls = {metric: row for (arm, metric), row in pairs.items() if arm == control}
    for row in controls.values():
        if row.is_effect:
            raise wrong(
                path, row.line, "effect", "the control arm's row gives an effect; give its n and mean"
            )
        if row.launched:
            raise wrong(
                path, row.line, "launched", "true on the control arm's row; only treatment arms launch"
            )
    treated = [row for row in rows if row.arm != control]
    treated_metrics = {row.metric for row in treated}
    if unused := [r for m, r in controls.items() if m not in treated_metrics]:
        raise wrong(
            path,
            unused[0].line,
            "metric",
            f"the control row of metric {unused[0].metric!r} has no treatment "
            f"row in study {unused[0].experiment!r}; add the treatment arms' rows, or remove it",
        )
    if not treated:
        raise wrong(path, rows[0].line, "arm", f"study {rows[0].experiment!r} has no treatment row")
    fingerprint = _fingerprint(rows)
    out = []
    for row in treated:
        diff, diff_sd, ll, ll_sd, derived = _effects(path, row, controls.get(row.metric))
        n_control, control_mean = _control_numbers(path, row, controls.get(row.metric))
        record = Record(
            spec_hash=hashlib.sha256(f"summary:{row.experiment}".encode()).hexdigest(),
            data_fingerprint=fingerprint,
            experiment=row.experiment,
            first_date=None,
            last_date=last,  # type: ignore[arg-type]  # a date or None (_same)
            arm=row.arm,
            channel=pooled_channel(row.arm, row.channel),
            metric=row.metric,
            role=row.role,  # type: ignore[arg-type]  # one of Role (checked on reading)
            metric_type=row.metric_type,  # type: ignore[arg-type]
            control_mean=control_mean,
            diff_mean=diff,
            diff_sd=diff_sd,
            loglift_mean=ll,
            loglift_sd=ll_sd,
            n_arm=row.n,
            n_control=n_control,
            verdict="not judged",
            launched=row.launched,
            source="import:summary",
        )
        if problem := fault(record):
            raise wrong(path, row.line, None, problem)
        out.append((record, derived))
    covs, notes = pair_covariances(path, rows, control if isinstance(control, str) else None, pairs, out)
    return out, covs, notes


#: Cells left out of a study's fingerprint: a later decision, and what adds covariances only.
_NOT_KEYED = ("launched", "pair", "pair_mean")


def _fingerprint(rows: Sequence[Row]) -> str:
    """SHA-256 of a study's rows as read (sorted; :data:`_NOT_KEYED` left out)."""
    texts = sorted(
        json.dumps({k: v for k, v in row.cells.items() if v and k not in _NOT_KEYED}, sort_keys=True)
        for row in rows
    )
    return hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()


def _control_numbers(path: Path, row: Row, control: Row | None) -> tuple[int, float]:
    """The control's n and mean for a treatment row: its own cells, else the control row's."""
    n = row.n_control if row.n_control is not None else (control.n if control else None)
    mean = row.control_mean if row.control_mean is not None else (control.mean if control else None)
    for column, value, there in (
        ("n_control", n, control and control.n),
        ("control_mean", mean, control and control.mean),
    ):
        if control is not None and value != there:
            raise wrong(
                path,
                row.line,
                column,
                f"{value:g}, but the control row (line {control.line}) gives {there:g}; give the same "
                "number, or leave this empty to use the control row's",
            )
        if value is None:
            raise wrong(
                path,
                row.line,
                column,
                f"empty, and study {row.experiment!r} has no control row of metric "
                f"{row.metric!r}; give the control's n and mean (or a row with arm = the 'control' label)",
            )
    assert n is not None
    assert mean is not None
    return n, mean


def _sd(row: Row) -> float:
    """An arm's sd per unit: as given, or implied by a binary metric's proportion."""
    assert row.mean is not None
    return row.sd if row.sd is not None else math.sqrt(row.mean * (1 - row.mean))


def _effects(
    path: Path, row: Row, control: Row | None
) -> tuple[float, float, float | None, float | None, bool]:
    """(diff, its sd, log lift, its sd, whether one scale was derived) of a treatment row."""
    if row.is_effect:
        return _from_effect(path, row, *_control_numbers(path, row, control))
    if control is None or row.control is None:
        raise wrong(
            path,
            row.line,
            "control" if row.control is None else "metric",
            f"study {row.experiment!r} has no control row of metric {row.metric!r}"
            + ("" if row.control is not None else " (the 'control' column is empty)")
            + "; add a row with arm = the control's label and 'control' naming it on every row, "
            "or give effect, se and scale",
        )
    assert row.mean is not None
    assert control.mean is not None
    m_a, m_c, s_a, s_c = row.mean, control.mean, _sd(row), _sd(control)
    diff_sd = math.sqrt(s_a**2 / row.n + s_c**2 / control.n)
    if diff_sd == 0:
        raise wrong(
            path,
            row.line,
            "sd" if row.metric_type != "binary" else "mean",
            "both arms have no spread (sds of 0, or proportions of 0 or 1), so the difference has no "
            "sampling error; give the effect and its published standard error instead",
        )
    if m_a <= 0 or m_c <= 0:
        return m_a - m_c, diff_sd, None, None, False
    ll_sd = math.sqrt(s_a**2 / (row.n * m_a**2) + s_c**2 / (control.n * m_c**2))
    return m_a - m_c, diff_sd, math.log(m_a / m_c), ll_sd, False


def _from_effect(
    path: Path, row: Row, n_control: int, m_c: float
) -> tuple[float, float, float | None, float | None, bool]:
    """Both scales from an effect and its se on one (the other by the delta method)."""
    assert row.effect is not None
    assert row.se is not None
    if row.scale == "loglift":
        if m_c <= 0:
            raise wrong(
                path, row.line, "scale", f"loglift needs a positive control mean, not {m_c:g}; give a diff"
            )
        m_a = m_c * math.exp(row.effect)
        _check_arm_mean(path, row, m_a)
        return m_a - m_c, row.se * math.sqrt(2 / (m_a**-2 + m_c**-2)), row.effect, row.se, True
    m_a = m_c + row.effect
    _check_arm_mean(path, row, m_a)
    if m_a <= 0 or m_c <= 0:
        return row.effect, row.se, None, None, False
    return row.effect, row.se, math.log(m_a / m_c), row.se * math.sqrt((m_a**-2 + m_c**-2) / 2), True


def _check_arm_mean(path: Path, row: Row, m_a: float) -> None:
    """The arm's mean the effect implies must be possible (a proportion, a count of 0 or more)."""
    if (row.metric_type == "binary" and not 0 <= m_a <= 1) or (row.metric_type == "count" and m_a < 0):
        kind = "a proportion between 0 and 1" if row.metric_type == "binary" else "a count of 0 or more"
        raise wrong(
            path,
            row.line,
            "effect",
            f"the control mean and this effect put the arm's mean at {m_a:g}, "
            f"not {kind}; check the effect, its scale and control_mean",
        )
