"""The propensity model: the design matrix of a formula, the propensity fit, overlap and balancing weights.

The formula language is :mod:`channelab.spec.formula`. The same design matrix serves the
logistic (or multinomial) propensity (statsmodels) and entropy balancing, whose weights make
the controls' mean of every column equal the treated mean.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from channelab.errors import DataError
from channelab.limits import MAX_DESIGN_COLUMNS, MAX_DESIGN_WORK
from channelab.spec.formula import Factor, Formula

# ---- the design matrix -----------------------------------------------------------------------


def design_matrix(rows: pd.DataFrame, formula: Formula, *, where: str) -> pd.DataFrame:
    """The formula's columns for ``rows`` (no intercept), without constant or redundant columns.

    A column that is a linear combination of earlier ones (a binary column's square, a
    category's last level beside an intercept) is dropped, so the fits stay identified.
    ``where`` names the input in errors.
    """
    check_design_size(rows, formula, where=where)
    parts: dict[str, np.ndarray] = {}
    for term in formula.terms:
        blocks = [_factor_columns(rows, f, where) for f in term]
        product: dict[str, np.ndarray] = {"": np.ones(len(rows))}
        for block in blocks:
            product = {(f"{a}:{b}" if a else b): x * y for a, x in product.items() for b, y in block.items()}
        parts.update(product)
    frame = pd.DataFrame(parts, index=rows.index)
    return frame.iloc[:, _independent(frame.to_numpy())]


def check_design_size(
    rows: pd.DataFrame,
    formula: Formula,
    *,
    where: str,
    field: str = "the propensity formula",
    arms: int = 1,
) -> None:
    """Refuse a formula whose design matrix would be too wide, before building any of it.

    The columns are counted from the terms (:meth:`~channelab.spec.formula.Formula.widths`)
    with each text column's distinct values in ``rows``; there may be at most
    :data:`~channelab.limits.MAX_DESIGN_COLUMNS`, no more than the rows, and few enough that
    the fit's work (rows × (columns × ``arms``)², ``arms`` the treated arms of a multinomial
    fit) stays within :data:`~channelab.limits.MAX_DESIGN_WORK`. ``field`` names where the
    formula came from in the message.

    Raises
    ------
    DataError
        If a column of the formula is not in ``rows``, or the matrix would be too wide or too
        slow to fit.
    """
    missing = [c for c in formula.columns if c not in rows.columns]
    if missing:
        raise DataError(f"{where}: the propensity formula names column(s) not in the data: {missing}")
    levels = {c: None if _numeric(rows[c]) else int(rows[c].nunique(dropna=False)) for c in formula.columns}
    widths = formula.widths(levels)
    total, n = sum(widths), len(rows)
    if total <= min(MAX_DESIGN_COLUMNS, n):
        if n * (total * arms) ** 2 > MAX_DESIGN_WORK:
            raise DataError(_too_slow(where, field, formula, total, n, arms))
        return
    order = sorted(range(len(widths)), key=lambda i: -widths[i])[:3]
    worst = "; ".join(_term_width(formula.terms[i], widths[i], levels) for i in order)
    if total > MAX_DESIGN_COLUMNS:
        bound = f"at most {MAX_DESIGN_COLUMNS:,} (and never more than the {n:,} units)"
    else:
        bound = f"no more columns than units, and {total:,} is more than the {n:,} units to fit it on"
    raise DataError(
        f"{where}: {field} {str(formula)!r} would make {total:,} design columns ({worst}), but a "
        f"propensity model may have {bound}. Interact fewer or smaller categories (bin a category "
        "of many levels into a few in a new column), give splines fewer columns, or drop terms."
    )


def _too_slow(where: str, field: str, formula: Formula, total: int, n: int, arms: int) -> str:
    """Why a design narrow enough for its units is still refused: its fit would take too long."""
    fewer = math.isqrt(MAX_DESIGN_WORK // n) // arms
    units = f"{n:,} units" + (f" in {arms + 1} arms" if arms > 1 else "")
    return (
        f"{where}: {field} {str(formula)!r} would make {total:,} design columns for {n:,} units: a "
        "propensity fit takes time that grows with the units times the columns squared, and "
        f"{units} allow at most {fewer:,} columns. Use fewer terms, or coarser categories."
    )


def _term_width(term: tuple[Factor, ...], width: int, levels: dict[str, int | None]) -> str:
    """``a:b makes 1,521 (39 × 39)``: a term's columns, and each factor's when it has several."""
    text = ":".join(str(f) for f in term)
    if len(term) == 1:
        return f"{text} makes {width:,}"
    return f"{text} makes {width:,} ({' × '.join(str(f.width(levels[f.column])) for f in term)})"


def _numeric(col: pd.Series) -> bool:
    """Whether a column enters the design as numbers (else as the indicators of its levels)."""
    return bool(pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col))


def _factor_columns(rows: pd.DataFrame, f: Factor, where: str) -> dict[str, np.ndarray]:
    col = rows[f.column]
    if not _numeric(col):
        if f.func:
            raise DataError(
                f"{where}: {f} in the propensity formula needs numbers, but {f.column!r} holds text"
            )
        levels = sorted(col.astype(str).unique())
        text = col.astype(str).to_numpy()
        return {f"{f.column}={lv}": (text == lv).astype(float) for lv in levels[1:]}
    x = col.to_numpy(dtype=np.float64)
    if f.func == "":
        return {str(f): x}
    if f.func == "power":
        return {str(f): x**f.arg}
    if f.func == "zero":
        return {str(f): (x == 0).astype(float)}
    if f.func == "log1p":
        if (x <= -1).any():
            raise DataError(f"{where}: {f} in the propensity formula needs values above -1 in {f.column!r}")
        return {str(f): np.log1p(x)}
    return {f"{f}[{j}]": b for j, b in enumerate(_spline_basis(x, f.arg).T)}


def _spline_basis(x: np.ndarray, df: int) -> np.ndarray:
    """A cubic B-spline basis with ``df`` columns (the first dropped), inner knots at quantiles of ``x``."""
    from scipy.interpolate import BSpline

    inner = np.unique(np.quantile(x, np.linspace(0, 1, df - 1)[1:-1])) if df > 2 else np.array([])
    lo, hi = float(x.min()), float(x.max())
    inner = inner[(inner > lo) & (inner < hi)]
    knots = np.concatenate([[lo] * 4, inner, [hi] * 4]) if hi > lo else np.array([lo - 1] * 4 + [hi + 1] * 4)
    basis = BSpline.design_matrix(np.clip(x, knots[0], knots[-1]), knots, 3).toarray()
    return basis[:, 1:]  # the basis sums to 1: drop one column for the intercept


def _independent(x: np.ndarray, tol: float = 1e-9, block: int = 64) -> np.ndarray:
    """Indices of columns, in order, that are not constant and not combinations of earlier ones.

    Gram–Schmidt, column by column in order; each ``block`` of columns is first projected off
    the kept ones at once (one matrix product), so a wide design costs seconds, not minutes.
    """
    keep: list[int] = []
    n, k = x.shape
    centred = x - x.mean(axis=0)
    scale = np.sqrt((centred**2).sum(axis=0))
    peak = np.maximum(np.abs(x).max(axis=0, initial=0.0), 1.0)
    basis = np.empty((n, min(n, k)), order="F")  # the kept columns, orthonormal
    for start in range(0, k, block):
        live = [j for j in range(start, min(start + block, k)) if scale[j] > tol * peak[j]]
        if not live:
            continue
        v = centred[:, live] / scale[live]
        r0 = len(keep)
        if r0:
            v -= basis[:, :r0] @ (basis[:, :r0].T @ v)
        for i, j in enumerate(live):
            w = v[:, i] - basis[:, r0 : len(keep)] @ (basis[:, r0 : len(keep)].T @ v[:, i])
            norm = float(np.linalg.norm(w))
            if norm > 1e-6 and len(keep) < basis.shape[1]:
                basis[:, len(keep)] = w / norm
                keep.append(j)
    return np.asarray(keep, dtype=np.int64)


def standardised(x: pd.DataFrame) -> np.ndarray:
    """The design columns centred and scaled to unit sd (a well-conditioned fit)."""
    values = x.to_numpy(dtype=np.float64)
    sd = values.std(axis=0)
    return (values - values.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


# ---- fits ------------------------------------------------------------------------------------


def propensity_scores(design: pd.DataFrame, group: np.ndarray, n_groups: int = 2) -> np.ndarray:
    """P(group | covariates) by maximum likelihood: logistic for two groups, multinomial for more.

    ``group`` holds 0 (control), 1, ... per row. Returns (rows, groups) probabilities, clipped
    away from 0 and 1. Near-perfect separation does not stop the fit (scores close to 0 or 1
    are the finding, reported by :func:`separation`).
    """
    import statsmodels.api as sm  # here, not at import: randomised runs never need it

    x = sm.add_constant(standardised(design), has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation and iteration warnings: judged from the scores
        if n_groups == 2:
            fit = sm.GLM(group.astype(float), x, family=sm.families.Binomial()).fit(maxiter=100)
            p1 = np.asarray(fit.predict(x), dtype=float)
            probs = np.column_stack([1 - p1, p1])
        else:
            probs = np.asarray(sm.MNLogit(group, x).fit(method="newton", maxiter=100, disp=0).predict(x))
    probs = np.clip(probs, 1e-9, 1 - 1e-9)
    return probs / probs.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Separation:
    """How well the propensity tells the groups apart.

    ``auc``: the chance a treated unit scores above a control (0.5: no selection, 1: perfect
    separation). ``beyond``: share of the treated scoring above every control.
    """

    auc: float
    beyond: float

    @property
    def near_perfect(self) -> bool:
        """Whether the score separates the groups almost perfectly (AUC ≥ 0.95)."""
        return self.auc >= 0.95


def separation(score: np.ndarray, treated: np.ndarray) -> Separation:
    """AUC (Mann–Whitney) of the score between treated and controls, and the treated beyond all controls."""
    from scipy.stats import rankdata

    n_t, n_c = int(treated.sum()), int((~treated).sum())
    if not n_t or not n_c:
        return Separation(auc=float("nan"), beyond=float("nan"))
    ranks = rankdata(score)
    auc = (ranks[treated].sum() - n_t * (n_t + 1) / 2) / (n_t * n_c)
    beyond = float((score[treated] > score[~treated].max()).mean())
    return Separation(auc=float(auc), beyond=beyond)


def entropy_weights(
    controls: np.ndarray, target: np.ndarray, *, tol: float = 1e-6
) -> tuple[np.ndarray, float]:
    """Entropy-balancing weights (Hainmueller 2012): the controls' weighted means hit ``target``.

    ``controls`` (rows, columns) and ``target`` (columns) should be standardised. Of all
    weights with those means, these are closest to uniform (least Kullback–Leibler
    divergence), found from the convex dual by Newton's method (scipy's ``trust-exact``).
    Returns weights summing to 1 and the largest remaining |mean − target|; above ``tol`` the
    target lies outside what the controls can reach (no overlap).
    """
    from scipy.optimize import minimize
    from scipy.special import logsumexp, softmax

    d = controls - target

    def objective(lam: np.ndarray) -> tuple[float, np.ndarray]:
        z = d @ lam
        p = softmax(z)
        return float(logsumexp(z)), p @ d

    def hessian(lam: np.ndarray) -> np.ndarray:
        p = softmax(d @ lam)
        mean = p @ d
        return (d * p[:, None]).T @ d - np.outer(mean, mean) + 1e-12 * np.eye(d.shape[1])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an unreachable target shows as a large gap below
        fit = minimize(
            objective,
            np.zeros(d.shape[1]),
            jac=True,
            hess=hessian,
            method="trust-exact",
            options={"gtol": tol / 10, "maxiter": 500},
        )
    w = softmax(d @ fit.x)
    return w, float(np.abs(w @ d).max(initial=0.0))
