"""A simulated programme written as files: the summaries table ``learn`` reads, and its truth.

``channelab simulate programme --out data/outreach_programme.csv`` writes the table of published
per-test summaries (:func:`~channelab.simulate.programme.programme_summaries`) and, beside it,
``<stem>.truth.json``: each channel's true mean effects, spreads and link, and every test's true
effects, so a reader can check what ``learn`` says against what was simulated.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from channelab.files import check_outputs, commit, json_bytes
from channelab.simulate.programme import (
    SOCIAL_PROGRAMME,
    ChannelTruth,
    Programme,
    programme_summaries,
    simulate_programme,
)

__all__ = ["ProgrammeFiles", "programme_truth", "write_programme"]


class ProgrammeFiles(NamedTuple):
    """The files written and the programme simulated.

    Attributes
    ----------
    data, truth_path
        The summaries table and its truth file.
    programme
        The simulation.
    """

    data: Path
    truth_path: Path
    programme: Programme


def programme_truth(programme: Programme) -> dict[str, Any]:
    """The truth of a simulated programme as JSON-ready data.

    Parameters
    ----------
    programme
        A :func:`~channelab.simulate.programme.simulate_programme` result.

    Returns
    -------
    dict
        ``channels`` (each channel's μ and τ of both metrics on log(1 + lift), the slope, R² and
        its number of tests, with the mean lifts e^μ − 1) and ``tests`` (per test, arm and metric:
        the true log lift, lift and difference).
    """
    channels = [
        {
            "channel": c.channel,
            "tests": c.tests,
            "mu_engagement": c.mu_engagement,
            "mu_outcome": c.mu_outcome,
            "lift_engagement": math.expm1(c.mu_engagement),
            "lift_outcome": math.expm1(c.mu_outcome),
            "tau_engagement": c.tau_engagement,
            "tau_outcome": c.tau_outcome,
            "slope": c.slope,
            "r_squared": c.r_squared,
        }
        for c in programme.channels
    ]
    names = {(r.spec_hash, r.arm): r.experiment for r in programme.records}
    tests = [
        {
            "experiment": names[spec_hash, arm],
            "arm": arm,
            "metric": metric,
            "loglift": t.loglift,
            "lift": math.expm1(t.loglift),
            "diff": t.diff,
        }
        for (spec_hash, arm, metric), t in programme.truth.items()
    ]
    return {"seed": programme.seed, "channels": channels, "tests": tests}


def write_programme(
    path: str | Path, *, seed: int, channels: Sequence[ChannelTruth] = SOCIAL_PROGRAMME
) -> ProgrammeFiles:
    """Simulate a programme and write its summaries table and ``<stem>.truth.json`` together.

    Parameters
    ----------
    path
        The CSV to write.
    seed
        The simulation's seed: the same seed gives byte-identical files.
    channels
        The channels' truths (default: the worked example, :data:`SOCIAL_PROGRAMME`).

    Returns
    -------
    ProgrammeFiles
        The paths and the simulation.
    """
    path = Path(path)
    truth_path = path.with_name(f"{path.stem}.truth.json")
    check_outputs([path, truth_path])  # a bad --out fails before the simulation, not after
    programme = simulate_programme(channels, seed=seed)
    payload = programme_summaries(programme).to_csv(index=False, lineterminator="\n").encode()
    data = {
        "file": path.name,
        "rows": payload.count(b"\n") - 1,
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    commit({path: payload, truth_path: json_bytes(programme_truth(programme) | {"data": data})})
    return ProgrammeFiles(path, truth_path, programme)
