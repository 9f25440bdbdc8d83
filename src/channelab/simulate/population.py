"""Who the simulated outreach prospects are, and their link-scale predictors before any arm acts.

Prospects come in accounts of 1 to 8 (:data:`~channelab.simulate.scenarios.ACCOUNT_SIZES`)
that share industry, company size and region; each account belongs to one rep (reps' workloads
are gamma-distributed); each prospect has a seniority and a week of first touch. Every metric's
predictor under control is the sum of the prospect's segment effects, its rep's effect and, for
engagement metrics, its week's effect. :func:`~channelab.simulate.simulate_outreach` adds the
arms on top.

A scenario with a history (:class:`~channelab.simulate.scenarios.PrePeriod`) gives every
prospect a latent propensity that moves all its metrics, in the test as before it
(:func:`with_propensity`), and the pre-period columns it left behind (:func:`draw_history`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from channelab.simulate.scenarios import (
    ACCOUNT_COLUMNS,
    ACCOUNT_SIZES,
    OUTREACH_METRICS,
    REP_WORKLOAD_SHAPE,
    SEGMENTS,
    WEEKS,
    PrePeriod,
    Scenario,
)

#: Which effect of a segment level (a field of ``Level``) moves each metric.
_LEVEL_PART = {m: "engagement" for m, r in OUTREACH_METRICS.items() if r == "engagement"} | {
    "meetings": "meetings",
    "revenue": "deal",
}


@dataclass(frozen=True)
class Population:
    """Who is in the cohort, as integer codes per prospect."""

    account: np.ndarray
    rep: np.ndarray
    segments: dict[str, np.ndarray]  # level index into SEGMENTS[column]
    week: np.ndarray  # 1 .. weeks (WEEKS unless the test is put in time)


def draw_population(n: int, n_reps: int, rng: np.random.Generator, weeks: int = WEEKS) -> Population:
    """``n`` prospects in accounts held by ``n_reps`` reps, with their segments and weeks (1 .. ``weeks``)."""
    sizes = rng.choice(len(ACCOUNT_SIZES), size=n, p=ACCOUNT_SIZES) + 1
    n_accounts = int(np.searchsorted(np.cumsum(sizes), n)) + 1
    sizes = sizes[:n_accounts]
    sizes[-1] -= sizes.sum() - n  # the last account is cut to fit n prospects
    account = np.repeat(np.arange(n_accounts), sizes)
    workload = rng.gamma(REP_WORKLOAD_SHAPE, size=n_reps)
    rep = rng.choice(n_reps, size=n_accounts, p=workload / workload.sum())[account]
    segments = {}
    for column, levels in SEGMENTS.items():
        shares = np.array([lv.share for lv in levels.values()])
        on_account = column in ACCOUNT_COLUMNS
        codes = rng.choice(len(levels), size=n_accounts if on_account else n, p=shares / shares.sum())
        segments[column] = codes[account] if on_account else codes
    return Population(account, rep, segments, rng.integers(1, weeks + 1, size=n))


def predictors(
    sc: Scenario, pop: Population, rng: np.random.Generator, weeks: int = WEEKS
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Link-scale predictor of every metric under control before calibration, and of amounts."""
    rep_effects = rng.normal(0.0, sc.rep_sd, size=(len(OUTREACH_METRICS), sc.n_reps))
    week_effects = rng.normal(0.0, sc.week_sd, size=(len(OUTREACH_METRICS), weeks))
    eta = {}
    for j, (name, role) in enumerate(OUTREACH_METRICS.items()):
        eta[name] = _segment_effects(pop, _LEVEL_PART[name]) + rep_effects[j, pop.rep]
        if role == "engagement":
            eta[name] += week_effects[j, pop.week - 1]
    # centred over deals (P(deal) ∝ exp(logit) for rare deals): the median deal is about `amount`
    amount = _segment_effects(pop, "amount")
    return eta, amount - np.average(amount, weights=np.exp(eta["revenue"]))


def _segment_effects(pop: Population, part: str) -> np.ndarray:
    """Sum over segment columns of each prospect's level effect ``part`` (a field of Level)."""
    total = np.zeros(pop.week.size)
    for column, levels in SEGMENTS.items():
        total += np.array([getattr(lv, part) for lv in levels.values()])[pop.segments[column]]
    return total


def with_propensity(
    h: PrePeriod | None, eta: dict[str, np.ndarray], n: int, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The predictors moved by each prospect's propensity (a latent of the history), and the propensity.

    Without a history the propensity is 0 and nothing is drawn.
    """
    if h is None:
        return eta, np.zeros(n)
    propensity = rng.normal(0.0, h.propensity_sd, size=n)
    loading = {"engagement": h.engagement_loading, "outcome": 1.0, "revenue": h.deal_loading}
    moved = {name: eta[name] + loading[role] * propensity for name, role in OUTREACH_METRICS.items()}
    return moved, propensity


def draw_history(
    h: PrePeriod, propensity: np.ndarray, meetings_control: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The pre-period columns of :class:`PrePeriod`, given each prospect's propensity and meetings."""
    noise = rng.normal(0.0, h.engagement_noise, size=propensity.size)
    return {
        "prior_meetings": rng.poisson(h.periods * meetings_control),
        "prior_engagement": np.round(h.periods * 10 * np.exp(h.engagement_loading * propensity + noise), 2),
    }
