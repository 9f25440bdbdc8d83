"""Time in a test: entry dates, outcome dates and windows, the analysis date; what they cannot be.

The fields live where they belong (``unit.entered_at``, ``metrics[].at`` and
``metrics[].window_days``, the spec's ``as_of``); this module checks them together.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

from channelab.errors import shown
from channelab.limits import MAX_DATE_YEAR, MIN_DATE_YEAR
from channelab.spec.columns import column_roles
from channelab.spec.core import Metric, Unit

#: The earliest and latest analysis date (``as_of``, ``--as-of``).
FIRST_DAY, LAST_DAY = date(MIN_DATE_YEAR, 1, 1), date(MAX_DATE_YEAR, 12, 31)
_ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def parse_day(value: Any) -> date | None:
    """A date written YYYY-MM-DD (or already a date), within the plausible range; ``None`` stays.

    Parameters
    ----------
    value
        What the spec or the command line says.

    Raises
    ------
    ValueError
        Saying what was given and what is expected (a real calendar day between
        :data:`FIRST_DAY` and :data:`LAST_DAY`).
    """
    if value is None:
        return None
    expected = "a valid date written YYYY-MM-DD, such as 2026-03-31"
    if isinstance(value, datetime) or not isinstance(value, (date, str)):
        raise ValueError(f"got {shown(value)}, but expected {expected}")
    day = _iso_day(value.strip(), expected) if isinstance(value, str) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(
            f"got {day.isoformat()}, but expected a date between {FIRST_DAY.isoformat()} and "
            f"{LAST_DAY.isoformat()}; check the year"
        )
    return day


def _iso_day(text: str, expected: str) -> date:
    """The calendar day ``text`` (YYYY-MM-DD) names; a ``ValueError`` saying what is wrong."""
    if not _ISO_DAY.match(text):
        raise ValueError(f"got {shown(text)}, but expected {expected}")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"got {text!r}, but expected {expected} ({exc})") from None


class _Timed(Protocol):
    """What :func:`timing_problems` reads of the spec."""

    @property
    def metrics(self) -> Sequence[Metric]: ...
    @property
    def unit(self) -> Unit: ...
    @property
    def arm_column(self) -> str: ...
    @property
    def covariates(self) -> Sequence[str]: ...
    @property
    def adjust(self) -> Sequence[str]: ...
    @property
    def design(self) -> str: ...
    @property
    def input_kind(self) -> str: ...
    @property
    def as_of(self) -> date | None: ...


def timing_problems(spec: _Timed) -> list[str]:
    """What the time columns (``unit.entered_at``, ``metrics[].at``, windows) cannot be.

    Parameters
    ----------
    spec
        The experiment definition being validated.
    """
    used = column_roles(spec.metrics, spec.arm_column)
    problems = [line for i, m in enumerate(spec.metrics) for line in _outcome_time_problems(spec, i, m, used)]
    problems += _entry_problems(spec, used)
    if spec.as_of is not None and spec.unit.entered_at is None:
        problems.append("as_of: an analysis date needs unit.entered_at, the column of entry dates")
    return problems


def _outcome_time_problems(spec: _Timed, i: int, m: Metric, used: dict[str, str]) -> list[str]:
    """What metric ``i``'s outcome date column and window cannot be."""
    entered = spec.unit.entered_at
    problems = []
    if m.timed and entered is None:
        field = "at" if m.at is not None else "window_days"
        problems.append(
            f"metrics.{i}.{field}: outcome dates and windows count from each unit's entry; "
            "name its column in unit.entered_at"
        )
    if m.timed and spec.input_kind != "unit rows":
        problems.append(
            f"metrics.{i}: outcome dates and windows need one row per unit, not {spec.input_kind}; "
            "remove at and window_days (unit.entered_at may still date each row's period)"
        )
    if m.at is not None and (m.at in used or m.at == entered or m.at in spec.covariates):
        problems.append(
            f"metrics.{i}.at: {m.at!r} is also another column of the spec; it must be the "
            "column of the date this metric's outcome happened"
        )
    if m.window_days is not None and (spec.adjust or spec.design == "matched"):
        problems.append(
            f"metrics.{i}.window_days: outcome windows cannot yet be combined with "
            f"{'adjust' if spec.adjust else 'a matched design'} (its sums cover every unit, "
            "mature or not); remove the window, or give a column of the value within it"
        )
    return problems + _survival_problems(i, m)


def _survival_problems(i: int, m: Metric) -> list[str]:
    """What a time-to-event metric's settings (``time_model``, ``intervals``, ``hazards``) cannot be."""
    can = m.type == "binary" and m.at is not None and m.window_days is not None and m.denominator is None
    if m.time_model == "survival" and not can:
        return [
            f"metrics.{i}.time_model: survival needs a binary metric with at (the outcome's date) and "
            "window_days, and no denominator; set them, or use time_model: window"
        ]
    if not m.survival:
        stray = [k for k in ("intervals", "hazards") if k in m.model_fields_set]
        return [
            f"metrics.{i}.{k}: only a metric analysed as time to event uses it (a binary metric with at "
            "and window_days, time_model: survival); remove it"
            for k in stray
        ]
    cuts = m.intervals or []
    if any(b <= a for a, b in itertools.pairwise(cuts)):
        return [f"metrics.{i}.intervals: got {cuts}, but the days must rise, each above the one before"]
    if cuts and m.window_days is not None and cuts[-1] >= m.window_days:
        return [
            f"metrics.{i}.intervals: got {cuts}, but every cut must lie inside the {m.window_days}-day "
            "window (below window_days)"
        ]
    return []


def _entry_problems(spec: _Timed, used: dict[str, str]) -> list[str]:
    """What the column of entry dates (``unit.entered_at``) cannot be."""
    entered = spec.unit.entered_at
    if entered is None:
        return []
    problems = []
    if entered in used or entered in spec.covariates or entered in spec.adjust:
        problems.append(
            f"unit.entered_at: {entered!r} is also a metric, covariate or the arm column; it "
            "must be the column of each unit's entry date"
        )
    if spec.input_kind == "published summaries":
        problems.append("unit.entered_at: a per-arm table has no dates; remove it")
    return problems
