"""When simulated units enter a test and when their outcomes arrive: entry dates and delays per arm.

Units enter on weekdays spread evenly over ``weeks`` weeks from ``start``. An outcome arrives
``delay`` days after entry, drawn per arm from ``max_days`` × Beta(2, b) with the arm's mean
delay, so every outcome arrives within ``max_days``: with an outcome window at least that
long, the windowed outcome is the eventual one and a fast and a slow channel with the same
effect have the same windowed lift. Read before then, the slow channel's outcomes are missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy import stats

#: Mean days from first touch to a booked meeting, per channel (illustrative: a call books one
#: in days, a social touch in weeks).
MEETING_DELAYS: dict[str, float] = {
    "control": 8.0,
    "email": 7.0,
    "phone": 3.0,
    "social": 18.0,
    "video": 10.0,
    "in_person": 5.0,
    "other": 8.0,
}


@dataclass(frozen=True)
class Arrival:
    """Entry over ``weeks`` weeks from ``start`` (a Monday); mean outcome delays per channel (days).

    Attributes
    ----------
    weeks
        Weeks over which units enter, one or more.
    start
        The first day of entry (a Monday).
    delays
        Per channel, the mean days from entry to an outcome, strictly between 0 and ``max_days``.
    max_days
        Every outcome arrives within this many days of entry.
    """

    weeks: int = 12
    start: date = date(2026, 1, 5)
    delays: Mapping[str, float] = field(default_factory=lambda: dict(MEETING_DELAYS))
    max_days: int = 28

    def __post_init__(self) -> None:
        bad = {k: v for k, v in self.delays.items() if not 0 < v < self.max_days}
        if self.weeks < 1 or self.max_days < 1 or bad:
            raise ValueError(
                f"Arrival: got weeks={self.weeks}, max_days={self.max_days}, delays {bad or ''}; "
                "expected weeks and max_days ≥ 1 and every mean delay strictly between 0 and max_days"
            )

    def delay_cdf(self, channel: str, days: float) -> float:
        """P(delay ≤ ``days``) for ``channel``: the share of its outcomes that have arrived by then."""
        a, b = self._beta(channel)
        return float(stats.beta.cdf(min(days / self.max_days, 1.0), a, b))

    def _beta(self, channel: str) -> tuple[float, float]:
        share = self.delays[channel] / self.max_days
        return 2.0, 2.0 * (1 / share - 1)

    def to_dict(self) -> dict[str, object]:
        """The settings as JSON-ready data."""
        return {
            "weeks": self.weeks,
            "start": self.start.isoformat(),
            "delays": dict(self.delays),
            "max_days": self.max_days,
        }


def entry_dates(week: np.ndarray, arrival: Arrival, rng: np.random.Generator) -> np.ndarray:
    """Entry date of each unit: a weekday (Monday to Friday) of its week (1-based)."""
    days = 7 * (np.asarray(week) - 1) + rng.integers(0, 5, size=len(week))
    return np.array([arrival.start + timedelta(days=int(d)) for d in days], dtype=object)


def outcome_dates(
    entered: np.ndarray,
    happened: np.ndarray,
    channels: np.ndarray,
    arrival: Arrival,
    rng: np.random.Generator,
) -> np.ndarray:
    """Date of each unit's outcome (``None`` where ``happened`` is false), delayed by its channel."""
    delay = np.zeros(len(entered))
    for channel in np.unique(channels):
        on = channels == channel
        a, b = arrival._beta(str(channel))
        delay[on] = arrival.max_days * rng.beta(a, b, size=int(on.sum()))
    return np.array(
        [e + timedelta(days=int(d)) if h else None for e, d, h in zip(entered, delay, happened, strict=True)],
        dtype=object,
    )


def iso(dates: np.ndarray) -> pd.Series:
    """Dates as ISO text (``2026-01-05``), blank where there is none: what a CSV export holds."""
    return pd.Series([d.isoformat() if d is not None else "" for d in dates], dtype=object)


def snapshot(
    rows: pd.DataFrame, as_of: date, *, entered: str = "entered_at", outcomes: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The export as it stood on ``as_of``: rows entered by then, outcomes dated later not yet there.

    Parameters
    ----------
    rows
        Rows with entry and outcome dates as ISO text, as
        :func:`~channelab.simulate.simulate_outreach` writes them with an :class:`Arrival`; not
        changed.
    as_of
        The date of the export.
    entered
        The column of entry dates.
    outcomes
        Each outcome column and its date column (default ``{"meetings": "meetings_at"}``); an
        outcome dated after ``as_of`` reads 0 with a blank date.

    Returns
    -------
    pandas.DataFrame
        The rows entered by ``as_of``, in their order, with a fresh index.
    """
    dates = pd.to_datetime(rows[entered])
    out = rows[dates <= pd.Timestamp(as_of)].copy()
    for column, at in (outcomes or {"meetings": "meetings_at"}).items():
        late = pd.to_datetime(out[at].replace("", None)) > pd.Timestamp(as_of)
        out.loc[late, column] = 0
        out.loc[late, at] = ""
    return out.reset_index(drop=True)


def timed_test(
    n: int,
    rates: Mapping[str, float],
    channels: Mapping[str, str],
    arrival: Arrival,
    seed: int,
    *,
    outcome: str = "meeting",
) -> pd.DataFrame:
    """One test's rows as exported after its last outcome: arm, entry date, outcome (0/1) and its date.

    The ``n`` units are split evenly over the arms in a random order and enter in a week drawn
    uniformly from ``arrival.weeks``, on a weekday (:func:`entry_dates`). A unit of arm ``a``
    has the outcome with probability ``rates[a]``, dated after a delay drawn for the arm's
    channel (:func:`outcome_dates`), always within ``arrival.max_days``: ``rates`` are the
    true shares with the outcome within any window of at least that many days, whatever the
    delays. A channel that only speeds outcomes up has its control's rate and a shorter delay.

    Parameters
    ----------
    n
        Units in all arms together.
    rates
        Per arm, the probability of the outcome.
    channels
        Per arm (the same arms as ``rates``), its channel: a key of ``arrival.delays``.
    arrival
        Entry weeks, first day, mean delays per channel and the longest delay.
    seed
        Seeds every draw: the same arguments give the same rows.
    outcome
        The outcome's column; its date is ``{outcome}_at``.

    Returns
    -------
    pandas.DataFrame
        Columns ``arm``, ``entered_at``, ``{outcome}`` and ``{outcome}_at`` (dates as ISO text,
        blank where there is no outcome), one row per unit.

    Raises
    ------
    ValueError
        If ``n`` is below 1, a rate lies outside [0, 1], ``rates`` and ``channels`` name other
        arms, or a channel has no mean delay in ``arrival``.
    """
    unknown = sorted({c for c in channels.values() if c not in arrival.delays})
    bad = {a: r for a, r in rates.items() if not 0.0 <= r <= 1.0}
    if n < 1 or bad or set(rates) != set(channels) or unknown:
        raise ValueError(
            f"timed_test: got n={n}, rates {dict(rates)}, channels {dict(channels)}; expected n ≥ 1, "
            f"rates in [0, 1], the same arms in both and channels with a delay in arrival.delays "
            f"(none for {unknown})"
        )
    rng = np.random.default_rng(seed)
    labels = np.array(list(rates))
    arm = labels[rng.permutation(np.arange(n) % len(labels))]
    happened = rng.random(n) < np.array([rates[a] for a in arm])
    entered = entry_dates(rng.integers(1, arrival.weeks + 1, size=n), arrival, rng)
    dated = outcome_dates(entered, happened, np.array([channels[a] for a in arm]), arrival, rng)
    return pd.DataFrame(
        {"arm": arm, "entered_at": iso(entered), outcome: happened.astype(int), f"{outcome}_at": iso(dated)}
    )
