"""Every sentence true: how often each kind of claim a report makes is false, in worlds with known truth.

Each simulated test goes through the real pipeline, spec → JSON: its unit rows are written to a
CSV under a temporary folder, :func:`channelab.pipeline.analyse` runs the spec on it (the
function ``channelab run`` calls; checks, DuckDB cells, nutpie with the spec's default sampler
settings (4 chains × 1,000 draws) and the convergence gate, refits included), and
:func:`channelab.reporting.json_report.analysis_json` renders the JSON. Only the PDF is not
drawn. Every arm's verdict (``arms[].verdict``) and every claim (``claims``) is read from that
JSON and judged against the simulated truth by the second element of
:data:`channelab.analysis.claims.CONTRACT`:

- a metric's ``real lift`` / ``harm`` / ``no effect`` against the ROPE's edges on the true
  difference, ``rope × |true control mean|``; a ``<name>_per_unit`` row against the true mean per
  unit, a conditional share against the true share among the earlier stage's units;
- a guardrail's claims in its worse direction: ``guardrail harm`` is false unless the guardrail
  truly got worse beyond the ROPE, its ``real lift`` (credibly better) unless it truly got
  better beyond it;
- arm claims against the arm's deciding metrics (unconditional outcomes and revenue, per-unit
  rows included) and its engagement metrics;
- follow-through claims against the true lift of P(outcome | engaged), arm over control, and
  the outcome's ROPE;
- ``cost per extra outcome`` against the true increment per unit; ``credibly best`` against the
  true net value per unit (Σ value × true increment − the arm's cost; the control at 0): false
  when another arm's (or the control's) is at least as high (a tie is not a best arm).

True means are the population means the pipeline estimates: for
:func:`~channelab.simulate.ab.simulate_ab` its ``Truth.means`` (averaged over the test's own
segment mix); the true follow-through of an engagement and an outcome drawn independently
within segments is Σ mix · p_engaged · p_outcome / Σ mix · p_engaged over the same mix.

Worlds (``--worlds`` takes these names; "seg" = the three segments of ``simulate_ab``, with
``covariates: [segment]`` in the spec; rates are the control's, lifts are relative):

==================  ======================================================================
aa                  A/A, control + 2 arms × 3,000, clicks 10 %, bookings 3 %, no effect (seg)
engagement_only     2 × 20,000: clicks 10 % +30 %, bookings 4 % truly flat (seg)
underpowered        2 × 5,000: clicks +30 %, bookings 5 % truly +20 % (power ≈ 30–50 %; seg)
real_lift           2 × 10,000: clicks +30 %, bookings 5 % +40 % (seg)
harm                2 × 10,000: clicks flat, bookings 5 % −35 % (seg)
guardrail           2 × 10,000: clicks +20 %, bookings 5 % +40 %, unsubscribes 1 % doubled
                    (``role: guardrail``, ``worse: up``; seg)
unequal_spreads     continuous, control 10,000 units N(10, 1), treatment 100 units N(10, 5)
revenue_null        2 × 10,000: 2 % buyers, log-normal amounts (median 40, log-sd 1.5), no effect
revenue_lift        2 × 30,000: as revenue_null, buyers doubled (revenue per unit about ×2; seg)
zero_control        continuous change score, 2 × 500, N(0, 1) in both arms
zero_control_shift  the same, the treatment's mean +0.3 sd
funnel_share        2 × 10,000: clicks 10 % → 14 % (+40 %); enrolments among clickers 20 % →
                    14.3 %, so enrolments per unit are 2 % in both arms (``denominator: clicked``)
costed_best         control + A, B, C costing 5, 15, 30 per unit, 3,000 each; meetings 10 %
                    (worth 500) +0, +6, +2 points, unsubscribes 2 % (worth −50) +50 % under C:
                    true net values −5, +15, −20 against 0, B best by far (seg)
costed_tie          the same arms; meetings +1, +3, +6 points, so every net value is 0 (no
                    segment effects, so the tie is exact)
aa_large            A/A at 2 × 100,000, clicks 10 %, bookings 20 %: "no effect" can be earned (seg)
edge                2 × 100,000: bookings 20 % truly +5.8 %, just beyond the ROPE's +5 % edge,
                    clicks flat: where "no effect" would be false (seg)
rare_null           2 × 150, bookings 1 % in both: an arm often has none (no segments)
rare_lift           2 × 150, bookings 0.7 % → 10 %: the control often has none (no segments)
ratio_null          2 × 4,000: meetings Poisson 0.3 → 0.45 (+50 %), each worth a log-normal
                    amount (median 2,000, log-sd 0.6) in both arms: revenue +50 %, revenue per
                    meeting (``type: ratio``, revenue / meetings) truly unchanged
ratio_moved         the same, each meeting worth 20 % less under T: revenue per meeting truly
                    −20 %, revenue +20 %
quantile_null       2 × 3,000: 25 % close a deal, log-normal size (median 1,000, log-sd 1);
                    revenue and the median deal (``type: quantile``, ``q: 0.5``, ``among:
                    positive``) unchanged
quantile_shift      the same, every deal × 1.25 under T: median deal and revenue +25 %
effort_costed       control + A, B, C × 3,000, costed at ``per_hour: 60`` × ``hours: rep_hours``
                    (N(1, 0.5) hours in the control; +0.5, +1.5, +0.5 under A, B, C: true costs
                    30, 90, 30 per unit); meetings 10 % (worth 500) +8, +12, +0 points: true
                    net values +10, −30, −30, A best (B would be, +60, without the effort)
many_columns        6,000 units, half treated, bookings near 29 % on 12 numeric columns (R²
                    0.24, as ``benchmarks/linear_adjustment.py``), ``adjust`` all 12 (linear
                    by ``adjust_method: auto``), no effect
many_columns_lift   the same, +2.9 points (+10 %, twice the ROPE's edge)
==================  ======================================================================

The judge of a ratio takes its truth as true E[numerator] / E[denominator] per arm and of a
quantile the true population quantile per arm (closed forms of the distributions drawn), each
against the ROPE on the difference like any metric. Both describe and never decide: their
claims are the metric claims of their effects, never part of an arm's verdict or its money.
An effort cost's truth is ``per_hour`` × the arm's true mean hours beyond the control's. A claim
the judge cannot judge (a metric type it does not know, a truth the world lacks) is counted as
unjudged and listed, never as true; any makes the acceptance line INCOMPLETE.

Printed: per claim kind, pooled over all worlds, the times made, the times false and the false
rate with its 95 % Monte Carlo (Wilson) interval, and beside it the claims that would have
been false had they been made ("chances") and the share of those made (an error rate per
opportunity, which does not depend on how many true claims the worlds offer); the same counts
per world; per world and arm, how often each arm verdict
was given; in the underpowered world (outcome truly up, undecided at this size) how often a
definite claim about the outcome was made; and a final acceptance line (every kind's false rate
≤ 5 %, and "engagement only" or "no effect" in the underpowered world ≤ 5 %). Statements of
uncertainty ("inconclusive", "undecided", no arm credibly best) are not claims and are not
counted. ``--records`` appends every claim, with its truth, to a CSV as each test ends (and
every arm verdict to ``<records>.verdicts.csv``), so a long run can be read while it runs. A
test whose pipeline raises is listed with its error and left out of the tables.

    python benchmarks/claims.py [--sims 200] [--worlds aa harm ...] [--seed 29] [--jobs 1]
                                [--records claims.csv]

Runtime (2 cores): about 0.6 s a test in the pipeline once a world's model is compiled (nutpie,
~10–25 s once per model structure, cached on disk and in the process), about 1 s in the worlds
of 200,000 rows; the default 200 tests in each of the 18 worlds before issue 35 take about
35–40 minutes with ``--jobs 1``; the seven of issue 35 took 0.85 s a test (120 tests each, 840
in 12 minutes). ``--jobs 2`` runs two processes, which share the same two cores with nutpie's
chains and gain little.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from statsmodels.stats.proportion import proportion_confint

from channelab.analysis.claims import CONTRACT
from channelab.simulate.ab import SimMetric, simulate_ab
from channelab.spec import DESCRIPTIVE_TYPES, Metric, Spec, parse_spec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from linear_adjustment import BETA, COLUMNS, INTERCEPT  # its world, drawn the same way

#: The false rate every claim kind must stay within.
TARGET = 0.05
#: Net values closer than this (currency units per unit) are a tie.
TIE = 1e-6
#: The segment effects of :func:`simulate_ab` (its default), for the worlds with segments.
SEGMENTS = (0.0, 0.4, -0.3)

Rows = pd.DataFrame


@dataclass(frozen=True)
class TrueValues:
    """The truth of one simulated test.

    ``means``: population mean per (arm, metric), with a conditional share's mean among its
    denominator's units under its own name and its mean per unit under ``<name>_per_unit``;
    ``follow``: P(outcome | engaged) per (arm, engagement, outcome).
    """

    means: dict[tuple[str, str], float]
    follow: dict[tuple[str, str, str], float] = field(default_factory=dict)


@dataclass(frozen=True)
class World:
    """A world: its spec (without the data path) and its simulator, ``seed -> (rows, truth)``."""

    name: str
    spec: dict[str, Any]
    simulate: Callable[[int], tuple[Rows, TrueValues]]


# ---- simulators ---------------------------------------------------------------------------------


def shift_for(base: float, lift: float) -> float:
    """The log-odds shift that moves a rate ``base`` by the relative ``lift`` (in the reference segment)."""
    return float(logit(base * (1 + lift)) - logit(base))


def ab_world(
    seed: int,
    *,
    n: int,
    arms: tuple[str, ...],
    metrics: dict[str, SimMetric],
    pairs: Iterable[tuple[str, str]] = (),
    segments: tuple[float, ...] = SEGMENTS,
) -> tuple[Rows, TrueValues]:
    """Rows and truth from :func:`simulate_ab`, with the true follow-through of each binary pair.

    Within a segment the metrics are independent, so P(outcome | engaged) in an arm is
    Σ mix · p_e · p_o / Σ mix · p_e over the test's segment mix (the mix ``Truth.means`` uses).
    """
    rows, truth = simulate_ab(n_per_arm=n, arms=arms, metrics=metrics, segment_effects=segments, seed=seed)
    shares = rows["segment"].value_counts(normalize=True).reindex([f"s{i}" for i in range(len(segments))])
    mix = shares.fillna(0.0).to_numpy()
    follow = {}
    for eng, out in pairs:
        pe, po = binary_grid(metrics[eng], arms, segments), binary_grid(metrics[out], arms, segments)
        for i, a in enumerate(arms):
            for name, p in ((eng, pe), (out, po)):
                if not np.isclose(p[i] @ mix, truth.means[(a, name)], rtol=1e-10):
                    raise RuntimeError(f"the true rate of {name} in {a} differs from simulate_ab's")
            follow[(a, eng, out)] = float((mix * pe[i] * po[i]).sum() / (mix * pe[i]).sum())
    return rows, TrueValues(means=dict(truth.means), follow=follow)


def binary_grid(m: SimMetric, arms: tuple[str, ...], segments: tuple[float, ...]) -> np.ndarray:
    """True rate of a binary metric per (arm, segment), as :func:`simulate_ab` draws it."""
    shift = np.array([m.effects.get(a, 0.0) for a in arms])[:, None] + np.asarray(segments)[None, :]
    return expit(logit(m.base) + shift)


def funnel_metrics(clicks: float, bookings: float, base_booked: float = 0.05) -> dict[str, SimMetric]:
    """Clicks (base 10 %) and bookings with relative lifts for the arm ``T``."""
    return {
        "clicked": SimMetric("binary", 0.10, {"T": shift_for(0.10, clicks)}),
        "booked": SimMetric("binary", base_booked, {"T": shift_for(base_booked, bookings)}),
    }


def aa(seed: int) -> tuple[Rows, TrueValues]:
    """A/A: a control and two arms, 3,000 units each; clicks 10 %, bookings 3 %; nothing moves."""
    metrics = {"clicked": SimMetric("binary", 0.10), "booked": SimMetric("binary", 0.03)}
    return ab_world(seed, n=3000, arms=("C", "A", "B"), metrics=metrics, pairs=[("clicked", "booked")])


def engagement_only(seed: int) -> tuple[Rows, TrueValues]:
    """Clicks +30 %, bookings (4 %) truly flat; 20,000 per arm, so "engagement only" can be earned."""
    metrics = funnel_metrics(0.30, 0.0, base_booked=0.04)
    return ab_world(seed, n=20000, arms=("C", "T"), metrics=metrics, pairs=[("clicked", "booked")])


def underpowered(seed: int) -> tuple[Rows, TrueValues]:
    """Clicks +30 %, bookings (5 %) truly +20 %, with 5,000 per arm: an undecided truth."""
    metrics = funnel_metrics(0.30, 0.20)
    return ab_world(seed, n=5000, arms=("C", "T"), metrics=metrics, pairs=[("clicked", "booked")])


def real_lift(seed: int) -> tuple[Rows, TrueValues]:
    """Clicks +30 %, bookings (5 %) +40 %, 10,000 per arm: well powered."""
    metrics = funnel_metrics(0.30, 0.40)
    return ab_world(seed, n=10000, arms=("C", "T"), metrics=metrics, pairs=[("clicked", "booked")])


def harm(seed: int) -> tuple[Rows, TrueValues]:
    """Clicks flat, bookings (5 %) −35 %, 10,000 per arm."""
    metrics = funnel_metrics(0.0, -0.35)
    return ab_world(seed, n=10000, arms=("C", "T"), metrics=metrics, pairs=[("clicked", "booked")])


def guardrail(seed: int) -> tuple[Rows, TrueValues]:
    """Clicks +20 %, bookings +40 %, and unsubscribes (1 %, a guardrail) doubled; 10,000 per arm."""
    metrics = {
        **funnel_metrics(0.20, 0.40),
        "unsubscribed": SimMetric("binary", 0.01, {"T": shift_for(0.01, 1.0)}),
    }
    return ab_world(seed, n=10000, arms=("C", "T"), metrics=metrics, pairs=[("clicked", "booked")])


def rare_null(seed: int) -> tuple[Rows, TrueValues]:
    """Bookings 1 % in both arms of 150 units (clicks 10 %): often an arm without a booking.

    There the verdict must hold at the data's bound (docs/claims.md); about one test in five.
    """
    metrics = {"clicked": SimMetric("binary", 0.10), "booked": SimMetric("binary", 0.01)}
    return ab_world(
        seed, n=150, arms=("C", "T"), metrics=metrics, pairs=[("clicked", "booked")], segments=(0.0,)
    )


def rare_lift(seed: int) -> tuple[Rows, TrueValues]:
    """Bookings 0.7 % against 10 % in 150 units (clicks flat): the control often has none."""
    metrics = {
        "clicked": SimMetric("binary", 0.10),
        "booked": SimMetric("binary", 0.007, {"T": shift_for(0.007, 13.3)}),
    }
    return ab_world(
        seed, n=150, arms=("C", "T"), metrics=metrics, pairs=[("clicked", "booked")], segments=(0.0,)
    )


def unequal_spreads(seed: int) -> tuple[Rows, TrueValues]:
    """A continuous score: control 10,000 units N(10, 1), treatment 100 units N(10, 5); no difference."""
    rng = np.random.default_rng(seed)
    sizes, sds = (10000, 100), (1.0, 5.0)
    arm = np.repeat(["C", "T"], sizes)
    score = np.concatenate([rng.normal(10.0, sd, k) for k, sd in zip(sizes, sds, strict=True)])
    rows = pd.DataFrame({"unit_id": np.arange(1, arm.size + 1), "arm": arm, "score": score})
    return rows, TrueValues(means={("C", "score"): 10.0, ("T", "score"): 10.0})


def revenue(seed: int, *, n: int, buyers_lift: float) -> tuple[Rows, TrueValues]:
    """Sparse revenue: 2 % buyers, log-normal amounts (median 40, log-sd 1.5), buyers moved."""
    metrics = {
        "revenue": SimMetric("revenue", 0.02, {"T": shift_for(0.02, buyers_lift)}, amount=40.0, sigma=1.5)
    }
    return ab_world(seed, n=n, arms=("C", "T"), metrics=metrics)


def revenue_null(seed: int) -> tuple[Rows, TrueValues]:
    """Sparse zero-inflated revenue, 10,000 per arm (about 200 buyers each), no effect."""
    return revenue(seed, n=10000, buyers_lift=0.0)


def revenue_lift(seed: int) -> tuple[Rows, TrueValues]:
    """Sparse zero-inflated revenue, 30,000 per arm, buyers doubled."""
    return revenue(seed, n=30000, buyers_lift=1.0)


def change_score(seed: int, shift: float) -> tuple[Rows, TrueValues]:
    """A change score with true control mean 0 (sd 1), 500 units per arm; the treatment's mean ``shift``.

    Drawn here: ``simulate_ab`` divides by the control's mean for its true lifts, which fails at 0.
    """
    rng = np.random.default_rng(seed)
    arm = np.repeat(["C", "T"], 500)
    change = rng.normal(np.where(arm == "T", shift, 0.0), 1.0)
    rows = pd.DataFrame({"unit_id": np.arange(1, arm.size + 1), "arm": arm, "change": change})
    return rows, TrueValues(means={("C", "change"): 0.0, ("T", "change"): shift})


def zero_control(seed: int) -> tuple[Rows, TrueValues]:
    """Control mean 0, no difference."""
    return change_score(seed, 0.0)


def zero_control_shift(seed: int) -> tuple[Rows, TrueValues]:
    """Control mean 0, the treatment +0.3 sd."""
    return change_score(seed, 0.3)


def funnel_share(seed: int) -> tuple[Rows, TrueValues]:
    """Clicks 10 % → 14 %; enrolments among clickers 20 % → 2 %/14 %: 2 % enrol per unit in both arms."""
    rng = np.random.default_rng(seed)
    n, per_unit, click = 10000, 0.02, {"C": 0.10, "T": 0.14}
    enrol = {a: per_unit / p for a, p in click.items()}
    arm = np.repeat(["C", "T"], n)
    clicked = rng.binomial(1, np.where(arm == "C", click["C"], click["T"]))
    enrolled = clicked * rng.binomial(1, np.where(arm == "C", enrol["C"], enrol["T"]))
    rows = pd.DataFrame(
        {"unit_id": np.arange(1, arm.size + 1), "arm": arm, "clicked": clicked, "enrolled": enrolled}
    )
    means: dict[tuple[str, str], float] = {}
    for a in ("C", "T"):
        means |= {(a, "clicked"): click[a], (a, "enrolled"): enrol[a], (a, "enrolled_per_unit"): per_unit}
    follow = {(a, "clicked", "enrolled"): enrol[a] for a in ("C", "T")}
    return rows, TrueValues(means=means, follow=follow)


def aa_large(seed: int) -> tuple[Rows, TrueValues]:
    """A/A at 100,000 units per arm (clicks 10 %, bookings 20 %): large enough to earn "no effect"."""
    metrics = {"clicked": SimMetric("binary", 0.10), "booked": SimMetric("binary", 0.20)}
    return ab_world(seed, n=100000, arms=("C", "T"), metrics=metrics, pairs=[("clicked", "booked")])


def edge(seed: int) -> tuple[Rows, TrueValues]:
    """Bookings (20 %) truly +6 %, just beyond the ROPE's +5 % edge, clicks flat; 100,000 per arm."""
    metrics = funnel_metrics(0.0, 0.06, base_booked=0.20)
    return ab_world(seed, n=100000, arms=("C", "T"), metrics=metrics, pairs=[("clicked", "booked")])


COSTS = {"A": 5.0, "B": 15.0, "C": 30.0}
VALUES = {"meetings": 500.0, "unsubscribes": -50.0}


def costed(
    seed: int, points: dict[str, float], unsub: dict[str, float], segments: tuple[float, ...]
) -> tuple[Rows, TrueValues]:
    """Control + A, B, C (3,000 each): meetings 10 % + ``points``, unsubscribes 2 % × (1 + ``unsub``)."""
    metrics = {
        "meetings": SimMetric("binary", 0.10, {a: shift_for(0.10, p / 0.10) for a, p in points.items()}),
        "unsubscribes": SimMetric("binary", 0.02, {a: shift_for(0.02, u) for a, u in unsub.items()}),
    }
    return ab_world(seed, n=3000, arms=("Control", "A", "B", "C"), metrics=metrics, segments=segments)


def costed_best(seed: int) -> tuple[Rows, TrueValues]:
    """B truly best by far: meetings +0, +6, +2 points; C raises unsubscribes by half."""
    return costed(seed, {"A": 0.0, "B": 0.06, "C": 0.02}, {"C": 0.5}, SEGMENTS)


def costed_tie(seed: int) -> tuple[Rows, TrueValues]:
    """No true differences in net value: each arm's extra meetings pay exactly for its cost."""
    return costed(seed, {"A": 0.01, "B": 0.03, "C": 0.06}, {}, (0.0, 0.0, 0.0))


# ---- issue 35: ratios, quantiles, effort costs, many columns ----------------------------------

#: Value of one meeting: log-normal, median 2,000, log-sd 0.6 (its mean is the true revenue per meeting).
MEETING_MU, MEETING_SIGMA = float(np.log(2000.0)), 0.6


def per_meeting(seed: int, *, n: int, meetings: float, value: float) -> tuple[Rows, TrueValues]:
    """Meetings per unit Poisson(0.3) in ``C`` and ``meetings`` in ``T``; revenue the sum of their values.

    Every meeting is worth a log-normal amount (median 2,000, log-sd 0.6), times ``value`` in ``T``:
    the true revenue per meeting is E[value] (× ``value``), E[revenue] = E[meetings] × E[value].
    """
    rng = np.random.default_rng(seed)
    arm = np.repeat(["C", "T"], n)
    rate, scale = {"C": 0.3, "T": meetings}, {"C": 1.0, "T": value}
    k = rng.poisson(np.where(arm == "C", rate["C"], rate["T"]))
    amounts = rng.lognormal(MEETING_MU, MEETING_SIGMA, k.sum())
    revenue = np.bincount(np.repeat(np.arange(arm.size), k), weights=amounts, minlength=arm.size)
    revenue *= np.where(arm == "C", scale["C"], scale["T"])
    rows = pd.DataFrame(
        {"unit_id": np.arange(1, arm.size + 1), "arm": arm, "meetings": k, "revenue": revenue}
    )
    each = float(np.exp(MEETING_MU + MEETING_SIGMA**2 / 2))
    means: dict[tuple[str, str], float] = {}
    for a in ("C", "T"):
        means |= {
            (a, "meetings"): rate[a],
            (a, "revenue"): rate[a] * each * scale[a],
            (a, "revenue_per_meeting"): each * scale[a],  # true E[revenue] / E[meetings]
        }
    return rows, TrueValues(means=means)


def ratio_null(seed: int) -> tuple[Rows, TrueValues]:
    """Meetings 0.3 → 0.45 per unit (+50 %), each worth the same: revenue per meeting unchanged."""
    return per_meeting(seed, n=4000, meetings=0.45, value=1.0)


def ratio_moved(seed: int) -> tuple[Rows, TrueValues]:
    """Meetings +50 %, each worth 20 % less under ``T``: revenue per meeting truly −20 %, revenue +20 %."""
    return per_meeting(seed, n=4000, meetings=0.45, value=0.8)


#: Deals: a unit closes one with probability 0.25, of a log-normal size (median 1,000, log-sd 1).
DEAL_P, DEAL_MU, DEAL_SIGMA = 0.25, float(np.log(1000.0)), 1.0


def deals(seed: int, shift: float) -> tuple[Rows, TrueValues]:
    """2 × 3,000 units, 25 % close a deal of log-normal size; ``T``'s sizes × ``shift``.

    The true median deal (among units with one) is exp(μ) × the arm's factor; revenue per unit
    0.25 × exp(μ + σ²/2) × the factor.
    """
    rng = np.random.default_rng(seed)
    arm = np.repeat(["C", "T"], 3000)
    factor = {"C": 1.0, "T": shift}
    size = rng.lognormal(DEAL_MU, DEAL_SIGMA, arm.size) * np.where(arm == "C", 1.0, shift)
    revenue = rng.binomial(1, DEAL_P, arm.size) * size
    rows = pd.DataFrame({"unit_id": np.arange(1, arm.size + 1), "arm": arm, "revenue": revenue})
    mean = DEAL_P * float(np.exp(DEAL_MU + DEAL_SIGMA**2 / 2))
    means: dict[tuple[str, str], float] = {}
    for a in ("C", "T"):
        means |= {(a, "revenue"): mean * factor[a], (a, "median_deal"): float(np.exp(DEAL_MU)) * factor[a]}
    return rows, TrueValues(means=means)


def quantile_null(seed: int) -> tuple[Rows, TrueValues]:
    """The median deal (and revenue) unchanged."""
    return deals(seed, 1.0)


def quantile_shift(seed: int) -> tuple[Rows, TrueValues]:
    """Every deal × 1.25 under ``T``: the median deal and revenue per unit truly +25 %."""
    return deals(seed, 1.25)


PER_HOUR = 60.0
#: Effort world: meetings (10 % in the control) + points, rep hours N(1 + extra, 0.5) per unit.
EFFORT = {"A": (0.08, 0.5), "B": (0.12, 1.5), "C": (0.0, 0.5)}


def effort_costed(seed: int) -> tuple[Rows, TrueValues]:
    """Control + A, B, C (3,000 each); an arm's cost is $60 × its true extra rep hours per unit.

    Meetings (worth 500) +8, +12, +0 points; hours +0.5, +1.5, +0.5: true costs 30, 90, 30, net
    values +10, −30, −30 (A best). Without the effort B would look best (+60): the judge must use it.
    """
    rng = np.random.default_rng(seed)
    arms = ("Control", *EFFORT)
    arm = np.repeat(arms, 3000)
    points = {"Control": 0.0, **{a: p for a, (p, _) in EFFORT.items()}}
    extra = {"Control": 0.0, **{a: h for a, (_, h) in EFFORT.items()}}
    p = np.array([0.10 + points[a] for a in arm])
    hours = np.array([1.0 + extra[a] for a in arm])
    rows = pd.DataFrame(
        {
            "unit_id": np.arange(1, arm.size + 1),
            "arm": arm,
            "meetings": rng.binomial(1, p),
            "rep_hours": rng.normal(hours, 0.5),
        }
    )
    means: dict[tuple[str, str], float] = {}
    for a in arms:
        means |= {(a, "meetings"): 0.10 + points[a], (a, "rep_hours"): 1.0 + extra[a]}
    return rows, TrueValues(means=means)


def many_columns_world(seed: int, tau: float) -> tuple[Rows, TrueValues]:
    """A binary outcome (near 29 %) on 12 numeric columns (R² 0.24), 6,000 units, half treated.

    As ``benchmarks/linear_adjustment.py`` draws it: P = expit(a + Σ β_j x_j + τ·treated). The
    adjusted estimand is each arm's share over all the test's units (g-computation), so the truth
    is the mean over every unit of expit(a + βx) and of expit(a + βx + τ).
    """
    rng = np.random.default_rng(seed)
    n = 6000
    x = np.column_stack([rng.normal(size=(n, 6)), rng.lognormal(0.0, 0.6, size=(n, 6)) - np.exp(0.18)])
    treated = rng.permutation(np.arange(n) % 2)
    base = INTERCEPT + x @ BETA
    rows = pd.DataFrame(x, columns=COLUMNS).assign(
        unit_id=np.arange(1, n + 1),
        arm=np.where(treated == 1, "T", "C"),
        booked=rng.binomial(1, expit(base + tau * treated)),
    )
    means = {("C", "booked"): float(expit(base).mean()), ("T", "booked"): float(expit(base + tau).mean())}
    return rows, TrueValues(means=means)


def many_columns(seed: int) -> tuple[Rows, TrueValues]:
    """No effect: the same share in both arms."""
    return many_columns_world(seed, 0.0)


def many_columns_lift(seed: int) -> tuple[Rows, TrueValues]:
    """τ = 0.19 on the log-odds: about +2.9 points on 29 % (+10 %), twice the ROPE's edge."""
    return many_columns_world(seed, 0.19)


# ---- specs --------------------------------------------------------------------------------------

CLICKS = {"name": "clicked", "role": "engagement", "type": "binary"}
BOOKINGS = {"name": "booked", "role": "outcome", "type": "binary"}


def spec_of(name: str, arms: dict[str, Any], metrics: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A raw spec (the data path is added per test); the first arm is the control."""
    return {
        "name": name,
        "arm_column": "arm",
        "control": next(iter(arms)),
        "arms": arms,
        "metrics": metrics,
        **extra,
    }


def two_arms(name: str, metrics: list[dict[str, Any]], *, segments: bool = True) -> dict[str, Any]:
    """A spec of control ``C`` against ``T``."""
    extra = {"covariates": ["segment"]} if segments else {}
    return spec_of(name, {"C": {}, "T": {}}, metrics, **extra)


COSTED_SPEC = spec_of(
    "costed",
    {"Control": {}, **{a: {"cost": {"per_unit": c}} for a, c in COSTS.items()}},
    [
        {"name": "meetings", "role": "outcome", "type": "binary", "value": VALUES["meetings"]},
        {
            "name": "unsubscribes",
            "role": "guardrail",
            "type": "binary",
            "worse": "up",
            "value": VALUES["unsubscribes"],
        },
    ],
    covariates=["segment"],
)
UNSUBSCRIBES = {"name": "unsubscribed", "role": "guardrail", "type": "binary", "worse": "up"}

REVENUE = {"name": "revenue", "role": "revenue", "type": "revenue"}
CHANGE = {"name": "change", "role": "outcome", "type": "continuous"}
ENROLMENTS = {"name": "enrolled", "role": "outcome", "type": "binary", "denominator": "clicked"}
UNEQUAL = spec_of(
    "unequal_spreads",
    {"C": {"share": 100}, "T": {"share": 1}},  # the planned shares: no sample-ratio mismatch
    [{"name": "score", "role": "outcome", "type": "continuous"}],
)
MEETINGS_COUNT = {"name": "meetings", "role": "outcome", "type": "count"}
PER_MEETING = {
    "name": "revenue_per_meeting",
    "role": "revenue",
    "type": "ratio",
    "numerator": "revenue",
    "denominator": "meetings",
}
MEDIAN_DEAL = {
    "name": "median_deal",
    "role": "revenue",
    "type": "quantile",
    "column": "revenue",
    "q": 0.5,
    "among": "positive",
}
EFFORT_SPEC = spec_of(
    "effort_costed",
    {"Control": {}, **{a: {"cost": {"per_hour": PER_HOUR, "hours": "rep_hours"}} for a in EFFORT}},
    [
        {"name": "meetings", "role": "outcome", "type": "binary", "value": VALUES["meetings"]},
        {"name": "rep_hours", "role": "guardrail", "type": "continuous", "worse": "up"},
    ],
)


def many_columns_spec(name: str) -> dict[str, Any]:
    """Control ``C`` against ``T``, bookings adjusted for the 12 columns (linear: ``adjust_method: auto``)."""
    return {**two_arms(name, [BOOKINGS], segments=False), "adjust": COLUMNS}


WORLDS: dict[str, World] = {
    w.name: w
    for w in (
        World(
            "aa", spec_of("aa", {"C": {}, "A": {}, "B": {}}, [CLICKS, BOOKINGS], covariates=["segment"]), aa
        ),
        World("engagement_only", two_arms("engagement_only", [CLICKS, BOOKINGS]), engagement_only),
        World("underpowered", two_arms("underpowered", [CLICKS, BOOKINGS]), underpowered),
        World("real_lift", two_arms("real_lift", [CLICKS, BOOKINGS]), real_lift),
        World("harm", two_arms("harm", [CLICKS, BOOKINGS]), harm),
        World("guardrail", two_arms("guardrail", [CLICKS, BOOKINGS, UNSUBSCRIBES]), guardrail),
        World("unequal_spreads", UNEQUAL, unequal_spreads),
        World("revenue_null", two_arms("revenue_null", [REVENUE]), revenue_null),
        World("revenue_lift", two_arms("revenue_lift", [REVENUE]), revenue_lift),
        World("zero_control", two_arms("zero_control", [CHANGE], segments=False), zero_control),
        World(
            "zero_control_shift", two_arms("zero_control_shift", [CHANGE], segments=False), zero_control_shift
        ),
        World("funnel_share", two_arms("funnel_share", [CLICKS, ENROLMENTS], segments=False), funnel_share),
        World("costed_best", {**COSTED_SPEC, "name": "costed_best"}, costed_best),
        World("costed_tie", {**COSTED_SPEC, "name": "costed_tie"}, costed_tie),
        World("aa_large", two_arms("aa_large", [CLICKS, BOOKINGS]), aa_large),
        World("edge", two_arms("edge", [CLICKS, BOOKINGS]), edge),
        World("rare_null", two_arms("rare_null", [CLICKS, BOOKINGS], segments=False), rare_null),
        World("rare_lift", two_arms("rare_lift", [CLICKS, BOOKINGS], segments=False), rare_lift),
        World(
            "ratio_null",
            two_arms("ratio_null", [MEETINGS_COUNT, REVENUE, PER_MEETING], segments=False),
            ratio_null,
        ),
        World(
            "ratio_moved",
            two_arms("ratio_moved", [MEETINGS_COUNT, REVENUE, PER_MEETING], segments=False),
            ratio_moved,
        ),
        World(
            "quantile_null", two_arms("quantile_null", [REVENUE, MEDIAN_DEAL], segments=False), quantile_null
        ),
        World(
            "quantile_shift",
            two_arms("quantile_shift", [REVENUE, MEDIAN_DEAL], segments=False),
            quantile_shift,
        ),
        World("effort_costed", EFFORT_SPEC, effort_costed),
        World("many_columns", many_columns_spec("many_columns"), many_columns),
        World("many_columns_lift", many_columns_spec("many_columns_lift"), many_columns_lift),
    )
}
#: The world that is undecided at its size: the outcome truly up, but underpowered.
UNDECIDED = "underpowered"


# ---- the truth of a claim -----------------------------------------------------------------------


METRIC_KINDS = ("real lift", "harm", "no effect")
#: The metric types whose claims the judge can judge (ratios: true E[num] / E[den]; quantiles: the
#: true population quantile, each against the ROPE on the difference like any metric).
JUDGED = ("binary", "count", "revenue", "continuous", "ratio", "quantile")
ARM_KINDS = ("arm: real lift", "arm: harm", "arm: no effect", "arm: engagement only", "arm: engagement up")


def beyond(d: float, control: float, rope: tuple[float, float]) -> tuple[bool, bool]:
    """Whether a true difference lies above the ROPE's upper edge, and below its lower edge."""
    return d > rope[1] * abs(control), d < rope[0] * abs(control)


@dataclass(frozen=True)
class Judge:
    """Decides whether each claim of one test's JSON is false, given the test's truth and spec."""

    truth: TrueValues
    spec: Spec
    report: dict[str, Any]

    def effect(self, arm: str, metric: str) -> dict[str, Any]:
        """The JSON row of ``arm``'s effect on ``metric``."""
        return next(e for e in self.report["effects"] if e["arm"] == arm and e["metric"] == metric)

    def moved(self, arm: str, metric: str) -> tuple[bool, bool]:
        """Whether ``arm`` truly moved ``metric`` above the ROPE, and below it (on the difference)."""
        c, t = self.truth.means[(self.report["control"], metric)], self.truth.means[(arm, metric)]
        lo, hi = self.effect(arm, metric)["rope"]
        return beyond(t - c, c, (lo, hi))

    def difference(self, arm: str, metric: str) -> float:
        """The true difference of the mean per unit, ``arm`` − control."""
        return self.truth.means[(arm, metric)] - self.truth.means[(self.report["control"], metric)]

    def metric(self, name: str) -> Metric:
        """The spec's metric ``name``."""
        return next(m for m in self.spec.metrics if m.name == name)

    def worse_up(self, metric: str) -> bool:
        """Whether a guardrail gets worse as it rises."""
        return self.metric(metric).worse_direction == "up"

    def false(self, claim: dict[str, Any]) -> bool | None:
        """Whether ``claim`` (a row of the JSON's ``claims``) is false, per :data:`CONTRACT`.

        None where the judge cannot say: a metric of a type it does not know how to judge, or
        a truth the world does not give (such claims are counted as unjudged and printed).
        """
        kind, metric = claim["claim"], claim["metric"]
        if (
            kind in (*METRIC_KINDS, "guardrail harm")
            and self.effect(claim["arm"], metric)["type"] not in JUDGED
        ):
            return None
        try:
            return self._false(kind, claim["arm"], metric, claim["detail"])
        except KeyError:  # the world's truth lacks a value the claim needs
            return None

    def _false(self, kind: str, arm: str, metric: str, detail: str | None) -> bool:
        """Whether a claim of ``kind`` is false (a truth it needs missing: KeyError)."""
        if kind in (*METRIC_KINDS, "guardrail harm"):
            return self.metric_false(kind, arm, metric)
        if kind.startswith("arm: "):
            return self.arm_false(kind, arm)
        if kind.startswith("follow-through"):
            return self.follow_false(kind, arm, metric, detail or "")
        if kind == "cost per extra outcome":
            return self.difference(arm, self.per_unit(metric)) <= 0
        if kind == "credibly best":
            net = self.net_values()
            return any(v >= net[arm] - TIE for a, v in net.items() if a != arm)
        raise ValueError(f"claim kind {kind!r} is not in the contract")

    def chances(self) -> Counter[str]:
        """Per kind, the claims this test could have made that would have been false.

        Every (arm, metric) for a metric claim (a guardrail's own kinds for a guardrail), every
        arm for an arm claim (the engagement kinds where the spec has engagement), every arm's
        follow-through pair, and with economics every costed arm's outcomes and every arm's
        (the control's too) "credibly best".
        """
        out = Counter[str]()
        for kind, arm, metric, detail in self._candidates():
            if kind in CONTRACT:  # a kind the contract has dropped is never made
                out[kind] += (
                    self.false({"claim": kind, "arm": arm, "metric": metric, "detail": detail}) is True
                )
        return out

    def _candidates(self) -> Iterator[tuple[str, str, str | None, str | None]]:
        """Every (kind, arm, metric, detail) this test could have claimed."""
        control = self.report["control"]
        for e in self.report["effects"]:
            guard = e["role"] == "guardrail"
            for kind in ("guardrail harm", "real lift", "no effect") if guard else METRIC_KINDS:
                yield kind, e["arm"], e["metric"], None
        engaged = any(m.role == "engagement" for m in self.spec.metrics)
        for arm in self.spec.treatments:
            for kind in ARM_KINDS if engaged else ARM_KINDS[:3]:
                yield kind, arm, None, None
        for arm, eng, outcome in self.truth.follow:
            if arm != control:
                yield "follow-through rose", arm, eng, outcome
                yield "follow-through fell", arm, eng, outcome
        if self.report["arms"][0]["economics"] is not None:
            yield from self._money_candidates(control)

    def _money_candidates(self, control: str) -> Iterator[tuple[str, str, str | None, str | None]]:
        """The money claims: each costlier arm's cost per extra outcome, and every arm's "credibly best"."""
        outcomes = [
            m.name for m in self.spec.metrics if m.role == "outcome" and m.type in ("binary", "count")
        ]
        for arm in self.spec.treatments:
            for metric in outcomes if self.true_cost(arm) > self.true_cost(control) else ():
                yield "cost per extra outcome", arm, metric, None
        for arm in (control, *self.spec.treatments):
            yield "credibly best", arm, None, None

    def follow_false(self, kind: str, arm: str, engagement: str, outcome: str) -> bool:
        """A follow-through claim, against the true lift of P(outcome | engaged) and the outcome's ROPE."""
        ft = self.truth.follow
        lift = ft[(arm, engagement, outcome)] / ft[(self.report["control"], engagement, outcome)] - 1
        lo, hi = self.metric(outcome).rope_interval
        return lift <= hi if kind == "follow-through rose" else lift >= lo

    def metric_false(self, kind: str, arm: str, metric: str) -> bool:
        """A claim about one metric, in the guardrail's worse direction for a guardrail."""
        up, down = self.moved(arm, metric)
        if self.effect(arm, metric)["role"] == "guardrail":
            worse, better = (up, down) if self.worse_up(metric) else (down, up)
            return {"guardrail harm": not worse, "real lift": not better, "no effect": worse or better}[kind]
        return {"real lift": not up, "harm": not down, "no effect": up or down}[kind]

    def arm_false(self, kind: str, arm: str) -> bool:
        """An arm's claim, against its deciding metrics (unconditional outcomes, revenue) and engagement."""
        own = [e for e in self.report["effects"] if e["arm"] == arm]
        deciding = [
            self.moved(arm, e["metric"])
            for e in own
            if e["role"] in ("outcome", "revenue") and not e["conditional"]
        ]
        engaged = any(
            self.moved(arm, e["metric"])[0]
            for e in own
            if e["role"] == "engagement" and e["type"] not in DESCRIPTIVE_TYPES
        )
        return {
            "arm: real lift": not any(up for up, _ in deciding),
            "arm: harm": not any(down for _, down in deciding),
            "arm: no effect": any(up or down for up, down in deciding),
            "arm: engagement only": not engaged or any(up for up, _ in deciding),
            "arm: engagement up": not engaged,
        }[kind]

    def per_unit(self, metric: str) -> str:
        """The name of a metric's mean per unit: ``<name>_per_unit`` for a conditional share."""
        return metric if self.metric(metric).stage is None else f"{metric}_per_unit"

    def net_values(self) -> dict[str, float]:
        """True net value per unit of every arm, the control at 0: Σ value × increment − extra cost.

        Ratios and quantiles describe and are worth nothing here (they never enter the economics).
        """
        control = self.spec.control
        net = {control: 0.0}
        for arm in self.spec.treatments:
            value = sum(
                (1.0 if m.role == "revenue" else m.value or 0.0) * self.difference(arm, self.per_unit(m.name))
                for m in self.spec.metrics
                if m.type not in DESCRIPTIVE_TYPES
            )
            net[arm] = value - self.true_cost(arm) + self.true_cost(control)
        return net

    def true_cost(self, arm: str) -> float:
        """An arm's true cost per unit: its variable cost plus per_hour × its true mean hours.

        With incremental costs the effort is the arm's true hours beyond the control's, as
        :mod:`channelab.analysis.economics` counts it (the worlds have no fixed costs).
        """
        cost = self.spec.arms[arm].cost
        if cost is None:
            return 0.0
        if cost.per_hour is None or cost.hours is None:
            return cost.variable
        hours = self.truth.means[(arm, cost.hours)]
        if self.spec.economics.costs_are == "incremental":
            hours -= self.truth.means[(self.spec.control, cost.hours)]
        return cost.variable + cost.per_hour * hours


# ---- running a test -----------------------------------------------------------------------------

_FOLDER: list[Path] = []
_KEEP: list[tempfile.TemporaryDirectory[str]] = []


def folder() -> Path:
    """The temporary folder of this process for the tests' CSV files (removed when the process ends)."""
    if not _FOLDER:
        keep = tempfile.TemporaryDirectory(prefix="channelab-claims-")
        _FOLDER.append(Path(keep.name))
        _KEEP.append(keep)
    return _FOLDER[0]


def run_test(task: tuple[str, int, np.random.SeedSequence]) -> dict[str, Any]:
    """Simulate one test of a world, run spec → JSON on it, and judge every claim in the JSON.

    A test that fails (the pipeline raises) is recorded with its error and left out of the
    tables, so that one failure does not lose a long run; the report lists every error.
    """
    name, index, seq = task
    start = time.perf_counter()
    try:
        report, truth, spec = pipeline_json(name, seq)
    except Exception as exc:  # reported with the tables, never hidden
        return {"world": name, "test": index, "error": f"{type(exc).__name__}: {exc}"[:300]}
    seconds = time.perf_counter() - start
    judge = Judge(truth, spec, report)
    claims = [{**c, "false": judge.false(c)} for c in report["claims"]]
    return {
        "world": name,
        "test": index,
        "seconds": seconds,
        "converged": report["checks"]["converged"],
        "verdicts": {a["arm"]: a["verdict"] for a in report["arms"]},
        "claims": claims,
        "chances": dict(judge.chances()),
    }


def pipeline_json(name: str, seq: np.random.SeedSequence) -> tuple[dict[str, Any], TrueValues, Spec]:
    """Simulate a test of world ``name``, write its rows to a CSV and run the spec on it: its JSON."""
    from channelab.pipeline import analyse
    from channelab.reporting.json_report import analysis_json

    warnings.filterwarnings("ignore")
    world = WORLDS[name]
    data_seed, fit_seed = (int(x) for x in seq.generate_state(2))
    rows, truth = world.simulate(data_seed)
    path = folder() / f"{name}.csv"
    rows.to_csv(path, index=False)
    spec = parse_spec({**world.spec, "data": {"path": str(path)}})
    return analysis_json(analyse(spec, seed=fit_seed)), truth, spec


def tasks(names: list[str], sims: int, seed: int) -> list[tuple[str, int, np.random.SeedSequence]]:
    """Every test to run, world by world; a world's seeds do not depend on which other worlds run."""
    per_world = dict(zip(WORLDS, np.random.SeedSequence(seed).spawn(len(WORLDS)), strict=True))
    return [(n, i, s) for n in names for i, s in enumerate(per_world[n].spawn(sims))]


def run_all(
    todo: list[tuple[str, int, np.random.SeedSequence]], jobs: int, records: Path | None
) -> list[dict[str, Any]]:
    """Run the tests (in ``jobs`` processes), printing progress every 20 tests.

    With ``records``, every claim (and, beside it, every arm verdict) is appended to a CSV as
    each test finishes, so a long run can be read while it runs.
    """
    start, out = time.perf_counter(), []
    if jobs > 1:
        pool = multiprocessing.get_context("spawn").Pool(jobs)
        results: Iterable[dict[str, Any]] = pool.imap(run_test, todo, chunksize=1)
    else:
        pool, results = None, map(run_test, todo)
    for i, result in enumerate(results, start=1):
        out.append(result)
        if "error" in result:
            print(f"  test {result['world']} #{result['test']} failed: {result['error']}", flush=True)
        elif records is not None:
            append_records(result, records, first=not any("claims" in r for r in out[:-1]))
        if i % 20 == 0 or i == len(todo):
            print(
                f"  {i}/{len(todo)} tests ({result['world']}), {time.perf_counter() - start:.0f} s",
                flush=True,
            )
    if pool is not None:
        pool.close()
        pool.join()
    return out


def append_records(result: dict[str, Any], records: Path, *, first: bool) -> None:
    """Append one test's claims to ``records`` and its arm verdicts to ``<records>.verdicts.csv``."""
    keys = {"world": result["world"], "test": result["test"]}
    claims = pd.DataFrame(
        [{**keys, **c} for c in result["claims"]],
        columns=["world", "test", "claim", "arm", "metric", "detail", "false"],
    )
    verdicts = pd.DataFrame([{**keys, "arm": a, "verdict": v} for a, v in result["verdicts"].items()])
    for table, path in ((claims, records), (verdicts, records.with_suffix(".verdicts.csv"))):
        table.to_csv(path, mode="w" if first else "a", header=first, index=False)


# ---- tables -------------------------------------------------------------------------------------


def claim_table(results: list[dict[str, Any]]) -> pd.DataFrame:
    """Per claim kind, pooled over worlds: times made, times false, false rate and its 95 % interval.

    ``chances``: the claims of this kind that would have been false had they been made;
    ``per chance``: the share of those that were made (an error rate per opportunity, which a
    one-sided claim at level 0.97 keeps near or below 3 % where the truth sits at the edge).
    """
    made, false, chances, unjudged = Counter[str](), Counter[str](), Counter[str](), Counter[str]()
    for r in results:
        chances.update(r["chances"])
        for c in r["claims"]:
            made[c["claim"]] += 1
            false[c["claim"]] += c["false"] is True
            unjudged[c["claim"]] += c["false"] is None
    rows = []
    for kind in [*CONTRACT, *(k for k in made if k not in CONTRACT)]:
        k, n = false[kind], made[kind] - unjudged[kind]  # the rate is over the judged claims
        lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson") if n else (np.nan, np.nan)
        rows.append(
            {
                "claim": kind,
                "made": made[kind],
                "unjudged": unjudged[kind],
                "false": k,
                "rate": k / n if n else np.nan,
                "lo": lo,
                "hi": hi,
                "chances": chances[kind],
                "per chance": k / chances[kind] if chances[kind] else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("claim")


def claims_by_world(results: list[dict[str, Any]]) -> pd.DataFrame:
    """Times made / false per world and claim kind (to find where a false claim comes from)."""
    rows = [
        {
            "world": r["world"],
            "claim": c["claim"],
            "false": c["false"] is True,
            "unjudged": c["false"] is None,
        }
        for r in results
        for c in r["claims"]
    ]
    if not rows:
        return pd.DataFrame()
    grouped = pd.DataFrame(rows).groupby(["world", "claim"], sort=False)
    table = grouped.agg(made=("false", "size"), false=("false", "sum"), unjudged=("unjudged", "sum"))
    return table.astype(int)


def verdict_table(results: list[dict[str, Any]]) -> pd.DataFrame:
    """Per world and arm, the share of tests giving each arm verdict."""
    rows = [{"world": r["world"], "arm": a, "verdict": v} for r in results for a, v in r["verdicts"].items()]
    table = pd.crosstab(
        [
            pd.Series([x["world"] for x in rows], name="world"),
            pd.Series([x["arm"] for x in rows], name="arm"),
        ],
        pd.Series([x["verdict"] for x in rows], name="verdict"),
        normalize="index",
    )
    order = [w for w in WORLDS if w in table.index.get_level_values(0)]
    return table.reindex(order, level=0)


def undecided_table(results: list[dict[str, Any]]) -> pd.DataFrame:
    """In the undecided world: the share of tests making each claim about the outcome, and its truth."""
    tests = [r for r in results if r["world"] == UNDECIDED]
    rows = []
    for label, hit in (
        ("arm: engagement only", lambda r: "engagement only" in r["verdicts"].values()),
        ("arm: no effect", lambda r: "no effect" in r["verdicts"].values()),
        ("arm: real lift", lambda r: r["verdicts"].get("T", "").startswith("real lift")),
        *(
            (
                f"booked: {kind}",
                lambda r, kind=kind: any(c["claim"] == kind and c["metric"] == "booked" for c in r["claims"]),
            )
            for kind in METRIC_KINDS
            if kind in CONTRACT
        ),
    ):
        k = sum(map(hit, tests))
        lo, hi = proportion_confint(k, len(tests), alpha=0.05, method="wilson")
        truly = "true" if label in ("arm: real lift", "booked: real lift", "booked: rise") else "false"
        rows.append({"claim": label, "is": truly, "tests": k, "share": k / len(tests), "lo": lo, "hi": hi})
    return pd.DataFrame(rows).set_index("claim")


def percent(x: float) -> str:
    return "" if pd.isna(x) else f"{100 * x:.1f} %"


def report(results: list[dict[str, Any]], seconds: float, records: Path | None) -> None:
    """Print the tables and the acceptance line."""
    errors = [r for r in results if "error" in r]
    results = [r for r in results if "error" not in r]
    for r in errors:
        print(f"test {r['world']} #{r['test']} failed: {r['error']}")
    n_tests = len(results)
    worlds = list(dict.fromkeys(r["world"] for r in results))
    per_test = np.mean([r["seconds"] for r in results])
    print(f"\n{n_tests} tests in {len(worlds)} worlds, {seconds:.0f} s in all")
    print(f"{per_test:.2f} s a test in the pipeline (analyse + JSON)")
    not_converged = Counter(r["world"] for r in results if not r["converged"])
    if not_converged:
        print("fits that did not converge: " + ", ".join(f"{w} {k}" for w, k in not_converged.items()))
    claims = claim_table(results)
    print("\n(a) False claims per kind, pooled over all worlds (95 % Wilson interval):")
    shown = claims.assign(
        rate=claims["rate"].map(percent),
        **{"per chance": claims["per chance"].map(percent)},
        interval=[
            f"[{percent(lo)}, {percent(hi)}]" if not pd.isna(lo) else ""
            for lo, hi in zip(claims["lo"], claims["hi"], strict=True)
        ],
    )
    print(shown[["made", "unjudged", "false", "rate", "interval", "chances", "per chance"]].to_string())
    unjudged = [
        f"{r['world']} #{r['test']}: {c['claim']} ({c['arm']}, {c['metric']})"
        for r in results
        for c in r["claims"]
        if c["false"] is None
    ]
    if unjudged:
        print(f"\n    {len(unjudged)} claims the judge cannot judge (not counted in the rates):")
        print("\n".join(f"      {line}" for line in unjudged[:50]))
    print("\n    where they were made (world, claim: made, false):")
    print(claims_by_world(results).to_string())
    print("\n(b) Arm verdicts per world (share of tests):")
    print(verdict_table(results).map(lambda x: percent(x) if x else "").to_string())
    ok_undecided = True
    if UNDECIDED in worlds:
        undecided = undecided_table(results)
        print(f"\n(c) The undecided world ({UNDECIDED}: bookings truly +20 %, underpowered):")
        print("    tests making each claim about the outcome")
        print(
            undecided.assign(
                share=undecided["share"].map(percent),
                interval=[
                    f"[{percent(lo)}, {percent(hi)}]"
                    for lo, hi in zip(undecided["lo"], undecided["hi"], strict=True)
                ],
            )
            .drop(columns=["lo", "hi"])
            .to_string()
        )
        definite = sum(
            any(v in ("engagement only", "no effect") for v in r["verdicts"].values())
            for r in results
            if r["world"] == UNDECIDED
        )
        share = definite / sum(r["world"] == UNDECIDED for r in results)
        ok_undecided = share <= TARGET
        print(f"    arm 'engagement only' or 'no effect': {percent(share)} (must be ≤ {percent(TARGET)})")
    if records is not None:
        print(
            f"\nevery claim written to {records}, every arm verdict to {records.with_suffix('.verdicts.csv')}"
        )
    made = claims[claims["made"] > claims["unjudged"]]
    over = made.index[made["rate"] > TARGET].tolist()
    unsure = made.index[(made["rate"] <= TARGET) & (made["hi"] > TARGET)].tolist()
    never = claims.index[claims["made"] == 0].tolist()
    verdict = "FAIL" if over or not ok_undecided else "INCOMPLETE" if unjudged else "PASS"
    kinds = "yes" if not over else "no (" + ", ".join(over) + ")"
    print(
        f"\n(d) {verdict}: every claim kind's false rate ≤ {percent(TARGET)}: {kinds}"
        + (f"; definite outcome verdicts in {UNDECIDED} ≤ {percent(TARGET)}: " if UNDECIDED in worlds else "")
        + (("yes" if ok_undecided else "no") if UNDECIDED in worlds else "")
        + (f"; interval reaches above {percent(TARGET)}: {', '.join(unsure)}" if unsure else "")
        + (f"; never made: {', '.join(never)}" if never else "")
        + (f"; {len(unjudged)} claims unjudged" if unjudged else "")
        + (f"; {len(errors)} tests failed and are not counted" if errors else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sims", type=int, default=200, help="tests per world")
    parser.add_argument("--worlds", nargs="+", choices=list(WORLDS), default=list(WORLDS))
    parser.add_argument("--seed", type=int, default=29)
    parser.add_argument("--jobs", type=int, default=1, help="processes (the machine has 2 cores)")
    parser.add_argument("--records", type=Path, default=None, help="CSV of every claim and its truth")
    args = parser.parse_args()
    start = time.perf_counter()
    todo = tasks(args.worlds, args.sims, args.seed)
    print(
        f"{len(todo)} tests: {args.sims} in each of {', '.join(args.worlds)} (seed {args.seed})", flush=True
    )
    results = run_all(todo, args.jobs, args.records)
    report(results, time.perf_counter() - start, args.records)


if __name__ == "__main__":
    main()
