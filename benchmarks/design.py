"""Speed of `channelab design` on the social-selling pilot's plan.

1. The frequentist plan (baselines, MDE, sample sizes, weeks for every metric and power):
   wall time, target under a second.
2. Assurance: seconds per simulated experiment when one compiled model is re-run on new
   data (channelab's Refitter) against building, compiling and sampling a fresh model for
   each simulation (the baseline), in the same process, on the same simulated data sets.

    python benchmarks/design.py [--sims N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from channelab.analysis.model import Refitter, build_model, sample
from channelab.design.assurance import ASSURANCE_DRAWS, simulated_cells, single_metric_spec
from channelab.design.baselines import resolve_baselines
from channelab.design.power import plan_power
from channelab.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "experiments" / "social_selling_pilot.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=10, help="simulated experiments per method")
    args = parser.parse_args()
    spec = load_spec(SPEC)

    t = time.perf_counter()
    baselines = resolve_baselines(spec)
    plan = plan_power(spec, baselines.values, sources=baselines.sources)
    first = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(20):
        plan_power(spec, resolve_baselines(spec).values)
    warm = (time.perf_counter() - t) / 20
    print(f"frequentist plan, {len(plan.metrics)} metrics x {len(plan.powers)} power levels:")
    print(f"  first call {first * 1000:.0f} ms, then {warm * 1000:.1f} ms per plan (target < 1000 ms)")

    metric = next(m for m in spec.metrics if m.name == "meetings")
    one = single_metric_spec(spec, metric).model_copy(
        update={
            "sampler": spec.sampler.model_copy(update={"draws": ASSURANCE_DRAWS, "tune": ASSURANCE_DRAWS})
        }
    )
    per_arm = [round(spec.plan.n * s) for s in spec.planned_shares().values()]  # type: ignore[operator]
    data = [
        simulated_cells(one, metric, baselines.values["meetings"], 0.2, per_arm, seed)
        for seed in range(args.sims)
    ]

    t = time.perf_counter()
    refitter = Refitter(data[0], one)
    refitter.compile()
    compile_s = time.perf_counter() - t
    t = time.perf_counter()
    refit = [refitter.fit(c, seed=i)["posterior"]["meetings:arm"].mean().item() for i, c in enumerate(data)]
    refit_s = (time.perf_counter() - t) / args.sims

    fresh_n = max(2, args.sims // 3)
    t = time.perf_counter()
    fresh = [
        sample(
            build_model(c, one),
            one.model_copy(update={"sampler": one.sampler.model_copy(update={"backend": "nutpie"})}),
            seed=i,
        )["posterior"]["meetings:arm"]
        .mean()
        .item()
        for i, c in enumerate(data[:fresh_n])
    ]
    fresh_s = (time.perf_counter() - t) / fresh_n

    print(
        f"assurance on meetings ({sum(per_arm):,} units, {len(per_arm)} arms), "
        "seconds per simulated experiment:"
    )
    print(f"  compiled once and re-run: {refit_s:.2f} s (+ {compile_s:.1f} s to compile, once)")
    print(f"  fresh model each time:    {fresh_s:.2f} s")
    print(f"  ratio fresh / re-run:     {fresh_s / refit_s:.1f}x")
    gap = np.max(np.abs(np.array(refit[:fresh_n]) - np.array(fresh)))
    print(f"  largest gap in the posterior mean arm effect between the two: {gap:.4f} (Monte Carlo noise)")


if __name__ == "__main__":
    main()
