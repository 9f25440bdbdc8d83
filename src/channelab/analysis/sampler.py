"""Which sampler runs a model, and running it: nutpie on a compiled model, Ctrl-C noticed.

Shared by the per-test model (:mod:`.model`) and the programme model (:mod:`.learning`), so
that both sample the same way and an interrupted fit is never used as if it were whole.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
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

__all__ = ["interrupts", "resolve_backend", "run_nutpie", "sample_graph"]


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


def run_nutpie(
    compiled: Any, cfg: Sampler, *, seed: int, adaptation: str, progressbar: bool = False
) -> xr.DataTree:
    """Run the nutpie sampler on a compiled model with the settings ``cfg`` (warm-up not kept).

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
    xarray.DataTree
        The posterior and sample statistics.
    """
    import nutpie

    trace: xr.DataTree = nutpie.sample(
        compiled,
        draws=cfg.draws,
        tune=cfg.tune,
        chains=cfg.chains,
        cores=min(cfg.chains, os.cpu_count() or 1),
        seed=seed,
        target_accept=cfg.target_accept,
        adaptation=adaptation,
        save_warmup=False,
        progress_bar=progressbar,
    )
    return trace


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
                posterior = run_nutpie(compiled_model(key, data, build), cfg, seed=seed, adaptation="diag")
            else:
                with build() as model:
                    pm.set_data(dict(data), model=model)
                    posterior = pm.sample(
                        draws=cfg.draws,
                        tune=cfg.tune,
                        chains=cfg.chains,
                        cores=min(cfg.chains, os.cpu_count() or 1),
                        target_accept=cfg.target_accept,
                        random_seed=seed,
                        nuts_sampler="pymc",
                        progressbar=False,
                        compute_convergence_checks=False,
                    )
        except (ValueError, RuntimeError, FloatingPointError) as exc:
            if interrupted:
                raise KeyboardInterrupt from None
            raise ModelError(f"sampling failed: {exc}") from exc
    if interrupted or posterior["posterior"].sizes.get("draw", 0) < cfg.draws:
        raise KeyboardInterrupt
    return posterior
