"""channelab at 1M, 10M and 100M rows against its baselines, measured in one run.

Simulated outreach logs (4 arms, 2 covariates, a binary engagement metric, binary meetings
and revenue; social triples likes but not meetings) are written once as Parquet files under
``benchmarks/.cache/scale/N/`` and read through a glob with a 500 MB DuckDB memory limit.
Every measurement runs in its own process, so its peak resident memory (imports included)
is its own:

- channelab end to end: read, checks, cells, fit (PyMC/nutpie, 4 chains x 1000 draws), effects;
- the I/O floor: DuckDB reading every used column of the same files with trivial aggregates;
- statsmodels GLM (binomial) of both binary metrics on the rows in pandas (up to 10M rows);
- the row-level PyMC model of the binary metrics at 1M rows, extrapolated: the gradient
  evaluations channelab's fit of the same posterior took, times the cost of one on the rows;
- the check at 50,000 rows: the row-level model fitted in full against the cells (same
  posterior? how close was the extrapolation?).

    python benchmarks/scale.py [--sizes 1000000 10000000 100000000] [--skip-rows]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import yaml

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache" / "scale"
SIZES = (1_000_000, 10_000_000, 100_000_000)
GLM_MAX_ROWS = 10_000_000  # beyond this the rows do not fit in pandas on a 24 GiB machine
ROWS_N = 1_000_000  # where the row-level PyMC model is timed
CHECK_N = 50_000  # where the row-level and cell posteriors are compared

ARMS = ("control", "email", "phone", "social")
SPEC = {
    "name": "scale",
    "title": "Outreach channels at scale (simulated)",
    "unit": {"kind": "prospect", "id": "prospect_id"},
    "data": {"path": "part-*.parquet", "memory_limit": "500MB"},
    "arm_column": "arm",
    "control": "control",
    "arms": {a: {"channel": a} for a in ARMS},
    "metrics": [
        {"name": "liked", "role": "engagement", "type": "binary"},
        {"name": "meeting", "role": "outcome", "type": "binary"},
        {"name": "revenue", "role": "revenue", "type": "revenue"},
    ],
    "covariates": ["size", "region"],
    "seed": 1,
}
BINARY = ["liked", "meeting"]


def generate(n: int) -> Path:
    """Write ``n`` simulated rows as Parquet parts (once) and the spec; return the spec's path."""
    return write_log(CACHE / str(n), n, SPEC, _rows)


def write_log(folder: Path, n: int, spec: dict, rows: Callable[[int, int], str]) -> Path:
    """Write ``n`` rows as Parquet parts in ``folder`` (once) and ``spec`` beside them.

    ``rows(lo, hi)`` is the SELECT of rows ``lo ≤ i < hi``. Returns the spec's path.
    """
    path = folder / "spec.yaml"
    if (folder / "done").exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    parts = max(4, n // 2_000_000)
    con = duckdb.connect()
    for k in range(parts):
        query = rows(n * k // parts, n * (k + 1) // parts)
        target = folder / f"part-{k:03d}.parquet"
        con.execute(f"COPY ({query}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
    con.close()
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    (folder / "done").touch()
    return path


#: Per row i, from hashes of i: arm a (1-4), size s (1-3), region r (1-4) and uniforms u1-u3.
DRAWS = """CAST(hash(i * 16 + 1) % 4 AS BIGINT) + 1 AS a,
    CAST(hash(i * 16 + 2) % 3 AS BIGINT) + 1 AS s,
    CAST(hash(i * 16 + 3) % 4 AS BIGINT) + 1 AS r,
    (hash(i * 16 + 4) % 1000003) / 1000003.0 AS u1,
    (hash(i * 16 + 5) % 1000003) / 1000003.0 AS u2,
    (hash(i * 16 + 6) % 1000003) / 1000003.0 AS u3"""


def _rows(lo: int, hi: int) -> str:
    return f"""
        WITH u AS (
            SELECT i,
                {DRAWS},
                (hash(i * 16 + 7) % 1000003 + 1) / 1000004.0 AS u4,
                (hash(i * 16 + 8) % 1000003) / 1000003.0 AS u5
            FROM range({lo}, {hi}) t(i)
        ), p AS (
            SELECT *,
                [0.05, 0.07, 0.06, 0.15][a] * [0.8, 1.0, 1.3][s] AS p_like,
                [0.020, 0.024, 0.028, 0.020][a] * [0.8, 1.0, 1.3][s] AS p_meet
            FROM u
        )
        SELECT i AS prospect_id,
            {list(ARMS)}[a] AS arm,
            ['small', 'mid', 'large'][s] AS size,
            ['na', 'emea', 'apac', 'latam'][r] AS region,
            CAST(u1 < p_like AS INTEGER) AS liked,
            CAST(u2 < p_meet AS INTEGER) AS meeting,
            CASE WHEN u2 < p_meet AND u3 < 0.4
                 THEN round(exp(7 + 0.9 * sqrt(-2 * ln(u4)) * cos(2 * pi() * u5)), 2)
                 ELSE 0 END AS revenue
        FROM p"""


# ---- measurements, each run in a child process -----------------------------------------------


def _channelab(spec_path: Path) -> dict:
    from channelab.pipeline import analyse
    from channelab.spec.loader import load_spec

    t = time.perf_counter()
    analysis = analyse(load_spec(spec_path))
    seconds = time.perf_counter() - t
    lifts = {f"{e.arm}:{e.metric}": round(e.lift.mean, 4) for e in analysis.effects.effects}
    verdicts = {a.arm: a.verdict for a in analysis.effects.arms}
    return {
        "seconds": seconds,
        **analysis.timings,
        "cells": analysis.cells.n_cells,
        "lifts": lifts,
        "verdicts": verdicts,
    }


def _io_floor(spec_path: Path) -> dict:
    files = sorted(str(p) for p in spec_path.parent.glob("part-*.parquet"))
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{SPEC['data']['memory_limit']}'")
    t = time.perf_counter()
    con.execute(
        "SELECT sum(liked), sum(meeting), sum(revenue), max(arm), max(size), max(region), max(prospect_id) "
        f"FROM read_parquet({files})"
    ).fetchall()
    return {"seconds": time.perf_counter() - t}


def _rows_frame(spec_path: Path):
    import pandas as pd

    parts = sorted(spec_path.parent.glob("part-*.parquet"))
    columns = ["prospect_id", "arm", "size", "region", *BINARY]
    return pd.concat([pd.read_parquet(p, columns=columns) for p in parts], ignore_index=True)


def _glm(spec_path: Path) -> dict:
    import numpy as np
    import pandas as pd
    import statsmodels.api as sm

    t = time.perf_counter()
    rows = _rows_frame(spec_path)
    x = pd.get_dummies(rows[["arm", "size", "region"]], drop_first=True, dtype=np.float64)
    x.insert(0, "const", 1.0)
    lifts = {}
    for name in BINARY:
        fit = sm.GLM(rows[name].to_numpy(np.float64), x, family=sm.families.Binomial()).fit()
        lifts[name] = {a: round(float(fit.params[f"arm_{a}"]), 4) for a in ARMS[1:]}
    return {"seconds": time.perf_counter() - t, "log_odds": lifts}


def _binary_spec(spec_path: Path):
    from channelab.spec.loader import load_spec

    spec = load_spec(spec_path)
    return spec.model_copy(update={"metrics": [m for m in spec.metrics if m.name in BINARY]})


def _cell_fit(spec):
    """Channelab's fit of the binary metrics: (posterior, seconds from rows to posterior)."""
    from channelab.analysis.model import build_model, sample
    from channelab.engine.aggregate import build_cells
    from channelab.engine.rows import open_source

    t = time.perf_counter()
    source = open_source(spec)
    cells = build_cells(source, spec)
    source.close()
    post = sample(build_model(cells, spec), spec, seed=spec.seed)
    return post, time.perf_counter() - t


def _leapfrog_steps(post, spec) -> float:
    """Gradient evaluations of a whole fit: the draws' leapfrog steps, scaled to tuning too."""
    steps = float(post["sample_stats"]["n_steps"].sum())
    return steps * (spec.sampler.tune + spec.sampler.draws) / spec.sampler.draws


def _row_level_estimate(model, steps: float, chains: int) -> tuple[float, float]:
    """(seconds per log-density + gradient evaluation, extrapolated seconds of a whole fit)."""
    import pytensor

    logp = model.logp()
    fn = model.compile_fn([logp, *pytensor.grad(logp, model.value_vars)])
    point = model.initial_point()
    fn(point)  # warm-up
    repeats = 10
    t = time.perf_counter()
    for _ in range(repeats):
        fn(point)
    per_eval = (time.perf_counter() - t) / repeats
    return per_eval, per_eval * steps / min(chains, os.cpu_count() or 1)


def _row_level(spec_path: Path) -> dict:
    """The row-level model's cost at the number of gradient evaluations its posterior needs.

    The row-level and cell likelihoods differ by a constant, so NUTS needs the same number of
    leapfrog steps on both; only the cost of a step differs. That count comes from channelab's
    own fit of the same model; the cost of a step is timed on the rows.
    """
    from rowlevel import row_model

    spec = _binary_spec(spec_path)
    post, cell_seconds = _cell_fit(spec)
    steps = _leapfrog_steps(post, spec)
    per_eval, seconds = _row_level_estimate(
        row_model(_rows_frame(spec_path), spec, BINARY), steps, spec.sampler.chains
    )
    return {"seconds": seconds, "cells_seconds": cell_seconds, "steps": steps, "per_eval": per_eval}


def _posterior_check(spec_path: Path) -> dict:
    """Both models fitted in full on a subset: posterior means, times, and the estimate's accuracy."""
    from channelab.analysis.model import resolve_backend
    from rowlevel import fit_rows, max_mean_gap, row_model

    folder = CACHE / f"check-{CHECK_N}"
    folder.mkdir(parents=True, exist_ok=True)
    duckdb.execute(
        f"COPY (SELECT * FROM read_parquet('{spec_path.parent}/part-*.parquet') "
        f"WHERE prospect_id < {CHECK_N}) TO '{folder / 'part-000.parquet'}' (FORMAT parquet)"
    )
    (folder / "spec.yaml").write_text(yaml.safe_dump(SPEC, sort_keys=False))
    spec = _binary_spec(folder / "spec.yaml")
    post_cells, t_cells = _cell_fit(spec)
    model = row_model(_rows_frame(folder / "spec.yaml"), spec, BINARY)
    _, estimate = _row_level_estimate(model, _leapfrog_steps(post_cells, spec), spec.sampler.chains)
    t = time.perf_counter()
    post_rows = fit_rows(model, spec, resolve_backend(spec.sampler.backend), seed=spec.seed + 1)
    t_rows = time.perf_counter() - t
    return {
        "cells_seconds": t_cells,
        "rows_seconds": t_rows,
        "rows_estimate": estimate,
        "max_gap_mcse": max_mean_gap(post_cells, post_rows),
    }


MEASURES = {
    "channelab": _channelab,
    "io": _io_floor,
    "glm": _glm,
    "rows": _row_level,
    "check": _posterior_check,
}


def measure(kind: str, n: int) -> dict:
    """Run one measurement in a new process; its result with the process's peak RSS in MB."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH", "")]),
    }
    with tempfile.TemporaryFile("w+") as err:  # the sampler's chatter; shown only on failure
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", kind, str(n)],
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            text=True,
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"measurement {kind} at {n:,} rows failed ({proc.returncode}):\n{err.read()}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--skip-rows", action="store_true", help="skip the row-level PyMC runs")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, n = args.child
        print(json.dumps(MEASURES[kind](generate(int(n)))))
        return

    results: dict[int, dict[str, dict]] = {}
    for n in args.sizes:
        t = time.perf_counter()
        generate(n)
        print(f"{n:>12,} rows: data ready in {time.perf_counter() - t:.0f} s", flush=True)
        results[n] = {"channelab": measure("channelab", n), "io": measure("io", n)}
        if n <= GLM_MAX_ROWS:
            results[n]["glm"] = measure("glm", n)
        r = results[n]
        ours = r["channelab"]
        line = (
            f"{n:>12,} rows: channelab {ours['seconds']:6.1f} s, {ours['peak_mb']:5.0f} MB "
            f"({ours['cells']} cells; validate {ours['validate']:.1f} s) | "
            f"I/O floor {r['io']['seconds']:5.1f} s, {r['io']['peak_mb']:5.0f} MB"
        )
        if "glm" in r:
            line += (
                f" | GLM {r['glm']['seconds']:6.1f} s, {r['glm']['peak_mb']:5.0f} MB "
                f"-> GLM / channelab {r['glm']['seconds'] / r['channelab']['seconds']:.1f}x"
            )
        print(line, flush=True)
    sizes = sorted(results)
    if len(sizes) >= 2:
        a, b = sizes[-2], sizes[-1]
        grow = {k: results[b][k]["seconds"] / results[a][k]["seconds"] for k in ("channelab", "io")}
        grow_validate = results[b]["channelab"]["validate"] / results[a]["channelab"]["validate"]
        print(
            f"growth {a:,} -> {b:,} rows: channelab {grow['channelab']:.1f}x "
            f"(reading + checks + cells {grow_validate:.1f}x), I/O floor {grow['io']:.1f}x"
        )
    if not args.skip_rows:
        check = measure("check", ROWS_N)
        print(
            f"same posterior at {CHECK_N:,} rows (2 binary metrics): cells {check['cells_seconds']:.1f} s, "
            f"row-level PyMC {check['rows_seconds']:.1f} s (estimated from gradient cost "
            f"{check['rows_estimate']:.1f} s); max |difference of posterior means| "
            f"{check['max_gap_mcse']:.2f} Monte Carlo standard errors (independent seeds)",
            flush=True,
        )
        rows = measure("rows", ROWS_N)
        print(
            f"row-level PyMC at {ROWS_N:,} rows (2 binary metrics): {rows['steps']:,.0f} gradient "
            f"evaluations x {rows['per_eval'] * 1e3:.0f} ms / {min(4, os.cpu_count() or 1)} cores = "
            f"{rows['seconds'] / 60:.0f} min (extrapolated) vs channelab {rows['cells_seconds']:.1f} s "
            f"-> row-level / channelab {rows['seconds'] / rows['cells_seconds']:.0f}x"
        )


if __name__ == "__main__":
    main()
