"""Simulated experiments that return the ground truth alongside the data.

The outreach simulators generate from the same additive link-scale structure the model
assumes (intercept + arm + segment effects), so tests can check that channelab recovers what
was put in:

- :func:`simulate_ab`: a generic randomised test with one segment covariate and any metric
  type, for tests of the statistics.
- :func:`simulate_outreach`: realistic B2B outreach cohorts (prospects in accounts, handled by
  sales reps, in segments, over weeks) under a :class:`Scenario` from :data:`SCENARIOS`, with
  rep and week noise. :func:`write_simulation` writes the rows (CSV or Parquet) and the truth
  beside them as ``<stem>.truth.json``; ``channelab simulate`` is its command line.
- :func:`simulate_selection`: observational CRM data in which reps chose the engaged accounts
  (for matched designs); :func:`simulate_replication`: a replication of the UBC poppy study
  with or without the original effect. Their ``write_*`` twins write rows and truth.

The true lift is the population-average ratio over the realised population, the same
estimand :func:`channelab.effects.compute_effects` reports.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, logit

from channelab.errors import ChannelabError
from channelab.files import write_atomic
from channelab.spec import Channel, DataSource, Decision, Metric, MetricType, Role, Spec, parse_spec
from channelab.verdicts import ArmVerdict, arm_verdict, metric_verdict, pct

if TYPE_CHECKING:
    from channelab.effects import Effect


@dataclass(frozen=True)
class SimMetric:
    """How one metric is generated.

    ``base`` is the control mean in the reference segment (for revenue: the share of
    units who spend; ``amount`` is then the median positive amount). ``effects`` are
    link-scale arm effects (log-odds for binary and revenue's spend probability, log for
    counts and revenue amounts, raw units for continuous); arms not listed have 0.
    """

    type: MetricType
    base: float
    effects: dict[str, float] = field(default_factory=dict)
    amount_effects: dict[str, float] = field(default_factory=dict)
    amount: float = 50.0
    sigma: float = 1.0  # log-sd of amounts (revenue) or sd (continuous)
    overdispersion: float = 0.5  # count: Var = mu + overdispersion * mu^2


@dataclass(frozen=True)
class Truth:
    """True population means per (arm, metric) and lifts per (treatment, metric)."""

    means: dict[tuple[str, str], float]
    lifts: dict[tuple[str, str], float]


def simulate_ab(
    *,
    n_per_arm: int | Sequence[int],
    arms: tuple[str, ...] = ("control", "treatment"),
    metrics: dict[str, SimMetric],
    segment_effects: tuple[float, ...] = (0.0, 0.4, -0.3),
    seed: int,
) -> tuple[pd.DataFrame, Truth]:
    """Simulate a randomised experiment with one segment covariate.

    Returns the unit rows (columns ``unit_id``, ``arm``, ``segment`` and one per metric)
    and the :class:`Truth`. The first arm is the control. ``n_per_arm`` is one size for
    every arm or one per arm.
    """
    rng = np.random.default_rng(seed)
    n = int(np.sum(np.broadcast_to(n_per_arm, len(arms))))
    arm = np.repeat(np.asarray(arms), n_per_arm)
    seg = rng.integers(0, len(segment_effects), size=n)
    seg_eff = np.asarray(segment_effects)
    mix = np.bincount(seg, minlength=len(seg_eff)) / n
    data: dict[str, np.ndarray] = {
        "unit_id": np.arange(1, n + 1),
        "arm": arm,
        "segment": np.asarray([f"s{i}" for i in range(len(seg_eff))])[seg],
    }
    means: dict[tuple[str, str], float] = {}
    for name, m in metrics.items():
        eff = np.array([m.effects.get(a, 0.0) for a in arms])
        amt = np.array([m.amount_effects.get(a, 0.0) for a in arms])
        arm_i = np.repeat(np.arange(len(arms)), n_per_arm)
        y, mean_grid = _draw(
            m, eff[:, None] + seg_eff[None, :], amt[:, None] + seg_eff[None, :], arm_i, seg, rng
        )
        data[name] = y
        for i, a in enumerate(arms):
            means[(a, name)] = float(mean_grid[i] @ mix)
    lifts = {(a, k): means[(a, k)] / means[(arms[0], k)] - 1 for a in arms[1:] for k in metrics}
    return pd.DataFrame(data), Truth(means=means, lifts=lifts)


def _draw(
    m: SimMetric,
    shift: np.ndarray,
    amount_shift: np.ndarray,
    arm_i: np.ndarray,
    seg: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one metric for every unit; return the draws and the mean per (arm, segment)."""
    match m.type:
        case "binary":
            p = expit(logit(m.base) + shift)
            return rng.binomial(1, p[arm_i, seg]), p
        case "count":
            mu = m.base * np.exp(shift)
            if m.overdispersion == 0:
                return rng.poisson(mu[arm_i, seg]), mu
            r = 1.0 / m.overdispersion
            return rng.negative_binomial(r, r / (r + mu[arm_i, seg])), mu
        case "revenue":
            p = expit(logit(m.base) + shift)
            log_median = np.log(m.amount) + amount_shift
            pays = rng.binomial(1, p[arm_i, seg]).astype(bool)
            amounts = np.exp(rng.normal(log_median[arm_i, seg], m.sigma))
            y = np.where(pays, np.round(amounts, 2), 0.0)
            y[pays & (y <= 0)] = 0.01
            return y, p * np.exp(log_median + m.sigma**2 / 2)
        case "continuous":
            mu = m.base + shift
            return rng.normal(mu[arm_i, seg], m.sigma), mu
    raise ValueError(f"unknown metric type {m.type!r}")


# ---- B2B outreach cohorts -------------------------------------------------------------------

Randomisation = Literal["prospect", "rep"]

#: Default cohort size of :func:`simulate_outreach` and ``channelab simulate``.
DEFAULT_N_PROSPECTS = 30_000

#: The outreach metrics in funnel order, with the role each plays in an experiment spec.
OUTREACH_METRICS: dict[str, Role] = {
    "profile_views": "engagement",
    "likes_comments": "engagement",
    "connection_accepts": "engagement",
    "email_replies": "engagement",
    "meetings": "outcome",
    "revenue": "revenue",
}

#: How each metric is drawn under control. ``base`` is the true population mean under control
#: (the intercept is calibrated to the simulated population); for revenue it is the probability
#: of a deal, ``amount`` the median deal in dollars (the deal-weighted geometric mean of the
#: prospects' medians) and ``sigma`` its log-sd. Counts are negative binomial with
#: Var = mu + overdispersion * mu^2.
BASE_METRICS: dict[str, SimMetric] = {
    "profile_views": SimMetric("count", 2.0, overdispersion=0.8),
    "likes_comments": SimMetric("count", 1.0, overdispersion=1.0),
    "connection_accepts": SimMetric("count", 0.3, overdispersion=0.5),
    "email_replies": SimMetric("count", 0.2, overdispersion=0.5),
    "meetings": SimMetric("count", 0.15, overdispersion=0.1),
    "revenue": SimMetric("revenue", 0.02, amount=20_000.0, sigma=1.0),
}

#: The six arms of the built-in scenarios, control first, as (label, channel).
OUTREACH_ARMS: tuple[tuple[str, Channel], ...] = (
    ("Control", "control"),
    ("E-mail", "email"),
    ("Phone", "phone"),
    ("Social", "social"),
    ("Video", "video"),
    ("In person", "in_person"),
)


@dataclass(frozen=True)
class Level:
    """One level of a segment column: its share and its link-scale main effects.

    ``engagement`` (log scale) applies to every engagement metric, ``meetings`` (log) to
    meetings, ``deal`` (logit) to the probability of a deal and ``amount`` (log) to deal amounts.
    """

    share: float
    engagement: float = 0.0
    meetings: float = 0.0
    deal: float = 0.0
    amount: float = 0.0


#: Segment columns with their levels' shares and main effects, the same in every scenario.
#: Industry, company size and region belong to the account (its prospects share them);
#: seniority to the prospect. Base rates are population means, so these effects move segments
#: relative to each other, not the overall mean.
SEGMENTS: dict[str, dict[str, Level]] = {
    "industry": {
        "software": Level(0.35, engagement=0.1),
        "manufacturing": Level(0.25, engagement=-0.2, meetings=-0.1, amount=0.1),
        "finance": Level(0.20, meetings=0.1, deal=0.1, amount=0.2),
        "healthcare": Level(0.20, engagement=-0.1, meetings=-0.1, deal=-0.1),
    },
    "company_size": {
        "smb": Level(0.50, engagement=0.1, meetings=0.1, deal=0.2, amount=-0.5),
        "mid_market": Level(0.30),
        "enterprise": Level(0.20, engagement=-0.1, meetings=-0.2, deal=-0.3, amount=0.8),
    },
    "region": {
        "na": Level(0.45, meetings=0.1),
        "emea": Level(0.35),
        "apac": Level(0.20, engagement=0.1, meetings=-0.2, deal=-0.2, amount=-0.2),
    },
    "seniority": {
        "individual": Level(0.50, engagement=0.2, meetings=-0.1, deal=-0.2),
        "manager": Level(0.35),
        "executive": Level(0.15, engagement=-0.4, meetings=0.3, deal=0.4, amount=0.2),
    },
}
ACCOUNT_COLUMNS = ("industry", "company_size", "region")
#: Probability that an account has 1, 2, ..., 8 prospects (mean 2.94).
ACCOUNT_SIZES = (0.30, 0.22, 0.16, 0.11, 0.08, 0.06, 0.04, 0.03)
#: Weeks of first touch, 1 to WEEKS, equally likely.
WEEKS = 8
#: Gamma shape of the reps' workloads (their share of accounts): coefficient of variation 1/√8.
REP_WORKLOAD_SHAPE = 8.0

_LEVEL_PART = {m: "engagement" for m, r in OUTREACH_METRICS.items() if r == "engagement"} | {
    "meetings": "meetings",
    "revenue": "deal",
}
#: ROPE used to read verdicts off a truth: the spec's default.
_TRUTH_ROPE = Metric(name="m", role="outcome", type="count").rope_interval


@dataclass(frozen=True)
class SegmentLift:
    """An arm effect that exists in one segment only.

    ``effect`` (link scale, as in :class:`SimMetric`: log for counts, logit of the deal
    probability for revenue) is added to ``arm``'s effect on ``metric`` for the prospects whose
    ``column`` equals ``level``.
    """

    arm: str
    metric: str
    column: str
    level: str
    effect: float


@dataclass(frozen=True)
class Scenario:
    """A data-generating truth for :func:`simulate_outreach`.

    Parameters
    ----------
    name, description
        Registry key, and the truth in plain language with its numbers.
    metrics
        How each of :data:`OUTREACH_METRICS` is drawn: base rate (the true population mean
        under control), overdispersion, and link-scale arm effects per arm label (log for
        counts and deal amounts, logit for the deal probability); see :func:`outreach_metrics`.
    arms
        (label, channel) pairs; the first is the control and has channel ``control``.
    randomised_by
        ``prospect``: complete randomisation of prospects in equal shares. ``rep``: reps are
        split across arms in equal shares and all of a rep's prospects get the rep's arm.
    segment_lifts
        Arm effects that exist only in one segment, added to the arm's overall effect.
    rep_sd, week_sd
        Sd of the rep effects (link scale of every metric but deal amounts; one per rep and
        metric) and of the week effects (log scale of each engagement metric; one per week
        and metric).
    n_reps
        Number of sales reps; accounts go to reps in proportion to gamma-distributed workloads.
    """

    name: str
    description: str
    metrics: Mapping[str, SimMetric]
    arms: tuple[tuple[str, Channel], ...] = OUTREACH_ARMS
    randomised_by: Randomisation = "prospect"
    segment_lifts: tuple[SegmentLift, ...] = ()
    rep_sd: float = 0.2
    week_sd: float = 0.15
    n_reps: int = 48

    def __post_init__(self) -> None:
        problems = []
        labels = self.labels
        if len(labels) < 2 or len(set(labels)) != len(labels) or self.arms[0][1] != "control":
            problems.append(
                f"arms: got {list(self.arms)}, but expected two or more distinct labels, "
                "the first with channel 'control'"
            )
        if set(self.metrics) != set(OUTREACH_METRICS) or any(
            m.type != BASE_METRICS[k].type for k, m in self.metrics.items() if k in BASE_METRICS
        ):
            problems.append(
                f"metrics: got {sorted(self.metrics)}, but expected {list(OUTREACH_METRICS)} with "
                "the types of BASE_METRICS"
            )
        for name, m in self.metrics.items():
            if stray := sorted((set(m.effects) | set(m.amount_effects)) - set(self.treatments)):
                problems.append(
                    f"metrics.{name}: got effects for {stray}, but expected treatment arms {self.treatments}"
                )
        for s in self.segment_lifts:
            if not (
                s.arm in self.treatments
                and s.metric in OUTREACH_METRICS
                and s.level in SEGMENTS.get(s.column, {})
            ):
                problems.append(
                    f"segment_lifts: got {s}, but expected a treatment arm, a metric of "
                    f"{list(OUTREACH_METRICS)} and a level of a column of {list(SEGMENTS)}"
                )
        if min(self.rep_sd, self.week_sd) < 0 or self.n_reps < len(labels):
            problems.append(
                f"got rep_sd={self.rep_sd}, week_sd={self.week_sd}, n_reps={self.n_reps}, but "
                "expected sds >= 0 and at least as many reps as arms"
            )
        if problems:
            raise ChannelabError(f"scenario {self.name!r}: " + "; ".join(problems))

    @property
    def labels(self) -> tuple[str, ...]:
        """Arm labels, control first."""
        return tuple(label for label, _ in self.arms)

    @property
    def control(self) -> str:
        """Label of the control arm."""
        return self.arms[0][0]

    @property
    def treatments(self) -> list[str]:
        """Arm labels other than the control."""
        return list(self.labels[1:])

    def to_dict(self) -> dict[str, Any]:
        """The generating parameters as JSON-ready data (``parameters`` in a truth file)."""
        return {
            "arms": dict(self.arms),
            "randomised_by": self.randomised_by,
            "n_reps": self.n_reps,
            "rep_sd": self.rep_sd,
            "week_sd": self.week_sd,
            "metrics": {k: asdict(m) for k, m in self.metrics.items()},
            "segment_lifts": [asdict(s) for s in self.segment_lifts],
            "segments": {c: {k: asdict(v) for k, v in levels.items()} for c, levels in SEGMENTS.items()},
            "account_sizes": list(ACCOUNT_SIZES),
            "weeks": WEEKS,
        }


def outreach_metrics(ratios: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, SimMetric]:
    """:data:`BASE_METRICS` with arm effects given as multipliers, ``{arm: {metric: ratio}}``.

    A ratio is the rate ratio for a count metric and the odds ratio of a deal for ``revenue``;
    it is stored as its log, the link-scale effect. Arms and metrics not listed have none.
    """
    ratios = ratios or {}
    if unknown := sorted({m for r in ratios.values() for m in r} - set(BASE_METRICS)):
        raise ChannelabError(f"got metrics {unknown}, but expected some of {list(BASE_METRICS)}")
    return {
        name: replace(m, effects={arm: math.log(r[name]) for arm, r in ratios.items() if name in r})
        for name, m in BASE_METRICS.items()
    }


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            name="slacktivism",
            description=(
                "Social selling triples engagement and does nothing else. Social: profile views, "
                "likes/comments and connection accepts x3 (+200 %), meetings and revenue +0 %. "
                "Phone: meetings x1.2 (+20 %), deal odds x1.2 (revenue about +19.5 %). E-mail: "
                "e-mail replies x1.5 (+50 %) only. Video: meetings x1.1 (+10 %). In person: meetings "
                "x1.3 (+30 %), deal odds x1.3 (revenue about +29 %). Verdicts: Social and E-mail "
                "engagement only; Phone, Video and In person real lift."
            ),
            metrics=outreach_metrics(
                {
                    "E-mail": {"email_replies": 1.5},
                    "Phone": {"meetings": 1.2, "revenue": 1.2},
                    "Social": {"profile_views": 3.0, "likes_comments": 3.0, "connection_accepts": 3.0},
                    "Video": {"meetings": 1.1},
                    "In person": {"meetings": 1.3, "revenue": 1.3},
                }
            ),
        ),
        Scenario(
            name="null",
            description="A/A test: no arm changes any metric (every true lift 0; verdicts no effect).",
            metrics=outreach_metrics(),
        ),
        Scenario(
            name="heterogeneous",
            description=(
                "Phone works only for enterprise accounts: meetings x1.6 (+60 %) where company_size "
                "is enterprise, +0 % in smb and mid_market (overall about +9 %, so a real lift "
                "overall). Every other arm and metric +0 %."
            ),
            metrics=outreach_metrics(),
            segment_lifts=(SegmentLift("Phone", "meetings", "company_size", "enterprise", math.log(1.6)),),
        ),
        Scenario(
            name="clustered",
            description=(
                "Randomised by rep (8 of 48 reps per arm) with strong rep effects (sd 0.5 on the "
                "link scale of every metric but deal amounts). Phone: meetings x1.2 (+20 %); every "
                "other arm and metric +0 %."
            ),
            metrics=outreach_metrics({"Phone": {"meetings": 1.2}}),
            randomised_by="rep",
            rep_sd=0.5,
        ),
    )
}


@dataclass(frozen=True)
class OutreachTruth:
    """What :func:`simulate_outreach` put into the data.

    The mean of a metric under arm a is the average, over every simulated prospect (with its
    own segments, rep and week), of the metric's expected value with the arm set to a; the
    lift of a treatment is its mean over the control's, minus 1. This is the g-computation
    estimand channelab reports. ``segment_lifts`` applies the same definition within each
    level of a column that has a segment-specific arm effect. ``verdicts`` are the arm
    verdicts this truth implies under the default ROPE of ±5 % (what an experiment large
    enough to leave no doubt would conclude; a real one may read ``inconclusive``).

    :meth:`to_dict` gives the stable layout of a truth file::

        scenario, description, seed, n, randomised_by, control   scalars
        arms            {label: channel}, control first
        metrics         {metric: role}, funnel order
        means           {arm: {metric: true mean per prospect}}
        lifts           {treatment: {metric: relative lift}}, 0.2 = +20 %
        segment_lifts   {column: {level: {treatment: {metric: relative lift}}}}
        verdicts        {treatment: arm verdict}
        parameters      the generating parameters (Scenario.to_dict)
        provenance      {"channelab": version, "numpy": version}

    :func:`write_simulation` adds ``data``: the data file's name, format, rows and SHA-256.
    """

    scenario: str
    description: str
    seed: int
    n: int
    arms: dict[str, Channel]
    control: str
    randomised_by: Randomisation
    means: dict[str, dict[str, float]]
    lifts: dict[str, dict[str, float]]
    segment_lifts: dict[str, dict[str, dict[str, dict[str, float]]]]
    verdicts: dict[str, ArmVerdict]
    parameters: dict[str, Any] = field(repr=False)
    provenance: dict[str, str] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The truth as JSON-ready data, in the layout documented on the class."""
        return {
            "scenario": self.scenario,
            "description": self.description,
            "seed": self.seed,
            "n": self.n,
            "randomised_by": self.randomised_by,
            "control": self.control,
            "arms": self.arms,
            "metrics": dict(OUTREACH_METRICS),
            "means": self.means,
            "lifts": self.lifts,
            "segment_lifts": self.segment_lifts,
            "verdicts": self.verdicts,
            "parameters": self.parameters,
            "provenance": self.provenance,
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def verdict(self, arm: str, metrics: Collection[str] | None = None) -> ArmVerdict:
        """The verdict on ``arm`` that this truth implies, read over ``metrics`` only (default all)."""
        return _true_verdict({k: v for k, v in self.lifts[arm].items() if metrics is None or k in metrics})

    def summary(self, metric: str = "meetings") -> str:
        """One line: the true lift of every treatment on ``metric``."""
        lifts = ", ".join(f"{arm} {pct(by[metric], sign=True)}" for arm, by in self.lifts.items())
        return f"{self.scenario}: true lift in {metric.replace('_', ' ')}: {lifts}"


def simulate_outreach(
    scenario: str | Scenario, *, n_prospects: int = DEFAULT_N_PROSPECTS, seed: int
) -> tuple[pd.DataFrame, OutreachTruth]:
    """Simulate a B2B outreach experiment; return its rows and its truth.

    Prospects come in accounts of 1 to 8 (:data:`ACCOUNT_SIZES`) that share industry, company
    size and region; each account belongs to one rep; each prospect has a seniority and a
    week of first touch. Every metric is drawn from its :class:`SimMetric` with link-scale
    predictor intercept + segment main effects (:data:`SEGMENTS`) + rep effect + week effect
    (engagement metrics) + arm effect (+ segment-specific arm effect). Arms are assigned by
    complete randomisation in equal shares: of the prospects, or of the reps when the
    scenario is randomised by rep; when the count does not divide evenly, the first arms in
    order get one more.

    Parameters
    ----------
    scenario
        A name in :data:`SCENARIOS` or a :class:`Scenario`.
    n_prospects
        Number of prospects (rows).
    seed
        Seed of ``numpy.random.default_rng``, the only source of randomness.

    Returns
    -------
    rows : pandas.DataFrame
        One row per prospect: ``prospect_id``, ``account_id``, ``rep_id``, ``industry``,
        ``company_size``, ``region``, ``seniority``, ``week``, ``arm``, then the metrics of
        :data:`OUTREACH_METRICS` (``revenue`` in dollars to the cent, 0 without a deal).
    truth : OutreachTruth
        True means, lifts and verdicts.

    Raises
    ------
    ChannelabError
        If the scenario is unknown or ``n_prospects`` is smaller than the number of arms.
    """
    sc = _resolve(scenario)
    if n_prospects < len(sc.arms):
        raise ChannelabError(
            f"n_prospects: got {n_prospects}, but expected at least one prospect per arm ({len(sc.arms)})"
        )
    rng = np.random.default_rng(seed)
    pop = _population(n_prospects, sc.n_reps, rng)
    by_rep = sc.randomised_by == "rep"
    arm_of_unit = rng.permutation(np.arange(sc.n_reps if by_rep else n_prospects) % len(sc.arms))
    arm = arm_of_unit[pop.rep] if by_rep else arm_of_unit
    eta, amount_eta = _predictors(sc, pop, rng)
    columns: dict[str, Any] = {
        "prospect_id": _ids("P", n_prospects),
        "account_id": _labels(_ids("A", int(pop.account[-1]) + 1), pop.account),
        "rep_id": _labels(_ids("R", sc.n_reps), pop.rep),
        **{c: _labels(list(SEGMENTS[c]), codes) for c, codes in pop.segments.items()},
        "week": pop.week,
        "arm": _labels(sc.labels, arm),
    }
    # expected value of every metric for every prospect under every arm: (metric, arm, prospect)
    expected = np.empty((len(OUTREACH_METRICS), len(sc.arms), n_prospects))
    for j, name in enumerate(OUTREACH_METRICS):
        m = sc.metrics[name]
        shift = eta[name] + _per_arm(m.effects, sc.labels)
        for s in sc.segment_lifts:
            if s.metric == name:
                in_level = pop.segments[s.column] == list(SEGMENTS[s.column]).index(s.level)
                shift[sc.labels.index(s.arm)] += s.effect * in_level
        amount_shift = amount_eta + _per_arm(m.amount_effects, sc.labels)
        columns[name], expected[j] = _draw(
            m, _calibrated(m, shift), amount_shift, arm, np.arange(n_prospects), rng
        )
    lifts = _lifts(expected, sc.labels)
    segment_lifts = {
        s.column: {
            level: _lifts(expected[..., pop.segments[s.column] == i], sc.labels)
            for i, level in enumerate(SEGMENTS[s.column])
            if np.any(pop.segments[s.column] == i)
        }
        for s in sc.segment_lifts
    }
    truth = OutreachTruth(
        scenario=sc.name,
        description=sc.description,
        seed=seed,
        n=n_prospects,
        arms=dict(sc.arms),
        control=sc.control,
        randomised_by=sc.randomised_by,
        means=_by_arm(expected.mean(axis=2), sc.labels),
        lifts=lifts,
        segment_lifts=segment_lifts,
        verdicts={a: _true_verdict(by_metric) for a, by_metric in lifts.items()},
        parameters=sc.to_dict(),
        provenance={"channelab": metadata.version("channelab"), "numpy": np.__version__},
    )
    return pd.DataFrame(columns), truth


def outreach_spec(
    scenario: str | Scenario,
    *,
    metrics: Sequence[str] = tuple(OUTREACH_METRICS),
    covariates: Sequence[str] = ("company_size",),
    cluster: bool | None = None,
    lift_by: str | None = None,
    sampler: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> Spec:
    """An experiment spec that analyses :func:`simulate_outreach` rows of ``scenario``.

    The arms are the scenario's, in equal planned shares; ``metrics`` (names from
    :data:`OUTREACH_METRICS`) keep their roles and types. ``cluster`` adds the rep random
    intercept (``unit.randomised_by: rep_id``); by default it follows the scenario's
    randomisation. The data path is a placeholder: pair the spec with a frame source.
    """
    sc = _resolve(scenario)
    if unknown := sorted(set(metrics) - set(OUTREACH_METRICS)):
        raise ChannelabError(f"metrics: got {unknown}, but expected some of {list(OUTREACH_METRICS)}")
    by_rep = sc.randomised_by == "rep" if cluster is None else cluster
    raw: dict[str, Any] = {
        "name": f"{sc.name}_simulated",
        "unit": {"kind": "prospect", "id": "prospect_id", "randomised_by": "rep_id" if by_rep else None},
        "data": {"path": f"{sc.name}.csv"},
        "arm_column": "arm",
        "control": sc.control,
        "arms": {label: {"channel": channel} for label, channel in sc.arms},
        "metrics": [
            {"name": name, "role": OUTREACH_METRICS[name], "type": BASE_METRICS[name].type}
            for name in OUTREACH_METRICS
            if name in metrics
        ],
        "covariates": list(covariates),
        "seed": seed,
        "sampler": dict(sampler or {}),
        "model": {"lift_by": lift_by},
    }
    return parse_spec(raw)


class SimulationFiles(NamedTuple):
    """What :func:`write_simulation` wrote: the data file, the truth file, and the truth."""

    data: Path
    truth_path: Path
    truth: OutreachTruth


def write_simulation(
    scenario: str | Scenario,
    path: str | Path,
    *,
    n_prospects: int = DEFAULT_N_PROSPECTS,
    seed: int,
    format: Literal["csv", "parquet"] | None = None,
) -> SimulationFiles:
    """Simulate with :func:`simulate_outreach` and write the rows and the truth.

    The rows go to ``path`` (CSV, or Parquet for a ``.parquet``/``.pq`` suffix unless
    ``format`` says otherwise) and the truth, with the data file's SHA-256 under ``data``, to
    ``<stem>.truth.json`` beside it. Both files are written atomically and overwritten if they
    exist, data first: a truth file whose ``data.sha256`` differs from the data file's hash
    comes from an interrupted run. The same arguments give byte-identical files.

    Returns
    -------
    SimulationFiles
        The two paths and the :class:`OutreachTruth`.
    """
    path = Path(path)
    fmt = DataSource(path=path, format=format).resolved_format
    rows, truth = simulate_outreach(scenario, n_prospects=n_prospects, seed=seed)
    if fmt == "parquet":
        buffer = io.BytesIO()
        rows.to_parquet(buffer, index=False)
        payload = buffer.getvalue()
    else:
        payload = rows.to_csv(index=False, lineterminator="\n").encode()
    data = {
        "file": path.name,
        "format": fmt,
        "rows": len(rows),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    truth_path = path.with_name(f"{path.stem}.truth.json")
    write_atomic(path, payload)
    write_atomic(truth_path, (json.dumps(truth.to_dict() | {"data": data}, indent=2) + "\n").encode())
    return SimulationFiles(path, truth_path, truth)


def _resolve(scenario: str | Scenario) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    if scenario in SCENARIOS:
        return SCENARIOS[scenario]
    close = difflib.get_close_matches(scenario, list(SCENARIOS), n=1)
    raise ChannelabError(
        f"scenario: got {scenario!r}, but expected one of {', '.join(SCENARIOS)}"
        + (f"; did you mean {close[0]!r}?" if close else ".")
    )


@dataclass(frozen=True)
class _Population:
    """Who is in the cohort, as integer codes per prospect."""

    account: np.ndarray
    rep: np.ndarray
    segments: dict[str, np.ndarray]  # level index into SEGMENTS[column]
    week: np.ndarray  # 1 .. WEEKS


def _population(n: int, n_reps: int, rng: np.random.Generator) -> _Population:
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
    return _Population(account, rep, segments, rng.integers(1, WEEKS + 1, size=n))


def _predictors(
    sc: Scenario, pop: _Population, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Link-scale predictor of every metric under control before calibration, and of amounts."""
    rep_effects = rng.normal(0.0, sc.rep_sd, size=(len(OUTREACH_METRICS), sc.n_reps))
    week_effects = rng.normal(0.0, sc.week_sd, size=(len(OUTREACH_METRICS), WEEKS))
    eta = {}
    for j, (name, role) in enumerate(OUTREACH_METRICS.items()):
        eta[name] = _segment_effects(pop, _LEVEL_PART[name]) + rep_effects[j, pop.rep]
        if role == "engagement":
            eta[name] += week_effects[j, pop.week - 1]
    # centred over deals (P(deal) ∝ exp(logit) for rare deals): the median deal is about `amount`
    amount = _segment_effects(pop, "amount")
    return eta, amount - np.average(amount, weights=np.exp(eta["revenue"]))


def _segment_effects(pop: _Population, part: str) -> np.ndarray:
    """Sum over segment columns of each prospect's level effect ``part`` (a field of Level)."""
    total = np.zeros(pop.week.size)
    for column, levels in SEGMENTS.items():
        total += np.array([getattr(lv, part) for lv in levels.values()])[pop.segments[column]]
    return total


def _per_arm(effects: Mapping[str, float], labels: tuple[str, ...]) -> np.ndarray:
    """Arm effects as a column, one row per arm (0 for arms without one)."""
    return np.array([effects.get(a, 0.0) for a in labels])[:, None]


def _calibrated(m: SimMetric, shift: np.ndarray) -> np.ndarray:
    """``shift`` (arm × prospect) moved so the population mean under control is ``m.base``."""
    control = shift[0]
    if m.type == "count":
        return shift - np.log(np.mean(np.exp(control)))
    if m.type == "revenue":
        gap = brentq(lambda c: float(np.mean(expit(logit(m.base) + control + c))) - m.base, -30.0, 30.0)
        return shift + gap
    raise ValueError(f"outreach metrics are counts or revenue, got {m.type!r}")


def _ids(prefix: str, count: int) -> pd.api.extensions.ExtensionArray:
    """``count`` zero-padded labels such as ``R01`` ... ``R48``."""
    digits = pd.Series(np.arange(1, count + 1)).astype(str).str.zfill(len(str(count)))
    return (prefix + digits).array


def _labels(
    values: Sequence[str] | pd.api.extensions.ExtensionArray, codes: np.ndarray
) -> pd.api.extensions.ExtensionArray:
    """String column of ``values[codes]`` (pandas' string dtype, built without Python loops)."""
    return pd.Series(values, dtype="str").array.take(codes)


def _by_arm(table: np.ndarray, labels: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """(metric, arm) array as ``{arm: {metric: value}}``."""
    return {
        a: {k: float(v) for k, v in zip(OUTREACH_METRICS, table[:, i], strict=True)}
        for i, a in enumerate(labels)
    }


def _lifts(expected: np.ndarray, labels: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Relative lifts ``{treatment: {metric: lift}}`` from expected values (metric, arm, prospect)."""
    means = expected.mean(axis=2)
    return _by_arm(means[:, 1:] / means[:, :1] - 1, labels[1:])


class _TrueEffect(NamedTuple):
    role: Role
    verdict: str


def _true_verdict(lifts: Mapping[str, float]) -> ArmVerdict:
    """The arm verdict a lift known without error earns (the pipeline's rules, zero-width intervals)."""
    rope, decision = _TRUTH_ROPE, Decision()
    effects = [
        _TrueEffect(OUTREACH_METRICS[k], metric_verdict(np.array([v]), (v, v), rope, decision))
        for k, v in lifts.items()
    ]
    return arm_verdict(cast("list[Effect]", effects))  # arm_verdict reads only .role and .verdict


# ---- observational data with selection ---------------------------------------------------------

#: True effects on the treated in :func:`simulate_selection`, as rate ratios: social selling
#: lifts likes and comments, not meetings.
SELECTION_RATIOS = {"likes_comments": 2.5, "meetings": 1.0}


def simulate_selection(n_accounts: int = 20_000, *, seed: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Observational CRM data in which reps chose the already-engaged accounts for social selling.

    Each account has a company size, an industry and ``prior_engagement`` (standardised site
    and e-mail activity of the last quarter, measured before anyone chose). The chance of
    social selling rises steeply with prior engagement and with company size; likes/comments
    and meetings (negative binomial) rise with prior engagement too. Social selling multiplies
    likes/comments by 2.5 and leaves meetings unchanged (:data:`SELECTION_RATIOS`), so a naive
    comparison credits it with the meetings that engaged accounts book anyway.

    Returns the rows (``account_id``, ``company_size``, ``industry``, ``prior_engagement`` and
    its decile ``engagement_band``, ``channel`` = ``social``/``none``, ``likes_comments``,
    ``meetings``) and the truth: the true
    effect on the treated per metric (relative lift), the naive lift the data show, and the seed.
    """
    rng = np.random.default_rng(seed)
    size = rng.choice(["smb", "mid_market", "enterprise"], n_accounts, p=[0.5, 0.3, 0.2])
    industry = rng.choice(list(SEGMENTS["industry"]), n_accounts, p=[0.35, 0.25, 0.2, 0.2])
    engagement = rng.normal(0.0, 1.0, n_accounts)
    size_effect = np.select([size == "enterprise", size == "mid_market"], [0.5, 0.2], 0.0)
    social = rng.random(n_accounts) < expit(-1.3 + 1.1 * engagement + size_effect)
    base = {"likes_comments": (np.log(1.5), 0.6, 1.0), "meetings": (np.log(0.25), 0.45, 0.3)}
    columns: dict[str, Any] = {
        "account_id": _ids("A", n_accounts),
        "company_size": size,
        "industry": industry,
        "prior_engagement": np.round(engagement, 4),
        "engagement_band": pd.qcut(engagement, 10, labels=[f"d{i:02d}" for i in range(1, 11)]).astype(str),
        "channel": np.where(social, "social", "none"),
    }
    truth: dict[str, Any] = {"scenario": "selection", "seed": seed, "n": n_accounts, "att": {}, "naive": {}}
    for name, (intercept, slope, overdispersion) in base.items():
        mu0 = np.exp(intercept + slope * engagement + 0.5 * size_effect)
        mu = mu0 * np.where(social, SELECTION_RATIOS[name], 1.0)
        r = 1.0 / overdispersion
        y = rng.negative_binomial(r, r / (r + mu))
        columns[name] = y
        truth["att"][name] = float(mu[social].sum() / mu0[social].sum() - 1)
        truth["naive"][name] = float(y[social].mean() / y[~social].mean() - 1)
    return pd.DataFrame(columns), truth


def _write_with_truth(path: str | Path, rows: pd.DataFrame, truth: dict[str, Any]) -> Path:
    """Write ``rows`` as CSV and ``truth`` (with the data's hash) as ``<stem>.truth.json``."""
    path = Path(path)
    payload = rows.to_csv(index=False, lineterminator="\n").encode()
    truth["data"] = {"file": path.name, "rows": len(rows), "sha256": hashlib.sha256(payload).hexdigest()}
    write_atomic(path, payload)
    write_atomic(path.with_name(f"{path.stem}.truth.json"), (json.dumps(truth, indent=2) + "\n").encode())
    return path


def write_selection(path: str | Path, *, n_accounts: int = 20_000, seed: int) -> Path:
    """Write :func:`simulate_selection` rows as CSV and the truth as ``<stem>.truth.json`` beside them."""
    rows, truth = simulate_selection(n_accounts, seed=seed)
    return _write_with_truth(path, rows, truth)


# ---- a replication of Kristofferson, White & Peloza (2014), Study 1 -----------------------------

#: Study 1 as published (secondary sources): share who donated and mean donation ($) per arm.
UBC_STUDY1: dict[str, tuple[float, float]] = {
    "Private token": (0.78, 0.86),
    "Public token": (0.58, 0.34),
    "No token": (0.56, 0.15),
}

#: Assumed share who show support in public afterwards (wear the poppy on the concourse): the
#: token act itself, the engagement stage. Not published; people without a token may wear their own.
UBC_SHOWN: dict[str, float] = {"Private token": 0.25, "Public token": 0.95, "No token": 0.20}

#: Log-sd of positive donations (assumed).
UBC_AMOUNT_SD_LOG = 0.75


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
            "participant_id": _ids("U", arms.size),
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
    return _write_with_truth(path, rows, truth)
