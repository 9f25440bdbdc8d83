"""nutpie's compiled model, paid for once per model structure rather than once per run.

The model of a run sees its data only through ``pm.Data`` containers (the cell statistics)
and its sizes (arms, levels, clusters) only through PyMC's dimension lengths, so one compiled
log-density serves every data set of the same structure, whatever its sizes (:mod:`.flat`).
Compiling it costs seconds: PyMC and PyTensor build and rewrite the graph of the log-density
and its gradient, numba compiles it, and the two C callbacks nutpie calls (:mod:`.callbacks`)
link and optimise it again.

:func:`compiled_model` looks the model up by a key computed from its structure before anything
is built (:func:`structure_key`: the spec's model settings, the design's dimensions, the names,
ranks and dtypes of the data containers, and the versions of the code that builds and compiles
it):

- in this process (refits, retries, repeated fits);
- on disk: a JSON entry beside PyTensor's cache (the variables' names, shape rules, dims and
  initial values, and the layout of the data) plus the two C callbacks, which numba caches under
  the same key. A hit builds no PyMC graph at all: the entry is laid out for the run's sizes;
- otherwise it builds the model, compiles it and writes both.

A damaged or unusable cache never stops a run: an entry or a C callback that cannot be read
(a truncated file, a pickle of another version) is recompiled and rewritten, and a cache that
cannot be written (a read-only folder, a file where a folder should be) is skipped with a
warning, the model compiled for this process only. Only a compile folder PyTensor itself
cannot use stops the run, before any compiling, with a message naming the folder
(:func:`_check_compile_folder`).

Every path gives the same draws for the same seed: the initial point (the model's, which
:mod:`.model` makes independent of the data, plus uniform(-1, 1) jitter drawn from nutpie's
seed) and the compiled arithmetic are the same. Compilation never uses numba's fast-math
flags, whose results depend on whether code was inlined in this process or loaded from disk.
The helpers of nutpie it relies on (the extractor of the data, the compiled model's class) are
private, so the disk cache is used only with the nutpie minor version it was written for
(:data:`_NUTPIE_VERSION`, the range pyproject.toml pins); with another, every run compiles
through :func:`nutpie.compile_pymc_model` (public), with the same initial point, and draws the
same to rounding: nutpie cuts the parameter vector at constant offsets
(``tests/analysis/test_compiled.py`` forces it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib.metadata
import itertools
import json
import math
import os
import pickle
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from channelab.analysis.callbacks import c_callback, cache_warning
from channelab.analysis.flat import flat_functions, initial_point, shapes_for
from channelab.errors import OutputError
from channelab.limits import MAX_CACHE_ENTRY_BYTES

if TYPE_CHECKING:
    import pymc as pm

#: The nutpie minor version whose private helpers this module calls; others are not cached.
_NUTPIE_VERSION = "0.16."
#: Bumped when the entry's layout changes.
_FORMAT = 2
#: Modules whose code decides the compiled graph: a change to any of them is a new key.
_GRAPH_CODE = (
    "model.py",
    "blocks.py",
    "predictor.py",
    "families.py",
    "family_base.py",
    "survival.py",
    "ratio.py",
    "compiled.py",
    "callbacks.py",
    "flat.py",
    "learning/hierarchy.py",
    "learning/link.py",
)
_VERSIONS = ("pymc", "pytensor", "nutpie", "numba", "numpy", "llvmlite")

#: Compiled models of this process: by key, and (nutpie's own, fixed sizes) by key and sizes.
_MEMO: dict[str, Any] = {}


@dataclass(frozen=True)
class _Built:
    """A structure's compiled C wrappers and the entry that lays them out for a run's sizes."""

    entry: dict[str, Any]
    logp: Any
    expand: Any


@dataclass(frozen=True)
class _SharedVar:
    """A data container as nutpie's ``shared_var_keys`` needs it: its name and rank."""

    name: str
    ndim: int


@functools.cache
def _code_digests() -> dict[str, str]:
    """Digests of the graph-building code, read once per process.

    They describe the code this process runs, not a later edit of the files on disk, under whose
    key a long-running process would otherwise save a model compiled from the old code.
    """
    here = Path(__file__).parent
    return {name: hashlib.sha256((here / name).read_bytes()).hexdigest() for name in _GRAPH_CODE}


# taken when the module is imported, beside the graph-building modules (imported with it)
_code_digests()


def structure_key(structure: Mapping[str, Any]) -> str:
    """The cache key of a model: its structure, the graph-building code and the library versions."""
    payload = {
        "format": _FORMAT,
        "structure": structure,
        "code": _code_digests(),
        "versions": {name: importlib.metadata.version(name) for name in _VERSIONS},
        "platform": [platform.python_version(), platform.machine()],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def compiled_model(
    key: str,
    data: Mapping[str, np.ndarray],
    build: Callable[[], pm.Model],
    coords: Mapping[str, Sequence[str]] | None = None,
) -> Any:
    """The compiled model (nutpie's) for ``key``, with ``data`` in its containers.

    ``build`` returns the PyMC model of this structure; it is called only when neither this
    process nor the disk cache holds the compiled model. ``coords`` label the draws and give
    the dimensions' lengths: one compiled model serves every size (:mod:`.flat`), so a key
    names the dimensions, not their lengths or labels.
    """
    import nutpie
    from pytensor.configdefaults import config

    with config.change_flags(numba__fastmath=False):
        if nutpie.__version__.startswith(_NUTPIE_VERSION):
            compiled = _cached(key, build, coords or {})
        else:
            compiled = _uncached_for(key, build, coords or {})
    used = {var.name for var in compiled.shared_var_keys}
    lengths = {dim: np.asarray(len(index), dtype=np.int64) for dim, index in (compiled.coords or {}).items()}
    given = {**{k: v for k, v in lengths.items() if k in used}, **data}
    if missing := sorted(used - set(given)):  # a container left at another run's values: never
        raise KeyError(f"the compiled model needs data {missing} that were not given")
    return compiled.with_data(**{name: value for name, value in given.items() if name in used})


def is_compiled(key: str) -> bool:
    """Whether the model of ``key`` is compiled already, in this process or on this machine's disk.

    Parameters
    ----------
    key
        The model's :func:`structure_key`.
    """
    import nutpie

    if key in _MEMO:
        return True
    return nutpie.__version__.startswith(_NUTPIE_VERSION) and _entry_path(key).exists()


def _cached(key: str, build: Callable[[], pm.Model], coords: Mapping[str, Sequence[str]]) -> Any:
    """The model of ``key`` for ``coords``' sizes: from this process, the disk cache, or compiled now."""
    from pytensor.configdefaults import config

    built = _MEMO.get(key)
    if not (isinstance(built, _Built) and _serves(built.entry, coords)):
        if (fallback := _MEMO.get(_sized(key, coords))) is not None:
            return fallback
        _check_compile_folder(Path(config.base_compiledir), lambda: config.compiledir)
        built = _load(key, coords) or _compile_or_skip(build, key)
        if built is None:  # the cache failed: compiled without it, for these sizes only
            return _uncached_for(key, build, coords)
        _MEMO[key] = built
    return _assemble(built.entry, built.logp, built.expand, {}, coords)


def _uncached_for(key: str, build: Callable[[], pm.Model], coords: Mapping[str, Sequence[str]]) -> Any:
    """The compiled model of nutpie's own API (fixed sizes), once per process for ``key`` and sizes."""
    from pytensor.configdefaults import config

    sized = _sized(key, coords)
    if sized not in _MEMO:
        _check_compile_folder(Path(config.base_compiledir), lambda: config.compiledir)
        with config.change_flags(numba__cache=False):
            _MEMO[sized] = _uncached(build())
    compiled = _MEMO[sized]
    if coords and getattr(compiled, "_coords", None) is not None:
        labelled = {dim: pd.Index(coords.get(dim, index)) for dim, index in compiled._coords.items()}
        compiled = dataclasses.replace(compiled, _coords=labelled)
    return compiled


def _sized(key: str, coords: Mapping[str, Sequence[str]]) -> str:
    """The memo key of a model compiled for ``coords``' sizes only."""
    return f"{key}:" + json.dumps({dim: len(labels) for dim, labels in sorted(coords.items())})


def _serves(entry: Mapping[str, Any], coords: Mapping[str, Sequence[str]]) -> bool:
    """Whether an entry serves a run with ``coords``: any sizes, or the fixed ones it was built for."""
    fixed = entry["fixed"]
    return fixed is None or all(len(coords.get(d, entry["coords"].get(d, ()))) == n for d, n in fixed.items())


def _entry_path(key: str) -> Path:
    """Where the entry of ``key`` is kept: beside PyTensor's compiled code."""
    from pytensor.configdefaults import config

    return Path(config.base_compiledir) / "channelab" / f"{key}.json"


def _load(key: str, coords: Mapping[str, Sequence[str]]) -> _Built | None:
    """The compiled model from the disk cache, or None when it is not (wholly) there or other sizes'."""
    path = _entry_path(key)
    try:
        with path.open("rb") as f:
            entry = json.loads(f.read(MAX_CACHE_ENTRY_BYTES + 1))
        if entry.get("format") != _FORMAT or not _serves(entry, coords):
            return None
        return _Built(entry, c_callback("logp", key, extract=None), c_callback("expand", key, extract=None))
    except Exception:  # no entry, wrappers gone (NotCached), or damaged in any way: compiled again
        return None


def _compile_or_skip(build: Callable[[], pm.Model], key: str) -> _Built | None:
    """:func:`_compile` through the disk cache; None (with a warning) if the cache fails."""
    from pytensor.configdefaults import config

    try:
        return _compile(build(), key)
    except (OSError, pickle.UnpicklingError, EOFError) as exc:  # the cache, not the model
        cache_warning(
            f"the cache under {config.base_compiledir} failed ({exc}); the model is compiled without it"
        )
    return None


def _compile(model: pm.Model, key: str) -> _Built:
    """Compile ``model`` (:func:`~.flat.flat_functions`), cache its wrappers by ``key``, write the entry."""
    import nutpie.compile_pymc as cp

    flat = flat_functions(model)
    shared = list(dict.fromkeys([*flat.logp.get_shared(), *flat.expand.get_shared()]))
    values = {var.name: np.array(var.get_value(), order="C", copy=True) for var in shared}
    entry: dict[str, Any] = {
        "format": _FORMAT,
        "names": flat.names,
        "free": flat.free,
        "rules": flat.rules,
        "initial": flat.initial,
        "fixed": flat.fixed,
        "reparameterized": flat.reparameterized,
        "dims": flat.dims,
        "coords": {
            dim: [str(x) for x in labels]
            if labels is not None
            else [str(i) for i in range(int(length.get_value()))]
            for dim, length, labels in (
                (d, model.dim_lengths[d], model.coords.get(d)) for d in model.dim_lengths
            )
        },
        "shared": [{"name": v.name, "ndim": v.ndim, "dtype": str(values[v.name].dtype)} for v in shared],
        "logp_args": [v.name for v in flat.logp.get_shared()],
        "expand_args": [v.name for v in flat.expand.get_shared()],
    }
    skeleton = _assemble(entry, None, None, values, {})
    keys = {var.name: k for var, k in skeleton.shared_var_keys.items()}
    logp = c_callback("logp", key, extract=_extractor(cp, flat.logp, entry["logp_args"], keys, skeleton))
    extract = _extractor(cp, flat.expand, entry["expand_args"], keys, skeleton)
    expand = c_callback("expand", key, extract=extract)
    try:
        _write_atomically(_entry_path(key), json.dumps(entry))
    except OSError as exc:
        cache_warning(f"cannot write {_entry_path(key)} ({exc.strerror}); the next run compiles it again")
    return _Built(entry, logp, expand)


def _extractor(cp: Any, fn: Any, args: list[str], keys: dict[str, str], compiled: Any) -> Any:
    """The numba function (nutpie's) that reads the data containers from its user data and calls ``fn``."""
    return cp.make_extraction_fn(
        fn.vm.jit_fn, compiled.shared_data, [keys[name] for name in args], compiled.user_data.dtype
    )


def _assemble(
    entry: dict[str, Any],
    logp: Any,
    expand: Any,
    values: Mapping[str, np.ndarray],
    coords: Mapping[str, Sequence[str]],
) -> Any:
    """A nutpie compiled model from an entry and its C wrappers, laid out for ``coords``' sizes.

    The data containers hold ``values`` (empty arrays for the others, until ``with_data``).
    """
    import nutpie.compile_pymc as cp

    labels = {dim: pd.Index(coords.get(dim, stored)) for dim, stored in entry["coords"].items()}
    shapes = shapes_for(entry["rules"], {dim: len(index) for dim, index in labels.items()})
    stops = np.cumsum([0, *(math.prod(shape) for shape in shapes)]).tolist()
    free = entry["free"]
    variables = {_SharedVar(s["name"], s["ndim"]): f"d{i}" for i, s in enumerate(entry["shared"])}
    shared_data = {}
    for (var, k), spec in zip(variables.items(), entry["shared"], strict=True):
        value = values.get(var.name, np.zeros((0,) * var.ndim))
        shared_data[k] = np.array(value, dtype=spec["dtype"], order="C", copy=True)
        shared_data[k].flags.writeable = False
    labels[cp._UNCONSTRAINED_PARAMETER] = pd.Index(_element_names(entry["names"][:free], shapes[:free]))
    return cp.CompiledPyMCModel(
        _n_dim=stops[free],
        dims={k: tuple(v) for k, v in entry["dims"].items()},
        _coords=labels,
        _shapes=dict(zip(entry["names"], shapes, strict=True)),
        compiled_logp_func=logp,
        compiled_expand_func=expand,
        initial_point_func=_jittered(initial_point(entry["initial"], shapes[:free])),
        shared_data=shared_data,
        shared_var_keys=variables,
        user_data=cp.make_user_data(variables, shared_data),
        n_expanded=stops[-1],
        shape_info=(entry["names"], [slice(a, b) for a, b in itertools.pairwise(stops)], shapes),
        logp_func=None,
        expand_func=None,
        reparameterized_names=entry["reparameterized"],
    )


def _element_names(names: Sequence[str], shapes: Sequence[tuple[int, ...]]) -> list[str]:
    """Each element of the flat vector, named as nutpie names it: ``a`` (a scalar), ``b_0.1``."""
    return [
        f"{name}_{'.'.join(map(str, idx))}" if idx else name
        for name, shape in zip(names, shapes, strict=True)
        for idx in itertools.product(*map(range, shape))
    ]


def _jittered(initial: np.ndarray) -> Callable[[Any], np.ndarray]:
    """The initial point plus uniform(-1, 1) jitter on the unconstrained scale, as PyMC draws it."""

    def initial_point(seed: Any) -> np.ndarray:
        return initial + np.random.default_rng(seed).uniform(-1.0, 1.0, initial.size)

    return initial_point


def _check_compile_folder(base: Path, compiledir: Callable[[], object]) -> None:
    """Refuse, before any compiling, a compile folder PyTensor cannot use (it would fail mid-way).

    PyTensor compiles every model under ``base_compiledir``: C code in a folder it creates and
    checks when ``compiledir`` is first read, numba's cache in the ``numba`` subfolder. A file in
    the place of either, or a folder it cannot write, stops it; a ``numba`` folder that cannot be
    written does not (the model is then compiled uncached, :func:`_compile_or_skip`).
    """
    how = (
        "models are compiled there. Remove it or make it writable, or point PyTensor to another "
        "folder, e.g. PYTENSOR_FLAGS=base_compiledir=/tmp/pytensor-cache"
    )
    for folder in (base, base / "numba"):
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"{folder}: PyTensor's compile folder is a file, not a folder; {how}.")
    try:
        compiledir()
    except (ValueError, OSError) as exc:
        raise OutputError(f"{base}: PyTensor cannot use its compile folder ({exc}); {how}.") from None


def _uncached(model: pm.Model) -> Any:
    """Compilation by nutpie's public API, for nutpie versions this module was not written for.

    The initial point is the cached path's (the model's, unjittered, plus :func:`_jittered`), so
    both paths draw the same for the same seed (a test forces this path and compares).
    """
    import nutpie

    compiled = nutpie.compile_pymc_model(model, jitter_rvs=set())
    initial = np.asarray(compiled.initial_point_func(0), dtype=np.float64)
    with contextlib.suppress(TypeError):  # a later nutpie whose model is no dataclass: its own start
        compiled = dataclasses.replace(compiled, initial_point_func=_jittered(initial))
    return compiled


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        if tmp.is_file() and not tmp.is_symlink():
            tmp.unlink()
