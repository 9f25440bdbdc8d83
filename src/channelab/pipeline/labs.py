"""A many-lab replication's flow after its labs are read: the labs pooled and judged.

Every lab is read (:func:`~channelab.pipeline.read.read_labs`) exactly as a single
replication's data are read, before any sampling, so a missing file or a bad lab fails in
seconds. :func:`pool_labs` estimates the
original's contrast in each lab (:func:`~channelab.replication.labs.lab_estimates`), pools the
labs with the programme model (:func:`~channelab.analysis.learning.hierarchy.fit_hierarchy`: labs
as records, one group per metric, on the difference scale) and hands the draws to
:func:`~channelab.replication.labs.judge_labs`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from channelab.analysis.learning.hierarchy import fit_hierarchy, shrunken_draws
from channelab.analysis.learning.studies import Study, group_studies
from channelab.pipeline.read import LabData, StepCallback
from channelab.provenance import shown_path
from channelab.replication.labs import LabEstimate, LabsResult, PooledDraws, judge_labs, lab_estimates
from channelab.spec import ProgrammePriors, Spec

__all__ = ["pool_labs"]


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
