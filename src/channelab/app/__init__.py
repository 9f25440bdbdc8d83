"""What each command does, end to end: load the spec, compute, render, write the outputs.

The only module that imports both computation (:mod:`channelab.pipeline`, design, replication)
and rendering (:mod:`channelab.reporting`). Every function takes the experiment file's path and
returns what it computed and wrote, so the CLI only parses arguments and prints. A command's
options (seed, engine, analysis date, looks) are put into the spec once, by
:func:`~channelab.pipeline.options.with_options`; everything below reads them from the spec.

:mod:`.experiments` holds the commands on one experiment, :mod:`.units` those that write unit
files (assign, match); :mod:`.programme` those on a programme
of experiments (the registry, ``learn``, ``digest``).

May import: errors, limits, files, spec, provenance, cells, engine, cohort, analysis, simulate, design,
replication, pipeline, reporting.
"""

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from channelab.app.experiments import (
        Monitored,
        Planned,
        Report,
        design_experiment,
        monitor_experiment,
        plan_replication,
        replicate_experiment,
        run_experiment,
        validate_experiment,
    )
    from channelab.app.units import Assigned, Matched, assign_experiment, match_experiment_cohort
    from channelab.app.warm_up import Warmed, warm_up

# loaded on first use: ``channelab validate`` imports no model and no plotting
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "experiments": [
            "Monitored",
            "Planned",
            "Report",
            "design_experiment",
            "monitor_experiment",
            "plan_replication",
            "replicate_experiment",
            "run_experiment",
            "validate_experiment",
        ],
        "units": ["Assigned", "Matched", "assign_experiment", "match_experiment_cohort"],
        "warm_up": ["Warmed", "warm_up"],
    },
)
__all__ = [
    "Assigned",
    "Matched",
    "Monitored",
    "Planned",
    "Report",
    "Warmed",
    "assign_experiment",
    "design_experiment",
    "match_experiment_cohort",
    "monitor_experiment",
    "plan_replication",
    "replicate_experiment",
    "run_experiment",
    "validate_experiment",
    "warm_up",
]
