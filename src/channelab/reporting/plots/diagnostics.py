"""Sampler diagnostics: trace and rank plots of the arm effects."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy.stats import rankdata

if TYPE_CHECKING:
    pass
from channelab.reporting.plots.style import NEUTRAL, SAMPLE_DIMS


def trace_figure(
    posterior: xr.Dataset,
    var_names: Sequence[str],
    *,
    bins: int = 20,
    width: float = 7.5,
    row_height: float = 0.85,
) -> Figure:
    """Draw trace and rank histograms, per chain, of a few parameters.

    Well-mixed chains overlap in the trace and give flat rank histograms (each chain
    holds its share of every rank band); a chain stuck elsewhere stands out in both.

    Parameters
    ----------
    posterior : xarray.Dataset
        Posterior draws with dims ``chain`` and ``draw``.
    var_names : sequence of str
        Variables to draw; each element of a vector variable gets its own row.
    bins : int
        Rank bands per histogram.
    width : float
        Figure width in inches.
    row_height : float
        Height of one parameter row in inches.

    Returns
    -------
    Figure
        Two axes per parameter element: trace (left) and rank histogram (right).

    Raises
    ------
    ValueError
        If a name is not a variable of ``posterior``.
    """
    missing = [v for v in var_names if v not in posterior.data_vars]
    if missing:
        raise ValueError(f"got var_names {missing}, but expected names from {list(posterior.data_vars)}")
    components = list(_components(posterior, var_names))
    fig = Figure(figsize=(width, len(components) * row_height + 0.8), layout="constrained")
    grid = fig.subplots(len(components), 2, sharex="col", squeeze=False, width_ratios=(2, 1))
    for (label, values), (trace_ax, rank_ax) in zip(components, grid, strict=True):
        for chain in values:  # thousands of points: a raster inside the SVG, axes and text stay vector
            trace_ax.plot(chain, lw=0.4, alpha=0.8, rasterized=True)
        _rank_histogram(rank_ax, values, bins)
        trace_ax.set_title(label, loc="left", fontsize=8)
        trace_ax.tick_params(labelsize=7)
        trace_ax.set_yticks([])
        rank_ax.set_xticks([])
        rank_ax.set_yticks([])
    grid[0, 0].set_title("trace, one colour per chain", loc="right", fontsize=8, color=NEUTRAL)
    grid[0, 1].set_title("rank histogram (flat = well mixed)", loc="right", fontsize=8, color=NEUTRAL)
    grid[-1, 0].set_xlabel("draw", fontsize=8)
    grid[-1, 1].set_xlabel("rank of draw across chains", fontsize=8)
    return fig


def _components(posterior: xr.Dataset, var_names: Sequence[str]) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (label, chain × draw array) for every scalar element of the named variables."""
    for name in var_names:
        da = posterior[name]
        extra = [d for d in da.dims if d not in SAMPLE_DIMS]
        for point in itertools.product(*(da[d].to_numpy() for d in extra)):
            label = name + (f"[{', '.join(map(str, point))}]" if point else "")
            values = da.sel(dict(zip(extra, point, strict=True))).transpose(*SAMPLE_DIMS)
            yield label, values.to_numpy()


def _rank_histogram(ax: Axes, values: np.ndarray, bins: int) -> None:
    """Histogram, per chain, of the ranks of its draws among all draws, with the uniform level."""
    ranks = rankdata(values, axis=None).reshape(values.shape)
    edges = np.linspace(0.5, values.size + 0.5, bins + 1)
    for chain_ranks in ranks:
        ax.stairs(np.histogram(chain_ranks, bins=edges)[0], edges, baseline=None, lw=1)
    ax.axhline(values.shape[1] / bins, color="black", lw=0.8, ls="--")
    ax.set_ylim(bottom=0)
