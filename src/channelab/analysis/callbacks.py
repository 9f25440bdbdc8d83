"""nutpie's two C callbacks of a compiled model, written so that numba caches them on disk.

nutpie calls a model through two C functions: the log-density with its gradient, and the
expansion of a draw into every trace variable. Its own are closures over objects whose pickle
differs in every process, so numba cannot cache them. These are compiled from source with fixed
names (the model's key) and no closures, around the numba function that reads the data
containers (nutpie's extractor), and cached under the key. They take the vector's length from
the call, never from the code: one callback serves every size of its structure (:mod:`.flat`).
A damaged cache file is a miss, a cache that cannot be written a warning (:class:`SafeCache`).
"""

from __future__ import annotations

import contextlib
import functools
import pickle
import warnings
from collections.abc import Callable
from typing import Any, Literal, cast

import numpy as np

__all__ = ["NotCached", "SafeCache", "c_callback", "cache_warning"]

_LOGP = """
def {name}(dim, x_, out_, logp_, user_data_):
    try:
        x = carray(x_, (dim,))
        out = carray(out_, (dim,))
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
    try:
        x = carray(x_, (dim,))
        out = carray(out_, (expanded,))
        (values,) = extract(x, user_data_)
        out[...] = values
    except Exception:
        return -2
    return 0
"""

_TEMPLATES = {"logp": _LOGP, "expand": _EXPAND}


class NotCached(Exception):
    """numba's cache does not hold the C wrapper asked for."""


def c_callback(tag: Literal["logp", "expand"], key: str, *, extract: Any) -> Any:
    """The C callback ``tag`` of the model ``key``: compiled around ``extract``, or (None) only loaded.

    Parameters
    ----------
    tag
        Which callback: the log-density and gradient, or the expansion.
    key
        The model's structure key: the callback's name and cache key.
    extract
        nutpie's extractor of the compiled function; None loads from numba's cache only and
        raises :class:`NotCached` when it is not there.
    """
    import numba
    from numba.core.ccallback import CFunc
    from numba.core.types import CPointer, Type
    from numba.np.numpy_support import carray
    from pytensor.link.numba.cache import compile_numba_function_src

    name = f"channelab_{tag}_{key[:24]}"
    fn = compile_numba_function_src(
        _TEMPLATES[tag].format(name=name),
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
    cfunc._cache = SafeCache(cfunc._cache, name)  # numba has no public setter
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=numba.NumbaWarning)
        cfunc.compile()
    return cfunc


class SafeCache:
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
            cache_warning(f"cannot write numba's cache of {self._name} ({exc}); compiled for this run only")


def cache_warning(message: str) -> None:
    """Say that the cache was skipped, and go on.

    Parameters
    ----------
    message
        What failed and what happens instead.
    """
    warnings.warn(f"compiled-model cache: {message}.", UserWarning, stacklevel=3)


@functools.cache
def _load_only() -> type:
    """A ``CFunc`` that only loads from numba's cache: it raises :class:`NotCached` instead of compiling."""
    from numba.core.ccallback import CFunc

    class LoadOnly(CFunc):
        def _compile_uncached(self) -> Any:
            raise NotCached

    return LoadOnly
