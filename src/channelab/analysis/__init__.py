"""The statistics of one experiment: from cells to a posterior, effects and verdicts.

Modules: ``families`` (likelihood and mean per metric type), ``predictor`` (the linear
predictor every family shares), ``model`` (build, sample, refit), ``blocks`` (one model per
metric, keyed by its structure), ``compiled`` (the compiled model, cached by structure across
runs), ``flat`` (its log-density over a parameter vector of any length, so one compiled model
serves every size), ``callbacks`` (nutpie's C callbacks, cached by numba), ``gcomp``
(population means per arm on the experiment's own mix), ``diagnostics`` (the convergence gate
and the refits when it fails), ``fitting`` (a fit as a run makes it), ``results`` (immutable
result values, with ``interval`` and ``economics_results``), ``intervals`` (equal-tailed and
highest-density intervals, the noise band), ``covariance`` (effects' covariances across
metrics, from the units' cross-products), ``decisions`` (verdict rules), ``claims`` (the claims
contract), ``wording`` (verdicts in words), ``funnel`` (follow-through), ``economics`` (money),
``adjustment`` (what the pre-period adjustment did), ``monitor`` (the stopping rule of a
monitored test), ``effects`` (lifts, intervals and verdicts from a posterior).

Dependency rule: imports :mod:`channelab.spec`, :mod:`channelab.cells` and the base modules
only; never the engine, plotting or reporting. Names load on first use (PyMC takes seconds).

May import: errors, limits, files, spec, likelihoods, cells. (Checked by ``tests/test_layers.py``.)
"""

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from channelab.analysis.diagnostics import Diagnostics, diagnose
    from channelab.analysis.effects import compute_effects
    from channelab.analysis.model import Refitter, build_model, sample
    from channelab.analysis.results import ArmResult, Effect, Effects, Interval

__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "diagnostics": ["Diagnostics", "diagnose"],
        "effects": ["compute_effects"],
        "model": ["Refitter", "build_model", "sample"],
        "results": ["ArmResult", "Effect", "Effects", "Interval"],
    },
)
__all__ = [
    "ArmResult",
    "Diagnostics",
    "Effect",
    "Effects",
    "Interval",
    "Refitter",
    "build_model",
    "compute_effects",
    "diagnose",
    "sample",
]
