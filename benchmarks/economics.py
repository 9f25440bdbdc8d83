"""Net value per arm and P(best) against simulated truth: coverage, bias and calibration.

Each simulated test has a control and three channels costing 5, 15 and 30 per prospect, 3,000
prospects per arm in three segments; meetings (base 10 %, worth 500 each) and unsubscribes
(base 2 %, costing 50 each) with true link-scale effects drawn afresh for every test (meetings
N(0.15, 0.15) on the log-odds, unsubscribes N(0, 0.25)), so the best arm changes from test to
test. The truth of an arm's net value per prospect is 500 × (its true meeting rate − the
control's) − 50 × (the same for unsubscribes) − its cost, the rates averaged over the test's
segment mix (the g-computation estimand).

Printed: coverage of the 94 % interval of net value (per arm and overall, with its Monte Carlo
se), the mean error in posterior sds, and P(best) calibration: arms (the control included)
binned by their P(best), against how often the arm in each bin was truly best.

    python benchmarks/economics.py [--sims 200] [--n 3000] [--seed 21]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from channelab.analysis.effects import compute_effects
from channelab.analysis.model import Refitter
from channelab.engine.aggregate import frame_cells
from channelab.simulate.ab import SimMetric, simulate_ab
from channelab.spec import Spec, parse_spec

ARMS = ("Control", "A", "B", "C")
COSTS = {"A": 5.0, "B": 15.0, "C": 30.0}
VALUES = {"meetings": 500.0, "unsubscribes": -50.0}
DRAWS = 500


def spec() -> Spec:
    return parse_spec(
        {
            "name": "economics",
            "data": {"path": "rows.csv"},
            "arm_column": "arm",
            "control": "Control",
            "arms": {a: ({"cost": {"per_unit": COSTS[a]}} if a in COSTS else {}) for a in ARMS},
            "metrics": [
                {"name": "meetings", "role": "outcome", "type": "binary", "value": VALUES["meetings"]},
                {
                    "name": "unsubscribes",
                    "role": "guardrail",
                    "type": "binary",
                    "value": VALUES["unsubscribes"],
                },
            ],
            "covariates": ["segment"],
            "sampler": {"draws": DRAWS, "tune": DRAWS},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sims", type=int, default=200)
    parser.add_argument("--n", type=int, default=3000, help="prospects per arm")
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()
    s = spec()
    refitter: Refitter | None = None
    rows_out, best_out = [], []
    start = time.perf_counter()
    for i, child in enumerate(np.random.SeedSequence(args.seed).spawn(args.sims)):
        effect_seed, data_seed, fit_seed = (int(x) for x in child.generate_state(3))
        rng = np.random.default_rng(effect_seed)
        metrics = {
            "meetings": SimMetric("binary", 0.10, {a: float(rng.normal(0.15, 0.15)) for a in COSTS}),
            "unsubscribes": SimMetric("binary", 0.02, {a: float(rng.normal(0.0, 0.25)) for a in COSTS}),
        }
        rows, truth = simulate_ab(n_per_arm=args.n, arms=ARMS, metrics=metrics, seed=data_seed)
        cells = frame_cells(rows, s, name="<economics>")
        refitter = refitter or Refitter(cells, s)
        post = refitter.fit(cells, seed=fit_seed)
        economics = compute_effects(post["posterior"].to_dataset(), cells, s, seed=s.seed).economics
        assert economics is not None
        true_net = {"Control": 0.0}
        for a in COSTS:
            true_net[a] = (
                sum(v * (truth.means[(a, m)] - truth.means[("Control", m)]) for m, v in VALUES.items())
                - COSTS[a]
            )
            e = economics.get(a)
            sd = (e.net_per_unit.upper - e.net_per_unit.lower) / (2 * 1.881)
            rows_out.append(
                {
                    "arm": a,
                    "covered": e.net_per_unit.lower <= true_net[a] <= e.net_per_unit.upper,
                    "error_sds": (e.net_per_unit.mean - true_net[a]) / sd,
                }
            )
        winner = max(true_net, key=lambda a: true_net[a])
        best_out += [{"p": economics.prob_best[a], "best": a == winner} for a in ARMS]
        if (i + 1) % 20 == 0:
            print(f"  {i + 1}/{args.sims} tests, {time.perf_counter() - start:.0f} s", flush=True)
    table = pd.DataFrame(rows_out)
    cover = table["covered"].mean()
    print(
        f"\n{args.sims} tests, {args.n:,} prospects per arm, {len(COSTS)} channels with random true effects\n"
    )
    print("Coverage of the 94 % interval of net value per prospect:")
    print(table.groupby("arm")["covered"].mean().map("{:.1%}".format).to_string())
    print(f"overall {cover:.1%} (Monte Carlo se {np.sqrt(0.94 * 0.06 / len(table)):.1%})")
    error = table["error_sds"]
    print(f"mean error {error.mean():+.3f} posterior sds (se {error.std() / np.sqrt(len(table)):.3f})")
    best = pd.DataFrame(best_out)
    best["bin"] = pd.cut(best["p"], [0, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 1.0], include_lowest=True)
    calib = best.groupby("bin", observed=True).agg(
        arms=("p", "size"), mean_p=("p", "mean"), truly_best=("best", "mean")
    )
    print("\nP(best) calibration (arms, the control included, binned by P(best)):")
    print(calib.to_string(float_format=lambda x: f"{x:.2f}"))
    print(f"\n{time.perf_counter() - start:.0f} s in all")


if __name__ == "__main__":
    main()
