"""Adjusting for pre-period columns (the spec's ``adjust``), and what those columns cannot be.

Normal models (continuous metrics, cell means) adjust exactly, by ANCOVA from cell sums; the
others through quantile strata of the columns, ``model.adjust_bins`` per column
(:class:`~channelab.spec.core.ModelOptions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from channelab.limits import MAX_ADJUST_STRATA
from channelab.spec.columns import column_roles
from channelab.spec.core import Metric, ModelOptions, Unit


class _Adjusted(Protocol):
    """What :func:`adjust_problems` reads of the spec."""

    @property
    def adjust(self) -> Sequence[str]: ...
    @property
    def covariates(self) -> Sequence[str]: ...
    @property
    def unit(self) -> Unit: ...
    @property
    def model(self) -> ModelOptions: ...
    @property
    def metrics(self) -> Sequence[Metric]: ...
    @property
    def arm_column(self) -> str: ...
    @property
    def input_kind(self) -> str: ...
    @property
    def binned_adjustment(self) -> bool: ...


def adjust_problems(spec: _Adjusted) -> list[str]:
    """What the pre-period columns to adjust for cannot be, one line each.

    Parameters
    ----------
    spec
        The experiment definition being validated.
    """
    adjust = list(spec.adjust)
    if not adjust:
        return []
    taken = _taken_columns(spec)
    problems = [f"adjust.{i}: {c!r} is also {taken[c]}" for i, c in enumerate(adjust) if c in taken]
    if len(set(adjust)) != len(adjust):
        problems.append("adjust: a column is listed twice")
    if spec.input_kind in ("aggregated rows", "published summaries"):
        problems.append(
            f"adjust: {spec.input_kind} hold no pre-period value per unit; adjusting needs one row "
            "per unit (remove adjust, or export unit rows)"
        )
    cells = spec.model.adjust_bins ** len(adjust)
    if spec.binned_adjustment and cells > MAX_ADJUST_STRATA:
        problems.append(
            f"adjust: {len(adjust)} columns x {spec.model.adjust_bins} bins make {cells:,} "
            f"strata per arm, but at most {MAX_ADJUST_STRATA:,} are allowed; adjust for fewer "
            "columns or lower model.adjust_bins"
        )
    return problems


def _taken_columns(spec: _Adjusted) -> dict[str, str]:
    """The columns a pre-period column cannot be, with what each already is, in words."""
    unit = spec.unit
    return {
        **dict.fromkeys(spec.covariates, "a covariate (a stratum); list it in one place only"),
        **({unit.id: "the unit id"} if unit.id else {}),
        **({unit.randomised_by: "the cluster column"} if unit.randomised_by else {}),
        **{
            c: f"{what}; a pre-period column must be measured before assignment"
            for c, what in column_roles(spec.metrics, spec.arm_column).items()
        },
    }
