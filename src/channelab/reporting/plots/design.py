"""Planning figures: power against the true lift."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from channelab.analysis.wording import pct

if TYPE_CHECKING:
    from channelab.design.power import PowerPlan
from channelab.reporting.plots.style import NEUTRAL


def power_curve_figure(
    plan: PowerPlan, *, assurance: pd.DataFrame | None = None, width: float = 7.5, height: float = 3.6
) -> Figure:
    """Draw the power to detect each relative lift at the planned sample, one line per metric.

    Dashed lines mark the plan's power levels and target lift; ``assurance`` rows (metric,
    lift, real_lift, se), when given, are drawn as points with ±2 se bars: how often
    channelab's own verdict would be ``real lift``.

    Raises
    ------
    ValueError
        If the plan has no planned sample size (``plan.n``).
    """
    if plan.n is None:
        raise ValueError("no planned sample size (plan.n), so there is no power curve to draw")
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.add_subplot()
    finite = [v for m in plan.metrics for v in (m.mde or {}).values() if np.isfinite(v)]
    top = max([plan.target_lift * 2, *(1.3 * v for v in finite)])
    lifts = np.linspace(0.0, top, 200)
    colours = itertools.cycle(["#0969da", "#1a7f37", "#8250df", "#b35900", "#cf222e"])
    for m, colour in zip(plan.metrics, colours, strict=False):
        ax.plot(
            lifts,
            plan.power_at(m.metric, lifts),
            color=colour,
            lw=2,
            label=f"{m.label} (z-test)",
            gid=f"power:{m.metric}",
        )
        if assurance is not None:
            rows = assurance[assurance["metric"] == m.metric]
            ax.errorbar(
                rows["lift"],
                rows["real_lift"],
                yerr=2 * rows["se"],
                fmt="o",
                color=colour,
                mfc="white",
                capsize=3,
                label=f"{m.label}: channelab says real lift",
                gid=f"assurance:{m.metric}",
            )
    for p in plan.powers:
        ax.axhline(p, color=NEUTRAL, lw=0.7, ls=(0, (4, 3)))
    ax.axvline(plan.target_lift, color=NEUTRAL, lw=0.7, ls=(0, (1, 2)))
    ax.text(plan.target_lift, 0.02, " target", color=NEUTRAL, fontsize=8)
    ax.set_xlim(0, top)
    ax.set_ylim(0, 1.02)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: pct(x, sign=x != 0).replace(" ", "")))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:.0%}"))
    ax.set_xlabel(
        f"true relative lift of a treatment over the control (n = {plan.n:,} in all arms)", fontsize=9
    )
    ax.set_ylabel("probability of detecting it", fontsize=9)
    ax.grid(color="0.92", lw=0.6)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return fig
