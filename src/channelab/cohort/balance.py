"""Covariate balance between two groups: standardised mean differences and variance ratios.

One definition serves randomised assignment (:mod:`channelab.design.assign`) and matched or
weighted cohorts (:mod:`channelab.cohort.build`). A covariate with more than
:data:`MAX_LEVELS` distinct numbers is compared as a number; anything else is compared level
by level, as 0/1 indicators. |SMD| below 0.1 is the usual mark of balance (Austin 2009).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

#: A covariate with at most this many distinct values is compared per level.
MAX_LEVELS = 10

_Scale = Literal["pooled", "treated"]


def covariate_parts(col: pd.Series) -> list[tuple[str, np.ndarray, bool]]:
    """The columns a covariate is compared on: ``(level, values, numeric)``, level ``""`` for a number."""
    as_number = pd.to_numeric(col, errors="coerce")
    if as_number.notna().all() and as_number.nunique() > MAX_LEVELS:
        return [("", as_number.to_numpy(dtype=float), True)]
    text = col.astype(str)
    return [(level, (text == level).to_numpy(dtype=float), False) for level in sorted(text.unique())]


def smd(
    x: np.ndarray,
    treated: np.ndarray,
    *,
    scale: _Scale,
    weights: np.ndarray | None = None,
) -> tuple[float, float]:
    """Standardised mean difference (treated − control) and variance ratio of ``x``.

    ``scale="pooled"``: divided by sqrt((var_t + var_c) / 2), for randomised arms.
    ``scale="treated"``: divided by the unweighted SD of the treated, the ATT convention,
    so that balance before and after weighting is on one scale. A constant covariate has
    SMD 0. The variance ratio is NaN when the control variance is 0.
    """
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    m_t, v_t = _weighted(x[treated], w[treated])
    m_c, v_c = _weighted(x[~treated], w[~treated])
    if scale == "pooled":
        sd = float(np.sqrt((v_t + v_c) / 2)) if np.isfinite(v_t + v_c) else 0.0
    else:
        sd = float(np.std(x[treated], ddof=1)) if treated.sum() > 1 else 0.0
        sd = sd or (float(np.std(x, ddof=1)) if len(x) > 1 else 0.0)
    diff = (m_t - m_c) / sd if sd > 0 else 0.0
    return float(diff), (v_t / v_c if v_c > 0 else np.nan)


def _weighted(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted mean and (sample, for unit weights) variance; NaN for an empty group."""
    total = w.sum()
    if total <= 0:
        return np.nan, np.nan
    mean = float(w @ x / total)
    n = np.count_nonzero(w)
    correction = n / (n - 1) if n > 1 else 1.0
    return mean, float(w @ (x - mean) ** 2 / total) * correction


def balance(
    rows: pd.DataFrame, treated: pd.Series, weights: np.ndarray | None, covariates: list[str]
) -> pd.DataFrame:
    """Standardised mean differences and variance ratios (numbers), per covariate or level.

    SMD on the SD of the treated before matching or weighting (the ATT convention), so before
    and after are on one scale; weighted when ``weights`` is given. See :func:`smd`.
    """
    t = treated.to_numpy(dtype=bool)
    records = []
    for cov in covariates:
        for level, x, numeric in covariate_parts(rows[cov]):
            diff, ratio = smd(x, t, scale="treated", weights=weights)
            records.append(
                {
                    "covariate": cov,
                    "level": level,
                    "smd": diff,
                    "variance_ratio": ratio if numeric else np.nan,
                }
            )
    return pd.DataFrame(records, columns=["covariate", "level", "smd", "variance_ratio"])
