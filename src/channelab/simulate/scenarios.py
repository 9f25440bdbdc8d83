"""B2B outreach scenarios: the arms, metrics, segments and true effects the outreach simulator draws from."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from channelab.errors import ChannelabError
from channelab.spec import Channel, Role

if TYPE_CHECKING:
    pass
from channelab.simulate.ab import SimMetric

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
_OUTREACH_ARMS: tuple[tuple[str, Channel], ...] = (
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


@dataclass(frozen=True)
class SegmentLift:
    """An arm effect that exists in one segment only.

    Attributes
    ----------
    arm, metric
        The arm label and the metric it moves.
    column, level
        The segment column and the level in which the effect exists.
    effect
        Link scale, as in :class:`SimMetric` (log for counts, logit of the deal probability for
        revenue): added to ``arm``'s effect on ``metric`` for the prospects whose ``column``
        equals ``level``.
    """

    arm: str
    metric: str
    column: str
    level: str
    effect: float


#: The pre-period columns :func:`~channelab.simulate.simulate_outreach` writes for a scenario
#: with a :class:`PrePeriod`.
PRE_PERIOD_COLUMNS = ("prior_meetings", "prior_engagement")


@dataclass(frozen=True)
class PrePeriod:
    """A history before the test that predicts it: each prospect's lasting propensity to engage and meet.

    Each prospect has a propensity u ~ Normal(0, ``propensity_sd``) added to the log rate of its
    meetings, ``engagement_loading`` × u to each engagement metric and ``deal_loading`` × u to
    the logit of a deal, in the test as before it. The history covers ``periods`` stretches as
    long as the test, under business as usual:

    - ``prior_meetings`` ~ Poisson(periods × the prospect's expected meetings under control);
    - ``prior_engagement``: minutes of engagement, periods × 10 × exp(engagement_loading × u +
      Normal(0, ``engagement_noise``)), to the second.

    The truth file records how much of each metric's variance each column explains.
    """

    propensity_sd: float = 0.8
    periods: int = 4
    engagement_loading: float = 0.5
    deal_loading: float = 0.5
    engagement_noise: float = 0.5


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
    pre_period
        A history before the test (:class:`PrePeriod`): adds the columns of
        :data:`PRE_PERIOD_COLUMNS`, measured before assignment.
    """

    name: str
    description: str
    metrics: Mapping[str, SimMetric]
    arms: tuple[tuple[str, Channel], ...] = _OUTREACH_ARMS
    randomised_by: Randomisation = "prospect"
    segment_lifts: tuple[SegmentLift, ...] = ()
    rep_sd: float = 0.2
    week_sd: float = 0.15
    n_reps: int = 48
    pre_period: PrePeriod | None = None

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
            **({"pre_period": asdict(self.pre_period)} if self.pre_period else {}),
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
        Scenario(
            name="pre_period",
            description=(
                "Existing customers' contacts, who meet often (1 meeting per prospect in the test "
                "under business as usual) and differ in a lasting propensity (log-sd 0.8) that their "
                "last four periods' meetings and engagement minutes reveal (prior_meetings, "
                "prior_engagement). Phone: meetings x1.15 (+15 %). Social: profile views, likes/"
                "comments and connection accepts x2 (+100 %), meetings +0 %. Every other arm and "
                "metric +0 %."
            ),
            metrics={
                **outreach_metrics(
                    {
                        "Phone": {"meetings": 1.15},
                        "Social": {"profile_views": 2.0, "likes_comments": 2.0, "connection_accepts": 2.0},
                    }
                ),
                "meetings": replace(
                    BASE_METRICS["meetings"], base=1.0, overdispersion=0.05, effects={"Phone": math.log(1.15)}
                ),
            },
            pre_period=PrePeriod(),
        ),
    )
}
