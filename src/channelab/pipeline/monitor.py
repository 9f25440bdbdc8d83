"""The flow of a monitored test: the analysis at every look from the first entry to the as-of date.

Each look sees the test as it stood on its date (:mod:`channelab.engine.timing`): the units
entered by then and, for a metric with an outcome window, the mature ones; a time-to-event
metric (``time_model: survival``) counts every entered unit as far as it has come. The rows are read
and checked once (:func:`channelab.pipeline.read.opened`) and aggregated at each look. Every
look is fitted like a run (same model, same convergence gate; one compiled model serves every
look of the same design), and read by the stopping rule (:mod:`channelab.analysis.monitor`).
The results are :mod:`channelab.pipeline.looks`, their words :mod:`channelab.pipeline.headline`.
Computes, writes nothing: :mod:`channelab.app` renders the report.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from channelab.analysis.decisions import more_data_factor
from channelab.analysis.effects import metric_effects
from channelab.analysis.model import CellModel, build_model
from channelab.analysis.monitor import (
    MIN_COUNTED,
    MIN_FOLLOWED,
    Reading,
    arm_decision,
    look_z,
    planned_looks,
    read_lift,
)
from channelab.analysis.results import ArmVerdict, Effects
from channelab.analysis.sampler import resolve_backend
from channelab.cells import Cells
from channelab.engine import build_cells
from channelab.errors import SpecError
from channelab.limits import MAX_LOOKS
from channelab.pipeline.looks import ArmDecision, Look, Monitor
from channelab.pipeline.read import Opened, StepCallback, no_steps, opened
from channelab.pipeline.run import announce_compiling, fit_cells
from channelab.provenance import stamp
from channelab.spec import DECISIVE_ROLES, Spec

__all__ = ["ArmDecision", "Look", "Monitor", "look_dates", "monitor"]


def monitor(spec: Spec, *, on_step: StepCallback | None = None) -> Monitor:
    """Analyse ``spec`` at every look from its first entry to its as-of date and apply the stopping rule.

    Parameters
    ----------
    spec
        A monitored test, options applied (:func:`~channelab.pipeline.options.with_options`):
        its ``as_of`` (by default the latest date in the data) is the last look, its
        ``monitor.every`` the days between looks, its ``seed`` seeds every fit.
    on_step
        Called with a short description of each step as it starts.

    Returns
    -------
    Monitor
        Every look, the decisions, and whether the test may stop now.

    Raises
    ------
    SpecError
        If the test cannot be monitored (no entry dates, a matched design, decisive metrics
        without dates), its planned looks are unknown, or its schedule makes more than
        :data:`~channelab.limits.MAX_LOOKS` looks (refused before any look is made).
    """
    step = on_step or no_steps
    notes = _check_monitorable(spec)
    planned = _planned(spec)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with opened(spec, step=step, dated=True) as rows:
        spec, first = rows.spec, rows.first_entry
        dates = look_dates(first, spec)
        data = rows.fingerprint()
        timings["validate"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        each = _Looks(spec, planned, len(dates), resolve_backend(spec.sampler.backend), step)
        decisions: dict[str, ArmDecision] = {}
        looks = []
        for k, (now, upcoming) in enumerate(_looks_ahead(rows, dates, step), 1):
            looks.append(_look(each, k, now, decisions, upcoming=upcoming))
    timings["looks"] = time.perf_counter() - t1
    timings.update(each.spent)
    stop, reason, more = _verdict_on_stopping(spec, looks, decisions, planned)
    return Monitor(
        spec=spec,
        checks=rows.checks,
        looks=tuple(looks),
        planned=planned,
        first_entry=first,
        decisions=decisions,
        stop=stop,
        reason=reason,
        more_looks=more,
        provenance=stamp(spec, seed=spec.seed, sampler=each.backend, data=data),
        notes=notes,
        timings=timings,
    )


def look_dates(first: date, spec: Spec) -> list[date]:
    """The dates of the looks: every ``monitor.every`` days after the first entry, and the as-of date.

    The looks are counted before any is made: more than :data:`~channelab.limits.MAX_LOOKS`
    are refused (every look is a fit of its own).

    Parameters
    ----------
    first
        The date the first unit entered.
    spec
        The monitored test, with its analysis date (``as_of``) set.

    Returns
    -------
    list of datetime.date
        The looks' dates, in order; the last is the as-of date.

    Raises
    ------
    SpecError
        If the schedule makes more than :data:`~channelab.limits.MAX_LOOKS` looks.
    """
    assert spec.as_of is not None
    every, days = spec.monitor.every_days, (spec.as_of - first).days
    count = max(-(-days // every), 1)  # whole steps of ``every`` days, and a last, shorter one
    if count > MAX_LOOKS:
        raise SpecError(_too_many_looks(first, spec, count))
    return [first + timedelta(days=every * k) for k in range(1, count)] + [spec.as_of]


def _too_many_looks(first: date, spec: Spec, count: int) -> str:
    """Why a schedule of ``count`` looks is refused, and how to look less often."""
    assert spec.as_of is not None
    every = spec.monitor.every_days
    label = {1: "day", 7: "week"}.get(every, f"{every} days")
    wider = -(-(spec.as_of - first).days // MAX_LOOKS)
    less_often = (
        f"look less often (--every {wider}, or monitor.every: {wider} in the spec), or "
        if wider <= 366
        else ""
    )
    return (
        f"{spec.source_path or 'the spec'}: a look every {label} from the first "
        f"entry ({first.isoformat()}) to the as-of date ({spec.as_of.isoformat()}) makes {count:,} "
        f"looks, but at most {MAX_LOOKS} are allowed: every look is a fit of its own. To monitor, "
        f"{less_often}end at an earlier date (--as-of)."
    )


def _planned(spec: Spec) -> int:
    """The looks planned; refuses a spec that says neither how many nor how to count them."""
    planned = planned_looks(spec)
    if planned is None:
        raise SpecError(
            f"{spec.source_path or 'the spec'}: monitor.looks: say how many looks are planned "
            "(or give plan.n and plan.units_per_week, from which channelab counts them); the "
            "stopping rule spends its strictness over the planned looks"
        )
    return planned


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


def _looks_ahead(
    rows: Opened, dates: list[date], step: StepCallback
) -> Iterator[tuple[_Stood, _Stood | None]]:
    """Each look with the next one (or None), each aggregated one look ahead: while a look samples."""

    def at(k: int) -> _Stood:
        d = dates[k]
        step(f"Aggregating cells as of look {k + 1} of {len(dates)} ({d.isoformat()})")
        return _Stood.at(rows.spec, d, build_cells(rows.source, rows.spec.model_copy(update={"as_of": d})))

    now = at(0)
    for k in range(len(dates)):
        upcoming = at(k + 1) if k + 1 < len(dates) else None
        yield now, upcoming
        if upcoming is not None:
            now = upcoming


@dataclass(frozen=True)
class _Looks:
    """What every look of one monitored test shares: the spec, the plan, the sampler, the progress.

    ``ahead`` holds the next look's model, its fit started while this look is read.
    """

    spec: Spec
    planned: int
    count: int
    backend: str
    step: StepCallback
    spent: dict[str, float] = field(default_factory=dict)
    ahead: dict[date, CellModel] = field(default_factory=dict)


@dataclass(frozen=True)
class _Stood:
    """The test as it stood at a look: its date, spec, cells and units, and why it is too early."""

    day: date
    spec: Spec
    cells: Cells
    entered: dict[str, int]
    counted: dict[str, dict[str, int]]
    followed: dict[str, dict[str, int]]
    too_early: str

    @classmethod
    def at(cls, spec: Spec, d: date, cells: Cells) -> _Stood:
        """The look of ``spec`` on ``d``, whose cells are ``cells``."""
        at = spec.model_copy(update={"as_of": d})
        entered = _per_arm(cells, cells.n)
        counted = {
            m.name: entered if m.survival else _per_arm(cells, cells.units(m.name)) for m in spec.metrics
        }
        followed = {m.name: _per_arm(cells, cells.units(m.name)) for m in spec.metrics if m.survival}
        return cls(d, at, cells, entered, counted, followed, _too_early(at, counted, followed))


def _look(
    each: _Looks, k: int, now: _Stood, decisions: dict[str, ArmDecision], *, upcoming: _Stood | None
) -> Look:
    """Look ``k``: fit its cells, read every lift and add the arms it decides to ``decisions``.

    The ``upcoming`` look's fit starts before this one is read, so that the sampler never waits
    for the reading (nutpie only: the draws are the same whenever a fit starts).
    """
    spec, d = each.spec, now.day
    z = look_z(k, each.planned, spec.hdi_prob, spec.monitor.spending)
    if now.too_early:
        return Look(
            k,
            d,
            z,
            now.entered,
            now.counted,
            decided=_verdicts(decisions),
            note=now.too_early,
            followed=now.followed,
        )
    each.step(f"Look {k} of {each.count} ({d.isoformat()}): sampling ({each.backend})")
    built = each.ahead.pop(d, None) or _started(each, now)
    if upcoming is not None and not upcoming.too_early and each.backend == "nutpie":
        each.ahead[upcoming.day] = _started(each, upcoming)
    posterior, diagnostics = fit_cells(now.cells, now.spec, spent=each.spent, built=built)
    effects = metric_effects(posterior["posterior"].to_dataset(), now.cells, now.spec)
    readings = _readings(effects, z)
    if diagnostics.converged:
        decisions.update(_decisions(spec, readings, k, d, decisions))
    verdicts = _verdicts(decisions)
    return Look(
        k,
        d,
        z,
        now.entered,
        now.counted,
        effects,
        readings,
        verdicts,
        diagnostics.converged,
        followed=now.followed,
    )


def _started(each: _Looks, look: _Stood) -> CellModel:
    """The model of ``look``, its first fit started in the background (with nutpie)."""
    built = build_model(look.cells, look.spec)
    announce_compiling(built, each.step)
    if each.backend == "nutpie":
        built.prefetch(look.spec.sampler, seed=look.spec.seed)
    return built


def _readings(effects: Effects, z: float) -> tuple[Reading, ...]:
    """What the stopping rule reads off each lift at a look's ``z``."""
    return tuple(
        read_lift(effects.lift_draws[(e.arm, e.metric)], e.rope, z, arm=e.arm, metric=e.metric, role=e.role)
        for e in effects.effects
    )


def _decisions(
    spec: Spec, readings: tuple[Reading, ...], k: int, d: date, decided: dict[str, ArmDecision]
) -> dict[str, ArmDecision]:
    """The arms not ``decided`` before that look ``k``'s readings decide, with their decision."""
    labels = {x.name: x.display for x in spec.metrics}
    out = {}
    for arm in spec.treatments:
        if arm in decided:
            continue
        own = [r for r in readings if r.arm == arm]
        verdict = arm_decision(own)
        if verdict is not None:
            deciding = tuple(labels[r.metric] for r in own if r.verdict == verdict != "no effect")
            out[arm] = ArmDecision(verdict, k, d, deciding)
    return out


def _per_arm(cells: Cells, units: np.ndarray) -> dict[str, int]:
    """Units per arm, rounded to whole units."""
    counts = cells.per_arm(units)
    return {a: round(float(n)) for a, n in zip(cells.arms, counts, strict=True)}


def _too_early(spec: Spec, counted: dict[str, dict[str, int]], followed: dict[str, dict[str, int]]) -> str:
    """Why a look cannot be read yet (too few units counted for an outcome), or nothing.

    A time-to-event outcome counts every entered unit, and also needs units followed for its
    whole window (:data:`~channelab.analysis.monitor.MIN_FOLLOWED` in every arm).
    """
    for m in spec.metrics_in_funnel_order:
        if not m.decisive:
            continue
        fewest = min(counted[m.name].values())
        if fewest < MIN_COUNTED:
            wait = f" (its {m.window_days}-day window)" if m.window_days and not m.survival else ""
            return (
                f"too early: {fewest} unit(s) counted for {m.display}{wait} in some arm, "
                f"fewer than {MIN_COUNTED}"
            )
        whole = min(followed.get(m.name, {}).values(), default=MIN_FOLLOWED)
        if whole < MIN_FOLLOWED:
            return (
                f"too early: {whole} unit(s) in some arm followed for the whole {m.window_days}-day "
                f"window of {m.display}, fewer than {MIN_FOLLOWED}; the share within the window "
                "would rest on no unit followed to its end"
            )
    return ""


def _verdicts(decisions: dict[str, ArmDecision]) -> dict[str, ArmVerdict]:
    """Each decided arm's verdict."""
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
