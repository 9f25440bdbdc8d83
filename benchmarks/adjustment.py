"""Adjusting for pre-period columns from cells, against the models fitted to the rows.

On simulated experiments of the `pre_period` scenario (two pre-period columns that explain
about 40 % and 15 % of the variance of meetings), for the Phone vs Control contrast:

- **meetings (negative binomial)**: channelab's cells, split by quantile strata of each column
  (post-stratification, `model.adjust_bins` strata each), against the row-level PyMC model
  with the same negative binomial likelihood and both columns as linear terms on the log
  scale, lifts by g-computation over the rows. Printed: the gap between the two posterior
  means in units of the row model's posterior sd and in Monte Carlo standard errors, and the
  ratio of their 94 % interval widths; the same for the unadjusted fit; and each estimate's
  error against the true lift (the two adjustments model the columns differently, so their
  estimates differ by more than Monte Carlo error; the truth says which is closer).
- **revenue (cell means)**: channelab's exact adjustment (a slope per arm, from cell sums)
  against Lin's (2013) regression estimator, OLS of revenue on arm × centred columns with HC2
  errors (statsmodels): gap in standard errors and the sd ratio.
- **cells**: the number of cells, which stays bounded as rows grow (arms × covariate levels ×
  strata per column, multiplied over columns).
- **10M rows**: with `--rows 10000000`, a simulated log with two continuous pre-period
  columns is written once under `benchmarks/.cache/adjust/` and run end to end (`channelab
  run`, PDF included, first and repeat run, each in its own process) beside the DuckDB floor.

    python benchmarks/adjustment.py [--reps 10] [--n 12000] [--rows 10000000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import arviz_stats as azs
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import statsmodels.formula.api as smf

from channelab.analysis.gcomp import population_means
from channelab.analysis.intervals import relative_interval
from channelab.analysis.model import build_model, sample
from channelab.engine.aggregate import frame_cells
from channelab.simulate.outreach import outreach_spec, simulate_outreach
from channelab.simulate.scenarios import PRE_PERIOD_COLUMNS
from channelab.spec import Spec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import DRAWS, write_log
from speed import run

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache" / "adjust"
ARMS = ["Control", "Phone"]


def two_arms(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[rows["arm"].isin(ARMS)].reset_index(drop=True)


def cell_fit(rows: pd.DataFrame, spec: Spec, seed: int) -> dict[str, np.ndarray]:
    """Posterior draws of each arm's population mean per metric, from the cells."""
    cells = frame_cells(rows, spec)
    post = sample(build_model(cells, spec), spec, seed=seed)["posterior"].to_dataset()
    means = population_means(post, cells, spec)
    return {k: v.to_numpy() for k, v in means.items()} | {"n_cells": cells.n_cells}


def row_fit(rows: pd.DataFrame, spec: Spec, adjust: bool, seed: int) -> np.ndarray:
    """Posterior of each arm's mean meetings from the row-level negative binomial (g-computation)."""
    metric = next(m for m in spec.metrics if m.name == "meetings")
    priors = spec.priors_for(metric)
    y = rows["meetings"].to_numpy()
    arm = (rows["arm"] == ARMS[1]).to_numpy().astype(np.int64)
    x = rows[list(PRE_PERIOD_COLUMNS)].to_numpy(dtype=np.float64)
    u = (x - x.mean(0)) / x.std(0) if adjust else np.zeros((len(rows), 0))
    levels = sorted(rows["company_size"].unique())
    size = rows["company_size"].map({v: i for i, v in enumerate(levels)}).to_numpy()
    with pm.Model(coords={"company_size": levels, "adjust": list(PRE_PERIOD_COLUMNS)[: u.shape[1]]}):
        intercept = pm.Normal("intercept", np.log(y.mean()), priors.intercept_sd)
        effect = pm.Normal("arm", 0.0, priors.arm_sd)
        cov = pm.ZeroSumNormal("size_effect", sigma=priors.covariate_sd, dims="company_size")
        base = intercept + cov[size]
        if adjust:
            slope = pm.Normal("slope", 0.0, priors.covariate_sd, dims="adjust")
            base = base + pt.dot(u, slope)
        over = pm.HalfNormal("overdispersion", sigma=priors.dispersion_sd)
        pm.NegativeBinomial("y", mu=pt.exp(base + effect * arm), alpha=1 / over, observed=y)
        trace = pm.sample(
            1000,
            tune=1000,
            chains=4,
            cores=min(4, os.cpu_count() or 1),
            random_seed=seed,
            nuts_sampler="nutpie",
            progressbar=False,
        )
    post = trace.posterior
    b = post["intercept"].to_numpy()[..., None] + post["size_effect"].to_numpy()[..., size]
    if adjust:
        b = b + np.einsum("cdk,nk->cdn", post["slope"].to_numpy(), u)
    control = np.exp(b).mean(-1)
    treated = (np.exp(b) * np.exp(post["arm"].to_numpy())[..., None]).mean(-1)
    return np.stack([control, treated], axis=-1)


def lift_summary(means: np.ndarray, hdi: float) -> tuple[float, float, float, float]:
    """(mean, sd, interval width, Monte Carlo se) of the relative lift of arm 1 over arm 0."""
    lift = means[..., 1] / means[..., 0] - 1
    iv = relative_interval(means[..., 1], means[..., 0], hdi)
    import xarray as xr

    mcse = float(azs.mcse(xr.DataArray(lift, dims=("chain", "draw"))).to_numpy())
    return float(lift.mean()), float(lift.std()), iv.upper - iv.lower, mcse


def compare(reps: int, n: int, seed: int) -> None:
    spec = outreach_spec(
        "pre_period", metrics=("meetings", "revenue"), adjust=PRE_PERIOD_COLUMNS, seed=seed
    ).model_copy(update={"arms": {a: v for a, v in outreach_spec("pre_period").arms.items() if a in ARMS}})
    plain = spec.model_copy(update={"adjust": []})
    out = []
    for r in range(reps):
        full, truth = simulate_outreach("pre_period", n_prospects=n, seed=seed + r)
        rows = two_arms(full)
        true_lift = truth.lifts[ARMS[1]]["meetings"]
        cells = cell_fit(rows, spec, seed + r)
        cells0 = cell_fit(rows, plain, seed + r)
        row = row_fit(rows, spec, True, seed + r)
        row0 = row_fit(rows, spec, False, seed + r)
        c, w, c0, w0 = (
            lift_summary(m, spec.hdi_prob) for m in (cells["meetings"], row, cells0["meetings"], row0)
        )
        d = rows.assign(t=(rows["arm"] == ARMS[1]).astype(int))
        for col in PRE_PERIOD_COLUMNS:
            d[col + "_c"] = d[col] - d[col].mean()
        lin = smf.ols("revenue ~ t * (" + " + ".join(f"{col}_c" for col in PRE_PERIOD_COLUMNS) + ")", d).fit(
            cov_type="HC2"
        )
        diff = (cells["revenue"][..., 1] - cells["revenue"][..., 0]).ravel()
        out.append(
            {
                "rep": r,
                "cells": cells["n_cells"],
                "gap_sd": (c[0] - w[0]) / w[1],
                "gap_mcse": (c[0] - w[0]) / np.hypot(c[3], w[3]),
                "width_ratio": c[2] / w[2],
                "gap_sd_plain": (c0[0] - w0[0]) / w0[1],
                "width_ratio_plain": c0[2] / w0[2],
                "error_cells": (c[0] - true_lift) / w[1],  # in posterior sds of the row model
                "error_rows": (w[0] - true_lift) / w[1],
                "error_plain": (c0[0] - true_lift) / w[1],
                "gain_cells": c[2] / c0[2],
                "gain_rows": w[2] / w0[2],
                "lin_gap_se": (diff.mean() - lin.params["t"]) / lin.bse["t"],
                "lin_sd_ratio": diff.std() / lin.bse["t"],
            }
        )
        print(json.dumps({k: round(float(v), 3) for k, v in out[-1].items()}), file=sys.stderr, flush=True)
    t = pd.DataFrame(out)
    print(f"\nPhone vs Control, {reps} simulated experiments of {n:,} prospects (two arms kept)")
    print(f"cells per fit: {t['cells'].min()}-{t['cells'].max()}")
    print("meetings, strata from cells vs the row-level negative binomial with linear terms:")
    print(
        f"  adjusted:   mean gap {t['gap_sd'].mean():+.3f} sd (|gap| max {t['gap_sd'].abs().max():.3f} sd, "
        f"{t['gap_mcse'].abs().max():.1f} MC se); width ratio {t['width_ratio'].mean():.3f} "
        f"(range {t['width_ratio'].min():.3f}-{t['width_ratio'].max():.3f})"
    )
    print(
        f"  unadjusted: mean gap {t['gap_sd_plain'].mean():+.3f} sd; width ratio "
        f"{t['width_ratio_plain'].mean():.3f}"
    )
    print(
        f"  what adjusting gained (width adjusted / unadjusted): cells {t['gain_cells'].mean():.3f}, "
        f"rows {t['gain_rows'].mean():.3f}"
    )
    rmse = {k: float(np.sqrt((t[f"error_{k}"] ** 2).mean())) for k in ("cells", "rows", "plain")}
    print(
        "  error against the true lift (root mean square, in posterior sds of the row model): "
        f"strata from cells {rmse['cells']:.2f}, row-level linear {rmse['rows']:.2f}, unadjusted "
        f"{rmse['plain']:.2f}"
    )
    print(
        f"revenue, exact slopes from cells vs Lin's OLS (HC2): mean gap {t['lin_gap_se'].mean():+.3f} se "
        f"(|gap| max {t['lin_gap_se'].abs().max():.3f}); sd ratio {t['lin_sd_ratio'].mean():.3f} "
        f"(range {t['lin_sd_ratio'].min():.3f}-{t['lin_sd_ratio'].max():.3f})"
    )


# ---- 10M rows with two continuous pre-period columns ----------------------------------------


SPEC = {
    "name": "adjust_scale",
    "title": "Outreach at scale, adjusted for the pre-period (simulated)",
    "unit": {"kind": "prospect", "id": "prospect_id"},
    "data": {"path": "part-*.parquet", "memory_limit": "500MB"},
    "arm_column": "arm",
    "control": "control",
    "arms": {a: {"channel": a} for a in ("control", "email", "phone", "social")},
    "metrics": [
        {"name": "liked", "role": "engagement", "type": "binary"},
        {"name": "meeting", "role": "outcome", "type": "binary"},
        {"name": "revenue", "role": "revenue", "type": "revenue"},
    ],
    "covariates": ["size", "region"],
    "adjust": ["prior_minutes", "prior_revenue"],
    "seed": 1,
}


def generate(n: int) -> Path:
    """Write ``n`` simulated rows with two continuous pre-period columns (once); return the spec."""
    return write_log(CACHE / str(n), n, SPEC, _rows)


def _rows(lo: int, hi: int) -> str:
    """A latent propensity z1 drives both the pre-period columns and the test's metrics."""
    normal = (  # Box-Muller from two of the row's hashed uniforms
        "sqrt(-2 * ln((hash(i * 16 + {0}) % 1000003 + 1) / 1000004.0))"
        " * cos(2 * pi() * (hash(i * 16 + {1}) % 1000003) / 1000003.0)"
    )
    return f"""
        WITH u AS (
            SELECT i,
                {DRAWS},
                {normal.format(7, 8)} AS z1,
                {normal.format(9, 10)} AS z2
            FROM range({lo}, {hi}) t(i)
        ), p AS (
            SELECT *, exp(0.8 * z1 - 0.32) * [0.8, 1.0, 1.3][s] AS lift,
                [0.05, 0.07, 0.06, 0.15][a] AS p_like, [0.020, 0.024, 0.028, 0.020][a] AS p_meet
            FROM u
        )
        SELECT i AS prospect_id,
            ['control', 'email', 'phone', 'social'][a] AS arm,
            ['small', 'mid', 'large'][s] AS size,
            ['na', 'emea', 'apac', 'latam'][r] AS region,
            round(30 * exp(0.8 * z1 + 0.4 * z2), 1) AS prior_minutes,
            round(CASE WHEN u3 < 0.3 THEN 500 * exp(0.5 * z1 + z2) ELSE 0 END, 2) AS prior_revenue,
            CAST(u1 < least(p_like * lift, 1) AS INTEGER) AS liked,
            CAST(u2 < least(p_meet * lift, 1) AS INTEGER) AS meeting,
            CASE WHEN u2 < least(p_meet * lift, 1) AND u3 < 0.4 THEN round(800 * exp(0.5 * z1 + 0.5 * z2), 2)
                 ELSE 0 END AS revenue
        FROM p"""


CHILD = """
import json, sys, time
start = time.perf_counter()
from channelab.app import run_experiment
report = run_experiment(sys.argv[1], out_dir=sys.argv[2])
a = report.analysis
print(json.dumps({"seconds": time.perf_counter() - start, "cells": a.cells.n_cells,
    "ratios": {f"{x.arm}:{x.metric}": round(x.width_ratio, 3) for x in a.adjustment.lifts},
    "r2": {k: round(v, 3) for k, v in a.adjustment.r_squared.items()}}))
"""


def at_scale(n: int) -> None:
    spec = generate(n)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp}/cache", "MPLBACKEND": "Agg"}
        runs = []
        for label in ("first run (empty cache)", "repeat run"):
            wall, peak, text = run([sys.executable, "-c", CHILD, str(spec), f"{tmp}/out"], env)
            runs.append((label, wall, peak, json.loads(text.strip().splitlines()[-1])))
        floor = min(run([sys.executable, "-c", FLOOR, str(spec.parent)])[0] for _ in range(2))
    print(f"\n{n:,} rows, two continuous pre-period columns, three binary/revenue metrics:")
    for label, wall, peak, result in runs:
        print(
            f"  {label}: {wall:.1f} s wall ({wall / floor:.0f}x the DuckDB floor of {floor:.2f} s), "
            f"{peak:.0f} MB peak, {result['cells']} cells"
        )
    print(f"  R² explained by the pre-period: {runs[-1][3]['r2']}")
    print(f"  width adjusted / unadjusted: {runs[-1][3]['ratios']}")


FLOOR = """
import sys, glob, duckdb
con = duckdb.connect()
con.execute("SET memory_limit = '500MB'")
con.execute("SELECT arm, size, region, count(*), sum(liked), sum(meeting), sum(revenue), sum(prior_minutes), "
            "sum(prior_revenue), max(prospect_id) FROM read_parquet(?) GROUP BY ALL",
            [sorted(glob.glob(sys.argv[1] + "/part-*.parquet"))]).fetchall()
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--n", type=int, default=12_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rows", type=int, nargs="*", default=[])
    args = parser.parse_args()
    compare(args.reps, args.n, args.seed)
    for n in args.rows:
        at_scale(n)


if __name__ == "__main__":
    main()
