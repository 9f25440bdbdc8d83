"""The core of an experiment: metrics, arms, data, unit, model, sampler, decision rule, priors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from channelab.spec.base import DECISIVE_ROLES, Channel, MetricType, Role, Strict, UnitKind
from channelab.spec.original import OriginalArm


class Priors(Strict):
    """Weakly informative priors, on the link scale of each metric.

    Defaults apply to every metric; ``Spec.priors`` overrides them for all metrics and
    ``Metric.priors`` overrides those for one metric (that order, last wins).
    The intercept prior is centred on the link of the pooled observed mean; covariate
    effects are zero-sum normal per covariate. ``arm_sd`` 2.5 is the conventional weakly
    informative scale (Gelman et al. 2008): on a standardised mean it hardly moves a small
    study's difference (UBC Study 1's $0.52 from 31 per arm by under a cent). When arm effects
    are pooled, ``arm_sd`` is the prior scale of their common mean and the half-normal scale
    of their spread.
    """

    intercept_sd: Annotated[float, Field(gt=0)] = 2.0
    arm_mu: dict[str, float] = Field(
        default_factory=dict,
        description="Prior mean of the arm effect (link scale) per arm, e.g. from an earlier study.",
    )
    arm_sd: Annotated[float, Field(gt=0)] = 2.5
    covariate_sd: Annotated[float, Field(gt=0)] = 1.0
    sigma_sd: Annotated[float, Field(gt=0)] = 2.0
    dispersion_sd: Annotated[float, Field(gt=0)] = 1.0
    cluster_sd: Annotated[float, Field(gt=0)] = 1.0
    heterogeneity_sd: Annotated[float, Field(gt=0)] = 0.5
    #: Prior sd of each arm's slope on a pre-period column (``adjust``), both standardised:
    #: 1 allows any correlation.
    slope_sd: Annotated[float, Field(gt=0)] = 1.0

    def merged(self, override: Priors | None) -> Priors:
        """Return these priors with the fields explicitly set in ``override`` replaced."""
        if override is None:
            return self
        return self.model_copy(update=override.model_dump(exclude_unset=True))


_ROPE_EXPECTED = (
    "a relative half-width such as 0.05 (meaning ±5 %) or an interval [low, high] with -1 < low ≤ 0 ≤ high"
)


class Metric(Strict):
    """One measured quantity per unit, its place in the funnel and its likelihood."""

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
    #: A binary metric measured among the units of an earlier stage (another metric's name):
    #: its rate is P(this | that > 0), e.g. enrolments among clicks.
    denominator: str | None = None
    #: Column of the date the outcome happened (blank where it did not): for a count or revenue,
    #: the date its value was complete. Needs ``unit.entered_at``. Without ``window_days``, an
    #: outcome counts once it has happened by the analysis date (``as_of``).
    at: str | None = None
    #: Money per unit of this metric (an outcome's value, e.g. a meeting's from pipeline
    #: history; a guardrail's, e.g. the lost lifetime value of an unsubscribe as a negative
    #: number). Revenue counts at face value; engagement has none.
    value: float | None = None
    #: For a guardrail: the direction in which it gets worse (unsubscribes ``up``, retention ``down``).
    worse: Literal["up", "down"] | None = None
    #: Outcome window: the metric is what happened within this many days of the unit's entry.
    #: Only units whose window has closed by ``as_of`` (mature units) count for it; with ``at``,
    #: outcomes dated after the window count as 0. Without ``at``, the column must already hold
    #: the value within the window.
    window_days: Annotated[int, Field(ge=1, le=3660)] | None = None
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
        """Column of the data holding this metric (defaults to the metric name)."""
        return self.column or self.name

    @property
    def adjusts_exactly(self) -> bool:
        """Whether its model (a normal one) adjusts for ``adjust`` columns exactly from cell sums."""
        return (
            self.type == "continuous"
            or (self.type == "revenue" and self.revenue_likelihood == "cell_means")
            or (self.type == "count" and self.count_likelihood == "cell_means")
        )

    @property
    def decisive(self) -> bool:
        """Whether the metric decides a real lift (an outcome or revenue; not engagement or a guardrail)."""
        return self.role in DECISIVE_ROLES

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


class Cost(Strict):
    """What an arm costs, in the spec's currency: per unit reached, per touch, and fixed.

    ``touches`` is the mean number of touches per unit (calls, e-mails, visits). ``fixed``
    (software, training) is spread over ``economics.units`` units, by default the arm's units
    in the test. By default costs are incremental: what the arm costs beyond business as usual.
    """

    per_unit: Annotated[float, Field(ge=0)] = 0.0
    per_touch: Annotated[float, Field(ge=0)] = 0.0
    touches: Annotated[float, Field(ge=0)] = 1.0
    fixed: Annotated[float, Field(ge=0)] = 0.0

    @property
    def variable(self) -> float:
        """Cost per unit before the fixed cost: per unit reached plus per touch times touches."""
        return self.per_unit + self.per_touch * self.touches


class Arm(Strict):
    """One arm of the experiment: its channel, its planned share of units, and its cost.

    ``share: unknown`` (an inherited or observational data set with no planned allocation)
    turns the sample-ratio check off, with a note saying so.
    """

    channel: Channel = "other"
    share: Annotated[float, Field(gt=0, le=1e6)] | Literal["unknown"] = 1.0
    cost: Cost | None = None


class Economics(Strict):
    """How arms' costs are read, and over how many units a fixed cost is spread.

    ``costs_are: incremental`` (default): each treatment's cost beyond business as usual, the
    control costing nothing extra; ``total``: every arm's full cost, the control's included,
    and increments are taken against it. ``units``: units a fixed cost is spread over (a
    rollout's size); by default each arm's units in the test.
    """

    costs_are: Literal["incremental", "total"] = "incremental"
    units: Annotated[int, Field(ge=1)] | None = None


class DataSource(Strict):
    """Where the data live; a relative path is resolved against the YAML file's folder.

    ``path`` may be a glob (``logs/week-*.parquet``): the matching files are read as one table,
    streamed rather than loaded. A DuckDB database file (``.duckdb``/``.db``) needs ``table``
    or ``query`` (a SQL ``SELECT`` run in that database). ``memory_limit`` caps DuckDB's
    memory (e.g. ``"2GB"``); larger aggregations spill to disk.

    ``layout: aggregated``: each row holds many units (an arm × week of a CRM report): the
    ``units`` column counts them, and each metric's column holds its sum over them (successes
    for a binary metric), with further statistics in ``<column>_sum_sq`` (Σ y²) and, for the
    lognormal hurdle, ``<column>_n_pos``, ``<column>_sum_log``, ``<column>_sum_log_sq``.

    ``summaries`` instead of ``path``: a paper's per-arm table (n, and a proportion or a mean
    and sd per metric, each published or ``assumed``), in the ``original:`` block's format.
    """

    path: Path | None = None
    layout: Literal["rows", "aggregated"] = "rows"
    units: str = "units"
    summaries: dict[str, OriginalArm] | None = None
    format: Literal["csv", "parquet", "duckdb"] | None = None
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","
    table: str | None = None
    query: str | None = None
    memory_limit: str | None = None

    @field_validator("memory_limit")
    @classmethod
    def _memory_size(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", v):
            raise ValueError(f"got {v!r}, but expected a size such as '500MB' or '2GB'")
        return v

    @property
    def resolved_format(self) -> Literal["csv", "parquet", "duckdb"]:
        """Format given in the spec, or inferred from the file suffix."""
        if self.format is not None:
            return self.format
        suffix = self.path.suffix.lower() if self.path is not None else ""
        if suffix in {".parquet", ".pq"}:
            return "parquet"
        return "duckdb" if suffix in {".duckdb", ".db"} else "csv"

    @property
    def is_glob(self) -> bool:
        """Whether ``path`` names several files by a pattern."""
        return self.path is not None and any(ch in str(self.path) for ch in "*?[")

    @model_validator(mode="after")
    def _database_needs_one_relation(self) -> Self:
        if (self.path is None) == (self.summaries is None):
            raise ValueError(
                "give exactly one of 'path' (a data file) or 'summaries' (a paper's per-arm n, "
                "proportions or means and sds)"
            )
        if self.summaries is not None:
            if self.layout != "rows" or self.format or self.table or self.query:
                raise ValueError(
                    "'summaries' are the data themselves; remove layout, format, table and query"
                )
            return self
        given = [k for k in ("table", "query") if getattr(self, k) is not None]
        if self.resolved_format == "duckdb":
            if len(given) != 1:
                raise ValueError(
                    "a DuckDB database needs exactly one of 'table' (a table or view name) "
                    f"or 'query' (a SELECT), got {given or 'neither'}"
                )
            if self.is_glob:
                raise ValueError("'path' must name one database file, not a pattern")
        elif given:
            raise ValueError(
                f"'{given[0]}' is only for a DuckDB database (.duckdb/.db or format: duckdb); "
                "for CSV or Parquet files remove it"
            )
        return self


class Unit(Strict):
    """The analysed unit. Without ``id`` each row is one unit.

    ``randomised_by`` names the column of the cluster that was randomised (a rep, account or
    territory) when that is not the analysed unit; the model then adds a cluster random
    intercept, and every unit of a cluster must be in the same arm. ``entered_at`` puts the
    test in time: analyses as of an earlier date, outcome windows and ``channelab monitor``.
    """

    kind: UnitKind = "prospect"
    id: str | None = None
    randomised_by: str | None = None
    #: Column of the date each unit entered the test (its first touch, or its assignment); for
    #: aggregated rows, the date of the period each row covers (e.g. the week's first day).
    entered_at: str | None = None


class ModelOptions(Strict):
    """Structure of the model beyond intercept, arm and covariate effects.

    ``pool_arms``: partially pool the arm effects toward their common mean (opt-in: with a
    handful of arms the spread is weakly identified and slow to sample, so arms are
    independent by default). ``lift_by``: a covariate whose levels get their
    own arm effects, partially pooled toward zero (heterogeneous lift), reported per level.
    ``adjust_bins``: quantile strata per ``adjust`` column for the metrics whose model has no
    exact linear adjustment from cells (binary, counts, the lognormal hurdle). Five (quintiles)
    remove about 90 % of what a linear covariate explains (Cochran 1968); more cost cells and
    sampling time for a few per cent.
    """

    pool_arms: bool = False
    lift_by: str | None = None
    adjust_bins: Annotated[int, Field(ge=2, le=50)] = 5


class Sampler(Strict):
    """MCMC settings. ``backend: auto`` uses nutpie when installed, else PyMC's NUTS.

    ``retries``: refits allowed when the convergence gate fails, each with longer tuning, more
    draws and a higher target acceptance (:func:`channelab.analysis.diagnostics.escalation`).
    ``adaptation`` (nutpie): the mass matrix, ``diag`` or ``low_rank`` (a diagonal plus the
    main correlations); ``auto`` is ``low_rank`` when pre-period strata cross in the model
    (their effects are correlated, and a diagonal one needs five times the steps), else ``diag``.
    """

    draws: Annotated[int, Field(ge=100)] = 1000
    tune: Annotated[int, Field(ge=100)] = 1000
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
    """

    rule: Literal["hdi_rope", "probability"] = "hdi_rope"
    threshold: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.95
