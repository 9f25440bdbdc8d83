"""Matched cohorts from observational data, for the effect on the treated (ATT).

Three methods, each returning weights that make the matched controls mirror the treated:

- ``nearest``: k:1 nearest-neighbour matching on the logit of a propensity score (statsmodels
  logistic regression on the covariates, categories one-hot), within a caliper of ``caliper``
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

from channelab.design.balance import MAX_LEVELS, covariate_parts, smd
from channelab.engine.source import ROWS, Source, quote
from channelab.errors import DataError
from channelab.spec import Spec

Method = Literal["nearest", "exact", "cem"]


@dataclass(frozen=True)
class Matched:
    """A matched cohort: every input unit with its weight (0 = not used) and its match group.

    ``units`` columns: the id, ``treated`` (bool), ``propensity`` (nearest only), ``weight``,
    ``subclass`` (the treated unit's id for nearest matching, the stratum otherwise; empty
    when unused). ``dropped`` lists the treated units left without a match, out of
    ``treated_rows``.
    """

    units: pd.DataFrame
    method: Method
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
) -> Matched:
    """Match the treated rows of ``rows`` to controls; see the module docstring.

    ``treated`` is a boolean Series aligned with ``rows``. ``exact`` columns must match exactly
    in every method (for ``nearest``, matching happens within their strata).
    """
    order = np.argsort(rows[id_column].astype(str).to_numpy(), kind="stable")
    data = rows.iloc[order].reset_index(drop=True)
    t = treated.iloc[order].to_numpy(dtype=bool)
    ids = data[id_column].astype(str).to_numpy()
    weight = np.zeros(len(data))
    subclass = np.full(len(data), "", dtype=object)
    propensity = np.full(len(data), np.nan)
    exact = list(exact or [])
    if method == "nearest":
        propensity = propensity_scores(data, t, covariates)
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
    out = pd.DataFrame(
        {
            id_column: data[id_column],
            "treated": t,
            "propensity": propensity,
            "weight": weight,
            "subclass": subclass,
        }
    )
    dropped = data.loc[t & (weight == 0)]
    return Matched(
        units=out,
        method=method,
        caliper=caliper if method == "nearest" else None,
        dropped=dropped,
        treated_rows=data.loc[t],
    )


def propensity_scores(rows: pd.DataFrame, treated: np.ndarray, covariates: list[str]) -> np.ndarray:
    """P(treated | covariates) from a logistic regression (categories one-hot, first level dropped)."""
    import statsmodels.api as sm  # here, not at import: randomised runs never need it

    design = pd.get_dummies(rows[covariates], drop_first=True, dtype=float)
    design = sm.add_constant(design, has_constant="add")
    fit = sm.Logit(treated.astype(float), design).fit(disp=0, method="newton", maxiter=100)
    return np.clip(np.asarray(fit.predict(design), dtype=float), 1e-9, 1 - 1e-9)


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


# ---- balance ----------------------------------------------------------------------------------


def balance(
    rows: pd.DataFrame, treated: pd.Series, weights: np.ndarray | None, covariates: list[str]
) -> pd.DataFrame:
    """Standardised mean differences and variance ratios (numbers), per covariate or level.

    SMD on the SD of the treated before matching (the ATT convention), so before and after
    are on one scale; weighted when ``weights`` is given. See :func:`channelab.design.balance.smd`.
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


# ---- an experiment's matched cohort -------------------------------------------------------------

#: Column of the matching weights in the DuckDB view the cells are built from.
WEIGHT = "__channelab_weight"


@dataclass(frozen=True)
class MatchResult:
    """The matched cohort of a ``design: matched`` spec, with balance before and after."""

    matched: Matched
    before: pd.DataFrame
    after: pd.DataFrame
    max_smd: float

    def dropped_by(self, columns: list[str]) -> pd.DataFrame:
        """Treated units left without a match per level of each category column, and their share.

        Numeric columns are skipped. Columns: covariate, level, dropped, treated, share.
        """
        treated = self.matched.treated_rows
        dropped = self.matched.dropped
        records = []
        for col in columns:
            if col not in treated.columns or (
                pd.api.types.is_numeric_dtype(treated[col]) and treated[col].nunique() > MAX_LEVELS
            ):
                continue
            totals = treated[col].astype(str).value_counts()
            lost = dropped[col].astype(str).value_counts().reindex(totals.index, fill_value=0)
            for level in sorted(totals.index):
                records.append(
                    {
                        "covariate": col,
                        "level": level,
                        "dropped": int(lost[level]),
                        "treated": int(totals[level]),
                        "share": float(lost[level] / totals[level]),
                    }
                )
        return pd.DataFrame(records, columns=["covariate", "level", "dropped", "treated", "share"])

    @property
    def imbalanced(self) -> pd.DataFrame:
        """Rows of the balance table still beyond ``max_smd`` after matching."""
        return self.after[self.after["smd"].abs() > self.max_smd]


def effective_weights(weight: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Matching weights rescaled, within treated and within controls, to sum to Kish's effective n.

    The model reads weights as counts of independent units. Raw ATT weights would let a control
    reused by three treated units count as three accounts (intervals too narrow), or make the k
    controls of a k:1 match count as one (too wide). Scaled by ``sum(w) / sum(w**2)``, a group's
    weighted mean keeps its value and its sampling variance is that of ``(sum w)**2 / sum(w**2)``
    independent units. Unweighted groups (all weights 1) are unchanged.
    """
    out = np.asarray(weight, dtype=float).copy()
    for group in (treated, ~treated):
        w = out[group]
        if w.size and (w > 0).any():
            out[group] = w * w.sum() / np.square(w).sum()
    return out


def match_experiment(source: Source, spec: Spec) -> MatchResult:
    """Match the treated units of ``source`` to controls as the spec says, and weight the rows.

    Afterwards the view :data:`~channelab.engine.source.ROWS` holds only the matched units with
    their :func:`effective_weights` in column :data:`WEIGHT` (the raw rows stay under
    ``unit_rows_raw``).

    Raises
    ------
    DataError
        If matching leaves a covariate with |SMD| above ``matching.max_smd`` and the spec does
        not set ``matching.accept_imbalance``, or if no treated unit finds a match.
    """
    cfg = spec.matching
    uid = spec.unit.id
    if uid is None:
        raise DataError(f"{source.path}: a matched design needs unit ids (unit.id) to pair units.")
    covariates = spec.matching_covariates
    columns = list(dict.fromkeys([uid, spec.arm_column, *covariates, *cfg.exact]))
    rows = source.duck.execute(f"SELECT {', '.join(quote(c) for c in columns)} FROM {ROWS}").df()
    treated = rows[spec.arm_column].astype(str) == spec.treatments[0]
    matched = match(
        rows,
        id_column=uid,
        treated=treated,
        covariates=covariates,
        method=cfg.method,
        ratio=cfg.ratio,
        replace=cfg.replace,
        caliper=cfg.caliper,
        exact=cfg.exact,
        bins=cfg.bins,
    )
    weights = matched.units.set_index(uid)["weight"].reindex(rows[uid]).to_numpy()
    result = MatchResult(
        matched=matched,
        before=balance(rows, treated, None, covariates),
        after=balance(rows, treated, weights, covariates),
        max_smd=cfg.max_smd,
    )
    if not (matched.units["treated"] & (matched.units["weight"] > 0)).any():
        raise DataError(
            f"{source.path}: no treated unit found a match; loosen matching.caliper or matching.exact."
        )
    bad = result.imbalanced
    if len(bad) and not cfg.accept_imbalance:
        worst = ", ".join(
            f"{cov}{'=' + level if level else ''} (SMD {smd:+.2f})"
            for cov, level, smd in zip(bad["covariate"], bad["level"].astype(str), bad["smd"], strict=True)
        )
        raise DataError(
            f"{source.path}: after matching, {len(bad)} covariate(s) are still imbalanced beyond "
            f"|SMD| {cfg.max_smd}: {worst}. The treated and untreated differ too much to compare honestly. "
            "Try a tighter matching.caliper, exact matching on the worst column, or another method; "
            "set matching.accept_imbalance: true only if you will report the imbalance."
        )
    frame = matched.units[[uid]].rename(columns={uid: "__channelab_uid"})
    frame[WEIGHT] = effective_weights(matched.units["weight"].to_numpy(), matched.units["treated"].to_numpy())
    frame["__channelab_uid"] = frame["__channelab_uid"].astype(str)
    source.duck.register("__channelab_weights", frame)
    source.duck.execute(f"ALTER VIEW {ROWS} RENAME TO unit_rows_raw")
    source.duck.execute(
        f"CREATE VIEW {ROWS} AS SELECT r.*, w.{WEIGHT} FROM unit_rows_raw r JOIN __channelab_weights w "
        f"ON CAST(r.{quote(uid)} AS VARCHAR) = w.__channelab_uid WHERE w.{WEIGHT} > 0"
    )
    return result
