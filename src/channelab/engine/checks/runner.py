"""The runners: every check, in order, folded into one :class:`~.base.CheckReport`.

:func:`run_checks` runs the checks on the rows, :func:`summary_checks` those on a published
table. A new check is a function of the :class:`~.base.Check` protocol in the module of its
concern, and one line in :data:`ROW_CHECKS` or :data:`SUMMARY_CHECKS`. The order of a tuple is
the order of the findings in the report (reports and tests compare it).
"""

from __future__ import annotations

from channelab.engine.checks.adjusted import outcome_copies
from channelab.engine.checks.aggregates import fallbacks, shares_of_counts
from channelab.engine.checks.arms import arm_labels
from channelab.engine.checks.base import Check, CheckReport, planned_shares, refuse, run_all
from channelab.engine.checks.columns import require_columns
from channelab.engine.checks.covariates import confounded_covariates, covariate_levels
from channelab.engine.checks.quantile_metrics import quantile_values
from channelab.engine.checks.ratio import pre_period_balance, sample_ratio
from channelab.engine.checks.ratio_metrics import ratio_denominators
from channelab.engine.checks.spread import zero_spread
from channelab.engine.checks.summaries import assumed_values, cell_means, published_counts, published_note
from channelab.engine.checks.units import cluster_count, duplicate_units, split_clusters
from channelab.engine.checks.values import row_values
from channelab.engine.source import Source
from channelab.spec import DataSource, Spec

#: The checks on the rows, in the order they run: the balance reads the errors before it, the
#: sample ratio the arm counts.
ROW_CHECKS: tuple[Check[Source], ...] = (
    row_values,
    arm_labels,
    ratio_denominators,
    quantile_values,
    duplicate_units,
    split_clusters,
    cluster_count,
    covariate_levels,
    confounded_covariates,
    sample_ratio,
    pre_period_balance,
    outcome_copies,
    fallbacks,
    shares_of_counts,
    zero_spread,
)

#: The checks on a published per-arm table, in the order they run.
SUMMARY_CHECKS: tuple[Check[DataSource], ...] = (published_counts, published_note, assumed_values, cell_means)


def run_checks(source: Source, spec: Spec) -> CheckReport:
    """Run every check on the rows of ``source``.

    Errors (unknown arm labels, duplicated units, missing or impossible values) stop the run;
    warnings (a sample-ratio mismatch) are carried into the report. No row is ever dropped.

    Parameters
    ----------
    source : Source
        The rows, registered in their engine.
    spec : Spec
        The experiment the rows are checked against.

    Returns
    -------
    CheckReport
        Every finding, the arm counts, the sample-ratio p-value, the balance of the pre-period
        columns and the likelihoods aggregated rows cannot support.

    Raises
    ------
    DataError
        Listing every blocking problem at once, each naming the file, the column and
        example rows, and saying what to do.
    """
    require_columns(source, spec)
    start = CheckReport(
        n_rows=source.n_rows, arm_counts={}, planned_shares=planned_shares(spec), srm_p=float("nan")
    )
    report = run_all(ROW_CHECKS, source, spec, start)
    refuse(source.path, report.errors)
    return report


def summary_checks(spec: Spec) -> CheckReport:
    """What can be said of a published per-arm table (``data.summaries``) before fitting.

    Its values were checked when the spec was read; what cannot be checked, and which numbers
    are assumed rather than published, become notes in the report.

    Parameters
    ----------
    spec : Spec
        An experiment whose data are a published per-arm table.

    Returns
    -------
    CheckReport
        The published arm sizes, the notes, and the count metrics fitted as cell means.
    """
    assert spec.data is not None
    assert spec.data.summaries is not None
    start = CheckReport(
        n_rows=len(spec.arm_order), arm_counts={}, planned_shares=planned_shares(spec), srm_p=float("nan")
    )
    return run_all(SUMMARY_CHECKS, spec.data, spec, start)
