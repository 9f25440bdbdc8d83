"""What every figure shares: verdict colours, the ROPE and noise styles, the ratio-scale lift axis."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, Locator, NullLocator

from channelab.analysis.wording import pct

if TYPE_CHECKING:
    pass


#: Colour of each verdict, per metric and per arm: green up, red down, grey flat, amber open.
VERDICT_COLOURS: dict[str, str] = {
    "real lift": "#1a7f37",
    "real lift, but harms": "#9a6700",
    "engagement only": "#8250df",
    "harm": "#cf222e",
    "no effect": "#6e7781",
    "inconclusive": "#b35900",
}
ROPE_FILL = "#cfe2f3"
NOISE_EDGE = "#57606a"
NOISE_HATCH = "////"
NEUTRAL = "#444c56"
DENSITY_ALPHA = 0.22
SAMPLE_DIMS = ("chain", "draw")
# Tails beyond these quantiles are not drawn: a few extreme draws would squash every row.
TAIL_Q = (0.002, 0.998)
#: Lift-axis ticks (as ratios minus one), dense enough for any zoom of the ratio scale.
_RATIO_TICKS = [-0.9, -0.75, -0.5, -0.25, -0.1, 0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 9.0, 19.0, 49.0, 99.0]


def interval_label(hdi_prob: float) -> str:
    """Name of the interval for ``hdi_prob``: 0.94 -> '94 % HDI'."""
    return f"{hdi_prob * 100:g} % HDI"


# ---- drawing helpers ----------------------------------------------------------------------


def ratio_scale(ax: Axes) -> None:
    """Space the lift axis by log(1 + lift), so +100 % and −50 % lie equally far from 0.

    Lifts are ratios: on this scale a tripling of likes does not squash a 10 % change in
    meetings to a dot, and gains and losses of the same factor look the same size.
    """
    ax.set_xscale("function", functions=(log1p, expm1))
    ax.xaxis.set_major_locator(_RatioLocator())
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: pct(x, sign=x != 0).replace(" ", "")))


class _RatioLocator(Locator):
    """Ticks from :data:`_RATIO_TICKS` in view, at least a sixth of the axis apart, always with 0."""

    def __call__(self) -> list[float]:
        """The tick values within the axis' current view."""
        lo, hi = self.axis.get_view_interval() if self.axis else (-0.5, 0.5)
        return self.tick_values(lo, hi)

    def tick_values(self, vmin: float, vmax: float) -> list[float]:
        """The ratio ticks between ``vmin`` and ``vmax``, at least two."""
        gap = (log1p(np.asarray(vmax)) - log1p(np.asarray(vmin))) / 6
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
