"""The ratio family: Σ numerator / Σ denominator per arm, from a bivariate normal of the units' pairs.

A ``ratio`` metric (revenue per meeting, meetings per rep-hour) is a ratio of means: per arm,
the population mean of the numerator x over that of the denominator y, each g-computed over the
experiment's own units (:mod:`.gcomp`) before dividing, not the average of per-stratum ratios.
Without covariates it is Σ x / Σ y of the arm, as GrowthBook, Eppo and Statsig define it.

Each part has its own linear predictor (``num``, ``den``), standardised like the Normal
family's (:class:`~.families.Normal`). The likelihood is that of the units' pairs (x, y) as
bivariate normal with one 2×2 covariance per arm (σ_x, σ_y and ρ), which is exact from the
cell sums n, Σ x, Σ y, Σ x², Σ y², Σ x y: per cell the residual cross-product matrix is
Σ (r rᵀ) with r = (x − μ_x, y − μ_y), which those sums give. As for the Normal family, the
estimand needs only the means, and with many units each cell's pair of means is close to
bivariate normal (central limit theorem) whatever the columns' shapes; the per-arm covariance
is the one randomisation justifies, and its ρ carries the correlation of numerator and
denominator into the ratio (the delta method's covariance term). The prior on each ρ is
2·Beta(2, 2) − 1, which is LKJ(2) for a 2×2 correlation.

The denominator is random and may be moved by the channel. Where its population mean's
posterior reaches zero (P(mean ≤ 0) > :data:`SPARSE_PROB` or a mean under :data:`SPARSE_SDS`
posterior sds in some arm) the ratio is not an estimate and the run stops
(:func:`check_denominator`), saying how many units and how much denominator the arm has.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, override

import lazy_loader
import numpy as np
import xarray as xr

from channelab.analysis.family_base import (
    Family,
    GroupEstimates,
    Tensor,
    Tensors,
    by_group,
    tensor_sum,
    units,
)
from channelab.cells import Cells, RatioCells
from channelab.errors import DataError
from channelab.spec import Metric, Priors

if TYPE_CHECKING:
    import pymc as pm
    import pytensor.tensor as pt
else:  # imported on first use: a run whose models are all compiled builds no graph
    pm = lazy_loader.load("pymc")
    pt = lazy_loader.load("pytensor.tensor", suppress_warning=True)  # pytensor: loaded anyway

__all__ = ["SPARSE_PROB", "SPARSE_SDS", "Ratio", "check_denominator"]

#: The denominator's mean per unit is too close to zero when its posterior puts more than this on ≤ 0.
SPARSE_PROB = 0.001
#: ... or when its posterior mean is under this many posterior sds.
SPARSE_SDS = 3.0


def _standardiser(total: np.ndarray, sum_sq: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Pooled mean and sd over all units (an sd of 0 reads 1)."""
    mean = total.sum() / n.sum()
    var = max(sum_sq.sum() / n.sum() - mean**2, 0.0)
    return float(mean), float(np.sqrt(var)) if var > 0 else 1.0


class Ratio(Family[RatioCells]):
    """Bivariate normal of (numerator, denominator) per unit from exact cell sums, one covariance per arm.

    ``num`` and ``den`` are the two parts; each is the standardised mean of its column, back on
    the data scale as centre + scale · η. The metric's population mean is the ratio of the two
    parts' g-computed means (:meth:`of_parts`).
    """

    parts = ("num", "den")

    @staticmethod
    def scales(s: RatioCells, n: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
        """(centre, scale) of the numerator and of the denominator, pooled over all units.

        Parameters
        ----------
        s
            The ratio's cell sums.
        n
            Units per cell.
        """
        return _standardiser(s.total, s.sum_sq, n), _standardiser(s.den_total, s.den_sum_sq, n)

    @override
    def data(self, name: str, s: RatioCells, n: np.ndarray) -> dict[str, np.ndarray]:
        (cx, sx), (cy, sy) = self.scales(s, n)
        for part, (total, sum_sq) in (
            ("numerator", (s.total, s.sum_sq)),
            ("denominator", (s.den_total, s.den_sum_sq)),
        ):
            if sum_sq.sum() * n.sum() - total.sum() ** 2 <= 1e-12 * max(sum_sq.sum() * n.sum(), 1.0):
                raise DataError(
                    f"ratio metric {name!r}: its {part} is the same for every unit, so the ratio is a "
                    "mean per unit; declare that column as a metric of its own (type continuous) instead"
                )
        return {
            f"{name}:zx_sum": (s.total - n * cx) / sx,
            f"{name}:zx_sum_sq": (s.sum_sq - 2 * cx * s.total + n * cx**2) / sx**2,
            f"{name}:zy_sum": (s.den_total - n * cy) / sy,
            f"{name}:zy_sum_sq": (s.den_sum_sq - 2 * cy * s.den_total + n * cy**2) / sy**2,
            f"{name}:zxy_sum": (s.cross - cx * s.den_total - cy * s.total + n * cx * cy) / (sx * sy),
            f"{name}.num:centre": np.asarray(0.0),
            f"{name}.den:centre": np.asarray(0.0),
        }

    @override
    def add_likelihood(self, name: str, d: Tensors, eta: Tensors, priors: Priors) -> None:
        arm = d["arm_idx"]
        sx: Tensor = pm.HalfNormal(f"{name}:sigma_num", sigma=priors.sigma_sd, dims="arm")[arm]
        sy: Tensor = pm.HalfNormal(f"{name}:sigma_den", sigma=priors.sigma_sd, dims="arm")[arm]
        half: Tensor = pm.Beta(f"{name}:rho_half", 2.0, 2.0, dims="arm")  # (ρ + 1) / 2: LKJ(2)
        rho_arm: Tensor = pm.Deterministic(f"{name}:rho", 2 * half - 1, dims="arm")
        rho: Tensor = rho_arm[arm]
        mx, my, n = eta["num"], eta["den"], units(d, name)
        zx, zy = d[f"{name}:zx_sum"], d[f"{name}:zy_sum"]
        sxx: Tensor = d[f"{name}:zx_sum_sq"] - 2 * mx * zx + n * mx**2
        syy: Tensor = d[f"{name}:zy_sum_sq"] - 2 * my * zy + n * my**2
        sxy: Tensor = d[f"{name}:zxy_sum"] - mx * zy - my * zx + n * mx * my
        free: Tensor = 1 - rho**2
        quad: Tensor = (sxx / sx**2 - 2 * rho * sxy / (sx * sy) + syy / sy**2) / free
        log_det: Tensor = pt.log(sx) + pt.log(sy) + 0.5 * pt.log(free)
        pm.Potential(f"{name}:loglik", tensor_sum(-n * log_det - quad / 2))

    @override
    def part_means(
        self, name: str, s: RatioCells, n: np.ndarray, eta: dict[str, np.ndarray], post: xr.Dataset
    ) -> dict[str, np.ndarray]:
        (cx, sx), (cy, sy) = self.scales(s, n)
        return {"num": cx + sx * eta["num"], "den": cy + sy * eta["den"]}

    @override
    def mean(
        self, name: str, s: RatioCells, n: np.ndarray, eta: dict[str, np.ndarray], post: xr.Dataset
    ) -> np.ndarray:
        """The ratio within each stratum (the population's is :meth:`of_parts`, not their average)."""
        parts = self.part_means(name, s, n, eta, post)
        ratio: np.ndarray = parts["num"] / parts["den"]
        return ratio

    @override
    def of_parts(
        self, metric: Metric, parts: dict[str, np.ndarray], cells: Cells, levels: Sequence[str] | None
    ) -> np.ndarray:
        check_denominator(metric, parts["den"], cells, levels)
        ratio: np.ndarray = parts["num"] / parts["den"]
        return ratio

    @override
    def group_estimates(
        self, s: RatioCells, n: np.ndarray, group: np.ndarray, n_groups: int
    ) -> dict[str, GroupEstimates]:
        """Each group's standardised mean of each part, its standard error from its own sd."""
        out = {}
        for part, (total, sum_sq) in (("num", (s.total, s.sum_sq)), ("den", (s.den_total, s.den_sum_sq))):
            _, scale = _standardiser(total, sum_sq, n)
            k = by_group(n, group, n_groups)
            t, q = by_group(total, group, n_groups), by_group(sum_sq, group, n_groups)
            with np.errstate(divide="ignore", invalid="ignore"):  # groups without units: NaN
                mean = t / k
                var = (q - k * mean**2) / (k - 1)
                sd = np.where((k >= 2) & (var > 0), np.sqrt(var) / scale, 1.0)
                out[part] = (mean / scale, sd / np.sqrt(k))
        return out


def check_denominator(metric: Metric, den: np.ndarray, cells: Cells, levels: Sequence[str] | None) -> None:
    """Stop unless the denominator's population mean is clear of zero in every arm (and level).

    Parameters
    ----------
    metric
        The ratio metric.
    den
        Draws of the denominator's population mean per unit: dims (chain, draw, arm, level).
    cells
        The cells (their arms, units and denominator sums, for the message).
    levels
        The levels of the last axis (``model.lift_by``), or ``None`` for one mean per arm.

    Raises
    ------
    DataError
        Naming the arm (and level), its units and its denominator's sum.
    """
    flat = den.reshape(-1, *den.shape[2:])
    low = (flat <= 0).mean(axis=0)
    mean, sd = flat.mean(axis=0), flat.std(axis=0, ddof=1)
    sparse = (low > SPARSE_PROB) | (mean < SPARSE_SDS * sd)
    if not sparse.any():
        return
    a, g = (int(i) for i in np.argwhere(sparse)[0])
    s = cells.metrics[metric.name]
    assert isinstance(s, RatioCells)
    arm = cells.arms[a]
    units_ = cells.per_arm(cells.n)[a]
    den_sum = cells.per_arm(s.den_total)[a]
    where = f"arm {arm!r}" + (f" ({levels[g]})" if levels is not None else "")
    _, col = metric.data_columns
    raise DataError(
        f"ratio metric {metric.name!r}: the denominator {col!r} is too sparse in {where} to divide by: "
        f"{units_:,.0f} units with Σ {col} = {den_sum:,.4g}, and the posterior of its mean per unit "
        f"reaches zero (P(≤ 0) = {low[a, g]:.3f}, mean {mean[a, g]:.3g} ± {sd[a, g]:.2g}). "
        f"Σ {metric.data_columns[0]} / Σ {col} is no estimate there: report the numerator per unit "
        "(a metric of its own), or collect more data"
    )
