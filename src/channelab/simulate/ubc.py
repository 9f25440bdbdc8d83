"""A replication of Kristofferson, White & Peloza (2014), Study 1, with or without the original effect."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from channelab.errors import ChannelabError

if TYPE_CHECKING:
    pass
from channelab.simulate.common import unit_ids, write_with_truth

#: token act itself, the engagement stage. Not published; people without a token may wear their own.
UBC_SHOWN: dict[str, float] = {"Private token": 0.25, "Public token": 0.95, "No token": 0.20}

#: Log-sd of positive donations (assumed).
UBC_AMOUNT_SD_LOG = 0.75


#: Study 1 as published (secondary sources): share who donated and mean donation ($) per arm.
UBC_STUDY1: dict[str, tuple[float, float]] = {
    "Private token": (0.78, 0.86),
    "Public token": (0.58, 0.34),
    "No token": (0.56, 0.15),
}

#: Assumed share who show support in public afterwards (wear the poppy on the concourse): the


def simulate_replication(
    n_per_arm: int, *, effect: Literal["original", "null"], seed: int
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A replication of the UBC poppy study: public token, private token or no token, then a donation ask.

    ``effect="original"``: donation rates and mean donations as published (:data:`UBC_STUDY1`).
    ``effect="null"``: every arm donates like the no-token arm, so private = public. In both,
    the public token is shown far more often (:data:`UBC_SHOWN`). Donations are a hurdle: who
    gives (Bernoulli), then how much (lognormal, rounded to cents, mean per arm matching the
    published mean per participant).

    Returns rows (``participant_id``, ``arm``, ``shown_support``, ``donated``, ``donation``) and
    the truth: per arm the true donation rate and mean donation per participant.
    """
    if n_per_arm < 2:
        raise ChannelabError(f"n_per_arm: got {n_per_arm}, but expected at least 2 participants per arm")
    rng = np.random.default_rng(seed)
    arms = np.repeat(list(UBC_STUDY1), n_per_arm)
    rng.shuffle(arms)
    truth: dict[str, Any] = {"scenario": f"ubc_replication_{effect}", "seed": seed, "n_per_arm": n_per_arm}
    rate = {a: UBC_STUDY1[a if effect == "original" else "No token"][0] for a in UBC_STUDY1}
    mean = {a: UBC_STUDY1[a if effect == "original" else "No token"][1] for a in UBC_STUDY1}
    truth["donated"] = rate
    truth["donation"] = mean
    p = np.array([rate[a] for a in arms])
    given = np.array([mean[a] / rate[a] for a in arms])  # mean donation among donors
    donated = rng.random(arms.size) < p
    amount = np.exp(np.log(given) - UBC_AMOUNT_SD_LOG**2 / 2 + UBC_AMOUNT_SD_LOG * rng.normal(size=arms.size))
    rows = pd.DataFrame(
        {
            "participant_id": unit_ids("U", arms.size),
            "arm": arms,
            "shown_support": (rng.random(arms.size) < np.array([UBC_SHOWN[a] for a in arms])).astype(int),
            "donated": donated.astype(int),
            "donation": np.where(donated, np.maximum(np.round(amount, 2), 0.01), 0.0),
        }
    )
    return rows, truth


def write_replication(
    path: str | Path, *, n_per_arm: int, effect: Literal["original", "null"], seed: int
) -> Path:
    """Write :func:`simulate_replication` rows as CSV and the truth as ``<stem>.truth.json`` beside them."""
    rows, truth = simulate_replication(n_per_arm, effect=effect, seed=seed)
    return write_with_truth(path, rows, truth)
