"""The arms: every label in the rows is an arm of the spec, and each arm has enough units.

Arm labels are checked on the rows (:func:`arm_labels`, which also counts each arm's units for
the sample-ratio test). The per-arm unit minimum is checked on the cells instead, as it counts
each metric's own units (:func:`arm_units`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from channelab.cells import Cells
from channelab.engine.checks.base import ArmCounts, CheckReport, Finding, refuse
from channelab.engine.checks.wording import closest, shown
from channelab.engine.source import ROWS, Source, number, quote
from channelab.spec import Spec

#: Fewest units an arm must have counted for a metric before anything is fitted: one unit says
#: nothing of how much units vary, so nothing tells the arm's effect from chance.
MIN_ARM_UNITS = 2
#: Fewest for a metric with a normal model (continuous; revenue or counts as cell means), which
#: estimates each arm's spread from that arm's units alone: with fewer, the spread rests on under
#: four degrees of freedom, its posterior's tail is too heavy for NUTS, and fits diverge. Measured
#: with the default sampler (first fit; 200 control units, a segment covariate; values varying
#: within the arm): 2 units failed the gate in 4 of 5 data sets, 3 or 4 units in 5 of 41, 5 units
#: in 2 of 80 (one divergence each, gone at the first refit). Binary and count models sampled
#: cleanly from 1 unit.
MIN_ARM_UNITS_NORMAL = 5


def arm_labels(source: Source, spec: Spec, so_far: CheckReport) -> ArmCounts:
    """Units per arm label (rows, or the sum of the units column of aggregated rows)."""
    arm = quote(spec.arm_column)
    units = (
        f"CAST(coalesce(fsum({number(spec.data.units)}), 0) AS BIGINT)"
        if spec.data is not None and spec.input_kind == "aggregated rows"
        else "count(*)"
    )
    rows = source.fetchall(
        f"SELECT CAST({arm} AS VARCHAR), {units} FROM {ROWS} WHERE {arm} IS NOT NULL GROUP BY 1 ORDER BY 1"
    )
    counts = {str(a): int(n) for a, n in rows}
    findings = _unknown_arms(spec, counts) + _absent_arms(spec, counts)
    return ArmCounts({a: counts[a] for a in spec.arms if a in counts}, tuple(findings))


def _unknown_arms(spec: Spec, counts: Mapping[str, int]) -> list[Finding]:
    """An error listing the labels in the rows that the spec does not list, with a hint for each."""
    unknown = {a: n for a, n in counts.items() if a not in spec.arms}
    if not unknown:
        return []
    listed = ", ".join(
        f"{shown(a)} ({n} row(s)" + (f"; {hint}" if (hint := closest(a, list(spec.arms))) else "") + ")"
        for a, n in unknown.items()
    )
    return [
        Finding(
            "unknown_arms",
            "error",
            f"column {spec.arm_column!r} has arm label(s) the spec does not list: {listed}. "
            f"The spec's arms are {list(spec.arms)}; add the label to 'arms' or fix the data.",
            sum(unknown.values()),
        )
    ]


def _absent_arms(spec: Spec, counts: Mapping[str, int]) -> list[Finding]:
    """An error listing the spec's arms that have no rows."""
    absent = [a for a in spec.arms if a not in counts]
    if not absent:
        return []
    return [
        Finding(
            "absent_arms",
            "error",
            f"arm(s) {absent} listed in the spec have no rows in column {spec.arm_column!r}. "
            "Check the spelling of the arm labels, or remove the arm from the spec.",
        )
    ]


def arm_units(cells: Cells, spec: Spec, *, where: str) -> None:
    """Refuse to fit a metric that some arm has too few units counted for.

    Run on the cells, as a metric's units may be fewer than its arm's: with an outcome window,
    only the units whose window had closed count (:meth:`Cells.units`). The monitor does not
    call it: there a look with few units counted is "too early", not an error.

    Parameters
    ----------
    cells : Cells
        The cells about to be fitted.
    spec : Spec
        The experiment: its metrics (and their models) and design.
    where : str
        The data, as the error names them (a path).

    Raises
    ------
    DataError
        Naming ``where`` (the data), each metric and arm with too few units, and what to do.
    """
    counted = {m.name: cells.per_arm(cells.units(m.name)) for m in spec.metrics}
    refuse(
        where,
        [f for i, arm in enumerate(cells.arms) if (f := _too_few_units(arm, i, counted, spec)) is not None],
    )


def _too_few_units(arm: str, i: int, counted: Mapping[str, np.ndarray], spec: Spec) -> Finding | None:
    """The metrics that arm ``i`` has fewer units counted for than their models need, as one finding."""
    short, windows = [], False
    for m in spec.metrics:
        need = MIN_ARM_UNITS_NORMAL if m.likelihood.exact_adjustment else MIN_ARM_UNITS
        n = float(counted[m.name][i])
        if n >= need:
            continue
        window = f" whose {m.window_days}-day outcome window had closed" if m.window_days else ""
        why = ", as its normal model estimates each arm's spread from that arm's units alone"
        short.append(
            f"{m.name!r} ({n:,.4g}{window}; {need} needed{why if m.likelihood.exact_adjustment else ''})"
        )
        windows = windows or bool(window)
    if not short:
        return None
    unit = "effective units (Kish)" if spec.design == "matched" else "units"
    later = ", set a later analysis date (--as-of or as_of:) once more windows have closed" if windows else ""
    return Finding(
        "arm_units",
        "error",
        f"arm {arm!r} (column {spec.arm_column!r}) has too few {unit} counted for metric(s) "
        f"{', '.join(short)}. Add units to the arm{later}, or remove it from the spec (and its rows "
        "from the data).",
        len(short),
    )
