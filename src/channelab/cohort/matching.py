"""Matched cohorts from observational data, for the effect on the treated (ATT).

Three methods, each returning weights that make the matched controls mirror the treated:

- ``nearest``: k:1 nearest-neighbour matching on the logit of a propensity score (statsmodels
  logistic regression on the propensity formula, by default the covariates with categories
  one-hot; see :mod:`.propensity`), within a caliper of ``caliper``
  standard deviations of the logit propensity (Austin 2011: 0.2). Without replacement it is
  greedy, treated units taken from the largest propensity down (MatchIt's default order); a
  control used by treated unit i gets weight 1/k_i, with k_i the controls i found.
- ``exact``: strata of identical values of the ``exact`` columns.
- ``cem``: coarsened exact matching (Iacus, King & Porro 2012): numeric covariates cut into
  ``bins`` bins at the treated units' quantiles, categories kept, strata as in ``exact``.

In strata (``exact``, ``cem``) a stratum with treated and control units keeps them all:
treated weight 1, controls (treated / controls in the stratum) × (matched controls / matched
treated), so control weights sum to the matched controls. Treated units without a match are
dropped and listed. Rows are processed in unit-id order, so the result does not depend on the
order of the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from channelab.cohort.propensity import design_matrix, propensity_scores
from channelab.spec.formula import Formula

Method = Literal["nearest", "exact", "cem"]


@dataclass(frozen=True)
class Matched:
    """A matched or weighted cohort: every input unit with its weight (0 = not used) and its match group.

    ``units`` columns: the id, ``treated`` (bool), ``propensity`` (nearest only), ``weight``,
    ``subclass`` (the treated unit's id for nearest matching, the stratum otherwise; empty
    when unused). ``dropped`` lists the treated units left without a match, out of
    ``treated_rows``.
    """

    units: pd.DataFrame
    method: str
    caliper: float | None
    dropped: pd.DataFrame
    treated_rows: pd.DataFrame

    @property
    def matched(self) -> pd.DataFrame:
        """Only the units with a positive weight."""
        return self.units[self.units["weight"] > 0]


def match(
    rows: pd.DataFrame,
    *,
    id_column: str,
    treated: pd.Series,
    covariates: list[str],
    method: Method = "nearest",
    ratio: int = 1,
    replace: bool = False,
    caliper: float | None = 0.2,
    exact: list[str] | None = None,
    bins: int = 5,
    formula: Formula | None = None,
) -> Matched:
    """Match the treated rows of ``rows`` to controls; see the module docstring.

    ``treated`` is a boolean Series aligned with ``rows``. ``exact`` columns must match exactly
    in every method (for ``nearest``, matching happens within their strata). ``formula`` is
    the propensity model of ``nearest`` (default: the covariates' main effects).
    """
    data, labels = in_id_order(rows, id_column, treated)
    t = labels.astype(bool)
    ids = data[id_column].astype(str).to_numpy()
    weight = np.zeros(len(data))
    subclass = np.full(len(data), "", dtype=object)
    propensity = np.full(len(data), np.nan)
    exact = list(exact or [])
    if method == "nearest":
        design = design_matrix(data, formula or Formula.main_effects(covariates), where="matching")
        propensity = propensity_scores(design, t.astype(np.int64))[:, 1]
        logit = np.log(propensity / (1 - propensity))
        width = caliper * float(np.std(logit, ddof=1)) if caliper is not None else np.inf
        strata = _strata(data, exact) if exact else np.zeros(len(data), dtype=np.int64)
        for s in np.unique(strata):
            members = np.flatnonzero(strata == s)
            _nearest(logit, t, ids, members, ratio, replace, width, weight, subclass)
    else:
        columns = (
            exact + [c for c in covariates if c not in exact] if method == "cem" else exact or covariates
        )
        strata = _strata(data, columns, bins=bins if method == "cem" else None, treated=t)
        _stratum_weights(strata, t, weight, subclass)
    return cohort(
        data,
        id_column,
        t,
        weight,
        propensity=propensity,
        subclass=subclass,
        method=method,
        caliper=caliper if method == "nearest" else None,
    )


def in_id_order(rows: pd.DataFrame, id_column: str, labels: pd.Series) -> tuple[pd.DataFrame, np.ndarray]:
    """``rows`` sorted by unit id (as text), and ``labels`` (aligned with ``rows``) in that order.

    Matching and weighting work in this order, so results do not depend on the file's order.
    """
    order = np.argsort(rows[id_column].astype(str).to_numpy(), kind="stable")
    return rows.iloc[order].reset_index(drop=True), labels.iloc[order].to_numpy()


def cohort(
    data: pd.DataFrame,
    id_column: str,
    treated: np.ndarray,
    weight: np.ndarray,
    *,
    propensity: np.ndarray,
    subclass: np.ndarray | None = None,
    method: str,
    caliper: float | None = None,
) -> Matched:
    """The :class:`Matched` of units ``data`` (in id order) with weights; treated of weight 0 are dropped."""
    out = pd.DataFrame(
        {
            id_column: data[id_column],
            "treated": treated,
            "propensity": propensity,
            "weight": weight,
            "subclass": subclass if subclass is not None else np.full(len(data), "", dtype=object),
        }
    )
    return Matched(
        units=out,
        method=method,
        caliper=caliper,
        dropped=data.loc[treated & (weight == 0)],
        treated_rows=data.loc[treated],
    )


def _nearest(
    logit: np.ndarray,
    t: np.ndarray,
    ids: np.ndarray,
    members: np.ndarray,
    ratio: int,
    replace: bool,
    width: float,
    weight: np.ndarray,
    subclass: np.ndarray,
) -> None:
    """Greedy k:1 nearest-neighbour matching of the treated in ``members`` to its controls."""
    controls = members[~t[members]]
    if controls.size == 0:
        return
    controls = controls[np.lexsort((ids[controls], logit[controls]))]  # by propensity, ties by id
    pool = _Pool(logit[controls], replace=replace)
    treated = members[t[members]]
    treated = treated[np.lexsort((ids[treated], -logit[treated]))]  # largest propensity first
    for i in treated:
        found = pool.closest(logit[i], ratio, width)
        if not found:
            continue
        weight[i] = 1.0
        subclass[i] = ids[i]
        for j in found:
            weight[controls[j]] += 1.0 / len(found)
            subclass[controls[j]] = subclass[controls[j]] or ids[i]


class _Pool:
    """Sorted control propensities; without replacement, each is handed out once.

    Taken controls are skipped through two union-find "next free" arrays with path
    compression, so a depleted region costs almost nothing to cross (matching 100,000
    candidates stays linear-ish instead of quadratic).
    """

    def __init__(self, values: np.ndarray, *, replace: bool) -> None:
        self.values = values
        self.replace = replace
        n = values.size
        self._right = np.arange(n + 1)  # free index >= i (n: none)
        self._left = np.arange(n + 1)  # 1 + free index <= i - 1 ... stored shifted by one (0: none)

    def _find(self, parent: np.ndarray, i: int) -> int:
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def free_right(self, i: int) -> int:
        """The first free index at or after ``i`` (``size`` if none)."""
        return i if self.replace else self._find(self._right, i)

    def free_left(self, i: int) -> int:
        """The last free index at or before ``i`` (-1 if none)."""
        return i if self.replace else self._find(self._left, i + 1) - 1

    def take(self, j: int) -> None:
        if not self.replace:
            self._right[j] = j + 1
            self._left[j + 1] = j

    def closest(self, x: float, k: int, width: float) -> list[int]:
        """Up to ``k`` free indices nearest to ``x`` within ``width``, taken from the pool."""
        values, n = self.values, self.values.size
        right = int(np.searchsorted(values, x))
        left = right - 1
        found: list[int] = []
        while len(found) < k:
            left = self.free_left(left) if left >= 0 else -1
            right = self.free_right(right) if right < n else n
            d_left = x - values[left] if left >= 0 else np.inf
            d_right = values[right] - x if right < n else np.inf
            if min(d_left, d_right) > width:
                break
            pick = left if d_left <= d_right else right
            found.append(pick)
            if self.replace:
                left, right = (left - 1, right) if pick == left else (left, right + 1)
            else:
                self.take(pick)
        return found


def _strata(
    rows: pd.DataFrame, columns: list[str], *, bins: int | None = None, treated: np.ndarray | None = None
) -> np.ndarray:
    """An integer stratum per row: the combination of the columns' values (numbers binned when asked).

    Numbers are cut at quantiles of the treated units (of all rows without ``treated``), so each
    bin holds about as many treated units: equal-width bins put a skewed column's treated units
    (earnings, zero for many) into one or two bins. Tied quantiles merge, so a value shared by
    many (zero) gets a bin of its own; controls beyond the treated range join the end bins.
    """
    keys = []
    for c in columns:
        col = rows[c]
        if bins is not None and pd.api.types.is_numeric_dtype(col) and col.nunique() > bins:
            values = col.to_numpy(dtype=np.float64)
            reference = values if treated is None else values[treated]
            cuts = np.unique(np.quantile(reference, np.arange(1, bins) / bins, method="inverted_cdf"))
            col = pd.Series(np.searchsorted(cuts, values, side="left"))
        keys.append(col.astype(str).to_numpy())
    combined = pd.Series(["\x1f".join(parts) for parts in zip(*keys, strict=True)])
    return pd.factorize(combined, sort=True)[0]


def _stratum_weights(strata: np.ndarray, t: np.ndarray, weight: np.ndarray, subclass: np.ndarray) -> None:
    n_t = np.bincount(strata, weights=t.astype(float))
    n_c = np.bincount(strata, weights=(~t).astype(float))
    usable = (n_t > 0) & (n_c > 0)
    keep = usable[strata]
    matched_t, matched_c = t[keep].sum(), (~t[keep]).sum()
    weight[keep & t] = 1.0
    if matched_t:
        ratio = (n_t / np.where(n_c > 0, n_c, 1.0))[strata]
        weight[keep & ~t] = ratio[keep & ~t] * matched_c / matched_t
    subclass[keep] = strata[keep].astype(str)
