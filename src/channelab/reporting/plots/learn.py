"""Figures of a programme of tests: each channel's forest plot, and the engagement → outcome links.

:func:`forest_figure` draws one channel and metric: every past test (at most
:data:`~channelab.limits.MAX_FOREST_ROWS`, the largest reported effects) as reported and as
shrunken toward the channel's mean, launched arms marked, and at the bottom the mean effect μ and
the prediction for the next test. :func:`link_figure` draws each link: the tests' reported
engagement and outcome effects with their intervals, and the fitted slope with its band.
Relative lifts are drawn on the ratio scale (log(1 + lift)), differences on their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from channelab.analysis.learning.wording import fmt_effect, metric_words
from channelab.limits import MAX_FOREST_ROWS
from channelab.reporting.plots.style import AXIS_BOUNDS, NEUTRAL, interval_label, ratio_limits, ratio_scale

if TYPE_CHECKING:
    from channelab.analysis.learning import ChannelMetric, Link
    from channelab.engine.registry import Record
    from channelab.spec import MetricType

__all__ = ["PANELS_PER_FIGURE", "LinkPoints", "forest_figure", "glance_figure", "link_figure", "link_points"]

#: Colour of launched arms, of the shrunken estimates, and of the channel's mean and prediction.
LAUNCHED = "#bf8700"
SHRUNK = "#0969da"
BAND = "#8250df"
#: Above this many points a panel's markers are rasterised (the HTML's SVG stays small).
_RASTER_POINTS = 200
#: Links drawn per figure (two columns).
PANELS_PER_FIGURE = 4


def _label(text: str, width: int = 34) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _shown(g: ChannelMetric, cap: int) -> list[int]:
    """The rows drawn: the ``cap`` largest reported effects in size, then sorted by reported effect."""
    order = sorted(range(len(g.effects)), key=lambda i: -abs(g.effects[i].reported))[:cap]
    return sorted(order, key=lambda i: g.effects[i].reported)


def _clip(values: np.ndarray, g: ChannelMetric) -> np.ndarray:
    return np.clip(values, *AXIS_BOUNDS) if g.scale == "loglift" else values


def _value_axis(ax: Axes, scale: str, kind: MetricType | None, values: Sequence[float], *, x: bool) -> None:
    """A lift axis on the ratio scale, or a difference axis in points or the metric's units."""
    if scale == "loglift" and x:
        ratio_scale(ax)
        ax.set_xlim(*ratio_limits(values))
        return
    fmt = FuncFormatter(lambda v, _: fmt_effect(float(v), "diff", kind).replace(" ", ""))
    (ax.xaxis if x else ax.yaxis).set_major_formatter(fmt)


def forest_figure(
    g: ChannelMetric,
    *,
    hdi_prob: float,
    kind: MetricType | None = None,
    max_rows: int = MAX_FOREST_ROWS,
    width: float = 7.5,
) -> Figure:
    """One channel and metric: each test as reported and shrunken, then μ and the next test.

    Parameters
    ----------
    g
        The channel and metric (its effects, μ and prediction).
    hdi_prob
        The interval mass, for the legend.
    kind
        The metric's type, where known (differences of a binary metric in points).
    max_rows
        Most tests drawn: the largest reported effects in size.
    width
        Figure width in inches.
    """
    rows = _shown(g, max_rows)
    n = len(rows)
    fig = Figure(figsize=(width, 0.2 * (n + 3) + 1.3), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(n, dtype=float)
    effects = [g.effects[i] for i in rows]
    reported = _clip(np.array([e.reported for e in effects], dtype=float), g)
    lo, mid, hi = (_clip(np.array([getattr(e.shrunken, a) for e in effects], dtype=float), g) for a in _IV)
    colours = [LAUNCHED if e.launched else SHRUNK for e in effects]
    ax.axvspan(*_clip(np.array([g.mu.lower, g.mu.upper]), g), color=BAND, alpha=0.08, lw=0, zorder=0)
    ax.axvline(0.0, color=NEUTRAL, lw=0.7, zorder=1)
    ax.hlines(y, lo, hi, colors=colours, lw=1.6, zorder=2)
    ax.scatter(mid, y, c=colours, s=16, zorder=3, gid="forest:shrunken")
    ax.scatter(
        reported, y, facecolors="white", edgecolors="0.35", s=18, zorder=4, lw=0.9, gid="forest:reported"
    )
    for offset, iv, alpha in ((1.2, g.mu, 0.9), (2.2, g.prediction, 0.45)):
        band = _clip(np.array([iv.lower, iv.mean, iv.upper]), g)
        ax.hlines(n - 1 + offset, band[0], band[2], colors=BAND, lw=5, alpha=alpha, zorder=2)
        ax.plot(band[1], n - 1 + offset, "o", color="white", mec=BAND, ms=5, zorder=3)
    labels = [_label(e.label + (" (launched)" if e.launched else "")) for e in effects]
    ax.set_yticks([*y, n + 0.2, n + 1.2], [*labels, "mean effect μ", "next test"], fontsize=7)
    ax.set_ylim(n + 1.8, -0.8)
    values = [*reported, *lo, *hi, g.prediction.lower, g.prediction.upper]
    _value_axis(ax, g.scale, kind, values, x=True)
    ax.tick_params(axis="x", labelsize=7.5)
    ax.grid(axis="x", lw=0.3, alpha=0.5)
    more = len(g.effects) - n
    note = f"; {n} of {len(g.effects):,} tests shown (largest reported effects)" if more else ""
    ax.set_title(f"{g.channel}: {metric_words(g.metric)}{note}", fontsize=9, loc="left")
    handles = [
        Line2D([], [], marker="o", ls="none", mfc="white", mec="0.35", label="as reported"),
        Line2D([], [], marker="o", color=SHRUNK, lw=1.6, label=f"shrunken, {interval_label(hdi_prob)}"),
        Line2D([], [], marker="o", color=LAUNCHED, lw=1.6, label="launched"),
        Line2D([], [], color=BAND, lw=5, alpha=0.7, label="μ and the next test"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=7, frameon=False)
    return fig


_IV = ("lower", "mean", "upper")


@dataclass(frozen=True, slots=True)
class LinkPoints:
    """The paired estimates a link's figure draws, on the link's scale.

    Attributes
    ----------
    link
        The link.
    engagement, outcome
        Per test: estimate and standard error (two columns), on the link's scale.
    centre
        The point the slope is drawn through: the channel's mean engagement and outcome effects.
    """

    link: Link
    engagement: np.ndarray
    outcome: np.ndarray
    centre: tuple[float, float]


def _on(r: Record, scale: str) -> tuple[float, float] | None:
    if scale == "diff":
        return r.diff_mean, r.diff_sd
    if r.loglift_mean is None or r.loglift_sd is None:
        return None
    return r.loglift_mean, r.loglift_sd


def link_points(
    link: Link, records: Sequence[Record], groups: Mapping[tuple[str, str], ChannelMetric]
) -> LinkPoints:
    """Pair the records of a link's two metrics by test and arm, as the link model did.

    Parameters
    ----------
    link
        The link.
    records
        The programme's records.
    groups
        The groups by (channel, metric): where one is on the link's scale, its mean centres the slope.
    """
    by: dict[str, dict[tuple[str, str, str], tuple[float, float]]] = {link.engagement: {}, link.outcome: {}}
    for r in records:
        if r.channel == link.channel and r.metric in by and (v := _on(r, link.scale)) is not None:
            by[r.metric][r.spec_hash, r.data_fingerprint, r.arm] = v
    keys = [k for k in by[link.engagement] if k in by[link.outcome]]
    e = np.array([by[link.engagement][k] for k in keys], dtype=float).reshape(-1, 2)
    o = np.array([by[link.outcome][k] for k in keys], dtype=float).reshape(-1, 2)
    centre = tuple(
        _centre(groups.get((link.channel, m)), link.scale, pts)
        for m, pts in ((link.engagement, e), (link.outcome, o))
    )
    return LinkPoints(link, e, o, (centre[0], centre[1]))


def _centre(g: ChannelMetric | None, scale: str, points: np.ndarray) -> float:
    """The group's mean on the fitting scale, else the precision-weighted mean of the estimates."""
    if g is not None and g.scale == scale:
        return g.prediction_scale[0]
    if not len(points):
        return 0.0
    w = 1.0 / np.maximum(points[:, 1], 1e-12) ** 2
    return float(np.sum(w * points[:, 0]) / np.sum(w))


#: Lifts a log-scale axis may be ticked at (ratios minus one).
_LIFT_TICKS = (-0.9, -0.75, -0.5, -0.25, -0.1, 0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 9.0, 19.0, 49.0, 99.0)


def _ratio_ticks(ax: Axes, *, x: bool) -> None:
    """Ticks of an axis drawn in log(1 + lift) at round lifts, labelled as lifts, none crowded."""
    lo, hi = ax.get_xlim() if x else ax.get_ylim()
    gap = (hi - lo) / 7
    kept: list[float] = []
    for t in sorted((t for t in _LIFT_TICKS if lo <= np.log1p(t) <= hi), key=abs):
        if all(abs(np.log1p(t) - np.log1p(k)) >= gap for k in kept):
            kept.append(t)
    ticks = np.log1p(sorted(kept))
    labels = ["0%" if t == 0 else fmt_effect(t, "loglift").replace(" ", "") for t in sorted(kept)]
    (ax.set_xticks if x else ax.set_yticks)(ticks, labels)


def _link_panel(ax: Axes, p: LinkPoints, z: float, kinds: Mapping[str, MetricType]) -> None:
    k = p.link
    many = len(p.engagement) > _RASTER_POINTS
    ax.errorbar(
        p.engagement[:, 0],
        p.outcome[:, 0],
        xerr=z * p.engagement[:, 1],
        yerr=z * p.outcome[:, 1],
        fmt="o",
        ms=3,
        color=SHRUNK,
        ecolor="0.7",
        elinewidth=0.6,
        rasterized=many,
        gid=f"link:{k.channel}",
    )
    xs = np.linspace(*_span(p.engagement), 50)
    cx, cy = p.centre
    ax.fill_between(
        xs,
        cy + np.minimum(k.slope.lower * (xs - cx), k.slope.upper * (xs - cx)),
        cy + np.maximum(k.slope.lower * (xs - cx), k.slope.upper * (xs - cx)),
        color=BAND,
        alpha=0.15,
        lw=0,
    )
    ax.plot(xs, cy + k.slope.mean * (xs - cx), color=BAND, lw=1.4)
    ax.axhline(0.0, color=NEUTRAL, lw=0.6)
    ax.axvline(0.0, color=NEUTRAL, lw=0.6)
    for x, metric in ((True, k.engagement), (False, k.outcome)):
        if k.scale == "loglift":
            _ratio_ticks(ax, x=x)
        else:
            _value_axis(ax, "diff", kinds.get(metric), (), x=x)
    ax.set_xlabel(f"effect on {metric_words(k.engagement)}", fontsize=7.5)
    ax.set_ylabel(f"effect on {metric_words(k.outcome)}", fontsize=7.5)
    ax.set_title(f"{k.channel}: slope {k.slope.mean:+.2f}, {k.tests:,} tests", fontsize=8.5, loc="left")
    ax.tick_params(labelsize=7)
    ax.grid(lw=0.3, alpha=0.5)


def _span(points: np.ndarray) -> tuple[float, float]:
    if not len(points):
        return -1.0, 1.0
    lo, hi = float(points[:, 0].min()), float(points[:, 0].max())
    pad = 0.05 * max(hi - lo, 1e-9)
    return lo - pad, hi + pad


def link_figure(
    points: Sequence[LinkPoints],
    *,
    hdi_prob: float,
    kinds: Mapping[str, MetricType] | None = None,
    width: float = 7.5,
) -> Figure:
    """Each link as a panel: reported engagement vs outcome effects, the fitted slope and its band.

    Parameters
    ----------
    points
        The links' paired estimates (:func:`link_points`); :data:`PANELS_PER_FIGURE` fit one figure.
    hdi_prob
        The interval mass of the error bars and of the slope's band.
    kinds
        Metric types by metric name, where known.
    width
        Figure width in inches.
    """
    cols = min(2, len(points))
    rows = -(-len(points) // cols)
    fig = Figure(figsize=(width, 2.9 * rows + 0.5), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    z = NormalDist().inv_cdf(0.5 + hdi_prob / 2)
    for ax, p in zip(axes, points, strict=False):
        _link_panel(ax, p, z, kinds or {})
    for ax in axes[len(points) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"Each test's reported effects ({interval_label(hdi_prob)} bars); line: the fitted slope, band: "
        "its interval",
        fontsize=8.5,
    )
    return fig


def glance_figure(groups: Sequence[ChannelMetric], *, hdi_prob: float, width: float = 7.5) -> Figure | None:
    """Page 1's picture: per channel and metric (relative lifts only), μ and the next test's interval.

    Parameters
    ----------
    groups
        The channels and metrics, in the order to draw (top first); those on the difference
        scale are left out (their units differ).
    hdi_prob
        The interval mass.
    width
        Figure width in inches.

    Returns
    -------
    Figure or None
        None when no group is on the relative-lift scale.
    """
    shown = [g for g in groups if g.scale == "loglift"]
    if not shown:
        return None
    fig = Figure(figsize=(width, 0.32 * len(shown) + 1.0), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(shown), dtype=float)
    for i, g in enumerate(shown):
        pred = np.clip([g.prediction.lower, g.prediction.upper], *AXIS_BOUNDS)
        mu = np.clip([g.mu.lower, g.mu.mean, g.mu.upper], *AXIS_BOUNDS)
        ax.hlines(y[i], pred[0], pred[1], colors=BAND, lw=7, alpha=0.25, zorder=1)
        ax.hlines(y[i], mu[0], mu[2], colors=BAND, lw=3, zorder=2)
        ax.plot(mu[1], y[i], "o", color="white", mec=BAND, ms=5, zorder=3, gid=f"glance:{i}")
    ax.axvline(0.0, color=NEUTRAL, lw=0.7)
    labels = [f"{g.channel}: {metric_words(g.metric)} ({g.tests:,})" for g in shown]
    ax.set_yticks(y, [_label(t, 40) for t in labels], fontsize=7.5)
    ax.set_ylim(len(shown) - 0.4, -0.6)
    values = [v for g in shown for v in (g.prediction.lower, g.prediction.upper, g.mu.lower, g.mu.upper)]
    _value_axis(ax, "loglift", None, values, x=True)
    ax.grid(axis="x", lw=0.3, alpha=0.5)
    left_out = len(groups) - len(shown)
    ax.set_title(
        f"Mean effect (dark, {interval_label(hdi_prob)}) and next test (light); tests in brackets"
        + (f"; {left_out} measured as differences not drawn" if left_out else ""),
        fontsize=8.5,
        loc="left",
    )
    return fig
