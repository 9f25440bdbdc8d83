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
from channelab.engine.checks.wording import EXAMPLES, closest
from channelab.engine.source import ROWS, Source, literal, number, quote
from channelab.errors import first_few, shown
from channelab.limits import MAX_MAGNITUDE
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
    """Units per arm label (rows, or the sum of the units column of aggregated rows).

    Only the spec's arms are counted one by one; labels the spec does not list are counted,
    and the most frequent few named (:func:`_unknown_arms`), however many there are.
    """
    arm = f"CAST({quote(spec.arm_column)} AS VARCHAR)"
    value = number(spec.data.units) if spec.data is not None else ""
    sane = f"CASE WHEN abs({value}) <= {MAX_MAGNITUDE} THEN {value} END"  # NaN sorts above all
    units = (  # NaN, infinite or huge units are the values check's to name, not an overflow here
        f"CAST(coalesce(fsum({sane}), 0) AS BIGINT)"
        if spec.data is not None and spec.input_kind == "aggregated rows"
        else "count(*)"
    )
    labels = f"SELECT {arm} AS a_, {units} AS n_ FROM {ROWS} WHERE {arm} IS NOT NULL GROUP BY 1"
    known = ", ".join(literal(a) for a in spec.arms)
    counts = {str(a): int(n) for a, n in source.fetchall(f"SELECT * FROM ({labels}) WHERE a_ IN ({known})")}
    findings = _unknown_arms(source, spec, f"SELECT * FROM ({labels}) WHERE a_ NOT IN ({known})")
    findings += _absent_arms(spec, counts)
    return ArmCounts({a: counts[a] for a in spec.arms if a in counts}, tuple(findings))


def _unknown_arms(source: Source, spec: Spec, unknown: str) -> list[Finding]:
    """An error naming the most frequent labels the spec does not list (a hint for each) and a count."""
    ((labels, rows),) = source.fetchall(f"SELECT count(*), coalesce(sum(n_), 0) FROM ({unknown})")
    if not labels:
        return []
    first = source.fetchall(f"SELECT a_, n_ FROM ({unknown}) ORDER BY n_ DESC, a_ LIMIT {EXAMPLES}")
    listed = ", ".join(
        f"{shown(a)} ({n} row(s)" + (f"; {hint}" if (hint := closest(str(a), list(spec.arms))) else "") + ")"
        for a, n in first
    )
    if labels > len(first):
        listed += f" and {labels - len(first):,} more"
    return [
        Finding(
            "unknown_arms",
            "error",
            f"column {spec.arm_column!r} has arm label(s) the spec does not list: {listed}. "
            f"The spec's arms are {_few(list(spec.arms))}; add the label to 'arms' or fix the data.",
            int(rows),
        )
    ]


def _few(labels: list[str]) -> str:
    """The first few of ``labels`` as a list, and how many more."""
    more = f" and {len(labels) - EXAMPLES:,} more" if len(labels) > EXAMPLES else ""
    return "[" + first_few([shown(a) for a in labels[:EXAMPLES]]) + "]" + more


def _absent_arms(spec: Spec, counts: Mapping[str, int]) -> list[Finding]:
    """An error naming the spec's arms that have no rows, another those whose rows count 0 units."""
    out = []
    absent = [a for a in spec.arms if a not in counts]
    if absent:
        out.append(
            Finding(
                "absent_arms",
                "error",
                f"arm(s) {_few(absent)} listed in the spec have no rows in column {spec.arm_column!r}. "
                "Check the spelling of the arm labels, or remove the arm from the spec.",
                len(absent),
            )
        )
    empty = [a for a in spec.arms if counts.get(a) == 0]
    if empty:
        units = spec.data.units if spec.data is not None else "units"
        out.append(
            Finding(
                "absent_arms",
                "error",
                f"arm(s) {_few(empty)} have rows in column {spec.arm_column!r} but 0 units in column "
                f"{units!r}: nothing was measured, so any result for them would be the prior's. Add "
                "the arm's units, or remove the arm from the spec (and its rows from the data).",
                len(empty),
            )
        )
    return out


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
    counted = {m.name: cells.per_arm(_counted(cells, m.name)) for m in spec.metrics}
    refuse(
        where,
        [f for i, arm in enumerate(cells.arms) if (f := _too_few_units(arm, i, counted, spec)) is not None],
    )


def _counted(cells: Cells, metric: str) -> np.ndarray:
    """Units per cell that count for ``metric``: for a share of an earlier stage, those who reached it."""
    reached = cells.metrics[metric].reached
    return cells.units(metric) if reached is None else reached


def _too_few_units(arm: str, i: int, counted: Mapping[str, np.ndarray], spec: Spec) -> Finding | None:
    """The metrics that arm ``i`` has fewer units counted for than their models need, as one finding."""
    short, windows, stages = [], False, False
    for m in spec.metrics:
        need = MIN_ARM_UNITS_NORMAL if m.likelihood.exact_adjustment else MIN_ARM_UNITS
        n = float(counted[m.name][i])
        if n >= need:
            continue
        window = f" whose {m.window_days}-day outcome window had closed" if m.window_days else ""
        if m.survival:  # every entered unit counts, but the window's end must be within the data
            window = (
                f" followed for the whole {m.window_days}-day window; the time-to-event model counts every "
                "entered unit, but P(outcome within the window) past the longest follow-up would be a guess"
            )
        windows = windows or bool(window)
        if m.stage is not None:
            window, stages = f"{window} who reached {m.stage!r}", True
        why = ", as its normal model estimates each arm's spread from that arm's units alone"
        short.append(
            f"{m.name!r} ({n:,.4g}{window}; {need} needed{why if m.likelihood.exact_adjustment else ''})"
        )
    if not short:
        return None
    unit = "effective units (Kish)" if spec.design == "matched" else "units"
    later = ", set a later analysis date (--as-of or as_of:) once more windows have closed" if windows else ""
    stage = ", measure a share among all units (remove its denominator)" if stages else ""
    return Finding(
        "arm_units",
        "error",
        f"arm {arm!r} (column {spec.arm_column!r}) has too few {unit} counted for metric(s) "
        f"{', '.join(short)}. Add units to the arm{later}{stage}, or remove it from the spec (and its "
        "rows from the data).",
        len(short),
    )
