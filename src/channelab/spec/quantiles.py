"""Quantile metrics (``type: quantile``), and what they cannot be.

A quantile's posterior is the Bayesian bootstrap of the units' values
(:mod:`channelab.analysis.quantiles`): it treats the units of an arm as exchangeable draws.
That holds for units randomised one by one, read from unit rows; not for aggregated rows or
published summaries (a quantile is not a sum of anything), a cluster-randomised test (units of a
cluster are not independent) or a matched cohort (its weights are not frequencies).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from channelab.spec.core import Metric, Unit

#: Fields a ``quantile`` metric cannot have: it reads its column as it stands, has no money value,
#: no timing and no likelihood to choose.
_NOT_FOR_QUANTILE = (
    "value",
    "at",
    "window_days",
    "time_model",
    "intervals",
    "count_likelihood",
    "revenue_likelihood",
    "binary_likelihood",
    "numerator",
    "denominator",
)


class _Quantiled(Protocol):
    """What :func:`quantile_problems` reads of the spec."""

    @property
    def metrics(self) -> Sequence[Metric]: ...
    @property
    def design(self) -> str: ...
    @property
    def unit(self) -> Unit: ...
    @property
    def input_kind(self) -> str: ...


def quantile_problems(spec: _Quantiled) -> list[str]:
    """Quantile metrics that cannot be, and ``q`` or ``among`` where they mean nothing; one line each.

    Parameters
    ----------
    spec
        The experiment definition being validated.
    """
    problems = []
    for i, m in enumerate(spec.metrics):
        where = f"metrics.{i}"
        if m.type != "quantile":
            problems += [
                f"{where}.{field}: only a metric of type 'quantile' has one; {m.name!r} is {m.type}"
                for field in ("q", "among")
                if field in m.model_fields_set
            ]
            continue
        if m.q is None:
            problems.append(
                f"{where}.q: quantile metric {m.name!r} needs its level q, in (0, 1): 0.5 for the median"
            )
        problems += [
            f"{where}.{field}: quantile metric {m.name!r} cannot have {field}; it is the q-quantile of "
            f"column {m.source_column!r} per arm (remove {field})"
            for field in _NOT_FOR_QUANTILE
            if field in m.model_fields_set
        ]
        problems += [f"{where}.type: quantile metric {m.name!r} {why}" for why in _design_problems(spec)]
    return problems


def _design_problems(spec: _Quantiled) -> list[str]:
    """Why the design cannot give a quantile's posterior (the Bayesian bootstrap of its units)."""
    if spec.input_kind not in ("unit rows", "none"):
        return [f"needs one row per unit; {spec.input_kind} hold no values to take a quantile of"]
    if spec.unit.randomised_by is not None:
        return [
            f"treats units as independent, but clusters ({spec.unit.randomised_by!r}) were randomised; "
            "its interval would be too narrow (report the cluster means instead)"
        ]
    if spec.design != "randomised":
        return ["needs a randomised design: a matched cohort's weights are not counts of units"]
    return []
