"""Time to event against the window: the same simulated tests read both ways, at fixed looks and monitored.

The world is the outcome-windows world of ``benchmarks/outcome_windows.py``: three arms
(Control, Phone, Social), prospects entering on weekdays over 8 weeks
(:func:`channelab.simulate.timing.timed_test`); a meeting within 28 days for 5 % under Control
and 6 % (+20 %) under Phone and Social, arriving after a delay whose mean is 8 days under
Control, 3 under Phone and 18 under Social (always within 28 days). The estimand is the lift in
P(meeting within 28 days): +20 % for both channels. A look at week w is the test as it stood
on start + 7·w days. Every test is fitted twice on the same rows, ``time_model: survival`` and
``time_model: window`` (``hazards: varying``, the default), one compiled model per analysis
(:class:`~channelab.analysis.model.Refitter`) reused for every fit, read by
:func:`~channelab.analysis.effects.compute_effects`.

1. **Fixed looks** (``--n`` prospects, default 12,000 as in outcome_windows): at weeks 4, 6
   and 8, per arm, the coverage of +20 % by the 94 % interval (target 92-96 % for both
   analyses), the mean width and the width ratio survival / windowed (target ≤ 0.75 at the early
   looks, weeks 4 and 6), the bias of the posterior mean. A look is readable when every arm has
   :data:`~channelab.analysis.monitor.MIN_COUNTED` units counted (the windowed analysis counts
   only prospects followed a full 28 days: at week 4 only those who entered on the first day).
2. **Monitored tests** (``--monitor-n`` prospects, default 96,000, 12,000 a week over the same
   8 weeks: entry ends at week 8, so a test decided later has entered everyone whatever the
   analysis, and only a test large enough to be decided while prospects still enter can show
   the difference; the world of section 1 is too small for either analysis to decide most
   tests by the last look): every weekly look read by the house stopping
   rule as ``channelab monitor`` and ``design`` apply it (:mod:`channelab.analysis.monitor`:
   O'Brien-Fleming z_k over the planned looks, 8 weeks of entry + 4 of the window = 12;
   the rule's interval against the ROPE ±5 %; an arm's first decision stands; a test stops
   when every channel is decided, else at the last planned look). A look is read when every
   arm has MIN_COUNTED units whose window has closed, for both analyses, as ``channelab
   monitor`` reads them: before week 4 nobody has been followed 28 days. With
   ``--read-before-mature`` the survival analysis is read as soon as MIN_COUNTED have entered
   (every entered unit counts as far as it has come); its early looks then extrapolate the
   first weeks' hazard ratios to the whole window. Two worlds: the real-lift world (prospects
   entered when the test stops; ratio survival / windowed, target ≤ 0.80, beside what no
   analysis of these data can know more than: an *oracle* read by the same rule that knows each
   prospect's 28-day outcome on the day it enters, i.e. the windowed analysis of the prospects
   entered by the look as they stood 28 days later) and the null world, all arms 5 % with the
   same delays (false real-lift rate, target ≤ 5 % and survival ≤ windowed + 2 SE of the
   paired difference).
3. **Speeding-only world**: the null world read at weeks 4, 6, 8 and 12. Phone books meetings
   sooner (3 days) and Social later (18) than Control (8) but none adds meetings by day 28, so
   the hazards are not proportional while the 28-day lift is 0: the survival analysis's 94 %
   interval must cover 0 at about the nominal rate (92-96 %), and
   :func:`channelab.analysis.hazards.proportionality` must flag the hazard ratio as
   time-varying (share flagged at week 8 and at the final look, target ≥ 80 %).

Shares carry binomial Monte Carlo standard errors; a coverage passes when its target range
meets its Wilson 95 % interval (± 2 SE says nothing at 100 %); a rate passes when rate − 2 SE
is within its bound.

    python benchmarks/time_to_event.py [--reps 100] [--n 12000] [--monitor-n 96000] [--chains 2]
                                       [--draws 500] [--seed 34] [--out DIR] [--report DIR] [--quick]
                                       [--worlds fixed,lift,null] [--read-before-mature]

The default (100 tests per world, sampler 2 × 500) takes about 20 minutes on 2 shared cores
(60 tests: 11.5), ``--quick`` (16 tests per world) about 3: a survival fit is ~0.45 s, a
windowed one ~0.07 s, and a null-world test is read at all 9 looks from week 4. ``--out``
writes every interval, decision, stop and proportional-hazards test as CSV; ``--report DIR``
prints the tables of such a run again.
"""

from __future__ import annotations

import argparse
import importlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from channelab.analysis.effects import compute_effects
from channelab.analysis.model import Refitter
from channelab.analysis.monitor import MIN_COUNTED, arm_decision, look_z, planned_looks, read_lift
from channelab.analysis.results import Effects
from channelab.cells import Cells
from channelab.design.monitor import wilson
from channelab.engine.aggregate import build_cells
from channelab.engine.source import frame_source
from channelab.simulate.timing import Arrival, timed_test
from channelab.spec import Sampler, Spec, parse_spec

ARMS = {"Control": "control", "Phone": "phone", "Social": "social"}
TREATMENTS = ("Phone", "Social")
DELAYS = {"control": 8.0, "phone": 3.0, "social": 18.0}
LIFT_RATES = {"Control": 0.05, "Phone": 0.06, "Social": 0.06}
NULL_RATES = {"Control": 0.05, "Phone": 0.05, "Social": 0.05}
TRUE_LIFT, WINDOW, WEEKS, METRIC = 0.20, 28, 8, "meeting"
ANALYSES = ("survival", "window")
FIXED_LOOKS, EARLY_LOOKS = (4, 6, 8), (4, 6)
COVERAGE_TARGET, WIDTH_RATIO_MAX, ENTERED_RATIO_MAX = (0.92, 0.96), 0.75, 0.80
FALSE_RATE_MAX, FLAGGED_MIN = 0.05, 0.80
ARRIVAL = Arrival(weeks=WEEKS, delays=DELAYS, max_days=WINDOW)


@dataclass(frozen=True)
class World:
    """A simulated world: its rates, size, looks read at fixed dates, whether monitored, looks tested."""

    name: str
    rates: Mapping[str, float]
    n: int
    fixed: tuple[int, ...]
    monitored: bool
    flags: tuple[int, ...] = ()

    @property
    def truth(self) -> float:
        """The true 28-day lift of both channels."""
        return self.rates["Phone"] / self.rates["Control"] - 1


def spec(time_model: str, n: int, sampler: Sampler) -> Spec:
    """The analysis of a world's rows: meetings within 28 days, modelled as ``time_model``."""
    metric = {
        "name": METRIC,
        "role": "outcome",
        "type": "binary",
        "at": "meeting_at",
        "window_days": WINDOW,
        "time_model": time_model,
    }
    return parse_spec(
        {
            "name": f"time_to_event_{time_model}",
            "unit": {"entered_at": "entered_at"},
            "data": {"path": "rows.csv"},
            "arm_column": "arm",
            "control": "Control",
            "arms": {a: {"channel": c} for a, c in ARMS.items()},
            "metrics": [metric],
            "plan": {"n": n, "units_per_week": n // WEEKS},
            "monitor": {"every": "week", "spending": "obrien_fleming"},
            "sampler": sampler.model_dump(),
        }
    )


@dataclass
class Analysis:
    """One analysis (survival or windowed): its spec and the one compiled model every fit reuses."""

    name: str
    spec: Spec
    refitter: Refitter | None = None
    seconds: float = 0.0
    fits: int = 0
    read_before_mature: bool = False
    oracle: bool = False

    def at(self, as_of: date, n: int) -> Spec:
        """The spec as of a look, planned for ``n`` units (the plan sets the planned looks)."""
        plan = self.spec.plan.model_copy(update={"n": n, "units_per_week": n // WEEKS})
        return self.spec.model_copy(update={"as_of": as_of, "plan": plan})

    def fit(self, cells: Cells, at: Spec, seed: int) -> tuple[Effects, int]:
        """The effects of one look, and the sampler's divergences."""
        start = time.perf_counter()
        if self.refitter is None:
            self.refitter = Refitter(cells, at)
        post = self.refitter.fit(cells, seed=seed)
        effects = compute_effects(post["posterior"].to_dataset(), cells, at, seed=at.seed)
        self.seconds += time.perf_counter() - start
        self.fits += 1
        return effects, int(post["sample_stats"]["diverging"].sum())


def counted(cells: Cells, at: Spec, entered: bool) -> np.ndarray:
    """Per arm, the units a look needs MIN_COUNTED of: those whose window closed, as ``channelab monitor``.

    With ``entered`` (``--read-before-mature``), every entered unit for the survival analysis.
    """
    return cells.per_arm(cells.n if entered and at.metrics[0].survival else cells.units(METRIC))


def proportionality_test() -> Callable[[Cells, str], Any] | None:
    """``channelab.analysis.hazards.proportionality``, or None while it does not exist."""
    try:
        return importlib.import_module("channelab.analysis.hazards").proportionality
    except (ImportError, AttributeError):
        return None


def hazards_check(cells: Cells, proportionality: Callable | None) -> dict[str, Any]:
    """The proportional-hazards test of every arm together, and of Phone against Control alone."""
    both = proportionality(cells, METRIC) if proportionality is not None else None
    phone = proportionality(cells, METRIC, "Phone") if proportionality is not None else None
    return {
        "available": both is not None,
        "flagged": getattr(both, "flagged", None),
        "p_value": getattr(both, "p_value", None),
        "phone_flagged": getattr(phone, "flagged", None),
        "phone_p_value": getattr(phone, "p_value", None),
    }


@dataclass
class Monitored:
    """One analysis's stopping rule over one monitored test: each arm's first decision."""

    looks: int
    decided: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """Whether every channel is decided (the test may stop)."""
        return len(self.decided) == len(TREATMENTS)

    def read(self, k: int, effects: Effects, at: Spec) -> None:
        """Apply the rule at look ``k`` (as ``channelab monitor``): undecided arms may be decided."""
        z = look_z(k, self.looks, at.hdi_prob, at.monitor.spending)
        metric = at.metrics[0]
        for arm in TREATMENTS:
            if arm in self.decided:
                continue
            draws = effects.lift_draws[(arm, METRIC)]
            reading = read_lift(draws, metric.rope_interval, z, arm=arm, metric=METRIC, role=metric.role)
            verdict = arm_decision([reading])
            if verdict is not None:
                self.decided[arm] = (k, verdict)


@dataclass
class Records:
    """Everything measured, one list of rows per table."""

    intervals: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    stops: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)

    def frames(self) -> dict[str, pd.DataFrame]:
        """The tables as data frames."""
        return {k: pd.DataFrame(v) for k, v in vars(self).items()}


# --- simulation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Test:
    """One simulated test: its world, replicate, rows (as a source), days of entry and fit seed."""

    world: World
    rep: int
    source: Any
    entry_day: np.ndarray
    seed: int
    rows: pd.DataFrame | None = None

    def entered(self, look: int) -> int:
        """Prospects entered by look ``look`` (week)."""
        return int((self.entry_day <= 7 * look).sum())


def run_world(world: World, analyses: dict[str, Analysis], reps: int, seed: int, records: Records) -> None:
    """Simulate ``reps`` tests of ``world`` and read each by every analysis."""
    stream = [seed, sum(map(ord, world.name))]
    proportionality = proportionality_test()
    start = time.perf_counter()
    for rep, child in enumerate(np.random.SeedSequence(stream).spawn(reps)):
        data_seed, fit_seed = (int(x) for x in child.generate_state(2))
        rows = timed_test(world.n, world.rates, ARMS, ARRIVAL, data_seed)
        entry_day = (pd.to_datetime(rows["entered_at"]) - pd.Timestamp(ARRIVAL.start)).dt.days.to_numpy()
        with frame_source(rows, name=f"<{world.name} {rep}>") as source:
            run_test(Test(world, rep, source, entry_day, fit_seed, rows), analyses, records, proportionality)
        if (rep + 1) % 10 == 0 or rep + 1 == reps:
            print(f"  {world.name}: {rep + 1}/{reps} tests, {time.perf_counter() - start:.0f} s", flush=True)


def run_test(
    test: Test, analyses: dict[str, Analysis], records: Records, proportionality: Callable | None
) -> None:
    """Every look of one test by every analysis; the stopping rule's decisions when monitored."""
    world = test.world
    looks = planned_looks(next(iter(analyses.values())).at(ARRIVAL.start, world.n)) or 0
    last = max((looks if world.monitored else 0, *world.fixed, *world.flags))
    rules = {name: Monitored(looks) for name in analyses}
    for k in range(1, last + 1):
        for name, analysis in analyses.items():
            if analysis.oracle and not world.monitored:
                continue
            read_look(test, k, analysis, rules[name], records, proportionality)
    if world.monitored:
        for name, rule in rules.items():
            record_decisions(test, name, rule, records)


def look_cells(test: Test, k: int, analysis: Analysis) -> tuple[Spec, Cells]:
    """The spec and cells of look ``k``; for the oracle, the prospects entered by then, followed 28 days."""
    as_of = ARRIVAL.start + timedelta(days=7 * k)
    if not analysis.oracle or test.rows is None:
        at = analysis.at(as_of, test.world.n)
        return at, build_cells(test.source, at)
    at = analysis.at(as_of + timedelta(days=WINDOW), test.world.n)
    with frame_source(test.rows[test.entry_day <= 7 * k], name=f"<oracle {test.rep} {k}>") as source:
        return at, build_cells(source, at)


def read_look(
    test: Test,
    k: int,
    analysis: Analysis,
    rule: Monitored,
    records: Records,
    proportionality: Callable | None,
) -> None:
    """Look ``k`` of one test by one analysis: its intervals, the rule's reading, the hazards' test."""
    world = test.world
    monitoring = world.monitored and not rule.done and k <= rule.looks
    flag = analysis.name == "survival" and k in world.flags
    if not (monitoring or flag or k in world.fixed):
        return
    at, cells = look_cells(test, k, analysis)
    base = {"world": world.name, "rep": test.rep, "look": k, "analysis": analysis.name}
    if flag:
        records.flags.append({**base, **hazards_check(cells, proportionality)})
    if not (monitoring or k in world.fixed):
        return
    per_arm = dict(zip(cells.arms, counted(cells, at, analysis.read_before_mature), strict=True))
    used = dict(zip(cells.arms, counted(cells, at, entered=True), strict=True))  # what the estimate uses
    base |= {"entered": test.entered(k), "fixed": k in world.fixed, "monitoring": monitoring}
    if min(per_arm.values()) < MIN_COUNTED:
        records.intervals += [{**base, "arm": arm, "readable": False} for arm in TREATMENTS]
        return
    effects, divergences = analysis.fit(cells, at, seed=(test.seed + k) % 2**32)
    for e in effects.effects:
        records.intervals.append(
            {
                **base,
                "arm": e.arm,
                "readable": True,
                "counted": per_arm[e.arm],
                "used": used[e.arm],
                "mean": e.lift.mean,
                "lower": e.lift.lower,
                "upper": e.lift.upper,
                "divergences": divergences,
                "covered": e.lift.lower <= world.truth <= e.lift.upper,
            }
        )
    if monitoring:
        rule.read(k, effects, at)


def record_decisions(test: Test, analysis: str, rule: Monitored, records: Records) -> None:
    """Each arm's decision and the test's stop under one analysis's reading of the rule."""
    base = {"world": test.world.name, "rep": test.rep, "analysis": analysis}
    for arm in TREATMENTS:
        look, verdict = rule.decided.get(arm, (None, "undecided"))
        entered = test.entered(look) if look is not None else None
        records.decisions.append({**base, "arm": arm, "look": look, "verdict": verdict, "entered": entered})
    stop = max(k for k, _ in rule.decided.values()) if rule.done else rule.looks
    records.stops.append({**base, "stop": stop, "entered": test.entered(stop), "all_decided": rule.done})


# --- tables ---------------------------------------------------------------------------------------

Line = tuple[str, bool, str]


def binom(k: float, n: int) -> tuple[float, float]:
    p = k / n if n else math.nan
    return p, math.sqrt(p * (1 - p) / n) if n else math.nan


def covers(p: float, n: int) -> tuple[bool, str]:
    """Whether the Wilson 95 % interval of a coverage ``p`` over ``n`` tests meets the target range.

    Wilson's, not ± 2 SE: at 100 % the binomial SE is 0, yet 60 of 60 happens at a true 95 %.
    """
    low, high = wilson(round(p * n), n)
    return high >= COVERAGE_TARGET[0] and low <= COVERAGE_TARGET[1], f"Wilson {low:.3f}-{high:.3f}"


def mean_se(x: pd.Series) -> tuple[float, float]:
    x = x.dropna().astype(float)
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan


def ratio_of_means(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """mean(a) / mean(b) over paired tests, with its delta-method standard error."""
    r = float(a.mean() / b.mean())
    z = (a - r * b) / b.mean()
    return r, float(z.std(ddof=1) / math.sqrt(len(z))) if len(z) > 1 else math.nan


def fixed_table(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (look, arm, name), g in frame.groupby(["look", "arm", "analysis"], sort=False):
        read = g[g["readable"]]
        p, se = binom(read["covered"].sum(), len(read))
        bias, bias_se = mean_se(read["mean"] - TRUE_LIFT) if len(read) else (math.nan, math.nan)
        rows.append(
            {
                "week": look,
                "arm": arm,
                "analysis": name,
                "readable": read.shape[0] / len(g),
                "coverage": p,
                "cov se": se,
                "mean width": (read["upper"] - read["lower"]).mean(),
                "bias": bias,
                "bias se": bias_se,
                "prospects used": read["used"].mean() if "used" in read else math.nan,
            }
        )
    return pd.DataFrame(rows)


def paired_widths(frame: pd.DataFrame, looks: tuple[int, ...]) -> pd.DataFrame:
    """Per test, look and arm, the survival and windowed widths side by side (both readable)."""
    part = frame[frame["readable"] & frame["look"].isin(looks)].assign(
        width=lambda d: d["upper"] - d["lower"]
    )
    wide = part.pivot_table(index=["rep", "look", "arm"], columns="analysis", values="width")
    return wide.dropna().reset_index()


def report_fixed(intervals: pd.DataFrame, n: int) -> list[Line]:
    frame = intervals[(intervals["world"] == "fixed") & intervals["fixed"].astype(bool)]
    reps = frame["rep"].nunique()
    print(f"\n1. Fixed looks: {reps} tests of {n:,} prospects; coverage of +20 % by the 94 % interval (± SE)")
    print(fixed_table(frame).to_string(index=False, float_format="%.3f"))
    widths = paired_widths(frame, FIXED_LOOKS)
    lines: list[Line] = []
    print("  width ratio survival / windowed (ratio of mean widths over paired tests, ± SE):")
    for look in FIXED_LOOKS:
        parts = []
        for arm in (*TREATMENTS, None):
            g = widths[(widths["look"] == look) & ((widths["arm"] == arm) if arm else True)]
            if g.empty:
                parts.append(f"{arm or 'both'} not readable")
                continue
            r, se = ratio_of_means(g["survival"].to_numpy(), g["window"].to_numpy())
            parts.append(f"{arm or 'both'} {r:.3f} ± {se:.3f}")
        print(f"    week {look}: " + ", ".join(parts))
        if look in EARLY_LOOKS or look == FIXED_LOOKS[-1]:
            ok = not g.empty and r <= WIDTH_RATIO_MAX
            when = "early look" if look in EARLY_LOOKS else "end of entry, not an early look"
            text = parts[-1] if g.empty else f"{r:.3f} ± {se:.3f}"
            lines.append((f"width ratio ≤ {WIDTH_RATIO_MAX} at week {look} ({when})", ok, text))
    return coverage_lines(frame) + lines


def coverage_lines(frame: pd.DataFrame) -> list[Line]:
    lines = []
    for name in ANALYSES:
        for look in FIXED_LOOKS:
            g = frame[(frame["analysis"] == name) & (frame["look"] == look)]
            read = g[g["readable"]]
            label = f"{'survival' if name == 'survival' else 'windowed'} coverage 92-96 % at week {look}"
            if read.empty:
                lines.append(
                    (
                        label,
                        False,
                        f"not readable (an arm has fewer than {MIN_COUNTED} prospects followed 28 days)",
                    )
                )
                continue
            p, se = binom(read["covered"].sum(), len(read))
            share = f"; readable in {len(read) / len(g):.0%} of tests" if len(read) < len(g) else ""
            ok, interval = covers(p, len(read))
            lines.append((label, ok, f"{p:.3f} ± {se:.3f}, {interval} (both arms){share}"))
    return lines


def monitor_table(decisions: pd.DataFrame, stops: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (world, name), g in decisions.groupby(["world", "analysis"], sort=False):
        s = stops[(stops["world"] == world) & (stops["analysis"] == name)]
        shares = {v: binom((g["verdict"] == v).sum(), len(g)) for v in ("real lift", "harm", "no effect")}
        entered, entered_se = mean_se(s["entered"])
        rows.append(
            {
                "world": world,
                "analysis": name,
                "tests": len(s),
                "decided": (g["verdict"] != "undecided").mean(),
                "real lift": shares["real lift"][0],
                "se": shares["real lift"][1],
                "harm": shares["harm"][0],
                "no effect": shares["no effect"][0],
                "all decided": s["all_decided"].mean(),
                "stop week": s["stop"].mean(),
                "entered at stop": entered,
                "entered se": entered_se,
                "decision week": g["look"].mean(),
            }
        )
    return pd.DataFrame(rows)


def report_monitor(decisions: pd.DataFrame, stops: pd.DataFrame, n: int) -> list[Line]:
    print(
        f"\n2. Monitored tests of {n:,} prospects, every week, O'Brien-Fleming over the planned looks; "
        "shares of arm decisions"
    )
    print(monitor_table(decisions, stops).to_string(index=False, float_format="%.3f"))
    lines: list[Line] = []
    wide = stops[stops["world"] == "lift"].pivot_table(index="rep", columns="analysis", values="entered")
    r, se = ratio_of_means(wide["survival"].to_numpy(), wide["window"].to_numpy())
    print(
        f"  prospects entered when the test stops, survival / windowed (real-lift world): {r:.3f} ± {se:.3f}"
    )
    if "oracle" in wide:
        o, o_se = ratio_of_means(wide["oracle"].to_numpy(), wide["window"].to_numpy())
        print(
            f"  the bound, an oracle who knows each prospect's 28-day outcome at entry / windowed: "
            f"{o:.3f} ± {o_se:.3f}"
        )
    print_arm_ratios(decisions[decisions["world"] == "lift"])
    lines.append(
        (
            f"entered at the stopping decision, ratio ≤ {ENTERED_RATIO_MAX}",
            r <= ENTERED_RATIO_MAX,
            f"{r:.3f} ± {se:.3f}",
        )
    )
    null = decisions[decisions["world"] == "null"]
    if null.empty:  # --worlds without null
        return lines
    real = {
        name: (g.sort_values(["rep", "arm"])["verdict"] == "real lift").to_numpy().astype(float)
        for name, g in null.groupby("analysis")
    }
    for name in ANALYSES:
        p, p_se = binom(real[name].sum(), len(real[name]))
        lines.append(
            (f"{name} false real-lift rate ≤ 5 %", p - 2 * p_se <= FALSE_RATE_MAX, f"{p:.3f} ± {p_se:.3f}")
        )
    d, d_se = mean_se(pd.Series(real["survival"] - real["window"]))
    d_se = 0.0 if math.isnan(d_se) else d_se
    print(f"  false real-lift rate, survival − windowed (paired): {d:+.3f} ± {d_se:.3f}")
    lines.append(("survival false real-lift rate ≤ windowed + 2 SE", d <= 2 * d_se, f"{d:+.3f} ± {d_se:.3f}"))
    return lines


def print_arm_ratios(decisions: pd.DataFrame) -> None:
    """Per channel, prospects entered at its decision, survival / windowed (tests decided both ways)."""
    parts = []
    for arm in TREATMENTS:
        g = decisions[decisions["arm"] == arm].pivot_table(index="rep", columns="analysis", values="entered")
        g = g.dropna()
        if len(g) < 2 or not set(ANALYSES) <= set(g.columns):
            continue
        r, se = ratio_of_means(g["survival"].to_numpy(), g["window"].to_numpy())
        parts.append(f"{arm} {r:.3f} ± {se:.3f} ({len(g)} tests)")
    print("  entered at each channel's decision, survival / windowed: " + ", ".join(parts))


def report_speeding(intervals: pd.DataFrame, flags: pd.DataFrame, n: int) -> list[Line]:
    frame = intervals[
        (intervals["world"] == "null") & intervals["fixed"].astype(bool) & intervals["readable"]
    ]
    print(
        f"\n3. Speeding-only world ({n:,} prospects, all arms 5 % within 28 days; Phone 3 days, Social 18, "
        "Control 8): coverage of 0 by the 94 % interval (± SE)"
    )
    table = frame.assign(covers0=(frame["lower"] <= 0) & (frame["upper"] >= 0))
    rows = []
    for (look, arm, name), g in table.groupby(["look", "arm", "analysis"]):
        p, se = binom(g["covers0"].sum(), len(g))
        bias, bias_se = mean_se(g["mean"])
        rows.append(
            {
                "week": look,
                "arm": arm,
                "analysis": name,
                "tests": len(g),
                "covers 0": p,
                "se": se,
                "mean lift": bias,
                "mean se": bias_se,
                "mean width": (g["upper"] - g["lower"]).mean(),
            }
        )
    shown = pd.DataFrame(rows)
    print(shown.to_string(index=False, float_format="%.3f"))
    lines: list[Line] = []
    for _, r in shown[(shown["analysis"] == "survival") & (shown["arm"] == "Phone")].iterrows():
        ok, interval = covers(r["covers 0"], int(r["tests"]))
        what = f"speeding-only: survival interval covers 0 at week {r['week']} (Phone)"
        lines.append((what, ok, f"{r['covers 0']:.3f} ± {r['se']:.3f}, {interval}"))
    return lines + report_flags(flags)


def report_flags(flags: pd.DataFrame) -> list[Line]:
    lines: list[Line] = []
    for (world, look), g in flags.groupby(["world", "look"]):
        if not g["available"].all():
            print(f"  {world} world, week {look}: channelab.analysis.hazards.proportionality not available")
            lines.append(
                (f"hazard ratio flagged time-varying at week {look} ({world})", False, "not available")
            )
            continue
        p, se = binom(g["flagged"].astype(bool).sum(), len(g))
        phone, phone_se = binom(g["phone_flagged"].astype(bool).sum(), len(g))
        print(
            f"  {world} world, week {look}: hazard ratios flagged time-varying in {p:.3f} ± {se:.3f} of "
            f"tests (all arms; median p {g['p_value'].median():.2g}), Phone v Control alone in "
            f"{phone:.3f} ± {phone_se:.3f} (median p {g['phone_p_value'].median():.2g})"
        )
        if world == "null":
            lines.append(
                (
                    f"speeding-only: hazard ratio flagged time-varying at week {look} (≥ {FLAGGED_MIN:.0%})",
                    p >= FLAGGED_MIN,
                    f"{p:.3f} ± {se:.3f}",
                )
            )
    return lines


def report_fits(intervals: pd.DataFrame, analyses: dict[str, Analysis]) -> None:
    print("\nFits")
    fitted = intervals[intervals["readable"]].drop_duplicates(["world", "rep", "look", "analysis"])
    for name, a in analyses.items():
        g = fitted[fitted["analysis"] == name]
        print(
            f"  {name}: {a.fits} fits, {a.seconds:.0f} s ({a.seconds / max(a.fits, 1):.2f} s each, "
            f"with effects); fits with divergences {(g['divergences'] > 0).mean():.3f}"
        )


# --- main -----------------------------------------------------------------------------------------


def save(frames: dict[str, pd.DataFrame], folder: Path | None) -> None:
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)


def read_table(path: Path, options: dict[str, Any]) -> pd.DataFrame:
    """A table saved with ``--out`` (empty when its world was not simulated)."""
    try:
        return pd.read_csv(path, **options)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100, help="simulated tests per world")
    parser.add_argument("--n", type=int, default=12_000, help="prospects per test at fixed looks")
    parser.add_argument("--monitor-n", type=int, default=96_000, help="prospects per monitored test")
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--draws", type=int, default=500, help="draws and tuning steps per chain")
    parser.add_argument("--seed", type=int, default=34)
    parser.add_argument("--out", type=Path, help="write every interval, decision and test as CSV here")
    parser.add_argument("--quick", action="store_true", help="16 tests per world")
    parser.add_argument(
        "--read-before-mature",
        action="store_true",
        help="survival looks need MIN_COUNTED entered units per arm, not MIN_COUNTED whose window closed",
    )
    parser.add_argument(
        "--worlds",
        default="fixed,lift,null",
        help="comma-separated worlds to simulate (fixed, lift, null); the tables of the others are empty",
    )
    parser.add_argument(
        "--report", type=Path, help="print the tables of a run saved with --out, without fitting"
    )
    args = parser.parse_args()
    if args.quick:
        args.reps = 16
    return args


def simulate(args: argparse.Namespace) -> tuple[dict[str, pd.DataFrame], dict[str, Analysis]]:
    sampler = Sampler(draws=args.draws, tune=args.draws, chains=args.chains)
    analyses = {
        name: Analysis(name, spec(name, args.n, sampler), read_before_mature=args.read_before_mature)
        for name in ANALYSES
    }
    analyses["oracle"] = Analysis("oracle", spec("window", args.n, sampler), oracle=True)
    worlds = (
        World("fixed", LIFT_RATES, args.n, FIXED_LOOKS, monitored=False, flags=(8,)),
        World("lift", LIFT_RATES, args.monitor_n, (), monitored=True),
        World("null", NULL_RATES, args.monitor_n, (*FIXED_LOOKS, 12), monitored=True, flags=(8, 12)),
    )
    print(
        f"time to event benchmark: seed {args.seed}, {args.reps} tests per world, sampler {sampler.chains} × "
        f"{sampler.draws}; proportionality test available: {proportionality_test() is not None}"
    )
    records = Records()
    for world in (w for w in worlds if w.name in args.worlds.split(",")):
        run_world(world, analyses, args.reps, args.seed, records)
    frames = records.frames()
    save(frames, args.out)
    return frames, analyses


def main() -> None:
    args = parse()
    start = time.perf_counter()
    if args.report:
        read = {"keep_default_na": False, "na_values": [""]}  # "null" is a world, not a missing value
        frames = {name: read_table(args.report / f"{name}.csv", read) for name in vars(Records())}
        analyses: dict[str, Analysis] = {}
    else:
        frames, analyses = simulate(args)
    worlds = set(frames["intervals"].get("world", pd.Series(dtype=str)))
    worlds |= set(frames["stops"].get("world", pd.Series(dtype=str)))
    lines = report_fixed(frames["intervals"], args.n) if "fixed" in worlds else []
    if "lift" in worlds:
        lines += report_monitor(frames["decisions"], frames["stops"], args.monitor_n)
    if "null" in worlds:
        lines += report_speeding(frames["intervals"], frames["flags"], args.monitor_n)
    report_fits(frames["intervals"], analyses)
    print(f"\nSummary ({time.perf_counter() - start:.0f} s)")
    for what, ok, text in lines:
        print(f"  {'PASS' if ok else 'FAIL'}  {what}: {text}")


if __name__ == "__main__":
    main()
