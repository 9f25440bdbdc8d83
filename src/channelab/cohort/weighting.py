"""Weighted cohorts from observational data: every unit kept, reweighted to one population.

Three methods, each giving every unit a weight so that every arm's covariates mirror the
target population (the treated for ``att``, everyone for ``ate``):

- ``entropy``: entropy balancing (Hainmueller 2012): each arm to reweight gets the weights
  closest to uniform whose mean of every column of the propensity formula equals the
  target's exactly; by default the formula adds, for every number, its square (variances
  balance too) and, when it is often zero, its zero() indicator. No propensity model is
  trusted; where no weighting can reach the target means the groups do not overlap.
- ``ipw``: inverse-propensity weights from the propensity e(x) (logistic; multinomial with
  more arms): for ``att`` treated 1 and controls e / (1 − e); for ``ate`` 1 / e and 1 / (1 − e).
- ``overlap``: overlap weights (Li, Morgan & Zaslavsky 2018; Li & Li 2019 for more arms):
  treated 1 − e, controls e. The estimand is the effect in the population where the groups
  are common (ATO); the weights are bounded, so no unit dominates.

With more than one treated arm, every arm is weighted to one population (for ``att`` the
treated of all arms together), so all channels are compared on the same units.
``trim`` drops units whose propensity for some arm lies outside [trim, 1 − trim] (Crump et
al. 2009); the treated among them are listed as dropped. Rows are processed in unit-id order.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from channelab.cohort.balance import MAX_LEVELS
from channelab.cohort.matching import Matched, cohort, in_id_order
from channelab.cohort.propensity import design_matrix, entropy_weights, propensity_scores, standardised
from channelab.errors import DataError
from channelab.spec.formula import Factor, Formula

Weighting = Literal["entropy", "ipw", "overlap"]
_Estimand = Literal["att", "ate"]

#: Share of zeros from which a number's default entropy-balancing terms include its zero() indicator.
_ZERO_SHARE = 0.05

#: Largest remaining standardised mean gap at which entropy balancing counts as reached.
_ENTROPY_TOLERANCE = 1e-4


def entropy_formula(rows: pd.DataFrame, columns: list[str]) -> Formula:
    """The default balance terms of entropy balancing: every column, and for every number its square.

    A number here has more than :data:`~channelab.cohort.balance.MAX_LEVELS` distinct values
    (squares of 0/1 columns add nothing). A number that is zero for at least
    :data:`_ZERO_SHARE` of the units (earnings of the unemployed) also gets its ``zero()``
    indicator, so the share with none balances as well as the mean.
    """
    terms: list[tuple[Factor, ...]] = [(Factor(c),) for c in columns]
    for c in columns:
        col = rows[c]
        if pd.api.types.is_numeric_dtype(col) and col.nunique() > MAX_LEVELS:
            terms.append((Factor(c, "power", 2),))
            if (col == 0).mean() >= _ZERO_SHARE:
                terms.append((Factor(c, "zero"),))
    return Formula(tuple(terms))


def weigh(
    rows: pd.DataFrame,
    *,
    id_column: str,
    group: pd.Series,
    formula: Formula,
    method: Weighting = "entropy",
    estimand: _Estimand = "att",
    trim: float | None = None,
    where: str = "weighting",
) -> Matched:
    """Weight every unit of ``rows``; see the module docstring.

    ``group`` (aligned with ``rows``) is 0 for the untreated and 1, 2, ... for each treated
    arm (or a boolean: treated or not). With more than one treated arm every arm, the
    untreated included, is weighted to one target population (``att``: the units of all
    treated arms together; ``ate``: everyone; ``overlap``: where all arms overlap), so each
    channel is compared with the untreated, and with the others, on the same units. The
    propensity (logistic, multinomial with more arms) is fitted for every method: entropy
    balancing does not use it, but the overlap figure and the separation note do.

    Raises
    ------
    DataError
        If entropy balancing cannot reach the target means: the groups do not overlap.
    """
    data, codes = in_id_order(rows, id_column, group.astype(np.int64))
    weight, propensity = _weights(
        data, codes, formula, method=method, estimand=estimand, trim=trim, where=where
    )
    return cohort(data, id_column, codes > 0, weight, propensity=propensity, method=method)


def _weights(
    rows: pd.DataFrame,
    codes: np.ndarray,
    formula: Formula,
    *,
    method: Weighting,
    estimand: _Estimand,
    trim: float | None,
    where: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's weight, and its propensity to be treated (by any arm)."""
    design = design_matrix(rows, formula, where=where)
    k = max(int(codes.max()) + 1, 2)
    e = propensity_scores(design, codes, n_groups=k)
    own = e[np.arange(len(codes)), codes]  # each unit's chance of the arm it got
    keep = np.ones(len(rows), dtype=bool)
    if trim is not None:
        keep = ((e >= trim) & (e <= 1 - trim)).all(axis=1)
    if method == "entropy":
        weight = _entropy(design, codes, keep, estimand, where)
    elif method == "overlap":  # generalised overlap weights (Li & Li 2019); two arms: 1 - e and e
        weight = (1 / own) / (1 / e).sum(axis=1)
    elif estimand == "att":  # to the treated of any arm, P(treated) / P(own arm); two arms: 1, e / (1 - e)
        weight = (1 - e[:, 0]) / own
        if k == 2:
            weight[codes == 1] = 1.0
    else:
        weight = 1 / own
    return np.where(keep, weight, 0.0), 1 - e[:, 0]


def _entropy(
    design: pd.DataFrame, codes: np.ndarray, keep: np.ndarray, estimand: _Estimand, where: str
) -> np.ndarray:
    """Entropy-balancing weights of every arm to the target means (the one treated arm keeps weight 1)."""
    x = standardised(design)
    k = int(codes.max()) + 1
    population = (codes > 0) if estimand == "att" else np.ones(len(codes), dtype=bool)
    target = x[population & keep].mean(axis=0)
    weight = np.zeros(len(codes))
    for arm in range(k):
        members = (codes == arm) & keep
        if estimand == "att" and k == 2 and arm == 1:
            weight[members] = 1.0  # the one treated arm is the target itself
            continue
        w, gap = entropy_weights(x[members], target)
        if gap > _ENTROPY_TOLERANCE:
            raise DataError(_no_overlap(where, design, x, members, target))
        weight[members] = w * members.sum()
    return weight


def _no_overlap(
    where: str, design: pd.DataFrame, x: np.ndarray, group: np.ndarray, target: np.ndarray
) -> str:
    """Why entropy balancing failed: the target means beyond the range of the group's values."""
    lo, hi = x[group].min(axis=0), x[group].max(axis=0)
    outside = [c for c, t, a, b in zip(design.columns, target, lo, hi, strict=True) if not a < t < b]
    detail = (
        f" the target mean of {', '.join(outside[:4])} lies outside the range of the units to reweight"
        if outside
        else " no weighting of the units to reweight reproduces the target means together"
    )
    return (
        f"{where}: entropy balancing failed:{detail}. The treated and untreated do not overlap, "
        "so no honest comparison exists on these covariates; restrict both groups to a common "
        "range (matching.trim), balance fewer terms (matching.propensity), or do not compare them."
    )
