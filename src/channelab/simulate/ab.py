"""A generic randomised A/B test with one segment covariate and any metric type, with its truth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from channelab.spec import MetricType

if TYPE_CHECKING:  # pandas and scipy are imported where data are drawn: the CLI lists scenarios fast
    import pandas as pd


@dataclass(frozen=True)
class SimMetric:
    """How one metric is generated.

    Attributes
    ----------
    type
        The metric type: ``binary``, ``count``, ``revenue`` or ``continuous``.
    base
        The control mean in the reference segment; for revenue, the share of units who spend.
    effects
        Link-scale arm effects (log-odds for binary and revenue's spend probability, log for
        counts, raw units for continuous); arms not listed have 0.
    amount_effects
        Revenue only: log-scale arm effects on the amounts.
    amount
        Revenue only: the median positive amount in the reference segment.
    sigma
        Log-sd of amounts (revenue) or sd (continuous).
    overdispersion
        Count only: Var = mu + overdispersion × mu² (0 draws Poisson counts).
    """

    type: MetricType
    base: float
    effects: dict[str, float] = field(default_factory=dict)
    amount_effects: dict[str, float] = field(default_factory=dict)
    amount: float = 50.0
    sigma: float = 1.0
    overdispersion: float = 0.5


@dataclass(frozen=True)
class Truth:
    """What :func:`simulate_ab` put into the data.

    Attributes
    ----------
    means
        True population mean per (arm, metric), over the test's realised segment mix.
    lifts
        True relative lift per (treatment, metric): its mean over the control's, minus 1 (NaN
        against a control mean of 0).
    """

    means: dict[tuple[str, str], float]
    lifts: dict[tuple[str, str], float]


def simulate_ab(
    *,
    n_per_arm: int | Sequence[int],
    arms: tuple[str, ...] = ("control", "treatment"),
    metrics: dict[str, SimMetric],
    segment_effects: tuple[float, ...] = (0.0, 0.4, -0.3),
    seed: int,
) -> tuple[pd.DataFrame, Truth]:
    """Simulate a randomised experiment with one segment covariate.

    Parameters
    ----------
    n_per_arm
        Units per arm: one size for every arm, or one per arm.
    arms
        Arm labels; the first is the control.
    metrics
        Per metric (column) name, how it is drawn.
    segment_effects
        Link-scale effect of each segment level ``s0``, ``s1``, ... (added to every metric;
        units fall in the levels with equal probability).
    seed
        Seed of ``numpy.random.default_rng``, the only source of randomness.

    Returns
    -------
    rows : pandas.DataFrame
        One row per unit: ``unit_id``, ``arm``, ``segment`` and one column per metric.
    truth : Truth
        True means and lifts.
    """
    rng = np.random.default_rng(seed)
    n = int(np.sum(np.broadcast_to(n_per_arm, len(arms))))
    arm = np.repeat(np.asarray(arms), n_per_arm)
    seg = rng.integers(0, len(segment_effects), size=n)
    seg_eff = np.asarray(segment_effects)
    mix = np.bincount(seg, minlength=len(seg_eff)) / n
    data: dict[str, np.ndarray] = {
        "unit_id": np.arange(1, n + 1),
        "arm": arm,
        "segment": np.asarray([f"s{i}" for i in range(len(seg_eff))])[seg],
    }
    means: dict[tuple[str, str], float] = {}
    for name, m in metrics.items():
        eff = np.array([m.effects.get(a, 0.0) for a in arms])
        amt = np.array([m.amount_effects.get(a, 0.0) for a in arms])
        arm_i = np.repeat(np.arange(len(arms)), n_per_arm)
        y, mean_grid = draw_metric(
            m, eff[:, None] + seg_eff[None, :], amt[:, None] + seg_eff[None, :], arm_i, seg, rng
        )
        data[name] = y
        for i, a in enumerate(arms):
            means[(a, name)] = float(mean_grid[i] @ mix)
    lifts = {  # relative lifts are not defined against a control mean of 0 (a change score)
        (a, k): means[(a, k)] / means[(arms[0], k)] - 1 if means[(arms[0], k)] != 0 else float("nan")
        for a in arms[1:]
        for k in metrics
    }
    import pandas as pd

    return pd.DataFrame(data), Truth(means=means, lifts=lifts)


def draw_metric(
    m: SimMetric,
    shift: np.ndarray,
    amount_shift: np.ndarray,
    arm_i: np.ndarray,
    seg: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one metric for every unit; return the draws and the mean per (arm, segment)."""
    from scipy.special import expit, logit

    match m.type:
        case "binary":
            p = expit(logit(m.base) + shift)
            return rng.binomial(1, p[arm_i, seg]), p
        case "count":
            mu = m.base * np.exp(shift)
            if m.overdispersion == 0:
                return rng.poisson(mu[arm_i, seg]), mu
            r = 1.0 / m.overdispersion
            return rng.negative_binomial(r, r / (r + mu[arm_i, seg])), mu
        case "revenue":
            p = expit(logit(m.base) + shift)
            log_median = np.log(m.amount) + amount_shift
            pays = rng.binomial(1, p[arm_i, seg]).astype(bool)
            amounts = np.exp(rng.normal(log_median[arm_i, seg], m.sigma))
            y = np.where(pays, np.round(amounts, 2), 0.0)
            y[pays & (y <= 0)] = 0.01
            return y, p * np.exp(log_median + m.sigma**2 / 2)
        case "continuous":
            mu = m.base + shift
            return rng.normal(mu[arm_i, seg], m.sigma), mu
    raise ValueError(f"unknown metric type {m.type!r}")
