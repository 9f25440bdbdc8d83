"""The experiment definition: a YAML file parsed once into a strict, typed :class:`Spec`.

Nothing downstream reads YAML or dictionaries: every stage takes the :class:`Spec`.
Unknown keys are rejected with a suggestion, and every problem is reported on one line
with its key path, e.g. ``metrics.1.role: got 'outcom', but expected one of ...``.
"""

from __future__ import annotations

import difflib
import math
import re
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from channelab.errors import SpecError

Role = Literal["engagement", "outcome", "revenue"]
MetricType = Literal["binary", "count", "revenue", "continuous"]
Channel = Literal["control", "email", "phone", "social", "video", "in_person", "other"]
UnitKind = Literal["prospect", "account", "rep", "customer", "contact", "participant"]

#: Funnel order used everywhere metrics are listed: engagement first, money last.
FUNNEL_ORDER: dict[str, int] = {"engagement": 0, "outcome": 1, "revenue": 2}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Priors(_Strict):
    """Weakly informative priors, on the link scale of each metric.

    Defaults apply to every metric; ``Spec.priors`` overrides them for all metrics and
    ``Metric.priors`` overrides those for one metric (that order, last wins).
    The intercept prior is centred on the link of the pooled observed mean; covariate
    effects are zero-sum normal per covariate. When arm effects are pooled, ``arm_sd`` is
    the prior scale of their common mean and the half-normal scale of their spread.
    """

    intercept_sd: Annotated[float, Field(gt=0)] = 2.0
    arm_mu: dict[str, float] = Field(
        default_factory=dict,
        description="Prior mean of the arm effect (link scale) per arm, e.g. from an earlier study.",
    )
    arm_sd: Annotated[float, Field(gt=0)] = 1.0
    covariate_sd: Annotated[float, Field(gt=0)] = 1.0
    sigma_sd: Annotated[float, Field(gt=0)] = 2.0
    dispersion_sd: Annotated[float, Field(gt=0)] = 1.0
    cluster_sd: Annotated[float, Field(gt=0)] = 1.0
    heterogeneity_sd: Annotated[float, Field(gt=0)] = 0.5

    def merged(self, override: Priors | None) -> Priors:
        """Return these priors with the fields explicitly set in ``override`` replaced."""
        if override is None:
            return self
        return self.model_copy(update=override.model_dump(exclude_unset=True))


_ROPE_EXPECTED = (
    "a relative half-width such as 0.05 (meaning ±5 %) or an interval [low, high] with -1 < low ≤ 0 ≤ high"
)


class Metric(_Strict):
    """One measured quantity per unit, its place in the funnel and its likelihood."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
    column: str | None = None
    label: str | None = None
    role: Role
    type: MetricType
    rope: float | tuple[float, float] = 0.05
    count_likelihood: Literal["negative_binomial", "poisson"] = "negative_binomial"
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
    def display(self) -> str:
        """Plain-language name used in sentences and figures."""
        return self.label or self.name.replace("_", " ")

    @property
    def rope_interval(self) -> tuple[float, float]:
        """Region of practical equivalence for the relative lift, as (low, high)."""
        r = self.rope
        return (-float(r), float(r)) if isinstance(r, (int, float)) else (float(r[0]), float(r[1]))


class Arm(_Strict):
    """One arm of the experiment: its channel and its planned share of units."""

    channel: Channel = "other"
    share: Annotated[float, Field(gt=0)] = 1.0


class DataSource(_Strict):
    """Where the unit rows live; a relative path is resolved against the YAML file's folder.

    ``path`` may be a glob (``logs/week-*.parquet``): the matching files are read as one table,
    streamed rather than loaded. A DuckDB database file (``.duckdb``/``.db``) needs ``table``
    or ``query`` (a SQL ``SELECT`` run in that database). ``memory_limit`` caps DuckDB's
    memory (e.g. ``"2GB"``); larger aggregations spill to disk.
    """

    path: Path
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
        suffix = self.path.suffix.lower()
        if suffix in {".parquet", ".pq"}:
            return "parquet"
        return "duckdb" if suffix in {".duckdb", ".db"} else "csv"

    @property
    def is_glob(self) -> bool:
        """Whether ``path`` names several files by a pattern."""
        return any(ch in str(self.path) for ch in "*?[")

    @model_validator(mode="after")
    def _database_needs_one_relation(self) -> Self:
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


class Unit(_Strict):
    """The analysed unit. Without ``id`` each row is one unit.

    ``randomised_by`` names the column of the cluster that was randomised (a rep, account or
    territory) when that is not the analysed unit; the model then adds a cluster random
    intercept, and every unit of a cluster must be in the same arm.
    """

    kind: UnitKind = "prospect"
    id: str | None = None
    randomised_by: str | None = None


class ModelOptions(_Strict):
    """Structure of the model beyond intercept, arm and covariate effects.

    ``pool_arms``: partially pool the arm effects toward their common mean (opt-in: with a
    handful of arms the spread is weakly identified and slow to sample, so arms are
    independent by default). ``lift_by``: a covariate whose levels get their
    own arm effects, partially pooled toward zero (heterogeneous lift), reported per level.
    """

    pool_arms: bool = False
    lift_by: str | None = None


class Sampler(_Strict):
    """MCMC settings. ``backend: auto`` uses nutpie when installed, else PyMC's NUTS."""

    draws: Annotated[int, Field(ge=100)] = 1000
    tune: Annotated[int, Field(ge=100)] = 1000
    chains: Annotated[int, Field(ge=1, le=16)] = 4
    target_accept: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.9
    backend: Literal["auto", "nutpie", "pymc"] = "auto"


class Decision(_Strict):
    """How a metric's verdict is read off its lift posterior.

    ``hdi_rope`` (Kruschke): the HDI wholly above the ROPE is a real lift, wholly below is
    harm, wholly inside is no effect, otherwise inconclusive. ``probability``: the same
    verdicts when the posterior mass beyond (or inside) the ROPE reaches ``threshold``.
    """

    rule: Literal["hdi_rope", "probability"] = "hdi_rope"
    threshold: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.95


class Baseline(_Strict):
    """A metric under business as usual, for planning: its control mean and spread.

    binary: ``mean`` (the rate). count: ``mean`` and ``overdispersion`` (Var = μ + φ μ²; 0 is
    Poisson). revenue: ``share`` of units who spend, ``amount`` (the mean spend of those who
    do) and ``amount_sd_log`` (the log-sd of amounts). continuous: ``mean`` and ``sd``.
    """

    mean: Annotated[float, Field(gt=0)] | None = None
    sd: Annotated[float, Field(gt=0)] | None = None
    overdispersion: Annotated[float, Field(ge=0)] = 0.0
    share: Annotated[float, Field(gt=0, lt=1)] | None = None
    amount: Annotated[float, Field(gt=0)] | None = None
    amount_sd_log: Annotated[float, Field(gt=0)] = 1.0

    def require(self, name: str) -> float:
        """The value of field ``name``; a :class:`SpecError` if the baseline lacks it."""
        value = getattr(self, name)
        if value is None:
            raise SpecError(f"plan.baselines: the baseline needs {name!r}")
        return float(value)


class AssuranceSettings(_Strict):
    """Bayesian assurance by simulation: ``sims`` experiments per true lift in ``lifts``.

    ``lifts`` defaults to 0 and the plan's target lift; 0 gives the false ``real lift`` rate.
    """

    sims: Annotated[int, Field(ge=0)] = 100
    lifts: list[Annotated[float, Field(gt=-1)]] | None = None


class Plan(_Strict):
    """Inputs of ``channelab design``: the planned sample, the effect worth finding, and baselines.

    ``n``: units planned in all arms together (split by the arms' shares). ``target_lift``:
    the relative lift the test should find (0.10 = +10 %). Baselines come from ``baselines``
    (per metric name) or, for metrics not listed there, from the control arm of ``pilot`` data.
    With ``unit.randomised_by``, ``cluster_size`` (mean units per cluster), its coefficient of
    variation and ``icc`` give the design effect; a pilot with the cluster column supplies them.
    """

    n: Annotated[int, Field(ge=2)] | None = None
    target_lift: Annotated[float, Field(gt=0)] = 0.10
    power: list[Annotated[float, Field(gt=0, lt=1)]] = Field(default_factory=lambda: [0.8, 0.9], min_length=1)
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    multiplicity: Literal["bonferroni", "none"] = "bonferroni"
    baselines: dict[str, Baseline] = Field(default_factory=dict)
    pilot: DataSource | None = None
    units_per_week: Annotated[int, Field(ge=1)] | None = None
    cluster_size: Annotated[float, Field(ge=1)] | None = None
    cluster_size_cv: Annotated[float, Field(ge=0)] = 0.0
    icc: Annotated[float, Field(ge=0, lt=1)] | None = None
    assurance: AssuranceSettings = AssuranceSettings()


class Assignment(_Strict):
    """How ``channelab assign`` randomises: permuted blocks within strata.

    ``strata``: columns of the units file to stratify on (every combination is its own block
    sequence). ``block_multiple``: each block holds the allocation pattern this many times
    (larger blocks are harder to predict, smaller ones balance sooner).
    """

    strata: list[str] = Field(default_factory=list)
    block_multiple: Annotated[int, Field(ge=1, le=100)] = 1


class Matching(_Strict):
    """How a ``design: matched`` experiment builds its comparison group (effect on the treated).

    The arm column holds who got the channel: the control label for the untreated, the one
    treatment arm's label for the treated. ``method``: ``nearest`` (k:1 on the logit
    propensity from a logistic regression on ``covariates``, within ``caliper`` SDs),
    ``exact`` (identical values of ``exact``, or of every covariate) or ``cem`` (coarsened
    exact: numbers cut into ``bins`` bins). ``covariates`` default to the spec's. The run
    stops when any |SMD| after matching exceeds ``max_smd`` unless ``accept_imbalance``.
    """

    method: Literal["nearest", "exact", "cem"] = "nearest"
    covariates: list[str] | None = None
    ratio: Annotated[int, Field(ge=1, le=10)] = 1
    replace: bool = False
    caliper: Annotated[float, Field(gt=0)] | None = 0.2
    exact: list[str] = Field(default_factory=list)
    bins: Annotated[int, Field(ge=2, le=50)] = 5
    max_smd: Annotated[float, Field(gt=0)] = 0.1
    accept_imbalance: bool = False


class Reported(_Strict):
    """One number from an original study: as published, or assumed (``assumed`` says why)."""

    value: float
    assumed: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_number(cls, v: Any) -> Any:
        return {"value": v} if isinstance(v, int | float) and not isinstance(v, bool) else v

    @property
    def published(self) -> bool:
        """Whether the number was published (not assumed)."""
        return self.assumed is None


class OriginalSummary(_Strict):
    """An original arm's published summary of one metric: a proportion, or a mean and sd."""

    proportion: Reported | None = None
    mean: Reported | None = None
    sd: Reported | None = None


class OriginalArm(_Strict):
    """One arm of the original study: its size and its summaries per metric of this spec."""

    n: Reported
    metrics: dict[str, OriginalSummary] = Field(default_factory=dict)


class Original(_Strict):
    """The original study a replication is judged against (``channelab replicate``).

    ``contrast`` is its headline claim, ``[a, b]``: arm ``a`` does better than arm ``b`` on
    the outcome metrics. Every number is published unless it says ``assumed: why``.
    """

    citation: str
    study: str = ""
    contrast: tuple[str, str]
    arms: dict[str, OriginalArm]


class Replication(_Strict):
    """How a replication is planned and judged.

    Verdict on each metric the original reports: ``replicated`` when the replication Bayes
    factor BF_r0 ≥ ``bf_threshold``; ``not replicated`` when BF_r0 ≤ 1/``bf_threshold`` or the
    contrast is inside the metric's ROPE with probability ≥ ``equivalence`` (sceptical prior);
    otherwise ``inconclusive``. ``primary`` names the metric whose verdict is the headline
    (default: the first outcome metric the original reports).
    """

    primary: str | None = None
    bf_threshold: Annotated[float, Field(gt=1)] = 10.0
    equivalence: Annotated[float, Field(gt=0.5, lt=1)] = 0.95
    powers: list[Annotated[float, Field(gt=0, lt=1)]] = Field(default_factory=lambda: [0.8, 0.9, 0.95])
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    assurance_sims: Annotated[int, Field(ge=100, le=100_000)] = 4000


class Spec(_Strict):
    """A validated experiment definition."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    title: str | None = None
    description: str = ""
    design: Literal["randomised", "matched"] = "randomised"
    engine: Literal["duckdb", "spark"] = "duckdb"
    unit: Unit = Unit()
    data: DataSource
    arm_column: str
    control: str
    arms: dict[str, Arm]
    metrics: Annotated[list[Metric], Field(min_length=1)]
    covariates: list[str] = Field(default_factory=list)
    currency: str = "$"
    hdi_prob: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.94
    seed: int = 20261123
    sampler: Sampler = Sampler()
    decision: Decision = Decision()
    priors: Priors = Priors()
    model: ModelOptions = ModelOptions()
    plan: Plan = Plan()
    assignment: Assignment = Assignment()
    matching: Matching = Matching()
    original: Original | None = None
    replication: Replication = Replication()
    source_path: Path | None = Field(default=None, exclude=True)

    @field_validator("arms", mode="before")
    @classmethod
    def _arms_may_be_bare(cls, v: Any) -> Any:
        if isinstance(v, list):  # allow a bare list of arm names
            return {str(a): {} for a in v}
        if isinstance(v, dict):
            return {str(k): ({} if a is None else a) for k, a in v.items()}
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[str] = []
        if len(self.arms) < 2:
            problems.append(
                f"arms: got {len(self.arms)} arm(s), but expected the control and at least one treatment"
            )
        if self.control not in self.arms:
            problems.append(
                f"control: got {self.control!r}, but expected one of the arms {list(self.arms)}"
                + _suggest(self.control, list(self.arms))
            )
        first: dict[str, int] = {}
        for i, m in enumerate(self.metrics):
            if m.name in first:
                problems.append(
                    f"metrics.{i}.name: {m.name!r} is already the name of metrics.{first[m.name]}; "
                    "give each metric its own name"
                )
            first.setdefault(m.name, i)
        if not any(m.role in ("outcome", "revenue") for m in self.metrics):
            problems.append(
                "metrics: no metric has role 'outcome' or 'revenue'; channelab judges arms on "
                "costly steps (meetings, purchases, money), so add at least one"
            )
        for i, m in enumerate(self.metrics):
            if m.type == "revenue" and m.role != "revenue":
                problems.append(
                    f"metrics.{i}.role: got {m.role!r} for metric {m.name!r} of type 'revenue', "
                    "but expected role 'revenue'"
                )
        used = {m.source_column: f"the column of metric {m.name!r}" for m in self.metrics}
        used[self.arm_column] = "the arm column"
        for c in dict.fromkeys(self.covariates):
            if c in used:
                problems.append(
                    f"covariates: {c!r} is also {used[c]}; a covariate must be measured before "
                    "assignment, so remove it from 'covariates'"
                )
        if self.model.lift_by is not None and self.model.lift_by not in self.covariates:
            problems.append(
                f"model.lift_by: got {self.model.lift_by!r}, but expected one of the covariates "
                f"{self.covariates}" + _suggest(self.model.lift_by, self.covariates)
            )
        cluster = self.unit.randomised_by
        if cluster is not None and (cluster in self.covariates or cluster in used):
            problems.append(
                f"unit.randomised_by: {cluster!r} is also a covariate, metric or the arm column; "
                "it must be the column naming each unit's cluster (e.g. rep_id)"
            )
        if len(set(self.covariates)) != len(self.covariates):
            problems.append("covariates: a column is listed twice")
        for a in {
            **self.priors.arm_mu,
            **{k: v for m in self.metrics if m.priors for k, v in m.priors.arm_mu.items()},
        }:
            if a not in self.arms or a == self.control:
                problems.append(f"priors.arm_mu: {a!r} is not a treatment arm" + _suggest(a, list(self.arms)))
        if self.design == "matched":
            if len(self.arms) != 2:
                problems.append(
                    f"arms: a matched design compares the treated with the untreated, so it needs "
                    f"exactly two arms (the control and one treatment), got {len(self.arms)}"
                )
            if not self.matching_covariates:
                problems.append("matching.covariates: a matched design needs covariates to balance")
            if self.unit.randomised_by is not None:
                problems.append("unit.randomised_by: nothing was randomised in a matched design; remove it")
            if self.engine == "spark":
                problems.append(
                    "engine: matching runs in memory on the units; use engine: duckdb for a matched design"
                )
        if self.engine == "spark" and self.data.resolved_format == "duckdb":
            problems.append("engine: Spark cannot read a DuckDB database; export the rows to Parquet")
        names = [m.name for m in self.metrics]
        for k in self.plan.baselines:
            if k not in names:
                problems.append(f"plan.baselines: {k!r} is not a metric" + _suggest(k, names))
        if len(set(self.assignment.strata)) != len(self.assignment.strata):
            problems.append("assignment.strata: a column is listed twice")
        problems += self._original_problems(names)
        if problems:  # one line per problem, each starting with its key path
            raise ValueError("\n".join(problems))
        return self

    def _original_problems(self, names: list[str]) -> list[str]:
        o = self.original
        if o is None:
            return []
        problems = []
        arms = list(self.arms)
        for i, a in enumerate(o.contrast):
            if a not in o.arms:
                problems.append(
                    f"original.contrast.{i}: {a!r} has no published numbers under original.arms"
                    + _suggest(a, list(o.arms))
                )
        for a, arm in o.arms.items():
            where = f"original.arms.{a}"
            if a not in arms:
                problems.append(f"{where}: {a!r} is not an arm of this spec" + _suggest(a, arms))
            if arm.n.value < 2:
                problems.append(f"{where}.n: got {arm.n.value:g}, but expected at least 2 participants")
            for k, summary in arm.metrics.items():
                metric = next((m for m in self.metrics if m.name == k), None)
                if metric is None:
                    problems.append(f"{where}.metrics.{k}: not a metric of this spec" + _suggest(k, names))
                elif metric.type == "binary":
                    p = summary.proportion
                    if p is None or not 0 < p.value < 1:
                        problems.append(
                            f"{where}.metrics.{k}.proportion: a binary metric needs the published "
                            "proportion, strictly between 0 and 1"
                        )
                elif summary.mean is None:
                    problems.append(
                        f"{where}.metrics.{k}.mean: a {metric.type} metric needs the published mean"
                    )
                elif summary.sd is None or summary.sd.value <= 0:
                    problems.append(
                        f"{where}.metrics.{k}.sd: a {metric.type} metric needs the sd (> 0); give the "
                        "published one or an assumed one, {value: 1.2, assumed: why}"
                    )
        primary = self.replication.primary
        if primary is not None and primary not in names:
            problems.append(f"replication.primary: {primary!r} is not a metric" + _suggest(primary, names))
        return problems

    # ---- derived views -------------------------------------------------------------------

    @property
    def matching_covariates(self) -> list[str]:
        """Covariates balanced by matching: ``matching.covariates``, or the spec's covariates."""
        return (
            list(self.matching.covariates) if self.matching.covariates is not None else list(self.covariates)
        )

    @property
    def replicated_metrics(self) -> list[Metric]:
        """Metrics the original reports for both arms of its contrast, in funnel order."""
        if self.original is None:
            return []
        a, b = (self.original.arms[x].metrics for x in self.original.contrast)
        return [m for m in self.metrics_in_funnel_order if m.name in a and m.name in b]

    @property
    def primary_metric(self) -> Metric | None:
        """The metric whose replication verdict is the headline (see :class:`Replication`)."""
        metrics = self.replicated_metrics
        chosen = [m for m in metrics if m.name == self.replication.primary] or [
            m for m in metrics if m.role == "outcome"
        ]
        return next(iter(chosen or metrics), None)

    @property
    def treatments(self) -> list[str]:
        """Arm labels other than the control, in the order the spec lists them."""
        return [a for a in self.arms if a != self.control]

    @property
    def arm_order(self) -> list[str]:
        """Control first, then treatments."""
        return [self.control, *self.treatments]

    @property
    def metrics_in_funnel_order(self) -> list[Metric]:
        """Metrics sorted engagement → outcome → revenue, keeping the spec's order within a role."""
        return sorted(self.metrics, key=lambda m: FUNNEL_ORDER[m.role])

    @property
    def data_path(self) -> Path:
        """Absolute path of the data file, resolved against the spec's own folder."""
        return self.resolve_path(self.data.path)

    def resolve_path(self, p: Path) -> Path:
        """``p`` resolved against the spec's own folder when relative."""
        if not p.is_absolute() and self.source_path is not None:
            p = (self.source_path.parent / p).resolve()
        return p

    @property
    def pools_arms(self) -> bool:
        """Whether arm effects are partially pooled (needs two or more treatments)."""
        return self.model.pool_arms and len(self.treatments) >= 2

    def priors_for(self, metric: Metric) -> Priors:
        """Priors in force for ``metric``: package defaults, then the spec's, then the metric's."""
        return self.priors.merged(metric.priors)

    def planned_shares(self) -> dict[str, float]:
        """Planned allocation of units to arms, normalised to sum to one."""
        total = math.fsum(a.share for a in self.arms.values())
        return {k: a.share / total for k, a in self.arms.items()}

    @property
    def display_title(self) -> str:
        """Human title for reports."""
        return self.title or self.name.replace("_", " ")


# ---- loading ------------------------------------------------------------------------------


def load_spec(path: str | Path) -> Spec:
    """Read, parse and validate an experiment definition.

    Raises
    ------
    SpecError
        With one line per problem, each naming the file and the key path.
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(
            f"{path}: no such experiment file. Check the path (experiments live in experiments/)."
        )
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise SpecError(
            f"{path}: YAML tag refused{line}: {exc.problem}. Experiment files are plain data; "
            "remove the '!!' tag and write the value itself."
        ) from None
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        start = getattr(exc, "context_mark", None)
        context = getattr(exc, "context", None)
        if start is not None and context and (mark is None or start.line != mark.line):
            # e.g. an unclosed quote: the error surfaces at the end, the cause is where it began
            problem += f" ({context} that starts at line {start.line + 1}, column {start.column + 1})"
        raise SpecError(
            f"{path}: not valid YAML{where}: {problem}. Check indentation and quoting "
            "(labels containing ':' or '#' need quotes)."
        ) from None
    if raw is None:
        raise SpecError(f"{path}: the file is empty; see README.md for an annotated example experiment.")
    if not isinstance(raw, dict):
        raise SpecError(
            f"{path}: expected a mapping of keys (name:, data:, arms:, ...), got a {type(raw).__name__}."
        )
    return parse_spec(raw, source=path)


def parse_spec(raw: dict[str, Any], *, source: Path | None = None) -> Spec:
    """Validate an already-loaded mapping into a :class:`Spec` (used by tests and tools)."""
    where = str(source) if source else "<spec>"
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        missing = {tuple(e["loc"]) for e in errors if e["type"] == "missing"}
        lines = [ln for err in errors for ln in _describe(err, missing).splitlines()]
        raise SpecError(
            f"{where}: invalid experiment definition:\n" + "\n".join(f"  - {ln}" for ln in lines)
        ) from None
    if source is not None:
        spec = spec.model_copy(update={"source_path": source.resolve()})
    return spec


def _describe(err: Any, missing: set[tuple[Any, ...]]) -> str:
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        key, parent = str(err["loc"][-1]), tuple(err["loc"][:-1])
        allowed = _allowed_keys(parent)
        # a misspelt required key is also reported missing: prefer it ('roel' -> 'role', not 'rope')
        absent = [k for k in allowed if (*parent, k) in missing]
        hint = _suggest(key, absent) or _suggest(key, allowed)
        return f"{loc}: unknown key{hint or f'; allowed keys are {sorted(allowed)}'}"
    if kind == "missing":
        return f"{loc}: required key is missing"
    msg = err["msg"].removeprefix("Value error, ")
    if kind == "value_error" and not err["loc"]:
        return msg  # cross-key problems from Spec._consistent, each already led by its key path
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", err["ctx"]["expected"])
        msg = f"got {err['input']!r}, but expected {msg.removeprefix('Input should be ')}"
        msg += _suggest(str(err["input"]), options)
    elif kind in _BOUND_ERRORS:
        msg = f"got {err['input']!r}, but expected a value {msg.removeprefix('Input should be ')}"
    elif kind == "string_pattern_mismatch":
        msg = (
            f"got {err['input']!r}, but expected letters, digits and '_' (no spaces), "
            f"matching {err['ctx']['pattern']}"
        )
    elif msg.startswith("Input should be "):  # type errors: 'a valid number', 'a valid list', ...
        msg = f"got {_short(err['input'])}, but expected {msg.removeprefix('Input should be ')}"
    return f"{loc}: {msg}"


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


_BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Field names allowed at key path ``loc``, for "did you mean" suggestions."""
    model: type[BaseModel] = Spec
    skip_key = False  # the next part is a user-chosen dict key (an arm name)
    for part in loc:
        if isinstance(part, int) or skip_key:
            skip_key = False
            continue
        field = model.model_fields.get(str(part))
        nested = _nested_model(field.annotation) if field else None
        if field is None or nested is None:
            return []
        model, skip_key = nested, typing.get_origin(field.annotation) is dict
    return [k for k in model.model_fields if k != "source_path"]


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if (found := _nested_model(arg)) is not None:
            return found
    return None


def _suggest(word: str, options: list[str]) -> str:
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""
