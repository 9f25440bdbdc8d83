"""The arms: channel, planned share and cost; how costs are read; what arms and money cannot be."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Literal, Protocol

from pydantic import Field

from channelab.limits import MAX_MONEY, MAX_TOUCHES, MAX_UNITS
from channelab.spec.base import Channel, Strict, suggest
from channelab.spec.core import Metric


class Cost(Strict):
    """What an arm costs, in the spec's currency: per unit reached, per touch, fixed, and per hour of effort.

    By default costs are incremental: what the arm costs beyond business as usual. An effort
    cost (``per_hour`` with ``hours``) is read from the data: money per hour (or per touch)
    times the posterior draws of the ``hours`` metric's mean per unit in the arm, so the cost
    carries its uncertainty; with incremental costs only the arm's effort beyond the control's
    is counted (``per_hour`` × (hours in the arm − hours in the control)).

    Attributes
    ----------
    per_unit
        Cost per unit reached.
    per_touch
        Cost per touch (a call, an e-mail, a visit).
    touches
        The mean number of touches per unit.
    fixed
        A fixed cost (software, training), spread over ``economics.units`` units, by default
        the arm's units in the test.
    per_hour
        Money per unit of effort (an hour of a rep's time, or a touch); needs ``hours``.
    hours
        The name of a metric in ``metrics`` (type ``continuous`` or ``count``) whose values per
        unit are the effort spent on it, in hours or touches; needs ``per_hour``. Declare it
        as ``role: guardrail`` with ``worse: up`` so its lift is reported too.
    """

    per_unit: Annotated[float, Field(ge=0, le=MAX_MONEY)] = 0.0
    per_touch: Annotated[float, Field(ge=0, le=MAX_MONEY)] = 0.0
    touches: Annotated[float, Field(ge=0, le=MAX_TOUCHES)] = 1.0
    fixed: Annotated[float, Field(ge=0, le=MAX_MONEY)] = 0.0
    per_hour: Annotated[float, Field(ge=0, le=MAX_MONEY)] | None = None
    hours: str | None = None

    @property
    def variable(self) -> float:
        """Cost per unit before the fixed and effort costs: per unit reached plus per touch times touches."""
        return self.per_unit + self.per_touch * self.touches


class Arm(Strict):
    """One arm of the experiment: its channel, its planned share of units, and its cost.

    Attributes
    ----------
    channel
        How the arm reaches its units (``email``, ``phone``, ... ``control``).
    share
        The arm's planned share of units, relative to the other arms' (1 each: equal arms).
        ``unknown`` (an inherited or observational data set with no planned allocation) turns
        the sample-ratio check off, with a note saying so.
    cost
        What the arm costs; ``None`` when not given.
    """

    channel: Channel = "other"
    share: Annotated[float, Field(gt=0, le=1e6)] | Literal["unknown"] = 1.0
    cost: Cost | None = None


def pooled_channel(arm: str, channel: str | None) -> str:
    """The channel an arm's effects are pooled under across tests: its ``channel``, else its label.

    ``other`` (the default when a spec does not say) pools nothing: an arm of unnamed channel is
    pooled only with arms of the same label in other tests.

    Parameters
    ----------
    arm
        The arm's label.
    channel
        Its channel as the spec or a report gives it (None where not given).
    """
    return channel if channel and channel not in ("other", "control") else arm


class Economics(Strict):
    """How arms' costs are read, and over how many units a fixed cost is spread.

    Attributes
    ----------
    costs_are
        ``incremental`` (default): each treatment's cost beyond business as usual, the control
        costing nothing extra; ``total``: every arm's full cost, the control's included, and
        increments are taken against it.
    units
        Units a fixed cost is spread over (a rollout's size); by default each arm's units in
        the test.
    """

    costs_are: Literal["incremental", "total"] = "incremental"
    units: Annotated[int, Field(ge=1, le=MAX_UNITS)] | None = None


class _Armed(Protocol):
    """What the checks of this module read of the spec."""

    @property
    def arms(self) -> Mapping[str, Arm]: ...
    @property
    def control(self) -> str: ...
    @property
    def metrics(self) -> Sequence[Metric]: ...
    @property
    def economics(self) -> Economics: ...


def arm_problems(spec: _Armed) -> list[str]:
    """Arms that cannot be: fewer than two, or a control that is not one of them.

    Parameters
    ----------
    spec
        The experiment definition being validated.
    """
    arms = list(spec.arms)
    problems = []
    if len(arms) < 2:
        problems.append(f"arms: got {len(arms)} arm(s), but expected the control and at least one treatment")
    if spec.control not in spec.arms:
        problems.append(
            f"control: got {spec.control!r}, but expected one of the arms {arms}"
            + suggest(spec.control, arms)
        )
    return problems


def money_problems(spec: _Armed) -> list[str]:
    """Values and costs that cannot be: money on engagement, a harm priced as a gain, a control's cost.

    Parameters
    ----------
    spec
        The experiment definition being validated.
    """
    problems = [line for i, m in enumerate(spec.metrics) for line in _value_problems(f"metrics.{i}", m)]
    control = spec.arms.get(spec.control)
    if control is not None and spec.economics.costs_are == "incremental" and control.cost is not None:
        problems.append(
            f"arms.{spec.control}.cost: costs are incremental (beyond business as usual), so the "
            "control costs nothing extra (an effort cost, per_hour with hours, on a treatment "
            "already counts only its effort beyond the control's); to give every arm's full cost, "
            "the control's as the baseline, set economics.costs_are: total"
        )
    if spec.economics.costs_are == "total":
        problems += [
            f"arms.{a}.cost: with economics.costs_are: total every arm needs its full cost, the "
            "control's (the baseline) too"
            for a, arm in spec.arms.items()
            if arm.cost is None
        ]
    return problems + effort_problems(spec)


#: The metric types whose per-unit values can be effort (hours or touches spent on a unit).
EFFORT_TYPES = ("continuous", "count")


def effort_problems(spec: _Armed) -> list[str]:
    """Effort costs that cannot be: ``per_hour`` without ``hours`` or back, or hours no metric holds.

    Parameters
    ----------
    spec
        The experiment definition being validated.
    """
    metrics = {m.name: m for m in spec.metrics}
    problems = []
    for a, arm in spec.arms.items():
        cost, where = arm.cost, f"arms.{a}.cost"
        if cost is None or (cost.per_hour is None and cost.hours is None):
            continue
        if cost.hours is None:
            problems.append(
                f"{where}.per_hour: a cost per hour needs hours: the metric whose values per unit "
                "are the effort spent (e.g. hours: rep_hours, a metric in metrics)"
            )
        elif cost.per_hour is None:
            problems.append(
                f"{where}.hours: effort {cost.hours!r} needs per_hour: the money one hour (or touch) "
                "costs (e.g. per_hour: 60)"
            )
        if cost.hours is not None and cost.hours not in metrics:
            problems.append(
                f"{where}.hours: got {cost.hours!r}, but expected one of the metrics {list(metrics)}"
                + suggest(cost.hours, list(metrics))
            )
        elif cost.hours is not None and metrics[cost.hours].type not in EFFORT_TYPES:
            problems.append(
                f"{where}.hours: {cost.hours!r} is {metrics[cost.hours].type}, but effort is hours or "
                f"touches per unit: name a metric of type {' or '.join(EFFORT_TYPES)}"
            )
    return problems


def _value_problems(where: str, m: Metric) -> list[str]:
    """What a metric's money (``value``) and direction (``worse``) cannot be, at ``where``."""
    problems = []
    if m.value is not None and m.role == "engagement":
        problems.append(
            f"{where}.value: {m.name!r} is engagement, which is worth nothing by itself; give "
            "values to outcomes (a meeting) and guardrails (an unsubscribe)"
        )
    if m.value is not None and m.role == "revenue":
        problems.append(f"{where}.value: revenue counts at face value; remove the value")
    if m.value is not None and m.role == "outcome" and m.value < 0:
        problems.append(
            f"{where}.value: got {m.value:g}, but an outcome's value is what one is worth "
            "(≥ 0); a metric that costs money when it rises is a guardrail"
        )
    if m.value is not None and m.role == "guardrail" and _priced_as_gain(m.value, m.worse_direction):
        sign = "≤ 0 (e.g. -50, the value lost per unsubscribe)"
        if m.worse_direction == "down":
            sign = "≥ 0 (e.g. 50, what one more retained unit is worth)"
        problems.append(
            f"{where}.value: got {m.value:g}, but {m.name!r} gets worse when it goes "
            f"{m.worse_direction}, so its value per unit is {sign}; as given, the harm would "
            "count as a gain"
        )
    if m.worse is not None and m.role != "guardrail":
        problems.append(f"{where}.worse: only a guardrail has a direction in which it gets worse")
    return problems


def _priced_as_gain(value: float, worse: str) -> bool:
    """Whether a guardrail's value per unit has the sign of a gain in the direction it gets worse."""
    return value > 0 if worse == "up" else value < 0
