"""An observational experiment's comparison cohort: matched or weighted, checked, and handed to the cells.

:func:`match_experiment` reads the units, matches (:mod:`.matching`) or weights
(:mod:`.weighting`) them as ``matching`` in the spec says, checks balance and overlap, and
leaves the cohort's rows with their weights in the view the cells are built from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pandas as pd

from channelab.cohort.balance import MAX_LEVELS, balance
from channelab.cohort.matching import Matched, Method, match
from channelab.cohort.propensity import Separation, check_design_size, separation
from channelab.cohort.weighting import Weighting, entropy_formula, weigh
from channelab.engine.source import ROWS, Source, quote
from channelab.errors import DataError
from channelab.spec import Matching, Spec
from channelab.spec.formula import Formula, parse
from channelab.spec.plan import WEIGHTING_METHODS

#: Column of the matching weights in the DuckDB view the cells are built from.
WEIGHT = "__channelab_weight"

#: Each estimand in words.
_ESTIMANDS = {
    "ATT": "the effect on the treated (ATT)",
    "ATE": "the average effect over all units (ATE)",
    "ATO": "the effect where the groups overlap (ATO)",
}


@dataclass(frozen=True)
class MatchResult:
    """The matched or weighted cohort of a ``design: matched`` spec, with balance before and after.

    Attributes
    ----------
    matched : Matched
        Every unit with its weight (0: not used) and match group, and the treated left out.
    before, after : pandas.DataFrame
        The balance of every treated arm against the untreated, before and after matching or
        weighting (columns ``arm``, ``covariate``, ``level``, ``smd``, ``variance_ratio``).
    max_smd : float
        The largest |SMD| the spec accepts after matching (``matching.max_smd``).
    estimand : str
        ``ATT`` (effect on the treated), ``ATE`` (on everyone) or ``ATO`` (on the overlap
        population, overlap weights).
    formula : str
        The propensity formula used (for entropy balancing, the terms balanced); empty for
        exact and coarsened matching.
    separation : Separation or None
        How well the propensity tells the groups apart (``None`` for exact and coarsened
        matching, which fit none).
    effective_sizes : dict of str to float
        Kish's effective size per arm, the ``control`` arm's included.
    control : str
        The untreated arm.
    """

    matched: Matched
    before: pd.DataFrame
    after: pd.DataFrame
    max_smd: float
    estimand: str = "ATT"
    formula: str = ""
    separation: Separation | None = None
    effective_sizes: dict[str, float] = field(default_factory=dict)
    control: str = ""

    @property
    def estimand_words(self) -> str:
        """What the effect is an effect on, in words."""
        return _ESTIMANDS[self.estimand]

    def summary(self, kind: str, covariates: list[str]) -> str:
        """One line: who was kept and how, e.g. for the report's design line and the CLI."""
        units = self.matched.units
        kept = units[units["weight"] > 0]
        n_t, n_c = int(kept["treated"].sum()), int((~kept["treated"]).sum())
        total = int(units["treated"].sum())
        on = ", ".join(covariates)
        if self.weighted:
            return (
                f"{n_t:,} of {total:,} treated and {n_c:,} untreated {kind}s weighted "
                f"({self.matched.method}) on {on}; effective untreated {self.effective(treated=False):,.0f}"
            )
        return f"{n_t:,} of {total:,} treated {kind}s matched to {n_c:,} untreated on {on}"

    @property
    def weighted(self) -> bool:
        """Whether every unit was weighted (no pairing)."""
        return self.matched.method in WEIGHTING_METHODS

    @property
    def notes(self) -> list[str]:
        """Plain-language warnings about the cohort (near-perfect separation)."""
        s = self.separation
        if s is None or not s.near_perfect:
            return []
        return [
            f"The propensity score separates the groups almost perfectly (AUC {s.auc:.3f}; "
            f"{s.beyond:.0%} of the treated score above every untreated unit): the comparison rests "
            "on the few units that resemble the other group; see the overlap figure in the report."
        ]

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

    def effective(self, treated: bool) -> float:
        """Kish's effective size of the treated (all arms together) or of the untreated."""
        if not treated:
            return self.effective_sizes.get(self.control, 0.0)
        units = self.matched.units
        return kish(units.loc[units["treated"], "weight"].to_numpy())


def kish(weights: np.ndarray) -> float:
    """Kish's effective sample size of a group's weights, (Σw)² / Σw² (0 without weight)."""
    square = float(np.square(weights).sum())
    return float(weights.sum()) ** 2 / square if square > 0 else 0.0


def effective_weights(weight: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Matching weights rescaled, within each group (arm), to sum to Kish's effective n.

    The model reads weights as counts of independent units. Raw ATT weights would let a control
    reused by three treated units count as three accounts (intervals too narrow), or make the k
    controls of a k:1 match count as one (too wide). Scaled by ``sum(w) / sum(w**2)``, a group's
    weighted mean keeps its value and its sampling variance is that of ``(sum w)**2 / sum(w**2)``
    independent units. Unweighted groups (all weights 1) are unchanged. ``group`` labels each
    unit's arm (a boolean treated flag will do for two arms).
    """
    out = np.asarray(weight, dtype=float).copy()
    for label in np.unique(group):
        members = group == label
        w = out[members]
        if w.size and (w > 0).any():
            out[members] = w * w.sum() / np.square(w).sum()
    return out


def match_experiment(source: Source, spec: Spec) -> MatchResult:
    """Match or weight the units of ``source`` as the spec says, check balance, and weight the rows.

    Afterwards the view :data:`~channelab.engine.source.ROWS` holds only the units with a
    positive weight, in unit-id order, with their :func:`effective_weights` in column
    :data:`WEIGHT` (the raw rows stay under ``unit_rows_raw``).

    Parameters
    ----------
    source : Source
        The checked rows of a ``design: matched`` experiment (DuckDB); its view is replaced.
    spec : Spec
        The experiment: its unit ids, arms and ``matching`` settings.

    Returns
    -------
    MatchResult
        The cohort, its balance before and after, its separation and effective sizes.

    Raises
    ------
    DataError
        If a covariate's |SMD| afterwards exceeds ``matching.max_smd`` (unless
        ``matching.accept_imbalance``), if the untreated (or a reweighted treated arm) count
        for fewer than ``matching.min_effective`` effective units, if no treated unit finds a
        match, or if entropy balancing finds that the groups do not overlap.
    """
    cfg = spec.matching
    uid = spec.unit.id
    if uid is None:
        raise DataError(f"{source.path}: a matched design needs unit ids (unit.id) to pair units.")
    columns = list(dict.fromkeys([uid, spec.arm_column, *spec.matching_covariates, *cfg.exact]))
    rows = source.duck.execute(
        f"SELECT {', '.join(quote(c) for c in columns)} FROM {ROWS} ORDER BY {quote(uid)}"
    ).df()
    labels = rows[spec.arm_column].astype(str)
    formula = _formula(rows, spec)
    where = str(source.path)
    if cfg.method == "nearest" or cfg.weighting:  # the methods that build the formula's design matrix
        arms = len(spec.treatments) if cfg.weighting else 1  # weighting fits every arm at once
        check_design_size(rows, formula, where=where, field=_formula_field(cfg), arms=arms)
    matched = _match_or_weigh(rows, labels, formula, spec, uid=uid, where=where)
    weights = matched.units.set_index(uid)["weight"].reindex(rows[uid]).to_numpy()
    result = _result(matched, rows, labels, weights, formula, spec)
    reweighted = [spec.control] + [
        arm for arm in spec.treatments if _unequal(weights[(labels == arm).to_numpy()])
    ]
    _gate(result, cfg, where, reweighted)
    _weighted_rows(source, uid, matched, labels.set_axis(rows[uid]).reindex(matched.units[uid]).to_numpy())
    return result


def _match_or_weigh(
    rows: pd.DataFrame, labels: pd.Series, formula: Formula, spec: Spec, *, uid: str, where: str
) -> Matched:
    """The cohort as ``matching`` says: every unit weighted, or the treated matched to controls."""
    cfg = spec.matching
    codes = labels.map({arm: i for i, arm in enumerate([spec.control, *spec.treatments])})
    if cfg.weighting:
        return weigh(
            rows,
            id_column=uid,
            group=codes,
            formula=formula,
            method=cast(Weighting, cfg.method),
            estimand=cfg.estimand,
            trim=cfg.trim,
            where=where,
        )
    return match(
        rows,
        id_column=uid,
        treated=codes > 0,
        covariates=spec.matching_covariates,
        method=cast(Method, cfg.method),
        ratio=cfg.ratio,
        replace=cfg.replace,
        caliper=cfg.caliper,
        exact=cfg.exact,
        bins=cfg.bins,
        formula=formula,
    )


def _result(
    matched: Matched,
    rows: pd.DataFrame,
    labels: pd.Series,
    weights: np.ndarray,
    formula: Formula,
    spec: Spec,
) -> MatchResult:
    """The :class:`MatchResult` of a cohort: balance before and after, separation, effective sizes."""
    cfg = spec.matching
    units = matched.units
    return MatchResult(
        matched=matched,
        before=_balance(rows, labels, None, spec),
        after=_balance(rows, labels, weights, spec),
        max_smd=cfg.max_smd,
        estimand=cfg.estimand_code,
        formula=str(formula) if cfg.method == "nearest" or cfg.weighting else "",
        separation=(
            separation(units["propensity"].to_numpy(), units["treated"].to_numpy())
            if units["propensity"].notna().all()
            else None
        ),
        effective_sizes={
            arm: kish(weights[(labels == arm).to_numpy()]) for arm in [spec.control, *spec.treatments]
        },
        control=spec.control,
    )


def _balance(rows: pd.DataFrame, labels: pd.Series, weights: np.ndarray | None, spec: Spec) -> pd.DataFrame:
    """The balance table of every treated arm against the untreated (column ``arm``)."""
    tables = []
    for arm in spec.treatments:
        pair = (labels == arm) | (labels == spec.control)
        table = balance(
            rows[pair.to_numpy()],
            (labels[pair] == arm).reset_index(drop=True),
            None if weights is None else weights[pair.to_numpy()],
            spec.matching_covariates,
        )
        tables.append(table.assign(arm=arm)[["arm", *table.columns]])
    return pd.concat(tables, ignore_index=True)


def _formula(rows: pd.DataFrame, spec: Spec) -> Formula:
    """The propensity formula of the spec, or the method's default on the matching covariates."""
    cfg = spec.matching
    if cfg.propensity is not None:
        return parse(cfg.propensity)
    if cfg.method == "entropy":
        return entropy_formula(rows, spec.matching_covariates)
    return Formula.main_effects(spec.matching_covariates)


def _formula_field(cfg: Matching) -> str:
    """Where the propensity formula came from, for messages: the spec's, or its default terms."""
    if cfg.propensity is not None:
        return "matching.propensity"
    what = "the default terms to balance" if cfg.method == "entropy" else "the propensity's default terms"
    return f"matching.covariates ({what})"


def _unequal(weights: np.ndarray) -> bool:
    """Whether the kept units (weight > 0) carry unequal weights."""
    kept = weights[weights > 0]
    return bool(kept.size) and float(kept.max() - kept.min()) > 1e-9 * float(kept.max())


def _gate(result: MatchResult, cfg: Matching, where: str, reweighted: list[str]) -> None:
    """Refuse a cohort without a match, still imbalanced, or with too few effective units.

    The effective size is checked for the arms in ``reweighted``: the untreated, and any arm
    whose kept units carry unequal weights (a treated arm kept whole is what it is).
    """
    units = result.matched.units
    why = f" {result.notes[0]}" if result.notes else ""
    if not (units["treated"] & (units["weight"] > 0)).any():
        raise DataError(
            f"{where}: no treated unit found a comparable untreated one "
            f"({'within the caliper' if result.matched.method == 'nearest' else 'in the same stratum'}): "
            f"the groups do not overlap on the covariates.{why} Loosen matching.caliper or "
            "matching.exact, or do not compare these groups."
        )
    for arm in reweighted:
        size = result.effective_sizes[arm]
        if size < cfg.min_effective:
            who = "untreated units" if arm == result.control else f"units of {arm}"
            raise DataError(
                f"{where}: the comparison rests on {size:.1f} effective {who} (Kish), fewer than "
                f"matching.min_effective ({cfg.min_effective:g}): a few units carry all the weight, "
                f"so the groups barely overlap.{why} Restrict to a common range (matching.trim), "
                "try overlap weights, or do not compare these groups."
            )
    bad = result.imbalanced
    if len(bad) and not cfg.accept_imbalance:
        worst = ", ".join(
            f"{cov}{'=' + level if level else ''} (SMD {smd:+.2f})"
            for cov, level, smd in zip(bad["covariate"], bad["level"].astype(str), bad["smd"], strict=True)
        )
        raise DataError(
            f"{where}: after {'weighting' if result.weighted else 'matching'}, {len(bad)} covariate(s) "
            f"are still imbalanced beyond |SMD| {result.max_smd}: {worst}. The treated and untreated "
            f"differ too much to compare honestly.{why} Try entropy balancing (matching.method: "
            "entropy), a richer matching.propensity, a tighter matching.caliper or exact matching "
            "on the worst column; set matching.accept_imbalance: true only if you will report the "
            "imbalance."
        )


def _weighted_rows(source: Source, uid: str, matched: Matched, arms: np.ndarray) -> None:
    """Replace the rows view by the cohort's rows with positive weight, in unit-id order.

    The rows are materialised in a fixed order so that every aggregate over them adds the
    same numbers in the same order: weighted sums of doubles depend on the order, and a join
    streams its output in whatever order its threads finish.
    """
    frame = matched.units[[uid]].rename(columns={uid: "__channelab_uid"})
    frame[WEIGHT] = effective_weights(matched.units["weight"].to_numpy(), arms)
    frame["__channelab_uid"] = frame["__channelab_uid"].astype(str)
    frame["__channelab_order"] = np.arange(len(frame))  # unit-id order, as matched
    source.duck.register("__channelab_weights", frame)
    source.duck.execute(f"ALTER VIEW {ROWS} RENAME TO unit_rows_raw")
    source.duck.execute(
        f"CREATE TEMP TABLE __channelab_cohort AS SELECT r.*, w.{WEIGHT} FROM unit_rows_raw r "
        f"JOIN __channelab_weights w ON CAST(r.{quote(uid)} AS VARCHAR) = w.__channelab_uid "
        f"WHERE w.{WEIGHT} > 0 ORDER BY w.__channelab_order"
    )
    source.duck.execute(f"CREATE TEMP VIEW {ROWS} AS SELECT * FROM __channelab_cohort")
