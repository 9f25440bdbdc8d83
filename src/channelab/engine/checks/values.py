"""The values in the rows: none missing, none impossible, all counted in one scan.

Errors (missing or impossible values) make analysis meaningless; every rule names the column,
example rows and what to fix. Unit rows are checked per metric (numbers, 0/1, whole counts,
funnel order) and per pre-period column; aggregated rows by :mod:`.aggregates`; dates by
:mod:`.dates`. No row is ever dropped.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from channelab.engine.checks.aggregates import aggregate_rules
from channelab.engine.checks.base import CheckReport, Found
from channelab.engine.checks.columns import used_columns
from channelab.engine.checks.dates import time_rules
from channelab.engine.checks.ratio_metrics import ratio_rules
from channelab.engine.checks.rules import RowRule, apply_row_rules, number_rules
from channelab.engine.source import Source, metric_value, quote
from channelab.limits import MAX_MAGNITUDE
from channelab.spec import Metric, Spec


def row_values(source: Source, spec: Spec, so_far: CheckReport) -> Found:
    """Missing, non-numeric and impossible values and dates: every rule, in one scan of the rows."""
    rules = _missing_value_rules(spec, source.columns)
    if spec.input_kind == "aggregated rows":
        rules += aggregate_rules(spec, source.columns)
    else:
        rules += _unit_rules(spec, source.columns)
    rules += ratio_rules(spec) + time_rules(spec, source.columns)
    return Found(tuple(apply_row_rules(source, rules)))


def _unit_rules(spec: Spec, types: Mapping[str, str]) -> list[RowRule]:
    """Rules on unit rows: each metric's values, the funnel's order, the pre-period values."""
    rules = [r for m in spec.metrics for r in _metric_value_rules(m, types)]
    rules += _denominator_rules(spec, types)
    rules += [
        RowRule("pre_period_values", cond, col, f"column {col!r} (adjust): the {what}", fix)
        for c in spec.adjust
        for col, cond, what, fix in number_rules(c, "pre-period value")
    ]
    return rules


def _missing_value_rules(spec: Spec, columns: Collection[str]) -> list[RowRule]:
    """Every column the spec reads is filled in on every row."""
    return [
        RowRule(
            "missing_values",
            f"{quote(col)} IS NULL",
            col,
            f"column {col!r} is empty",
            "Fill them in, or remove those units from the export and say why",
        )
        for col in used_columns(spec, columns)
    ]


def _metric_value_rules(metric: Metric, types: Mapping[str, str]) -> list[RowRule]:
    """A metric's values are finite, sane numbers of its type (0/1, non-negative, whole)."""
    col = quote(metric.source_column)
    num = metric_value(metric, types)
    kind = "numerator of a ratio" if metric.type == "ratio" else f"type {metric.type}"
    name = f"column {metric.source_column!r} (metric {metric.name!r}, {kind})"
    number = "0/1 or true/false" if metric.type == "binary" else "a plain number"
    rules = [
        (f"{col} IS NOT NULL AND {num} IS NULL", "is not a number", f"Export it as {number}"),
        (
            f"isnan({num}) OR abs({num}) = CAST('Infinity' AS DOUBLE)",
            "is infinite or NaN",
            "Fix or remove these values at the source",
        ),
        (
            f"abs({num}) > {MAX_MAGNITUDE:.0e} AND abs({num}) <> CAST('Infinity' AS DOUBLE)",
            f"is larger than {MAX_MAGNITUDE:.0e} in size",
            "No real count, amount or score is that large; it is a data error (or a unit mix-up)",
        ),
    ]
    if metric.type == "binary":
        rules.append(
            (f"{num} NOT IN (0, 1)", "is not 0 or 1", "Recode it as 0/1, or declare the metric as type count")
        )
    elif metric.type in ("count", "revenue"):
        rules.append(
            (f"{num} < 0", "is negative", f"A {metric.type} cannot be below zero; fix or explain these rows")
        )
    if metric.type == "count":
        rules.append(
            (
                f"{num} <> floor({num})",
                "is not a whole number",
                "Counts must be whole; use type continuous otherwise",
            )
        )
    return [
        RowRule("metric_values", cond, metric.source_column, f"{name} {what}", fix)
        for cond, what, fix in rules
    ]


def _denominator_rules(spec: Spec, types: Mapping[str, str]) -> list[RowRule]:
    """A unit cannot take a later step (enrol) without the earlier one (click)."""
    by_name = {m.name: m for m in spec.metrics}
    out = []
    for m in spec.metrics:
        if m.stage is None:
            continue
        d = by_name[m.stage]
        out.append(
            RowRule(
                "funnel",
                f"{metric_value(m, types)} > 0 AND NOT coalesce({metric_value(d, types)} > 0, false)",
                m.source_column,
                f"column {m.source_column!r} (metric {m.name!r}, measured among {d.name!r}) is above 0 "
                f"where {d.source_column!r} is not",
                f"A unit cannot reach {m.display!r} without {d.display!r}; fix the funnel data, or remove "
                "the metric's denominator",
            )
        )
    return out
