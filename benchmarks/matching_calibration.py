"""Coverage of matched-design intervals on simulated CRM data with selection (issue 5).

For seeds 100..100+N-1: simulate_selection (20,000 accounts), match as the example spec says
(with the caliper given), adjust in the model for prior engagement cut into BANDS quantiles,
fit with one compiled model, and count how often the 94 % interval covers the true effect on
the treated (likes x2.5, meetings +0 %).

    python benchmarks/matching_calibration.py CALIPER REPLACE(0|1) N [BANDS [RATIO]]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from channelab.analysis.effects import compute_effects
from channelab.analysis.model import Refitter
from channelab.cohort.build import WEIGHT, match_experiment
from channelab.engine.aggregate import build_cells
from channelab.engine.source import frame_source
from channelab.simulate.selection import simulate_selection
from channelab.spec import load_spec

SPEC = Path(__file__).resolve().parents[1] / "experiments" / "matched_social_selling.yaml"


def main() -> None:
    caliper, replace, n_seeds = float(sys.argv[1]), sys.argv[2] == "1", int(sys.argv[3])
    bands = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    ratio = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    spec = load_spec(SPEC)
    matching = spec.matching.model_copy(
        update={"caliper": caliper, "replace": replace, "ratio": ratio, "accept_imbalance": True}
    )
    spec = spec.model_copy(update={"matching": matching})
    refitter = None
    cover: dict[str, list[bool]] = {"likes_comments": [], "meetings": []}
    bias: dict[str, list[float]] = {"likes_comments": [], "meetings": []}
    start = time.perf_counter()
    for seed in range(100, 100 + n_seeds):
        rows, truth = simulate_selection(20_000, seed=seed)
        labels = [f"q{i}" for i in range(bands)]
        rows["engagement_band"] = pd.qcut(rows["prior_engagement"], bands, labels=labels).astype(str)
        source = frame_source(rows)
        match_experiment(source, spec)
        cells = build_cells(source, spec, weight=WEIGHT, weights="sampling")
        source.close()
        refitter = refitter or Refitter(cells, spec)
        short = spec.sampler.model_copy(update={"draws": 500, "tune": 500})
        post = refitter.fit(cells, seed=seed, settings=short)
        effects = compute_effects(post["posterior"].to_dataset(), cells, spec, seed=spec.seed)
        for metric in cover:
            e = effects.get("social", metric)
            cover[metric].append(e.lift.lower <= truth.att[metric] <= e.lift.upper)
            bias[metric].append(e.lift.mean - truth.att[metric])
    print(
        f"caliper {caliper}, {ratio}:1, replace {replace}, {bands} engagement bands, {n_seeds} seeds, "
        f"{time.perf_counter() - start:.0f} s"
    )
    for metric in cover:
        print(f"  {metric}: coverage {np.mean(cover[metric]):.2f}, mean bias {np.mean(bias[metric]):+.4f}")


if __name__ == "__main__":
    main()
