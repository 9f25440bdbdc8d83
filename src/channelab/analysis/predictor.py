"""The linear predictor of one part of a metric, on its link scale: the terms every family shares.

Per cell, relative to the data's pooled centre (:mod:`.model` gives the whole equation)::

    eta[cell] = centre + intercept_offset + arm[arm] + sum_k level_k[level_k]
                + arm_x_segment[arm, segment]     (model.lift_by, pooled toward zero)
                + cluster[cluster]                (unit.randomised_by, random intercept)

where the levels are the covariates' (and the pre-period strata of ``adjust``, for families
that do not adjust exactly), with the control's arm effect fixed at 0 and zero-sum level
effects. The family adds the
likelihood (:mod:`.families`); the data enter as the ``pm.Data`` containers ``d`` of
:mod:`.model`, so that one compiled model serves every data set of the same structure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import lazy_loader
import numpy as np

from channelab.analysis.family_base import Family, GroupEstimates, Tensor, Tensors
from channelab.cells import Cells, MetricCells
from channelab.spec import Priors, Spec

if TYPE_CHECKING:
    import pymc as pm
    import pytensor.tensor as pt
else:  # imported on first use: a run whose models are all compiled builds no graph
    pm = lazy_loader.load("pymc")
    pt = lazy_loader.load("pytensor.tensor", suppress_warning=True)  # pytensor: loaded anyway


def linear_predictor(
    prefix: str,
    d: Tensors,
    cells: Cells,
    spec: Spec,
    priors: Priors,
    *,
    centred_arms: bool,
    centred_clusters: bool,
    levels: dict[str, tuple[str, ...]],
    lift_by: str | None,
) -> Tensor:
    """The part's linear predictor per cell: the data's pooled centre plus data-free terms.

    The intercept is the centre plus ``{prefix}:intercept_offset`` ~ Normal(0, intercept_sd),
    which is the prior intercept ~ Normal(centre, intercept_sd). Writing every free parameter
    relative to the centre makes the model's initial point independent of the data, so a model
    compiled for one data set starts the same way on any other (:mod:`.compiled`). ``levels``
    are the covariates and strata with effects, by the names of their dimensions; ``lift_by``
    is the one among them whose levels get their own arm effects (``model.lift_by``).
    """
    centre = d[f"{prefix}:centre"]
    offset = pm.Normal(f"{prefix}:intercept_offset", mu=0.0, sigma=priors.intercept_sd)
    pm.Deterministic(f"{prefix}:intercept", centre + offset)
    arm = _control_first(_arm_effects(prefix, cells, spec, priors, centred=centred_arms), 1)
    if cells.cluster_idx is not None:
        eta = _cluster_levels(prefix, offset, arm, d, priors, centred=centred_clusters)[d["cluster_idx"]]
    else:
        eta = offset + arm[d["arm_idx"]]
    for cov, values in levels.items():
        if len(values) > 1:
            effect = pm.ZeroSumNormal(f"{prefix}:{cov}", sigma=priors.covariate_sd, dims=cov)
            eta = eta + effect[d[f"level_idx:{cov}"]]
    if (by := lift_by) is not None and len(levels.get(by, ())) > 1:
        spread = pm.HalfNormal(f"{prefix}:lift_by_{by}_sd", sigma=priors.heterogeneity_sd)
        z = pm.ZeroSumNormal(f"{prefix}:arm_x_{by}_z", sigma=1.0, dims=("treatment", by), n_zerosum_axes=1)
        het = pm.Deterministic(f"{prefix}:arm_x_{by}", spread * z, dims=("treatment", by))
        full = _control_first(het, het[:1].shape)
        eta = eta + full[d["arm_idx"], d[f"level_idx:{by}"]]
    predictor: Tensor = centre + eta
    return predictor


def _control_first(effects: Tensor, zeros: int | tuple[int, ...] | Tensor) -> Tensor:
    """Treatment effects with the control's, fixed at 0 (a block of ``zeros`` shape), stacked first."""
    concatenate = cast("Callable[..., Tensor]", pt.concatenate)  # untyped in PyTensor
    return concatenate([pt.zeros(zeros), effects], axis=0)


def _cluster_levels(
    prefix: str,
    offset: Tensor,
    arm: Tensor,
    d: Tensors,
    priors: Priors,
    *,
    centred: bool,
) -> Tensor:
    """Each cluster's level relative to the centre: intercept offset + its arm's effect + a random effect.

    Every cluster lies in one arm, so with much data per cluster the levels are centred on
    offset + arm (hierarchical centring: the intercept and arm effects are then informed
    through the cluster levels and mix well); with little data the effects are non-centred.
    The effects themselves are kept as ``{prefix}:cluster`` for g-computation.
    """
    spread = pm.HalfNormal(f"{prefix}:cluster_sd", sigma=priors.cluster_sd)
    expected = offset + arm[d["cluster_arm"]]
    level: Tensor
    if centred:
        level = pm.Normal(f"{prefix}:cluster_level", expected, spread, dims="cluster")
        pm.Deterministic(f"{prefix}:cluster", level - expected, dims="cluster")
    else:
        z = pm.Normal(f"{prefix}:cluster_z", 0.0, 1.0, dims="cluster")
        level = expected + pm.Deterministic(f"{prefix}:cluster", spread * z, dims="cluster")
    return level


def _arm_effects(prefix: str, cells: Cells, spec: Spec, priors: Priors, *, centred: bool) -> Tensor:
    """Arm effects: independent, or partially pooled toward their common mean.

    The pooled form is centred or non-centred per part, as :func:`centred_pooling` decides from
    the data; both define the same prior.
    """
    mu = _per_treatment([priors.arm_mu.get(a, 0.0) for a in cells.arms[1:]])
    arm: Tensor
    if not spec.pools_arms:  # one sd, unless a learned prior set some per arm
        sigma = _per_treatment([priors.arm_sds.get(a, priors.arm_sd) for a in cells.arms[1:]])
        arm = pm.Normal(f"{prefix}:arm", mu=mu, sigma=sigma, dims="treatment")
        return arm
    common = pm.Normal(f"{prefix}:arm_mean", 0.0, priors.arm_sd)
    spread = pm.HalfNormal(f"{prefix}:arm_sd", sigma=priors.arm_sd)
    if centred:
        arm = pm.Normal(f"{prefix}:arm", mu=mu + common, sigma=spread, dims="treatment")
    else:
        z = pm.Normal(f"{prefix}:arm_z", 0.0, 1.0, dims="treatment")
        arm = pm.Deterministic(f"{prefix}:arm", mu + common + spread * z, dims="treatment")
    return arm


def _per_treatment(values: list[float]) -> float | np.ndarray:
    """A prior's parameter per treatment: one number when all are equal, so the graph has no size."""
    return values[0] if len(set(values)) == 1 else np.array(values)


def centred_pooling(estimates: GroupEstimates, within: np.ndarray | None = None) -> bool:
    """Whether a set of pooled effects (arms, clusters) should use the centred parameterisation.

    Centred suits effects that differ by more than their noise (the data dominate); the
    non-centred form suits effects that are alike or noisy (the spread may be near zero, a
    funnel for the centred form). The spread is estimated by moments from the groups' raw
    estimates, less the mean of the group they sit in (``within``, e.g. each cluster's arm):
    tau² = (residual sum of squares / degrees of freedom) - mean(se²), and centred is chosen
    when tau² exceeds mean(se²). Groups without information (NaN) are left out.

    Parameters
    ----------
    estimates : tuple of numpy.ndarray
        Each group's raw estimate on the link scale and its standard error (NaN: no information).
    within : numpy.ndarray, optional
        The index of the group each group sits in (e.g. each cluster's arm); by default one.

    Returns
    -------
    bool
        True for the centred parameterisation, False for the non-centred one.
    """
    est, se = estimates
    keep = np.isfinite(est) & np.isfinite(se)
    est, se = est[keep], se[keep]
    within = np.zeros(est.size, dtype=np.int64) if within is None else within[keep]
    _, within = np.unique(within, return_inverse=True)
    dof = est.size - int(within.max(initial=-1)) - 1
    if dof < 1:
        return False
    resid = est - (np.bincount(within, weights=est) / np.bincount(within))[within]
    noise = float(np.mean(se**2))
    return float(resid @ resid) / dof - noise > noise


def centring(
    family: Family[Any], stats: MetricCells, cells: Cells, cluster_arm: np.ndarray | None
) -> dict[str, tuple[bool, bool]]:
    """Per part: whether pooled arm effects, and cluster effects, are centred (:func:`centred_pooling`).

    Parameters
    ----------
    family
        The metric's family (its raw estimates per group).
    stats
        The metric's cell statistics.
    cells
        All cells (arms, clusters, units).
    cluster_arm
        Each cluster's arm, when the arms were randomised by cluster.
    """
    units = cells.units(stats.metric.name)
    arms = family.group_estimates(stats, units, cells.arm_idx, len(cells.arms))
    clusters = (
        family.group_estimates(stats, units, cells.cluster_idx, len(cells.clusters))
        if cells.cluster_idx is not None
        else {}
    )
    return {
        part: (
            centred_pooling((est[1:], se[1:])),  # treatments only: the control is fixed at 0
            part in clusters and centred_pooling(clusters[part], within=cluster_arm),
        )
        for part, (est, se) in arms.items()
    }
