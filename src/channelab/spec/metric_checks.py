"""The checks of a spec's metrics beyond their own fields: arm priors, funnel stages and ratios.

Split from :mod:`.core` (which re-exports them); :class:`~channelab.spec.schema.Spec` runs them
in its fixed order. A ``ratio`` metric's checks (:func:`ratio_problems`) run with the metrics'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from channelab.spec.base import suggest


class _Priors(Protocol):
    """What these checks read of priors (:class:`channelab.spec.core.Priors`)."""

    @property
    def arm_mu(self) -> Mapping[str, float]: ...
    @property
    def arm_sds(self) -> Mapping[str, float]: ...
    @property
    def from_(self) -> str | None: ...


class _Metric(Protocol):
    """What these checks read of a metric (:class:`channelab.spec.core.Metric`)."""

    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def decisive(self) -> bool: ...
    @property
    def numerator(self) -> str | None: ...
    @property
    def denominator(self) -> str | None: ...
    @property
    def stage(self) -> str | None: ...
    @property
    def priors(self) -> _Priors | None: ...
    @property
    def model_fields_set(self) -> set[str]: ...


class _Core(Protocol):
    """What the checks of this module read of the spec."""

    @property
    def arms(self) -> Mapping[str, object]: ...
    @property
    def control(self) -> str: ...
    @property
    def metrics(self) -> Sequence[_Metric]: ...
    @property
    def priors(self) -> _Priors: ...
    @property
    def input_kind(self) -> str: ...


def prior_problems(spec: _Core) -> list[str]:
    """Arm priors (``arm_mu``, ``arm_sds``) for what is not a treatment arm; ``from`` out of place.

    Parameters
    ----------
    spec
        The experiment definition being validated.
    """
    named = [
        (f"priors.{field}", a)
        for p in (spec.priors, *(m.priors for m in spec.metrics if m.priors))
        for field, per_arm in (("arm_mu", p.arm_mu), ("arm_sds", p.arm_sds))
        for a in per_arm
    ]
    arms = list(spec.arms)
    problems = [
        f"{field}: {a!r} is not a treatment arm" + suggest(a, arms)
        for field, a in dict.fromkeys(named)
        if a not in spec.arms or a == spec.control
    ]
    problems += [
        f"metrics[{m.name}].priors.from: a learned-priors file applies to every metric; give it once, "
        "in the spec's own priors"
        for m in spec.metrics
        if m.priors and m.priors.from_
    ]
    return problems


def funnel_problems(spec: _Core) -> list[str]:
    """Denominators (``metrics[].denominator``) that cannot be, one line each.

    Parameters
    ----------
    spec
        The experiment definition being validated.
    """
    problems = []
    seen: dict[str, _Metric] = {}
    for i, m in enumerate(spec.metrics):
        if m.stage is not None:  # a ratio's denominator is a column: see ratio_problems
            problems += _denominator_problems(f"metrics.{i}.denominator", m, m.stage, seen, spec)
        seen[m.name] = m
    return problems


def _denominator_problems(
    where: str, metric: _Metric, denominator: str, earlier: dict[str, _Metric], spec: _Core
) -> list[str]:
    """What a metric's denominator cannot be, given the metrics listed before it (at most one line)."""
    stage = earlier.get(denominator)
    if metric.type != "binary":
        return [
            f"{where}: only a binary metric can be measured among the units of an earlier stage; "
            f"{metric.name!r} is {metric.type}"
        ]
    if stage is None:
        return [
            f"{where}: got {denominator!r}, but expected a metric listed before {metric.name!r}"
            + suggest(denominator, list(earlier))
        ]
    if stage.type not in ("binary", "count"):
        return [
            f"{where}: {denominator!r} is {stage.type}; a denominator counts units "
            "(binary, or a count whose sum is the units reaching that stage)"
        ]
    if spec.input_kind == "published summaries":
        return [f"{where}: not available with published summaries"]
    return []


#: Fields a ``ratio`` metric cannot have: it is Σ numerator / Σ denominator of two columns, with
#: its own likelihood, no money value and no timing (both columns are read as they stand).
_NOT_FOR_RATIO = (
    "column",
    "value",
    "at",
    "window_days",
    "time_model",
    "intervals",
    "count_likelihood",
    "revenue_likelihood",
)


def ratio_problems(spec: _Core) -> list[str]:
    """Ratio metrics that cannot be, and ``numerator`` where it means nothing; one line each.

    A ``ratio`` needs ``numerator`` and ``denominator`` (two data columns, not the same) and none of
    :data:`_NOT_FOR_RATIO`; published summaries hold no cross-products, so they cannot give one.

    Parameters
    ----------
    spec
        The experiment definition being validated.
    """
    problems = []
    for i, m in enumerate(spec.metrics):
        where = f"metrics.{i}"
        if m.type != "ratio":
            if m.numerator is not None:
                problems.append(
                    f"{where}.numerator: only a metric of type 'ratio' has one; {m.name!r} is {m.type}"
                )
            continue
        for field, what in (
            ("numerator", "summed above the line (e.g. revenue)"),
            ("denominator", "summed below the line (e.g. meetings)"),
        ):
            if getattr(m, field) is None:
                problems.append(
                    f"{where}.{field}: ratio metric {m.name!r} needs {field}: the data column {what}"
                )
        if m.numerator is not None and m.numerator == m.denominator:
            problems.append(f"{where}.denominator: ratio metric {m.name!r} divides {m.numerator!r} by itself")
        problems += [
            f"{where}.{field}: ratio metric {m.name!r} cannot have {field}; it is Σ {m.numerator} / "
            f"Σ {m.denominator} per arm, read from its two columns (remove {field})"
            for field in _NOT_FOR_RATIO
            if field in m.model_fields_set
        ]
        if spec.input_kind == "published summaries":
            problems.append(
                f"{where}.type: ratio metric {m.name!r} needs unit or aggregated rows; published "
                "summaries hold no sums of its two columns"
            )
    return problems
