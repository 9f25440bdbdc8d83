"""What a `channelab run` costs, first and repeat, against a statsmodels process on the same file.

On Hillstrom (64,000 rows, three metrics with covariates, PDF and JSON), each in its own
process, as a user runs them:

- channelab, first run: an empty compile cache (a fresh PyTensor ``base_compiledir``);
- channelab, repeat run of the same experiment (the cache warm);
- channelab on other data of the same structure (a 90 % subsample of the rows): the data are
  constants of the compiled graph, so this compiles again;
- the baseline: a Python process that reads the CSV with pandas and fits the three frequentist
  GLMs with statsmodels (logit visit, logit conversion, OLS spend with HC1 errors);
- the I/O floor: DuckDB reading the used columns with trivial aggregates.

Prints each wall time, its ratio to the statsmodels process, and the share of compile,
sampling, rendering and reading in channelab's own timings.

    python benchmarks/speed.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "experiments" / "hillstrom_email.yaml"
DATA = ROOT / "data" / "hillstrom.csv"

CHILD = """
import json, sys, time
start = time.perf_counter()
from channelab.app import run_experiment
from channelab.engine.rows import open_source  # noqa: F401  (imports counted like the CLI's)
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
render = steps.get("Drawing figures and writing the PDF and JSON", 0)
total = time.perf_counter() - start
print(json.dumps({"imports": imported - start, "render": render, **timings, "total_in_process": total}))
"""

GLM = """
import pandas as pd, statsmodels.formula.api as smf
rows = pd.read_csv(sys.argv[1])
f = "~ C(segment, Treatment('No E-Mail')) + C(zip_code) + C(channel) + newbie"
smf.logit("visit " + f, rows).fit(disp=0)
smf.logit("conversion " + f, rows).fit(disp=0)
smf.ols("spend " + f, rows).fit(cov_type="HC1")
"""

FLOOR = """
import duckdb
duckdb.sql("SELECT segment, zip_code, channel, newbie, count(*), sum(visit), sum(conversion), sum(spend), "
           "sum(spend * spend) FROM read_csv(?) GROUP BY ALL", params=[sys.argv[1]]).fetchall()
"""


def timed(args: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - start, out


def channelab(cache: Path, out: Path, data: Path | None = None) -> dict:
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={cache}", "MPLBACKEND": "Agg"}
    args = [sys.executable, "-c", CHILD, str(SPEC), str(out), *([str(data)] if data else [])]
    wall, out_text = timed(args, env)
    return {"wall": wall, **json.loads(out_text.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=2, help="repeat runs (the median is shown)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        import pandas as pd

        other = tmp_path / "hillstrom_90.csv"
        pd.read_csv(DATA).sample(frac=0.9, random_state=1).to_csv(other, index=False)
        cache = tmp_path / "cache"
        runs = {"first run (empty cache)": channelab(cache, tmp_path / "out")}
        repeats = [channelab(cache, tmp_path / "out") for _ in range(args.repeats)]
        runs["repeat run"] = sorted(repeats, key=lambda r: r["wall"])[len(repeats) // 2]
        runs["other data, same structure"] = channelab(cache, tmp_path / "out", other)
        glm = min(timed([sys.executable, "-c", "import sys\n" + GLM, str(DATA)])[0] for _ in range(2))
        floor = min(timed([sys.executable, "-c", "import sys\n" + FLOOR, str(DATA)])[0] for _ in range(2))
    print(f"statsmodels GLM process: {glm:.1f} s;  DuckDB I/O floor process: {floor:.1f} s\n")
    print(f"{'channelab run':<30}{'wall s':>8}{'÷ GLM':>8}{'÷ floor':>9}   share of in-process time")
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
        shares = ", ".join(f"{k} {v:.1f} s ({100 * v / total:.0f} %)" for k, v in parts.items())
        print(f"{label:<30}{r['wall']:>8.1f}{r['wall'] / glm:>8.1f}{r['wall'] / floor:>9.1f}   {shares}")


if __name__ == "__main__":
    main()
