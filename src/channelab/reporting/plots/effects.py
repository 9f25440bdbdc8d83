"""Figures of an experiment: lift posteriors against the ROPE and the noise band, and traces.

Plots read :class:`~channelab.analysis.results.Effects` and the posterior; they never fit anything.
Each function takes the data first and every option keyword-only, builds a
:class:`matplotlib.figure.Figure` directly (no pyplot, so no global state), and returns it:
nothing is shown or saved here.

Every lift row is drawn the same way: the posterior density of the relative lift, its
equal-tailed interval as a thick bar with the mean as a dot, the ROPE as a pale blue band and
the noise band (how far chance alone moves the estimate at this sample size) as a grey hatched
bar around zero, for reference: no verdict reads it. The lift axis is a ratio scale (spaced by
log(1 + lift)), so +100 % and −50 % are equally far from 0, and its range is set by the lift
intervals, zero and the ROPE (:func:`lift_limits`), never by a noise band: whatever runs past
it is cut at the edge and marked with an arrowhead.

A row whose relative lift is not defined (the control's mean not clearly above zero) draws no
bar: it states the difference and its interval in words. A share among an earlier stage
explains but never decides an arm, so its row is drawn in grey and its role says so; so is a
ratio (revenue per meeting), which describes only.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, get_args

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.transforms import blended_transform_factory, offset_copy
from scipy.stats import gaussian_kde

from channelab.analysis.results import Effect, Effects, MetricVerdict
from channelab.analysis.wording import amount, pct

if TYPE_CHECKING:
    pass
from channelab.reporting.plots.style import (
    DENSITY_ALPHA,
    EXPLAINS,
    NEUTRAL,
    NOISE_EDGE,
    NOISE_HATCH,
    ROPE_FILL,
    TAIL_Q,
    VERDICT_COLOURS,
    interval_label,
    ratio_limits,
    ratio_scale,
)
from channelab.spec import DECISIVE_ROLES, DESCRIPTIVE_TYPES


def funnel_figure(
    effects: Effects,
    *,
    control: str | None = None,
    ncols: int | None = None,
    width: float | None = None,
    row_height: float = 0.42,
    xlim: tuple[float, float] | None = None,
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
    xlim : tuple of float, optional
        The lift axis' range (ratios minus one), e.g. to put several figures on one scale; by
        default :func:`lift_limits` of these effects.

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
    limits = xlim or lift_limits(effects.effects)
    cut = False
    for ax, arm in zip(grid.flat, arms, strict=False):
        own = [e for e in effects.effects if e.arm == arm]
        cut |= _draw_rows(ax, own, effects.lift_draws, [e.label for e in own], limits)
        _mark_roles(ax, own)
        ax.set_title(arm if control is None else f"{arm} vs {control}", loc="left", fontweight="bold")
        if arm in verdicts:
            # wrapped to the width of the row verdicts below it, so a long verdict keeps the panel wide
            label = textwrap.fill(f"arm verdict: {verdicts[arm]}", width=_HEADER_CHARS)
            _write_beside(ax, 1.0, label, VERDICT_COLOURS[verdicts[arm]], gid=f"arm:{arm}", header=True)
    _finish(fig, effects.hdi_prob, control, cut=cut)
    return fig


#: Characters per line of an arm's verdict over its column of row verdicts.
_HEADER_CHARS = 24


def lift_limits(effects: Iterable[Effect]) -> tuple[float, float]:
    """The lift axis' range for ``effects``: their lift intervals, zero and their ROPEs, padded.

    Only rows whose relative lift is defined count, and a noise band never does (it is cut at
    the edge instead), so one sparse metric's wide band cannot shrink every other interval to a
    dot. The range stays within :data:`~channelab.reporting.plots.style.AXIS_BOUNDS`.
    """
    shown = [e for e in effects if e.relative_defined]
    return ratio_limits([v for e in shown for v in (e.lift.lower, e.lift.upper, *e.rope)])


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
    cut = _draw_rows(ax, own, effects.lift_draws, [e.arm for e in own], lift_limits(own))
    ax.set_title(f"{own[0].label} ({own[0].role}): lift of each arm", loc="left", fontweight="bold")
    _finish(fig, effects.hdi_prob, control, cut=cut)
    return fig


def segment_figure(
    effects: Effects,
    *,
    control: str | None = None,
    width: float = 7.5,
    row_height: float = 0.28,
) -> Figure:
    """Draw the per-segment lifts (``model.lift_by``) of the outcome and revenue metrics.

    One panel per metric, one row per arm and level: the level's interval as a bar in its
    verdict's colour with the mean as a dot, over a grey band showing the arm's overall
    interval, so a segment that departs from its arm stands out. The lift axis is set by those
    intervals and the ROPE; anything beyond :data:`~channelab.reporting.plots.style.AXIS_BOUNDS`
    is cut at the edge and marked.

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
        overall = {arm: effects.get(arm, metric) for arm in dict.fromkeys(a for a, _ in rows)}
        limits = ratio_limits(
            [v for g in own.values() for v in (g.lift.lower, g.lift.upper)]
            + [v for e in overall.values() for v in (e.lift.lower, e.lift.upper, *e.rope)]
        )
        ratio_scale(ax)
        ax.set_xlim(limits)
        for arm, e in overall.items():
            ys = [y for y, (a, _) in enumerate(rows) if a == arm]
            lo, hi = _cut(e.rope, limits)
            ax.add_patch(Rectangle((lo, ys[0] - 0.5), hi - lo, len(ys), facecolor=ROPE_FILL, lw=0, zorder=0))
            lo, hi = _cut((e.lift.lower, e.lift.upper), limits)
            ax.add_patch(
                Rectangle(
                    (lo, ys[0] - 0.45),
                    hi - lo,
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
            gid = f"segment:{key[0]}:{key[1]}"
            _bar(ax, y, (g.lift.lower, g.lift.upper), limits, colour=colour, lw=4, gid=gid)
            ax.plot(
                [np.clip(g.lift.mean, *limits)], [y], "o", ms=4, mfc="white", mec=colour, mew=1.2, zorder=4
            )
        first = next(iter(own.values()))
        ax.set_title(f"{first.label} ({first.role})", loc="left", fontweight="bold", fontsize=10)
        ax.axvline(0, color="black", lw=0.8, zorder=1.5)
        ax.grid(axis="x", color="0.9", lw=0.6)
        ax.set_axisbelow(True)
    axes[0].set_yticks(range(len(rows)), [f"{arm} · {level}" for arm, level in rows], fontsize=8)
    axes[0].set_ylim(len(rows) - 0.5, -0.5)
    axes[0].tick_params(axis="y", length=0)
    fig.supxlabel(f"relative lift vs {control or 'control'}, by {segments[0].segment}", fontsize=9)
    handles: list[Artist] = [
        Patch(facecolor=ROPE_FILL, label="ROPE"),
        Patch(facecolor="0.85", label=f"arm's overall {interval_label(effects.hdi_prob)}"),
        *(Line2D([], [], color=VERDICT_COLOURS[v], lw=4, label=v) for v in get_args(MetricVerdict)),
    ]
    fig.legend(handles=handles, loc="outside upper center", ncols=3, frameon=False, fontsize=8)
    return fig


def _draw_rows(
    ax: Axes,
    effects: Sequence[Effect],
    draws: dict[tuple[str, str], np.ndarray],
    labels: list[str],
    limits: tuple[float, float],
) -> bool:
    """One lift row per effect, top to bottom, labelled on the left and with a verdict right.

    The lift axis is set to ``limits``; returns whether anything was cut at its edge.
    """
    ratio_scale(ax)
    ax.set_xlim(limits)
    cut = False
    for y, effect in enumerate(effects):
        cut |= _draw_lift_row(ax, y, effect, draws[(effect.arm, effect.metric)], limits)
    ax.set_yticks(range(len(effects)), labels, fontsize=9)
    ax.set_ylim(len(effects) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)
    ax.axvline(0, color="black", lw=0.8, zorder=1.5)
    ax.tick_params(axis="x", labelbottom=True)  # every panel readable on its own
    ax.grid(axis="x", color="0.9", lw=0.6)
    ax.set_axisbelow(True)
    return cut


#: How a row that explains or describes (a share among an earlier stage, a ratio, a quantile) says
#: how it moved beside its row: it has no verdict ("share rose", "ratio unsettled").
_MOVED_WORDS: dict[str, str] = {
    "real lift": "rose",
    "harm": "fell",
    "no effect": "unchanged",
    "inconclusive": "unsettled",
}


def row_words(effect: Effect) -> str:
    """What is written beside a row: its verdict, or for a ratio, quantile or share how it moved.

    Parameters
    ----------
    effect
        One arm's effect on one metric.
    """
    if effect.type in DESCRIPTIVE_TYPES:
        return f"{effect.type} {_MOVED_WORDS[effect.verdict]}"
    return f"share {_MOVED_WORDS[effect.verdict]}" if effect.conditional else effect.verdict


def _role_words(effect: Effect) -> str:
    """The funnel role under a row's label, with why a ratio, quantile or share only describes."""
    if effect.type in DESCRIPTIVE_TYPES:
        return f"{effect.role.upper()} · {effect.type.upper()}, DESCRIBES ONLY"
    return f"{effect.role.upper()} · SHARE, EXPLAINS ONLY" if effect.conditional else effect.role.upper()


def _draw_lift_row(ax: Axes, y: int, effect: Effect, draws: np.ndarray, limits: tuple[float, float]) -> bool:
    """ROPE band, noise band, density, interval bar, mean and verdict of one lift at height ``y``.

    Returns whether the noise band or the interval was cut at the axis' edge. A row without a
    defined relative lift states its difference instead (:func:`_write_difference`).
    """
    key = f"{effect.arm}:{effect.metric}"
    colour = EXPLAINS if effect.conditional else VERDICT_COLOURS[effect.verdict]
    verdict = row_words(effect)
    if not effect.relative_defined:
        _write_difference(ax, y, effect, gid=f"difference:{key}")
        label = f"{verdict} (difference {amount(effect.abs_lift.mean)})"
        _write_beside(ax, y, label, colour, gid=f"verdict:{key}", bold=not effect.conditional)
        return False
    r_lo, r_hi = _cut(effect.rope, limits)
    ax.add_patch(
        Rectangle((r_lo, y - 0.45), r_hi - r_lo, 0.9, facecolor=ROPE_FILL, lw=0, zorder=0, gid=f"rope:{key}")
    )
    grid, half = _density(draws, limits, max_half_height=0.4)
    ax.fill_between(grid, y - half, y + half, color=colour, alpha=DENSITY_ALPHA, lw=0, zorder=1)
    n_lo, n_hi = _cut(effect.noise, limits)
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
    cut = _edge_marks(ax, y, effect.noise, limits, colour=NOISE_EDGE, gid=f"noise-cut:{key}")
    span = (effect.lift.lower, effect.lift.upper)
    cut |= _bar(ax, y, span, limits, colour=colour, lw=5, gid=f"interval:{key}")
    mean = float(np.clip(effect.lift.mean, *limits))
    ax.plot([mean], [y], "o", ms=5, mfc="white", mec=colour, mew=1.5, zorder=4)
    label = f"{verdict} ({pct(effect.lift.mean, sign=True)})"
    _write_beside(ax, y, label, colour, gid=f"verdict:{key}", bold=not effect.conditional)
    return cut


def _cut(span: tuple[float, float], limits: tuple[float, float]) -> tuple[float, float]:
    """``span`` cut to the axis' ``limits``."""
    return max(span[0], limits[0]), min(span[1], limits[1])


def _bar(
    ax: Axes,
    y: float,
    span: tuple[float, float],
    limits: tuple[float, float],
    *,
    colour: str,
    lw: float,
    gid: str,
) -> bool:
    """An interval as a thick bar, cut at the axis' edge and marked there; whether it was cut."""
    lo, hi = _cut(span, limits)
    ax.hlines(y, lo, hi, colors=colour, lw=lw, zorder=3, gid=gid)
    return _edge_marks(ax, y, span, limits, colour=colour, gid=f"{gid}:cut")


def _edge_marks(
    ax: Axes, y: float, span: tuple[float, float], limits: tuple[float, float], *, colour: str, gid: str
) -> bool:
    """An arrowhead just inside each edge of the axis that ``span`` runs past; whether there was one."""
    marks = [(limits[0], "<", 1)] if span[0] < limits[0] else []
    marks += [(limits[1], ">", -1)] if span[1] > limits[1] else []
    for x, marker, inward in marks:
        at = offset_copy(ax.transData, fig=ax.get_figure(root=True), x=3.5 * inward, units="points")
        ax.plot([x], [y], marker=marker, ms=6, ls="", color=colour, transform=at, zorder=5, gid=gid)
    return bool(marks)


def _write_difference(ax: Axes, y: float, effect: Effect, *, gid: str) -> None:
    """In place of a ratio bar: why there is no relative lift, and the difference with its interval."""
    d = effect.abs_lift
    text = (
        "relative lift not defined (control mean not clearly above 0)\n"
        f"difference {amount(d.mean)} ({amount(d.lower)} to {amount(d.upper)})"
    )
    ax.text(
        0.015,
        y,
        text,
        transform=blended_transform_factory(ax.transAxes, ax.transData),
        fontsize=7,
        color=NEUTRAL,
        va="center",
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5},
        zorder=6,
        gid=gid,
    )


def _write_beside(
    ax: Axes, y: float, text: str, colour: str, *, gid: str, header: bool = False, bold: bool = True
) -> None:
    """Write ``text`` in ``colour`` just right of the axes.

    A row verdict sits at data height ``y``; a header (the arm verdict) sits at axes height
    ``y`` (1.0 for the top edge), heading the column of row verdicts.
    """
    ax.text(
        1.02,
        y,
        text,
        transform=ax.transAxes if header else blended_transform_factory(ax.transAxes, ax.transData),
        color=colour,
        fontsize=10 if header else 9,
        fontweight="bold" if bold else "normal",
        va="bottom" if header else "center",
        gid=gid,
    )


def _density(
    draws: np.ndarray, limits: tuple[float, float], *, max_half_height: float
) -> tuple[np.ndarray, np.ndarray]:
    """Kernel density of ``draws`` over their central range within ``limits``, scaled to a half-height.

    The density is fitted to the central draws only: a few extreme ones would otherwise widen
    its bandwidth and flatten it.
    """
    finite = np.asarray(draws, dtype=float)
    finite = finite[np.isfinite(finite)]
    lo, hi = np.quantile(finite, TAIL_Q)
    central = finite[(finite >= lo) & (finite <= hi)]
    lo, hi = max(lo, limits[0]), min(hi, limits[1])
    if not hi > lo or not np.ptp(central) > 0:  # a point mass (or nothing in view) has no density to draw
        return np.array([lo]), np.zeros(1)
    grid = np.expm1(np.linspace(np.log1p(lo), np.log1p(hi), 200))  # even on the ratio scale
    dens = gaussian_kde(central)(grid)
    return grid, dens / dens.max() * max_half_height


def _mark_roles(ax: Axes, effects: Sequence[Effect]) -> None:
    """Write each row's funnel role under its label and rule off engagement from the rest.

    A share among an earlier stage says that it only explains; a ratio that it only describes.
    """
    ax.set_yticks(
        [y + 0.04 for y in range(len(effects))],
        [_role_words(e) for e in effects],
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


def _finish(fig: Figure, hdi_prob: float, control: str | None, *, cut: bool = False) -> None:
    """Add the shared lift-axis label and the legend explaining bands and interval mass.

    The verdict rule is the caption's to state: it depends on the spec's decision rule.
    """
    fig.supxlabel(f"relative lift vs {control or 'control'}", fontsize=9)
    handles: list[Artist] = [
        Line2D([], [], color=NEUTRAL, lw=5, label=f"{interval_label(hdi_prob)} of the lift (equal-tailed)"),
        Patch(facecolor=ROPE_FILL, label="ROPE: change too small to matter"),
        Line2D([], [], color=NEUTRAL, marker="o", ls="", mfc="white", label="posterior mean"),
        Patch(
            facecolor="white",
            edgecolor=NOISE_EDGE,
            hatch=NOISE_HATCH,
            label="noise band: chance alone at this sample size (reference only)",
        ),
        Patch(facecolor=NEUTRAL, alpha=DENSITY_ALPHA, label="posterior density"),
    ]
    if cut:
        handles.append(Line2D([], [], color=NEUTRAL, marker=">", ls="", label="runs past the axis: cut here"))
    fig.legend(handles=handles, loc="outside upper center", ncols=2, frameon=False, fontsize=8)
