"""Per-arm tables of published (or assumed) numbers, and what such a table cannot hold.

The same table serves two blocks: ``data.summaries`` (a paper's table analysed as the data)
and ``original.arms`` (the original study a replication is judged against).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from channelab.limits import MAX_PUBLISHED_VALUE, MAX_UNITS
from channelab.spec.base import Strict, suggest
from channelab.spec.core import Metric


class Reported(Strict):
    """One number from a study: as published, or assumed (``assumed`` says why).

    A bare number in the YAML is a published value.

    Attributes
    ----------
    value
        The number.
    assumed
        Why the number is assumed rather than published; ``None`` when it is published.
    """

    value: Annotated[float, Field(ge=-MAX_PUBLISHED_VALUE, le=MAX_PUBLISHED_VALUE)]
    assumed: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_number(cls, v: Any) -> Any:
        return {"value": v} if isinstance(v, int | float) and not isinstance(v, bool) else v


class OriginalSummary(Strict):
    """An arm's published summary of one metric: a proportion, or a mean and sd.

    Attributes
    ----------
    proportion
        The share of units with the outcome (binary metrics).
    mean
        The mean per unit (counts, revenue, continuous metrics).
    sd
        The standard deviation per unit, published or assumed.
    """

    proportion: Reported | None = None
    mean: Reported | None = None
    sd: Reported | None = None


class OriginalArm(Strict):
    """One arm of a per-arm table: its size and its summaries per metric of the spec.

    Attributes
    ----------
    n
        The number of units (participants) in the arm.
    metrics
        Per metric name, its published summary.
    """

    n: Reported
    metrics: dict[str, OriginalSummary] = Field(default_factory=dict)

    @field_validator("n")
    @classmethod
    def _plausible_n(cls, n: Reported) -> Reported:
        if not 2 <= n.value <= MAX_UNITS:
            raise ValueError(f"got {n.value:g}, but expected between 2 and {MAX_UNITS:,} participants")
        return n


def table_problems(
    key: str,
    table: dict[str, OriginalArm],
    metrics: Sequence[Metric],
    arms: Collection[str],
    *,
    every_metric: bool,
) -> list[str]:
    """Problems of a per-arm table of published numbers, one line each.

    Parameters
    ----------
    key
        The table's key path in the spec (``original.arms``, ``data.summaries``).
    table
        Per arm label, its published size and summaries.
    metrics
        The spec's metrics, which the summaries must name.
    arms
        The spec's arm labels, which the table's arms must be.
    every_metric
        Whether every arm of the spec must be in the table with every metric (the table is the
        data), rather than only the ones the study reports.
    """
    problems = [
        f"{key}: arm {a!r} has no summaries; give its n and metrics"
        for a in arms
        if every_metric and a not in table
    ]
    for a, arm in table.items():
        problems += _arm_problems(f"{key}.{a}", a, arm, metrics, arms, every_metric=every_metric)
    return problems


def _arm_problems(
    where: str,
    label: str,
    arm: OriginalArm,
    metrics: Sequence[Metric],
    arms: Collection[str],
    *,
    every_metric: bool,
) -> list[str]:
    """Problems of one arm of the table, at key path ``where``."""
    names = [m.name for m in metrics]
    problems = []
    if label not in arms:
        problems.append(f"{where}: {label!r} is not an arm of this spec" + suggest(label, list(arms)))
    if every_metric:
        problems += [
            f"{where}.metrics.{k}: missing; give the published (or an assumed) summary"
            for k in names
            if k not in arm.metrics
        ]
    for k, summary in arm.metrics.items():
        metric = next((m for m in metrics if m.name == k), None)
        if metric is None:
            problems.append(f"{where}.metrics.{k}: not a metric of this spec" + suggest(k, names))
        else:
            problems += _summary_problems(f"{where}.metrics.{k}", metric, summary)
    return problems


def _summary_problems(where: str, metric: Metric, summary: OriginalSummary) -> list[str]:
    """What one metric's summary lacks for the metric's type (at most one line)."""
    if metric.type == "binary":
        p = summary.proportion
        if p is None or not 0 < p.value < 1:
            return [
                f"{where}.proportion: a binary metric needs the published proportion, strictly "
                "between 0 and 1"
            ]
        return []
    if summary.mean is None:
        return [f"{where}.mean: a {metric.type} metric needs the published mean"]
    if summary.sd is None or summary.sd.value <= 0:
        return [
            f"{where}.sd: a {metric.type} metric needs the sd (> 0); give the published one or an "
            "assumed one, {value: 1.2, assumed: why}"
        ]
    if metric.type != "continuous" and summary.mean.value < 0:
        return [f"{where}.mean: a {metric.type} cannot be negative"]
    return []
