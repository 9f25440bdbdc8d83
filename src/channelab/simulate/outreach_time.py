"""An outreach test put in time: entry dates, meeting dates, the booked outcome and its truth.

With an :class:`~channelab.simulate.timing.Arrival`, :func:`~channelab.simulate.simulate_outreach`
dates every prospect's entry and booking and adds ``booked`` (0/1: the prospect booked a
meeting), the binary outcome with a date that a time-to-event model reads. Its true mean under
an arm is the average, over the prospects, of P(meetings > 0) at the prospect's expected count
under that arm, with the meetings metric's own distribution.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from channelab.simulate.ab import SimMetric
from channelab.simulate.population import Population
from channelab.simulate.scenarios import OUTREACH_METRICS, Scenario
from channelab.simulate.timing import Arrival, entry_dates, iso, outcome_dates

#: The 0/1 column a timed test adds: the prospect booked a meeting (its date is ``meetings_at``).
BOOKED = "booked"


def put_in_time(
    columns: dict[str, Any],
    sc: Scenario,
    pop: Population,
    arm: np.ndarray,
    arrival: Arrival,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """``columns`` with ``entered_at`` after the week, then ``meetings_at`` and ``booked`` after the meetings.

    ``booked`` is 1 where ``meetings`` > 0; it draws nothing, so ``rng`` gives the dates only.
    """
    entered = entry_dates(pop.week, arrival, rng)
    channels = np.asarray([dict(sc.arms)[label] for label in sc.labels])[arm]
    booked = columns["meetings"] > 0
    met = outcome_dates(entered, booked, channels, arrival, rng)
    columns = _after(columns, "week", "entered_at", iso(entered).to_numpy())
    columns = _after(columns, "meetings", "meetings_at", iso(met).to_numpy())
    return _after(columns, "meetings_at", BOOKED, booked.astype(int))


def add_booked_truth(
    sc: Scenario,
    expected: np.ndarray,
    means: dict[str, dict[str, float]],
    lifts: dict[str, dict[str, float]],
) -> None:
    """Add ``booked``'s true mean to ``means`` and its true lift to ``lifts`` (in place).

    ``expected`` holds every metric's expected value per (metric, arm, prospect), metrics in
    :data:`~channelab.simulate.scenarios.OUTREACH_METRICS` order; the mean of ``booked`` under
    an arm is the average over prospects of 1 − P(meetings = 0) at their expected count.
    """
    mu = expected[list(OUTREACH_METRICS).index("meetings")]
    share = (1.0 - p_zero(sc.metrics["meetings"], mu)).mean(axis=1)
    for i, label in enumerate(sc.labels):
        means[label][BOOKED] = float(share[i])
        if i > 0:
            lifts[label][BOOKED] = float(share[i] / share[0] - 1)


def p_zero(m: SimMetric, mu: np.ndarray) -> np.ndarray:
    """P(count = 0) at mean ``mu`` of a count metric drawn by :func:`~channelab.simulate.ab.draw_metric`.

    Poisson without overdispersion (e^−μ); otherwise negative binomial with size
    r = 1 / overdispersion, (r / (r + μ))^r.
    """
    if m.overdispersion == 0:
        return np.exp(-mu)
    r = 1.0 / m.overdispersion
    return (r / (r + mu)) ** r


def _after(columns: dict[str, Any], key: str, name: str, values: Any) -> dict[str, Any]:
    """``columns`` with ``name`` inserted right after ``key``."""
    out: dict[str, Any] = {}
    for k, v in columns.items():
        out[k] = v
        if k == key:
            out[name] = values
    return out
