"""A many-lab replication's flow: every lab's data read and checked, then the labs pooled.

:func:`read_labs` reads each lab of ``replication.labs`` exactly as a single replication's data
are read (:func:`~channelab.pipeline.read.read`: the same checks, the same cells), before any
sampling, so a missing file or a bad lab fails in seconds. :func:`pool_labs` estimates the
original's contrast in each lab (:func:`~channelab.replication.labs.lab_estimates`), pools the
labs with the programme model (:func:`~channelab.analysis.learning.hierarchy.fit_hierarchy`: labs
as records, one group per metric, on the difference scale) and hands the draws to
:func:`~channelab.replication.labs.judge_labs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from channelab.analysis.learning.hierarchy import fit_hierarchy, shrunken_draws
from channelab.analysis.learning.studies import Study, group_studies
from channelab.cells import Cells
from channelab.errors import DataError, SpecError
from channelab.pipeline.read import StepCallback, read
from channelab.provenance import shown_path
from channelab.replication.labs import LabEstimate, LabsResult, PooledDraws, judge_labs, lab_estimates
from channelab.spec import DataSource, ProgrammePriors, Spec
from channelab.spec.labs import Lab

__all__ = ["LabData", "pool_labs", "read_labs"]

#: Characters that make a path a glob (read as one table of every match).
_GLOB = frozenset("*?[")


@dataclass(frozen=True)
class LabData:
    """One lab's data, read and checked.

    Attributes
    ----------
    name
        The lab's name.
    cells
        Its data reduced to cells.
    data
        Its fingerprint (path, size, rows, SHA-256) or what its summaries are.
    warnings
        The data checks' warnings.
    """

    name: str
    cells: Cells
    data: dict[str, object]
    warnings: tuple[str, ...]


def read_labs(spec: Spec, *, step: StepCallback) -> tuple[LabData, ...]:
    """Read every lab of ``spec.replication.labs`` (none when the spec has no labs).

    Parameters
    ----------
    spec
        The spec, its data format and checks applying to every lab.
    step
        Called with a short description of each step as it starts.

    Returns
    -------
    tuple of LabData
        One per lab, in the spec's order.

    Raises
    ------
    SpecError, DataError
        If a lab's file is missing, or its data fail a blocking check; the message names the lab.
    """
    labs = spec.replication.labs or []
    out = []
    for i, lab in enumerate(labs):
        step(f"Reading lab {i + 1} of {len(labs)}: {lab.name}")
        where = f"replication.labs.{i} ({lab.name!r})"
        lab_spec = _lab_spec(spec, lab, where)
        try:
            checked = read(lab_spec, step=lambda _: None)
        except (DataError, SpecError) as exc:
            raise type(exc)(f"{where}: {exc}") from None
        warnings = tuple(f"{lab.name}: {w.message}" for w in checked.checks.warnings)
        data = checked.data
        if lab.summaries is not None:
            data = {**data, "summaries": f"replication.labs.{i}.summaries in the spec"}
        out.append(LabData(lab.name, checked.cells, data, warnings))
    return tuple(out)


def _lab_spec(spec: Spec, lab: Lab, where: str) -> Spec:
    """``spec`` reading the lab's rows (in the spec's data format) or its published summaries."""
    if lab.summaries is not None:
        origin = spec.data.origin if spec.data is not None else None
        return spec.model_copy(update={"data": DataSource(summaries=lab.summaries, origin=origin)})
    assert lab.data is not None  # a lab has data or summaries (Lab's validator)
    path = spec.resolve_path(lab.data)
    if not _GLOB & set(str(lab.data)) and not path.is_file():
        folder = spec.source_path.parent if spec.source_path else Path.cwd()
        raise DataError(
            f"{where}.data: {path}: no such file; check the lab's path (a relative path is read "
            f"from the experiment file's folder, {folder})"
        )
    given = (
        DataSource(path=path, origin=spec.data.origin if spec.data is not None else None)
        if spec.data is None or spec.data.summaries is not None
        else spec.data.model_copy(update={"path": path})
    )
    return spec.model_copy(update={"data": given})


def pool_labs(labs: Sequence[LabData], spec: Spec, *, step: StepCallback) -> LabsResult:
    """Estimate the contrast in each lab, pool the labs, and judge the pooled evidence.

    Parameters
    ----------
    labs
        The labs' data (:func:`read_labs`), at least two.
    spec
        The spec with the original study; its sampler, seed and interval mass are used.
    step
        Called with a short description of each step as it starts.

    Returns
    -------
    LabsResult
        Per metric the original reports: each lab's effect, the pooled μ, τ, the prediction,
        the shares beyond the ROPE and the judgement.
    """
    step(f"Pooling {len(labs)} labs (mean effect and spread between labs)")
    per_lab = [lab_estimates(lab.name, lab.cells, spec) for lab in labs]
    estimates: dict[str, list[LabEstimate]] = {m.name: [] for m in spec.replicated_metrics}
    for lab_estimates_ in per_lab:
        for e in lab_estimates_:
            estimates[e.metric].append(e)
    groups = group_studies([_study(e, spec) for metric in estimates.values() for e in metric])
    fit = fit_hierarchy(
        groups, priors=ProgrammePriors(), sampler=spec.sampler, seed=spec.seed, hdi_prob=spec.hdi_prob
    )
    rng = np.random.default_rng(spec.seed)
    draws = {}
    for j, g in enumerate(groups):
        mu, tau = fit.mu[:, j], fit.tau[:, j]
        theta = shrunken_draws(g.estimate, g.se, mu, tau, rng)
        draws[g.metric] = PooledDraws(mu, tau, theta, mu + tau * rng.standard_normal(mu.shape))
    return judge_labs(
        estimates,
        draws,
        spec,
        converged=fit.diagnostics.converged,
        problems=fit.diagnostics.problems,
        warnings=[w for lab in labs for w in lab.warnings],
        data=[_shown(lab.data, spec) for lab in labs],
    )


def _shown(data: dict[str, object], spec: Spec) -> dict[str, object]:
    """A lab's fingerprint with its path as the spec names it (relative to the spec's folder)."""
    path = data.get("path")
    if isinstance(path, str) and spec.source_path is not None:
        return {**data, "path": shown_path(path, spec.source_path.parent)}
    return dict(data)


def _study(e: LabEstimate, spec: Spec) -> Study:
    """A lab's estimate as a record of the programme model: pooled on the difference scale."""
    metric = next(m for m in spec.metrics if m.name == e.metric)
    return Study(
        label=e.lab,
        channel="labs",
        metric=e.metric,
        role=metric.role,
        loglift=None,
        loglift_se=None,
        diff=e.estimate,
        diff_se=e.se,
        control_mean=e.means[1],
        key=e.lab,
    )
