"""Time in a test: entry dates, outcome dates and windows, the analysis date; what they cannot be.

The fields live where they belong (``unit.entered_at``, ``metrics[].at`` and
``metrics[].window_days``, the spec's ``as_of``); this module checks them together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from channelab.spec.columns import column_roles
from channelab.spec.core import Metric, Unit


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
    return problems


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
