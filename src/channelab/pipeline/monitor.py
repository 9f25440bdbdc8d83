"""The flow of a monitored test: the analysis at every look from the first entry to the as-of date.

Each look sees the test as it stood on its date (:mod:`channelab.engine.timing`): the units
entered by then and, for a metric with an outcome window, the mature ones. Every look is fitted
like a run (same model, same convergence gate; one compiled model serves every look of the
same design), and read by the stopping rule (:mod:`channelab.analysis.monitor`). Computes,
writes nothing: :mod:`channelab.app` renders the report.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from channelab.analysis.decisions import more_data_factor
from channelab.analysis.effects import compute_effects
from channelab.analysis.model import resolve_backend
from channelab.analysis.monitor import MIN_COUNTED, Reading, arm_decision, look_z, planned_looks, read_lift
from channelab.analysis.results import ArmVerdict, Effects
from channelab.analysis.wording import join_words
from channelab.cells import Cells
from channelab.engine import CheckReport, build_cells, open_source, run_checks
from channelab.engine.timing import date_range, with_as_of
from channelab.errors import SpecError
from channelab.pipeline.run import StepCallback, fit_cells
from channelab.provenance import Provenance, stamp
from channelab.spec import DECISIVE_ROLES, Spec


@dataclass(frozen=True)
class Look:
    """The test as it stood on one date, and what the stopping rule read off it.

    ``index`` counts looks from the first entry (look k is k × ``monitor.every`` days in; the
    as-of date may add a last, shorter one). ``counted``: per metric and arm, the units behind
    its estimate (mature ones, with a window). ``effects`` is ``None`` for a look too early to
    read (``note`` says why). ``decided``: the arms decided by this look, with their decision.
    """

    index: int
    date: date
    z: float
    entered: dict[str, int]
    counted: dict[str, dict[str, int]]
    effects: Effects | None = None
    readings: tuple[Reading, ...] = ()
    decided: dict[str, ArmVerdict] = field(default_factory=dict)
    converged: bool = True
    note: str = ""


@dataclass(frozen=True)
class ArmDecision:
    """An arm's decision: its verdict, the look and date it was reached, and the outcomes that decided it."""

    verdict: ArmVerdict
    look: int
    date: date
    metrics: tuple[str, ...] = ()

    @property
    def on(self) -> str:
        """`` in meetings booked`` (the deciding outcomes, for a real lift or harm), else nothing."""
        return f" in {join_words(list(self.metrics), sep=', ')}" if self.metrics else ""


@dataclass(frozen=True)
class Monitor:
    """Every look of a monitored test, the decisions, and whether it may stop now."""

    spec: Spec
    checks: CheckReport
    looks: tuple[Look, ...]
    planned: int
    first_entry: date
    decisions: dict[str, ArmDecision]
    stop: bool
    reason: str
    #: Looks still expected before every arm is decided (``None`` once the test may stop).
    more_looks: int | None
    provenance: Provenance
    notes: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def as_of(self) -> date:
        """The date of the last look."""
        assert self.spec.as_of is not None
        return self.spec.as_of

    @property
    def headline(self) -> str:
        """Page 1's answer: ``Stop: ... Phone is a real lift in meetings.`` or ``Keep going: ...``."""
        by_verdict: dict[str, list[str]] = {}
        for arm in self.spec.treatments:
            if (d := self.decisions.get(arm)) is not None:
                by_verdict.setdefault(f"{_verdict_words(d.verdict)}{d.on}", []).append(arm)
        said = "; ".join(
            f"{join_words(arms, sep=', ')} {'is' if len(arms) == 1 else 'are'} {words}"
            for words, arms in by_verdict.items()
        )
        open_arms = [arm for arm in self.spec.treatments if arm not in self.decisions]
        waiting = join_words(open_arms, sep=", ")
        if self.stop:
            tail = f"; {waiting} stayed undecided" if open_arms else ""
            said = said or "no channel was decided"
            return f"Stop: {self.reason}. {said[0].upper()}{said[1:]}{tail}."
        already = f" Already: {said}." if said else ""
        remaining = self.planned - self.looks[-1].index
        verb = "is" if len(open_arms) == 1 else "are"
        if self.more_looks is None or self.more_looks >= remaining:
            return (
                f"Keep going: {waiting} {verb} not decided yet and, at the current estimates, may not be "
                f"before the planned looks end in {self.span(remaining)}.{already}"
            )
        return (
            f"Keep going: about {self.span(self.more_looks)} more expected before {waiting} {verb} "
            f"decided; the planned looks end in {self.span(remaining)}.{already}"
        )

    def span(self, looks: int) -> str:
        """``3 weeks``, ``1 day``, ``28 days``: ``looks`` looks' worth of time."""
        every = self.spec.monitor.every
        if every in ("week", "day"):
            return f"{looks} {every}{'' if looks == 1 else 's'}"
        days = looks * self.spec.monitor.every_days
        return f"{days} day{'' if days == 1 else 's'}"

    @property
    def last_read(self) -> Look | None:
        """The latest look with estimates."""
        return next((look for look in reversed(self.looks) if look.effects is not None), None)


def monitor(
    spec: Spec,
    *,
    as_of: date | None = None,
    seed: int | None = None,
    on_step: StepCallback | None = None,
) -> Monitor:
    """Analyse ``spec`` at every look from its first entry to ``as_of`` and apply the stopping rule."""
    step = on_step or (lambda _: None)
    notes = _check_monitorable(spec)
    planned = planned_looks(spec)
    if planned is None:
        raise SpecError(
            f"{spec.source_path or 'the spec'}: monitor.looks: say how many looks are planned "
            "(or give plan.n and plan.units_per_week, from which channelab counts them); the "
            "stopping rule spends its strictness over the planned looks"
        )
    run_seed = spec.seed if seed is None else seed
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    step("Reading data" + (" with Spark" if spec.engine == "spark" else ""))
    with open_source(spec) as source:
        first, last = date_range(source, spec)  # one scan gives the first look and the default as-of
        spec = with_as_of(source, spec, as_of or spec.as_of or last)
        step("Checking rows")
        checks = run_checks(source, spec)
        spec = spec.with_likelihoods(checks.fallbacks)
        dates = look_dates(first, spec)
        cells = []
        for k, d in enumerate(dates, 1):
            step(f"Aggregating cells as of look {k} of {len(dates)} ({d.isoformat()})")
            cells.append(build_cells(source, spec.model_copy(update={"as_of": d})))
        source.verify_unchanged()
        data = source.fingerprint()
    timings["validate"] = time.perf_counter() - t0
    looks: list[Look] = []
    decisions: dict[str, ArmDecision] = {}
    spent: dict[str, float] = {}
    t1 = time.perf_counter()
    backend = resolve_backend(spec.sampler.backend)
    for k, (d, c) in enumerate(zip(dates, cells, strict=True), 1):
        at = spec.model_copy(update={"as_of": d})
        z = look_z(k, planned, spec.hdi_prob, spec.monitor.spending)
        entered = _per_arm(c, c.n)
        counted = {m.name: _per_arm(c, c.units(m.name)) for m in spec.metrics}
        too_early = _too_early(at, counted)
        if too_early:
            looks.append(Look(k, d, z, entered, counted, decided=_verdicts(decisions), note=too_early))
            continue
        step(f"Look {k} of {len(dates)} ({d.isoformat()}): sampling ({backend})")
        posterior, diagnostics = fit_cells(c, at, seed=run_seed, spent=spent)
        effects = compute_effects(posterior["posterior"].to_dataset(), c, at, seed=run_seed)
        readings = tuple(
            read_lift(
                effects.lift_draws[(e.arm, e.metric)], e.rope, z, arm=e.arm, metric=e.metric, role=e.role
            )
            for e in effects.effects
        )
        for arm in spec.treatments:
            if arm not in decisions and diagnostics.converged:
                own = [r for r in readings if r.arm == arm]
                verdict = arm_decision(own)
                if verdict is not None:
                    labels = {x.name: x.display for x in spec.metrics}
                    deciding = tuple(labels[r.metric] for r in own if r.verdict == verdict != "no effect")
                    decisions[arm] = ArmDecision(verdict, k, d, deciding)
        looks.append(
            Look(k, d, z, entered, counted, effects, readings, _verdicts(decisions), diagnostics.converged)
        )
    timings["looks"] = time.perf_counter() - t1
    timings.update(spent)
    stop, reason, more = _verdict_on_stopping(spec, looks, decisions, planned)
    return Monitor(
        spec=spec,
        checks=checks,
        looks=tuple(looks),
        planned=planned,
        first_entry=first,
        decisions=decisions,
        stop=stop,
        reason=reason,
        more_looks=more,
        provenance=stamp(spec, seed=run_seed, sampler=backend, data=data),
        notes=notes,
        timings=timings,
    )


def look_dates(first: date, spec: Spec) -> list[date]:
    """The dates of the looks: every ``monitor.every`` days after the first entry, and the as-of date."""
    assert spec.as_of is not None
    every = spec.monitor.every_days
    dates = []
    d = first + timedelta(days=every)
    while d <= spec.as_of:
        dates.append(d)
        d += timedelta(days=every)
    if not dates or dates[-1] < spec.as_of:
        dates.append(spec.as_of)
    return dates


def _check_monitorable(spec: Spec) -> tuple[str, ...]:
    """Refuse what cannot be monitored; notes on what is read with a caveat."""
    where = spec.source_path or "the spec"
    if not spec.timed:
        raise SpecError(
            f"{where}: unit.entered_at: monitoring reads the test as it stood at each look, so it "
            "needs the column of each unit's entry date"
        )
    if spec.design == "matched":
        raise SpecError(f"{where}: design: a matched cohort is built once; monitor a randomised test")
    if spec.input_kind == "aggregated rows":
        return ()
    undated = [m for m in spec.metrics if m.decisive and not m.timed]
    if undated:
        names = ", ".join(repr(m.name) for m in undated)
        raise SpecError(
            f"{where}: metrics {names}: at an earlier look their values would be today's, outcomes "
            "that had not happened yet. Give each its date column (at:) or an outcome window "
            "(window_days:), or leave it out of the monitored spec"
        )
    others = [m.display for m in spec.metrics if not m.decisive and not m.timed]
    if others:
        return (
            f"{', '.join(others).capitalize()} carry no dates: at each look they are read as known "
            "when the unit entered, so early looks see later values too.",
        )
    return ()


def _verdict_words(verdict: ArmVerdict) -> str:
    return {"real lift": "a real lift", "harm": "a harm", "no effect": "no effect"}.get(verdict, verdict)


def _per_arm(cells: Cells, units: np.ndarray) -> dict[str, int]:
    counts = cells.per_arm(units)
    return {a: round(float(n)) for a, n in zip(cells.arms, counts, strict=True)}


def _too_early(spec: Spec, counted: dict[str, dict[str, int]]) -> str:
    """Why a look cannot be read yet (too few units counted for an outcome), or nothing."""
    for m in spec.metrics_in_funnel_order:
        if not m.decisive:
            continue
        fewest = min(counted[m.name].values())
        if fewest < MIN_COUNTED:
            wait = f" (its {m.window_days}-day window)" if m.window_days else ""
            return (
                f"too early: {fewest} unit(s) counted for {m.display}{wait} in some arm, "
                f"fewer than {MIN_COUNTED}"
            )
    return ""


def _verdicts(decisions: dict[str, ArmDecision]) -> dict[str, ArmVerdict]:
    return {arm: d.verdict for arm, d in decisions.items()}


def _verdict_on_stopping(
    spec: Spec, looks: list[Look], decisions: dict[str, ArmDecision], planned: int
) -> tuple[bool, str, int | None]:
    """Whether the test may stop now, the reason in a few words, and the looks still expected."""
    if len(decisions) == len(spec.treatments):
        return True, "every channel is decided", None
    last = looks[-1].index
    if last >= planned:
        return True, f"the {planned} planned looks are done", None
    remaining = planned - last
    more = _expected_more_looks(spec, looks, decisions)
    expected = remaining if more is None else min(more, remaining)
    return (
        False,
        f"{len(spec.treatments) - len(decisions)} channel(s) undecided, {remaining} look(s) to go",
        expected,
    )


def _expected_more_looks(spec: Spec, looks: list[Look], decisions: dict[str, ArmDecision]) -> int | None:
    """Looks until the slowest undecided arm clears its ROPE, if the estimates stay where they are.

    Per undecided arm, the fewest of its outcome metrics' :func:`more_data_factor` (at the usual
    interval), times the units counted now, over the units added per look lately.
    """
    read = [look for look in looks if look.effects is not None]
    if len(read) < 2:
        return None
    now, before = read[-1], read[-2]
    assert now.effects is not None
    needs = []
    for arm in spec.treatments:
        if arm in decisions:
            continue
        own = [e for e in now.effects.effects if e.arm == arm and e.role in DECISIVE_ROLES]
        factors = [more_data_factor(e.lift.mean, (e.lift.lower, e.lift.upper), e.rope) for e in own]
        needs.append(min(factors, default=math.inf))
    outcome = next(m.name for m in spec.metrics_in_funnel_order if m.decisive)
    n_now, n_before = sum(now.counted[outcome].values()), sum(before.counted[outcome].values())
    per_look = (n_now - n_before) / max(now.index - before.index, 1)
    worst = max(needs, default=1.0)
    if not math.isfinite(worst) or per_look <= 0:
        return None
    return max(1, math.ceil((worst - 1) * n_now / per_look))
