"""channelab: run and read outreach-channel experiments the way a careful statistician would.

The package follows the flow of an experiment, one folder per stage. Imports go one way,
down this list (a module may import its own layer and the layers below it, never above,
and never in a cycle); ``tests/test_layers.py`` reads every import and enforces it::

    errors, limits, files, likelihoods  base: exceptions, input bounds, atomic writes, JSON, likelihoods
    spec/              the experiment definition: schema and YAML loader
    provenance         the stamp every output carries
    cells              sufficient statistics per cell: value types only
    engine/            DuckDB and Spark sources, row checks, the SQL that builds cells
    cohort/            an observational cohort: matching, weighting, propensity, balance
    analysis/          model families, PyMC model, g-computation, diagnostics, decisions, effects
    simulate/          the public test kit: simulators with their truth, calibration
    design/            planning a test: power, assurance, the stopping rule, assignment
    replication/       replication statistics, the judgement, the plan
    pipeline/          read → cells → fit → effects, once or at each look; writes nothing
    reporting/         JSON data, figures and PDFs from results; never fits
    app                each command end to end: compute, render, write the outputs
    cli                parse, call one function of app, print, exit

Public API: :func:`load_spec`, :func:`analyse`, :func:`validate`, :func:`run_experiment`
and the errors. The test kit is :mod:`channelab.simulate`.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from channelab.errors import ChannelabError, DataError, ModelError, SpecError
from channelab.spec import Spec, load_spec

if TYPE_CHECKING:
    from channelab.app import run_experiment
    from channelab.pipeline import Analysis, analyse, validate

#: Loaded on first use: the pipeline imports PyMC (seconds), which planning and checks do not need.
_LAZY = {
    "Analysis": "channelab.pipeline",
    "analyse": "channelab.pipeline",
    "validate": "channelab.pipeline",
    "run_experiment": "channelab.app",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'channelab' has no attribute {name!r}")


try:
    __version__ = version("channelab")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "Analysis",
    "ChannelabError",
    "DataError",
    "ModelError",
    "Spec",
    "SpecError",
    "__version__",
    "analyse",
    "load_spec",
    "run_experiment",
    "validate",
]
