"""Compile the models a machine will need before anyone waits for them (``channelab warm-up``).

A metric's model is compiled once per machine and structure (family, number of covariates,
priors, settings; never its names or sizes, the numbers of arms and levels:
:mod:`channelab.analysis.blocks`). Compiling takes 10–20 s on two cores, so a user's first
run of a new experiment file would otherwise start with it. :func:`warm_up` compiles, ahead of
time:

- with no experiment files, the common structures (:data:`COMMON`): a binary, count or revenue
  metric with up to three covariates, under the default priors (about three minutes on two
  cores); ``make report`` runs this once after installing, so a new test with any number of
  arms and such metrics (say replies and revenue, by region) runs in seconds the first time;
- with experiment files, the structures of their metrics (their data read and checked as
  ``validate`` does), e.g. before a workshop or on a shared server.

Structures already compiled on this machine are only listed.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from channelab.analysis.compiled import is_compiled
from channelab.analysis.model import CellModel, build_model
from channelab.cells import Cells
from channelab.engine import build_cells, frame_source
from channelab.simulate.ab import SimMetric, simulate_ab
from channelab.spec import Spec, load_spec, parse_spec

__all__ = ["COMMON", "Warmed", "warm_up"]

#: The common metrics (type, role) and numbers of covariates compiled by a bare ``channelab warm-up``.
COMMON: tuple[tuple[tuple[str, str], ...], tuple[int, ...]] = (
    (("binary", "outcome"), ("count", "outcome"), ("revenue", "revenue")),
    (0, 1, 2, 3),
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
        The time compiling it took (0 for a model compiled before).
    compiled
        Whether it was compiled now (False: it was compiled on this machine before).
    """

    what: str
    seconds: float
    compiled: bool


def warm_up(
    paths: Sequence[str | Path] = (),
    *,
    on_step: Callable[[str], None] | None = None,
    processes: int | None = None,
) -> list[Warmed]:
    """Compile the models of the experiments at ``paths``, or of the common structures.

    Several models are compiled side by side, one per process (compiling is single-threaded).

    Parameters
    ----------
    paths
        Experiment files (YAML); none: the common structures (:data:`COMMON`).
    on_step
        Called with a short description as compiling starts, and with its progress.
    processes
        How many models to compile at once; by default one per core.

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
    jobs = list(_jobs(paths))
    fresh: dict[str, _Job] = {}
    for job in jobs:
        if job.key not in fresh and not is_compiled(job.key):
            fresh[job.key] = job
    seconds = _compile_all(list(fresh.values()), step, processes or _cpus())
    first = {id(job) for job in fresh.values()}
    return [Warmed(job.what, seconds[job.key] if id(job) in first else 0.0, id(job) in first) for job in jobs]


@dataclass(frozen=True)
class _Job:
    """One metric's model to compile: what it is, how to build it again (in a worker), its key."""

    what: str
    source: tuple[str, ...]
    index: int
    key: str


def _jobs(paths: Sequence[str | Path]) -> Iterator[_Job]:
    """Each metric model of the experiments (data read and checked), or of the common structures."""
    sources: list[tuple[str, ...]] = [("spec", str(path)) for path in paths] or [
        ("common", kind, role, str(covariates)) for covariates in COMMON[1] for kind, role in COMMON[0]
    ]
    for source in sources:
        label, built = _model(source)
        for i, metric in enumerate(built.metrics):
            yield _Job(f"{label}: {metric.name}" if paths else label, source, i, built.keys[i])


def _model(source: tuple[str, ...]) -> tuple[str, CellModel]:
    """The model of an experiment file (``("spec", path)``) or of a common structure, and its label."""
    from channelab.pipeline import validate

    if source[0] == "spec":
        checked = validate(load_spec(source[1]))
        return source[1], build_model(checked.cells, checked.spec)
    kind, role, covariates = source[1], source[2], int(source[3])
    spec, cells = _common(kind, role, covariates)
    label = {0: "no covariates", 1: "1 covariate"}.get(covariates, f"{covariates} covariates")
    return f"{kind} metric, {label}", build_model(cells, spec)


def _compile_all(jobs: list[_Job], step: Callable[[str], None], processes: int) -> dict[str, float]:
    """Compile each job's model: in this process, or side by side in ``processes`` workers."""
    if len(jobs) < 2 or processes < 2:
        seconds = {}
        for job in jobs:
            step(f"Compiling {job.what}")
            seconds[job.key] = _compile(job.source, job.index)
        return seconds
    workers = min(processes, len(jobs))
    status = f"Compiling {len(jobs)} models, {workers} at a time"
    step(status)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing of this one's state
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(_compile, job.source, job.index): job for job in jobs}
        seconds = {}
        for future in as_completed(futures):
            job = futures[future]
            seconds[job.key] = future.result()
            step(f"{status} ({len(seconds)} done: {job.what}, {seconds[job.key]:.0f} s)")
    return seconds


def _compile(source: tuple[str, ...], index: int) -> float:
    """Build and compile one metric's model (in a worker process); the seconds it took."""
    start = time.perf_counter()
    _, built = _model(source)
    built.compiled(index)
    return time.perf_counter() - start


def _cpus() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _common(kind: str, role: str, covariates: int) -> tuple[Spec, Cells]:
    """A simulated two-arm experiment of one common structure (any arms share it): spec and cells."""
    arms = ("control", "treatment")
    rows, _ = simulate_ab(n_per_arm=400, arms=arms, metrics={"y": _SIMULATED[kind]}, seed=1)
    names = [f"x{j}" for j in range(covariates)]
    for j, name in enumerate(names):  # three levels each, cycling at different rates
        rows[name] = [f"level{(i // (j + 1)) % 3}" for i in range(len(rows))]
    spec = parse_spec(
        {
            "name": "warm_up",
            "unit": {"kind": "prospect", "id": "unit_id"},
            "data": {"path": "simulated.csv"},
            "arm_column": "arm",
            "control": "control",
            "arms": {a: {"channel": "control" if a == "control" else "other"} for a in arms},
            "metrics": [{"name": "y", "role": role, "type": kind}],
            "covariates": names,
        }
    )
    return spec, build_cells(frame_source(rows), spec)
