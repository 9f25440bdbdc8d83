"""Calibration of channelab's intervals and verdicts on simulated outreach experiments.

For every scenario of `channelab.simulate.SCENARIOS`, many experiments are simulated and
each is fitted with one compiled model (channelab.simulate.calibrate). Prints:

- coverage of the 94 % intervals of every lift (target 92-96 %), per metric role;
- in `null`, the rate of `real lift` verdicts (target at most 5 %);
- in `slacktivism`, for the arms that move engagement alone, how often they are called
  `engagement only` (the outcome shown flat), `engagement up, outcome undecided` and (wrongly)
  `real lift`, and how often each real lift is found;
- in `heterogeneous`, coverage of the per-segment lifts and how often the right segment
  stands out;
- in `clustered`, coverage with and without the rep random intercept;
- in `pre_period`, coverage with the pre-period columns adjusted for, and each metric's
  interval width against the same data's fit without them;
- the share of fits that pass the convergence gate at the first fit (`first`) and after the
  refits a run makes when the gate fails (`gate`, target at least 99 %).

    python benchmarks/calibration.py [--fits N] [--draws D] [--seed S] [--out DIR]

About 2 s (6 metrics, no clusters) to 5 s (48 rep intercepts, with the refits of fits that
fail the gate) per fit on 2 cores, plus 15-70 s of compilation per configuration (once per
machine: the compiled model is cached); the defaults take about 30 minutes. `--fits 20` gives
a rough picture in a few minutes. `--out` writes every interval and verdict as CSV.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from channelab.analysis.sampler import resolve_backend
from channelab.simulate.calibrate import Calibration, calibrate
from channelab.simulate.outreach import outreach_spec
from channelab.simulate.scenarios import PRE_PERIOD_COLUMNS
from channelab.spec import Spec

COVERAGE_TARGET = (0.92, 0.96)
NULL_REAL_LIFT_MAX = 0.05
GATE_PASS_MIN = 0.99
FUNNEL = ("likes_comments", "meetings", "revenue")


@dataclass(frozen=True)
class Config:
    """One calibration run: a scenario, the spec that analyses it, and its size."""

    label: str
    scenario: str
    spec: Spec
    n_prospects: int
    fits: int
    same_data_as: str | None = None  # label of a configuration whose simulated data it reuses


def configs(fits: int | None, draws: int) -> list[Config]:
    sampler = {"draws": draws, "tune": draws}
    full = {name: outreach_spec(name, sampler=sampler) for name in ("slacktivism", "null")}
    return [
        Config("slacktivism", "slacktivism", full["slacktivism"], 30_000, fits or 100),
        Config("null", "null", full["null"], 30_000, fits or 100),
        Config(
            "heterogeneous",
            "heterogeneous",
            outreach_spec("heterogeneous", metrics=FUNNEL, lift_by="company_size", sampler=sampler),
            30_000,
            fits or 100,
        ),
        Config(
            "clustered",
            "clustered",
            outreach_spec("clustered", metrics=FUNNEL, sampler=sampler),
            12_000,
            fits or 100,
        ),
        Config(
            "clustered, no cluster term",
            "clustered",
            outreach_spec("clustered", metrics=FUNNEL, cluster=False, sampler=sampler),
            12_000,
            fits or 100,
        ),
        Config(
            "pre_period",
            "pre_period",
            outreach_spec("pre_period", metrics=FUNNEL, adjust=PRE_PERIOD_COLUMNS, sampler=sampler),
            12_000,
            fits or 100,
        ),
        Config(
            "pre_period, no adjustment",
            "pre_period",
            outreach_spec("pre_period", metrics=FUNNEL, sampler=sampler),
            12_000,
            fits or 100,
            same_data_as="pre_period",
        ),
    ]


def progress(label: str):
    start = time.perf_counter()

    def report(done: int, total: int) -> None:
        if done % 10 == 0 or done == total:
            elapsed = time.perf_counter() - start
            print(f"  {label}: {done}/{total} fits, {elapsed:.0f} s", file=sys.stderr, flush=True)

    return report


def coverage_line(cal: Calibration) -> str:
    by_role = cal.coverage_by("role")
    roles = "  ".join(f"{by_role.get(r, float('nan')):>10.3f}" for r in ("engagement", "outcome", "revenue"))
    seconds = cal.fits["seconds"].mean()
    first, converged = cal.fits["converged_first"].mean(), cal.fits["converged"].mean()
    return (
        f"{cal.label:<28}{cal.n_fits:>5}{cal.n_prospects:>8,}{seconds:>7.1f}{cal.compile_seconds:>9.0f}"
        f"{first:>7.2f}{converged:>7.2f}{cal.coverage():>10.3f}  {roles}"
    )


def mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, help="fits per configuration (default 100)")
    parser.add_argument("--draws", type=int, default=1000, help="draws and tuning steps per chain")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--only", nargs="*", help="configuration labels to run (default all)")
    parser.add_argument("--out", type=Path, help="folder for the CSV of every interval and verdict")
    args = parser.parse_args()
    runs = _run_all(args)
    _print_tables(runs, args)
    print("\nTargets")
    _print_gate_and_coverage(runs)
    for label, line in _TARGET_LINES.items():
        if all(k in runs for k in label):
            print(line(*(runs[k] for k in label)))


def _run_all(args: argparse.Namespace) -> dict[str, Calibration]:
    """Calibrate every configuration asked for; write each one's tables under ``--out``."""
    runs: dict[str, Calibration] = {}
    every = configs(args.fits, args.draws)
    seeds = {cfg.label: args.seed + k for k, cfg in enumerate(every)}
    for cfg in every:
        if args.only and cfg.label not in args.only:
            continue
        print(f"{cfg.label}: {cfg.fits} fits of {cfg.n_prospects:,} prospects", file=sys.stderr, flush=True)
        runs[cfg.label] = cal = calibrate(
            cfg.scenario,
            cfg.spec,
            fits=cfg.fits,
            n_prospects=cfg.n_prospects,
            seed=seeds[cfg.same_data_as or cfg.label],
            label=cfg.label,
            on_fit=progress(cfg.label),
        )
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            stem = cfg.label.replace(", ", "_").replace(" ", "_")
            for table in ("lifts", "arms", "fits"):
                getattr(cal, table).to_csv(args.out / f"{stem}.{table}.csv", index=False)
    return runs


def _print_tables(runs: dict[str, Calibration], args: argparse.Namespace) -> None:
    """The coverage table and each configuration's arm verdicts."""
    hdi = next(iter(runs.values())).spec.hdi_prob if runs else 0.94
    print(
        f"\nCalibration: {resolve_backend('auto')}, {os.cpu_count()} cores, seed {args.seed}, "
        f"{args.draws} draws x 4 chains per fit; coverage of the {hdi:.0%} HDI of every lift"
    )
    print(
        f"{'configuration':<28}{'fits':>5}{'n':>8}{'s/fit':>7}{'compile':>9}{'first':>7}{'gate':>7}"
        f"{'coverage':>10}  {'engagement':>10}  {'outcome':>10}  {'revenue':>10}"
    )
    for cal in runs.values():
        print(coverage_line(cal))
    for cal in runs.values():
        print(f"\nArm verdicts in {cal.label} (share of fits; rows: arm and its true verdict)")
        print(cal.verdict_table().to_string(float_format=lambda x: f"{x:.3f}"))


def _print_gate_and_coverage(runs: dict[str, Calibration]) -> None:
    """The convergence gate's pass rate and the coverage of every configuration, against targets."""
    lo, hi = COVERAGE_TARGET
    for cal in runs.values():
        rate = cal.fits["converged"].mean()
        print(
            f"  convergence gate, {cal.label}: {rate:.3f} of fits pass (target >= {GATE_PASS_MIN:.2f}; "
            f"{cal.fits['converged_first'].mean():.3f} at the first fit, "
            f"{(cal.fits['refits'] > 0).mean():.3f} refitted) {mark(rate >= GATE_PASS_MIN)}"
        )
    for cal in runs.values():
        if cal.label.endswith(("no cluster term", "no adjustment")):
            continue
        c = cal.coverage()
        print(f"  coverage, {cal.label}: {c:.3f} (target {lo:.2f}-{hi:.2f}) {mark(lo <= c <= hi)}")


def _null_line(null: Calibration) -> str:
    rate, family = null.verdict_rate("real lift"), null.any_arm_rate("real lift")
    return (
        f"  null: real lift verdicts {rate:.3f} of arm verdicts (target <= {NULL_REAL_LIFT_MAX:.2f}) "
        f"{mark(rate <= NULL_REAL_LIFT_MAX)}; fits with any real lift {family:.3f}"
    )


def _slacktivism_line(cal: Calibration) -> str:
    slack = sorted(set(cal.arms.loc[cal.arms["true_verdict"] == "engagement only", "arm"]))
    rate = cal.verdict_rate("engagement only", arms=slack)
    undecided = cal.verdict_rate("engagement up, outcome undecided", arms=slack)
    wrong = cal.verdict_rate("real lift", arms=slack)
    return (
        f"  slacktivism: for {', '.join(slack)}: engagement only {rate:.3f}, engagement up with the "
        f"outcome undecided {undecided:.3f}, called real lift {wrong:.3f}"
    )


def _heterogeneous_line(cal: Calibration) -> str:
    lifts = cal.lifts
    seg = lifts[(lifts["level"] != "") & (lifts["arm"] == "Phone") & (lifts["metric"] == "meetings")]
    top = seg.loc[seg.groupby("fit")["mean"].idxmax(), "level"]
    enterprise = seg[seg["level"] == "enterprise"]
    return (
        f"  heterogeneous: per-segment coverage {cal.coverage(segments=True):.3f}; Phone meetings "
        f"largest in enterprise in {(top == 'enterprise').mean():.3f} of fits, called real lift there "
        f"in {(enterprise['verdict'] == 'real lift').mean():.3f}"
    )


def _clustered_line(with_: Calibration, without: Calibration) -> str:
    width = {
        k: (c.lifts["upper"] - c.lifts["lower"]).mean() for k, c in (("with", with_), ("without", without))
    }
    return (
        f"  clustered: coverage {with_.coverage():.3f} with the rep intercept, {without.coverage():.3f} "
        f"without; intervals {width['with'] / width['without']:.1f}x as wide with it; real lift calls "
        f"for arms with no effect {with_.verdict_rate('real lift', arms=_null_arms(with_)):.3f} with, "
        f"{without.verdict_rate('real lift', arms=_null_arms(without)):.3f} without"
    )


def _pre_period_line(adjusted: Calibration, plain: Calibration) -> str:
    keys = ["fit", "arm", "metric"]
    pair = adjusted.lifts.merge(plain.lifts, on=[*keys, "level"], suffixes=("", "_plain"))
    pair = pair[pair["level"] == ""]
    plain_width = pair["abs_upper_plain"] - pair["abs_lower_plain"]
    pair["ratio"] = (pair["abs_upper"] - pair["abs_lower"]) / plain_width
    # how far adjusting moves an estimate, in widths of the unadjusted interval
    pair["shift"] = (pair["abs_mean"] - pair["abs_mean_plain"]) / plain_width
    by = pair.groupby("metric", sort=False)
    covered = plain.coverage_by("metric")
    return (
        "  pre_period: interval width for the change per unit, adjusted / unadjusted on the same "
        "data (median): "
        + ", ".join(f"{k} {v:.2f}" for k, v in by["ratio"].median().items())
        + "; the estimate moved by (sd over fits, in unadjusted widths) "
        + ", ".join(f"{k} {v:.3f}" for k, v in by["shift"].std().items())
        + f"; coverage without adjustment {plain.coverage():.3f} ("
        + ", ".join(f"{k} {v:.3f}" for k, v in covered.items())
        + ")"
    )


#: The configurations (all of them run) each target line needs, and the line.
_TARGET_LINES: dict[tuple[str, ...], Callable[..., str]] = {
    ("null",): _null_line,
    ("slacktivism",): _slacktivism_line,
    ("heterogeneous",): _heterogeneous_line,
    ("clustered", "clustered, no cluster term"): _clustered_line,
    ("pre_period", "pre_period, no adjustment"): _pre_period_line,
}


def _null_arms(cal: Calibration) -> list[str]:
    return sorted(set(cal.arms.loc[cal.arms["true_verdict"] == "no effect", "arm"]))


if __name__ == "__main__":
    main()
