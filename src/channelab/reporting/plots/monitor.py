"""Monitoring figures: each lift and its intervals at every look, with the stopping rule's decisions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.dates import AutoDateLocator, DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from channelab.analysis.wording import pct
from channelab.reporting.plots.style import NEUTRAL, ROPE_FILL, VERDICT_COLOURS, interval_label

if TYPE_CHECKING:
    from channelab.pipeline.monitor import Monitor
    from channelab.spec import Metric

#: The lift axis shows at most this range (ratios minus one); early looks' wider intervals are cut.
_CLIP = (-0.8, 4.0)
_TICKS = (-0.75, -0.5, -0.25, -0.1, 0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0)


def lift_path_figure(m: Monitor, metric: Metric, *, width: float = 7.5) -> Figure:
    """One panel per treatment: ``metric``'s lift at every look read, on the ratio scale.

    The line is the posterior mean; the shaded band the spec's HDI; the bars the stopping
    rule's interval at that look (wider early, cut at the panel's edge); the blue band the
    ROPE. A dashed vertical line marks the look at which the arm was decided, in its colour.
    """
    arms = m.spec.treatments
    cols = min(3, len(arms))
    rows = -(-len(arms) // cols)
    fig = Figure(figsize=(width, 1.9 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
    paths = {arm: _path(m, metric, arm) for arm in arms}
    # the vertical range follows the HDIs after the first look read, whose are often huge
    later = [p[:, 1:] for p in paths.values() if p.shape[1] > 1]
    lo = max(_CLIP[0], min([-abs(metric.rope_interval[0]) * 2, *(float(p[1].min()) for p in later)]))
    hi = min(_CLIP[1], max([metric.rope_interval[1] * 2, *(float(p[2].max()) for p in later)]))
    dates = [look.date for look in m.looks if look.effects is not None]
    for ax, arm in zip(axes, arms, strict=False):
        path = paths[arm]
        ax.axhspan(*np.log1p(metric.rope_interval), color=ROPE_FILL, zorder=0, lw=0)
        ax.axhline(0.0, color=NEUTRAL, lw=0.6, zorder=1)
        decision = m.decisions.get(arm)
        colour = VERDICT_COLOURS[decision.verdict if decision else "inconclusive"]
        if dates:
            x = np.array(dates, dtype="datetime64[D]")
            mean, hdi_lo, hdi_hi, rule_lo, rule_hi = (_scaled(row, lo, hi) for row in path)
            ax.fill_between(x, hdi_lo, hdi_hi, color=colour, alpha=0.25, lw=0)
            bars = [mean - rule_lo, rule_hi - mean]
            ax.errorbar(x, mean, yerr=bars, fmt="o-", ms=3, lw=1.2, color=colour, elinewidth=0.7, capsize=2)
        if decision is not None:
            ax.axvline(np.datetime64(decision.date, "D"), color=colour, ls="--", lw=1)
        status = f"{decision.verdict} (look {decision.look})" if decision else "not decided"
        ax.set_title(f"{arm}: {status}", fontsize=8.5, color=colour, loc="left")
    for ax in axes[len(arms) :]:
        ax.set_visible(False)
    ticks = _spaced([t for t in _TICKS if lo <= t <= hi], (np.log1p(hi) - np.log1p(lo)) / 6)
    label = FuncFormatter(lambda v, _: pct(float(np.expm1(v)), sign=True).replace(" ", ""))
    for ax in axes[: len(arms)]:
        ax.set_ylim(np.log1p(lo) - 0.02, np.log1p(hi) + 0.02)
        ax.set_yticks(np.log1p(ticks))
        ax.yaxis.set_major_formatter(label)
        ax.xaxis.set_major_locator(AutoDateLocator(maxticks=4))
        ax.xaxis.set_major_formatter(DateFormatter("%d %b"))
        ax.tick_params(labelsize=7)
        ax.tick_params(axis="x", labelrotation=30)
        ax.grid(axis="y", lw=0.3, alpha=0.5)
    fig.suptitle(
        f"Lift in {metric.display} at each look: band {interval_label(m.spec.hdi_prob)}, bars the "
        "stopping rule's interval, blue the ROPE",
        fontsize=9,
    )
    return fig


def _path(m: Monitor, metric: Metric, arm: str) -> np.ndarray:
    """Rows mean, HDI low, HDI high, rule low, rule high of ``arm``'s lift at each look read."""
    out = [
        (e.lift.mean, e.lift.lower, e.lift.upper, r.lower, r.upper)
        for look in m.looks
        if look.effects is not None
        for e, r in zip(look.effects.effects, look.readings, strict=True)
        if e.arm == arm and e.metric == metric.name
    ]
    return np.array(out, dtype=float).reshape(-1, 5).T


def _spaced(ticks: list[float], gap: float) -> list[float]:
    """Ticks at least ``gap`` apart on the ratio scale, always keeping 0."""
    kept = [0.0]
    for t in sorted(ticks, key=abs):
        if all(abs(np.log1p(t) - np.log1p(k)) >= gap for k in kept):
            kept.append(t)
    return sorted(kept)


def _scaled(lifts: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Lifts on the ratio scale (log(1 + lift)), cut to the panel's range."""
    return np.log1p(np.clip(lifts, lo, hi))
