"""Figures of an experiment: lift posteriors against the ROPE and the noise band, and traces.

Plots read :class:`~channelab.analysis.results.Effects` and the posterior; they never fit anything.
Each function takes the data first and every option keyword-only, builds a
:class:`matplotlib.figure.Figure` directly (no pyplot, so no global state), and returns it:
nothing is shown or saved here.

Every lift row is drawn the same way: the posterior density of the relative lift, its HDI
as a thick bar with the mean as a dot, the ROPE as a pale blue band and the noise band (the
interval pure chance gives at this sample size) as a grey hatched bar around zero. The lift
axis is a ratio scale (spaced by log(1 + lift)), so +100 % and −50 % are equally far from 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.transforms import blended_transform_factory
from scipy.stats import gaussian_kde

from channelab.analysis.results import Effect, Effects
from channelab.analysis.wording import pct

if TYPE_CHECKING:
    pass
from channelab.reporting.plots.style import (
    DENSITY_ALPHA,
    NEUTRAL,
    NOISE_EDGE,
    NOISE_HATCH,
    ROPE_FILL,
    TAIL_Q,
    VERDICT_COLOURS,
    interval_label,
    ratio_scale,
)
from channelab.spec import DECISIVE_ROLES


def funnel_figure(
    effects: Effects,
    *,
    control: str | None = None,
    ncols: int | None = None,
    width: float | None = None,
    row_height: float = 0.42,
) -> Figure:
    """Draw the headline figure: every arm's lifts down the funnel, against ROPE and noise.

    One panel per treatment arm, one row per metric in funnel order (engagement, then
    outcome, then revenue), each row labelled with its role and its verdict, so an
    engagement lift is never read as an outcome lift.

    Parameters
    ----------
    effects : Effects
        The effects of an analysis; rows follow the order of ``effects.effects``.
    control : str, optional
        Name of the control arm, used in panel titles and the axis label.
    ncols : int, optional
        Panels per row; by default one column up to three arms, two beyond. Panels in a
        row share the metric labels on the left.
    width : float, optional
        Figure width in inches; by default 7.5 for one column and 3 more per extra column.
    row_height : float
        Height of one metric row in inches.

    Returns
    -------
    Figure
        One axes per treatment arm, sharing the lift axis (in percent).
    """
    arms = list(dict.fromkeys(e.arm for e in effects.effects))
    cols = ncols or (1 if len(arms) <= 3 else 2)
    rows = -(-len(arms) // cols)
    n_metrics = max(sum(e.arm == a for e in effects.effects) for a in arms)
    size = (width or 7.5 + 3.0 * (cols - 1), rows * (n_metrics * row_height + 0.7) + 1.0)
    fig = Figure(figsize=size, layout="constrained")
    grid = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
    for ax in grid.flat[len(arms) :]:
        fig.delaxes(ax)
    verdicts = {a.arm: a.verdict for a in effects.arms}
    for ax, arm in zip(grid.flat, arms, strict=False):
        own = [e for e in effects.effects if e.arm == arm]
        _draw_rows(ax, own, effects.lift_draws, [e.label for e in own])
        _mark_roles(ax, own)
        ax.set_title(arm if control is None else f"{arm} vs {control}", loc="left", fontweight="bold")
        if arm in verdicts:
            label = f"arm verdict: {verdicts[arm]}"
            _write_beside(ax, 1.0, label, verdicts[arm], gid=f"arm:{arm}", header=True)
    _finish(fig, effects.hdi_prob, control)
    return fig


def metric_posterior_figure(
    effects: Effects,
    metric: str,
    *,
    control: str | None = None,
    width: float = 7.5,
    row_height: float = 0.7,
) -> Figure:
    """Draw the lift posterior of one metric for every arm, against ROPE, noise band and zero.

    Parameters
    ----------
    effects : Effects
        The effects of an analysis.
    metric : str
        Name of the metric (``Effect.metric``, not its display label).
    control : str, optional
        Name of the control arm, used in the axis label.
    width : float
        Figure width in inches.
    row_height : float
        Height of one arm row in inches.

    Returns
    -------
    Figure
        A single axes with one row per treatment arm.

    Raises
    ------
    ValueError
        If no effect has that metric.
    """
    own = [e for e in effects.effects if e.metric == metric]
    if not own:
        known = list(dict.fromkeys(e.metric for e in effects.effects))
        raise ValueError(f"got metric {metric!r}, but expected one of {known}")
    fig = Figure(figsize=(width, len(own) * row_height + 1.6), layout="constrained")
    ax = fig.add_subplot()
    _draw_rows(ax, own, effects.lift_draws, [e.arm for e in own])
    ax.set_title(f"{own[0].label} ({own[0].role}): lift of each arm", loc="left", fontweight="bold")
    _finish(fig, effects.hdi_prob, control)
    return fig


def segment_figure(
    effects: Effects,
    *,
    control: str | None = None,
    width: float = 7.5,
    row_height: float = 0.28,
) -> Figure:
    """Draw the per-segment lifts (``model.lift_by``) of the outcome and revenue metrics.

    One panel per metric, one row per arm and level: the level's HDI as a bar in its
    verdict's colour with the mean as a dot, over a grey band showing the arm's overall HDI,
    so a segment that departs from its arm stands out.

    Raises
    ------
    ValueError
        If the effects hold no outcome or revenue segment lifts.
    """
    segments = [g for g in effects.segments if g.role in DECISIVE_ROLES]
    if not segments:
        raise ValueError("no per-segment lifts of outcome or revenue metrics (set model.lift_by)")
    metrics = list(dict.fromkeys(g.metric for g in segments))
    rows = [(g.arm, g.level) for g in segments if g.metric == metrics[0]]
    fig = Figure(figsize=(width, len(rows) * row_height + 1.4), layout="constrained")
    axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
    for ax, metric in zip(axes, metrics, strict=True):
        own = {(g.arm, g.level): g for g in segments if g.metric == metric}
        for arm in dict.fromkeys(a for a, _ in rows):
            ys = [y for y, (a, _) in enumerate(rows) if a == arm]
            overall = effects.get(arm, metric)
            lo, hi = overall.rope
            ax.add_patch(Rectangle((lo, ys[0] - 0.5), hi - lo, len(ys), facecolor=ROPE_FILL, lw=0, zorder=0))
            ax.add_patch(
                Rectangle(
                    (overall.lift.lower, ys[0] - 0.45),
                    overall.lift.upper - overall.lift.lower,
                    len(ys) - 0.1,
                    facecolor="0.85",
                    lw=0,
                    zorder=0.5,
                    gid=f"overall:{arm}:{metric}",
                )
            )
            if ys[0] > 0:
                ax.axhline(ys[0] - 0.5, color=NEUTRAL, lw=0.5)
        for y, key in enumerate(rows):
            g = own[key]
            colour = VERDICT_COLOURS[g.verdict]
            ax.hlines(
                y, g.lift.lower, g.lift.upper, colors=colour, lw=4, zorder=3, gid=f"segment:{key[0]}:{key[1]}"
            )
            ax.plot([g.lift.mean], [y], "o", ms=4, mfc="white", mec=colour, mew=1.2, zorder=4)
        first = next(iter(own.values()))
        ax.set_title(f"{first.label} ({first.role})", loc="left", fontweight="bold", fontsize=10)
        ax.axvline(0, color="black", lw=0.8, zorder=1.5)
        ratio_scale(ax)
        ax.grid(axis="x", color="0.9", lw=0.6)
        ax.set_axisbelow(True)
    axes[0].set_yticks(range(len(rows)), [f"{arm} · {level}" for arm, level in rows], fontsize=8)
    axes[0].set_ylim(len(rows) - 0.5, -0.5)
    axes[0].tick_params(axis="y", length=0)
    fig.supxlabel(f"relative lift vs {control or 'control'}, by {segments[0].segment}", fontsize=9)
    handles: list[Artist] = [
        Patch(facecolor=ROPE_FILL, label="ROPE"),
        Patch(facecolor="0.85", label=f"arm's overall {interval_label(effects.hdi_prob)}"),
        *(
            Line2D([], [], color=c, lw=4, label=v)
            for v, c in VERDICT_COLOURS.items()
            if v != "engagement only"
        ),
    ]
    fig.legend(handles=handles, loc="outside upper center", ncols=3, frameon=False, fontsize=8)
    return fig


def _draw_rows(
    ax: Axes, effects: Sequence[Effect], draws: dict[tuple[str, str], np.ndarray], labels: list[str]
) -> None:
    """One lift row per effect, top to bottom, labelled on the left and with a verdict right."""
    for y, effect in enumerate(effects):
        _draw_lift_row(ax, y, effect, draws[(effect.arm, effect.metric)])
    ax.set_yticks(range(len(effects)), labels, fontsize=9)
    ax.set_ylim(len(effects) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)
    ax.axvline(0, color="black", lw=0.8, zorder=1.5)
    ratio_scale(ax)
    ax.tick_params(axis="x", labelbottom=True)  # every panel readable on its own
    ax.grid(axis="x", color="0.9", lw=0.6)
    ax.set_axisbelow(True)


def _draw_lift_row(ax: Axes, y: int, effect: Effect, draws: np.ndarray) -> None:
    """ROPE band, noise band, density, HDI bar, mean and verdict of one lift at height ``y``."""
    colour = VERDICT_COLOURS[effect.verdict]
    key = f"{effect.arm}:{effect.metric}"
    (r_lo, r_hi), (n_lo, n_hi) = effect.rope, effect.noise
    ax.add_patch(
        Rectangle(
            (r_lo, y - 0.45),
            r_hi - r_lo,
            0.9,
            facecolor=ROPE_FILL,
            lw=0,
            zorder=0,
            gid=f"rope:{key}",
        )
    )
    grid, half = _density(draws, max_half_height=0.4)
    ax.fill_between(grid, y - half, y + half, color=colour, alpha=DENSITY_ALPHA, lw=0, zorder=1)
    ax.add_patch(
        Rectangle(
            (n_lo, y - 0.2),
            n_hi - n_lo,
            0.4,
            facecolor="none",
            edgecolor=NOISE_EDGE,
            hatch=NOISE_HATCH,
            lw=0.8,
            zorder=2,
            gid=f"noise:{key}",
        )
    )
    ax.hlines(y, effect.lift.lower, effect.lift.upper, colors=colour, lw=5, zorder=3, gid=f"hdi:{key}")
    ax.plot([effect.lift.mean], [y], "o", ms=5, mfc="white", mec=colour, mew=1.5, zorder=4)
    label = f"{effect.verdict} ({pct(effect.lift.mean, sign=True)})"
    _write_beside(ax, y, label, effect.verdict, gid=f"verdict:{key}")


def _write_beside(ax: Axes, y: float, text: str, verdict: str, *, gid: str, header: bool = False) -> None:
    """Write ``text`` in the verdict's colour just right of the axes.

    A row verdict sits at data height ``y``; a header (the arm verdict) sits at axes height
    ``y`` (1.0 for the top edge), heading the column of row verdicts.
    """
    ax.text(
        1.02,
        y,
        text,
        transform=ax.transAxes if header else blended_transform_factory(ax.transAxes, ax.transData),
        color=VERDICT_COLOURS[verdict],
        fontsize=10 if header else 9,
        fontweight="bold",
        va="bottom" if header else "center",
        gid=gid,
    )


def _density(draws: np.ndarray, *, max_half_height: float) -> tuple[np.ndarray, np.ndarray]:
    """Kernel density of ``draws`` on a grid over their central range, scaled to a half-height."""
    lo, hi = np.quantile(draws, TAIL_Q)
    if not hi > lo:  # a point mass has no density to draw
        return np.array([lo]), np.zeros(1)
    grid = np.linspace(lo, hi, 200)
    dens = gaussian_kde(draws)(grid)
    return grid, dens / dens.max() * max_half_height


def _mark_roles(ax: Axes, effects: Sequence[Effect]) -> None:
    """Write each row's funnel role under its label and rule off engagement from the rest."""
    ax.set_yticks(
        [y + 0.04 for y in range(len(effects))],
        [e.role.upper() for e in effects],
        minor=True,
        fontsize=6.5,
        color=NEUTRAL,
        va="top",
    )
    for label in ax.get_yticklabels():
        label.set_verticalalignment("bottom")
    ax.tick_params(axis="y", which="minor", length=0)
    n_engagement = sum(e.role == "engagement" for e in effects)
    if 0 < n_engagement < len(effects):
        ax.axhline(n_engagement - 0.5, color=NEUTRAL, lw=0.8, ls=(0, (4, 3)))


def _finish(fig: Figure, hdi_prob: float, control: str | None) -> None:
    """Add the shared lift-axis label and the legend explaining bands and interval mass."""
    fig.supxlabel(f"relative lift vs {control or 'control'}", fontsize=9)
    handles: list[Artist] = [
        Patch(facecolor=ROPE_FILL, label="ROPE: change too small to matter"),
        Patch(
            facecolor="white",
            edgecolor=NOISE_EDGE,
            hatch=NOISE_HATCH,
            label="noise band: what chance alone gives at this sample size",
        ),
        Line2D([], [], color=NEUTRAL, lw=5, label=f"{interval_label(hdi_prob)} of the lift"),
        Line2D([], [], color=NEUTRAL, marker="o", ls="", mfc="white", label="posterior mean"),
        Patch(facecolor=NEUTRAL, alpha=DENSITY_ALPHA, label="posterior density"),
    ]
    fig.legend(handles=handles, loc="outside upper center", ncols=3, frameon=False, fontsize=8)
