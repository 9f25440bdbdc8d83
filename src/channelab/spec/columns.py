"""The columns a spec names besides its metrics, and what each cannot also be.

Covariates (strata, measured before assignment) and ``unit.randomised_by`` (the cluster
column) are columns of their own, neither a metric nor the arm column; ``model.lift_by`` is
one of the covariates. :func:`column_roles` says what the metrics' and arm columns are, for the
checks of pre-period columns (:mod:`~channelab.spec.adjustment`) and dates
(:mod:`~channelab.spec.timing`) too. A ratio's two columns are checked from the ratio's side
(:func:`ratio_column_problems`), one line per clash naming the metric and the field: they may be
other metrics' columns (revenue per meeting beside revenue and meetings), never another role's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from channelab.spec.base import suggest
from channelab.spec.core import Metric, ModelOptions, Unit


class _Columns(Protocol):
    """What :func:`column_problems` reads of the spec."""

    @property
    def metrics(self) -> Sequence[Metric]: ...
    @property
    def arm_column(self) -> str: ...
    @property
    def covariates(self) -> Sequence[str]: ...
    @property
    def model(self) -> ModelOptions: ...
    @property
    def unit(self) -> Unit: ...
    @property
    def adjust(self) -> Sequence[str]: ...


def column_roles(metrics: Sequence[Metric], arm_column: str) -> dict[str, str]:
    """What the metrics' columns and the arm column are, in words, by column name.

    A ratio's columns are not among them: :func:`ratio_column_problems` checks those.

    Parameters
    ----------
    metrics
        The spec's metrics.
    arm_column
        The column of arm labels.
    """
    roles = {m.source_column: f"the column of metric {m.name!r}" for m in metrics if m.type != "ratio"}
    roles[arm_column] = "the arm column"
    return roles


def column_problems(spec: _Columns) -> list[str]:
    """What the covariates, ``model.lift_by`` and ``unit.randomised_by`` cannot be.

    Parameters
    ----------
    spec
        The experiment definition being validated.
    """
    used = column_roles(spec.metrics, spec.arm_column)
    covariates = list(spec.covariates)
    problems = [
        f"covariates: {c!r} is also {used[c]}; a covariate must be measured before assignment, so "
        "remove it from 'covariates'"
        for c in dict.fromkeys(covariates)
        if c in used
    ]
    lift_by = spec.model.lift_by
    if lift_by is not None and lift_by not in covariates:
        problems.append(
            f"model.lift_by: got {lift_by!r}, but expected one of the covariates {covariates}"
            + suggest(lift_by, covariates)
        )
    cluster = spec.unit.randomised_by
    if cluster is not None and (cluster in covariates or cluster in used):
        problems.append(
            f"unit.randomised_by: {cluster!r} is also a covariate, metric or the arm column; "
            "it must be the column naming each unit's cluster (e.g. rep_id)"
        )
    if len(set(covariates)) != len(covariates):
        problems.append("covariates: a column is listed twice")
    return problems + ratio_column_problems(spec)


def _taken(spec: _Columns) -> dict[str, str]:
    """The columns a ratio's numerator or denominator cannot be, with what each already is, in words."""
    unit = spec.unit
    named = {
        spec.arm_column: "the arm column",
        unit.id: "the unit id (unit.id)",
        unit.randomised_by: "the cluster column (unit.randomised_by)",
        unit.entered_at: "the column of entry dates (unit.entered_at)",
    }
    return {
        **{m.at: f"the outcome date column of metric {m.name!r} (its at)" for m in spec.metrics if m.at},
        **dict.fromkeys(spec.adjust, "a pre-period column (adjust), measured before assignment"),
        **dict.fromkeys(spec.covariates, "a covariate (a stratum), measured before assignment"),
        **{c: what for c, what in named.items() if c is not None},
    }


def ratio_column_problems(spec: _Columns) -> list[str]:
    """A ratio's numerator or denominator that is another role's column: one line per clash.

    The arm column, the unit id, the cluster column, the entry dates, a covariate, a pre-period
    column or another metric's date cannot be summed above or below a ratio's line. Another
    metric's own column can (revenue per meeting reads the columns of revenue and of meetings).

    Parameters
    ----------
    spec
        The experiment definition being validated.
    """
    taken = _taken(spec)
    return [
        f"metrics.{i}.{field}: ratio metric {m.name!r} reads {col!r}, which is {taken[col]}; its "
        f"{field} must be a column of numbers per unit measured after assignment (e.g. revenue, meetings)"
        for i, m in enumerate(spec.metrics)
        if m.type == "ratio"
        for field, col in zip(("numerator", "denominator"), (m.numerator, m.denominator), strict=True)
        if col is not None and col in taken
    ]
