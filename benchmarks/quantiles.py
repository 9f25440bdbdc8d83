"""Quantile metrics: coverage of the Bayesian bootstrap's interval for the difference of two arms' quantiles.

Per world, ``--reps`` simulated two-arm tests of ``--n`` units per arm with heavy-tailed
amounts of known quantiles, read by :func:`channelab.analysis.quantiles.quantile_draws`
(the posterior a ``type: quantile`` metric reports): the 94 % equal-tailed interval of
Q_treatment(q) − Q_control(q) must cover the true difference in 92-96 % of tests (a coverage
passes when its Wilson 95 % interval meets that range). Worlds:

- ``lognormal``: deal sizes LogNormal(log 2,000, 1.0); the treatment multiplies amounts by 1.2;
  the median (q = 0.5) and the 90th percentile;
- ``pareto``: Pareto with tail index 2.5 (a finite mean, an infinite fourth moment), scale
  1,000; the treatment multiplies by 1.2; median and 90th percentile;
- ``mass_and_tail``: 60 % of units at 0 (no deal) and a LogNormal tail, the treatment moving the
  share of zeros to 55 % and leaving the tail alone; the 80th and 90th percentiles (above the
  mass: its median would be 0 in both arms, a difference of exactly 0);
- ``null``: the lognormal world with no effect (the median): coverage of 0.

    python benchmarks/quantiles.py [--reps 400] [--n 1000] [--draws 2000] [--seed 35] [--quick]

The default takes about 4 minutes on one core; ``--quick`` (100 tests per world) one.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from channelab.analysis.quantiles import ValueTable, quantile_draws
from channelab.design.monitor import wilson

PROB, TARGET = 0.94, (0.92, 0.96)


@dataclass(frozen=True)
class World:
    """A world: how to draw one arm's amounts, and its true quantile."""

    name: str
    q: float
    draw: Callable[[bool, int, np.random.Generator], np.ndarray]
    quantile: Callable[[bool, float], float]


def _lognormal(treated: bool, n: int, rng: np.random.Generator) -> np.ndarray:
    return np.round(rng.lognormal(math.log(2000), 1.0, n) * (1.2 if treated else 1.0), 2)


def _lognormal_q(treated: bool, q: float) -> float:
    return math.exp(math.log(2000) + stats.norm.ppf(q)) * (1.2 if treated else 1.0)


def _pareto(treated: bool, n: int, rng: np.random.Generator) -> np.ndarray:
    return np.round((rng.pareto(2.5, n) + 1) * 1000 * (1.2 if treated else 1.0), 2)


def _pareto_q(treated: bool, q: float) -> float:
    return 1000 * (1 - q) ** (-1 / 2.5) * (1.2 if treated else 1.0)


def _zeros(treated: bool) -> float:
    return 0.55 if treated else 0.60


def _mass(treated: bool, n: int, rng: np.random.Generator) -> np.ndarray:
    deal = rng.random(n) >= _zeros(treated)
    return np.where(deal, np.round(rng.lognormal(math.log(2000), 1.0, n), 2), 0.0)


def _mass_q(treated: bool, q: float) -> float:
    p0 = _zeros(treated)
    return 0.0 if q <= p0 else math.exp(math.log(2000) + stats.norm.ppf((q - p0) / (1 - p0)))


def _null(treated: bool, n: int, rng: np.random.Generator) -> np.ndarray:
    return _lognormal(False, n, rng)


WORLDS = (
    World("lognormal, median", 0.5, _lognormal, _lognormal_q),
    World("lognormal, 90th", 0.9, _lognormal, _lognormal_q),
    World("pareto 2.5, median", 0.5, _pareto, _pareto_q),
    World("pareto 2.5, 90th", 0.9, _pareto, _pareto_q),
    World("mass and tail, 80th", 0.8, _mass, _mass_q),
    World("mass and tail, 90th", 0.9, _mass, _mass_q),
    World("null, median", 0.5, _null, lambda treated, q: _lognormal_q(False, q)),
)


def run_world(world: World, reps: int, n: int, draws: int, seed: int) -> dict[str, float]:
    """Coverage, mean width and bias of the difference's interval over ``reps`` tests."""
    truth = world.quantile(True, world.q) - world.quantile(False, world.q)
    covered, widths, errors = [], [], []
    for child in np.random.SeedSequence([seed, sum(map(ord, world.name))]).spawn(reps):
        rng = np.random.default_rng(child)
        arms = [ValueTable.of(world.draw(t, n, rng)) for t in (False, True)]
        diff = quantile_draws(arms[1], world.q, draws, rng) - quantile_draws(arms[0], world.q, draws, rng)
        low, high = np.quantile(diff, [(1 - PROB) / 2, (1 + PROB) / 2])
        covered.append(low <= truth <= high)
        widths.append(high - low)
        errors.append(diff.mean() - truth)
    hits = int(np.sum(covered))
    low, high = wilson(hits, reps)
    return {
        "truth": truth,
        "coverage": hits / reps,
        "se": math.sqrt(hits / reps * (1 - hits / reps) / reps),
        "wilson_low": low,
        "wilson_high": high,
        "width": float(np.mean(widths)),
        "bias": float(np.mean(errors)),
        "bias_se": float(np.std(errors, ddof=1) / math.sqrt(reps)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=400)
    parser.add_argument("--n", type=int, default=1000, help="units per arm")
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=35)
    parser.add_argument("--quick", action="store_true", help="100 tests per world")
    args = parser.parse_args()
    reps = 100 if args.quick else args.reps
    start = time.perf_counter()
    print(f"quantile benchmark: {reps} tests per world, {args.n:,} units per arm, {args.draws:,} draws")
    lines = []
    for world in WORLDS:
        r = run_world(world, reps, args.n, args.draws, args.seed)
        print(
            f"  {world.name:22s} truth {r['truth']:+9.1f}  coverage {r['coverage']:.3f} ± {r['se']:.3f}  "
            f"mean width {r['width']:8.1f}  bias {r['bias']:+7.1f} ± {r['bias_se']:.1f}"
        )
        ok = r["wilson_high"] >= TARGET[0] and r["wilson_low"] <= TARGET[1]
        lines.append(
            (world.name, ok, f"{r['coverage']:.3f}, Wilson {r['wilson_low']:.3f}-{r['wilson_high']:.3f}")
        )
    print(f"\nSummary ({time.perf_counter() - start:.0f} s)")
    for name, ok, text in lines:
        print(f"  {'PASS' if ok else 'FAIL'}  coverage 92-96 %, {name}: {text}")


if __name__ == "__main__":
    main()
