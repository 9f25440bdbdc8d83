"""Planning a test: power, assurance, the monitored test's stopping rule, assignment.

Modules: ``power`` (MDE, sample size, design effect with statsmodels), ``baselines`` (the
baselines it plans from: the spec's, or a pilot's control arm), ``assurance`` (how often
channelab's own verdict says real lift, by simulation), ``monitor`` (the monitored test's
stopping rule: its error rates at the planned looks, by simulation), ``plan`` (``channelab
design``), ``assign`` (hash-based blocked randomisation, its balance read by
:mod:`channelab.cohort.balance`).

Dependency rule: imports :mod:`channelab.simulate`, :mod:`channelab.analysis`,
:mod:`channelab.engine` and the layers below them; never reporting, the pipeline or the app.

May import: errors, limits, files, spec, provenance, cells, engine, cohort, analysis, simulate.
(Checked by ``tests/test_layers.py``.)
"""

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from channelab.design.assign import AssignmentResult, assign
    from channelab.design.assurance import Assurance, AssuranceRow, assurance
    from channelab.design.monitor import StoppingRule, operating_characteristics
    from channelab.design.plan import Design, design
    from channelab.design.power import PowerPlan, plan_power

__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "assign": ["AssignmentResult", "assign"],
        "assurance": ["Assurance", "AssuranceRow", "assurance"],
        "plan": ["Design", "design"],
        "power": ["PowerPlan", "plan_power"],
        "monitor": ["StoppingRule", "operating_characteristics"],
    },
)
__all__ = [
    "AssignmentResult",
    "Assurance",
    "AssuranceRow",
    "Design",
    "PowerPlan",
    "StoppingRule",
    "assign",
    "assurance",
    "design",
    "operating_characteristics",
    "plan_power",
]
