"""Compile the models a machine will need before anyone waits for them (``channelab warm-up``).

A metric's model is compiled once per machine and structure (family, arms, covariates, priors,
settings; never its names: :mod:`channelab.analysis.blocks`). Compiling takes 15–25 s on two
cores, so a user's first run of a new experiment file would otherwise start with it.
:func:`warm_up` compiles, ahead of time:

- with no experiment files, the common structures (:data:`COMMON`): a binary, count or revenue
  metric with 2 or 3 arms and no covariates, under the default priors (about a minute);
  ``make report`` runs this once after installing, so a new simple test (say two arms, replies
  and revenue) runs in seconds the first time;
- with experiment files, the structures of their metrics (their data read and checked as
  ``validate`` does), e.g. before a workshop or on a shared server.

Structures already compiled on this machine are only listed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from channelab.analysis.compiled import is_compiled
from channelab.analysis.model import CellModel, build_model
from channelab.cells import Cells
from channelab.engine import build_cells, frame_source
from channelab.simulate.ab import SimMetric, simulate_ab
from channelab.spec import Spec, load_spec, parse_spec

__all__ = ["COMMON", "Warmed", "warm_up"]

#: The common metrics (type, role) and numbers of arms compiled by a bare ``channelab warm-up``.
COMMON: tuple[tuple[tuple[str, str], ...], tuple[int, ...]] = (
    (("binary", "outcome"), ("count", "outcome"), ("revenue", "revenue")),
    (2, 3),
)
#: How each common metric type is simulated (the numbers only shape the data, not the model).
_SIMULATED = {
    "binary": SimMetric("binary", 0.2),
    "count": SimMetric("count", 1.0),
    "revenue": SimMetric("revenue", 0.2),
}


@dataclass(frozen=True)
class Warmed:
    """One metric's model, compiled now or found compiled.

    Attributes
    ----------
    what
        Which structure: the experiment file and metric, or the common structure.
    seconds
        The time it took (compiling, or loading a compiled model).
    compiled
        Whether it was compiled now (False: it was compiled on this machine before).
    """

    what: str
    seconds: float
    compiled: bool


def warm_up(
    paths: Sequence[str | Path] = (), *, on_step: Callable[[str], None] | None = None
) -> list[Warmed]:
    """Compile the models of the experiments at ``paths``, or of the common structures.

    Parameters
    ----------
    paths
        Experiment files (YAML); none: the common structures (:data:`COMMON`).
    on_step
        Called with a short description of each model as its compiling starts.

    Returns
    -------
    list of Warmed
        One per metric model, in order.

    Raises
    ------
    SpecError, DataError
        If an experiment file or its data fail the checks of ``validate``.
    """
    step = on_step or (lambda _: None)
    done = []
    for label, built in _models(paths):
        for i, metric in enumerate(built.metrics):
            what = f"{label}: {metric.name}" if paths else label
            fresh = not is_compiled(built.keys[i])
            step(f"{'Compiling' if fresh else 'Found'} {what}")
            start = time.perf_counter()
            built.compiled(i)
            done.append(Warmed(what, time.perf_counter() - start, fresh))
    return done


def _models(paths: Sequence[str | Path]) -> Iterator[tuple[str, CellModel]]:
    """Each experiment's model (data read and checked), or each common structure's."""
    from channelab.pipeline import validate

    if paths:
        for path in paths:
            checked = validate(load_spec(path))
            yield str(path), build_model(checked.cells, checked.spec)
        return
    kinds, arm_counts = COMMON
    for kind, role in kinds:
        for arms in arm_counts:
            spec, cells = _common(kind, role, arms)
            yield f"{kind} metric, {arms} arms, no covariates", build_model(cells, spec)


def _common(kind: str, role: str, n_arms: int) -> tuple[Spec, Cells]:
    """A simulated experiment of one common structure: its spec and cells."""
    arms = ("control", *(f"arm{k}" for k in range(1, n_arms)))
    rows, _ = simulate_ab(n_per_arm=400, arms=arms, metrics={"y": _SIMULATED[kind]}, seed=1)
    spec = parse_spec(
        {
            "name": "warm_up",
            "unit": {"kind": "prospect", "id": "unit_id"},
            "data": {"path": "simulated.csv"},
            "arm_column": "arm",
            "control": "control",
            "arms": {a: {"channel": "control" if a == "control" else "other"} for a in arms},
            "metrics": [{"name": "y", "role": role, "type": kind}],
        }
    )
    return spec, build_cells(frame_source(rows), spec)
