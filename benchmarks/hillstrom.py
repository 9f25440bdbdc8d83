"""Cells vs rows on the Hillstrom conversion model, plus the whole `channelab run`.

The same model (intercept + arm + zero-sum zip_code, channel and newbie effects; same priors,
sampler and seed) is fitted twice in this process: from the 54 cells (Binomial) as channelab
does, and from the 64,000 rows (Bernoulli) as a row-level PyMC model would. Prints both wall
times, their ratio, and the largest difference of posterior means in Monte Carlo standard
errors. Then times a full `run_experiment` (three metrics, PDF and JSON) with warm caches.

    python benchmarks/hillstrom.py [--backend nutpie|pymc] [--skip-rows]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from channelab.analysis.model import build_model, resolve_backend, sample
from channelab.app import run_experiment
from channelab.engine.aggregate import build_cells
from channelab.engine.rows import open_source
from channelab.spec import load_spec
from rowlevel import fit_rows, max_mean_gap, row_model

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "experiments" / "hillstrom_email.yaml"


def conversion_only(backend: str):
    spec = load_spec(SPEC)
    metrics = [m for m in spec.metrics if m.name == "conversion"]
    sampler = spec.sampler.model_copy(update={"backend": backend})
    return spec.model_copy(update={"metrics": metrics, "sampler": sampler})


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="auto", choices=["auto", "nutpie", "pymc"])
    parser.add_argument("--skip-rows", action="store_true", help="skip the slow row-level fit")
    args = parser.parse_args()
    backend = resolve_backend(args.backend)
    spec = conversion_only(backend)

    def fit_cells():
        source = open_source(spec)
        cells = build_cells(source, spec)
        return sample(build_model(cells, spec), spec, seed=spec.seed), cells.n_cells

    (post_cells, n_cells), t_cells = timed(fit_cells)
    print(
        f"sampler: {backend}, {spec.sampler.chains} chains x {spec.sampler.draws} draws "
        f"(+{spec.sampler.tune} tune)"
    )
    print(f"cells ({n_cells} cells):   {t_cells:8.1f} s  (read + aggregate + compile + sample)")

    if not args.skip_rows:
        # Another seed, so the comparison is between independent chains (with the same seed the
        # two likelihoods, equal up to a constant, have equal gradients and follow one path).
        rows = duckdb.sql(f"SELECT * FROM read_csv('{spec.data_path}')").df()
        model = row_model(rows, spec, ["conversion"])
        post_rows, t_rows = timed(lambda: fit_rows(model, spec, backend, seed=spec.seed + 1))
        print(f"rows (64,000 rows):  {t_rows:8.1f} s")
        print(f"ratio rows / cells:  {t_rows / t_cells:8.1f} x")
        print(
            "max |difference of posterior means|: "
            f"{max_mean_gap(post_cells, post_rows):.2f} Monte Carlo standard errors (independent seeds)"
        )

    with tempfile.TemporaryDirectory() as out:
        run_experiment(SPEC, out_dir=out)  # warm-up: compiler caches, imports
        _, t_run = timed(lambda: run_experiment(SPEC, out_dir=out))
        cli = [sys.executable, "-m", "channelab", "run", str(SPEC), "--out", out]
        _, t_cli = timed(lambda: subprocess.run(cli, check=True, capture_output=True))
    print(f"channelab run hillstrom_email (3 metrics, PDF + JSON), in process, warm: {t_run:.1f} s")
    print(f"the same as a new CLI process (imports and compilation included):    {t_cli:.1f} s")


if __name__ == "__main__":
    main()
