"""What every figure shares: verdict colours, the ROPE and noise styles, the ratio-scale lift axis."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, Locator, NullLocator

from channelab.analysis.wording import pct

if TYPE_CHECKING:
    pass


#: Colour of each verdict, per metric and per arm: green up, red down, grey flat, amber open.
#: "engagement up, outcome undecided" is an open verdict: a greyed amber, never green or red.
VERDICT_COLOURS: dict[str, str] = {
    "real lift": "#1a7f37",
    "real lift, but harms": "#9a6700",
    "engagement only": "#8250df",
    "engagement up, outcome undecided": "#8a7658",
    "harm": "#cf222e",
    "no effect": "#6e7781",
    "inconclusive": "#b35900",
}
ROPE_FILL = "#cfe2f3"
NOISE_EDGE = "#57606a"
NOISE_HATCH = "////"
NEUTRAL = "#444c56"
#: Rows that explain but never decide (shares among an earlier stage) are drawn in this grey.
EXPLAINS = "#8c959f"
DENSITY_ALPHA = 0.22
SAMPLE_DIMS = ("chain", "draw")
# Tails beyond these quantiles are not drawn: a few extreme draws would squash every row.
TAIL_Q = (0.002, 0.998)
#: The lift axis never reaches past these (ratios minus one: a twentieth and twenty times the
#: control); a lift interval beyond them, or at or below −100 %, is cut at the edge and marked.
AXIS_BOUNDS = (-0.95, 19.0)
#: Lift-axis ticks (as ratios minus one), dense enough for any zoom of the ratio scale.
_RATIO_TICKS = [
    -0.9,
    -0.75,
    -0.5,
    -0.25,
    -0.1,
    -0.05,
    0.0,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.0,
    4.0,
    9.0,
    19.0,
    49.0,
    99.0,
]


def interval_label(prob: float) -> str:
    """Name of an interval of mass ``prob``: 0.94 -> '94 % interval'.

    Lift intervals are equal-tailed, not highest-density, so the name says only the mass.
    """
    return f"{prob * 100:g} % interval"


# ---- drawing helpers ----------------------------------------------------------------------


def ratio_scale(ax: Axes) -> None:
    """Space the lift axis by log(1 + lift), so +100 % and −50 % lie equally far from 0.

    Lifts are ratios: on this scale a tripling of likes does not squash a 10 % change in
    meetings to a dot, and gains and losses of the same factor look the same size.
    """
    ax.set_xscale("function", functions=(log1p, expm1))
    ax.xaxis.set_major_locator(_RatioLocator())
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(_tick_label))
    ax.tick_params(axis="x", labelsize=8.5)


def _tick_label(x: float, _: object = None) -> str:
    """A lift tick: '0%', '+25%', '−50%'."""
    return "0%" if x == 0 else pct(x, sign=True).replace(" ", "")


def ratio_limits(values: Iterable[float], *, pad: float = 0.06) -> tuple[float, float]:
    """Limits of a ratio-scale lift axis that shows every one of ``values`` (and 0).

    The range is padded by ``pad`` of its width on the log(1 + lift) scale and kept within
    :data:`AXIS_BOUNDS`; values beyond those bounds (a lift at or below −100 % among them)
    are for the caller to cut at the edge and mark.
    """
    floor, ceiling = AXIS_BOUNDS
    kept = np.array([0.0, *values], dtype=float)
    logs = np.log1p(np.clip(kept[np.isfinite(kept)], floor, ceiling))
    lo, hi = logs.min(), logs.max()
    margin = pad * max(hi - lo, 0.05)
    return max(float(np.expm1(lo - margin)), floor), min(float(np.expm1(hi + margin)), ceiling)


class _RatioLocator(Locator):
    """Ticks from :data:`_RATIO_TICKS` in view, at least an eighth of the axis apart, always with 0."""

    def __call__(self) -> list[float]:
        """The tick values within the axis' current view."""
        lo, hi = self.axis.get_view_interval() if self.axis else (-0.5, 0.5)
        return self.tick_values(lo, hi)

    def tick_values(self, vmin: float, vmax: float) -> list[float]:
        """The ratio ticks between ``vmin`` and ``vmax``, at least two."""
        gap = (log1p(np.asarray(vmax)) - log1p(np.asarray(vmin))) / 8
        inside = [t for t in _RATIO_TICKS if vmin <= t <= vmax]
        kept = [0.0] if vmin <= 0 <= vmax else []
        for side in ([t for t in inside if t > 0], [t for t in reversed(inside) if t < 0]):
            last = 0.0
            for t in side:
                if abs(np.log1p(t) - np.log1p(last)) >= gap:
                    kept.append(t)
                    last = t
        return sorted(kept)


def log1p(x: np.ndarray) -> np.ndarray:
    """Forward transform of the ratio scale (clipped just above a lift of −100 %)."""
    return np.log1p(np.maximum(x, -0.999))


def expm1(x: np.ndarray) -> np.ndarray:
    """Inverse transform of the ratio scale."""
    return np.expm1(x)
