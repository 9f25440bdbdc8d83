"""The money figure: each arm's net value per unit against the control, with its interval."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from channelab.analysis.results import Economics
from channelab.analysis.wording import money, money_order
from channelab.reporting.plots.style import NEUTRAL, VERDICT_COLOURS, interval_label


def net_value_figure(economics: Economics, hdi_prob: float, unit: str, *, width: float = 7.5) -> Figure:
    """One row per treatment: net value per unit (value of its increments − its cost) and interval.

    Rows are ranked by P(best) only when one arm (or the control) is credibly best
    (``economics.best``); otherwise they keep the test's order, and the title says that no arm
    is credibly best, so a ranking is never shown as a recommendation. Each row is labelled with
    its P(best). Green where the interval lies above zero, red below, amber across it.
    """
    arms = money_order(economics)
    fig = Figure(figsize=(width, 0.5 * len(arms) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    c = economics.currency
    for y, a in enumerate(reversed(arms)):
        iv = a.net_per_unit
        key = "real lift" if iv.lower > 0 else "harm" if iv.upper < 0 else "inconclusive"
        colour = VERDICT_COLOURS[key]
        ax.plot([iv.lower, iv.upper], [y, y], color=colour, lw=5, solid_capstyle="butt", alpha=0.55)
        ax.plot([iv.mean], [y], "o", color=colour, ms=6)
        ax.annotate(
            f"{money(iv.mean, c, sign=True)}  ·  P(best) {a.prob_best:.2f}",
            (iv.upper, y),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            color=NEUTRAL,
        )
    ax.axvline(0.0, color=NEUTRAL, lw=0.8)
    ax.set_yticks(np.arange(len(arms)), [a.arm for a in reversed(arms)], fontsize=8.5)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel(f"net value per {unit} against the control ({c}; {interval_label(hdi_prob)})", fontsize=8.5)
    ax.set_title(_order_title(economics), loc="left", fontsize=8.5, color=NEUTRAL)
    lo = min(a.net_per_unit.lower for a in arms)
    hi = max(a.net_per_unit.upper for a in arms)
    pad = 0.45 * (hi - lo or 1.0)
    ax.set_xlim(min(lo, 0.0) - 0.05 * pad, max(hi, 0.0) + pad)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _order_title(economics: Economics) -> str:
    """What the row order means: a ranking only when one arm is credibly best."""
    level = economics.best_level
    if economics.best is None:
        return f"In the test's order, not ranked: no arm is credibly best (none has P(best) ≥ {level:.2f})"
    return f"Ranked by P(best): {economics.best} is credibly best (P(best) ≥ {level:.2f})"
