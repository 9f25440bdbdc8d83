"""The cohort of an observational experiment: matching, weighting, propensity and balance.

Part of every run of a matched or weighted design (not of planning, which is
:mod:`channelab.design`). Modules: ``build`` (an experiment's matched or weighted cohort, its
gate and its weighted rows), ``matching`` (propensity, exact and CEM matching), ``weighting``
(entropy balancing, inverse-propensity and overlap weights), ``propensity`` (the formula's
design matrix, the propensity fit, overlap) and ``balance`` (standardised mean differences).

Dependency rule: reads rows through :mod:`channelab.engine`; never the model, simulation,
planning, reporting, the pipeline or the app.

May import: errors, limits, files, spec, engine.
(Checked by ``tests/test_layers.py``.)
"""

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from channelab.cohort.build import MatchResult, match_experiment

__getattr__, __dir__, _ = lazy_loader.attach(
    __name__, submod_attrs={"build": ["MatchResult", "match_experiment"]}
)
__all__ = ["MatchResult", "match_experiment"]
