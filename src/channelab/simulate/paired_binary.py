"""Two binary metrics measured on the same units (engaged, booked): their 2x2 joint, and a test's posteriors.

Used by :mod:`~channelab.simulate.programme`: the joint of two rates with a given odds ratio
(inside the Fréchet bounds), the probabilities of its four cells, the Jeffreys Beta posteriors of
each arm's rates with the covariance of the effects on the two metrics, and the verdict rule.
Cells are always in the order (both, engaged only, booked only, neither).
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, ndtr, polygamma

#: A metric is a ``real lift`` when P(diff > 0) is at least this under its record's normal
#: approximation, ``harm`` when P(diff < 0) is; else ``inconclusive``.
WIN_PROBABILITY = 0.95


def joint_both(p_engaged: np.ndarray, p_booked: np.ndarray, odds_ratio: float) -> np.ndarray:
    """P(engaged and booked) of the 2x2 joint with these marginals and odds ratio (Plackett).

    The root of (p11 (1 - pe - po + p11)) = OR (pe - p11)(po - p11) inside the Fréchet bounds
    max(0, pe + po - 1) <= p11 <= min(pe, po).
    """
    if odds_ratio == 1:
        return p_engaged * p_booked
    s = 1 + (odds_ratio - 1) * (p_engaged + p_booked)
    root = np.sqrt(np.maximum(s**2 - 4 * odds_ratio * (odds_ratio - 1) * p_engaged * p_booked, 0.0))
    p11 = (s - root) / (2 * (odds_ratio - 1))
    return np.clip(p11, np.maximum(0.0, p_engaged + p_booked - 1), np.minimum(p_engaged, p_booked))


def cell_probabilities(rate: np.ndarray, odds_ratio: float) -> np.ndarray:
    """Per test and arm, P(both), P(engaged only), P(booked only), P(neither): they sum to 1."""
    both = joint_both(rate[..., 0], rate[..., 1], odds_ratio)
    probs = np.clip(np.stack([both, rate[..., 0] - both, rate[..., 1] - both], axis=-1), 0.0, 1.0)
    probs = np.concatenate([probs, np.clip(1 - probs.sum(axis=-1, keepdims=True), 0.0, 1.0)], axis=-1)
    return probs / probs.sum(axis=-1, keepdims=True)


def posteriors(cells: np.ndarray, n: np.ndarray) -> dict[str, np.ndarray]:
    """Beta(1/2 + x, 1/2 + n - x) posteriors per arm and metric: the records' numbers, (T, 2 metrics).

    ``observed`` is (T, 2 arms, 2 metrics), the observed proportions; ``cov_diff`` and
    ``cov_loglift`` are (T,).

    The covariance of the metrics' effects sums over the arms the phi coefficient of the arm's
    2x2 table (1/4 added per cell) times the arm's posterior sds: the delta-method covariance,
    (p_eo - p_e p_o) / n for the difference and that over p_e p_o for the log ratio, with the
    posterior sds for the plug-in ones, so that it never implies a correlation beyond ±1.
    """
    x = np.stack([cells[..., 0] + cells[..., 1], cells[..., 0] + cells[..., 2]], axis=-1)
    a, b = 0.5 + x, 0.5 + n[:, None, None] - x
    var = a * b / ((a + b) ** 2 * (a + b + 1))
    elog, vlog = digamma(a) - digamma(a + b), polygamma(1, a) - polygamma(1, a + b)
    smoothed = (cells + 0.25) / (n[:, None, None] + 1.0)
    pe, po = smoothed[..., 0] + smoothed[..., 1], smoothed[..., 0] + smoothed[..., 2]
    phi = (smoothed[..., 0] - pe * po) / np.sqrt(pe * (1 - pe) * po * (1 - po))
    mean = a / (a + b)
    return {
        "observed": x / n[:, None, None],
        "diff_mean": mean[:, 1] - mean[:, 0],
        "diff_sd": np.sqrt(var.sum(axis=1)),
        "loglift_mean": elog[:, 1] - elog[:, 0],
        "loglift_sd": np.sqrt(vlog.sum(axis=1)),
        "cov_diff": (phi * np.sqrt(var[..., 0] * var[..., 1])).sum(axis=1),
        "cov_loglift": (phi * np.sqrt(vlog[..., 0] * vlog[..., 1])).sum(axis=1),
    }


def verdicts(diff_mean: np.ndarray, diff_sd: np.ndarray) -> np.ndarray:
    """Per effect, ``real lift``, ``harm`` or ``inconclusive`` from P(diff > 0) = Phi(mean / sd)."""
    p_up = ndtr(diff_mean / diff_sd)
    return np.where(
        p_up >= WIN_PROBABILITY, "real lift", np.where(p_up <= 1 - WIN_PROBABILITY, "harm", "inconclusive")
    )
