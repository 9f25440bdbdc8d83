"""Matching figures: balance before and after (love plot) and propensity overlap."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

if TYPE_CHECKING:
    pass
from channelab.reporting.plots.style import ROPE_FILL, VERDICT_COLOURS


def love_plot(
    before: pd.DataFrame, after: pd.DataFrame, *, max_smd: float = 0.1, width: float = 7.5
) -> Figure:
    """Draw the standardised mean difference of every covariate (level) before and after matching.

    Hollow grey dots are before, filled dots after; the band marks |SMD| within ``max_smd``.
    With several treated arms (column ``arm``), each row names its arm.
    """
    labels = [
        f"{c}={lv}" if lv else str(c) for c, lv in zip(before["covariate"], before["level"], strict=True)
    ]
    if "arm" in before and before["arm"].nunique() > 1:
        labels = [f"{arm}: {label}" for arm, label in zip(before["arm"], labels, strict=True)]
    fig = Figure(figsize=(width, 0.28 * len(labels) + 1.3), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(labels))
    ax.axvspan(-max_smd, max_smd, color=ROPE_FILL, lw=0, label=f"|SMD| ≤ {max_smd:g}")
    ax.axvline(0, color="black", lw=0.8)
    ax.plot(before["smd"], y, "o", mfc="white", mec="0.5", label="before", gid="smd:before")
    ax.plot(after["smd"], y, "o", color=VERDICT_COLOURS["real lift"], label="after", gid="smd:after")
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlabel("standardised mean difference, treated minus untreated", fontsize=9)
    ax.grid(axis="x", color="0.92", lw=0.6)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return fig


def overlap_figure(
    propensity: np.ndarray, treated: np.ndarray, weight: np.ndarray, *, width: float = 7.5
) -> Figure:
    """Draw the propensity scores of treated and untreated units, and which were kept.

    Left: all units (where the groups do not overlap no honest comparison exists); right:
    the units kept, with their matching or balancing weights.
    """
    fig = Figure(figsize=(width, 2.6), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    bins = np.linspace(0, 1, 41)
    kept = weight > 0
    for ax, title, mask, w in (
        (axes[0], "all units", np.ones_like(kept), None),
        (axes[1], "kept units, weighted", kept, weight),
    ):
        for group, colour, label in ((treated, "#8250df", "treated"), (~treated, "0.55", "untreated")):
            sel = mask & group
            ax.hist(
                propensity[sel],
                bins=bins,
                weights=None if w is None else w[sel],
                density=True,
                histtype="stepfilled",
                alpha=0.45,
                color=colour,
                label=label,
            )
        ax.set_title(title, loc="left", fontsize=9)
        ax.set_yticks([])
    axes[0].legend(fontsize=8, frameon=False)
    fig.supxlabel("propensity score: estimated chance of getting the channel", fontsize=9)
    return fig
