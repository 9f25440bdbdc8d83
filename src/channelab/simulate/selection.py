"""Observational CRM data in which reps chose the already-engaged accounts, with the truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import expit

from channelab.simulate.common import TruthRecord, unit_ids, write_with_truth
from channelab.simulate.scenarios import SEGMENTS

#: True effects on the treated in :func:`simulate_selection`, as rate ratios: social selling
#: lifts likes and comments, not meetings.
_SELECTION_RATIOS = {"likes_comments": 2.5, "meetings": 1.0}


@dataclass(frozen=True)
class SelectionTruth(TruthRecord):
    """What :func:`simulate_selection` put into the data, and what a naive comparison shows.

    :meth:`~channelab.simulate.common.TruthRecord.to_dict` gives the layout of the truth file
    (the attributes in this order); :func:`write_selection` adds ``data``.

    Attributes
    ----------
    scenario
        Always ``selection``.
    seed, n
        The simulation's seed and number of accounts.
    att
        Per metric, the true effect on the treated (social) accounts as a relative lift: their
        expected total with social selling over their expected total without it, minus 1.
    naive
        Per metric, the lift the data show: the social accounts' mean over the others', minus 1.
    """

    scenario: Literal["selection"] = field(default="selection", init=False)
    seed: int
    n: int
    att: dict[str, float]
    naive: dict[str, float]


def simulate_selection(n_accounts: int = 20_000, *, seed: int) -> tuple[pd.DataFrame, SelectionTruth]:
    """Observational CRM data in which reps chose the already-engaged accounts for social selling.

    Each account has a company size, an industry and ``prior_engagement`` (standardised site
    and e-mail activity of the last quarter, measured before anyone chose). The chance of
    social selling rises steeply with prior engagement and with company size; likes/comments
    and meetings (negative binomial) rise with prior engagement too. Social selling multiplies
    likes/comments by 2.5 and leaves meetings unchanged, so a naive comparison credits it with
    the meetings that engaged accounts book anyway.

    Parameters
    ----------
    n_accounts
        Number of accounts (rows).
    seed
        Seed of ``numpy.random.default_rng``, the only source of randomness.

    Returns
    -------
    rows : pandas.DataFrame
        One row per account: ``account_id``, ``company_size``, ``industry``,
        ``prior_engagement`` and its decile ``engagement_band``, ``channel`` (``social`` or
        ``none``), ``likes_comments``, ``meetings``.
    truth : SelectionTruth
        The true effect on the treated per metric and the naive lift the data show.
    """
    rng = np.random.default_rng(seed)
    size = rng.choice(["smb", "mid_market", "enterprise"], n_accounts, p=[0.5, 0.3, 0.2])
    industry = rng.choice(list(SEGMENTS["industry"]), n_accounts, p=[0.35, 0.25, 0.2, 0.2])
    engagement = rng.normal(0.0, 1.0, n_accounts)
    size_effect = np.select([size == "enterprise", size == "mid_market"], [0.5, 0.2], 0.0)
    social = rng.random(n_accounts) < expit(-1.3 + 1.1 * engagement + size_effect)
    base = {"likes_comments": (np.log(1.5), 0.6, 1.0), "meetings": (np.log(0.25), 0.45, 0.3)}
    columns: dict[str, Any] = {
        "account_id": unit_ids("A", n_accounts),
        "company_size": size,
        "industry": industry,
        "prior_engagement": np.round(engagement, 4),
        "engagement_band": pd.qcut(engagement, 10, labels=[f"d{i:02d}" for i in range(1, 11)]).astype(str),
        "channel": np.where(social, "social", "none"),
    }
    att: dict[str, float] = {}
    naive: dict[str, float] = {}
    for name, (intercept, slope, overdispersion) in base.items():
        mu0 = np.exp(intercept + slope * engagement + 0.5 * size_effect)
        mu = mu0 * np.where(social, _SELECTION_RATIOS[name], 1.0)
        r = 1.0 / overdispersion
        y = rng.negative_binomial(r, r / (r + mu))
        columns[name] = y
        att[name] = float(mu[social].sum() / mu0[social].sum() - 1)
        naive[name] = float(y[social].mean() / y[~social].mean() - 1)
    return pd.DataFrame(columns), SelectionTruth(seed=seed, n=n_accounts, att=att, naive=naive)


def write_selection(path: str | Path, *, n_accounts: int = 20_000, seed: int) -> Path:
    """Write :func:`simulate_selection` rows as CSV and the truth as ``<stem>.truth.json`` beside them.

    Parameters
    ----------
    path
        The CSV file; the truth goes beside it, with the CSV's SHA-256 under ``data``.
    n_accounts, seed
        As in :func:`simulate_selection`.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    rows, truth = simulate_selection(n_accounts, seed=seed)
    return write_with_truth(path, rows, truth)
