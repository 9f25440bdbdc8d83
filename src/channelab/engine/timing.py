"""Time in the data: entry dates, outcome dates and windows, as SQL the engines run.

An analysis as of a date D sees the test as it stood on D:

- units that entered after D are not in it (``entered_at`` > D);
- a metric with an outcome window of W days counts only *mature* units, those that entered
  at least W days before D, and for them the outcomes dated within W days of entry;
- a metric with an outcome date (``at``) but no window counts every entered unit, with the
  outcomes dated on or before D (the naive read: recent units have had less time);
- a metric with neither is read as known when the unit entered.

Dates are read with ``TRY_CAST`` to a timestamp, then to a day, so ``2026-03-02`` and
``2026-03-02 14:05`` both work and anything else is NULL (the checks name such rows).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import numpy as np

from channelab.engine.source import ROWS, Source, quote
from channelab.errors import DataError
from channelab.spec import Metric, Spec
from channelab.spec.timing import FIRST_DAY, LAST_DAY


def day(column: str) -> str:
    """SQL of a column read as a date (a day), NULL where it is not one.

    A date is written YYYY-MM-DD (a time may follow) and lies between
    :data:`~channelab.spec.timing.FIRST_DAY` and :data:`~channelab.spec.timing.LAST_DAY`: the
    engines also read ``epoch``, ``infinity`` and years such as 294247 as timestamps, which no
    outreach test has and Python cannot hold.
    """
    col, stamp = quote(column), f"TRY_CAST({quote(column)} AS TIMESTAMP)"
    first = f"TIMESTAMP '{FIRST_DAY.isoformat()} 00:00:00'"
    last = f"TIMESTAMP '{LAST_DAY.isoformat()} 23:59:59'"
    written = f"regexp_matches(trim(CAST({col} AS VARCHAR)), '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}')"
    return f"(CASE WHEN {written} AND {stamp} BETWEEN {first} AND {last} THEN CAST({stamp} AS DATE) END)"


def blank(column: str) -> str:
    """SQL condition: the column is empty (NULL, or only spaces)."""
    return f"({quote(column)} IS NULL OR trim(CAST({quote(column)} AS VARCHAR)) = '')"


def day_literal(d: date) -> str:
    """SQL of a date constant."""
    return f"DATE '{d.isoformat()}'"


def entered_by(spec: Spec, as_of: date | None) -> str | None:
    """SQL condition: the row's unit had entered by ``as_of``; ``None`` when everything counts."""
    if as_of is None or spec.unit.entered_at is None:
        return None
    return f"({day(spec.unit.entered_at)} <= {day_literal(as_of)})"


def mature(metric: Metric, spec: Spec, as_of: date | None) -> str | None:
    """SQL condition: the unit's outcome window for ``metric`` had closed by ``as_of``."""
    if as_of is None or metric.window_days is None or spec.unit.entered_at is None:
        return None
    return f"(date_diff('day', {day(spec.unit.entered_at)}, {day_literal(as_of)}) >= {metric.window_days})"


def timed_value(metric: Metric, value: str, spec: Spec, as_of: date | None) -> str:
    """SQL of ``metric``'s value (``value``) as known at ``as_of``: 0 for outcomes not yet counted.

    With an outcome date, the value counts when that date falls within the window (or, without
    one, on or before ``as_of``); rows without a date have had no outcome.
    """
    if metric.at is None or spec.unit.entered_at is None:
        return value
    at = day(metric.at)
    limit = (
        f"date_diff('day', {day(spec.unit.entered_at)}, {at}) <= {metric.window_days}"
        if metric.window_days is not None
        else f"{at} <= {day_literal(as_of)}"
        if as_of is not None
        else "TRUE"
    )
    return f"(CASE WHEN {at} IS NOT NULL AND {limit} THEN {value} ELSE 0.0 END)"


def followed_sums(metric: Metric, spec: Spec, value: str) -> dict[str, str]:
    """SQL of one unit's first events and days at risk per interval since entry.

    Keyed ``events{k}`` and ``exposure{k}``: the exact statistics of a piecewise-exponential
    likelihood.

    A unit is followed through day ``last`` since entry: the day of its outcome, if that came
    within the window and by the analysis date; else the window's last day or the analysis
    date, whichever is first (censored). It is at risk on days 0 … ``last``; interval
    [b_k, b_k+1) holds max(0, min(b_k+1, last + 1) − b_k) of them (see
    :class:`channelab.cells.SurvivalCells`).
    """
    assert metric.at is not None
    assert metric.window_days is not None
    assert spec.unit.entered_at is not None
    entered, at = day(spec.unit.entered_at), day(metric.at)
    limit = str(metric.window_days)
    if spec.as_of is not None:
        limit = f"LEAST({limit}, date_diff('day', {entered}, {day_literal(spec.as_of)}))"
    d = f"date_diff('day', {entered}, {at})"
    event = f"({at} IS NOT NULL AND {value} > 0 AND {d} <= {limit})"
    last = f"(CASE WHEN {event} THEN {d} ELSE {limit} END)"
    bounds = metric.interval_bounds
    out = {}
    for k, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        out[f"events{k}"] = f"(CASE WHEN {event} AND {d} >= {lo} AND {d} < {hi} THEN 1.0 ELSE 0.0 END)"
        out[f"exposure{k}"] = f"CAST(GREATEST(0, LEAST({hi}, {last} + 1) - {lo}) AS DOUBLE)"
    return out


def survival_sums(metric: Metric, stat: Callable[[str], np.ndarray | None]) -> dict[str, Any]:
    """A time-to-event metric's events and days at risk, dims (cell, interval), and its bounds."""
    bounds = metric.interval_bounds

    def stacked(name: str) -> np.ndarray:
        columns = [stat(f"{name}{k}") for k in range(len(bounds) - 1)]
        assert all(c is not None for c in columns)
        return np.stack(columns, axis=1)  # type: ignore[arg-type]  # all present (asserted)

    return {"events": stacked("events"), "exposure": stacked("exposure"), "bounds": bounds}


def indicator(condition: str | None) -> str:
    """SQL of 1.0 where ``condition`` holds, else 0.0 (1.0 for no condition)."""
    return "1.0" if condition is None else f"(CASE WHEN {condition} THEN 1.0 ELSE 0.0 END)"


def date_columns(spec: Spec) -> list[tuple[str, str]]:
    """(column, what it is) of every date column the spec names: entry first, then outcomes."""
    out = [(spec.unit.entered_at, "unit.entered_at")] if spec.unit.entered_at else []
    out += [(m.at, f"the date of metric {m.name!r}") for m in spec.metrics if m.at is not None]
    return out


def date_range(source: Source, spec: Spec) -> tuple[date, date]:
    """The first entry date and the latest date of any kind in the data (valid dates only)."""
    assert spec.unit.entered_at is not None
    latest = ", ".join(f"max({day(c)})" for c, _ in date_columns(spec))
    ((first, *lasts),) = source.fetchall(f"SELECT min({day(spec.unit.entered_at)}), {latest} FROM {ROWS}")
    if first is None:
        raise DataError(
            f"{source.path}: column {spec.unit.entered_at!r} (unit.entered_at) holds no date; write "
            "entry dates as YYYY-MM-DD (a time after the date is allowed)"
        )
    return _as_date(first), max(_as_date(d) for d in lasts if d is not None)


def with_as_of(source: Source, spec: Spec, as_of: date | None = None) -> Spec:
    """``spec`` with its analysis date set: ``as_of``, else the spec's, else the latest date in the data.

    Specs without entry dates are returned as they are.
    """
    if not spec.timed:
        return spec
    chosen = as_of or spec.as_of or date_range(source, spec)[1]
    return spec.model_copy(update={"as_of": chosen})


def _as_date(value: object) -> date:
    """A date from what an engine returns for a DATE (a ``date``, or a ``datetime``)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"expected a date from the engine, got {value!r}")
