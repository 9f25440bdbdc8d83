"""The revenue estimand on amounts of the shapes real revenue has.

The estimand is the difference in mean revenue per unit between an arm and the control,
averaged over the experiment's own segment mix. For each shape of the positive amounts and
each true lift (0 and +20 % on the mean per unit), many experiments are simulated and fitted
with the default `revenue_likelihood: cell_means` and, for comparison, the lognormal hurdle
with one log-spread (`lognormal_hurdle`). Printed per shape, lift and model:

- bias of the posterior mean of the absolute lift, as % of the true effect and in posterior sds
  (with its Monte Carlo standard error), and its mean distance from the raw difference in means;
- coverage of the 94 % HDI of the absolute lift (target 92-96 %);
- width of that interval ÷ the Welch t-interval's on the same data;
- with a true lift of 0, the share of `real lift` verdicts (target at most 5 %).

    python benchmarks/revenue.py [--reps R] [--n N] [--seed S] [--shape TEXT] [--lifts 0,0.2]

One compiled model per shape and likelihood is re-run on every simulated data set
(`Refitter`, 4 chains of 1,000 draws after 500 tuning steps); about 0.7 s a fit on 2 cores, so
the defaults (100 experiments per row, both likelihoods) take about 30 minutes and
`--reps 400 --models cell_means` about an hour. Welch's coverage on the same data sets is
printed beside the model's: the two differ only where the model and Welch disagree.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from channelab.analysis.effects import compute_effects
from channelab.analysis.model import Refitter
from channelab.engine.aggregate import frame_cells
from channelab.spec import Spec, parse_spec

HDI = 0.94
Amounts = Callable[[np.random.Generator, np.ndarray, np.ndarray], np.ndarray]
SEGMENTS = ("low", "mid", "high")
SEGMENT_SHARES = (0.5, 0.35, 0.15)


@dataclass(frozen=True)
class Shape:
    """Positive amounts given their target means; the share who spend; segment effects or not."""

    name: str
    amounts: Amounts  # (rng, mean per spender, treated?) -> amounts
    any_rate: float = 0.10
    segment_rates: tuple[float, ...] | None = None  # share who spend per segment
    segment_means: tuple[float, ...] | None = None  # mean amount per segment


def _lognormal(sd_control: float, sd_treated: float) -> Amounts:
    def draw(rng: np.random.Generator, mean: np.ndarray, treated: np.ndarray) -> np.ndarray:
        sd = np.where(treated, sd_treated, sd_control)
        return np.exp(np.log(mean) - sd**2 / 2 + sd * rng.normal(size=mean.size))

    return draw


def _gamma(shape: float) -> Amounts:
    return lambda rng, mean, treated: rng.gamma(shape, mean / shape)


def _pareto(alpha: float) -> Amounts:  # Lomax (Pareto II): mean = scale / (alpha - 1)
    return lambda rng, mean, treated: mean * (alpha - 1) * (rng.pareto(alpha, mean.size))


def _two_point(small: float, large: float, p_large: float) -> Amounts:
    base = (1 - p_large) * small + p_large * large

    def draw(rng: np.random.Generator, mean: np.ndarray, treated: np.ndarray) -> np.ndarray:
        big = rng.random(mean.size) < p_large
        return np.where(big, large, small) * mean / base

    return draw


def _bounded(low: float, high: float) -> Amounts:  # like Hillstrom's $30-$500 orders
    return lambda rng, mean, treated: rng.uniform(low, high, mean.size) * mean / ((low + high) / 2)


SHAPES = (
    Shape("lognormal, log-sd 0.8 vs 1.2", _lognormal(0.8, 1.2)),
    Shape("gamma, shape 0.6", _gamma(0.6)),
    Shape("Pareto tail, alpha 2.5", _pareto(2.5)),
    Shape("two-point: $20 orders, 3 % $3,000 deals", _two_point(20, 3000, 0.03)),
    Shape("bounded, $30-$500 (Hillstrom-like)", _bounded(30, 500)),
    Shape(
        "zero-inflated earnings, segment predicts both",
        _lognormal(1.1, 1.1),
        segment_rates=(0.05, 0.2, 0.45),
        segment_means=(300.0, 1200.0, 5000.0),
    ),
)


def simulate(shape: Shape, lift: float, n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, float]:
    """Rows of one experiment (n per arm) and its true absolute lift on the experiment's mix."""
    treated = np.repeat([False, True], n)
    segment = rng.choice(len(SEGMENTS), size=2 * n, p=SEGMENT_SHARES)
    rates = np.asarray(shape.segment_rates or (shape.any_rate,) * 3)[segment]
    means = np.asarray(shape.segment_means or (100.0,) * 3)[segment]
    # the lift splits evenly between who spends and how much: mean per unit × (1 + lift)
    step = np.sqrt(1 + lift)
    rates = np.where(treated, rates * step, rates)
    means = np.where(treated, means * step, means)
    spends = rng.random(2 * n) < rates
    amount = np.round(shape.amounts(rng, means, treated), 2)
    revenue = np.where(spends, np.maximum(amount, 0.01), 0.0)
    mix = np.bincount(segment, minlength=3) / segment.size
    base = np.asarray(shape.segment_rates or (shape.any_rate,) * 3) * np.asarray(
        shape.segment_means or (100.0,) * 3
    )
    truth = float(mix @ base) * lift
    rows = pd.DataFrame(
        {
            "arm": np.where(treated, "treated", "control"),
            "segment": np.asarray(SEGMENTS)[segment],
            "revenue": revenue,
        }
    )
    return rows, truth


def spec_for(likelihood: str) -> Spec:
    return parse_spec(
        {
            "name": "revenue_benchmark",
            "data": {"path": "unused.csv"},
            "arm_column": "arm",
            "control": "control",
            "arms": {"control": {"channel": "control"}, "treated": {"channel": "email"}},
            "metrics": [
                {"name": "revenue", "role": "revenue", "type": "revenue", "revenue_likelihood": likelihood}
            ],
            "covariates": ["segment"],
            "hdi_prob": HDI,
            "sampler": {"tune": 500},  # default draws and chains: the HDI is estimated as in a report
        }
    )


def welch(rows: pd.DataFrame) -> tuple[float, float]:
    """Welch's t-interval (at the HDI's probability) of the difference in mean revenue."""
    a = rows.loc[rows["arm"] == "treated", "revenue"]
    b = rows.loc[rows["arm"] == "control", "revenue"]
    va, vb = a.var() / len(a), b.var() / len(b)
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(stats.t.ppf(0.5 + HDI / 2, dof) * np.sqrt(va + vb))
    diff = float(a.mean() - b.mean())
    return diff - half, diff + half


def run(shape: Shape, likelihood: str, lift: float, reps: int, n: int, seed: int) -> dict[str, object]:
    spec = spec_for(likelihood)
    rng = np.random.default_rng(seed)
    rows, truth = simulate(shape, lift, n, rng)
    refitter = Refitter(frame_cells(rows, spec), spec)
    errors, gaps, sds, covered, welch_covered, ratios, real = [], [], [], [], [], [], []
    for rep in range(reps):
        if rep:
            rows, truth = simulate(shape, lift, n, rng)
        cells = frame_cells(rows, spec)
        posterior = refitter.fit(cells, seed=seed + rep)
        e = compute_effects(posterior["posterior"].to_dataset(), cells, spec, seed=spec.seed).get(
            "treated", "revenue"
        )
        sd = (e.abs_lift.upper - e.abs_lift.lower) / (2 * stats.norm.ppf(0.5 + HDI / 2))
        errors.append(e.abs_lift.mean - truth)
        means = rows.groupby("arm")["revenue"].mean()
        gaps.append(e.abs_lift.mean - (means["treated"] - means["control"]))
        sds.append(sd)
        covered.append(e.abs_lift.lower <= truth <= e.abs_lift.upper)
        low, high = welch(rows)
        welch_covered.append(low <= truth <= high)
        ratios.append((e.abs_lift.upper - e.abs_lift.lower) / (high - low))
        real.append(e.verdict == "real lift")
    mean_error = float(np.mean(errors))
    return {
        "shape": shape.name,
        "model": likelihood,
        "true lift": f"{lift:+.0%}",
        "bias % of effect": None if lift == 0 else 100 * mean_error / abs(truth),
        "bias in sds": mean_error / float(np.mean(sds)),
        "± (MC se)": float(np.std(errors) / np.sqrt(reps)) / float(np.mean(sds)),
        "vs raw difference, sds": float(np.mean(gaps)) / float(np.mean(sds)),
        "coverage %": 100 * float(np.mean(covered)),
        "Welch coverage %": 100 * float(np.mean(welch_covered)),
        "width / Welch": float(np.mean(ratios)),
        "false real lift %": 100 * float(np.mean(real)) if lift == 0 else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--n", type=int, default=4000, help="units per arm")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--models", default="cell_means,lognormal_hurdle")
    parser.add_argument("--shape", help="run only the shapes whose name contains this text")
    parser.add_argument("--lifts", default="0,0.2", help="true lifts to run, from 0 and 0.2")
    args = parser.parse_args()
    lifts = [float(x) for x in args.lifts.split(",")]
    out = []
    for i, shape in enumerate(SHAPES):
        if args.shape and args.shape not in shape.name:
            continue
        for model in args.models.split(","):
            for j, lift in enumerate((0.0, 0.2)):
                if lift not in lifts:
                    continue
                t = time.perf_counter()
                out.append(run(shape, model, lift, args.reps, args.n, args.seed + 1000 * i + 100 * j))
                print(f"{shape.name} / {model} / {lift:+.0%}: {time.perf_counter() - t:.0f} s", flush=True)
    table = pd.DataFrame(out)
    with pd.option_context(
        "display.width", 200, "display.max_columns", 20, "display.float_format", "{:.2f}".format
    ):
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
