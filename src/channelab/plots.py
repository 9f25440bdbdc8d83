"""Figures of an experiment: lift posteriors against the ROPE and the noise band, and traces.

Plots read :class:`~channelab.effects.Effects` and the posterior; they never fit anything.
Each function takes the data first and every option keyword-only, builds a
:class:`matplotlib.figure.Figure` directly (no pyplot, so no global state), and returns it:
nothing is shown or saved here.

Every lift row is drawn the same way: the posterior density of the relative lift, its HDI
as a thick bar with the mean as a dot, the ROPE as a pale blue band and the noise band (the
interval pure chance gives at this sample size) as a grey hatched bar around zero. The lift
axis is a ratio scale (spaced by log(1 + lift)), so +100 % and −50 % are equally far from 0.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, Locator, NullLocator
from matplotlib.transforms import blended_transform_factory
from scipy.stats import gaussian_kde, rankdata

from channelab.effects import Effect, Effects
from channelab.verdicts import pct

if TYPE_CHECKING:
    from channelab.power import PowerPlan
    from channelab.replicate import ArmContrast

#: Colour of each verdict, per metric and per arm: green up, red down, grey flat, amber open.
VERDICT_COLOURS: dict[str, str] = {
    "real lift": "#1a7f37",
    "engagement only": "#8250df",
    "harm": "#cf222e",
    "no effect": "#6e7781",
    "inconclusive": "#b35900",
}
ROPE_FILL = "#cfe2f3"
NOISE_EDGE = "#57606a"
_NOISE_HATCH = "////"
_NEUTRAL = "#444c56"
_DENSITY_ALPHA = 0.22
_SAMPLE_DIMS = ("chain", "draw")
# Tails beyond these quantiles are not drawn: a few extreme draws would squash every row.
_TAIL_Q = (0.002, 0.998)
#: Lift-axis ticks (as ratios minus one), dense enough for any zoom of the ratio scale.
_RATIO_TICKS = [-0.9, -0.75, -0.5, -0.25, -0.1, 0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 9.0, 19.0, 49.0, 99.0]


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
    segments = [g for g in effects.segments if g.role != "engagement"]
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
                ax.axhline(ys[0] - 0.5, color=_NEUTRAL, lw=0.5)
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
        _ratio_scale(ax)
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
        for chain in values:
            trace_ax.plot(chain, lw=0.4, alpha=0.8)
        _rank_histogram(rank_ax, values, bins)
        trace_ax.set_title(label, loc="left", fontsize=8)
        trace_ax.tick_params(labelsize=7)
        trace_ax.set_yticks([])
        rank_ax.set_xticks([])
        rank_ax.set_yticks([])
    grid[0, 0].set_title("trace, one colour per chain", loc="right", fontsize=8, color=_NEUTRAL)
    grid[0, 1].set_title("rank histogram (flat = well mixed)", loc="right", fontsize=8, color=_NEUTRAL)
    grid[-1, 0].set_xlabel("draw", fontsize=8)
    grid[-1, 1].set_xlabel("rank of draw across chains", fontsize=8)
    return fig


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
        ax.axhline(p, color=_NEUTRAL, lw=0.7, ls=(0, (4, 3)))
    ax.axvline(plan.target_lift, color=_NEUTRAL, lw=0.7, ls=(0, (1, 2)))
    ax.text(plan.target_lift, 0.02, " target", color=_NEUTRAL, fontsize=8)
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


def love_plot(
    before: pd.DataFrame, after: pd.DataFrame, *, max_smd: float = 0.1, width: float = 7.5
) -> Figure:
    """Draw the standardised mean difference of every covariate (level) before and after matching.

    Hollow grey dots are before, filled dots after; the band marks |SMD| within ``max_smd``.
    """
    labels = [
        f"{c}={lv}" if lv else str(c) for c, lv in zip(before["covariate"], before["level"], strict=True)
    ]
    fig = Figure(figsize=(width, 0.28 * len(labels) + 1.3), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(labels))
    ax.axvspan(-max_smd, max_smd, color=ROPE_FILL, lw=0, label=f"|SMD| ≤ {max_smd:g}")
    ax.axvline(0, color="black", lw=0.8)
    ax.plot(before["smd"], y, "o", mfc="white", mec="0.5", label="before matching", gid="smd:before")
    ax.plot(after["smd"], y, "o", color=VERDICT_COLOURS["real lift"], label="after matching", gid="smd:after")
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
    the matched units, weighted.
    """
    fig = Figure(figsize=(width, 2.6), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    bins = np.linspace(0, 1, 41)
    kept = weight > 0
    for ax, title, mask, w in (
        (axes[0], "all units", np.ones_like(kept), None),
        (axes[1], "matched units (weighted)", kept, weight),
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


def interval_label(hdi_prob: float) -> str:
    """Name of the interval for ``hdi_prob``: 0.94 -> '94 % HDI'."""
    return f"{hdi_prob * 100:g} % HDI"


# ---- drawing helpers ----------------------------------------------------------------------


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
    _ratio_scale(ax)
    ax.tick_params(axis="x", labelbottom=True)  # every panel readable on its own
    ax.grid(axis="x", color="0.9", lw=0.6)
    ax.set_axisbelow(True)


def _ratio_scale(ax: Axes) -> None:
    """Space the lift axis by log(1 + lift), so +100 % and −50 % lie equally far from 0.

    Lifts are ratios: on this scale a tripling of likes does not squash a 10 % change in
    meetings to a dot, and gains and losses of the same factor look the same size.
    """
    ax.set_xscale("function", functions=(_log1p, _expm1))
    ax.xaxis.set_major_locator(_RatioLocator())
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: pct(x, sign=x != 0).replace(" ", "")))


class _RatioLocator(Locator):
    """Ticks from :data:`_RATIO_TICKS` in view, at least a sixth of the axis apart, always with 0."""

    def __call__(self) -> list[float]:
        lo, hi = self.axis.get_view_interval() if self.axis else (-0.5, 0.5)
        return self.tick_values(lo, hi)

    def tick_values(self, vmin: float, vmax: float) -> list[float]:
        gap = (_log1p(np.asarray(vmax)) - _log1p(np.asarray(vmin))) / 6
        inside = [t for t in _RATIO_TICKS if vmin <= t <= vmax]
        kept = [0.0] if vmin <= 0 <= vmax else []
        for side in ([t for t in inside if t > 0], [t for t in reversed(inside) if t < 0]):
            last = 0.0
            for t in side:
                if abs(np.log1p(t) - np.log1p(last)) >= gap:
                    kept.append(t)
                    last = t
        return sorted(kept)


def _log1p(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.maximum(x, -0.999))


def _expm1(x: np.ndarray) -> np.ndarray:
    return np.expm1(x)


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
    ax.fill_between(grid, y - half, y + half, color=colour, alpha=_DENSITY_ALPHA, lw=0, zorder=1)
    ax.add_patch(
        Rectangle(
            (n_lo, y - 0.2),
            n_hi - n_lo,
            0.4,
            facecolor="none",
            edgecolor=NOISE_EDGE,
            hatch=_NOISE_HATCH,
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
    lo, hi = np.quantile(draws, _TAIL_Q)
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
        color=_NEUTRAL,
        va="top",
    )
    for label in ax.get_yticklabels():
        label.set_verticalalignment("bottom")
    ax.tick_params(axis="y", which="minor", length=0)
    n_engagement = sum(e.role == "engagement" for e in effects)
    if 0 < n_engagement < len(effects):
        ax.axhline(n_engagement - 0.5, color=_NEUTRAL, lw=0.8, ls=(0, (4, 3)))


def _finish(fig: Figure, hdi_prob: float, control: str | None) -> None:
    """Add the shared lift-axis label and the legend explaining bands and interval mass."""
    fig.supxlabel(f"relative lift vs {control or 'control'}", fontsize=9)
    handles: list[Artist] = [
        Patch(facecolor=ROPE_FILL, label="ROPE: change too small to matter"),
        Patch(
            facecolor="white",
            edgecolor=NOISE_EDGE,
            hatch=_NOISE_HATCH,
            label="noise band: what chance alone gives at this sample size",
        ),
        Line2D([], [], color=_NEUTRAL, lw=5, label=f"{interval_label(hdi_prob)} of the lift"),
        Line2D([], [], color=_NEUTRAL, marker="o", ls="", mfc="white", label="posterior mean"),
        Patch(facecolor=_NEUTRAL, alpha=_DENSITY_ALPHA, label="posterior density"),
    ]
    fig.legend(handles=handles, loc="outside upper center", ncols=3, frameon=False, fontsize=8)


def _components(posterior: xr.Dataset, var_names: Sequence[str]) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (label, chain × draw array) for every scalar element of the named variables."""
    for name in var_names:
        da = posterior[name]
        extra = [d for d in da.dims if d not in _SAMPLE_DIMS]
        for point in itertools.product(*(da[d].to_numpy() for d in extra)):
            label = name + (f"[{', '.join(map(str, point))}]" if point else "")
            values = da.sel(dict(zip(extra, point, strict=True))).transpose(*_SAMPLE_DIMS)
            yield label, values.to_numpy()


def _rank_histogram(ax: Axes, values: np.ndarray, bins: int) -> None:
    """Histogram, per chain, of the ranks of its draws among all draws, with the uniform level."""
    ranks = rankdata(values, axis=None).reshape(values.shape)
    edges = np.linspace(0.5, values.size + 0.5, bins + 1)
    for chain_ranks in ranks:
        ax.stairs(np.histogram(chain_ranks, bins=edges)[0], edges, baseline=None, lw=1)
    ax.axhline(values.shape[1] / bins, color="black", lw=0.8, ls="--")
    ax.set_ylim(bottom=0)
