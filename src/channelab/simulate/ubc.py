"""A replication of Kristofferson, White & Peloza (2014), Study 1, with or without the original effect."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from channelab.errors import ChannelabError
from channelab.simulate.common import TruthRecord, unit_ids, write_with_truth

#: Study 1 as published (secondary sources): share who donated and mean donation ($) per arm.
_UBC_STUDY1: dict[str, tuple[float, float]] = {
    "Private token": (0.78, 0.86),
    "Public token": (0.58, 0.34),
    "No token": (0.56, 0.15),
}

#: Assumed share who show support in public afterwards (wear the poppy on the concourse): the
#: token act itself, the engagement stage. Not published; people without a token may wear their own.
_UBC_SHOWN: dict[str, float] = {"Private token": 0.25, "Public token": 0.95, "No token": 0.20}

#: Log-sd of positive donations (assumed).
_UBC_AMOUNT_SD_LOG = 0.75


@dataclass(frozen=True)
class ReplicationTruth(TruthRecord):
    """What :func:`simulate_replication` put into the data: per arm, who donates and how much.

    :meth:`~channelab.simulate.common.TruthRecord.to_dict` gives the layout of the truth file
    (the attributes in this order); :func:`write_replication` adds ``data``.

    Attributes
    ----------
    scenario
        ``ubc_replication_original`` or ``ubc_replication_null``.
    seed, n_per_arm
        The simulation's seed and participants per arm.
    donated
        Per arm, the true donation rate.
    donation
        Per arm, the true mean donation per participant ($, 0 for those who give nothing).
    """

    scenario: str
    seed: int
    n_per_arm: int
    donated: dict[str, float]
    donation: dict[str, float]


def simulate_replication(
    n_per_arm: int, *, effect: Literal["original", "null"], seed: int
) -> tuple[pd.DataFrame, ReplicationTruth]:
    """A replication of the UBC poppy study: public token, private token or no token, then a donation ask.

    Both versions show the public token far more often than the others. Donations are a
    hurdle: who gives (Bernoulli), then how much (lognormal, rounded to cents, mean per arm
    matching the published mean per participant).

    Parameters
    ----------
    n_per_arm
        Participants per arm, at least 2; the arms are shuffled into one order.
    effect
        ``original``: donation rates and mean donations as published. ``null``: every arm
        donates like the no-token arm, so private = public.
    seed
        Seed of ``numpy.random.default_rng``, the only source of randomness.

    Returns
    -------
    rows : pandas.DataFrame
        One row per participant: ``participant_id``, ``arm``, ``shown_support``, ``donated``
        (0/1), ``donation`` ($).
    truth : ReplicationTruth
        Per arm, the true donation rate and mean donation per participant.

    Raises
    ------
    ChannelabError
        If ``n_per_arm`` is below 2.
    """
    if n_per_arm < 2:
        raise ChannelabError(f"n_per_arm: got {n_per_arm}, but expected at least 2 participants per arm")
    rng = np.random.default_rng(seed)
    arms = np.repeat(list(_UBC_STUDY1), n_per_arm)
    rng.shuffle(arms)
    rate = {a: _UBC_STUDY1[a if effect == "original" else "No token"][0] for a in _UBC_STUDY1}
    mean = {a: _UBC_STUDY1[a if effect == "original" else "No token"][1] for a in _UBC_STUDY1}
    p = np.array([rate[a] for a in arms])
    given = np.array([mean[a] / rate[a] for a in arms])  # mean donation among donors
    donated = rng.random(arms.size) < p
    sd = _UBC_AMOUNT_SD_LOG
    amount = np.exp(np.log(given) - sd**2 / 2 + sd * rng.normal(size=arms.size))
    rows = pd.DataFrame(
        {
            "participant_id": unit_ids("U", arms.size),
            "arm": arms,
            "shown_support": (rng.random(arms.size) < np.array([_UBC_SHOWN[a] for a in arms])).astype(int),
            "donated": donated.astype(int),
            "donation": np.where(donated, np.maximum(np.round(amount, 2), 0.01), 0.0),
        }
    )
    truth = ReplicationTruth(
        scenario=f"ubc_replication_{effect}", seed=seed, n_per_arm=n_per_arm, donated=rate, donation=mean
    )
    return rows, truth


def write_replication(
    path: str | Path, *, n_per_arm: int, effect: Literal["original", "null"], seed: int
) -> Path:
    """Write :func:`simulate_replication` rows as CSV and the truth as ``<stem>.truth.json`` beside them.

    Parameters
    ----------
    path
        The CSV file; the truth goes beside it, with the CSV's SHA-256 under ``data``.
    n_per_arm, effect, seed
        As in :func:`simulate_replication`.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    rows, truth = simulate_replication(n_per_arm, effect=effect, seed=seed)
    return write_with_truth(path, rows, truth)
