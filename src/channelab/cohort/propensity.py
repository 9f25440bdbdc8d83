"""The propensity model: the design matrix of a formula, the propensity fit, overlap and balancing weights.

The formula language is :mod:`channelab.spec.formula`. The same design matrix serves the
logistic (or multinomial) propensity (statsmodels) and entropy balancing, whose weights make
the controls' mean of every column equal the treated mean.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from channelab.errors import DataError
from channelab.spec.formula import Factor, Formula

# ---- the design matrix -----------------------------------------------------------------------


def design_matrix(rows: pd.DataFrame, formula: Formula, *, where: str) -> pd.DataFrame:
    """The formula's columns for ``rows`` (no intercept), without constant or redundant columns.

    A column that is a linear combination of earlier ones (a binary column's square, a
    category's last level beside an intercept) is dropped, so the fits stay identified.
    ``where`` names the input in errors.
    """
    missing = [c for c in formula.columns if c not in rows.columns]
    if missing:
        raise DataError(f"{where}: the propensity formula names column(s) not in the data: {missing}")
    parts: dict[str, np.ndarray] = {}
    for term in formula.terms:
        blocks = [_factor_columns(rows, f, where) for f in term]
        product: dict[str, np.ndarray] = {"": np.ones(len(rows))}
        for block in blocks:
            product = {(f"{a}:{b}" if a else b): x * y for a, x in product.items() for b, y in block.items()}
        parts.update(product)
    frame = pd.DataFrame(parts, index=rows.index)
    return frame.iloc[:, _independent(frame.to_numpy())]


def _factor_columns(rows: pd.DataFrame, f: Factor, where: str) -> dict[str, np.ndarray]:
    col = rows[f.column]
    numeric = pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)
    if not numeric:
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


def _independent(x: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Indices of columns, in order, that are not constant and not combinations of earlier ones."""
    keep: list[int] = []
    centred = x - x.mean(axis=0)
    scale = np.sqrt((centred**2).sum(axis=0))
    basis = np.zeros((x.shape[0], 0))
    for j in range(x.shape[1]):
        if scale[j] <= tol * max(1.0, float(np.abs(x[:, j]).max(initial=0.0))):
            continue
        v = centred[:, j] / scale[j]
        if basis.shape[1]:
            v = v - basis @ (basis.T @ v)
        norm = float(np.linalg.norm(v))
        if norm > 1e-6:
            keep.append(j)
            basis = np.column_stack([basis, v / norm])
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
