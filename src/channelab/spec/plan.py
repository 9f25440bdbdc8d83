"""Planning a test: baselines, power, assurance, assignment and matching settings."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from channelab.errors import SpecError
from channelab.spec.base import Strict
from channelab.spec.core import DataSource


class Baseline(Strict):
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


class AssuranceSettings(Strict):
    """Bayesian assurance by simulation: ``sims`` experiments per true lift in ``lifts``.

    ``lifts`` defaults to 0 and the plan's target lift; 0 gives the false ``real lift`` rate.
    """

    sims: Annotated[int, Field(ge=0)] = 100
    lifts: list[Annotated[float, Field(gt=-1)]] | None = None


class Plan(Strict):
    """Inputs of ``channelab design``: the planned sample, the effect worth finding, and baselines.

    ``n``: units planned in all arms together (split by the arms' shares). ``target_lift``:
    the relative lift the test should find (0.10 = +10 %). Baselines come from ``baselines``
    (per metric name) or, for metrics not listed there, from the control arm of ``pilot`` data.
    With ``unit.randomised_by``, ``cluster_size`` (mean units per cluster), its coefficient of
    variation and ``icc`` give the design effect; a pilot with the cluster column supplies them.
    With ``adjust`` columns, ``r_squared`` (or a pilot holding them) gives each metric's sample
    size and MDE with the adjustment too: it divides the variance by 1 − R².
    """

    n: Annotated[int, Field(ge=2)] | None = None
    target_lift: Annotated[float, Field(ge=0.001, le=100)] = 0.10
    power: list[Annotated[float, Field(gt=0, lt=1)]] = Field(default_factory=lambda: [0.8, 0.9], min_length=1)
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    multiplicity: Literal["bonferroni", "none"] = "bonferroni"
    baselines: dict[str, Baseline] = Field(default_factory=dict)
    pilot: DataSource | None = None
    units_per_week: Annotated[int, Field(ge=1)] | None = None
    cluster_size: Annotated[float, Field(ge=1)] | None = None
    cluster_size_cv: Annotated[float, Field(ge=0)] = 0.0
    icc: Annotated[float, Field(ge=0, lt=1)] | None = None
    #: Per metric, the share of its variance the ``adjust`` columns are expected to explain;
    #: metrics not listed take it from the pilot when it has those columns.
    r_squared: dict[str, Annotated[float, Field(ge=0, lt=1)]] = Field(default_factory=dict)
    assurance: AssuranceSettings = AssuranceSettings()

    @field_validator("pilot")
    @classmethod
    def _pilot_rows(cls, v: DataSource | None) -> DataSource | None:
        if v is not None and (v.path is None or v.layout != "rows"):
            raise ValueError("a pilot is a file of unit rows: give its path (no summaries or aggregates)")
        return v


class Assignment(Strict):
    """How ``channelab assign`` randomises: permuted blocks within strata.

    ``strata``: columns of the units file to stratify on (every combination is its own block
    sequence). ``block_multiple``: each block holds the allocation pattern this many times
    (larger blocks are harder to predict, smaller ones balance sooner).
    """

    strata: list[str] = Field(default_factory=list)
    block_multiple: Annotated[int, Field(ge=1, le=100)] = 1


class Matching(Strict):
    """How a ``design: matched`` experiment builds its comparison group (effect on the treated).

    The arm column holds who got the channel: the control label for the untreated, the one
    treatment arm's label for the treated. ``method``: ``nearest`` (k:1 on the logit
    propensity from a logistic regression on ``covariates``, within ``caliper`` SDs),
    ``exact`` (identical values of ``exact``, or of every covariate) or ``cem`` (coarsened
    exact: numbers cut into ``bins`` bins at the treated units' quantiles). ``covariates``
    default to the spec's. The run stops when any |SMD| after matching exceeds ``max_smd``
    unless ``accept_imbalance``.
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
