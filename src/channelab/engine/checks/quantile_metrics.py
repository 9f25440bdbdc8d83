"""A quantile metric has values to take its quantile of in every arm.

With ``among: positive`` only values above 0 count (deals among prospects); an arm with none
has no quantile, and the run stops naming the file, the column and the arm. Its values are
checked as any metric's column (:mod:`.values`): numbers on every row, none missing.
"""

from __future__ import annotations

from channelab.engine.checks.base import CheckReport, Finding, Found
from channelab.engine.checks.rules import by_arm
from channelab.engine.quantiles import counted_value
from channelab.engine.source import Source
from channelab.spec import Spec

__all__ = ["quantile_values"]


def quantile_values(source: Source, spec: Spec, so_far: CheckReport) -> Found:
    """An error for each arm in which a quantile metric counts no value (one query for every quantile).

    Not run after an error (the values it counts may not be numbers).

    Parameters
    ----------
    source
        The rows.
    spec
        The experiment.
    so_far
        The report of the checks before: its errors, and the units per arm.
    """
    quantiles = [m for m in spec.metrics if m.type == "quantile"]
    if not quantiles or so_far.errors or spec.input_kind != "unit rows":
        return Found()
    rows = by_arm(source, spec.arm_column, [f"count({counted_value(m, source.columns)})" for m in quantiles])
    out = []
    for i, m in enumerate(quantiles):
        above = "above 0 " if m.among == "positive" else ""
        for a in spec.arm_order:
            if not rows.get(a, (0,) * len(quantiles))[i]:
                units = so_far.arm_counts.get(a, 0)
                out.append(
                    Finding(
                        "quantile_values",
                        "error",
                        f"column {m.source_column!r} (quantile metric {m.name!r}) has no value {above}in "
                        f"arm {a!r} ({units:,} units), so it has no quantile there. Check the column, or "
                        "drop the metric",
                        int(units),
                    )
                )
    return Found(tuple(out))
