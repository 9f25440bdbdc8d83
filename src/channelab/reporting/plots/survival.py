"""The arrival figure: each arm's cumulative incidence by day since entry, with its interval."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from channelab.analysis.hazard_results import TimeToEvent
from channelab.reporting.plots.style import NEUTRAL, interval_label

__all__ = ["incidence_figure"]

#: Line colours of the arms, control first (colour-blind-safe, dark enough to print).
_ARM_COLOURS = ("#57606a", "#0969da", "#bc4c00", "#1a7f37", "#8250df", "#bf3989", "#9a6700")


def incidence_figure(t: TimeToEvent, label: str, hdi_prob: float, *, width: float = 7.5) -> Figure:
    """P(outcome by day t) per arm, t = 0 … W, a band for its interval and the window's end marked.

    Parameters
    ----------
    t
        The metric's time-to-event results (:func:`channelab.analysis.hazards.time_to_event`).
    label
        The metric's name in words.
    hdi_prob
        The interval mass of the bands.
    width
        The figure's width in inches.
    """
    fig = Figure(figsize=(width, 2.9), layout="constrained")
    ax = fig.add_subplot()
    for k, curve in enumerate(t.incidence):
        colour = _ARM_COLOURS[k % len(_ARM_COLOURS)]
        days = np.asarray(curve.days)
        ax.fill_between(days, curve.lower, curve.upper, color=colour, alpha=0.14, lw=0)
        ax.plot(days, curve.mean, color=colour, lw=2.0 if k else 1.6, ls="-" if k else "--")
        ax.annotate(
            f"{curve.arm} {100 * curve.mean[-1]:.1f} %",
            (days[-1], curve.mean[-1]),
            xytext=(5, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            color=colour,
        )
    ax.axvline(t.window_days, color=NEUTRAL, lw=0.8, ls=":")
    ax.text(
        t.window_days, 0.0, f" day {t.window_days}: the window ends", fontsize=7.5, color=NEUTRAL, va="bottom"
    )
    ax.set_xlim(0, t.window_days * 1.22)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    ax.tick_params(labelsize=8)
    ax.set_xlabel("days since entry", fontsize=8.5)
    ax.set_ylabel(f"share with {label}", fontsize=8.5)
    ax.set_title(
        f"Share with {label} by day since entry (line: posterior mean; band: {interval_label(hdi_prob)})",
        loc="left",
        fontsize=8.5,
        color=NEUTRAL,
    )
    ax.spines[["top", "right"]].set_visible(False)
    return fig
