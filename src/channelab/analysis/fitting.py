"""A fit as a run makes it: sample, apply the convergence gate to what the report states, refit.

Shared by a run (:mod:`channelab.pipeline`) and calibration, so that calibration measures the
fits users get.
"""

from __future__ import annotations

from collections.abc import Callable

import xarray as xr

from channelab.analysis.diagnostics import Diagnostics, diagnose, fit_until_converged
from channelab.analysis.effects import reported_draws
from channelab.cells import Cells
from channelab.spec import Sampler, Spec


def converged_fit(
    draw: Callable[[Sampler, int], xr.DataTree],
    cells: Cells,
    spec: Spec,
    *,
    seed: int,
    settings: Sampler | None = None,
    on_gate: Callable[[], None] | None = None,
) -> tuple[xr.DataTree, Diagnostics]:
    """Fit with ``draw(settings, seed)``, refitting (``spec.sampler.retries``) until the gate passes.

    The gate checks every parameter and the reported quantities
    (:func:`~channelab.analysis.effects.reported_draws`).

    Parameters
    ----------
    draw : callable
        Fits the posterior of ``cells`` with the given sampler settings and seed.
    cells : Cells
        The cells being fitted (for the reported quantities).
    spec : Spec
        The experiment: interval mass, sampler settings and retries.
    seed : int
        The first fit's seed; refit k uses seed + k.
    settings : Sampler, optional
        The first fit's sampler settings; by default the spec's.
    on_gate : callable, optional
        Called before each check (e.g. to report progress).

    Returns
    -------
    tuple of (xarray.DataTree, Diagnostics)
        The last posterior and its diagnostics, whose ``attempts`` record every fit.
    """

    def gate(posterior: xr.DataTree) -> Diagnostics:
        if on_gate is not None:
            on_gate()
        reported = reported_draws(posterior["posterior"].to_dataset(), cells, spec)
        return diagnose(posterior, spec.hdi_prob, reported=reported)

    return fit_until_converged(draw, gate, settings or spec.sampler, seed, retries=spec.sampler.retries)
