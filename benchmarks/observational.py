"""Observational designs against known truth: matching, weighting and doubly robust estimates.

For each variant of :func:`channelab.simulate.observational.simulate_observational` (LaLonde-
shaped job-training data: a couple of hundred treated, a pool ten to a hundred times larger
and very different, zero-inflated skewed pre-period earnings, nonlinear selection) and each
method, REPS data sets are simulated; each runs the matched-design path of a spec (gate
included) and, when the gate passes, one fit of the model, as ``channelab run`` would.

Printed per variant and method: how often the balance gate passed, and over the data sets
that passed the mean bias of the effect on re78 (in % of the true effect: ATT, or ATO for
overlap weights), the coverage of the 94 % interval (target 90–97 %), the mean effective
number of controls (Kish) and the mean interval width.

    python benchmarks/observational.py [--reps 100] [--variants psid cps] [--methods entropy_dr]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from channelab.analysis.effects import compute_effects
from channelab.analysis.model import Refitter
from channelab.cohort.build import WEIGHT, match_experiment
from channelab.engine.aggregate import build_cells
from channelab.engine.source import frame_source
from channelab.errors import ChannelabError
from channelab.simulate.observational import COVARIATES, VARIANTS, simulate_observational
from channelab.spec import Spec, parse_spec

#: Methods: (matching settings, adjust columns for the doubly robust outcome regression).
METHODS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "nearest": ({"method": "nearest"}, []),
    "nearest_replace": ({"method": "nearest", "replace": True}, []),
    "cem": ({"method": "cem"}, []),
    "ipw": ({"method": "ipw"}, []),
    "overlap": ({"method": "overlap"}, []),
    "entropy": ({"method": "entropy"}, []),
    "entropy_dr": ({"method": "entropy"}, list(COVARIATES)),
}

#: Why the gate refused, by a phrase of its message.
REFUSALS = {
    "still imbalanced": "imbalanced",
    "do not overlap": "no overlap",
    "effective untreated": "too few effective controls",
}


def spec_for(method: str, seed: int) -> Spec:
    """The spec a user would write for the job-training data with ``method``."""
    matching, adjust = METHODS[method]
    raw = {
        "name": f"observational_{method}",
        "design": "matched",
        "unit": {"kind": "participant", "id": "unit_id"},
        "data": {"path": "simulated.csv"},
        "arm_column": "program",
        "control": "none",
        "arms": {"none": {"channel": "control"}, "treated": {"channel": "email"}},
        "metrics": [{"name": "re78", "label": "earnings in 1978", "type": "revenue", "role": "revenue"}],
        "matching": {"covariates": list(COVARIATES), **matching},
        "adjust": adjust,
        "seed": seed,
    }
    return parse_spec(raw)


@dataclass
class Score:
    """Per variant and method: gate passes, and per passing data set the estimate against the truth."""

    runs: int = 0
    passed: int = 0
    bias: list[float] = field(default_factory=list)
    covered: list[bool] = field(default_factory=list)
    width: list[float] = field(default_factory=list)
    effective: list[float] = field(default_factory=list)
    refusals: dict[str, int] = field(default_factory=dict)

    def row(self) -> str:
        """Gate passes, bias, coverage, effective controls and width, as one table row."""
        if not self.passed:
            return f"{self.passed:>3}/{self.runs:<3}          —          —         —         —"
        return (
            f"{self.passed:>3}/{self.runs:<3} {np.mean(self.bias):>+9.1f} % {np.mean(self.covered):>8.0%} "
            f"{np.mean(self.effective):>9.0f} {np.mean(self.width):>9.0f}"
        )


def run(variant: str, method: str, reps: int, refitters: dict[bool, Refitter]) -> Score:
    """Score ``method`` on ``reps`` data sets of ``variant`` (seeds 1..reps)."""
    score = Score()
    for seed in range(1, reps + 1):
        rows, truth = simulate_observational(variant, seed=seed)
        spec = spec_for(method, seed)
        score.runs += 1
        source = frame_source(rows)
        try:
            cohort = match_experiment(source, spec)
            cells = build_cells(source, spec, weight=WEIGHT, weights="sampling")
        except ChannelabError as exc:
            reason = next((v for k, v in REFUSALS.items() if k in str(exc)), str(exc)[:60])
            score.refusals[reason] = score.refusals.get(reason, 0) + 1
            continue
        finally:
            source.close()
        score.passed += 1
        adjusted = bool(spec.adjust)
        if adjusted not in refitters:
            refitters[adjusted] = Refitter(cells, spec)
        post = refitters[adjusted].fit(cells, seed=seed)
        effects = compute_effects(post["posterior"].to_dataset(), cells, spec, seed=spec.seed)
        effect = effects.get("treated", "re78")
        target = truth.ato if cohort.estimand == "ATO" else truth.att
        iv = effect.abs_lift
        score.bias.append(100 * (iv.mean - target) / target)
        score.covered.append(iv.lower <= target <= iv.upper)
        score.width.append(iv.upper - iv.lower)
        score.effective.append(cohort.effective(treated=False))
    return score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    args = parser.parse_args()
    print(f"{args.reps} data sets per variant; bias and coverage over the data sets the gate passed")
    refitters: dict[bool, Refitter] = {}
    for variant in args.variants:
        v = VARIANTS[variant]
        print(f"\n{variant}: ~{v.n_treated} treated, pool ~{v.n_pool:,}")
        print(f"  {'method':<20} {'gate':>7} {'bias':>11} {'coverage':>8} {'eff. ctl':>9} {'width':>9}")
        for method in args.methods:
            start = time.perf_counter()
            score = run(variant, method, args.reps, refitters)
            refused = "; ".join(f"{k} ×{n}" for k, n in sorted(score.refusals.items()))
            print(
                f"  {method:<20} {score.row()}   ({time.perf_counter() - start:.0f} s)"
                + (f"  refused: {refused}" if refused else ""),
                flush=True,
            )


if __name__ == "__main__":
    main()
