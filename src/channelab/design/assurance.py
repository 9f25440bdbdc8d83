"""Bayesian assurance: how often channelab's own model and decision rule would say ``real lift``.

For each outcome and revenue metric, experiments of the planned size are simulated from the
metric's baseline with every treatment lifted by X, each is fitted with the spec's priors
and decision rule (one model per metric, compiled once and re-run on every data set by
:class:`~channelab.analysis.model.Refitter`), and the share of ``real lift`` verdicts is counted. At
X = 0 that share is the false ``real lift`` rate. Unlike frequentist power, assurance
accounts for the ROPE: a lift must clear it, not just zero.

The simulated experiments have no covariates; in cluster designs their size is the effective
sample, the planned units divided by the design effect.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from scipy.special import logit

from channelab.analysis.effects import compute_effects
from channelab.analysis.learning.prior import start_from
from channelab.analysis.model import Refitter
from channelab.cells import Cells
from channelab.engine.aggregate import frame_cells
from channelab.engine.registry.priors_file import LearnedPriors
from channelab.simulate.ab import SimMetric, simulate_ab
from channelab.spec import Baseline, Metric, ModelOptions, Spec, Unit

#: Receives (simulations done, simulations asked) after every fit.
SimCallback = Callable[[int, int], None]
#: Draws and tuning steps per chain of each assurance fit: verdicts need the HDI, not fine tails.
ASSURANCE_DRAWS = 500


@dataclass(frozen=True)
class AssuranceRow:
    """The share of ``real lift`` verdicts on one metric when every treatment's true lift is ``lift``.

    Attributes
    ----------
    metric, lift
        The metric, and the true relative lift of every treatment.
    sims
        Simulated experiments.
    verdicts
        Verdicts counted: sims × treatments.
    real_lift
        Their share that says ``real lift``.
    se
        The binomial standard error of ``real_lift``.
    from_prediction
        Whether each simulated test drew its true lifts from a programme's prediction for the next
        test of each arm's channel (``priors.from``); ``lift`` is then the prediction's median.
    """

    metric: str
    lift: float
    sims: int
    verdicts: int
    real_lift: float
    se: float
    from_prediction: bool = False


@dataclass(frozen=True)
class Assurance:
    """Assurance of every outcome and revenue metric at every simulated lift.

    Attributes
    ----------
    rows
        One :class:`AssuranceRow` per metric and lift.
    n_total
        Simulated units per metric (the effective sample in cluster designs).
    seconds
        Time the simulations took.
    """

    rows: tuple[AssuranceRow, ...]
    n_total: dict[str, int]
    seconds: float

    @property
    def table(self) -> pd.DataFrame:
        """The rows as a data frame (columns as :class:`AssuranceRow`)."""
        return pd.DataFrame([asdict(r) for r in self.rows])

    def rate(self, metric: str, lift: float) -> float:
        """Share of ``real lift`` verdicts on ``metric`` when the true lift is ``lift``."""
        return next(r.real_lift for r in self.rows if r.metric == metric and math.isclose(r.lift, lift))


def assurance(
    spec: Spec,
    baselines: dict[str, Baseline],
    *,
    n_total: int,
    lifts: Sequence[float],
    sims: int,
    seed: int,
    design_effects: dict[str, float] | None = None,
    on_sim: SimCallback | None = None,
    learned: LearnedPriors | None = None,
) -> Assurance:
    """Simulate ``sims`` experiments of ``n_total`` units per metric and lift; count ``real lift``.

    With a learned-priors file (``learned``), every fit starts from the programme's predictions,
    as the planned analysis will, and one more row per metric draws each simulated test's true
    lifts from those predictions: the assurance of the next test if it behaves like the past ones.

    Parameters
    ----------
    spec
        The experiment; its outcome and revenue metrics are simulated one at a time, each with
        the spec's priors and decision rule.
    baselines
        Per metric name, its :class:`~channelab.spec.Baseline`.
    n_total
        Planned units, split by the arms' planned shares.
    lifts
        True relative lifts of every treatment to simulate (0 gives the false real-lift rate).
    sims
        Simulated experiments per metric and lift.
    seed
        Seeds every simulation and fit (through ``numpy.random.SeedSequence``).
    design_effects
        Per metric, the design effect that shrinks the simulated sample to the effective one.
    on_sim
        Hears (done, asked) after every fit.
    learned
        The spec's learned-priors file, read (``priors.from``).

    Returns
    -------
    Assurance
        The share of ``real lift`` verdicts per metric and lift.
    """
    start = time.perf_counter()
    metrics = [m for m in spec.metrics_in_funnel_order if m.decisive]
    shares = spec.planned_shares()
    rows: list[AssuranceRow] = []
    sizes: dict[str, int] = {}
    total = len(metrics) * (len(lifts) + (learned is not None)) * sims
    run = _Runner(iter(np.random.SeedSequence(seed).spawn(total)), total, on_sim)
    for metric in metrics:
        n_eff = n_total / (design_effects or {}).get(metric.name, 1.0)
        per_arm = [max(2, round(n_eff * shares[a])) for a in spec.arm_order]
        sizes[metric.name] = sum(per_arm)
        one, predicted = _metric_spec(spec, metric, baselines[metric.name], per_arm, learned)
        for lift in lifts:
            rows.append(run.row(one, metric, baselines[metric.name], per_arm, lift, sims))
        if predicted:
            rows.append(run.predicted_row(one, metric, baselines[metric.name], per_arm, predicted, sims))
    return Assurance(rows=tuple(rows), n_total=sizes, seconds=time.perf_counter() - start)


def _metric_spec(
    spec: Spec, metric: Metric, baseline: Baseline, per_arm: list[int], learned: LearnedPriors | None
) -> tuple[Spec, dict[str, tuple[str, float, float]]]:
    """The one-metric spec the fits use, and each treatment's learned prediction (scale, mean, sd)."""
    one = single_metric_spec(spec, metric)
    if learned is None:
        return one, {}
    probe = simulated_cells(one, metric, baseline, 0.0, per_arm, one.seed)  # the control's level
    one, start = start_from(one, probe, learned.entries, path=learned.path, name=learned.name)
    return one, {u.arm: (u.scale, u.mean, u.sd) for u in start.uses if u.scale == "loglift"}


class _Runner:
    """Fits simulated experiments (one compiled model per metric) and counts ``real lift``."""

    def __init__(self, children: Iterator[np.random.SeedSequence], total: int, on_sim: SimCallback | None):
        self.children, self.total, self.on_sim, self.done = children, total, on_sim, 0
        self.refitters: dict[str, Refitter] = {}

    def _hits(self, one: Spec, metric: Metric, cells: Cells, fit_seed: int, arms: Sequence[str]) -> int:
        if metric.name not in self.refitters:  # compiled once per metric, re-run on every data set
            self.refitters[metric.name] = Refitter(cells, one)
        refitter = self.refitters[metric.name]
        settings = one.sampler.model_copy(update={"draws": ASSURANCE_DRAWS, "tune": ASSURANCE_DRAWS})
        post = refitter.fit(cells, seed=fit_seed, settings=settings)
        effects = compute_effects(post["posterior"].to_dataset(), cells, one, seed=one.seed)
        self.done += 1
        if self.on_sim is not None:
            self.on_sim(self.done, self.total)
        return sum(e.verdict == "real lift" for e in effects.effects if e.arm in arms)

    def row(
        self, one: Spec, metric: Metric, baseline: Baseline, per_arm: list[int], lift: float, sims: int
    ) -> AssuranceRow:
        """The share of ``real lift`` verdicts when every treatment's true lift is ``lift``."""
        hits = 0
        for _ in range(sims):
            data_seed, fit_seed = (int(x) for x in next(self.children).generate_state(2))
            cells = simulated_cells(one, metric, baseline, lift, per_arm, data_seed)
            hits += self._hits(one, metric, cells, fit_seed, one.treatments)
        return _row(metric.name, lift, sims, hits, sims * len(one.treatments))

    def predicted_row(
        self,
        one: Spec,
        metric: Metric,
        baseline: Baseline,
        per_arm: list[int],
        predicted: dict[str, tuple[str, float, float]],
        sims: int,
    ) -> AssuranceRow:
        """The share of ``real lift`` verdicts when each test's true lifts are drawn from the predictions."""
        hits = 0
        for _ in range(sims):
            data_seed, fit_seed = (int(x) for x in next(self.children).generate_state(2))
            rng = np.random.default_rng(data_seed)
            lifts = {a: math.expm1(rng.normal(mean, sd)) for a, (_, mean, sd) in predicted.items()}
            cells = simulated_cells(one, metric, baseline, lifts, per_arm, data_seed)
            hits += self._hits(one, metric, cells, fit_seed, list(predicted))
        median = float(np.median([math.expm1(mean) for _, mean, _ in predicted.values()]))
        return _row(metric.name, median, sims, hits, sims * len(predicted), from_prediction=True)


def _row(
    metric: str, lift: float, sims: int, hits: int, verdicts: int, *, from_prediction: bool = False
) -> AssuranceRow:
    rate = hits / verdicts if verdicts else math.nan
    se = math.sqrt(rate * (1 - rate) / verdicts) if verdicts else math.nan
    return AssuranceRow(metric, lift, sims, verdicts, rate, se, from_prediction)


def sim_metric(
    metric: Metric, baseline: Baseline, lift: float | Mapping[str, float], treatments: Sequence[str]
) -> SimMetric:
    """How to draw ``metric`` from its baseline with every treatment's mean lifted by ``lift``.

    ``lift`` may also give each treatment its own lift (a treatment not named is not lifted).
    """
    if isinstance(lift, Mapping):
        each = [sim_metric(metric, baseline, lift.get(t, 0.0), [t]) for t in treatments]
        return replace(each[0], effects={t: s.effects[t] for t, s in zip(treatments, each, strict=True)})
    match metric.type:
        case "binary":
            p = baseline.require("mean")
            shift = float(logit(min(p * (1 + lift), 1 - 1e-9)) - logit(p))
            return SimMetric("binary", p, dict.fromkeys(treatments, shift))
        case "count":
            return SimMetric(
                "count",
                baseline.require("mean"),
                dict.fromkeys(treatments, math.log1p(lift)),
                overdispersion=baseline.overdispersion,
            )
        case "revenue":
            share, sigma = baseline.require("share"), baseline.amount_sd_log
            shift = float(logit(min(share * (1 + lift), 1 - 1e-9)) - logit(share))
            median = baseline.require("amount") * math.exp(
                -(sigma**2) / 2
            )  # the lognormal's mean is `amount`
            return SimMetric("revenue", share, dict.fromkeys(treatments, shift), amount=median, sigma=sigma)
        case _:
            mean = baseline.require("mean")
            return SimMetric(
                "continuous", mean, dict.fromkeys(treatments, mean * lift), sigma=baseline.require("sd")
            )


def single_metric_spec(spec: Spec, metric: Metric) -> Spec:
    """The spec reduced to one metric, no covariates or pre-period columns, one unit per row.

    Assurance is thus that of the unadjusted analysis: what adjusting adds is in the plan's
    sample sizes with R² (:func:`~channelab.design.power.plan_power`).
    """
    return spec.model_copy(
        update={
            "metrics": [metric],
            "covariates": [],
            "adjust": [],
            "model": ModelOptions(),
            "unit": Unit(kind=spec.unit.kind),
        }
    )


def simulated_cells(
    spec: Spec,
    metric: Metric,
    baseline: Baseline,
    lift: float | Mapping[str, float],
    per_arm: list[int],
    seed: int,
) -> Cells:
    """Cells of one simulated experiment of ``metric``: ``per_arm`` units per arm, treatments lifted."""
    sim = sim_metric(metric, baseline, lift, spec.treatments)
    rows, _ = simulate_ab(
        n_per_arm=per_arm, arms=tuple(spec.arm_order), metrics={"y": sim}, segment_effects=(0.0,), seed=seed
    )
    rows = rows.rename(columns={"arm": spec.arm_column, "y": metric.source_column})
    return frame_cells(rows, spec, name="<assurance>")
