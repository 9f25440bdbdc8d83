"""Population means per arm by g-computation: every arm on the experiment's own covariate mix."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from channelab.analysis.families import family_for
from channelab.analysis.family_base import expand, var_prefix
from channelab.analysis.quantiles import quantile_means
from channelab.cells import Cells, Strata
from channelab.spec import Metric, Spec


def population_means(
    posterior: xr.Dataset,
    cells: Cells,
    spec: Spec,
    *,
    by: str | None = None,
    per_unit: Sequence[Metric] | None = None,
) -> dict[str, xr.DataArray]:
    """Posterior of each metric's mean per unit under each arm, over the experiment's own units.

    For arm a, the mean in every stratum (covariate levels, pre-period strata and cluster) is
    weighted by that stratum's share of the target units (g-computation), so arms are compared
    on the same mix: all units, or for an effect on the treated (:attr:`Spec.target_arms`) the
    treated units (of all treated arms). With ``by`` (a covariate), the average is taken
    within each of its levels instead (on all units' mix in a level without target units).
    Pre-period slopes (normal models) add each arm's slopes times the target units' mean
    standardised values (0 over all units). A ratio metric's numerator and denominator are
    averaged apart and then divided: the ratio of the population means, not the mean of the
    strata's ratios.

    With ``per_unit`` (metrics with a ``denominator``), only those metrics, each as a mean per
    unit rather than among the units of its earlier stage: in every stratum its rate times the
    rate of reaching that stage (down the chain of denominators), then averaged as above. This
    is the unconditional outcome on which an arm is judged.

    Parameters
    ----------
    posterior
        The posterior draws (dims chain, draw, ...) of the model of ``cells``.
    cells
        The cells the model was fitted on: their strata and units give the mix.
    spec
        The experiment: its metrics and the arms whose units are the target.
    by
        A covariate within each of whose levels to average, or ``None`` for one mean per arm.
    per_unit
        Metrics with a ``denominator`` to give as means per unit, or ``None`` for every
        metric as modelled.

    Returns
    -------
    dict
        Per metric name, a DataArray with dims (chain, draw, arm), plus ``by`` when given.
    """
    within = [list(cells.arms).index(a) for a in spec.target_arms if a in cells.arms] or None
    strata = cells.strata(within=within)
    if by is None:
        groups, labels = np.zeros(strata.size, dtype=np.int64), None
    else:
        groups, labels = strata.level_idx[by], list(cells.levels[by])
    weights = _group_weights(cells, strata, groups)
    # per stratum, the mean standardised pre-period values of its target units (0 over all units)
    u_by_stratum = (
        _pre_period_means(cells, by, within)[groups]
        if cells.pre_period and (by is not None or within is not None)
        else None
    )
    by_name = {m.name: m for m in spec.metrics}
    out = {}
    shape = (posterior.sizes["chain"], posterior.sizes["draw"])
    for metric in spec.metrics if per_unit is None else per_unit:
        if not metric.likelihood.modelled:  # a quantile: the Bayesian bootstrap of its values
            drawn = quantile_means(metric, cells, shape, spec.seed, by)
            out[metric.name] = _as_array(drawn, cells, by, labels)
            continue
        chain_of = [metric] if per_unit is None else _reach_chain(metric, by_name)
        per_chain: list[dict[str, np.ndarray]] = []
        for chain in range(posterior.sizes["chain"]):  # one chain at a time bounds memory
            post = posterior.isel(chain=[chain])
            grids = [_stratum_means(post, m, cells, strata, u_by_stratum) for m in chain_of]
            parts = grids[0] if len(grids) == 1 else {"": np.prod([g[""] for g in grids], axis=0)}
            per_chain.append({part: grid @ weights for part, grid in parts.items()})
        averaged = {part: np.concatenate([p[part] for p in per_chain], axis=0) for part in per_chain[0]}
        means = family_for(metric).of_parts(metric, averaged, cells, labels)
        out[metric.name] = _as_array(means, cells, by, labels)
    return out


def _as_array(means: np.ndarray, cells: Cells, by: str | None, labels: list[str] | None) -> xr.DataArray:
    """Draws (chain, draw, arm, group) as a DataArray: without ``by``, its one group dropped."""
    if by is None:
        return xr.DataArray(means[..., 0], dims=("chain", "draw", "arm"), coords={"arm": list(cells.arms)})
    return xr.DataArray(
        means, dims=("chain", "draw", "arm", by), coords={"arm": list(cells.arms), by: labels}
    )


def target_weights(cells: Cells, spec: Spec) -> tuple[Strata, np.ndarray]:
    """The strata of the target units and their weights as one column.

    All units, or the treated for an effect on the treated: the mix :func:`population_means`
    averages over (``by=None``).
    """
    within = [list(cells.arms).index(a) for a in spec.target_arms if a in cells.arms] or None
    strata = cells.strata(within=within)
    return strata, _group_weights(cells, strata, np.zeros(strata.size, dtype=np.int64))


def _group_weights(cells: Cells, strata: Strata, groups: np.ndarray) -> np.ndarray:
    """Each stratum's share of its group's target units: dims (stratum, group), columns summing to 1.

    A group (level of ``by``) without target units takes its mix of all units.
    """
    n_groups = int(groups.max()) + 1
    weights = np.zeros((strata.size, n_groups))
    weights[np.arange(strata.size), groups] = strata.weights
    empty = weights.sum(axis=0) == 0
    if empty.any():  # a level of ``by`` without target units: its mix of all units
        everyone = cells.strata().weights
        for g in np.flatnonzero(empty):
            weights[groups == g, g] = everyone[groups == g]
    weights /= weights.sum(axis=0, keepdims=True)
    return weights


def _reach_chain(metric: Metric, by_name: dict[str, Metric]) -> list[Metric]:
    """The metric and every earlier stage it is measured among, down the chain of denominators."""
    chain = [metric]
    while chain[-1].stage is not None:
        chain.append(by_name[chain[-1].stage])
    return chain


def _stratum_means(
    post: xr.Dataset, metric: Metric, cells: Cells, strata: Strata, u_by_stratum: np.ndarray | None
) -> dict[str, np.ndarray]:
    """One metric's mean per part in every stratum under every arm: dims (chain, draw, arm, stratum).

    One part (``""``), the mean per unit; a ratio's numerator and denominator, which are averaged
    over the strata before they are divided (:meth:`~.family_base.Family.of_parts`).
    """
    family = family_for(metric)
    eta = {part: eta_grid(post, var_prefix(metric, part), cells, strata) for part in family.parts}
    if u_by_stratum is not None and f"{metric.name}:slope" in post:
        eta[""] += np.einsum("cdak,sk->cdas", post[f"{metric.name}:slope"].to_numpy(), u_by_stratum)
    return family.part_means(metric.name, cells.metrics[metric.name], cells.units(metric.name), eta, post)


def eta_grid(post: xr.Dataset, prefix: str, cells: Cells, strata: Strata) -> np.ndarray:
    """Linear predictor for every arm in every stratum: dims (chain, draw, arm, stratum).

    Parameters
    ----------
    post
        Posterior draws.
    prefix
        The variable prefix of the metric's part (:func:`~.family_base.var_prefix`).
    cells
        The cells the model was fitted on.
    strata
        The strata to evaluate it in (:meth:`~channelab.cells.Cells.strata`).
    """
    grid = expand(post[f"{prefix}:intercept"].to_numpy(), 4) + np.zeros((len(cells.arms), strata.size))
    grid[..., 1:, :] += post[f"{prefix}:arm"].to_numpy()[..., :, None]
    for cov, idx in strata.level_idx.items():
        if f"{prefix}:{cov}" in post:
            grid += post[f"{prefix}:{cov}"].to_numpy()[..., idx][..., None, :]
        het = f"{prefix}:arm_x_{cov}"
        if het in post:
            grid[..., 1:, :] += post[het].to_numpy()[..., idx]
    if strata.cluster_idx is not None:
        grid += post[f"{prefix}:cluster"].to_numpy()[..., strata.cluster_idx][..., None, :]
    return grid


def _pre_period_means(cells: Cells, by: str | None, within: list[int] | None) -> np.ndarray:
    """Per level of ``by`` (one group without), the mean standardised pre-period values: (level, column).

    Of the units of the arms ``within`` when given (all units' in a level where it has none), else
    of all units. Over all units they average 0, so an overall mean on all units needs no
    slope term; elsewhere each arm's slopes times these means shift its units' mean.
    """
    assert cells.pre_period is not None
    u_sum, _ = cells.pre_period.standardised(cells.n)
    idx = cells.level_idx[by] if by is not None else np.zeros(len(cells.n), dtype=np.int64)
    k = len(cells.levels[by]) if by is not None else 1

    def mean_over(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        units = np.bincount(idx, weights=n, minlength=k)
        scale = n / np.where(cells.n > 0, cells.n, 1.0)
        totals = np.stack(
            [np.bincount(idx, weights=u_sum[:, j] * scale, minlength=k) for j in range(u_sum.shape[1])], 1
        )
        return totals / np.where(units > 0, units, 1.0)[:, None], units > 0

    means, _ = mean_over(cells.n)
    if within is not None:
        target, present = mean_over(np.where(np.isin(cells.arm_idx, within), cells.n, 0.0))
        means = np.where(present[:, None], target, means)
    return means
