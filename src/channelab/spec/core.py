"""The core of an experiment: metrics, the unit, the model, sampler, decision rule and priors.

Beside the models, the checks of the spec that concern them (metrics, prior means, funnel
denominators); :class:`~channelab.spec.schema.Spec` runs every check in a fixed order.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from channelab.likelihoods import Likelihood, likelihood
from channelab.limits import MAX_DRAWS, MAX_INTERVALS, MAX_MONEY, MAX_PRIOR, MAX_TITLE
from channelab.spec.base import DECISIVE_ROLES, DESCRIPTIVE_TYPES, MetricType, Role, Strict, UnitKind
from channelab.spec.metric_checks import _Core, ratio_problems
from channelab.spec.metric_checks import funnel_problems as funnel_problems
from channelab.spec.metric_checks import prior_problems as prior_problems

#: A prior's sd: positive, and at most :data:`~channelab.limits.MAX_PRIOR` on the link scale.
_PriorSd = Annotated[float, Field(gt=0, le=MAX_PRIOR)]


class Priors(Strict):
    """Weakly informative priors, on the link scale of each metric.

    Defaults apply to every metric; ``Spec.priors`` overrides them for all metrics and
    ``Metric.priors`` overrides those for one metric (that order, last wins).
    The intercept prior is centred on the link of the pooled observed mean; covariate
    effects are zero-sum normal per covariate. ``arm_sd`` 2.5 is the conventional weakly
    informative scale (Gelman et al. 2008): on a standardised mean it hardly moves a small
    study's difference (UBC Study 1's $0.52 from 31 per arm by under a cent).

    Attributes
    ----------
    intercept_sd
        Prior sd of the control level (the intercept), centred on the pooled observed level.
    arm_mu
        Prior mean of the arm effect per treatment arm, e.g. from an earlier study (0 for an
        arm not listed).
    arm_sd
        Prior sd of an arm effect. When arm effects are pooled, the prior scale of their common
        mean and the half-normal scale of their spread.
    covariate_sd
        Prior sd of the covariate (stratum) effects, which sum to zero over each covariate's
        levels.
    sigma_sd
        Half-normal scale of the spread of a normal or lognormal model.
    dispersion_sd
        Half-normal scale of the overdispersion of the negative binomial.
    cluster_sd
        Half-normal scale of the spread of the clusters' intercepts (``unit.randomised_by``).
    heterogeneity_sd
        Half-normal scale of the spread of the arm effects over the levels of ``model.lift_by``.
    slope_sd
        Prior sd of each arm's slope on a pre-period column (``adjust``), both standardised:
        1 allows any correlation.
    hazard_step_sd
        For a time-to-event outcome with ``hazards: varying``: prior sd of the change of a
        treatment's log hazard ratio from one interval since entry to the next. 2 lets a channel
        that books meetings three times sooner (a ratio that falls from about 3 to a third over a
        28-day window) be read without shrinking its lift within the window: with 0.5 the slow
        channel's 28-day lift was biased by −0.14 at an early look (``benchmarks/time_to_event.py``).
    arm_sds
        Prior sd of the arm effect per treatment arm, where it differs from ``arm_sd`` (a learned
        prior sets it; arms not listed use ``arm_sd``).
    from_
        ``from:`` in the spec: a learned-priors file written by ``channelab learn``. Each arm whose
        ``channel`` the file has learned about starts from the programme's prediction for the
        next test of that channel, per metric (converted to the metric's link scale); the run
        also reports the result under these default priors. Only in the spec's ``priors``.
    """

    intercept_sd: _PriorSd = 2.0
    arm_mu: dict[str, Annotated[float, Field(ge=-MAX_PRIOR, le=MAX_PRIOR)]] = Field(
        default_factory=dict,
        description="Prior mean of the arm effect (link scale) per arm, e.g. from an earlier study.",
    )
    arm_sd: _PriorSd = 2.5
    covariate_sd: _PriorSd = 1.0
    sigma_sd: _PriorSd = 2.0
    dispersion_sd: _PriorSd = 1.0
    cluster_sd: _PriorSd = 1.0
    heterogeneity_sd: _PriorSd = 0.5
    slope_sd: _PriorSd = 1.0
    hazard_step_sd: _PriorSd = 2.0
    arm_sds: dict[str, _PriorSd] = Field(
        default_factory=dict, description="Prior sd of the arm effect (link scale) per arm, where not arm_sd."
    )
    from_: Annotated[str, Field(min_length=1, max_length=MAX_TITLE)] | None = Field(
        default=None, alias="from", description="A learned-priors file written by `channelab learn`."
    )

    def merged(self, override: Priors | None) -> Priors:
        """Return these priors with the fields explicitly set in ``override`` replaced.

        Parameters
        ----------
        override
            Priors whose explicitly set fields win; ``None`` changes nothing.
        """
        if override is None:
            return self
        return self.model_copy(update=override.model_dump(exclude_unset=True))


_ROPE_EXPECTED = (
    "a relative half-width such as 0.05 (meaning ±5 %) or an interval [low, high] with -1 < low ≤ 0 ≤ high"
)


class Metric(Strict):
    """One measured quantity per unit, its place in the funnel and its likelihood.

    Attributes
    ----------
    name
        The metric's name: letters, digits and ``_``.
    column
        The data column holding it (default: ``name``).
    label
        Its name in sentences and figures (default: ``name`` with spaces).
    role
        Its place in the funnel: ``engagement``, ``outcome``, ``revenue`` or ``guardrail``.
    type
        ``binary``, ``count``, ``revenue``, ``continuous`` or ``ratio`` (Σ ``numerator`` /
        Σ ``denominator`` per arm: revenue per meeting; it describes and never decides an arm,
        as it can rise because its denominator falls; with role ``revenue`` it is money and is
        written in ``currency``) or ``quantile`` (the ``q``-quantile of the
        column's values per arm: the median deal size; it describes and never decides).
    rope
        The region of practical equivalence of the relative lift: a half-width (0.05 is ±5 %)
        or an interval ``[low, high]`` with -1 < low ≤ 0 ≤ high.
    count_likelihood
        For a count: ``negative_binomial``, ``poisson``, or ``cell_means`` (the normal model
        of each cell's mean, which aggregated counts with a sum of squares support).
    revenue_likelihood
        For revenue: ``cell_means`` (the normal model of each cell's mean, right for the mean
        whatever the amounts' shape) or ``lognormal_hurdle``.
    binary_likelihood
        For a binary metric: ``binomial`` (the default) or ``cell_means`` (the normal model of
        each cell's share, whose pre-period adjustment is linear and exact from cell sums, as
        CUPED and Lin 2013 adjust a 0-1 outcome); not for a share among an earlier stage
        (``denominator``) or a time-to-event metric.
    numerator
        For a ``ratio``: the data column summed over units above the line (revenue).
    denominator
        For a binary metric measured among the units of an earlier stage, that metric's name:
        its rate is P(this | that > 0), e.g. enrolments among clicks. For a ``ratio`` instead
        the data COLUMN summed below the line (meetings), ≥ 0 on every row.
    q
        For a ``quantile``: its level, in (0, 1) (0.5, the median; 0.9, the 90th percentile).
    among
        For a ``quantile``: ``all`` units' values, or only the ``positive`` ones (the median deal
        size among deals, where 0 means no deal).
    at
        Column of the date the outcome happened (blank where it did not); for a count or
        revenue, the date its value was complete. Needs ``unit.entered_at``. Without
        ``window_days``, an outcome counts once it has happened by the analysis date (``as_of``).
    value
        Money per unit of this metric: an outcome's value (e.g. a meeting's, from pipeline
        history), a guardrail's (e.g. the lost lifetime value of an unsubscribe): ≤ 0 when it
        gets worse going up, ≥ 0 when going down, so that a harm never counts as a gain.
        Revenue counts at face value; engagement has none. At most 10^12 either way.
    worse
        For a guardrail, the direction in which it gets worse (unsubscribes ``up``, retention
        ``down``).
    window_days
        Outcome window: the metric is what happened within this many days of the unit's entry.
        Only units whose window has closed by ``as_of`` (mature units) count for it; with
        ``at``, outcomes dated after the window count as 0. Without ``at``, the column must
        already hold the value within the window.
    time_model
        How a binary metric with ``at`` and ``window_days`` is analysed: ``survival`` (the
        default) models when each unit's outcome arrived, so every entered unit counts as far as
        it has come (censored, not dropped), and estimates P(outcome within ``window_days``);
        ``window`` counts only the units whose window has closed. Other metrics with a window are
        always windowed.
    intervals
        For ``survival``: the days since entry at which the baseline hazard may change, rising,
        each below ``window_days`` (default: every 7 days, or in quarters of windows under 28
        days).
    hazards
        For ``survival``: ``varying`` (the default) lets each arm's hazard ratio change from one
        interval to the next (``priors.hazard_step_sd``), so the lift within the window is
        right also when a channel only speeds outcomes up; ``proportional`` holds each arm's
        ratio constant (narrower, right only when it is).
    priors
        Priors for this metric only, over the spec's (see :class:`Priors`).
    """

    name: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
    column: str | None = None
    label: str | None = None
    role: Role
    type: MetricType
    rope: float | tuple[float, float] = 0.05
    #: ``cell_means`` is the normal model of each cell's mean (as for revenue): what aggregated
    #: counts with a sum of squares support, as they hold no per-unit frequencies.
    count_likelihood: Literal["negative_binomial", "poisson", "cell_means"] = "negative_binomial"
    #: ``cell_means``: normal likelihood of each cell's mean per unit with one spread per arm;
    #: right for the mean whatever the amounts' shape. ``lognormal_hurdle``: any revenue ×
    #: lognormal amounts, right only when amounts are lognormal with one log-spread.
    revenue_likelihood: Literal["cell_means", "lognormal_hurdle"] = "cell_means"
    #: ``cell_means``: the normal model of each cell's share (a linear probability model); what
    #: ``model.adjust_method: linear`` fits so that many pre-period columns adjust linearly.
    binary_likelihood: Literal["binomial", "cell_means"] = "binomial"
    numerator: str | None = None
    denominator: str | None = None
    q: Annotated[float, Field(gt=0, lt=1)] | None = None
    among: Literal["all", "positive"] = "all"
    at: str | None = None
    value: Annotated[float, Field(ge=-MAX_MONEY, le=MAX_MONEY)] | None = None
    worse: Literal["up", "down"] | None = None
    window_days: Annotated[int, Field(ge=1, le=3660)] | None = None
    time_model: Literal["survival", "window"] | None = None
    intervals: (
        Annotated[list[Annotated[int, Field(ge=1, le=3660)]], Field(min_length=1, max_length=MAX_INTERVALS)]
        | None
    ) = None
    hazards: Literal["varying", "proportional"] = "varying"
    priors: Priors | None = None

    @field_validator("rope", mode="before")
    @classmethod
    def _rope_shape(cls, v: Any) -> Any:
        # one clear message instead of one per branch of the float | tuple union
        def number(x: Any) -> bool:
            return isinstance(x, (int, float)) and not isinstance(x, bool)

        if number(v) or (isinstance(v, (list, tuple)) and len(v) == 2 and all(map(number, v))):
            return v
        raise ValueError(f"got {v!r}, but expected {_ROPE_EXPECTED}")

    @field_validator("rope")
    @classmethod
    def _rope_ordered(cls, v: float | tuple[float, float]) -> float | tuple[float, float]:
        lo, hi = (-v, v) if isinstance(v, (int, float)) else v
        if not lo <= 0 <= hi or lo == hi or lo <= -1:
            raise ValueError(f"got {list(v) if isinstance(v, tuple) else v!r}, but expected {_ROPE_EXPECTED}")
        return v

    @property
    def source_column(self) -> str:
        """Column of the data holding this metric (default: the name; a ratio's numerator)."""
        return self.column or self.numerator or self.name

    @property
    def data_columns(self) -> tuple[str, ...]:
        """The data columns it reads: its own, or a ratio's numerator and denominator."""
        if self.type == "ratio" and self.numerator and self.denominator:
            return (self.numerator, self.denominator)
        return (self.source_column,)

    @property
    def stage(self) -> str | None:
        """The earlier stage's metric a rate is measured among: ``denominator``, never a ratio's column."""
        return None if self.type == "ratio" else self.denominator

    @property
    def likelihood(self) -> Likelihood:
        """Its row of the likelihood table: the family, its statistics, fallbacks and adjustment."""
        variant = {
            "binary": self.binary_likelihood,
            "count": self.count_likelihood,
            "revenue": self.revenue_likelihood,
        }.get(self.type)
        return likelihood(self.type, "survival" if self.survival else variant)

    @property
    def survival(self) -> bool:
        """Whether it is analysed as time to event.

        A binary metric with ``at`` and ``window_days`` (and no ``denominator``) is, unless
        ``time_model: window``.
        """
        can = self.type == "binary" and self.at is not None and self.window_days is not None
        return can and self.denominator is None and self.time_model != "window"

    @property
    def interval_bounds(self) -> tuple[int, ...]:
        """For a survival metric, the intervals' bounds in days since entry.

        0, the cut points, and ``window_days`` + 1: an outcome on day d of the window lies in
        [d, d + 1).
        """
        assert self.window_days is not None
        w = self.window_days
        step = max(7, -(-w // 52)) if w >= 28 else max(1, w // 4)  # weeks; at most 52 intervals
        cuts = self.intervals if self.intervals is not None else list(range(step, w, step))
        return (0, *cuts, w + 1)

    @property
    def decisive(self) -> bool:
        """Whether the metric decides a real lift: an outcome or revenue that is not a ratio.

        Engagement and guardrails never do; nor does a ratio, which describes (revenue per meeting
        can rise because meetings fall), or a quantile.
        """
        return self.role in DECISIVE_ROLES and self.type not in DESCRIPTIVE_TYPES

    @property
    def worse_direction(self) -> Literal["up", "down"]:
        """The direction in which a guardrail gets worse (``up`` unless said)."""
        return self.worse or "up"

    @property
    def timed(self) -> bool:
        """Whether the data say when this metric's outcomes arrive (a date column or a window)."""
        return self.at is not None or self.window_days is not None

    @property
    def display(self) -> str:
        """Plain-language name used in sentences and figures."""
        return self.label or self.name.replace("_", " ")

    @property
    def rope_interval(self) -> tuple[float, float]:
        """Region of practical equivalence for the relative lift, as (low, high)."""
        r = self.rope
        return (-float(r), float(r)) if isinstance(r, (int, float)) else (float(r[0]), float(r[1]))


class Unit(Strict):
    """The analysed unit, and the columns that identify it, its cluster and its entry date.

    Attributes
    ----------
    kind
        What a unit is (``prospect``, ``account``, ``participant``, ...), for the report's words.
    id
        The column of unit ids; without it each row is one unit.
    randomised_by
        The column of the cluster that was randomised (a rep, account or territory) when that
        is not the analysed unit; the model then adds a cluster random intercept, and every
        unit of a cluster must be in the same arm.
    entered_at
        The column of the date each unit entered the test (its first touch, or its
        assignment); for aggregated rows, the date of the period each row covers (e.g. the
        week's first day). It puts the test in time: analyses as of an earlier date, outcome
        windows and ``channelab monitor``.
    """

    kind: UnitKind = "prospect"
    id: str | None = None
    randomised_by: str | None = None
    entered_at: str | None = None


class ModelOptions(Strict):
    """Structure of the model beyond intercept, arm and covariate effects.

    Attributes
    ----------
    pool_arms
        Partially pool the arm effects toward their common mean (opt-in: with a handful of arms
        the spread is weakly identified and slow to sample, so arms are independent by default).
    lift_by
        A covariate whose levels get their own arm effects, partially pooled toward zero
        (heterogeneous lift), reported per level.
    adjust_bins
        Quantile strata per ``adjust`` column for the metrics whose model has no exact linear
        adjustment from cells (binary, counts, the lognormal hurdle). Five (quintiles) remove
        about 90 % of what a linear covariate explains (Cochran 1968); more cost cells and
        sampling time for a few per cent.
    adjust_method
        How binary, count and revenue metrics adjust for the ``adjust`` columns: ``strata``
        (quantile strata, ``adjust_bins`` per column), ``linear`` (each such metric left at its
        default likelihood is modelled by its cell means, whose adjustment is linear and exact:
        ANCOVA with a slope per arm, Lin 2013, CUPED on the 0-1 outcome), or ``auto`` (the
        default): strata while ``adjust_bins`` ** columns is at most ``MAX_ADJUST_STRATA``,
        linear beyond, so that many columns cost slopes, not the product of their bins.
    """

    pool_arms: bool = False
    lift_by: str | None = None
    adjust_bins: Annotated[int, Field(ge=2, le=50)] = 5
    adjust_method: Literal["auto", "strata", "linear"] = "auto"


class Sampler(Strict):
    """MCMC settings.

    Attributes
    ----------
    draws
        Draws kept per chain.
    tune
        Tuning steps per chain, discarded.
    chains
        Independent chains.
    target_accept
        The step-size adaptation's target acceptance rate.
    backend
        ``nutpie``, ``pymc`` (PyMC's NUTS), or ``auto``: nutpie when installed, else PyMC.
    retries
        Refits allowed when the convergence gate fails, each with longer tuning, more draws and
        a higher target acceptance (:func:`channelab.analysis.diagnostics.escalation`).
    adaptation
        The mass matrix (nutpie): ``diag``, ``low_rank`` (a diagonal plus the main
        correlations), or ``auto``: ``low_rank`` for a time-to-event metric and when pre-period
        strata cross in the model (their effects are correlated, and a diagonal one needs 5 to
        11 times the steps), else ``diag``.
    """

    draws: Annotated[int, Field(ge=100, le=MAX_DRAWS)] = 1000
    tune: Annotated[int, Field(ge=100, le=MAX_DRAWS)] = 1000
    chains: Annotated[int, Field(ge=1, le=16)] = 4
    target_accept: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.9
    backend: Literal["auto", "nutpie", "pymc"] = "auto"
    retries: Annotated[int, Field(ge=0, le=3)] = 2
    adaptation: Literal["auto", "diag", "low_rank"] = "auto"


class Decision(Strict):
    """How a metric's verdict is read off the posterior of its difference (arm − control).

    ``hdi_rope`` (Kruschke's rule, with the ``hdi_prob`` interval taken equal-tailed): the
    interval wholly above the ROPE is a real lift, wholly below is harm, wholly inside is no
    effect, otherwise inconclusive. ``probability``: the same verdicts when the posterior mass
    beyond (or inside) the ROPE reaches ``threshold``. The rule name is kept for existing specs;
    :mod:`channelab.analysis.decisions` states both as probabilities of the difference.

    Attributes
    ----------
    rule
        ``hdi_rope`` or ``probability``.
    threshold
        The posterior mass the ``probability`` rule needs for a verdict.
    """

    rule: Literal["hdi_rope", "probability"] = "hdi_rope"
    threshold: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.95


# ---- checks of the spec that concern these parts --------------------------------------------


def metric_problems(spec: _Core) -> list[str]:
    """Metrics that cannot be: a name given twice, none decisive, revenue in another role.

    Parameters
    ----------
    spec
        The experiment definition being validated.
    """
    problems = []
    first: dict[str, int] = {}
    for i, m in enumerate(spec.metrics):
        if m.name in first:
            problems.append(
                f"metrics.{i}.name: {m.name!r} is already the name of metrics.{first[m.name]}; "
                "give each metric its own name"
            )
        first.setdefault(m.name, i)
    if not any(m.decisive for m in spec.metrics):
        problems.append(
            "metrics: no metric has role 'outcome' or 'revenue' (other than a ratio); channelab judges "
            "arms on costly steps (meetings, purchases, money), so add at least one"
        )
    problems += [
        f"metrics.{i}.role: got {m.role!r} for metric {m.name!r} of type 'revenue', "
        "but expected role 'revenue'"
        for i, m in enumerate(spec.metrics)
        if m.type == "revenue" and m.role != "revenue"
    ]
    return problems + ratio_problems(spec)
