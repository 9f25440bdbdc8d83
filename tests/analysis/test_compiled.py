"""The compiled model is paid for once: a second process loads nutpie's wrappers from the cache
and draws exactly what the first drew from the same seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import json, sys
import numpy as np
import nutpie
import pymc as pm
from channelab.analysis.compiled import compile_nutpie

with pm.Model() as model:
    arm = pm.Normal("arm", 0, 1, shape=3)
    pm.Binomial("y", n=np.array([100, 120, 90]), p=pm.math.invlogit(arm), observed=np.array([10, 30, 20]))
compiled = compile_nutpie(model)
draws = nutpie.sample(compiled, draws=200, tune=200, chains=2, cores=1, seed=7, progress_bar=False)
print(json.dumps({
    "hits": [compiled.compiled_logp_func.cache_hits, compiled.compiled_expand_func.cache_hits],
    "draws": draws["posterior"]["arm"].to_numpy().ravel()[:50].tolist(),
}))
"""


@pytest.mark.slow
def test_a_second_process_loads_the_compiled_model_and_draws_the_same(tmp_path: Path):
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path}"}

    def run() -> dict:
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
        ).stdout
        return json.loads(out.strip().splitlines()[-1])

    first, second = run(), run()
    assert first["hits"] == [0, 0]
    assert second["hits"] == [1, 1]  # both wrappers loaded from disk, not compiled
    assert second["draws"] == first["draws"]  # bit for bit, whatever the state of the cache
