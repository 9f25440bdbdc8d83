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


#: The matching methods that weight every unit instead of pairing them.
WEIGHTING_METHODS = ("entropy", "ipw", "overlap")


class Matching(Strict):
    """How a ``design: matched`` experiment builds its comparison group from observational data.

    The arm column holds who got the channel: the control label for the untreated, the one
    treatment arm's label for the treated. ``method`` matches or weights:

    - ``nearest``: k:1 on the logit propensity, within ``caliper`` SDs (``ratio``, ``replace``);
    - ``exact``: identical values of ``exact``, or of every covariate;
    - ``cem``: coarsened exact, numbers cut into ``bins`` bins at the treated units' quantiles;
    - ``entropy``: every control reweighted so that its means (and, by default, variances)
      equal the treated ones exactly;
    - ``ipw``: inverse-propensity weights; ``overlap``: overlap weights (effect where the
      groups overlap, ATO).

    ``estimand``: ``att`` (effect on the treated) or ``ate`` (on everyone; ``ipw`` and
    ``entropy``). ``propensity``: the propensity formula (see
    :mod:`channelab.cohort.propensity`), by default the covariates' main effects; for
    ``entropy`` the terms to balance, by default the covariates and the squares of numbers.
    ``trim`` drops units with propensity outside [trim, 1 − trim]. ``covariates`` default to
    the spec's. The run stops when any |SMD| afterwards exceeds ``max_smd`` unless
    ``accept_imbalance``, and when the controls' effective size is below ``min_effective``.
    """

    method: Literal["nearest", "exact", "cem", "entropy", "ipw", "overlap"] = "nearest"
    estimand: Literal["att", "ate"] = "att"
    covariates: list[str] | None = None
    propensity: str | None = None
    ratio: Annotated[int, Field(ge=1, le=10)] = 1
    replace: bool = False
    caliper: Annotated[float, Field(gt=0)] | None = 0.2
    exact: list[str] = Field(default_factory=list)
    bins: Annotated[int, Field(ge=2, le=50)] = 5
    trim: Annotated[float, Field(gt=0, lt=0.5)] | None = None
    max_smd: Annotated[float, Field(gt=0)] = 0.1
    min_effective: Annotated[float, Field(ge=1)] = 20
    accept_imbalance: bool = False

    @field_validator("propensity")
    @classmethod
    def _formula(cls, v: str | None) -> str | None:
        if v is not None:
            from channelab.spec.formula import parse

            parse(v)  # a ValueError names the term
        return v

    @property
    def weighting(self) -> bool:
        """Whether the method weights every unit instead of pairing units."""
        return self.method in WEIGHTING_METHODS

    @property
    def estimand_code(self) -> Literal["ATT", "ATE", "ATO"]:
        """The effect estimated: on the treated, on everyone, or where the groups overlap (ATO)."""
        if self.method == "overlap":
            return "ATO"
        return "ATE" if self.estimand == "ate" else "ATT"

    def problems(self) -> list[str]:
        """Settings that contradict the method, one line each."""
        out = []
        if self.estimand == "ate" and self.method not in ("ipw", "entropy"):
            out.append(
                f"matching.estimand: {self.method} estimates the effect on the "
                f"{'overlap population' if self.method == 'overlap' else 'treated'}; "
                "ate needs method ipw or entropy"
            )
        if self.weighting and self.exact:
            out.append(
                "matching.exact: weighting balances every covariate at once; list the column in covariates"
            )
        if self.trim is not None and self.method in ("exact", "cem"):
            out.append(f"matching.trim: {self.method} matching fits no propensity to trim on")
        if self.propensity is not None and self.method in ("exact", "cem"):
            out.append(f"matching.propensity: {self.method} matching fits no propensity")
        return out
