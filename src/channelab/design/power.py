"""Frequentist planning: minimum detectable effect, sample size, design effect and duration.

Every comparison of a treatment with the control is a two-sided two-sample z-test on a
standardised effect size d, solved with statsmodels' :class:`NormalIndPower`:

- binary: Cohen's h between p0 and p0 (1 + lift) (statsmodels' ``proportion_effectsize``);
- count: the log rate ratio over the per-unit sd of a log mean, sqrt(1/μ + φ) for a negative
  binomial with Var = μ + φ μ² (the large-sample test of Zhu & Lakkis 2014, Stat Med 33:376),
  the variance averaged over the two arms;
- revenue: the difference of means per unit over the sd per unit of the hurdle (a share who
  spend, lognormal amounts), taken as equal in both arms;
- continuous: the difference of means over the sd, with the two-sample t-test
  (:class:`TTestIndPower`), the exact test for normal outcomes.

The lift is relative to the control mean (0.10 = +10 %). With k treatments, alpha is split
k ways (Bonferroni) unless the plan says ``multiplicity: none``. In cluster-randomised designs
sample sizes are multiplied, and the effective sample of an MDE divided, by the design effect
1 + ((cv² + 1) m − 1) ICC for mean cluster size m with coefficient of variation cv (Eldridge,
Ashby & Kerry 2006, Int J Epidemiol 35:1292; Kish's 1 + (m − 1) ICC when cv = 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from channelab.errors import DataError, SpecError
from channelab.spec import Baseline, Metric, MetricType, Spec

#: Lifts tried when solving an MDE: beyond +10,000 % a test is not worth planning.
_MAX_LIFT = 100.0
_Z_TEST, _T_TEST = NormalIndPower(), TTestIndPower()


def _solver(type: MetricType) -> NormalIndPower | TTestIndPower:
    return _T_TEST if type == "continuous" else _Z_TEST


@dataclass(frozen=True)
class EffectSize:
    """The standardised effect size of a relative lift on one metric, and its inverse.

    ``control_mean`` and ``unit_sd`` are the metric's mean and sd per unit under control.
    """

    type: MetricType
    control_mean: float
    unit_sd: float
    overdispersion: float = 0.0

    @classmethod
    def from_baseline(cls, type: MetricType, b: Baseline) -> EffectSize:
        """Mean and sd per unit implied by a (complete) baseline; see :class:`Baseline`."""
        match type:
            case "binary":
                m = b.require("mean")
                return cls(type, m, math.sqrt(m * (1 - m)))
            case "count":
                m = b.require("mean")
                return cls(type, m, math.sqrt(m + b.overdispersion * m**2), b.overdispersion)
            case "revenue":
                share, amount = b.require("share"), b.require("amount")
                m = share * amount
                second_moment = share * amount**2 * math.exp(b.amount_sd_log**2)
                return cls(type, m, math.sqrt(second_moment - m**2))
            case _:
                return cls(type, b.require("mean"), b.require("sd"))

    def d(self, lift: float) -> float:
        """Standardised effect size of ``lift`` (relative), as the z-test sees it."""
        m, phi = self.control_mean, self.overdispersion
        match self.type:
            case "binary":
                return float(proportion_effectsize(min(m * (1 + lift), 1.0), m))
            case "count":
                var = (1 / m + phi + 1 / (m * (1 + lift)) + phi) / 2
                return math.log1p(lift) / math.sqrt(var)
            case _:
                return m * lift / self.unit_sd

    def lift(self, d: float) -> float:
        """The (positive) relative lift whose effect size is ``d``; ``inf`` if none is."""
        m = self.control_mean
        match self.type:
            case "binary":
                angle = math.asin(math.sqrt(m)) + d / 2
                return math.sin(angle) ** 2 / m - 1 if angle <= math.pi / 2 else math.inf
            case "count":
                if self.d(_MAX_LIFT) < d:
                    return math.inf
                return float(brentq(lambda x: self.d(x) - d, 0.0, _MAX_LIFT, xtol=1e-10))
            case _:
                return d * self.unit_sd / m


@dataclass(frozen=True)
class MetricPower:
    """Planning numbers of one outcome or revenue metric.

    ``n_control``/``n_total`` are the units needed (control arm / all arms) to find the
    target lift with each power; ``mde`` is the smallest lift found with each power at the
    planned ``n`` (``None`` without one); ``weeks`` the time to enrol ``n_total``. With an
    expected ``r_squared`` from the ``adjust`` columns, ``n_total_adjusted`` and ``mde_adjusted``
    are the same with the variance times 1 − R² (ANCOVA in large samples).
    """

    metric: str
    label: str
    role: str
    type: MetricType
    baseline: Baseline
    baseline_source: str
    control_mean: float
    unit_sd: float
    design_effect: float
    icc: float | None
    n_control: dict[float, int]
    n_total: dict[float, int]
    mde: dict[float, float] | None
    weeks: dict[float, int] | None
    r_squared: float | None = None
    r_squared_source: str = ""
    n_total_adjusted: dict[float, int] | None = None
    mde_adjusted: dict[float, float] | None = None


@dataclass(frozen=True)
class PowerPlan:
    """Frequentist plan of an experiment: one :class:`MetricPower` per outcome/revenue metric.

    Attributes
    ----------
    target_lift
        The relative lift worth finding (``plan.target_lift``).
    alpha, alpha_per_comparison
        The plan's two-sided alpha, and the alpha of each comparison after the correction.
    multiplicity, comparisons
        The correction (``bonferroni`` or ``none``), and the number of treatments compared
        with the control.
    n
        The planned units (``plan.n``), if any.
    shares
        Planned share of the units per arm, control first.
    powers
        The powers planned for (``plan.power``).
    metrics
        One :class:`MetricPower` per outcome and revenue metric, in funnel order.
    """

    target_lift: float
    alpha: float
    alpha_per_comparison: float
    multiplicity: str
    comparisons: int
    n: int | None
    shares: dict[str, float]
    powers: tuple[float, ...]
    metrics: tuple[MetricPower, ...]

    def power_at(self, metric: str, lifts: Sequence[float] | np.ndarray, n: int | None = None) -> np.ndarray:
        """Power to detect each of ``lifts`` on ``metric`` with ``n`` units (default the planned n)."""
        mp = next(m for m in self.metrics if m.metric == metric)
        total = n or self.n
        if total is None:
            raise ValueError("no sample size: give n or set plan.n")
        size = EffectSize.from_baseline(mp.type, mp.baseline)
        n_control, ratio = self._arms(total / mp.design_effect)
        return np.array(
            [
                _solver(mp.type).power(
                    size.d(x), nobs1=n_control, alpha=self.alpha_per_comparison, ratio=ratio
                )
                for x in lifts
            ]
        )

    def _arms(self, total: float) -> tuple[float, float]:
        control, smallest = _control_and_smallest(self.shares)
        return total * control, smallest / control


def _control_and_smallest(shares: dict[str, float]) -> tuple[float, float]:
    control, *treatments = shares.values()  # control first
    return control, min(treatments)


def design_effect(cluster_size: float, icc: float, cv: float = 0.0) -> float:
    """Variance inflation of a cluster-randomised design: 1 + ((cv² + 1) m − 1) ICC."""
    return 1.0 + ((cv**2 + 1.0) * cluster_size - 1.0) * icc


def plan_power(
    spec: Spec,
    baselines: dict[str, Baseline],
    *,
    sources: dict[str, str] | None = None,
    clusters: dict[str, tuple[float, float, float]] | None = None,
    r_squared: dict[str, tuple[float, str]] | None = None,
) -> PowerPlan:
    """Frequentist plan for every outcome and revenue metric of ``spec``.

    Parameters
    ----------
    spec
        The experiment; its ``plan`` block gives the target lift, alpha, powers, the planned
        ``n`` and weekly units, and the multiplicity correction.
    baselines
        Per metric name, its :class:`~channelab.spec.Baseline` (see
        :func:`~channelab.design.baselines.resolve_baselines`).
    sources
        Per metric name, where its baseline came from (for the report).
    clusters
        Per metric name, (mean cluster size, its cv, ICC) for cluster-randomised designs;
        defaults to the plan's ``cluster_size``, ``cluster_size_cv`` and ``icc``.
    r_squared
        Per metric name, (R² of the ``adjust`` columns, where it came from); defaults to
        ``plan.r_squared``.

    Returns
    -------
    PowerPlan
        One :class:`MetricPower` per outcome and revenue metric, in funnel order.

    Raises
    ------
    SpecError
        If a metric has no (complete) baseline, or a cluster design lacks its cluster size or ICC.
    DataError
        If no practical sample size reaches a power for the target lift.
    """
    plan = spec.plan
    shares = {a: spec.planned_shares()[a] for a in spec.arm_order}
    k = len(spec.treatments)
    control, smallest = _control_and_smallest(shares)
    test = _Comparison(
        alpha=plan.alpha / k if plan.multiplicity == "bonferroni" else plan.alpha,
        control=control,
        ratio=smallest / control,
    )
    out = tuple(
        _metric_power(
            spec,
            metric,
            _checked(metric, baselines.get(metric.name), spec),
            test,
            source=(sources or {}).get(metric.name, "plan.baselines"),
            cluster=(clusters or {}).get(metric.name),
            r_squared=(r_squared or {}).get(metric.name),
        )
        for metric in spec.metrics_in_funnel_order
        if metric.decisive
    )
    return PowerPlan(
        target_lift=plan.target_lift,
        alpha=plan.alpha,
        alpha_per_comparison=test.alpha,
        multiplicity=plan.multiplicity,
        comparisons=k,
        n=plan.n,
        shares=shares,
        powers=tuple(plan.power),
        metrics=out,
    )


@dataclass(frozen=True)
class _Comparison:
    """What every comparison of a treatment with the control shares.

    ``alpha`` per comparison; ``control`` the control's share of the units; ``ratio`` the
    smallest treatment's share over the control's.
    """

    alpha: float
    control: float
    ratio: float


def _metric_power(
    spec: Spec,
    metric: Metric,
    baseline: Baseline,
    test: _Comparison,
    *,
    source: str,
    cluster: tuple[float, float, float] | None,
    r_squared: tuple[float, str] | None,
) -> MetricPower:
    """The planning numbers of one metric (see :class:`MetricPower`)."""
    plan = spec.plan
    size = EffectSize.from_baseline(metric.type, baseline)
    deff, icc = 1.0, None
    if spec.unit.randomised_by is not None:
        m, cv, icc = cluster or _plan_clusters(spec)
        deff = design_effect(m, icc, cv)
    solver = _solver(metric.type)
    n_control, n_total = _sample_sizes(metric, size.d(plan.target_lift), solver, test, deff, spec)
    mde = _mdes(size, solver, test, plan.n * test.control / deff, plan.power) if plan.n is not None else None
    r2, r2_source = r_squared or (
        (plan.r_squared[metric.name], "plan.r_squared") if metric.name in plan.r_squared else (None, "")
    )
    n_adjusted = mde_adjusted = None
    if r2 is not None:  # the adjusted estimator's variance is (1 - R²) times the raw one's
        n_adjusted = {p: math.ceil(n * (1 - r2) - 1e-9) for p, n in n_total.items()}
        if plan.n is not None:
            mde_adjusted = _mdes(size, solver, test, plan.n * test.control / deff / (1 - r2), plan.power)
    weeks = (
        {p: math.ceil(n / plan.units_per_week) for p, n in n_total.items()} if plan.units_per_week else None
    )
    return MetricPower(
        metric=metric.name,
        label=metric.display,
        role=metric.role,
        type=metric.type,
        baseline=baseline,
        baseline_source=source,
        control_mean=size.control_mean,
        unit_sd=size.unit_sd,
        design_effect=deff,
        icc=icc,
        n_control=n_control,
        n_total=n_total,
        mde=mde,
        weeks=weeks,
        r_squared=r2,
        r_squared_source=r2_source,
        n_total_adjusted=n_adjusted,
        mde_adjusted=mde_adjusted,
    )


def _sample_sizes(
    metric: Metric,
    d: float,
    solver: NormalIndPower | TTestIndPower,
    test: _Comparison,
    deff: float,
    spec: Spec,
) -> tuple[dict[float, int], dict[float, int]]:
    """Units needed in the control arm and in all arms to find effect size ``d`` with each power."""
    plan = spec.plan
    n_control: dict[float, int] = {}
    n_total: dict[float, int] = {}
    for p in plan.power:
        n_c = solver.solve_power(effect_size=d, alpha=test.alpha, power=p, ratio=test.ratio) * deff
        if not math.isfinite(n_c) or n_c > 1e12:
            raise DataError(
                f"plan: {metric.label} cannot reach {p:.0%} power for a {plan.target_lift:+.1%} lift "
                "at any practical sample size (over 10^12 units); plan a larger target_lift."
            )
        n_control[p] = math.ceil(n_c)
        n_total[p] = math.ceil(n_control[p] / test.control - 1e-9)
    return n_control, n_total


def _mdes(
    size: EffectSize,
    solver: NormalIndPower | TTestIndPower,
    test: _Comparison,
    n_eff: float,
    powers: Sequence[float],
) -> dict[float, float]:
    """The smallest lift found with each power by ``n_eff`` effective units in the control arm."""
    return {
        p: size.lift(solver.solve_power(nobs1=n_eff, alpha=test.alpha, power=p, ratio=test.ratio))
        for p in powers
    }


def _plan_clusters(spec: Spec) -> tuple[float, float, float]:
    plan = spec.plan
    if plan.cluster_size is None or plan.icc is None:
        raise SpecError(
            f"{spec.source_path or '<spec>'}: plan: the design randomises by "
            f"{spec.unit.randomised_by!r}, so the design effect needs plan.cluster_size and plan.icc "
            "(or a pilot data file with that column)."
        )
    return plan.cluster_size, plan.cluster_size_cv, plan.icc


_NEEDS: dict[str, tuple[str, ...]] = {
    "binary": ("mean",),
    "count": ("mean",),
    "revenue": ("share", "amount"),
    "continuous": ("mean", "sd"),
}


def _checked(metric: Metric, baseline: Baseline | None, spec: Spec) -> Baseline:
    where = spec.source_path or "<spec>"
    if baseline is None:
        raise SpecError(
            f"{where}: plan.baselines: no baseline for metric {metric.name!r}. Add "
            f"plan.baselines.{metric.name} ({', '.join(_NEEDS[metric.type])}) or a plan.pilot data file."
        )
    missing = [k for k in _NEEDS[metric.type] if getattr(baseline, k) is None]
    if missing:
        raise SpecError(
            f"{where}: plan.baselines.{metric.name}: a {metric.type} metric needs {', '.join(missing)}."
        )
    if metric.type == "binary" and baseline.mean is not None and baseline.mean >= 1:
        raise SpecError(f"{where}: plan.baselines.{metric.name}.mean: a rate must be below 1.")
    return baseline
