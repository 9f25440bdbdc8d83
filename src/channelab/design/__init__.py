"""Planning and building a test: power, assurance, assignment, matching and balance.

Modules: ``power`` (MDE, sample size, design effect with statsmodels), ``assurance`` (how
often channelab's own verdict says real lift, by simulation), ``plan`` (``channelab design``),
``assign`` (hash-based blocked randomisation), ``matching`` (propensity, exact and CEM matching
of observational cohorts), ``balance`` (standardised mean differences).

Dependency rule: imports :mod:`channelab.simulate`, :mod:`channelab.analysis`,
:mod:`channelab.engine` and the layers below them; never reporting, the pipeline or the app.
"""

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from channelab.design.assign import AssignmentResult, assign
    from channelab.design.assurance import Assurance, assurance
    from channelab.design.matching import MatchResult, match_experiment
    from channelab.design.plan import Design, design
    from channelab.design.power import PowerPlan, plan_power

__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "assign": ["AssignmentResult", "assign"],
        "assurance": ["Assurance", "assurance"],
        "matching": ["MatchResult", "match_experiment"],
        "plan": ["Design", "design"],
        "power": ["PowerPlan", "plan_power"],
    },
)
__all__ = [
    "AssignmentResult",
    "Assurance",
    "Design",
    "MatchResult",
    "PowerPlan",
    "assign",
    "assurance",
    "design",
    "match_experiment",
    "plan_power",
]
