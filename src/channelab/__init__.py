"""channelab: run and read outreach-channel experiments the way a careful statistician would.

The flow (one module per stage, imports one way)::

    spec → source/checks → cells → model → effects/verdicts → plots → report/export → cli

Public API: :func:`load_spec`, :func:`analyse`, :func:`run_experiment` and the errors.
"""

from importlib.metadata import PackageNotFoundError, version

from channelab.errors import ChannelabError, DataError, ModelError, SpecError
from channelab.pipeline import Analysis, analyse, run_experiment, validate
from channelab.spec import Spec, load_spec

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
