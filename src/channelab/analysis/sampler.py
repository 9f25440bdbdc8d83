"""Which sampler runs a model, and running it: nutpie on a compiled model, Ctrl-C noticed.

Shared by the per-test model (:mod:`.model`) and the programme model (:mod:`.learning`), so
that both sample the same way and an interrupted fit is never used as if it were whole.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

import lazy_loader
import numpy as np
import xarray as xr

from channelab.analysis.compiled import compiled_model
from channelab.errors import ModelError
from channelab.spec import Sampler

if TYPE_CHECKING:
    import pymc as pm
else:  # imported on first use: a run whose models are all compiled builds no graph
    pm = lazy_loader.load("pymc")

__all__ = [
    "Running",
    "interrupts",
    "resolve_backend",
    "run_pymc",
    "sample_graph",
    "start_nutpie",
]

#: How PyMC's own sampler starts the process of each chain: a channelab process runs threads
#: (DuckDB, nutpie, the progress display, a test runner's), and forking one can deadlock.
_FORKSERVER = "forkserver"


def resolve_backend(backend: str) -> str:
    """Sampler to use: nutpie when asked or when ``auto`` finds it installed, else PyMC.

    Parameters
    ----------
    backend : str
        The spec's ``sampler.backend``: ``auto``, ``nutpie`` or ``pymc``.

    Returns
    -------
    str
        ``nutpie`` or ``pymc``.
    """
    if backend == "auto":
        return "nutpie" if importlib.util.find_spec("nutpie") else "pymc"
    return backend


class Running:
    """A nutpie sampler running in the background (its own threads); :meth:`wait` for its draws.

    Several run side by side, so that the cores a sampler leaves idle (its last chains, the
    Python between fits) serve another. Each chain's draws depend only on the seed, never on
    how the threads were scheduled: a model's draws are the same alone or alongside others.
    """

    def __init__(self, sampler: Any, compiled: Any) -> None:
        self._sampler, self._compiled = sampler, compiled
        self._trace: xr.DataTree | None = None
        self._cancelled = False

    def wait(self) -> xr.DataTree:
        """The posterior and sample statistics, once every chain has finished (kept: ask again freely).

        A Ctrl-C while waiting stops the chains, discards their draws and is raised: an
        interrupted fit is never handed back as if it were whole.
        """
        if self._trace is not None:
            return self._trace
        try:
            raw = self._sampler.wait()
        except BaseException:
            self.cancel()
            raise
        draws, stats = raw.get_arrow_trace()
        self._trace = _trace(draws, stats, self._compiled)
        return self._trace

    def cancel(self) -> None:
        """Stop the chains and discard their draws (nothing happens once they are taken or discarded)."""
        if self._trace is None and not self._cancelled:
            self._cancelled = True
            self._sampler.cancel()


def start_nutpie(
    compiled: Any, cfg: Sampler, *, seed: int, adaptation: str, progressbar: bool = False
) -> Running:
    """Start the nutpie sampler on a compiled model with the settings ``cfg``; it runs in the background.

    Parameters
    ----------
    compiled
        nutpie's compiled model, with its data.
    cfg : Sampler
        Draws, tuning steps, chains and target acceptance.
    seed : int
        nutpie's seed.
    adaptation : str
        The mass-matrix adaptation: ``diag`` or ``low_rank``.
    progressbar : bool, default False
        Whether nutpie shows its progress bar.

    Returns
    -------
    Running
        The sampler; its :meth:`~Running.wait` returns the draws (warm-up not kept).
    """
    import nutpie

    sampler = nutpie.sample(
        compiled,
        draws=cfg.draws,
        tune=cfg.tune,
        chains=cfg.chains,
        cores=_cores(cfg),
        seed=seed,
        target_accept=cfg.target_accept,
        adaptation=adaptation,
        save_warmup=False,
        progress_bar=progressbar,
        return_raw_trace=True,
        blocking=False,
    )
    return Running(sampler, compiled)


def _cores(cfg: Sampler) -> int:
    """Chains run at once: one per core, at most one per chain."""
    return min(cfg.chains, os.cpu_count() or 1)


def run_pymc(cfg: Sampler, *, seed: int, progressbar: bool = False) -> xr.DataTree:
    """Sample the PyMC model in context with PyMC's own NUTS and the settings ``cfg``.

    Parameters
    ----------
    cfg : Sampler
        Draws, tuning steps, chains and target acceptance.
    seed : int
        PyMC's random seed.
    progressbar : bool, default False
        Whether PyMC shows its progress bar.

    Returns
    -------
    xarray.DataTree
        The posterior and sample statistics.
    """
    posterior: xr.DataTree = pm.sample(
        draws=cfg.draws,
        tune=cfg.tune,
        chains=cfg.chains,
        cores=_cores(cfg),
        mp_ctx=_FORKSERVER,
        target_accept=cfg.target_accept,
        random_seed=seed,
        nuts_sampler="pymc",
        progressbar=progressbar,
        compute_convergence_checks=False,
    )
    return posterior


#: The sampler statistics kept (nutpie records about 30; the gate reads ``diverging``).
_STATS = ("diverging", "n_steps", "depth", "step_size", "energy", "logp", "mean_tree_accept")


def _trace(draws: Sequence[Any], stats: Sequence[Any], compiled: Any) -> xr.DataTree:
    """The raw trace of nutpie (an Arrow batch of draws and one of statistics per chain) as a DataTree.

    What ``nutpie.sample`` makes of it without ``return_raw_trace``, minus the warm-up, the
    unconstrained parameters and the statistics no one reads (a third of a small fit's time):
    ``posterior`` with the model's dims and coords, and ``sample_stats`` (:data:`_STATS`).
    A chain cut short (Ctrl-C) is padded with NaN to the longest, as nutpie pads it.
    """
    kept = [~_column(s, "tuning").astype(bool) for s in stats]
    length = max(int(k.sum()) for k in kept)
    unconstrained = set(compiled.reparameterized_names or ())
    names = [n for n in draws[0].schema.names if n not in unconstrained]
    dims = compiled.dims or {}
    posterior = {}
    for n in names:
        values = _stacked(draws, n, kept, length)
        named = tuple(dims.get(n) or (f"{n}_dim_{i}" for i in range(values.ndim - 2)))  # ArviZ's default
        posterior[n] = (("chain", "draw", *named), values)
    used = {d for dims_, _ in posterior.values() for d in dims_}
    coords = {k: v for k, v in (compiled.coords or {}).items() if k in used}
    coords.update(chain=np.arange(len(draws)), draw=np.arange(length))
    sample_stats = {n: (("chain", "draw"), _stacked(stats, n, kept, length)) for n in _STATS}
    return xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset(posterior, coords=coords),
            "sample_stats": xr.Dataset(sample_stats, coords={k: coords[k] for k in ("chain", "draw")}),
        }
    )


def _column(batch: Any, name: str) -> np.ndarray:
    """One column of an Arrow batch as a flat array (a list column flattened)."""
    import pyarrow

    col = pyarrow.array(batch.column(name))
    if isinstance(col.type, pyarrow.LargeListType | pyarrow.ListType | pyarrow.FixedSizeListType):
        col = col.flatten()
    values: np.ndarray = col.to_numpy(zero_copy_only=False)
    return values


def _stacked(batches: Sequence[Any], name: str, kept: Sequence[np.ndarray], length: int) -> np.ndarray:
    """Column ``name`` of every chain's batch, the warm-up left out: (chain, draw, *shape)."""
    chains = []
    for batch, keep in zip(batches, kept, strict=True):
        values = _column(batch, name)
        values = values.reshape(len(keep), -1)[keep]
        if len(values) < length:
            fill = np.full((length - len(values), values.shape[1]), np.nan)
            values = np.concatenate([values.astype(float), fill])
        chains.append(values)
    out = np.stack(chains)
    shape = _shape(batches[0], name)
    return out.reshape(len(chains), length, *shape)


def _shape(batch: Any, name: str) -> tuple[int, ...]:
    """The shape of one draw of ``name``, from nutpie's column metadata (a scalar: ``()``)."""
    meta = batch.schema.field(name).metadata or {}
    shape = meta.get(b"shape", b"").decode()
    return tuple(int(x) for x in shape.split(",")) if shape else ()


@contextmanager
def interrupts() -> Iterator[list[bool]]:
    """Note a Ctrl-C (the list becomes non-empty) while still delivering it as usual.

    Yields
    ------
    list of bool
        Empty until a Ctrl-C arrives (only noticed in the main thread).
    """
    seen: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return
    previous = signal.getsignal(signal.SIGINT)

    def note(signum: int, frame: FrameType | None) -> None:
        seen.append(True)
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGINT, note)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)


def sample_graph(
    key: str,
    data: Mapping[str, np.ndarray],
    build: Callable[[], pm.Model],
    cfg: Sampler,
    *,
    seed: int,
) -> xr.DataTree:
    """Sample a small model given by its structure ``key``, its ``data`` and how to ``build`` it.

    With nutpie the compiled model comes from the cache (:func:`~.compiled.compiled_model`);
    with PyMC's sampler the model is built and its data set. An interrupted fit raises
    :class:`KeyboardInterrupt`, never a truncated posterior.

    Parameters
    ----------
    key : str
        The model's structure key (:func:`~.compiled.structure_key`).
    data : mapping of str to numpy.ndarray
        The values of the model's data containers, by name.
    build : callable
        Builds the PyMC model (with containers of those names).
    cfg : Sampler
        Backend, draws, tuning steps, chains and target acceptance.
    seed : int
        The sampler's seed.

    Returns
    -------
    xarray.DataTree
        The posterior and sample statistics.

    Raises
    ------
    ModelError
        When the sampler fails on the data.
    """
    with interrupts() as interrupted:
        try:
            if resolve_backend(cfg.backend) == "nutpie":
                compiled = compiled_model(key, data, build)
                posterior = start_nutpie(compiled, cfg, seed=seed, adaptation="diag").wait()
            else:
                with build() as model:
                    pm.set_data(dict(data), model=model)
                    posterior = run_pymc(cfg, seed=seed)
        except (ValueError, RuntimeError, FloatingPointError) as exc:
            if interrupted:
                raise KeyboardInterrupt from None
            raise ModelError(f"sampling failed: {exc}") from exc
    if interrupted or posterior["posterior"].sizes.get("draw", 0) < cfg.draws:
        raise KeyboardInterrupt
    return posterior
