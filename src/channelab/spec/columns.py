"""The columns a spec names besides its metrics, and what each cannot also be.

Covariates (strata, measured before assignment) and ``unit.randomised_by`` (the cluster
column) are columns of their own, neither a metric nor the arm column; ``model.lift_by`` is
one of the covariates. :func:`column_roles` says what the metrics' and arm columns are, for the
checks of pre-period columns (:mod:`~channelab.spec.adjustment`) and dates
(:mod:`~channelab.spec.timing`) too.
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


def column_roles(metrics: Sequence[Metric], arm_column: str) -> dict[str, str]:
    """What the metrics' columns and the arm column are, in words, by column name.

    Parameters
    ----------
    metrics
        The spec's metrics.
    arm_column
        The column of arm labels.
    """
    roles = {m.source_column: f"the column of metric {m.name!r}" for m in metrics}
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
    return problems
