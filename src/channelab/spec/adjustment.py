"""Adjusting for pre-period columns (the spec's ``adjust``), and what those columns cannot be.

Normal models (continuous metrics, cell means) adjust exactly, by ANCOVA from cell sums; the
others through quantile strata of the columns, ``model.adjust_bins`` per column
(:class:`~channelab.spec.core.ModelOptions`), or, with ``model.adjust_method: linear`` (and by
default once the strata would pass :data:`~channelab.limits.MAX_ADJUST_STRATA`), by their cell
means too (:func:`with_linear_adjustment`): the cost then grows with the columns, not with
the product of their bins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

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
        return _cell_means_problems(spec.metrics)
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
            "columns, lower model.adjust_bins, or adjust linearly (model.adjust_method: linear; a "
            "likelihood the spec chose, a share among an earlier stage or a time-to-event metric "
            "still needs strata)"
        )
    return problems + _cell_means_problems(spec.metrics)


def _cell_means_problems(metrics: Sequence[Metric]) -> list[str]:
    """Binary metrics asking for ``cell_means`` where a share per unit is not what they measure."""
    return [
        f"metrics.{i}.binary_likelihood: 'cell_means' models a share of all units; {m.name!r} is "
        + ("a share among an earlier stage (denominator)" if m.denominator else "analysed as time to event")
        + "; remove binary_likelihood"
        for i, m in enumerate(metrics)
        if m.type == "binary" and m.binary_likelihood == "cell_means" and (m.denominator or m.survival)
    ]


#: Per metric type, the field whose ``cell_means`` choice makes its adjustment linear.
_CELL_MEANS_FIELD = {
    "binary": "binary_likelihood",
    "count": "count_likelihood",
    "revenue": "revenue_likelihood",
}


def with_linear_adjustment(data: Any) -> Any:
    """The raw spec with every metric that would adjust through strata modelled by its cell means.

    Applies when ``model.adjust_method`` is ``linear``, or ``auto`` (the default) and
    ``adjust_bins`` ** (columns) exceeds :data:`~channelab.limits.MAX_ADJUST_STRATA`. A binary,
    count or revenue metric whose likelihood the spec leaves at its default then gets
    ``cell_means``: its mean per unit is estimated as before (a share, a mean count or amount),
    with a slope per arm on each standardised column. A likelihood the spec chose, a share among
    an earlier stage (``denominator``) and a time-to-event metric are left as they are (and
    adjusted through strata, whose number the checks still bound). The JSON report's spec shows
    what was fitted.

    Parameters
    ----------
    data
        The spec as read from YAML, before validation (anything else is returned unchanged).
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("adjust"), list) or not data["adjust"]:
        return data
    model = data.get("model") or {}
    if not isinstance(model, Mapping) or not isinstance(data.get("metrics"), list):
        return data
    method, bins = model.get("adjust_method", "auto"), model.get("adjust_bins", 5)
    if method == "auto":
        if not isinstance(bins, int) or bins < 2 or bins ** len(data["adjust"]) <= MAX_ADJUST_STRATA:
            return data
    elif method != "linear":
        return data
    return {**data, "metrics": [_cell_means(m) for m in data["metrics"]]}


def _cell_means(metric: Any) -> Any:
    """A raw metric with ``cell_means`` as its likelihood, where it has a default one to replace."""
    if not isinstance(metric, Mapping):
        return metric
    field = _CELL_MEANS_FIELD.get(str(metric.get("type")))
    if field is None or field in metric:
        return metric
    timed = metric.get("at") is not None and metric.get("window_days") is not None
    if metric.get("type") == "binary" and (
        metric.get("denominator") is not None or (timed and metric.get("time_model") != "window")
    ):
        return metric
    return {**metric, field: "cell_means"}


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
