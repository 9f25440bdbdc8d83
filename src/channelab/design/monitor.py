"""Calibrating the stopping rule by simulation: its error rates and sample size at the planned looks.

For each outcome and revenue metric and each true lift, whole monitored tests are simulated
from the metric's baseline: the planned units, split by the arms' shares, enter in a random
order, the same number at every look, and a unit counts once its outcome window (if any) has
closed. At every look the counted units are fitted with channelab's model (compiled once and
re-run, as in :mod:`channelab.design.assurance`) and read by two rules from the same fit: the
spec's (``monitor.spending``) and the naive one that reads the usual interval at every look
(``spending: none``). An arm's decision is its first decisive look
(:mod:`channelab.analysis.monitor`); a test stops when every treatment is decided, else at
the last planned look. At lift 0 the share of ``real lift`` decisions is the rule's false
real-lift rate; at a real lift it is the probability of finding it.

A time-to-event metric (``time_model: survival``) is simulated with event times: each unit
enters on a day of its look's period and, with the outcome, has it a delay after entry
(:data:`~channelab.design.assurance.DELAY_BETA` of the window, the same in every arm: an
assumption, as the spec does not say when outcomes arrive). Every look counts every entered
unit, followed until its outcome, the window's end or the look's day (the engine's sums
computed directly: :class:`~channelab.design.assurance.FollowUp`), and is read once every arm has
:data:`~channelab.analysis.monitor.MIN_FOLLOWED` units followed for the whole window.

Each metric is simulated on its own, without covariates; in cluster designs the simulated
sample is the effective one (the planned units over the design effect).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from channelab.analysis import effects
from channelab.analysis.model import Refitter
from channelab.analysis.monitor import (
    MIN_COUNTED,
    MIN_FOLLOWED,
    arm_decision,
    bounded_looks,
    entry_looks,
    look_z,
    read_lift,
    window_looks,
)
from channelab.analysis.results import ArmVerdict
from channelab.cells import Cells
from channelab.design.assurance import (
    ASSURANCE_DRAWS,
    FollowUp,
    SimCallback,
    follow_up,
    sim_metric,
    single_metric_spec,
)
from channelab.engine.aggregate import frame_cells
from channelab.errors import SpecError
from channelab.simulate.ab import simulate_ab
from channelab.spec import Baseline, Metric, Sampler, Spec

Spending = Literal["obrien_fleming", "none"]
#: Short names of the rules, for tables and the command line.
RULE_NAMES: dict[Spending, str] = {"obrien_fleming": "O'Brien–Fleming rule", "none": "naive rule"}
#: Mixed into the seed so the simulated tests differ from assurance's experiments under the same seed.
_STREAM = 0x5709
#: Per treatment, the look of its decision and the decision, for one rule in one simulated test.
Decided = dict[str, tuple[int, ArmVerdict]]


@dataclass(frozen=True)
class LookSchedule:
    """When the units of one metric enter and count, look by look.

    ``entry`` looks while units enter (the same number at each), ``wait`` looks before the
    first outcome window closes; ``units`` are the planned units, ``simulated`` those simulated
    (fewer in cluster designs: the effective sample). A ``survival`` metric counts every
    entered unit, as far as it has come.
    """

    looks: int
    entry: int
    wait: int
    units: int
    simulated: int
    survival: bool = False

    def entered(self, look: int) -> float:
        """Planned units entered by ``look``."""
        return self.units * min(look, self.entry) / self.entry

    def counted(self, look: int) -> int:
        """Simulated units counted at ``look``: those whose window has closed (survival: entered)."""
        ready = look if self.survival else look - self.wait
        return round(self.simulated * min(max(ready, 0), self.entry) / self.entry)


def look_schedule(spec: Spec, metric: Metric, units: int, design_effect: float = 1.0) -> LookSchedule:
    """The schedule of ``metric`` when ``units`` enter over the planned looks.

    Units enter over :func:`~channelab.analysis.monitor.entry_looks` looks, or without
    ``plan.n`` and ``plan.units_per_week`` over the looks before the longest window.
    """
    looks = bounded_looks(spec)
    if looks is None:
        raise SpecError(
            f"{spec.source_path or 'the spec'}: monitor.looks: say how many looks are planned (or give "
            "plan.n and plan.units_per_week) to calibrate the stopping rule"
        )
    entry = entry_looks(spec) or max(looks - window_looks(spec), 1)
    wait = math.ceil((metric.window_days or 0) / spec.monitor.every_days)
    simulated = max(2 * len(spec.arms), round(units / design_effect))
    return LookSchedule(looks, entry, wait, units, simulated, metric.survival)


@dataclass(frozen=True)
class RuleRow:
    """How one rule decided the treatments of ``sims`` simulated tests whose true lift is ``lift``.

    Shares are of ``decisions`` (sims × treatments); ``low``/``high`` are the Wilson 95 %
    interval of ``real_lift``. ``stops_early``: share of tests stopped before the last planned
    look; ``mean_stop``: mean look at stopping; ``expected_n``: mean planned units entered then.
    """

    metric: str
    lift: float
    rule: Spending
    sims: int
    decisions: int
    real_lift: float
    se: float
    low: float
    high: float
    harm: float
    no_effect: float
    undecided: float
    stops_early: float
    mean_stop: float
    expected_n: float


@dataclass(frozen=True)
class StoppingRule:
    """The stopping rule's operating characteristics for every outcome metric, lift and rule.

    Attributes
    ----------
    spending
        The spec's rule (``monitor.spending``).
    every_days
        Days between looks.
    looks
        Planned looks.
    z
        The spec's rule's interval half-width in posterior sds at each planned look.
    schedules
        Per metric, when its units enter and count (:class:`LookSchedule`).
    rows
        One :class:`RuleRow` per metric, lift and rule (the spec's, then the naive one).
    seconds
        Time the simulations took.
    """

    spending: Spending
    every_days: int
    looks: int
    z: tuple[float, ...]
    schedules: dict[str, LookSchedule]
    rows: tuple[RuleRow, ...]
    seconds: float

    @property
    def rules(self) -> tuple[Spending, ...]:
        """The rules simulated: the spec's first, then the naive one."""
        return tuple(dict.fromkeys(r.rule for r in self.rows))

    @property
    def table(self) -> pd.DataFrame:
        """The rows as a data frame (columns as :class:`RuleRow`)."""
        return pd.DataFrame([asdict(r) for r in self.rows])

    def row(self, metric: str, lift: float, rule: Spending) -> RuleRow:
        """The row of ``metric`` at true lift ``lift`` under ``rule``."""
        return next(
            r for r in self.rows if r.metric == metric and r.rule == rule and math.isclose(r.lift, lift)
        )


def operating_characteristics(
    spec: Spec,
    baselines: dict[str, Baseline],
    *,
    lifts: Sequence[float],
    sims: int,
    seed: int,
    n_total: int | None = None,
    design_effects: dict[str, float] | None = None,
    on_sim: SimCallback | None = None,
) -> StoppingRule:
    """Simulate ``sims`` monitored tests per outcome metric and lift; read each by both rules.

    Parameters
    ----------
    spec
        The experiment, with its ``monitor`` block and planned looks.
    baselines
        Per metric name, its :class:`~channelab.spec.Baseline`.
    lifts
        True relative lifts of every treatment to simulate (0 gives the false real-lift rate).
    sims
        Simulated tests per metric and lift.
    seed
        Seeds every simulation and fit (through ``numpy.random.SeedSequence``, in a stream of
        its own so that the tests differ from assurance's experiments under the same seed).
    n_total
        Units that enter the test; default ``plan.n``.
    design_effects
        Per metric, the design effect that shrinks the simulated sample to the effective one.
    on_sim
        Hears (done, asked) after every simulated test.

    Returns
    -------
    StoppingRule
        The rules' error rates, stopping looks and expected sample sizes.

    Raises
    ------
    SpecError
        If the spec plans no looks or no units, or more than :data:`~channelab.limits.MAX_LOOKS`
        looks (refused before any test is simulated).
    """
    start = time.perf_counter()
    looks = bounded_looks(spec) or 0
    units = n_total or spec.plan.n
    if units is None:
        raise SpecError(
            f"{spec.source_path or 'the spec'}: plan.n: the stopping rule needs the planned units"
        )
    metrics = [m for m in spec.metrics_in_funnel_order if m.decisive]
    rules: tuple[Spending, ...] = tuple(dict.fromkeys((spec.monitor.spending, "none")))
    total = len(metrics) * len(lifts) * sims
    run = _Simulation(
        rules=rules,
        sims=sims,
        children=iter(np.random.SeedSequence([seed, _STREAM]).spawn(total + len(metrics))),
        settings=spec.sampler.model_copy(update={"draws": ASSURANCE_DRAWS, "tune": ASSURANCE_DRAWS}),
        tick=_progress(total, on_sim),
        every=spec.monitor.every_days,
    )
    schedules, records = {}, []
    for metric in metrics:
        schedule = look_schedule(spec, metric, units, (design_effects or {}).get(metric.name, 1.0))
        schedules[metric.name] = schedule
        records += run.rule_rows(single_metric_spec(spec, metric), baselines[metric.name], schedule, lifts)
    return StoppingRule(
        spending=spec.monitor.spending,
        every_days=spec.monitor.every_days,
        looks=looks,
        z=tuple(look_z(k, looks, spec.hdi_prob, spec.monitor.spending) for k in range(1, looks + 1)),
        schedules=schedules,
        rows=tuple(records),
        seconds=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class _Simulation:
    """What every simulated monitored test of one calibration shares: the rules, the seeds, the sampler."""

    rules: tuple[Spending, ...]
    sims: int
    children: Iterator[np.random.SeedSequence]  # drawn in order: one per metric, then one per test
    settings: Sampler
    tick: Callable[[], None]  # called after every simulated test
    every: int  # days between looks

    def rule_rows(
        self, one: Spec, baseline: Baseline, schedule: LookSchedule, lifts: Sequence[float]
    ) -> list[RuleRow]:
        """Simulate the tests of the spec's one metric at every lift; one row per lift and rule."""
        metric = one.metrics[0]
        pilot_seed = int(next(self.children).generate_state(1)[0])
        pilot = entry_rows(one, baseline, 0.0, schedule.simulated, pilot_seed)
        design = (  # the cells of one test at the last look: the design every look's fit shares
            follow_up(pilot, one, (schedule.entry, self.every), pilot_seed).design
            if metric.survival
            else frame_cells(pilot, one, name="<stopping rule>")
        )
        refitter = Refitter(design, one)
        records = []
        for lift in lifts:
            tests = []
            for _ in range(self.sims):
                data_seed, fit_seed = (int(x) for x in next(self.children).generate_state(2))
                rows = entry_rows(one, baseline, lift, schedule.simulated, data_seed)
                follow = (
                    follow_up(rows, one, (schedule.entry, self.every), data_seed, design)
                    if metric.survival
                    else None
                )
                tests.append(
                    monitored_test(
                        refitter,
                        rows,
                        schedule,
                        self.rules,
                        seed=fit_seed,
                        settings=self.settings,
                        follow=follow,
                    )
                )
                self.tick()
            treatments = len(one.treatments)
            records += [
                rule_row(metric.name, lift, rule, [t[rule] for t in tests], schedule, treatments)
                for rule in self.rules
            ]
        return records


def _progress(total: int, on_sim: SimCallback | None) -> Callable[[], None]:
    """A callable that tells ``on_sim`` (if any) that one more of ``total`` simulations is done."""
    done = itertools.count(1)

    def tick() -> None:
        n = next(done)
        if on_sim is not None:
            on_sim(n, total)

    return tick


def entry_rows(spec: Spec, baseline: Baseline, lift: float, n: int, seed: int) -> pd.DataFrame:
    """Unit rows of one simulated test of the spec's one metric, ``n`` units in order of entry.

    The arms get their planned shares of ``n``; every treatment's mean is lifted by ``lift``.
    """
    metric = spec.metrics[0]
    shares = spec.planned_shares()
    per_arm = [max(1, round(n * shares[a])) for a in spec.arm_order]
    sim = sim_metric(metric, baseline, lift, spec.treatments)
    rows, _ = simulate_ab(
        n_per_arm=per_arm, arms=tuple(spec.arm_order), metrics={"y": sim}, segment_effects=(0.0,), seed=seed
    )
    order = np.random.default_rng([seed, 1]).permutation(len(rows))
    rows = rows.iloc[order].reset_index(drop=True)
    return rows.rename(columns={"arm": spec.arm_column, "y": metric.source_column})


def monitored_test(
    refitter: Refitter,
    rows: pd.DataFrame,
    schedule: LookSchedule,
    rules: Sequence[Spending],
    *,
    seed: int,
    settings: Sampler | None = None,
    follow: FollowUp | None = None,
) -> dict[Spending, Decided]:
    """Read one simulated test at each planned look by every rule; each arm's first decision.

    ``rows`` are in order of entry; a look is fitted only when units were added (or, with
    ``follow``, followed further) since the last fit and every arm has
    :data:`~channelab.analysis.monitor.MIN_COUNTED` units counted. Stops once every treatment
    is decided under every rule.
    """
    spec = refitter.spec
    metric = spec.metrics[0]
    decided: dict[Spending, Decided] = {rule: {} for rule in rules}
    draws: dict[str, np.ndarray] | None = None
    fitted = -1
    for k in range(1, schedule.looks + 1):
        key = schedule.counted(k) if follow is None else min(k, schedule.entry + schedule.wait)
        if key != fitted:
            fitted = key
            draws = _draws_at(refitter, rows, schedule, follow, k, seed=(seed + k) % 2**32, settings=settings)
        if draws is None:
            continue
        for rule in rules:
            z = look_z(k, schedule.looks, spec.hdi_prob, rule)
            for arm in spec.treatments:
                if arm in decided[rule]:
                    continue
                reading = read_lift(
                    draws[arm], metric.rope_interval, z, arm=arm, metric=metric.name, role=metric.role
                )
                verdict = arm_decision([reading])
                if verdict is not None:
                    decided[rule][arm] = (k, verdict)
        if all(len(d) == len(spec.treatments) for d in decided.values()):
            break
    return decided


def _draws_at(
    refitter: Refitter,
    rows: pd.DataFrame,
    schedule: LookSchedule,
    follow: FollowUp | None,
    k: int,
    *,
    seed: int,
    settings: Sampler | None,
) -> dict[str, np.ndarray] | None:
    """The lift draws at look ``k``, or None while it is too early to read (as the monitor says)."""
    spec = refitter.spec
    if follow is None:
        n = schedule.counted(k)
        arms = rows[spec.arm_column].to_numpy()[:n]
        if min((arms == a).sum() for a in spec.arm_order) < MIN_COUNTED:
            return None
        return lift_draws(refitter, rows.iloc[:n], seed=seed, settings=settings)
    cells = follow.cells_at(k * follow.every)
    whole = cells.units(spec.metrics[0].name)
    if cells.per_arm(cells.n).min() < MIN_COUNTED or cells.per_arm(whole).min() < MIN_FOLLOWED:
        return None
    return cell_lift_draws(refitter, cells, seed=seed, settings=settings)


def lift_draws(
    refitter: Refitter, rows: pd.DataFrame, *, seed: int, settings: Sampler | None = None
) -> dict[str, np.ndarray]:
    """Posterior draws of every treatment's relative lift on the spec's one metric, given ``rows``."""
    cells = frame_cells(rows, refitter.spec, name="<stopping rule>")
    return cell_lift_draws(refitter, cells, seed=seed, settings=settings)


def cell_lift_draws(
    refitter: Refitter, cells: Cells, *, seed: int, settings: Sampler | None = None
) -> dict[str, np.ndarray]:
    """Posterior draws of every treatment's relative lift on the spec's one metric, given ``cells``."""
    spec = refitter.spec
    posterior = refitter.fit(cells, seed=seed, settings=settings)
    lifts = effects.lift_draws(posterior["posterior"].to_dataset(), cells, spec)
    return {arm: lifts[(arm, spec.metrics[0].name)] for arm in spec.treatments}


def rule_row(
    metric: str,
    lift: float,
    rule: Spending,
    tests: Sequence[Decided],
    schedule: LookSchedule,
    treatments: int,
) -> RuleRow:
    """Summarise one rule's decisions over simulated tests (see :class:`RuleRow`)."""
    sims, decisions = len(tests), len(tests) * treatments
    counts = {
        v: sum(d == v for t in tests for _, d in t.values()) for v in ("real lift", "harm", "no effect")
    }
    stops = [max(k for k, _ in t.values()) if len(t) == treatments else schedule.looks for t in tests]

    def share(x: float) -> float:
        return x / decisions if decisions else math.nan

    rate = share(counts["real lift"])
    low, high = wilson(counts["real lift"], decisions)
    return RuleRow(
        metric=metric,
        lift=lift,
        rule=rule,
        sims=sims,
        decisions=decisions,
        real_lift=rate,
        se=math.sqrt(rate * (1 - rate) / decisions) if decisions else math.nan,
        low=low,
        high=high,
        harm=share(counts["harm"]),
        no_effect=share(counts["no effect"]),
        undecided=share(decisions - sum(counts.values())),
        stops_early=float(np.mean([s < schedule.looks for s in stops])) if sims else math.nan,
        mean_stop=float(np.mean(stops)) if sims else math.nan,
        expected_n=float(np.mean([schedule.entered(s) for s in stops])) if sims else math.nan,
    )


def wilson(hits: int, n: int) -> tuple[float, float]:
    """Wilson's 95 % interval of a binomial share (statsmodels); sensible at 0 or n hits, unlike ± 2 se."""
    if n == 0:
        return math.nan, math.nan
    low, high = proportion_confint(hits, n, alpha=0.05, method="wilson")
    return float(low), float(high)
