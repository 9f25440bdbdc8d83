"""Observational job-training data in the shape of LaLonde's (1986) benchmark, with the truth.

A population of workers has an age, schooling, race, marriage and an unobserved earning
capacity; earnings in the two pre-period years (``re74``, ``re75``) are zero for the
unemployed and log-normal otherwise, so they are skewed and zero-inflated. Who joins the
programme depends on them nonlinearly (being out of work, young, unmarried; low earnings on
the log scale), so the few treated differ strongly from the large pool of non-participants.
Outcome earnings (``re78``) are zero-inflated and skewed too; the programme raises the chance
of work and the amounts, by more for the least employable. Treatment depends only on the
recorded columns, so the effect is identified given them; no linear model is right.

Variants (:data:`VARIANTS`) of :func:`simulate_observational` set the sizes and the selection:

- ``moderate``: 300 treated in a pool of 5,000 that differs moderately;
- ``psid``: about 185 treated in a pool of 2,500 that differs strongly (like LaLonde's PSID);
- ``cps``: about 185 treated in a pool of 16,000 that differs strongly (like the CPS);
- ``no_overlap``: the treated were out of work both years and under 26, the pool worked in
  1975 and is older: no comparison is honest, and none should be made.

:func:`simulate_channels` has three arms (two channels and none) chosen by a multinomial rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit

from channelab.simulate.common import TruthRecord, unit_ids, write_with_truth

#: Pre-period columns a spec balances, in order.
COVARIATES = ("age", "education", "black", "hispanic", "married", "nodegree", "re74", "re75")


@dataclass(frozen=True)
class _Variant:
    """Sizes and selection strength of one observational data set."""

    n_treated: int
    n_pool: int
    selection: float  # multiplies the selection score: 0 is random assignment


#: The data sets :func:`simulate_observational` makes (see the module docstring).
VARIANTS: dict[str, _Variant] = {
    "moderate": _Variant(n_treated=300, n_pool=5_000, selection=0.5),
    "psid": _Variant(n_treated=185, n_pool=2_500, selection=1.0),
    "cps": _Variant(n_treated=185, n_pool=16_000, selection=1.0),
    "no_overlap": _Variant(n_treated=185, n_pool=2_500, selection=1.0),
}


@dataclass(frozen=True)
class ObservationalTruth(TruthRecord):
    """What :func:`simulate_observational` put into the data, and what a naive comparison shows.

    Effects are differences in mean ``re78`` (dollars per participant).
    :meth:`~channelab.simulate.common.TruthRecord.to_dict` gives the layout of the truth file
    (the attributes in this order); :func:`write_observational` adds ``data``.

    Attributes
    ----------
    variant, seed
        The variant (a key of :data:`VARIANTS`) and the simulation's seed.
    n_treated, n_pool
        Units treated and not treated.
    att
        The effect on the treated: the mean over the treated of E[re78 | treated] −
        E[re78 | not treated] given their columns.
    ato
        The effect in the overlap population: the same difference weighted by e(1 − e) with the
        true propensity e (NaN when no unit has 0 < e < 1).
    naive
        The difference in mean ``re78`` between treated and untreated units in the data.
    """

    variant: str
    seed: int
    n_treated: int
    n_pool: int
    att: float
    ato: float
    naive: float


@dataclass(frozen=True)
class ChannelsTruth(TruthRecord):
    """What :func:`simulate_channels` put into the data.

    Attributes
    ----------
    seed, n
        The simulation's seed and number of units.
    att
        Per channel (``email``, ``social``), its true effect on ``y`` averaged over the units
        treated by either channel: the population a weighted several-channel design compares
        them on.
    """

    seed: int
    n: int
    att: dict[str, float]


def simulate_observational(variant: str = "psid", *, seed: int) -> tuple[pd.DataFrame, ObservationalTruth]:
    """Rows and truth of one observational data set; see the module docstring.

    Parameters
    ----------
    variant
        A key of :data:`VARIANTS`: the sizes and how strongly the treated differ from the pool.
    seed
        Seed of ``numpy.random.default_rng``, the only source of randomness.

    Returns
    -------
    rows : pandas.DataFrame
        One row per unit: ``unit_id``, ``program`` (``treated`` or ``none``),
        :data:`COVARIATES` and the outcome ``re78``.
    truth : ObservationalTruth
        The effects on the treated and in the overlap population, the naive difference and
        the sizes.

    Raises
    ------
    ValueError
        If ``variant`` is not a key of :data:`VARIANTS`.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant: got {variant!r}, but expected one of {', '.join(VARIANTS)}")
    v = VARIANTS[variant]
    rng = np.random.default_rng(seed)
    size = (v.n_treated + v.n_pool) * (1 if variant != "no_overlap" else 6)
    x = _population(size, rng)
    if variant == "no_overlap":
        eligible = (x["re74"] == 0) & (x["re75"] == 0) & (x["age"] < 26)
        pool = (x["re75"] > 0) & (x["age"] >= 26)
        treated_idx = rng.choice(np.flatnonzero(eligible), v.n_treated, replace=False)
        pool_idx = rng.choice(np.flatnonzero(pool), v.n_pool, replace=False)
        keep = np.sort(np.concatenate([treated_idx, pool_idx]))
        x = x.iloc[keep].reset_index(drop=True)
        treated = np.isin(keep, treated_idx)
        e = treated.astype(float)
    else:
        score = v.selection * _selection_score(x)
        shift = brentq(lambda c: expit(score + c).sum() - v.n_treated, -40, 40)
        e = expit(score + shift)
        treated = rng.random(size) < e
    mu0, mu1 = _outcome_means(x)
    employed = rng.random(len(x)) < np.where(treated, mu1["p"], mu0["p"])
    log_amount = np.where(treated, mu1["log"], mu0["log"]) + rng.normal(0, _AMOUNT_SD, len(x))
    re78 = np.where(employed, np.round(np.exp(log_amount), 2), 0.0)
    tau = mu1["mean"] - mu0["mean"]
    overlap = e * (1 - e)
    rows = pd.DataFrame(
        {
            "unit_id": unit_ids("W", len(x)),
            "program": np.where(treated, "treated", "none"),
            **{c: x[c].to_numpy() for c in COVARIATES},
            "re78": re78,
        }
    )
    truth = ObservationalTruth(
        variant=variant,
        seed=seed,
        n_treated=int(treated.sum()),
        n_pool=int((~treated).sum()),
        att=float(tau[treated].mean()),
        ato=float((tau * overlap).sum() / overlap.sum()) if overlap.sum() > 0 else float("nan"),
        naive=float(re78[treated].mean() - re78[~treated].mean()),
    )
    return rows, truth


_AMOUNT_SD = 0.7


def _population(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Workers' recorded columns; earnings capacity stays latent (it drives all earnings)."""
    age = np.round(17 + rng.gamma(3.0, 5.5, n)).clip(17, 65)
    education = np.round(rng.normal(11.8, 2.6, n)).clip(3, 18)
    black = rng.random(n) < 0.3
    hispanic = ~black & (rng.random(n) < 0.08)
    married = rng.random(n) < expit(-1.2 + 0.07 * (age - 17))
    capacity = rng.normal(0, 1, n) + 0.12 * (education - 12) + 0.02 * (age - 30) - 0.3 * black
    earnings = {}
    for year, extra in (("re74", 0.0), ("re75", 0.15)):
        works = rng.random(n) < expit(1.4 + 1.3 * capacity + extra + 0.8 * married)
        amount = np.exp(9.3 + 0.55 * capacity + rng.normal(0, 0.5, n))
        earnings[year] = np.where(works, np.round(amount, 2), 0.0)
    return pd.DataFrame(
        {
            "age": age.astype(int),
            "education": education.astype(int),
            "black": black.astype(int),
            "hispanic": hispanic.astype(int),
            "married": married.astype(int),
            "nodegree": (education < 12).astype(int),
            **earnings,
            "_capacity": capacity,
        }
    )


def _selection_score(x: pd.DataFrame) -> np.ndarray:
    """Log-odds (up to a constant) of joining: out of work, young, unmarried, black, no degree."""
    zero74, zero75 = (x["re74"] == 0).to_numpy(), (x["re75"] == 0).to_numpy()
    age = x["age"].to_numpy(dtype=float)
    return (
        1.6 * zero75
        + 0.9 * zero74
        + 0.8 * zero74 * zero75
        - 0.45 * np.log1p(x["re74"].to_numpy() / 1000)
        - 0.3 * np.log1p(x["re75"].to_numpy() / 1000)
        - 0.004 * (age - 22) ** 2
        + 1.3 * x["black"].to_numpy()
        - 1.1 * x["married"].to_numpy()
        + 0.6 * x["nodegree"].to_numpy()
    )


def _outcome_means(x: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Chance of work, log-amount location and mean earnings in 1978, untreated and treated.

    Earnings depend on the latent capacity (which ``re74``/``re75`` only hint at), so the
    expected outcome given the recorded columns is nonlinear in them. The programme adds 0.5
    to the log-odds of work and 8 % to the amounts.
    """
    c = x["_capacity"].to_numpy()
    worked = (x["re75"] > 0).to_numpy()
    age = x["age"].to_numpy(dtype=float)
    logit0 = 0.6 + 0.9 * c + 0.7 * worked - 0.0008 * (age - 35) ** 2
    loc0 = 9.2 + 0.5 * c + 0.04 * np.log1p(x["re75"].to_numpy())
    out = []
    for lift_logit, lift_log in ((0.0, 0.0), (0.5, np.log(1.08))):
        p = expit(logit0 + lift_logit)
        loc = loc0 + lift_log
        out.append({"p": p, "log": loc, "mean": p * np.exp(loc + _AMOUNT_SD**2 / 2)})
    return out[0], out[1]


def simulate_channels(n: int = 6000, *, seed: int) -> tuple[pd.DataFrame, ChannelsTruth]:
    """Three arms (``none``, ``email``, ``social``) chosen by a multinomial rule on ``x1``, ``x2``.

    E-mail raises the outcome ``y`` by 1 + 0.5 x1 (more for the accounts it tends to reach),
    social by nothing.

    Parameters
    ----------
    n
        Number of units (rows).
    seed
        Seed of ``numpy.random.default_rng``, the only source of randomness.

    Returns
    -------
    rows : pandas.DataFrame
        One row per unit: ``unit_id``, ``program`` (the arm), ``x1``, ``x2``, ``y``.
    truth : ChannelsTruth
        Each channel's true effect on the units treated by either channel.
    """
    from scipy.special import softmax

    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(0, 1, n), rng.gamma(2.0, 1.0, n)
    logits = np.column_stack([np.zeros(n), -1.0 + 0.9 * x1, -1.5 + 0.6 * x2 - 0.4 * x1])
    arm = (rng.random(n)[:, None] > np.cumsum(softmax(logits, axis=1), axis=1)).sum(axis=1)
    effect = {"email": 1.0 + 0.5 * x1, "social": np.zeros(n)}
    y = 10 + 2 * x1 + x2 + np.where(arm == 1, effect["email"], 0.0) + rng.normal(0, 2, n)
    rows = pd.DataFrame(
        {
            "unit_id": np.arange(n),
            "program": np.array(["none", "email", "social"])[arm],
            "x1": x1,
            "x2": x2,
            "y": np.round(y, 3),
        }
    )
    return rows, ChannelsTruth(seed=seed, n=n, att={k: float(v[arm > 0].mean()) for k, v in effect.items()})


def write_observational(path: str | Path, variant: str = "psid", *, seed: int) -> Path:
    """Write :func:`simulate_observational` rows as CSV and the truth as ``<stem>.truth.json`` beside them.

    Parameters
    ----------
    path
        The CSV file; the truth goes beside it, with the CSV's SHA-256 under ``data``.
    variant, seed
        As in :func:`simulate_observational`.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    rows, truth = simulate_observational(variant, seed=seed)
    return write_with_truth(path, rows, truth)
