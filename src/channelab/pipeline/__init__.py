"""The flow of one experiment: read → checks → cells → fit → effects, once or at each look.

Modules: ``run`` (validate and analyse one experiment) and ``monitor`` (the analysis at every
look of a monitored test). Each stage hands the next a plain typed value; nothing here renders
or writes: :mod:`channelab.app` does.

Dependency rule: wires the computing layers together; never reporting, the app or the CLI.

May import: errors, files, spec, provenance, cells, engine, cohort, analysis, design, replication.
(Checked by ``tests/test_layers.py``.)
"""

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from channelab.pipeline.monitor import Monitor, monitor
    from channelab.pipeline.run import Analysis, StepCallback, Validation, analyse, fit_cells, validate

__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "monitor": ["Monitor", "monitor"],
        "run": ["Analysis", "StepCallback", "Validation", "analyse", "fit_cells", "validate"],
    },
)
__all__ = ["Analysis", "Monitor", "StepCallback", "Validation", "analyse", "fit_cells", "monitor", "validate"]
