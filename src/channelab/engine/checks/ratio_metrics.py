"""A ratio metric's denominator: a number ≥ 0 on every row, and above 0 in every arm.

Σ numerator / Σ denominator is undefined in an arm whose denominator sums to 0, and a negative
denominator (meetings, hours) is a data error, not a value; both stop the run, naming the file,
the column and the row or arm. The numerator's values are checked as the metric's own column
(:mod:`.values`, :mod:`.aggregates`).
"""

from __future__ import annotations

from channelab.engine.checks.base import CheckReport, Finding, Found
from channelab.engine.checks.rules import RowRule, by_arm, number_rules
from channelab.engine.source import Source, number
from channelab.spec import Metric, Spec

__all__ = ["ratio_denominators", "ratio_rules"]

_FIX = "A ratio's denominator counts or measures something (meetings, hours): fix these rows at the source"


def _ratios(spec: Spec) -> list[Metric]:
    return [m for m in spec.metrics if m.type == "ratio"]


def ratio_rules(spec: Spec) -> list[RowRule]:
    """Rules on each ratio's denominator column: a plain number (unit rows), never negative.

    Aggregated rows' sums are numbers by their own rules (:mod:`.aggregates`); there the sum of
    each row must not be negative either.

    Parameters
    ----------
    spec
        The experiment.
    """
    rules = []
    for m in _ratios(spec):
        col = m.data_columns[1]
        name = f"column {col!r} (denominator of ratio metric {m.name!r})"
        if spec.input_kind == "unit rows":
            rules += [
                RowRule("metric_values", cond, c, f"{name}: the {what}", fix)
                for c, cond, what, fix in number_rules(col, "value")
            ]
        rules.append(RowRule("metric_values", f"{number(col)} < 0", col, f"{name} is negative", _FIX))
    return rules


def ratio_denominators(source: Source, spec: Spec, so_far: CheckReport) -> Found:
    """An error for each arm in which a ratio's denominator sums to 0 (one query for every ratio).

    Not run after an error (the values it sums may not be numbers).

    Parameters
    ----------
    source
        The rows.
    spec
        The experiment.
    so_far
        The report of the checks before: its errors, and the units per arm.
    """
    ratios = _ratios(spec)
    if not ratios or so_far.errors:
        return Found()
    rows = by_arm(source, spec.arm_column, [f"sum({number(m.data_columns[1])})" for m in ratios])
    out = []
    for i, m in enumerate(ratios):
        col = m.data_columns[1]
        for a in spec.arm_order:
            total = rows.get(a, (None,) * len(ratios))[i]
            if total is None or total <= 0:
                units = so_far.arm_counts.get(a, 0)
                out.append(
                    Finding(
                        "ratio_denominator",
                        "error",
                        f"column {col!r} (denominator of ratio metric {m.name!r}) sums to 0 in arm {a!r} "
                        f"({units:,} units): Σ {m.data_columns[0]} / Σ {col} is undefined there. Check "
                        "the column, or report the numerator per unit instead",
                        int(units),
                    )
                )
    return Found(tuple(out))
