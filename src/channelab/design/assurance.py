"""Bayesian assurance: how often channelab's own model and decision rule would say ``real lift``.

For each outcome and revenue metric, experiments of the planned size are simulated from the
metric's baseline with every treatment lifted by X, each is fitted with the spec's priors
and decision rule (one model per metric, compiled once and re-run on every data set by
:class:`~channelab.analysis.model.Refitter`), and the share of ``real lift`` verdicts is counted. At
X = 0 that share is the false ``real lift`` rate. Unlike frequentist power, assurance
accounts for the ROPE: a lift must clear it, not just zero.

The simulated experiments have no covariates; in cluster designs their size is the effective
sample, the planned units divided by the design effect. A time-to-event metric
(``time_model: survival``) is simulated with dated outcomes: each unit with the outcome has it
:data:`DELAY_BETA` of the window after entry (the spec does not say when outcomes arrive), and
assurance follows every unit for the whole window, as the last analysis will.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date

import numpy as np
import pandas as pd
from scipy.special import logit

from channelab.analysis.effects import verdicts
from channelab.analysis.learning.prior import start_from
from channelab.analysis.model import Refitter
from channelab.cells import Cells, SurvivalCells
from channelab.engine.aggregate import frame_cells
from channelab.engine.registry.priors_file import LearnedPriors
from channelab.simulate.ab import SimMetric, simulate_ab
from channelab.spec import Baseline, Metric, ModelOptions, Spec, Unit

#: Receives (simulations done, simulations asked) after every fit.
SimCallback = Callable[[int, int], None]
#: Draws and tuning steps per chain of each assurance fit: verdicts need the HDI, not fine tails.
ASSURANCE_DRAWS = 500
#: A simulated outcome arrives window × Beta(2, 4) days after entry (whole days, as
#: :func:`channelab.simulate.timing.outcome_dates` counts them): the shape of
#: :class:`channelab.simulate.timing.Arrival` with a mean delay of a third of the window, the same
#: in every arm. An assumption: the spec says what share has the outcome within the window, not when.
DELAY_BETA = (2.0, 4.0)
#: The entry-date column of simulated time-to-event units, and the day the first enters.
SIM_ENTERED, SIM_START = "entered_at", date(2026, 1, 5)


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
        said = verdicts(post["posterior"].to_dataset(), cells, one)
        self.done += 1
        if self.on_sim is not None:
            self.on_sim(self.done, self.total)
        return sum(verdict == "real lift" for (arm, _), verdict in said.items() if arm in arms)

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
    sample sizes with R² (:func:`~channelab.design.power.plan_power`). A time-to-event metric
    keeps an entry date (:data:`SIM_ENTERED`) and no analysis date: every unit is followed for
    the whole window unless a look says otherwise.
    """
    entered = SIM_ENTERED if metric.survival else None
    return spec.model_copy(
        update={
            "metrics": [metric],
            "covariates": [],
            "adjust": [],
            "model": ModelOptions(),
            "unit": Unit(kind=spec.unit.kind, entered_at=entered),
            "as_of": None,
        }
    )


def outcome_delays(outcome: np.ndarray, window: int, seed: int) -> np.ndarray:
    """Whole days from entry to each unit's outcome (:data:`DELAY_BETA`), ``inf`` for units without one.

    Parameters
    ----------
    outcome
        Each unit's simulated outcome (above 0: it happened within the window).
    window
        The metric's window in days.
    seed
        Seeds the delays.

    Returns
    -------
    numpy.ndarray
        Days, from 0 to ``window``.
    """
    days = np.floor(window * np.random.default_rng([seed, 2]).beta(*DELAY_BETA, size=len(outcome)))
    return np.where(np.asarray(outcome) > 0, days, np.inf)


def dated_rows(rows: pd.DataFrame, spec: Spec, entry: np.ndarray, delay: np.ndarray) -> pd.DataFrame:
    """``rows`` of the spec's one time-to-event metric with entry and outcome dates.

    Parameters
    ----------
    rows
        One unit per row, the metric's outcome in its column.
    spec
        The one-metric spec (:func:`single_metric_spec`).
    entry
        Each unit's day of entry from :data:`SIM_START`.
    delay
        Each unit's days from entry to its outcome (:func:`outcome_delays`).

    Returns
    -------
    pandas.DataFrame
        ``rows`` with :data:`SIM_ENTERED` and the metric's date column (blank: no outcome).
    """
    metric = spec.metrics[0]
    assert metric.at is not None
    entered = pd.Timestamp(SIM_START) + pd.to_timedelta(entry, unit="D")
    at = entered + pd.to_timedelta(np.where(np.isfinite(delay), delay, np.nan), unit="D")
    return rows.assign(**{SIM_ENTERED: entered, metric.at: at})


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
    if metric.survival:
        assert metric.window_days is not None
        delay = outcome_delays(rows[metric.source_column].to_numpy(), metric.window_days, seed)
        rows = dated_rows(rows, spec, np.zeros(len(rows)), delay)
    return frame_cells(rows, spec, name="<assurance>")


@dataclass(frozen=True)
class FollowUp:
    """Simulated units of a time-to-event metric: when each entered and, with the outcome, how long after.

    Attributes
    ----------
    rows
        The units with their entry and outcome dates (:func:`dated_rows`).
    design
        Cells of the metric's design, one per arm (the model compiled for every look is theirs).
    cell
        Each unit's arm, as the index of its cell (one cell per arm).
    entry
        Each unit's day of entry: the first enters on day 1, look k is on day k × ``every``.
    delay
        Days from entry to each unit's outcome, ``inf`` without one.
    every
        Days between looks.
    """

    rows: pd.DataFrame
    design: Cells
    cell: np.ndarray
    entry: np.ndarray
    delay: np.ndarray
    every: int

    def cells_at(self, day: int) -> Cells:
        """The cells on ``day``: each entered unit followed until its outcome, the window's end or then.

        The sums the engine builds (:func:`channelab.engine.timing.followed_sums`), from arrays.
        """
        ((name, s),) = self.design.metrics.items()
        assert isinstance(s, SurvivalCells)
        assert s.metric.window_days is not None
        on = self.entry <= day
        cell, since, delay = self.cell[on], day - self.entry[on], self.delay[on]
        limit = np.minimum(s.metric.window_days, since)
        event = delay <= limit
        last = np.where(event, delay, limit)[:, None]
        lo, hi = np.asarray(s.bounds[:-1], dtype=float), np.asarray(s.bounds[1:], dtype=float)
        inside = event[:, None] & (delay[:, None] >= lo) & (delay[:, None] < hi)
        whole = since >= s.metric.window_days

        def per(x: np.ndarray) -> np.ndarray:
            return np.bincount(cell, weights=x, minlength=len(self.design.n))

        hits = per(whole & (delay <= s.metric.window_days))
        stats = replace(
            s,
            total=hits,
            sum_sq=hits,
            n=per(whole),
            events=np.stack([per(c) for c in inside.T.astype(float)], axis=1),
            exposure=np.stack([per(c) for c in np.clip(np.minimum(hi, last + 1) - lo, 0, None).T], axis=1),
        )
        return replace(self.design, n=per(np.ones(len(cell))), metrics={name: stats})


def follow_up(
    rows: pd.DataFrame, spec: Spec, looks: tuple[int, int], seed: int, design: Cells | None = None
) -> FollowUp:
    """When the units of ``rows`` (in order of entry) enter and have their outcome.

    Parameters
    ----------
    rows
        One simulated unit per row, in order of entry, of the spec's one time-to-event metric.
    spec
        The one-metric spec (:func:`single_metric_spec`).
    looks
        The looks while units enter, and the days between looks: the units of entry look k
        enter on days (k − 1) × every + 1 … k × every (uniformly; the same number per look).
    seed
        Seeds the entry days and the delays (:func:`outcome_delays`).
    design
        Cells of the design; default those of ``rows``, every unit followed for the whole window.

    Returns
    -------
    FollowUp
        The units' entry days and delays, and their dated rows.
    """
    metric = spec.metrics[0]
    assert metric.window_days is not None
    (entering, every), n = looks, len(rows)
    ends = [round(n * k / entering) for k in range(1, entering + 1)]
    period = np.searchsorted(ends, np.arange(n), side="right")
    entry = period * every + 1 + np.random.default_rng([seed, 3]).integers(0, every, size=n)
    delay = outcome_delays(rows[metric.source_column].to_numpy(), metric.window_days, seed)
    dated = dated_rows(rows, spec, entry, delay)
    design = design or frame_cells(dated, spec, name="<stopping rule>")
    own = {design.arms[a]: c for c, a in enumerate(design.arm_idx)}
    cell = np.array([own[a] for a in rows[spec.arm_column]])
    return FollowUp(dated, design, cell, entry.astype(float), delay, every)
