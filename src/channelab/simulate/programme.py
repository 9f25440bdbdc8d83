"""A programme of many A/B tests of outreach channels, as registry records, with the truth.

Each channel has, on the log(1 + lift) scale, population mean effects on an engagement metric
(``profile_views``) and an outcome metric (``meetings``), their between-test spreads, and a
trial-level link (:class:`ChannelTruth`). Each test has its own control rates and size, a control
and a treatment arm, and per arm a 2x2 joint of (engaged, booked) with a fixed odds ratio, whose
cells are drawn exactly by a multinomial. Each test becomes what a channelab run records: a
:class:`~channelab.engine.registry.Record` per metric, from the Beta(1/2 + x, 1/2 + n - x)
posteriors of the arms' rates, and a :class:`~channelab.engine.registry.Covariance` of the pair.
The programme launches its winners: the arms whose outcome verdict is ``real lift``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

import numpy as np
import pandas as pd

from channelab.engine.registry.records import Covariance, Record
from channelab.errors import ChannelabError
from channelab.limits import (
    MAX_DATE_YEAR,
    MAX_LABEL,
    MAX_PROGRAMME_EFFECT,
    MAX_PROGRAMME_ODDS_RATIO,
    MAX_PROGRAMME_TESTS,
    MAX_UNITS,
    MIN_DATE_YEAR,
)
from channelab.simulate.paired_binary import WIN_PROBABILITY, cell_probabilities, posteriors, verdicts
from channelab.spec import Role

__all__ = [
    "ENGAGEMENT_METRIC",
    "OUTCOME_METRIC",
    "SOCIAL_PROGRAMME",
    "WIN_PROBABILITY",
    "ChannelTruth",
    "Observed",
    "Programme",
    "TrueEffect",
    "programme_summaries",
    "simulate_programme",
]

#: The engagement metric of every test (role ``engagement``), and the outcome (role ``outcome``).
ENGAGEMENT_METRIC = "profile_views"
OUTCOME_METRIC = "meetings"
#: The control arm's label in every test.
CONTROL = "control"
#: Days each test runs; tests start on days spread uniformly over a year.
TEST_DAYS = 28
#: Highest true rate of a treatment arm: a control rate whose lift would pass it is lowered to it.
MAX_ARM_RATE = 0.95
_METRICS = (ENGAGEMENT_METRIC, OUTCOME_METRIC)
_METRIC_ROLES: tuple[tuple[str, Role], ...] = ((ENGAGEMENT_METRIC, "engagement"), (OUTCOME_METRIC, "outcome"))


@dataclass(frozen=True)
class ChannelTruth:
    """One channel's true effects across the tests of a programme (log(1 + lift) scale).

    Attributes
    ----------
    channel
        The channel's name, also the treatment arm's label in its tests.
    mu_engagement, mu_outcome
        Population mean effect on the engagement and on the outcome metric.
    tau_engagement
        Between-test sd of the engagement effect.
    tau_outcome_resid
        Between-test sd of the outcome effect around the link's line.
    slope
        The trial-level link: a test's true outcome effect is ``mu_outcome + slope *
        (theta_engagement - mu_engagement) + N(0, tau_outcome_resid²)``.
    tests
        How many tests of this channel the programme runs.
    """

    channel: str
    mu_engagement: float
    mu_outcome: float
    tau_engagement: float
    tau_outcome_resid: float
    slope: float
    tests: int

    def __post_init__(self) -> None:
        problem = _channel_problem(self)
        if problem:
            raise ChannelabError(f"channel {self.channel!r}: {problem}")

    @property
    def tau_outcome(self) -> float:
        """Between-test sd of the outcome effect: sqrt(slope² tau_engagement² + tau_outcome_resid²)."""
        return math.hypot(self.slope * self.tau_engagement, self.tau_outcome_resid)

    @property
    def r_squared(self) -> float:
        """Share of the between-test variance of the outcome effect the link explains (nan if none)."""
        explained = (self.slope * self.tau_engagement) ** 2
        total = explained + self.tau_outcome_resid**2
        return explained / total if total > 0 else math.nan


def _channel_problem(c: ChannelTruth) -> str | None:
    if not isinstance(c.channel, str) or not c.channel.strip() or len(c.channel) > MAX_LABEL:
        return f"the name must be non-empty text of at most {MAX_LABEL} characters"
    if c.channel == CONTROL:
        return f"{CONTROL!r} is the control arm's label; name the channel otherwise"
    if isinstance(c.tests, bool) or not isinstance(c.tests, int) or c.tests < 1:
        return f"tests: got {c.tests!r}, but expected a whole number of at least 1"
    for name in ("mu_engagement", "mu_outcome", "tau_engagement", "tau_outcome_resid", "slope"):
        value = getattr(c, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return f"{name}: got {value!r}, but expected a finite number"
        if abs(value) > MAX_PROGRAMME_EFFECT:
            return f"{name}: got {value!r}, but expected at most {MAX_PROGRAMME_EFFECT:g} in size"
        if name.startswith("tau") and value < 0:
            return f"{name}: got {value!r}, but a between-test sd cannot be negative"
    return None


@dataclass(frozen=True)
class TrueEffect:
    """A test arm's true effect on one metric: the population values its record estimates.

    Attributes
    ----------
    loglift
        True log(1 + lift), ``log(arm_rate / control_rate)``: the test's theta.
    diff
        True absolute difference, ``arm_rate - control_rate``.
    control_rate, arm_rate
        True rates of the metric in control and in the arm.
    """

    loglift: float
    diff: float
    control_rate: float
    arm_rate: float


@dataclass(frozen=True)
class Observed:
    """What one test observed: per arm, the units in each cell of (engaged, booked).

    Attributes
    ----------
    spec_hash, arm
        The test and its treatment arm, as in its records.
    n_per_arm
        Units in each arm.
    control, treated
        Per arm, units that (engaged and booked, engaged only, booked only, neither).
    """

    spec_hash: str
    arm: str
    n_per_arm: int
    control: tuple[int, int, int, int]
    treated: tuple[int, int, int, int]


@dataclass(frozen=True)
class Programme:
    """A simulated programme of tests: the records a registry would hold, and the truth.

    Attributes
    ----------
    records
        Two :class:`~channelab.engine.registry.Record` s per test (engagement, then outcome),
        tests of a channel in date order, channels in the order given.
    covariances
        One :class:`~channelab.engine.registry.Covariance` per test, of its two metrics.
    truth
        Per record key ``(spec_hash, arm, metric)``: the test's :class:`TrueEffect`.
    tables
        Per test, its observed 2x2 counts per arm (:class:`Observed`).
    channels
        The channels' truths, as given.
    seed
        The seed of the simulation.
    """

    records: tuple[Record, ...]
    covariances: tuple[Covariance, ...]
    truth: Mapping[tuple[str, str, str], TrueEffect]
    tables: tuple[Observed, ...]
    channels: tuple[ChannelTruth, ...]
    seed: int


#: The worked example: social touches lift profile views by 180 % and meetings by about 1 %,
#: with no link between the two; e-mails lift both modestly, and tests with more engagement book more.
SOCIAL_PROGRAMME: tuple[ChannelTruth, ...] = (
    ChannelTruth("social", math.log(2.8), math.log(1.01), 0.25, 0.05, 0.0, tests=14),
    ChannelTruth("email", math.log(1.3), math.log(1.12), 0.15, 0.04, 0.5, tests=12),
)


class _Draws(NamedTuple):
    """Arrays over all tests (axis 0); arm axis: control, treated; metric axis: engagement, outcome."""

    channel: np.ndarray  # (T,) index into the channels
    number: np.ndarray  # (T,) 1-based test number within the channel, in date order
    day: np.ndarray  # (T,) start day within the year
    n: np.ndarray  # (T,) units per arm
    rate: np.ndarray  # (T, 2 arms, 2 metrics) true rates
    cells: np.ndarray  # (T, 2 arms, 4 cells) counts: both, engaged only, booked only, neither


def simulate_programme(
    channels: Sequence[ChannelTruth],
    *,
    seed: int,
    n_per_arm: tuple[int, int] = (500, 5000),
    engagement_rate: tuple[float, float] = (0.05, 0.3),
    outcome_rate: tuple[float, float] = (0.01, 0.05),
    odds_ratio: float = 4.0,
    start: date = date(2025, 1, 6),
) -> Programme:
    """Simulate a programme of tests of ``channels``; return its records, covariances and truth.

    Per test: true effects on the channel's link, control rates uniform in the ranges (lowered
    where control x e^theta would pass :data:`MAX_ARM_RATE`), units per arm uniform in
    ``n_per_arm`` (both arms alike), per arm a multinomial draw of the 2x2 (engaged, booked)
    cells, and :data:`TEST_DAYS` days from a day uniform over the year from ``start``.

    Parameters
    ----------
    channels
        The channels, with distinct names.
    seed
        Seed of ``numpy.random.default_rng``, the only source of randomness.
    n_per_arm
        Smallest and largest units per arm (each at least 2).
    engagement_rate, outcome_rate
        Lowest and highest control rate of each metric (within (0, 1)).
    odds_ratio
        Within-unit odds ratio of booking between units that engaged and units that did not
        (1 is independence; above 1, engaged units book more).
    start
        The first day of the programme's year.

    Returns
    -------
    Programme
        The records, covariances, truth and observed tables.

    Raises
    ------
    ChannelabError
        If a channel, range or the odds ratio is out of bounds, two channels share a name, or
        the programme would hold more than ``MAX_PROGRAMME_TESTS`` tests.
    """
    channels = tuple(channels)
    rates = (engagement_rate, outcome_rate)
    _check_inputs(channels, n_per_arm, rates, odds_ratio, start)
    draws = _draw(channels, np.random.default_rng(seed), n_per_arm, rates, odds_ratio)
    return _programme(channels, draws, seed, start)


def _check_range(name: str, bounds: tuple[float, float], low: float, high: float, *, open_: bool) -> None:
    """Refuse ``bounds`` unless it is (lowest, highest) within (low, high), or [low, high] when closed."""
    whole = name == "n_per_arm"  # unit counts are whole numbers
    kind = int if whole else int | float
    ok = isinstance(bounds, tuple | list) and len(bounds) == 2
    ok = ok and all(isinstance(b, kind) and not isinstance(b, bool) and math.isfinite(b) for b in bounds)
    if ok and open_:
        ok = low < bounds[0] <= bounds[1] < high
    elif ok:
        ok = low <= bounds[0] <= bounds[1] <= high
    if not ok:
        where = f"({low:g}, {high:g})" if open_ else f"[{low:g}, {high:g}]"
        numbers = "two whole numbers" if whole else "two numbers"
        raise ChannelabError(
            f"{name}: got {bounds!r}, but expected {numbers} (lowest, highest) within {where}"
        )


def _check_inputs(
    channels: tuple[ChannelTruth, ...],
    n_per_arm: tuple[int, int],
    rates: tuple[tuple[float, float], tuple[float, float]],
    odds_ratio: float,
    start: date,
) -> None:
    if not channels or not all(isinstance(c, ChannelTruth) for c in channels):
        raise ChannelabError("channels: expected at least one ChannelTruth, and only ChannelTruths")
    names = [c.channel for c in channels]
    if len(set(names)) < len(names):
        raise ChannelabError(f"channels: got the names {names}, but each channel must be named once")
    if (total := sum(c.tests for c in channels)) > MAX_PROGRAMME_TESTS:
        raise ChannelabError(f"channels: {total:,} tests in all, but at most {MAX_PROGRAMME_TESTS:,}")
    _check_range("n_per_arm", n_per_arm, 2, MAX_UNITS, open_=False)
    for name, bounds in zip(("engagement_rate", "outcome_rate"), rates, strict=True):
        _check_range(name, bounds, 0, 1, open_=True)
    bound = MAX_PROGRAMME_ODDS_RATIO
    if not (isinstance(odds_ratio, int | float) and 1 / bound <= odds_ratio <= bound):
        raise ChannelabError(f"odds_ratio: got {odds_ratio!r}, but expected from {1 / bound:g} to {bound:g}")
    if type(start) is not date or not MIN_DATE_YEAR <= start.year < MAX_DATE_YEAR:
        raise ChannelabError(
            f"start: got {start!r}, but expected a date from {MIN_DATE_YEAR} to {MAX_DATE_YEAR - 1}"
        )


def _true_effects(
    channels: tuple[ChannelTruth, ...], index: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """(T, 2) true log(1 + lift) of engagement and outcome, on each channel's link."""
    params = np.array(
        [[c.mu_engagement, c.mu_outcome, c.tau_engagement, c.tau_outcome_resid, c.slope] for c in channels]
    )[index]
    mu_e, mu_o, tau_e, tau_r, slope = params.T
    theta_e = mu_e + tau_e * rng.standard_normal(index.size)
    theta_o = mu_o + slope * (theta_e - mu_e) + tau_r * rng.standard_normal(index.size)
    return np.column_stack([theta_e, theta_o])


def _draw(
    channels: tuple[ChannelTruth, ...],
    rng: np.random.Generator,
    n_per_arm: tuple[int, int],
    ranges: tuple[tuple[float, float], tuple[float, float]],
    odds_ratio: float,
) -> _Draws:
    index = np.repeat(np.arange(len(channels)), [c.tests for c in channels])
    theta = _true_effects(channels, index, rng)
    low, high = np.array(ranges).T
    control = np.minimum(rng.uniform(low, high, size=theta.shape), MAX_ARM_RATE * np.exp(-theta))
    rate = np.stack([control, control * np.exp(theta)], axis=1)
    n = rng.integers(n_per_arm[0], n_per_arm[1], endpoint=True, size=index.size)
    cells = rng.multinomial(np.repeat(n[:, None], 2, axis=1), cell_probabilities(rate, odds_ratio))
    day = rng.integers(0, 365 - TEST_DAYS, endpoint=True, size=index.size)
    order = np.lexsort((day, index))  # each channel's tests in date order (index is sorted)
    first = np.searchsorted(index, index)  # the position of each channel's first test
    return _Draws(index, np.arange(index.size) - first + 1, day[order], n[order], rate[order], cells[order])


def _synthetic_id(seed: int, channel: str, number: int, what: str) -> str:
    """A deterministic id of one simulated test: SHA-256 of the seed, the test and ``what``."""
    return hashlib.sha256(f"channelab programme {seed} {channel} {number} {what}".encode()).hexdigest()


def _records(
    c: ChannelTruth,
    d: _Draws,
    t: int,
    post: dict[str, np.ndarray],
    verdict: np.ndarray,
    at: tuple[int, date],
) -> list[Record]:
    """Test ``t``'s two records, engagement then outcome; launched when the outcome is a real lift."""
    seed, start = at
    number = int(d.number[t])
    spec_hash, fingerprint = (_synthetic_id(seed, c.channel, number, w) for w in ("spec", "data"))
    first = start + timedelta(days=int(d.day[t]))
    last = first + timedelta(days=TEST_DAYS - 1)
    return [
        Record(
            spec_hash=spec_hash,
            data_fingerprint=fingerprint,
            experiment=f"{c.channel} test {number:0{max(2, len(str(c.tests)))}d}",
            first_date=first,
            last_date=last,
            arm=c.channel,
            channel=c.channel,
            metric=metric,
            role=role,
            metric_type="binary",
            control_mean=float(post["observed"][t, 0, m]),
            diff_mean=float(post["diff_mean"][t, m]),
            diff_sd=float(post["diff_sd"][t, m]),
            loglift_mean=float(post["loglift_mean"][t, m]),
            loglift_sd=float(post["loglift_sd"][t, m]),
            n_arm=int(d.n[t]),
            n_control=int(d.n[t]),
            verdict=str(verdict[t, m]),  # type: ignore[arg-type]  # one of the three above
            launched=bool(verdict[t, 1] == "real lift"),
            created=f"{last.isoformat()}T18:00:00+00:00",
        )
        for m, (metric, role) in enumerate(_METRIC_ROLES)
    ]


def _programme(channels: tuple[ChannelTruth, ...], d: _Draws, seed: int, start: date) -> Programme:
    post = posteriors(d.cells, d.n)
    verdict = verdicts(post["diff_mean"], post["diff_sd"])
    records: list[Record] = []
    covariances: list[Covariance] = []
    truth: dict[tuple[str, str, str], TrueEffect] = {}
    tables: list[Observed] = []
    for t in range(d.n.size):
        pair = _records(channels[d.channel[t]], d, t, post, verdict, (seed, start))
        records += pair
        spec_hash, arm, n = pair[0].spec_hash, pair[0].arm, pair[0].n_arm
        for m, metric in enumerate(_METRICS):
            p0, p1 = (float(v) for v in d.rate[t, :, m])
            effect = TrueEffect(math.log(p1 / p0), p1 - p0, p0, p1)
            truth[(spec_hash, arm, metric)] = effect
        cov = (float(post["cov_diff"][t]), float(post["cov_loglift"][t]))
        covariances.append(
            Covariance(spec_hash, pair[0].data_fingerprint, arm, OUTCOME_METRIC, ENGAGEMENT_METRIC, *cov)
        )
        control, treated = (tuple(int(v) for v in d.cells[t, k]) for k in (0, 1))
        tables.append(Observed(spec_hash, arm, n, control, treated))  # type: ignore[arg-type]  # four cells
    return Programme(tuple(records), tuple(covariances), truth, tuple(tables), channels, seed)


def programme_summaries(programme: Programme) -> pd.DataFrame:
    """The programme as published per-study summaries: the CSV ``channelab registry import`` reads.

    Per test, four rows (control then treatment arm, each with the engagement then the outcome
    metric), in the order of the tests, with the columns of the per-arm form of
    :mod:`channelab.engine.registry.summaries`. The engagement rows carry the pair: ``pair``
    names the outcome metric and ``pair_mean`` is the arm's observed share of units that both
    engaged and booked (its 2x2 table's first cell over n), so the import gives each test's
    within-arm covariance of the two effects.

    Parameters
    ----------
    programme
        A :func:`simulate_programme` result.

    Returns
    -------
    pandas.DataFrame
        Columns ``experiment``, ``arm``, ``metric``, ``role``, ``type``, ``n``, ``control``,
        ``mean`` (the observed proportion), ``channel`` and ``launched`` (on the treatment arm's
        rows; empty on the control's), ``date`` (the test's last day, YYYY-MM-DD), ``pair`` and
        ``pair_mean`` (on the engagement rows; empty on the outcome's). ``to_csv(index=False)``
        writes it as an importable CSV.
    """
    rows = []
    records = iter(programme.records)  # two records per test, engagement then outcome
    for table, pair in zip(programme.tables, zip(records, records, strict=True), strict=True):
        for arm, cells in ((CONTROL, table.control), (table.arm, table.treated)):
            treated = arm != CONTROL
            for record in pair:
                m = _METRICS.index(record.metric)
                rows.append(
                    {
                        "experiment": record.experiment,
                        "arm": arm,
                        "metric": record.metric,
                        "role": record.role,
                        "type": record.metric_type,
                        "n": table.n_per_arm,
                        "control": CONTROL,
                        "mean": (cells[0] + cells[1 + m]) / table.n_per_arm,
                        "channel": record.channel if treated else "",
                        "launched": ("true" if record.launched else "false") if treated else "",
                        "date": record.last_date.isoformat() if record.last_date else "",
                        "pair": OUTCOME_METRIC if record.metric == ENGAGEMENT_METRIC else "",
                        "pair_mean": cells[0] / table.n_per_arm
                        if record.metric == ENGAGEMENT_METRIC
                        else None,
                    }
                )
    return pd.DataFrame(rows)
