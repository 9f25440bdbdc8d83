"""The flow of one experiment: read → checks → cells → fit → effects, once or at each look.

Modules: ``options`` (a command's options put into the spec, once), ``read`` (the data read,
checked and reduced to cells: the step every flow starts with), ``run`` (validate and analyse
one experiment), ``monitor`` (the analysis at every look of a monitored test), ``looks`` (what
monitoring produces) and ``headline`` (its words). Each stage hands the next a plain typed
value; nothing here renders or writes: :mod:`channelab.app` does.

Dependency rule: wires the computing layers together; never reporting, the app or the CLI.

May import: errors, limits, files, spec, provenance, cells, engine, cohort, analysis, design, replication.
(Checked by ``tests/test_layers.py``.)
"""

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from channelab.pipeline.looks import Monitor
    from channelab.pipeline.monitor import monitor
    from channelab.pipeline.options import with_options
    from channelab.pipeline.read import StepCallback, Validation, validate
    from channelab.pipeline.run import Analysis, analyse, fit_cells

__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "looks": ["Monitor"],
        "monitor": ["monitor"],
        "options": ["with_options"],
        "read": ["StepCallback", "Validation", "validate"],
        "run": ["Analysis", "analyse", "fit_cells"],
    },
)
__all__ = [
    "Analysis",
    "Monitor",
    "StepCallback",
    "Validation",
    "analyse",
    "fit_cells",
    "monitor",
    "validate",
    "with_options",
]
