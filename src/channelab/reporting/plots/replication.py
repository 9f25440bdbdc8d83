"""Replication figures: original against replication (forest plot) and assurance against n."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, NullLocator

if TYPE_CHECKING:
    from channelab.replication.judge import ArmContrast
from channelab.reporting.plots.style import VERDICT_COLOURS


def forest_figure(
    contrasts: Sequence[ArmContrast], *, percent_metrics: Sequence[str] = (), width: float = 7.5
) -> Figure:
    """Draw each arm contrast's difference in the original study and in the replication.

    One panel per metric (each on its own scale: percentage points for ``percent_metrics``,
    the metric's units otherwise); per contrast, the original (grey square, 95 % interval)
    above the replication (filled dot, its interval). The vertical line is no difference.
    """
    metrics = list(dict.fromkeys(c.metric for c in contrasts))
    rows = list(dict.fromkeys((c.arm, c.versus) for c in contrasts))
    fig = Figure(figsize=(width, 0.55 * len(rows) + 1.5), layout="constrained")
    axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
    y = np.arange(len(rows), dtype=float)
    for ax, metric in zip(axes, metrics, strict=True):
        scale = 100.0 if metric in percent_metrics else 1.0
        own = {(c.arm, c.versus): c for c in contrasts if c.metric == metric}
        for i, key in enumerate(rows):
            c = own.get(key)
            if c is None:
                continue
            for offset, est, style in (
                (-0.16, c.original, {"marker": "s", "color": "0.45", "mfc": "white"}),
                (0.16, c.replication, {"marker": "o", "color": VERDICT_COLOURS["engagement only"]}),
            ):
                ax.plot(
                    [scale * est.lower, scale * est.upper], [y[i] + offset] * 2, lw=2, color=style["color"]
                )
                ax.plot(scale * est.mean, y[i] + offset, ms=6, ls="none", gid=f"forest:{metric}:{i}", **style)
        ax.axvline(0, color="black", lw=0.8)
        label = next(c.label for c in contrasts if c.metric == metric)
        unit = "percentage points" if metric in percent_metrics else "difference in means"
        ax.set_title(label, fontsize=9, loc="left")
        ax.set_xlabel(unit, fontsize=8)
        ax.grid(axis="x", color="0.92", lw=0.6)
        ax.tick_params(labelsize=8)
    axes[0].set_yticks(y, [f"{a} − {b}" for a, b in rows], fontsize=8)
    axes[0].set_ylim(len(rows) - 0.5, -0.5)
    handles = [
        Line2D([], [], marker="s", color="0.45", mfc="white", lw=2, label="original study, 95 % interval"),
        Line2D([], [], marker="o", color=VERDICT_COLOURS["engagement only"], lw=2, label="replication"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return fig


def assurance_curve_figure(curve: pd.DataFrame, *, threshold: float, width: float = 7.5) -> Figure:
    """Draw the share of replications whose Bayes factor is decisive, against the n per arm.

    ``curve`` columns: ``n_per_arm``, ``decisive_if_real`` (BF_r0 ≥ threshold when the effect is
    real) and ``decisive_if_null`` (BF_r0 ≤ 1/threshold when it is zero).
    """
    fig = Figure(figsize=(width, 2.8), layout="constrained")
    ax = fig.add_subplot()
    n = curve["n_per_arm"].to_numpy()
    for column, marker, colour, label in (
        ("decisive_if_real", "o-", VERDICT_COLOURS["real lift"], f"effect real: BF_r0 ≥ {threshold:g}"),
        ("decisive_if_null", "s-", VERDICT_COLOURS["harm"], f"no effect: BF_r0 ≤ 1/{threshold:g}"),
    ):
        ax.plot(n, curve[column], marker, color=colour, ms=4, label=label, gid=f"assurance:{column}")
    ax.axhline(0.8, color="0.6", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_xticks(n, [f"{v:,}" for v in n], fontsize=8)
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("replication participants per arm", fontsize=9)
    ax.set_ylabel("decisive replications", fontsize=9)
    ax.grid(color="0.92", lw=0.6)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    return fig
