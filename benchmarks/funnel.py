"""Follow-through on a funnel with a known truth: engagement rises, follow-through falls.

Simulates :func:`channelab.simulate.simulate_funnel` (the social-proof ad: clicks +30 %,
enrolments among clicks −25 %, payments among enrolments unchanged) many times, fits each
with one compiled model and prints:

- coverage of the 94 % interval of the follow-through lift (clicks → enrolments), and of the
  model's lift of enrolments among clicks (a metric with ``denominator: clicked``); target 92-96 %;
- how often the arm's summary names the fall ("Follow-through fell"), and its verdict;
- with a truth of 0 (payments among enrolments), how often that lift is called real or harm.

    python benchmarks/funnel.py [--sims N] [--n N] [--seed S]

About 0.5 s a simulation on 2 cores; the defaults (100 simulations) take about a minute.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from channelab.analysis.effects import compute_effects
from channelab.analysis.model import Refitter
from channelab.engine.aggregate import frame_cells
from channelab.simulate.funnel import FUNNEL_METRICS, FUNNEL_RATES, simulate_funnel
from channelab.spec import parse_spec

ARM, CONTROL = "Social proof ad", "Plain ad"
SPEC = parse_spec(
    {
        "name": "funnel_benchmark",
        "data": {"path": "unused.csv"},
        "arm_column": "arm",
        "control": CONTROL,
        "arms": {CONTROL: {"channel": "control"}, ARM: {"channel": "social"}},
        "metrics": FUNNEL_METRICS,
    }
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sims", type=int, default=100)
    parser.add_argument("--n", type=int, default=20000, help="visitors per arm")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    true_follow = FUNNEL_RATES[ARM][1] / FUNNEL_RATES[CONTROL][1] - 1
    true_paid = FUNNEL_RATES[ARM][2] / FUNNEL_RATES[CONTROL][2] - 1
    rows, _ = simulate_funnel(args.n, seed=args.seed)
    refitter = Refitter(frame_cells(rows, SPEC), SPEC)
    covered, covered_model, named, verdicts, paid_decided = [], [], [], [], []
    t = time.perf_counter()
    for i in range(args.sims):
        rows, _ = simulate_funnel(args.n, seed=args.seed + i)
        cells = frame_cells(rows, SPEC)
        posterior = refitter.fit(cells, seed=args.seed + i)["posterior"].to_dataset()
        effects = compute_effects(posterior, cells, SPEC, seed=args.seed + i)
        (follow,) = [f for f in effects.follow_through if f.arm == ARM and f.outcome == "enrolled"]
        assert follow.lift is not None
        covered.append(follow.lift.lower <= true_follow <= follow.lift.upper)
        enrolled = effects.get(ARM, "enrolled").lift
        covered_model.append(enrolled.lower <= true_follow <= enrolled.upper)
        (arm,) = effects.arms
        named.append("Follow-through fell" in arm.summary)
        verdicts.append(arm.verdict)
        paid = effects.get(ARM, "paid")
        paid_decided.append(paid.verdict in ("real lift", "harm"))
        assert true_paid == 0
    n = args.sims
    print(f"{n} simulations of {args.n:,} visitors per arm in {time.perf_counter() - t:.0f} s")
    print(f"true follow-through lift (clicks -> enrolments): {true_follow:+.0%}")
    print(f"coverage of the follow-through lift's 94 % interval: {100 * np.mean(covered):.1f} %")
    print(f"coverage of the model's lift of enrolments among clicks: {100 * np.mean(covered_model):.1f} %")
    print(f"arm summaries naming the fall: {100 * np.mean(named):.0f} %")
    print("arm verdicts: " + ", ".join(f"{v} {verdicts.count(v)}" for v in sorted(set(verdicts))))
    print(
        f"payments among enrolments (true lift 0) called real lift or harm: "
        f"{100 * np.mean(paid_decided):.1f} %"
    )


if __name__ == "__main__":
    main()
