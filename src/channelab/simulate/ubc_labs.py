"""A many-lab replication of Kristofferson, White & Peloza (2014), Study 1, with heterogeneity.

Each lab runs the poppy study (public token, private token, no token, then a donation ask) on
its own participants. The labs share one true effect on average, smaller than the original's,
and differ around it: lab j's *strength* s_j ~ Normal(``mu``, ``tau``) scales the original's
private − public differences, on the donation rate and on the mean donation alike, so the
lab's true private-token rate is public + s_j × (0.78 − 0.58) and its true mean donation
public + s_j × ($0.86 − $0.34). The public and no-token arms are as published in every lab.
Rates are kept within [0.02, 0.98] and the private mean donation at least $0.02 (said in the
truth file when a lab hits a bound).
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from channelab.errors import ChannelabError
from channelab.files import commit, json_bytes
from channelab.simulate.common import unit_ids
from channelab.simulate.ubc import _UBC_AMOUNT_SD_LOG, _UBC_SHOWN, _UBC_STUDY1

__all__ = ["LabTruth", "ManyLabsTruth", "simulate_many_labs", "write_many_labs"]

#: The arms whose difference the original claims (private − public).
_A, _B = "Private token", "Public token"


@dataclass(frozen=True)
class LabTruth:
    """What one simulated lab put into its data.

    Attributes
    ----------
    name, file
        The lab's name and its CSV's name.
    n_per_arm
        Participants per arm.
    strength
        s_j: the share of the original's private − public difference this lab's truth has.
    donated, donation
        Per arm, the true donation rate and mean donation per participant ($).
    effect_donated, effect_donation
        The true private − public differences: in the rate and in the mean donation ($).
    bounded
        Whether a rate or mean hit its bound (so the effect is not exactly s_j × the original's).
    """

    name: str
    file: str
    n_per_arm: int
    strength: float
    donated: dict[str, float]
    donation: dict[str, float]
    effect_donated: float
    effect_donation: float
    bounded: bool


@dataclass(frozen=True)
class ManyLabsTruth:
    """What :func:`simulate_many_labs` put into the labs' data.

    Attributes
    ----------
    scenario
        ``ubc_many_labs``.
    seed
        The simulation's seed.
    mu, tau
        Mean and sd of the labs' strengths.
    mu_donated, tau_donated
        The same on the donation-rate difference (× the original's 0.20).
    mu_donation, tau_donation
        The same on the mean-donation difference (× the original's $0.52).
    labs
        Per lab, its truth.
    """

    scenario: str
    seed: int
    mu: float
    tau: float
    mu_donated: float
    tau_donated: float
    mu_donation: float
    tau_donation: float
    labs: list[LabTruth]


def _lab_rows(
    name: str, prefix: str, n_per_arm: int, strength: float, rng: np.random.Generator
) -> tuple[pd.DataFrame, LabTruth]:
    """One lab's participants: the public and no-token arms as published, private per ``strength``."""
    rate = {a: v[0] for a, v in _UBC_STUDY1.items()}
    mean = {a: v[1] for a, v in _UBC_STUDY1.items()}
    wanted_rate = rate[_B] + strength * (rate[_A] - rate[_B])
    wanted_mean = mean[_B] + strength * (mean[_A] - mean[_B])
    rate[_A] = float(np.clip(wanted_rate, 0.02, 0.98))
    mean[_A] = float(max(wanted_mean, 0.02))
    arms = np.repeat(list(_UBC_STUDY1), n_per_arm)
    rng.shuffle(arms)
    donated = rng.random(arms.size) < np.array([rate[a] for a in arms])
    given = np.array([mean[a] / rate[a] for a in arms])  # mean donation among donors
    sd = _UBC_AMOUNT_SD_LOG
    amount = np.exp(np.log(given) - sd**2 / 2 + sd * rng.normal(size=arms.size))
    rows = pd.DataFrame(
        {
            "participant_id": unit_ids(prefix, arms.size),
            "arm": arms,
            "shown_support": (rng.random(arms.size) < np.array([_UBC_SHOWN[a] for a in arms])).astype(int),
            "donated": donated.astype(int),
            "donation": np.where(donated, np.maximum(np.round(amount, 2), 0.01), 0.0),
        }
    )
    truth = LabTruth(
        name=name,
        file="",
        n_per_arm=n_per_arm,
        strength=strength,
        donated=rate,
        donation=mean,
        effect_donated=rate[_A] - rate[_B],
        effect_donation=mean[_A] - mean[_B],
        bounded=bool(rate[_A] != wanted_rate or mean[_A] != wanted_mean),
    )
    return rows, truth


def simulate_many_labs(
    labs: int = 8,
    *,
    mu: float = 0.5,
    tau: float = 0.4,
    n_per_arm: tuple[int, int] = (60, 200),
    seed: int,
) -> tuple[dict[str, pd.DataFrame], ManyLabsTruth]:
    """Simulate ``labs`` replications of the UBC poppy study whose true effects differ.

    Parameters
    ----------
    labs
        How many labs, 2 to 26; they are named ``Lab A``, ``Lab B``, ...
    mu, tau
        Mean and sd of the labs' strengths (1 is the original's effect, 0 none).
    n_per_arm
        The smallest and largest participants per arm; each lab's is drawn uniformly between.
    seed
        Seed of ``numpy.random.default_rng``, the only source of randomness.

    Returns
    -------
    rows : dict of str to pandas.DataFrame
        Per lab name, one row per participant: ``participant_id`` (led by the lab's letter, so
        the labs' rows stack without clashes), ``arm``, ``shown_support``, ``donated``,
        ``donation``.
    truth : ManyLabsTruth
        μ and τ of the strengths and on each metric's difference, and every lab's truth.

    Raises
    ------
    ChannelabError
        If ``labs`` is outside 2 to 26, ``tau`` is negative or ``n_per_arm`` is not 2 ≤ low ≤ high.
    """
    low, high = n_per_arm
    if not 2 <= labs <= 26 or tau < 0 or not 2 <= low <= high:
        raise ChannelabError(
            f"labs {labs}, tau {tau:g}, n_per_arm {n_per_arm}: expected 2 to 26 labs, tau ≥ 0 and "
            "2 ≤ the smallest ≤ the largest n per arm"
        )
    rng = np.random.default_rng(seed)
    strengths = mu + tau * rng.standard_normal(labs)
    sizes = rng.integers(low, high + 1, size=labs)
    rows, truths = {}, []
    for j, letter in enumerate(string.ascii_uppercase[:labs]):
        frame, lab = _lab_rows(f"Lab {letter}", letter, int(sizes[j]), float(strengths[j]), rng)
        rows[lab.name] = frame
        truths.append(lab)
    gap_rate = _UBC_STUDY1[_A][0] - _UBC_STUDY1[_B][0]
    gap_mean = _UBC_STUDY1[_A][1] - _UBC_STUDY1[_B][1]
    return rows, ManyLabsTruth(
        scenario="ubc_many_labs",
        seed=seed,
        mu=mu,
        tau=tau,
        mu_donated=mu * gap_rate,
        tau_donated=tau * gap_rate,
        mu_donation=mu * gap_mean,
        tau_donation=tau * gap_mean,
        labs=truths,
    )


def write_many_labs(
    folder: str | Path, labs: int = 8, *, seed: int, mu: float = 0.5, tau: float = 0.4
) -> Path:
    """Write each lab's rows as ``FOLDER/lab_x.csv`` and the truth as ``FOLDER/ubc_many_labs.truth.json``.

    All files are written at once (nothing is left half-written). The truth records each
    file's name, rows and SHA-256.

    Parameters
    ----------
    folder
        The folder the files go into (created if missing).
    labs, seed, mu, tau
        As in :func:`simulate_many_labs`.

    Returns
    -------
    pathlib.Path
        The truth file.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows, truth = simulate_many_labs(labs, seed=seed, mu=mu, tau=tau)
    files: dict[Path, bytes] = {}
    described = []
    for lab in truth.labs:
        path = folder / f"lab_{lab.name.split()[-1].lower()}.csv"
        payload = rows[lab.name].to_csv(index=False, lineterminator="\n").encode()
        files[path] = payload
        sha = hashlib.sha256(payload).hexdigest()
        described.append(asdict(lab) | {"file": path.name, "rows": len(rows[lab.name]), "sha256": sha})
    target = folder / "ubc_many_labs.truth.json"
    files[target] = json_bytes(asdict(truth) | {"labs": described})
    commit(files)
    return target
