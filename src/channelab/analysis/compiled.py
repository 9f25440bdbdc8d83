"""nutpie's compiled model, paid for once per model structure rather than once per run.

The model of a run sees its data only through ``pm.Data`` containers (the cell statistics),
so one compiled log-density serves every data set of the same structure. Compiling it costs
seconds: PyMC and PyTensor build and rewrite the graph of the log-density and its gradient,
numba compiles it, and nutpie's two C wrappers (``numba.cfunc``) link and optimise it again.
numba cannot cache nutpie's own wrappers (they close over objects whose pickle differs in
every process) and PyTensor's cache of the inner function still needs the graph rewritten
first, so on its own every run paid most of the cost again.

:func:`compiled_model` looks the model up by a key computed from its structure before anything
is built (:func:`structure_key`: the spec's model settings, the design, the names, ranks and
dtypes of the data containers, and the versions of the code that builds and compiles it):

- in this process (refits, retries, repeated fits);
- on disk: a JSON entry beside PyTensor's cache (sizes, names, shapes, dims, coords, the
  initial point and the layout of the data) plus the two C wrappers, which numba caches under
  the same key because they are written here with fixed names and no closures. A hit builds
  no PyMC graph at all;
- otherwise it builds the model, compiles it and writes both.

A damaged or unusable cache never stops a run: an entry or a C wrapper that cannot be read
(a truncated file, a pickle of another version) is recompiled and rewritten, and a cache that
cannot be written (a read-only folder, a file where a folder should be) is skipped with a
warning, the model compiled for this process only. Only a compile folder PyTensor itself
cannot use stops the run, before any compiling, with a message naming the folder
(:func:`_check_compile_folder`).

Every path gives the same draws for the same seed: the initial point (the model's, which
:mod:`.model` makes independent of the data, plus uniform(-1, 1) jitter drawn from nutpie's
seed) and the compiled arithmetic are the same. Compilation never uses numba's fast-math
flags, whose results depend on whether code was inlined in this process or loaded from disk.
The helpers of nutpie it relies on are private, so the disk cache is used only with the
nutpie minor version it was written for (:data:`_NUTPIE_VERSION`, the range pyproject.toml
pins); with another, every run compiles through :func:`nutpie.compile_pymc_model` (public), with
the same initial point and so the same draws (``tests/analysis/test_compiled.py`` forces it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import os
import pickle
import platform
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from channelab.errors import OutputError
from channelab.limits import MAX_CACHE_ENTRY_BYTES

if TYPE_CHECKING:
    import pymc as pm

#: The nutpie minor version whose private helpers this module calls; others are not cached.
_NUTPIE_VERSION = "0.16."
#: Bumped when the entry's layout changes.
_FORMAT = 1
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
    "learning/hierarchy.py",
    "learning/link.py",
)
_VERSIONS = ("pymc", "pytensor", "nutpie", "numba", "numpy", "llvmlite")

_LOGP = """
def {name}(dim, x_, out_, logp_, user_data_):
    if dim != {n}:
        return -1
    try:
        x = carray(x_, ({n},))
        out = carray(out_, ({n},))
        logp = carray(logp_, ())
        logp_val, grad = extract(x, user_data_)
        logp[()] = logp_val
        out[...] = grad
        if not np.all(np.isfinite(out)):
            return 3
        if not np.isfinite(logp_val):
            return 4
    except Exception:
        return 1
    return 0
"""

_EXPAND = """
def {name}(dim, expanded, x_, out_, user_data_):
    if dim != {n}:
        return -1
    if expanded != {m}:
        return -1
    try:
        x = carray(x_, ({n},))
        out = carray(out_, ({m},))
        (values,) = extract(x, user_data_)
        out[...] = values
    except Exception:
        return -2
    return 0
"""

_MEMO: dict[str, Any] = {}


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
    process nor the disk cache holds the compiled model. ``coords`` label the draws (a key made
    of the dimensions' sizes, not their labels, serves models whose arms are named otherwise).
    """
    import nutpie
    from pytensor.configdefaults import config

    with config.change_flags(numba__fastmath=False):
        compiled = _MEMO.get(key)
        if compiled is None:
            _check_compile_folder(Path(config.base_compiledir), lambda: config.compiledir)
        if compiled is None and nutpie.__version__.startswith(_NUTPIE_VERSION):
            compiled = _load(key)
            if compiled is None:
                compiled = _compile_or_skip(build, key)
        if compiled is None:
            compiled = _uncached(build())
        _MEMO[key] = compiled
    used = {var.name for var in compiled.shared_var_keys}
    if missing := sorted(used - set(data)):  # a container left at another run's values: never
        raise KeyError(f"the compiled model needs data {missing} that were not given")
    compiled = compiled.with_data(**{name: value for name, value in data.items() if name in used})
    if coords and getattr(compiled, "_coords", None) is not None:
        labelled = {dim: pd.Index(coords.get(dim, index)) for dim, index in compiled._coords.items()}
        compiled = dataclasses.replace(compiled, _coords=labelled)
    return compiled


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


def _entry_path(key: str) -> Path:
    """Where the entry of ``key`` is kept: beside PyTensor's compiled code."""
    from pytensor.configdefaults import config

    return Path(config.base_compiledir) / "channelab" / f"{key}.json"


def _load(key: str) -> Any:
    """The compiled model from the disk cache, or None when it is not (wholly) there."""
    path = _entry_path(key)
    try:
        with path.open("rb") as f:
            entry = json.loads(f.read(MAX_CACHE_ENTRY_BYTES + 1))
        logp = _cfunc(_LOGP, "logp", key, entry["n"], entry["m"], extract=None)
        expand = _cfunc(_EXPAND, "expand", key, entry["n"], entry["m"], extract=None)
        return _assemble(entry, logp, expand, {})
    except Exception:  # no entry, wrappers gone (_NotCached), or damaged in any way: compiled again
        return None


def _compile_or_skip(build: Callable[[], pm.Model], key: str) -> Any:
    """:func:`_compile` through the disk cache; if the cache fails, compiled uncached (with a warning)."""
    from pytensor.configdefaults import config

    try:
        return _compile(build(), key)
    except (OSError, pickle.UnpicklingError, EOFError) as exc:  # the cache, not the model
        _warn(f"the cache under {config.base_compiledir} failed ({exc}); the model is compiled without it")
    with config.change_flags(numba__cache=False):
        return _uncached(build())


def _compile(model: pm.Model, key: str) -> Any:
    """Compile ``model``, cache its C wrappers under ``key`` and write its entry."""
    import nutpie.compile_pymc as cp
    from pymc.initial_point import make_initial_point_fn

    start = make_initial_point_fn(model=model, jitter_rvs=set(), return_transformed=True)
    n, m, logp_fn, expand_fn, initial_fn, shape_info, reparameterized = cp._make_functions(
        model, mode="NUMBA", compute_grad=True, join_expanded=True, pymc_initial_point_fn=start
    )
    shared = list(dict.fromkeys([*logp_fn.get_shared(), *expand_fn.get_shared()]))
    values = {var.name: np.array(var.get_value(), order="C", copy=True) for var in shared}
    dims, coords = cp._prepare_dims_and_coords(model, shape_info, reparameterized)
    names, slices, shapes = shape_info
    entry: dict[str, Any] = {
        "n": int(n),
        "m": int(m),
        "names": list(names),
        "slices": [[int(s.start), int(s.stop)] for s in slices],
        "shapes": [[int(k) for k in shape] for shape in shapes],
        "reparameterized": list(reparameterized),
        "dims": {k: list(v) for k, v in dims.items()},
        "coords": {k: [str(x) for x in v] for k, v in coords.items()},
        "initial": [float(x) for x in initial_fn(0)],
        "shared": [{"name": v.name, "ndim": v.ndim, "dtype": str(values[v.name].dtype)} for v in shared],
        "logp_args": [v.name for v in logp_fn.get_shared()],
        "expand_args": [v.name for v in expand_fn.get_shared()],
    }
    compiled = _assemble(entry, None, None, values)
    keys = {var.name: k for var, k in compiled.shared_var_keys.items()}
    logp = _cfunc(
        _LOGP, "logp", key, n, m, extract=_extractor(cp, logp_fn, entry["logp_args"], keys, compiled)
    )
    expand = _cfunc(
        _EXPAND, "expand", key, n, m, extract=_extractor(cp, expand_fn, entry["expand_args"], keys, compiled)
    )
    try:
        _write_atomically(_entry_path(key), json.dumps(entry))
    except OSError as exc:
        _warn(f"cannot write {_entry_path(key)} ({exc.strerror}); the next run compiles the model again")
    return _assemble(entry, logp, expand, values)


def _extractor(cp: Any, fn: Any, args: list[str], keys: dict[str, str], compiled: Any) -> Any:
    """The numba function (nutpie's) that reads the data containers from its user data and calls ``fn``."""
    return cp.make_extraction_fn(
        fn.vm.jit_fn, compiled.shared_data, [keys[name] for name in args], compiled.user_data.dtype
    )


def _assemble(entry: dict[str, Any], logp: Any, expand: Any, values: Mapping[str, np.ndarray]) -> Any:
    """A nutpie compiled model from an entry, its C wrappers and (optionally) the data values."""
    import nutpie.compile_pymc as cp

    variables = {_SharedVar(s["name"], s["ndim"]): f"d{i}" for i, s in enumerate(entry["shared"])}
    shared_data = {}
    for (var, k), spec in zip(variables.items(), entry["shared"], strict=True):
        value = values.get(var.name, np.zeros((0,) * var.ndim))
        shared_data[k] = np.array(value, dtype=spec["dtype"], order="C", copy=True)
        shared_data[k].flags.writeable = False
    shapes = [tuple(s) for s in entry["shapes"]]
    shape_info = (entry["names"], [slice(a, b) for a, b in entry["slices"]], shapes)
    initial = np.asarray(entry["initial"], dtype=np.float64)
    return cp.CompiledPyMCModel(
        _n_dim=entry["n"],
        dims={k: tuple(v) for k, v in entry["dims"].items()},
        _coords={k: pd.Index(v) for k, v in entry["coords"].items()},
        _shapes=dict(zip(entry["names"], shapes, strict=True)),
        compiled_logp_func=logp,
        compiled_expand_func=expand,
        initial_point_func=_jittered(initial),
        shared_data=shared_data,
        shared_var_keys=variables,
        user_data=cp.make_user_data(variables, shared_data),
        n_expanded=entry["m"],
        shape_info=shape_info,
        logp_func=None,
        expand_func=None,
        reparameterized_names=entry["reparameterized"],
    )


def _jittered(initial: np.ndarray) -> Callable[[Any], np.ndarray]:
    """The initial point plus uniform(-1, 1) jitter on the unconstrained scale, as PyMC draws it."""

    def initial_point(seed: Any) -> np.ndarray:
        return initial + np.random.default_rng(seed).uniform(-1.0, 1.0, initial.size)

    return initial_point


class _NotCached(Exception):
    """numba's cache does not hold the C wrapper asked for."""


def _cfunc(template: str, tag: str, key: str, n: int, m: int, *, extract: Any) -> Any:
    """A C wrapper named and cached by ``key``: compiled around ``extract``, or with None only loaded."""
    import numba
    from numba.core.ccallback import CFunc
    from numba.core.types import CPointer, Type
    from numba.np.numpy_support import carray
    from pytensor.link.numba.cache import compile_numba_function_src

    name = f"channelab_{tag}_{key[:24]}"
    fn = compile_numba_function_src(
        template.format(name=name, n=n, m=m),
        name,
        global_env={"__name__": __name__, "np": np, "carray": carray, "extract": extract},
        cache_key=f"channelab-{tag}-{key}",
    )
    pointer = cast("Callable[[Type], CPointer]", CPointer)(numba.types.double)  # untyped in numba
    count = numba.types.uint64
    args = (count, pointer, pointer, pointer) if tag == "logp" else (count, count, pointer, pointer)
    cfunc = (CFunc if extract is not None else _load_only())(
        fn, ((*args, numba.types.voidptr), numba.types.int64), locals={}, options={}
    )
    cfunc.enable_caching()
    cfunc._cache = _SafeCache(cfunc._cache, name)  # numba has no public setter
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=numba.NumbaWarning)
        cfunc.compile()
    return cfunc


class _SafeCache:
    """numba's cache of one C wrapper, made safe: a damaged file is a miss, a failed write a warning.

    A wrapper whose cached files cannot be read (truncated, another pickle) is compiled again and
    its index emptied first, so the new build replaces the damaged one instead of failing on it.
    """

    def __init__(self, inner: Any, name: str) -> None:
        self._inner, self._name = inner, name

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        """The cached build, or None when it is missing or cannot be read."""
        try:
            return self._inner.load_overload(sig, target_context)
        except Exception:
            with contextlib.suppress(Exception):
                self._inner.flush()  # an empty index, so the new build is saved in its place
            return None

    def save_overload(self, sig: Any, data: Any) -> None:
        """Save the build; a cache that cannot be written is skipped with a warning."""
        try:
            self._inner.save_overload(sig, data)
        except (OSError, pickle.PicklingError) as exc:
            _warn(f"cannot write numba's cache of {self._name} ({exc}); compiled for this run only")


def _warn(message: str) -> None:
    """Say that the cache was skipped, and go on."""
    warnings.warn(f"compiled-model cache: {message}.", UserWarning, stacklevel=3)


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


@functools.cache
def _load_only() -> type:
    """A ``CFunc`` that only loads from numba's cache: it raises :class:`_NotCached` instead of compiling."""
    from numba.core.ccallback import CFunc

    class LoadOnly(CFunc):
        def _compile_uncached(self) -> Any:
            raise _NotCached

    return LoadOnly


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
