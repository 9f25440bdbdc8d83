"""What a `channelab run` costs, first and repeat, against a statsmodels process on the same data.

Two data sets, each analysed as a user runs it (`channelab run`, PDF and JSON included), every
measurement in its own process so that its wall time and peak memory are its own:

- Hillstrom (64,000 rows of CSV, three metrics with three covariates);
- a simulated outreach log of 10M rows (Parquet parts, four arms, two covariates, two binary
  metrics and revenue, read under a 500 MB DuckDB memory limit; `benchmarks/scale.py` writes
  it once under `benchmarks/.cache/`); with `--rows 100000000` a 100M-row log too.

For each: channelab's first run (an empty compile cache: a fresh PyTensor `base_compiledir`),
its repeat run (the cache warm), and, for Hillstrom, a run on other data of the same structure
(a 90 % subsample, which reuses the compiled model). Baselines in the same run:

- a Python process that reads the same data with pandas and fits the frequentist models with
  statsmodels (a logit per binary metric and OLS with HC1 errors for money, on the arm and the
  covariates); skipped above 10M rows, where the rows do not fit in pandas comfortably;
- the I/O floor: DuckDB reading the used columns with trivial aggregates.

Prints each wall time, its ratio to both baselines, the peak resident memory, and the share of
imports, reading + checks + cells, compile, sampling, effects and rendering in the run.

Then the commands a user waits for, each a process against its target (`--commands`, on by
default): `validate` of the flagship; a first run of a new two-arm spec (a binary and a revenue
metric, names never used before) and of the flagship right after `channelab warm-up` on an empty
cache, as `make report` leaves a new machine; `monitor` of the monitored example and `design` of the
pilot, each twice on that cache (warm-up, then the flagship): first (compiling the structures it
lacks), then again.

    python benchmarks/speed.py [--repeats 2] [--rows 10000000 100000000] [--no-commands | --commands-only]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from scale import generate  # noqa: E402  (writes the simulated logs once)

HILLSTROM_SPEC = ROOT / "experiments" / "hillstrom_email.yaml"
HILLSTROM = ROOT / "data" / "hillstrom.csv"
GLM_MAX_ROWS = 10_000_000

CHILD = """
import json, resource, sys, time
start = time.perf_counter()
from channelab.app import run_experiment
imported = time.perf_counter()
steps = {}
def on_step(name, t=[None, None]):
    now = time.perf_counter()
    if t[0] is not None:
        steps[t[0]] = steps.get(t[0], 0) + now - t[1]
    t[0], t[1] = name.split(" (")[0], now
data = sys.argv[3] if len(sys.argv) > 3 else None
report = run_experiment(sys.argv[1], out_dir=sys.argv[2], data=data, on_step=on_step)
on_step("end")
timings = dict(report.analysis.timings)
render = steps.get("Drawing figures and writing the PDF, JSON and HTML", 0)
total = time.perf_counter() - start
print(json.dumps({"imports": imported - start, "render": render, **timings, "total_in_process": total}))
"""

HILLSTROM_GLM = """
import sys
import pandas as pd, statsmodels.formula.api as smf
rows = pd.read_csv(sys.argv[1])
f = "~ C(segment, Treatment('No E-Mail')) + C(zip_code) + C(channel) + newbie"
smf.logit("visit " + f, rows).fit(disp=0)
smf.logit("conversion " + f, rows).fit(disp=0)
smf.ols("spend " + f, rows).fit(cov_type="HC1")
"""

HILLSTROM_FLOOR = """
import sys, duckdb
duckdb.sql("SELECT segment, zip_code, channel, newbie, count(*), sum(visit), sum(conversion), sum(spend), "
           "sum(spend * spend) FROM read_csv(?) GROUP BY ALL", params=[sys.argv[1]]).fetchall()
"""

LOG_GLM = """
import sys, glob
import numpy as np, pandas as pd, statsmodels.api as sm
parts = sorted(glob.glob(sys.argv[1] + "/part-*.parquet"))
cols = ["arm", "size", "region", "liked", "meeting", "revenue"]
rows = pd.concat([pd.read_parquet(p, columns=cols) for p in parts], ignore_index=True)
codes = [pd.Categorical(rows.pop(c)).codes for c in ("arm", "size", "region")]
dummies = [(c, j) for c in codes for j in range(1, int(c.max()) + 1)]
x = np.ones((len(rows), 1 + len(dummies)))  # the design matrix, built without a frame of dummies
for k, (c, j) in enumerate(dummies, start=1):
    x[:, k] = c == j
for name in ("liked", "meeting"):
    sm.GLM(rows[name].to_numpy(np.float64), x, family=sm.families.Binomial()).fit()
sm.OLS(rows["revenue"].to_numpy(np.float64), x).fit(cov_type="HC1")
"""

LOG_FLOOR = """
import sys, glob, duckdb
parts = sorted(glob.glob(sys.argv[1] + "/part-*.parquet"))
con = duckdb.connect()
con.execute("SET memory_limit = '500MB'")
con.execute("SELECT arm, size, region, count(*), sum(liked), sum(meeting), sum(revenue), "
            "sum(revenue * revenue), max(prospect_id) FROM read_parquet(?) GROUP BY ALL", [parts]).fetchall()
"""


@dataclass(frozen=True)
class Case:
    """A data set: its spec, the baselines' scripts and their argument."""

    label: str
    spec: Path
    glm: str | None
    floor: str
    data_arg: str


def run(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a process: (wall seconds, peak resident MB of that process alone, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(args[:4])} failed (exit {os.waitstatus_to_exitcode(status)})")
    return wall, usage.ru_maxrss / 1024, out


def channelab(spec: Path, cache: Path, out: Path, data: Path | None = None) -> dict:
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={cache}", "MPLBACKEND": "Agg"}
    args = [sys.executable, "-c", CHILD, str(spec), str(out), *([str(data)] if data else [])]
    wall, peak, text = run(args, env)
    return {"wall": wall, "peak_mb": peak, **json.loads(text.strip().splitlines()[-1])}


def baseline(script: str, arg: str, repeats: int = 2) -> tuple[float, float]:
    """(fastest wall seconds, its peak MB) of a baseline process."""
    return min(run([sys.executable, "-c", script, arg])[:2] for _ in range(repeats))


def measure(case: Case, tmp: Path, repeats: int, other: Path | None) -> None:
    cache = tmp / f"cache-{case.label}"
    out = tmp / "out"
    runs = {"first run (empty cache)": channelab(case.spec, cache, out)}
    again = sorted((channelab(case.spec, cache, out) for _ in range(repeats)), key=lambda r: r["wall"])
    runs["repeat run"] = again[len(again) // 2]
    if other is not None:
        runs["other data, same structure"] = channelab(case.spec, cache, out, other)
    glm = baseline(case.glm, case.data_arg) if case.glm else None
    floor = baseline(case.floor, case.data_arg)
    head = f"\n{case.label}: DuckDB I/O floor process {floor[0]:.1f} s ({floor[1]:.0f} MB)"
    if glm:
        head += f"; statsmodels GLM process {glm[0]:.1f} s ({glm[1]:.0f} MB)"
    print(head)
    print(
        f"{'channelab run':<28}{'wall s':>7}{'÷ GLM':>7}{'÷ floor':>8}{'peak MB':>9}   "
        "share of in-process time"
    )
    for label, r in runs.items():
        total = r["total_in_process"]
        parts = {
            "imports": r["imports"],
            "read+checks+cells": r.get("validate", 0),
            "compile": r.get("compile_seconds", 0),
            "sampling": r.get("sampling_seconds", 0),
            "effects": r.get("effects", 0),
            "render": r["render"],
        }
        parts["imports on first use, other"] = total - sum(parts.values())
        shares = ", ".join(f"{k} {v:.1f} s ({100 * v / total:.0f} %)" for k, v in parts.items())
        ratio = f"{r['wall'] / glm[0]:>7.1f}" if glm else f"{'-':>7}"
        print(
            f"{label:<28}{r['wall']:>7.1f}{ratio}{r['wall'] / floor[0]:>8.1f}{r['peak_mb']:>9.0f}   {shares}",
            flush=True,
        )


NEW_SPEC = """
name: new_inmail_test
data: {path: new_inmail_test.csv}
unit: {kind: prospect, id: unit_id}
arm_column: arm
control: control
arms:
  control: {channel: control}
  treatment: {channel: social}
metrics:
  - {name: answered, role: engagement, type: binary}
  - {name: deal_value, role: revenue, type: revenue}
seed: 11
"""


def cli(args: list[str], cache: Path) -> float:
    """Wall seconds of one ``channelab`` command in its own process."""
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={cache}", "MPLBACKEND": "Agg"}
    return run([str(Path(sys.executable).parent / "channelab"), *args], env)[0]


def commands(tmp: Path) -> None:
    """The commands a user waits for, each against its target."""
    from channelab.simulate.ab import SimMetric, simulate_ab

    metrics = {
        "answered": SimMetric("binary", 0.1, {"treatment": 0.2}),
        "deal_value": SimMetric("revenue", 0.05),
    }
    rows, _ = simulate_ab(n_per_arm=5000, arms=("control", "treatment"), metrics=metrics, seed=3)
    rows.drop(columns="segment").to_csv(tmp / "new_inmail_test.csv", index=False)
    (tmp / "new_inmail_test.yaml").write_text(NEW_SPEC)
    empty, out = tmp / "cache-new", str(tmp / "out")
    warm_up = cli(["warm-up"], empty)
    timed = [
        ("validate, flagship", min(cli(["validate", str(HILLSTROM_SPEC)], empty) for _ in range(3)), 1.5),
        (
            f"new 2-arm spec, first run after warm-up ({warm_up:.0f} s)",
            cli(["run", str(tmp / "new_inmail_test.yaml"), "--out", out], empty),
            10,
        ),
        ("flagship, first run after warm-up", cli(["run", str(HILLSTROM_SPEC), "--out", out], empty), 10),
    ]
    for command, spec, target in (
        ("monitor", "social_selling_monitor", 15),
        ("design", "social_selling_pilot", 60),
    ):
        args = [command, str(ROOT / "experiments" / f"{spec}.yaml"), "--out", out]
        first = cli(args, empty)  # compiles the structures warm-up and the flagship did not
        timed += [
            (f"{command}, {spec}, first (compiles)", first, target),
            (f"{command}, {spec}, again", cli(args, empty), target),
        ]
    print(f"\n{'command':<52}{'wall s':>8}{'target s':>10}")
    for label, wall, target in timed:
        print(f"{label:<52}{wall:>8.1f}{target:>10.1f}{'  over' if wall > target else ''}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=2, help="repeat runs (the median is shown)")
    parser.add_argument("--rows", type=int, nargs="*", default=[10_000_000], help="simulated log sizes")
    parser.add_argument(
        "--no-commands", action="store_true", help="skip validate, first run, monitor, design"
    )
    parser.add_argument(
        "--commands-only", action="store_true", help="only validate, first run, monitor, design"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        import pandas as pd

        other = tmp_path / "hillstrom_90.csv"
        pd.read_csv(HILLSTROM).sample(frac=0.9, random_state=1).to_csv(other, index=False)
        hillstrom = Case(
            "Hillstrom (64,000 rows)", HILLSTROM_SPEC, HILLSTROM_GLM, HILLSTROM_FLOOR, str(HILLSTROM)
        )
        if args.commands_only:  # the Hillstrom cache the commands start from, without timing it
            cli(
                ["run", str(HILLSTROM_SPEC), "--out", str(tmp_path / "out")],
                tmp_path / f"cache-{hillstrom.label}",
            )
            commands(tmp_path)
            return
        measure(hillstrom, tmp_path, args.repeats, other)
        if not args.no_commands:
            commands(tmp_path)
        for n in args.rows:
            spec = generate(n)
            glm = LOG_GLM if n <= GLM_MAX_ROWS else None
            log = Case(f"simulated log ({n:,} rows)", spec, glm, LOG_FLOOR, str(spec.parent))
            measure(log, tmp_path, args.repeats, None)


if __name__ == "__main__":
    main()
