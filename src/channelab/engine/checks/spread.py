"""Aggregated rows whose sums of squares show no spread at all: an export mistake, not data.

Σ y² = (Σ y)² / units says every unit of the row has the row's mean. For one row that can be
true (a few units that all scored alike); for every row of an arm it is not what amounts,
counts or scores do, and is the mark of a common export mistake: the column holds each row's
mean squared times its units (or (Σ y)² / units) instead of the sum of each unit's square.
The normal model estimates each arm's spread from that arm's rows alone, so such an arm gets a
spread of nearly 0 and a false precision: its lift reads as certain.
"""

from __future__ import annotations

from channelab.engine.checks.base import CheckReport, Finding, Found
from channelab.engine.checks.wording import EXAMPLES
from channelab.engine.source import ROWS, Source, aggregate_columns, literal, number, quote
from channelab.errors import first_few, shown
from channelab.spec import Metric, Spec

#: Relative tolerance within which Σ y² · units = (Σ y)² counts as no spread (floating sums).
_TOLERANCE = 1e-9


def zero_spread(source: Source, spec: Spec, so_far: CheckReport) -> Found:
    """An error for each metric whose Σ y² shows no spread in any row of some arm.

    The rule, per metric with a Σ y² column (count, revenue, continuous) and per arm: the rows
    that could show a spread are those of at least 2 units whose mean lies strictly inside the
    metric's bounds (above 0 for counts and revenue, whose values cannot be negative: a row of
    zeros has no spread by necessity; any mean for a continuous score). If the arm has such
    rows and none of them shows a spread, the column is refused. One row without spread
    among rows with spread is legitimate and passes. Not run after an error (the values it
    reads may not be numbers).
    """
    if spec.input_kind != "aggregated rows" or so_far.errors:
        return Found()
    out = []
    for m in spec.metrics:
        present = aggregate_columns(m, source.columns)[0]
        if m.type != "binary" and "sum_sq" in present:
            out += _flat_arms(source, spec, m, present["total"], present["sum_sq"])
    return Found(tuple(out))


def _flat_arms(source: Source, spec: Spec, m: Metric, total_col: str, sq_col: str) -> list[Finding]:
    """The error for metric ``m`` if some arm's rows that could vary show no spread, else none."""
    assert spec.data is not None
    units, total, sq = number(spec.data.units), number(total_col), number(sq_col)
    inside = "TRUE" if m.type == "continuous" else f"{total} > 0"
    could = f"{units} >= 2 AND {inside}"
    flat = f"abs({sq} * {units} - {total} * {total}) <= {_TOLERANCE} * {total} * {total} + {_TOLERANCE}"
    arm = f"CAST({quote(spec.arm_column)} AS VARCHAR)"
    rows = source.fetchall(
        f"SELECT {arm}, count(*) FILTER (WHERE {could}), count(*) FILTER (WHERE {could} AND NOT ({flat})) "
        f"FROM {ROWS} GROUP BY 1 ORDER BY 1"
    )
    arms = [str(a) for a, could_vary, varied in rows if could_vary and not varied]
    if not arms:
        return []
    listed = ", ".join(literal(a) for a in arms)
    where = f"{could} AND {arm} IN ({listed})"
    ((n,),) = source.fetchall(f"SELECT count(*) FROM {ROWS} WHERE {where}")
    examples = ", ".join(w for w, _ in source.first_rows(where, quote(sq_col), EXAMPLES))
    named = first_few([shown(a) for a in arms])
    return [
        Finding(
            "zero_spread",
            "error",
            f"column {sq_col!r}: the Σ y² of metric {m.name!r} equals (Σ y)² / units in every row of "
            f"arm(s) {named} ({n} row(s) of 2 or more units, e.g. {examples}): no unit differs from its "
            "row's mean, which real values do not do, and the model would read the arm's spread as 0 "
            "and its lift as certain. The column likely holds each row's mean squared times its units; "
            "export the sum of each unit's squared value instead.",
            int(n),
        )
    ]
