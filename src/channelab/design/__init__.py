"""Planning and building a test: power, assurance, assignment, matching, weighting and balance.

Modules: ``power`` (MDE, sample size, design effect with statsmodels), ``assurance`` (how
often channelab's own verdict says real lift, by simulation), ``sequential`` (the monitored
test's stopping rule: its error rates at the planned looks, by simulation), ``plan`` (``channelab design``),
``assign`` (hash-based blocked randomisation); for observational cohorts ``cohort`` (an
experiment's matched or weighted cohort, its gate and its weighted rows), ``matching``
(propensity, exact and CEM matching), ``weighting`` (entropy balancing, inverse-propensity and
overlap weights), ``propensity`` (the formula's design matrix, the propensity fit, overlap),
and ``balance`` (standardised mean differences).

Dependency rule: imports :mod:`channelab.simulate`, :mod:`channelab.analysis`,
:mod:`channelab.engine` and the layers below them; never reporting, the pipeline or the app.

May import: errors, files, spec, provenance, cells, engine, analysis, simulate.
(Checked by ``tests/test_layers.py``.)
"""

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from channelab.design.assign import AssignmentResult, assign
    from channelab.design.assurance import Assurance, assurance
    from channelab.design.cohort import MatchResult, match_experiment
    from channelab.design.plan import Design, design
    from channelab.design.power import PowerPlan, plan_power
    from channelab.design.sequential import StoppingRule, operating_characteristics

__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "assign": ["AssignmentResult", "assign"],
        "assurance": ["Assurance", "assurance"],
        "cohort": ["MatchResult", "match_experiment"],
        "plan": ["Design", "design"],
        "power": ["PowerPlan", "plan_power"],
        "sequential": ["StoppingRule", "operating_characteristics"],
    },
)
__all__ = [
    "AssignmentResult",
    "Assurance",
    "Design",
    "MatchResult",
    "PowerPlan",
    "StoppingRule",
    "assign",
    "assurance",
    "design",
    "match_experiment",
    "operating_characteristics",
    "plan_power",
]
