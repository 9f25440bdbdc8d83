"""The within-test covariances a CSV of published summaries gives: ``pair`` and ``pair_mean``.

On an arm's row of metric a, ``pair`` names another metric b of the study and ``pair_mean`` is
the arm's mean of a x b per unit (columns: ``summaries``). Given on a treatment arm and on the
control, the pair gives that treatment arm's :class:`~channelab.engine.registry.Covariance` of
its two effects: per arm, the covariance per unit C = pair_mean - mean_a mean_b, summed over the
two arms as C / n (differences) and C / (n mean_a mean_b) (log lifts). Each value is checked
first: within the bounds of a product of its types (Fréchet bounds for two binary metrics), and
a correlation within ±1 with the two records' sds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from channelab.engine.registry.records import Covariance, Record, fault
from channelab.engine.registry.summary_rows import Row, wrong
from channelab.spec.base import suggest

__all__ = ["pair_covariances"]

#: Slack for numbers written to a CSV and read back (a bound or a correlation met exactly).
_ROUNDING = 1e-12
#: Slack of the correlation check: the registry's own (``records.checked_covariances``).
_CORRELATION_SLACK = 1e-6


#: A pair's treatment and control rows (the rows that give it) and its pair_mean on each.
_Given = dict[tuple[str, tuple[str, str]], tuple[float, Row]]


def _pairs_given(path: Path, rows: Sequence[Row]) -> _Given:
    """Per (arm, sorted pair of metrics): the pair_mean and the first row that gives it."""
    metrics = list(dict.fromkeys(row.metric for row in rows))
    known = set(metrics)
    given: _Given = {}
    for row in rows:
        if row.pair is None or row.pair_mean is None:
            continue
        if row.pair == row.metric or row.pair not in known:
            others = [m for m in metrics if m != row.metric]
            what = (
                f"names the row's own metric {row.metric!r}"
                if row.pair == row.metric
                else f"{row.pair!r} is not a metric of study {row.experiment!r}"
            )
            hint = suggest(row.pair, others) or (f"; did you mean {others[0]!r}?" if len(others) == 1 else "")
            listed = ", ".join(map(repr, others)) if others else "none"
            raise wrong(path, row.line, "pair", f"{what}{hint} (the study's other metrics: {listed})")
        pair = (min(row.metric, row.pair), max(row.metric, row.pair))
        first = given.setdefault((row.arm, pair), (row.pair_mean, row))
        if first[0] != row.pair_mean:
            raise wrong(
                path,
                row.line,
                "pair_mean",
                f"{row.pair_mean:g}, but line {first[1].line} gives {first[0]:g} for the same pair "
                f"{pair[0]!r} x {pair[1]!r} on arm {row.arm!r}; give one value (or give it on one row only)",
            )
    return given


def pair_covariances(
    path: Path,
    rows: Sequence[Row],
    control: str | None,
    cells: dict[tuple[str, str], Row],
    records: Sequence[tuple[Record, bool]],
) -> tuple[list[Covariance], list[str]]:
    """A study's covariances, one per treatment arm and pair given on that arm and on control.

    Parameters
    ----------
    path
        The CSV, for messages.
    rows
        The study's rows.
    control
        The study's control arm (None where the file names none).
    cells
        The study's row per (arm, metric).
    records
        The study's records (and whether each one's other scale was derived).

    Returns
    -------
    tuple
        The covariances, and notes on treatment arms the study gives no pair for.
    """
    given = _pairs_given(path, rows)
    by_key = {(record.arm, record.metric): record for record, _ in records}
    arms_of: dict[str, set[str]] = {}  # per metric, the treatment arms with a record of it
    for arm, metric in by_key:
        arms_of.setdefault(metric, set()).add(arm)
    arms_giving: dict[tuple[str, str], list[str]] = {}
    for arm, pair in given:
        arms_giving.setdefault(pair, []).append(arm)
    covs: list[Covariance] = []
    notes: list[str] = []
    for pair, arms in arms_giving.items():
        first = given[(arms[0], pair)][1]
        said = f"the pair {pair[0]!r} x {pair[1]!r} of study {first.experiment!r}"
        if control is None or control not in arms:
            raise wrong(
                path,
                first.line,
                "pair",
                f"{said} is given on arm {first.arm!r} but not on the control arm"
                + (f" {control!r}" if control else "")
                + "; give 'pair' and 'pair_mean' on the control arm's row of either metric too",
            )
        if not (treated := [arm for arm in arms if arm != control]):
            raise wrong(
                path,
                first.line,
                "pair",
                f"{said} is given on the control arm only; give it on the treatment arms' rows too, "
                "or remove it",
            )
        for arm in treated:
            covs.append(_covariance(path, pair, (given[(arm, pair)], given[(control, pair)]), cells, by_key))
        measured = arms_of.get(pair[0], set()) & arms_of.get(pair[1], set())
        if missing := sorted(measured.difference(treated)):
            notes.append(
                f"{said} is not given on arm(s) {', '.join(map(repr, missing))}: their effects on the "
                "two metrics are taken as uncorrelated."
            )
    return covs, notes


def _pair_rows(
    path: Path, pair: tuple[str, str], at: Row, cells: dict[tuple[str, str], Row]
) -> tuple[Row, Row]:
    """The rows of both metrics of ``pair`` on the arm of ``at``: means over the same n."""
    found = []
    for metric in pair:
        row = cells.get((at.arm, metric))
        if row is None:
            raise wrong(
                path,
                at.line,
                "pair",
                f"arm {at.arm!r} of study {at.experiment!r} has no row of metric {metric!r}; a pair needs "
                "the arm's means of both metrics",
            )
        if row.mean is None:
            raise wrong(
                path,
                row.line,
                "effect",
                f"an effect, but line {at.line} pairs metric {row.metric!r} with another on this arm; "
                "a pair needs the arm's means of both metrics (give this row's mean)",
            )
        found.append(row)
    a, b = found
    if a.n != b.n:
        raise wrong(
            path,
            at.line,
            "pair",
            f"metric {a.metric!r} has n {a.n:,} (line {a.line}) but {b.metric!r} has n {b.n:,} (line "
            f"{b.line}) on arm {at.arm!r}; a pair needs both metrics measured on the same units",
        )
    return a, b


def _pair_bounds(a: Row, b: Row) -> tuple[float | None, float | None, str]:
    """The lowest and highest possible mean of a x b over units (None: unbounded), and what it is."""
    assert a.mean is not None
    assert b.mean is not None
    kinds = {a.metric_type, b.metric_type}
    if kinds == {"binary"}:
        low, high = max(0.0, a.mean + b.mean - 1), min(a.mean, b.mean)
        return low, high, "the share with both of two binary metrics (Fréchet bounds)"
    if kinds == {"binary", "count"}:
        return 0.0, b.mean if a.metric_type == "binary" else a.mean, "a binary metric times a count"
    if kinds == {"count"}:
        return 0.0, None, "a product of two counts"
    return None, None, ""


def _arm_terms(
    path: Path, pair: tuple[str, str], given: tuple[float, Row], cells: dict[tuple[str, str], Row]
) -> tuple[float, float | None]:
    """One arm's share of the two covariances: C / n, and C / (n mean_a mean_b) (None if a mean <= 0)."""
    value, at = given
    a, b = _pair_rows(path, pair, at, cells)
    assert a.mean is not None
    assert b.mean is not None
    low, high, what = _pair_bounds(a, b)
    above = high is not None and value > high + _ROUNDING
    if low is not None and (value < low - _ROUNDING or above):
        span = f"from {low:g} to {high:g}" if high is not None else f"{low:g} or more"
        raise wrong(
            path,
            at.line,
            "pair_mean",
            f"{value:g} is impossible for {what} with means {a.mean:g} ({a.metric!r}) and {b.mean:g} "
            f"({b.metric!r}) on arm {at.arm!r}: it must be {span}; check pair_mean and the two means",
        )
    unit = value - a.mean * b.mean
    ratio = unit / (at.n * a.mean * b.mean) if a.mean > 0 and b.mean > 0 else None
    return unit / at.n, ratio


def _covariance(
    path: Path,
    pair: tuple[str, str],
    arms: tuple[tuple[float, Row], tuple[float, Row]],
    cells: dict[tuple[str, str], Row],
    by_key: dict[tuple[str, str], Record],
) -> Covariance:
    """The treatment arm's covariance of the pair's effects, checked against the records' sds."""
    (d_t, l_t), (d_c, l_c) = (_arm_terms(path, pair, given, cells) for given in arms)
    treated, control = arms[0][1], arms[1][1]
    rec_a, rec_b = by_key[(treated.arm, pair[0])], by_key[(treated.arm, pair[1])]
    cov = Covariance(
        rec_a.spec_hash,
        rec_a.data_fingerprint,
        treated.arm,
        *pair,
        cov_diff=d_t + d_c,
        cov_loglift=l_t + l_c if l_t is not None and l_c is not None else None,
    )
    for scale, value, sds in (
        ("differences", cov.cov_diff, (rec_a.diff_sd, rec_b.diff_sd)),
        ("log lifts", cov.cov_loglift, (rec_a.loglift_sd, rec_b.loglift_sd)),
    ):
        if value is None or sds[0] is None or sds[1] is None:
            continue
        if abs(correlation := value / (sds[0] * sds[1])) > 1 + _CORRELATION_SLACK:
            raise wrong(
                path,
                treated.line,
                "pair_mean",
                f"with line {control.line}'s 'pair_mean', the covariance of arm {treated.arm!r}'s two "
                f"{scale} ({pair[0]!r}, {pair[1]!r}) is {value:.6g}, a correlation of {correlation:.4g} "
                f"with their sds ({sds[0]:.6g}, {sds[1]:.6g}): beyond ±1, these numbers cannot come from "
                "one set of units; check 'pair_mean' and the two metrics' 'mean' and 'sd' on both arms",
            )
    if problem := fault(cov):
        raise wrong(path, treated.line, "pair_mean", problem)
    return cov
