"""Checks on the raw unit rows, run in the engine before anything is fitted.

Every check follows one protocol (:class:`Check`): it reads the rows (or a published table),
the spec and the report so far, and returns a typed result that folds into the
:class:`CheckReport` (its :class:`Finding` objects, and what it measured). Errors (unknown arm
labels, duplicated units, missing or impossible values) make analysis meaningless and stop the
run with one :class:`~channelab.errors.DataError` listing them all; warnings (a sample-ratio
mismatch) are counted and carried into the report. No row is ever dropped. One check runs on
the cells instead, as it counts each metric's own units (:func:`arm_units`: enough units in
every arm).

Modules, one per concern: ``base`` (the protocol, findings, results and report), ``runner``
(:func:`run_checks`, :func:`summary_checks` and their tuples of checks), ``columns`` (the
columns the spec uses, required before any check), ``rules`` (row rules counted in one scan),
``values`` (missing and impossible values of unit rows), ``dates`` (dates), ``aggregates``
(aggregated rows: statistics some units could have, and the likelihoods they cannot support),
``spread`` (aggregated rows with no spread in any row of an arm), ``arms`` (arm labels, arms and
funnel stages without units, and the per-arm unit minimum), ``units`` (unit identity, and the
number of clusters), ``covariates`` (strata), ``ratio`` (sample ratio and pre-period balance),
``adjusted`` (pre-period columns that copy an outcome), ``summaries`` (published per-arm tables),
``wording`` (how values are shown, in bounded lists).
"""

from channelab.engine.checks.arms import MIN_ARM_UNITS, MIN_ARM_UNITS_NORMAL, arm_units
from channelab.engine.checks.base import Balance, Check, CheckReport, Finding, Result, Severity
from channelab.engine.checks.ratio import SRM_ALPHA
from channelab.engine.checks.runner import run_checks, summary_checks
from channelab.limits import MAX_COVARIATE_LEVELS

__all__ = [
    "MAX_COVARIATE_LEVELS",
    "MIN_ARM_UNITS",
    "MIN_ARM_UNITS_NORMAL",
    "SRM_ALPHA",
    "Balance",
    "Check",
    "CheckReport",
    "Finding",
    "Result",
    "Severity",
    "arm_units",
    "run_checks",
    "summary_checks",
]
