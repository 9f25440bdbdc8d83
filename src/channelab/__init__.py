"""channelab: run and read outreach-channel experiments the way a careful statistician would.

The flow (one module per stage, imports one way)::

    spec → source/checks → cells → model → effects/verdicts → plots → report/export → cli

Public API: :func:`load_spec`, :func:`analyse`, :func:`run_experiment` and the errors.
Tools for methods work live in their modules: :mod:`channelab.simulate` (experiments with
known truth) and :mod:`channelab.calibrate` (coverage and verdict rates over many fits).
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from channelab.errors import ChannelabError, DataError, ModelError, SpecError
from channelab.spec import Spec, load_spec

if TYPE_CHECKING:
    from channelab.pipeline import Analysis, analyse, run_experiment, validate

#: Loaded on first use: the pipeline imports PyMC (seconds), which planning and checks do not need.
_LAZY = {name: "channelab.pipeline" for name in ("Analysis", "analyse", "run_experiment", "validate")}


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
