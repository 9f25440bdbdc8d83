"""Population means per arm by g-computation: every arm on the experiment's own covariate mix."""

from __future__ import annotations

import numpy as np
import xarray as xr

from channelab.analysis.families import expand, family_for, var_prefix
from channelab.cells import Cells, Strata
from channelab.spec import Spec


def population_means(
    posterior: xr.Dataset, cells: Cells, spec: Spec, *, by: str | None = None
) -> dict[str, xr.DataArray]:
    """Posterior of each metric's mean per unit under each arm, over the experiment's own units.

    For arm a, the mean in every stratum (covariate levels, pre-period strata and cluster) is
    weighted by that stratum's share of all units (g-computation), so arms are compared on the
    same mix. With ``by`` (a covariate), the average is taken within each of its levels instead.
    Pre-period slopes (normal models) need no term overall: the standardised values average 0.

    Returns
    -------
    dict
        Per metric name, a DataArray with dims (chain, draw, arm), plus ``by`` when given.
    """
    strata = cells.strata()
    if by is None:
        groups, labels = np.zeros(strata.size, dtype=np.int64), None
    else:
        groups, labels = strata.level_idx[by], list(cells.levels[by])
    n_groups = int(groups.max()) + 1
    weights = np.zeros((strata.size, n_groups))
    weights[np.arange(strata.size), groups] = strata.weights
    weights /= weights.sum(axis=0, keepdims=True)
    # per stratum, the mean standardised pre-period values of its level of ``by`` (0 overall)
    u_by_stratum = _pre_period_means(cells, by)[groups] if by is not None and cells.pre_period else None
    out = {}
    for metric in spec.metrics:
        family = family_for(metric)
        per_chain = []
        for chain in range(posterior.sizes["chain"]):  # one chain at a time bounds memory
            post = posterior.isel(chain=[chain])
            eta = {part: _eta_grid(post, var_prefix(metric, part), cells, strata) for part in family.parts}
            if u_by_stratum is not None and f"{metric.name}:slope" in post:
                eta[""] += np.einsum("cdak,sk->cdas", post[f"{metric.name}:slope"].to_numpy(), u_by_stratum)
            per_chain.append(
                family.mean(metric.name, cells.metrics[metric.name], cells.n, eta, post) @ weights
            )
        means = np.concatenate(per_chain, axis=0)
        if by is None:
            out[metric.name] = xr.DataArray(
                means[..., 0], dims=("chain", "draw", "arm"), coords={"arm": list(cells.arms)}
            )
        else:
            out[metric.name] = xr.DataArray(
                means, dims=("chain", "draw", "arm", by), coords={"arm": list(cells.arms), by: labels}
            )
    return out


def _eta_grid(post: xr.Dataset, prefix: str, cells: Cells, strata: Strata) -> np.ndarray:
    """Linear predictor for every arm in every stratum: dims (chain, draw, arm, stratum)."""
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


def _pre_period_means(cells: Cells, by: str) -> np.ndarray:
    """Per level of ``by``, the mean standardised pre-period values of its units: (level, column).

    Over all units they average 0, so an overall mean needs no slope term; within a level of
    ``by`` each arm's slopes times these means shift its units' mean.
    """
    assert cells.pre_period is not None
    u_sum, _ = cells.pre_period.standardised(cells.n)
    idx, k = cells.level_idx[by], len(cells.levels[by])
    units = np.bincount(idx, weights=cells.n, minlength=k)
    totals = np.stack([np.bincount(idx, weights=u_sum[:, j], minlength=k) for j in range(u_sum.shape[1])], 1)
    return totals / units[:, None]
