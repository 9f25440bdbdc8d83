"""Planning a test: baselines, power, assurance, assignment and matching; what they cannot be."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Literal, Protocol

from pydantic import Field, field_validator

from channelab.errors import SpecError
from channelab.limits import MAX_PUBLISHED_VALUE, MAX_SIMS, MAX_UNITS
from channelab.spec.base import Strict, suggest
from channelab.spec.core import Metric, Unit
from channelab.spec.data import DataSource
from channelab.spec.formula import parse


class Baseline(Strict):
    """A metric under business as usual, for planning: its control mean and spread.

    binary: ``mean`` (the rate). count: ``mean`` and ``overdispersion``. revenue: ``share``,
    ``amount`` and ``amount_sd_log``. continuous: ``mean`` and ``sd``.

    Attributes
    ----------
    mean
        The control mean per unit (a binary metric's rate).
    sd
        The sd per unit of a continuous metric.
    overdispersion
        A count's φ in Var = μ + φ μ² (0 is Poisson).
    share
        The share of units who spend (revenue).
    amount
        The mean spend of those who spend (revenue).
    amount_sd_log
        The log-sd of the amounts spent (revenue).
    """

    mean: Annotated[float, Field(gt=0, le=MAX_PUBLISHED_VALUE)] | None = None
    sd: Annotated[float, Field(gt=0, le=MAX_PUBLISHED_VALUE)] | None = None
    overdispersion: Annotated[float, Field(ge=0, le=1e6)] = 0.0
    share: Annotated[float, Field(gt=0, lt=1)] | None = None
    amount: Annotated[float, Field(gt=0, le=MAX_PUBLISHED_VALUE)] | None = None
    #: above 10 (amounts spread over e^±20) the lognormal's variance overflows
    amount_sd_log: Annotated[float, Field(gt=0, le=10)] = 1.0

    def require(self, name: str) -> float:
        """The value of field ``name``; a :class:`SpecError` if the baseline lacks it.

        Parameters
        ----------
        name
            The field wanted (``mean``, ``sd``, ``share``, ``amount``).
        """
        value = getattr(self, name)
        if value is None:
            raise SpecError(f"plan.baselines: the baseline needs {name!r}")
        return float(value)


class AssuranceSettings(Strict):
    """Bayesian assurance by simulation: ``sims`` experiments per true lift in ``lifts``.

    Attributes
    ----------
    sims
        Simulated experiments per true lift (0: no assurance).
    lifts
        The true relative lifts simulated; by default 0 and the plan's target lift (0 gives the
        false ``real lift`` rate).
    """

    sims: Annotated[int, Field(ge=0, le=MAX_SIMS)] = 100
    lifts: list[Annotated[float, Field(gt=-1)]] | None = None


class Plan(Strict):
    """Inputs of ``channelab design``: the planned sample, the effect worth finding, and baselines.

    Baselines come from ``baselines`` (per metric name) or, for metrics not listed there, from
    the control arm of ``pilot`` data.

    Attributes
    ----------
    n
        Units planned in all arms together (split by the arms' shares).
    target_lift
        The relative lift the test should find (0.10 = +10 %).
    power
        The powers to size the test for.
    alpha
        The significance level of the frequentist sample sizes.
    multiplicity
        ``bonferroni`` (alpha split over the comparisons) or ``none``.
    baselines
        Per metric name, its :class:`Baseline`.
    pilot
        A file of unit rows whose control arm gives the baselines of the metrics not listed.
    units_per_week
        Units entering per week, to state the test's duration.
    cluster_size
        With ``unit.randomised_by``: the mean units per cluster; with ``cluster_size_cv`` (its
        coefficient of variation) and ``icc`` it gives the design effect. A pilot with the
        cluster column supplies them.
    cluster_size_cv
        The coefficient of variation of the cluster sizes.
    icc
        The intra-cluster correlation.
    r_squared
        With ``adjust`` columns: per metric, the share of its variance they are expected to
        explain (metrics not listed take it from a pilot holding them). Each metric's sample
        size and MDE are then also given with the adjustment, the variance divided by 1 − R².
    assurance
        Bayesian assurance by simulation (:class:`AssuranceSettings`).
    """

    n: Annotated[int, Field(ge=2, le=MAX_UNITS)] | None = None
    target_lift: Annotated[float, Field(ge=0.001, le=100)] = 0.10
    power: list[Annotated[float, Field(gt=0, lt=1)]] = Field(default_factory=lambda: [0.8, 0.9], min_length=1)
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    multiplicity: Literal["bonferroni", "none"] = "bonferroni"
    baselines: dict[str, Baseline] = Field(default_factory=dict)
    pilot: DataSource | None = None
    units_per_week: Annotated[int, Field(ge=1, le=MAX_UNITS)] | None = None
    cluster_size: Annotated[float, Field(ge=1, le=MAX_UNITS)] | None = None
    cluster_size_cv: Annotated[float, Field(ge=0)] = 0.0
    icc: Annotated[float, Field(ge=0, lt=1)] | None = None
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

    Attributes
    ----------
    strata
        Columns of the units file to stratify on (every combination is its own block sequence).
    block_multiple
        Each block holds the allocation pattern this many times (larger blocks are harder to
        predict, smaller ones balance sooner).
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

    Attributes
    ----------
    method
        ``nearest``, ``exact``, ``cem``, ``entropy``, ``ipw`` or ``overlap`` (above).
    estimand
        ``att`` (effect on the treated) or ``ate`` (on everyone; ``ipw`` and ``entropy``).
    covariates
        The covariates to balance; by default the spec's.
    propensity
        The propensity formula (see :mod:`channelab.spec.formula`), by default the covariates'
        main effects; for ``entropy`` the terms to balance, by default the covariates and the
        squares of numbers.
    ratio
        Controls matched to each treated unit (``nearest``).
    replace
        Whether a control may be matched to several treated units (``nearest``).
    caliper
        The largest distance of a match, in SDs of the logit propensity (``nearest``).
    exact
        Columns that must match exactly (``nearest`` matches within their strata); for
        ``exact``, by default every covariate. Not for the weighting methods.
    bins
        Bins per number (``cem``).
    trim
        Drops units with propensity outside [trim, 1 − trim].
    max_smd
        The run stops when any |SMD| after matching exceeds it, unless ``accept_imbalance``.
    min_effective
        The run stops when the controls' effective size is below it.
    accept_imbalance
        Report an imbalance above ``max_smd`` instead of stopping.
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


# ---- checks of the spec that concern these parts --------------------------------------------


class _Planned(Protocol):
    """What the checks of this module read of the spec."""

    @property
    def design(self) -> str: ...
    @property
    def engine(self) -> str: ...
    @property
    def arms(self) -> Mapping[str, object]: ...
    @property
    def unit(self) -> Unit: ...
    @property
    def metrics(self) -> Sequence[Metric]: ...
    @property
    def adjust(self) -> Sequence[str]: ...
    @property
    def matching(self) -> Matching: ...
    @property
    def matching_covariates(self) -> list[str]: ...
    @property
    def plan(self) -> Plan: ...
    @property
    def assignment(self) -> Assignment: ...


def matching_problems(spec: _Planned) -> list[str]:
    """What a matched design cannot be: its arms, covariates, method settings and engine.

    Parameters
    ----------
    spec
        The experiment definition being validated.
    """
    if spec.design != "matched":
        return []
    m = spec.matching
    problems = []
    if len(spec.arms) != 2 and not m.weighting:
        problems.append(
            f"arms: matching pairs the treated with the untreated, so it needs exactly two "
            f"arms (the control and one treatment), got {len(spec.arms)}; to compare several "
            "channels with the untreated, weight them (matching.method: entropy, ipw or overlap)"
        )
    if not spec.matching_covariates:
        problems.append("matching.covariates: a matched design needs covariates to balance")
    problems += _method_problems(m) + _propensity_problems(m, spec.matching_covariates)
    if spec.unit.randomised_by is not None:
        problems.append("unit.randomised_by: nothing was randomised in a matched design; remove it")
    if spec.engine == "spark":
        problems.append(
            "engine: matching runs in memory on the units; use engine: duckdb for a matched design"
        )
    return problems


def _method_problems(m: Matching) -> list[str]:
    """Settings that contradict the matching method, one line each."""
    out = []
    if m.estimand == "ate" and m.method not in ("ipw", "entropy"):
        out.append(
            f"matching.estimand: {m.method} estimates the effect on the "
            f"{'overlap population' if m.method == 'overlap' else 'treated'}; "
            "ate needs method ipw or entropy"
        )
    if m.weighting and m.exact:
        out.append(
            "matching.exact: weighting balances every covariate at once; list the column in covariates"
        )
    if m.trim is not None and m.method in ("exact", "cem"):
        out.append(f"matching.trim: {m.method} matching fits no propensity to trim on")
    if m.propensity is not None and m.method in ("exact", "cem"):
        out.append(f"matching.propensity: {m.method} matching fits no propensity")
    return out


def _propensity_problems(m: Matching, allowed: list[str]) -> list[str]:
    """Columns of the propensity formula that are not among the matching covariates ``allowed``."""
    if m.propensity is None:
        return []
    return [
        f"matching.propensity: {c!r} is not a matching covariate; list it in matching.covariates "
        "so its balance is checked" + suggest(c, allowed)
        for c in parse(m.propensity).columns
        if c not in allowed
    ]


def plan_problems(spec: _Planned) -> list[str]:
    """Planning inputs given for what is not a metric, or for adjustment the spec lacks.

    Parameters
    ----------
    spec
        The experiment definition being validated.
    """
    names = [m.name for m in spec.metrics]
    problems = [
        f"plan.baselines: {k!r} is not a metric" + suggest(k, names)
        for k in spec.plan.baselines
        if k not in names
    ]
    problems += [
        f"plan.r_squared: {k!r} is not a metric" + suggest(k, names)
        for k in spec.plan.r_squared
        if k not in names
    ]
    if spec.plan.r_squared and not spec.adjust:
        problems.append("plan.r_squared: it is the variance the adjust columns explain; list them in adjust")
    return problems


def assignment_problems(spec: _Planned) -> list[str]:
    """What the assignment's strata cannot be.

    Parameters
    ----------
    spec
        The experiment definition being validated.
    """
    strata = spec.assignment.strata
    return ["assignment.strata: a column is listed twice"] if len(set(strata)) != len(strata) else []
