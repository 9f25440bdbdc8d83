"""The compiled model is paid for once per structure.

A second process with the same data, or with other data of the same structure, loads the
compiled model from the cache without building the PyMC graph, and draws exactly what a run
with an empty cache draws from the same seed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parents[1]

SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from helpers import spec_dict
from channelab.analysis.model import build_model, sample
from channelab.engine.aggregate import build_cells
from channelab.engine.source import frame_source
from channelab.simulate.ab import SimMetric, simulate_ab
from channelab.spec import parse_spec

if sys.argv[5:] == ["fallback"]:  # as with a nutpie outside the tested range: no disk cache
    import channelab.analysis.compiled as compiled_module
    compiled_module._NUTPIE_VERSION = "not-this-version"
arms = ("control", "treatment", "other")[: int(sys.argv[4])]
spec = parse_spec(spec_dict("unused.csv", [{"name": "y", "role": "outcome", "type": "binary"}],
                            sampler={"draws": 200, "tune": 200, "chains": 2, "backend": "nutpie"},
                            arms={a: {"channel": "control" if a == "control" else "email"} for a in arms}))
metric = SimMetric("binary", 0.1, {"treatment": 0.3})
rows, _ = simulate_ab(n_per_arm=int(sys.argv[3]), arms=arms, metrics={"y": metric}, seed=int(sys.argv[2]))
built = build_model(build_cells(frame_source(rows), spec), spec)
graphs = []
block_graph = built._block_graph
built._block_graph = lambda metric: graphs.append(metric.name) or block_graph(metric)
compiles_first = built.compiles_first
compiled = built.compiled(0)
posterior = sample(built, spec, seed=7)["posterior"]
print(json.dumps({
    "graph_built": bool(graphs),
    "compiles_first": compiles_first,
    "compiled_after": built.compiles_first,
    "hits": [getattr(compiled.compiled_logp_func, "cache_hits", None),
             getattr(compiled.compiled_expand_func, "cache_hits", None)],
    "draws": posterior["y:arm"].to_numpy().ravel()[:50].tolist(),
}))
"""


def _run(cache: Path, data_seed: int, n_per_arm: int = 1500, arms: int = 2, *extra: str) -> dict:
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={cache}"}
    args = [sys.executable, "-c", SCRIPT, str(TESTS), str(data_seed), str(n_per_arm), str(arms), *extra]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_later_processes_load_the_compiled_model_and_draw_as_a_cold_run_does(tmp_path: Path):
    """A repeat, other data, other sizes, the fallback path and a damaged cache: seven processes."""
    first = _run(tmp_path / "shared", data_seed=1)
    assert first["compiles_first"]  # the run says it compiles (the CLI shows a line)
    assert not first["compiled_after"]
    assert first["graph_built"]
    assert first["hits"] == [0, 0]

    repeat = _run(tmp_path / "shared", data_seed=1)
    assert not repeat["compiles_first"]
    assert not repeat["graph_built"]  # no PyMC graph, no PyTensor rewriting
    assert repeat["hits"] == [1, 1]  # both C wrappers loaded from disk
    assert repeat["draws"] == first["draws"]  # bit for bit

    # other data of the same structure (another sample, another number of units): a cache hit
    # (that it draws what a run on an empty cache draws is checked below, with other sizes too)
    other = _run(tmp_path / "shared", data_seed=2, n_per_arm=900)
    assert not other["graph_built"]
    assert other["hits"] == [1, 1]
    assert other["draws"] != first["draws"]

    # a nutpie outside the tested range (pyproject's pin) compiles through nutpie's public
    # compile_pymc_model, caching nothing, and draws what the cached path draws: nutpie cuts the
    # parameter vector at constant offsets, so the arithmetic differs in the last bits only
    fallback = _run(tmp_path / "shared", 2, 900, 2, "fallback")
    assert fallback["compiles_first"]  # the disk cache is not read
    assert fallback["graph_built"]
    np.testing.assert_allclose(fallback["draws"], other["draws"], rtol=0, atol=1e-9)

    # other data with another number of arms (and of the covariate's levels): the same compiled
    # model, laid out for the new sizes
    cache = tmp_path / "shared"
    wider = _run(cache, data_seed=3, n_per_arm=900, arms=3)
    assert not wider["graph_built"]
    assert wider["hits"] == [1, 1]
    assert len(wider["draws"]) == 50

    # truncated files of numba's cache (or of the entry) cost one compile, never a failed run.
    # The new build, compiled from the 3-arm model, draws exactly what the 2-arm build laid out
    # for 3 arms drew, replaces the damaged one, and serves 2 arms as the first build did.
    for path in [*(cache / "numba").glob("*channelab_*"), *(cache / "channelab").glob("*.json")]:
        path.write_bytes(path.read_bytes()[:40])
    again = _run(cache, data_seed=3, n_per_arm=900, arms=3)
    assert again["hits"] == [0, 0]
    assert again["draws"] == wider["draws"]
    rebuilt = _run(cache, data_seed=1)
    assert rebuilt["hits"] == [1, 1]
    assert rebuilt["draws"] == first["draws"]


def test_the_key_follows_the_structure_not_the_data():
    from channelab.analysis.model import build_model
    from channelab.engine.aggregate import build_cells
    from channelab.engine.source import frame_source
    from channelab.simulate.ab import SimMetric, simulate_ab
    from channelab.spec import parse_spec
    from helpers import spec_dict

    def key(seed: int, n: int, arms: tuple[str, ...] = ("control", "treatment"), **overrides) -> str:
        metrics = [{"name": "y", "role": "outcome", "type": "binary"}]
        channels = {a: {"channel": "control" if a == "control" else "email"} for a in arms}
        spec = parse_spec(spec_dict("unused.csv", metrics, arms=channels, **overrides))
        metric = SimMetric("binary", 0.1, {"treatment": 0.3})
        rows, _ = simulate_ab(n_per_arm=n, arms=arms, metrics={"y": metric}, seed=seed)
        return build_model(build_cells(frame_source(rows), spec), spec).keys[0]

    base = key(1, 1500)
    assert key(2, 900) == base  # other data, same structure
    assert key(1, 900, arms=("control", "treatment", "other")) == base  # other sizes: one compiled model
    assert key(1, 1500, priors={"arm_sd": 1.0}) != base  # a prior is part of the graph
    assert key(1, 1500, covariates=[]) != base  # so is a covariate


# ---- a damaged or unusable cache ----------------------------------------------------------


def test_a_damaged_entry_is_a_miss_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from channelab.analysis import compiled

    entry = tmp_path / "entry.json"
    monkeypatch.setattr(compiled, "_entry_path", lambda key: entry)
    for damaged in (b'{"n": 3, "m"', b"[1, 2]", b'{"n": "x"}', b"\xff\xfe", b"[" * 100_000):
        entry.write_bytes(damaged)
        assert compiled._load("k" * 64, {}) is None
    entry.unlink()
    entry.mkdir()  # a folder where the entry should be
    assert compiled._load("k" * 64, {}) is None


def test_an_entry_is_read_within_a_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from channelab.analysis import compiled

    entry = tmp_path / "entry.json"
    with entry.open("wb") as f:
        f.truncate(50_000_000_000)  # sparse: 50 GB of zeros, never read whole
    monkeypatch.setattr(compiled, "_entry_path", lambda key: entry)
    monkeypatch.setattr(compiled, "MAX_CACHE_ENTRY_BYTES", 1_000)
    assert compiled._load("k" * 64, {}) is None


class _Inner:
    def __init__(self, load: Exception | None = None, save: Exception | None = None) -> None:
        self.load, self.save, self.flushed = load, save, False

    def load_overload(self, sig, ctx):
        if self.load:
            raise self.load
        return "cached"

    def save_overload(self, sig, data):
        if self.save:
            raise self.save

    def flush(self):
        self.flushed = True


def test_a_truncated_wrapper_is_compiled_again_over_an_emptied_index():
    import pickle

    from channelab.analysis.callbacks import SafeCache as _SafeCache

    for damage in (pickle.UnpicklingError("pickle data was truncated"), EOFError(), AttributeError("x")):
        inner = _Inner(load=damage)
        assert _SafeCache(inner, "w").load_overload(None, None) is None  # numba then compiles
        assert inner.flushed  # and saves the new build in place of the damaged one
    assert _SafeCache(_Inner(), "w").load_overload(None, None) == "cached"


def test_a_cache_that_cannot_be_written_is_skipped_with_a_warning():
    from channelab.analysis.callbacks import SafeCache as _SafeCache

    cache = _SafeCache(_Inner(save=PermissionError(13, "Permission denied")), "channelab_logp")
    with pytest.warns(UserWarning, match="cannot write numba's cache of channelab_logp"):
        cache.save_overload(None, None)


def test_a_failing_cache_falls_back_to_an_uncached_compile(monkeypatch: pytest.MonkeyPatch):
    import pickle

    from channelab.analysis import compiled

    def broken(model, key):
        raise pickle.UnpicklingError("pickle data was truncated")

    monkeypatch.setattr(compiled, "_compile", broken)
    monkeypatch.setattr(compiled, "_load", lambda key, coords: None)
    monkeypatch.setattr(compiled, "_uncached", lambda model: ("uncached", model))
    with pytest.warns(UserWarning, match="compiled without it"):
        assert compiled._cached("k" * 64, lambda: "model", {}) == ("uncached", "model")


def test_the_entry_writer_fails_plainly_and_leaves_no_temporary(tmp_path: Path):
    from channelab.analysis.compiled import _write_atomically

    (tmp_path / "channelab").write_text("not a folder")
    with pytest.raises(FileExistsError):  # _compile turns it into a warning
        _write_atomically(tmp_path / "channelab" / "k.json", "{}")
    read_only = tmp_path / "ro"
    read_only.mkdir()
    (read_only / "k.json").mkdir()  # os.replace cannot put a file over a folder
    with pytest.raises(IsADirectoryError):
        _write_atomically(read_only / "k.json", "{}")
    assert [p.name for p in read_only.iterdir()] == ["k.json"]  # no temporary left behind


@pytest.mark.parametrize("broken", ["base", "numba"])
def test_an_unusable_compile_folder_is_named_before_compiling(tmp_path: Path, broken: str):
    from channelab.analysis.compiled import _check_compile_folder
    from channelab.errors import OutputError

    base = tmp_path / "cache"
    if broken == "base":
        base.write_text("")
    else:
        base.mkdir()
        (base / "numba").write_text("")
    with pytest.raises(OutputError, match=r"compile folder is a file, not a folder.*PYTENSOR_FLAGS"):
        _check_compile_folder(base, lambda: None)
    _check_compile_folder(tmp_path / "absent", lambda: None)  # created by PyTensor when needed


def test_a_read_only_compile_folder_is_named_not_blamed_on_the_data(tmp_path: Path):
    """PyTensor refuses a folder it cannot write with a ValueError, once read as "degenerate cells"."""
    from channelab.analysis.compiled import _check_compile_folder
    from channelab.errors import OutputError

    def read_only() -> None:
        raise ValueError(
            f"compiledir '{tmp_path}' exists but you don't have read, write or listing permissions."
        )

    with pytest.raises(OutputError, match=r"PyTensor cannot use its compile folder.*don't have read, write"):
        _check_compile_folder(tmp_path, read_only)


@pytest.mark.slow
def test_the_trace_read_from_nutpies_arrow_batches_is_nutpies_own():
    """channelab reads nutpie's raw trace itself (a third of a small fit's time went to nutpie's
    conversion): the same draws, dims, coordinates and divergences as ``nutpie.sample`` returns."""
    import numpy as np
    import nutpie

    from channelab.analysis.model import build_model
    from channelab.analysis.sampler import _STATS, start_nutpie
    from channelab.engine.aggregate import frame_cells
    from channelab.simulate.ab import SimMetric, simulate_ab
    from channelab.spec import parse_spec
    from helpers import spec_dict

    spec = parse_spec(
        spec_dict("unused.csv", [{"name": "money", "role": "revenue", "type": "revenue"}],
                  arms={"control": {"channel": "control"}, "email": {"channel": "email"},
                        "phone": {"channel": "phone"}})
    )  # fmt: skip
    metric = SimMetric("revenue", 0.1, {"email": 0.2}, amount=50.0, sigma=1.0)
    arms = ("control", "email", "phone")
    rows, _ = simulate_ab(n_per_arm=800, arms=arms, metrics={"money": metric}, seed=3)
    compiled = build_model(frame_cells(rows, spec), spec).compiled(0)
    cfg = spec.sampler.model_copy(update={"draws": 200, "tune": 200, "chains": 2})
    ours = start_nutpie(compiled, cfg, seed=11, adaptation="diag").wait()
    theirs = nutpie.sample(
        compiled, draws=200, tune=200, chains=2, cores=2, seed=11, save_warmup=False,
        target_accept=cfg.target_accept, adaptation="diag", progress_bar=False,
    )  # fmt: skip
    mine, nutpies = ours["posterior"].to_dataset(), theirs["posterior"].to_dataset()
    assert set(mine.data_vars) == set(nutpies.data_vars)
    assert any(v.ndim > 2 for v in mine.data_vars.values())  # a vector parameter, with its coordinates
    for name, values in nutpies.data_vars.items():
        assert mine[name].dims == values.dims
        np.testing.assert_array_equal(mine[name].to_numpy(), values.to_numpy())
        for dim in values.dims:
            np.testing.assert_array_equal(mine[dim].to_numpy(), values[dim].to_numpy())
    for stat in _STATS:
        mine_stat, nutpies_stat = ours["sample_stats"][stat], theirs["sample_stats"][stat]
        np.testing.assert_array_equal(mine_stat.to_numpy(), nutpies_stat.to_numpy())
