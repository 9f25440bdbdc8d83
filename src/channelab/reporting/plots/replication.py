"""Replication figures: original against replication (one lab or many) and assurance against n."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, NullLocator

if TYPE_CHECKING:
    from channelab.replication.judge import ArmContrast, Estimate
    from channelab.replication.labs import LabsMetric
from channelab.reporting.plots.style import ROPE_FILL, VERDICT_COLOURS


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


def labs_forest_figure(
    metric: LabsMetric, *, percent: bool, original: Estimate, unit: str = "", width: float = 7.5
) -> Figure:
    """Draw a many-lab replication of one metric: each lab, the pooled mean, a new lab, the original.

    Rows top to bottom: the original study (grey square, 95 % interval); each lab's own
    estimate (open circle, thin line) with its shrunken true effect (filled dot, thick line)
    just below; the pooled mean μ (diamond) and the prediction interval for a new lab (dashed).
    The vertical line is no difference; the shaded band is the ROPE at the pooled control-side
    mean. Differences in percentage points when ``percent``, else in the metric's ``unit``.
    """
    scale = 100.0 if percent else 1.0
    labs = metric.labs
    rows = ["original study", *(lab.lab for lab in labs), "pooled mean μ", "a new lab"]
    fig = Figure(figsize=(width, 0.32 * len(rows) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    lab_colour, pooled_colour = VERDICT_COLOURS["engagement only"], VERDICT_COLOURS["real lift"]

    def line(est: Estimate, y: float, *, colour: str, lw: float, ls: str = "-") -> None:
        ax.plot([scale * est.lower, scale * est.upper], [y, y], color=colour, lw=lw, ls=ls)

    line(original, 0, colour="0.45", lw=2)
    ax.plot(scale * original.mean, 0, "s", color="0.45", mfc="white", ms=6, gid="labs:original")
    for i, lab in enumerate(labs, start=1):
        line(lab.observed, i - 0.15, colour="0.6", lw=1)
        ax.plot(scale * lab.observed.mean, i - 0.15, "o", color="0.45", mfc="white", ms=4)
        line(lab.shrunken, i + 0.15, colour=lab_colour, lw=2.2)
        ax.plot(scale * lab.shrunken.mean, i + 0.15, "o", color=lab_colour, ms=5, gid=f"labs:lab:{i}")
    k = len(labs)
    line(metric.mu, k + 1, colour=pooled_colour, lw=2.6)
    ax.plot(scale * metric.mu.mean, k + 1, "D", color=pooled_colour, ms=7, gid="labs:mu")
    line(metric.prediction, k + 2, colour=pooled_colour, lw=1.6, ls="--")
    ax.plot(scale * metric.prediction.mean, k + 2, "D", color=pooled_colour, mfc="white", ms=6)
    ax.axvspan(scale * metric.rope[0], scale * metric.rope[1], color=ROPE_FILL, alpha=0.7, lw=0)
    ax.axvline(0, color="black", lw=0.8)
    ax.axvline(scale * original.mean, color="0.45", lw=0.8, ls=":")
    ax.axhline(0.5, color="0.85", lw=0.6)
    ax.axhline(k + 0.5, color="0.85", lw=0.6)
    ax.set_yticks(np.arange(len(rows)), rows, fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    xlabel = "percentage points" if percent else f"difference in means{f' ({unit})' if unit else ''}"
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_title(metric.label, fontsize=9, loc="left")
    ax.grid(axis="x", color="0.92", lw=0.6)
    ax.tick_params(labelsize=8)
    handles = [
        Line2D([], [], marker="s", color="0.45", mfc="white", lw=2, label="original, 95 %"),
        Line2D([], [], marker="o", color="0.45", mfc="white", lw=1, label="lab's own estimate"),
        Line2D([], [], marker="o", color=lab_colour, lw=2.2, label="lab's true effect (shrunken)"),
        Line2D([], [], marker="D", color=pooled_colour, lw=2.6, label="pooled mean"),
        Line2D([], [], marker="D", color=pooled_colour, mfc="white", lw=1.6, ls="--", label="a new lab"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=7.5, frameon=False)
    return fig
