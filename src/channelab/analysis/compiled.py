"""nutpie's compiled model, paid for once per model rather than once per process.

nutpie compiles a PyMC model in two steps: PyTensor's numba function for the log-density and
its gradient, which PyTensor caches on disk keyed by the graph, and two small C wrappers
(``numba.cfunc``) around it, which numba cannot cache as nutpie writes them (they close over
a numba dispatcher, whose pickle carries a random id, so every process computes a new cache
key; ``cache=True`` only grows the cache). Building the wrappers links and optimises the
whole log-density again: 5-8 s of a run's 10 s of compilation.

:func:`compile_nutpie` writes the same two wrappers with the log-density as a module global,
so numba caches them under PyTensor's key for the graph. A repeat run of the same model (the
data are constants of the graph) loads both from disk. Only models without shared data
(``build_model(..., mutable=False)``) take this path; anything unexpected falls back to
:func:`nutpie.compile_pymc_model`, which gives the same model, uncached.
It relies on helpers private to nutpie, so it is used only with the nutpie minor version it
was written for (:data:`NUTPIE_VERSION`).

Both paths compile without numba's fast-math flags. With them, the compiled arithmetic
depends on whether the log-density was compiled in this process (its code can be inlined
into the wrapper and re-associated) or loaded from the cache (it cannot): the first run on a
machine and every later run drew different posteriors from the same seed. Without them, a
run gives the same draws whatever the state of the cache, and is no slower for these models.
"""

from __future__ import annotations

import hashlib
import warnings
from typing import Any

import numpy as np
import pymc as pm

#: The nutpie minor version whose private helpers this module calls; others fall back.
NUTPIE_VERSION = "0.16."

_LOGP = """
def {name}(dim, x_, out_, logp_, user_data_):
    if dim != {n}:
        return -1
    try:
        x = carray(x_, ({n},))
        out = carray(out_, ({n},))
        logp = carray(logp_, ())
        logp_val, grad = inner(x)
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
        (values,) = inner(x)
        out[...] = values
    except Exception:
        return -2
    return 0
"""


def compile_nutpie(model: pm.Model) -> Any:
    """The model compiled for nutpie, its C wrappers cached on disk when the model allows it."""
    import nutpie
    import pytensor

    with pytensor.config.change_flags(numba__fastmath=False):
        if nutpie.__version__.startswith(NUTPIE_VERSION):
            try:
                return _compile_cached(model)
            except _NotCacheable:
                pass
        return nutpie.compile_pymc_model(model)


class _NotCacheable(Exception):
    """The model has shared data, or PyTensor gave its graph no cache key."""


def _compile_cached(model: pm.Model) -> Any:
    import nutpie.compile_pymc as cp
    from pymc.initial_point import make_initial_point_fn

    initial_point = cp._wrap_with_lock(
        make_initial_point_fn(model=model, jitter_rvs=set(model.free_RVs), return_transformed=True)
    )
    n, m, logp_fn, expand_fn, initial_fn, shape_info, reparameterized = cp._make_functions(
        model, mode="NUMBA", compute_grad=True, join_expanded=True, pymc_initial_point_fn=initial_point
    )
    if logp_fn.get_shared() or expand_fn.get_shared():
        raise _NotCacheable
    logp = _cached_cfunc(_LOGP, logp_fn.vm.jit_fn, "logp", n=n)
    expand = _cached_cfunc(_EXPAND, expand_fn.vm.jit_fn, "expand", n=n, m=m)
    dims, coords = cp._prepare_dims_and_coords(model, shape_info, reparameterized)
    return cp.CompiledPyMCModel(
        _n_dim=n,
        dims=dims,
        _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info, strict=True)},
        compiled_logp_func=logp,
        compiled_expand_func=expand,
        initial_point_func=initial_fn,
        shared_data={},
        shared_var_keys={},
        user_data=cp.make_user_data({}, {}),
        n_expanded=m,
        shape_info=shape_info,
        logp_func=logp_fn,
        expand_func=expand_fn,
        reparameterized_names=reparameterized,
    )


def _cached_cfunc(template: str, jit_fn: Any, tag: str, **sizes: int) -> Any:
    """A C wrapper around ``jit_fn`` that numba caches under PyTensor's key for its graph."""
    import numba
    import nutpie
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, compile_numba_function_src

    graph_key = CACHED_SRC_FUNCTIONS.get(jit_fn.py_func)
    if graph_key is None:
        raise _NotCacheable
    key = (
        f"{tag}-{graph_key}-" + "-".join(f"{k}{v}" for k, v in sizes.items()) + f"-nutpie{nutpie.__version__}"
    )
    digest = hashlib.sha256(f"{key}-numba{numba.__version__}".encode()).hexdigest()[:16]
    name = f"channelab_nutpie_{tag}_{digest}"  # a distinct symbol per graph
    fn = compile_numba_function_src(
        template.format(name=name, **sizes),
        name,
        global_env={"__name__": __name__, "np": np, "carray": numba.carray, "inner": jit_fn},
        cache_key=key,
    )
    pointer = numba.types.CPointer(numba.types.double)
    signature = (
        numba.types.int64(numba.types.uint64, pointer, pointer, pointer, numba.types.voidptr)
        if tag == "logp"
        else numba.types.int64(numba.types.uint64, numba.types.uint64, pointer, pointer, numba.types.voidptr)
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=numba.NumbaWarning)
        return numba.cfunc(signature, cache=True)(fn)
