"""Pre-period columns (``adjust``) that are a copy of an outcome rather than a pre-period value.

Adjusting for a column explains away the part of an outcome it predicts. A pre-period value
(last quarter's meetings) predicts some of it; a column that predicts all of it within the arms
(R² of 100 %: the outcome itself, exported twice, or a value measured after assignment) leaves
nothing for the arm effect, and the lift that remains is an artefact. Checked on the unit rows,
where both columns are, before anything is fitted.
"""

from __future__ import annotations

from channelab.engine.checks.base import CheckReport, Finding, Found
from channelab.engine.source import ROWS, Source, metric_value, number, quote
from channelab.limits import MAX_ADJUST_R2
from channelab.spec import Spec


def outcome_copies(source: Source, spec: Spec, so_far: CheckReport) -> Found:
    """An error for each ``adjust`` column that (almost) perfectly predicts a metric within the arms.

    The R² is the pooled within-arm one: each arm's covariance and variances about its own
    means, added over the arms, so that the arm effect itself does not count. At or above
    :data:`~channelab.limits.MAX_ADJUST_R2` the column is refused, naming it and the metric.
    Not run after an error (the values may not be numbers), nor without ``adjust``.
    """
    if not spec.adjust or so_far.errors:  # aggregated rows have no adjust (the spec refuses it)
        return Found()
    pairs = [(x, m) for x in spec.adjust for m in spec.metrics]
    stats = ", ".join(
        f"covar_pop({number(x)}, {y}), var_pop({number(x)}), var_pop({y})"
        for x, m in pairs
        for y in [metric_value(m, source.columns)]
    )
    per_arm = source.fetchall(f"SELECT count(*), {stats} FROM {ROWS} GROUP BY {quote(spec.arm_column)}")
    out = []
    for i, (x, m) in enumerate(pairs):
        sxy = sxx = syy = 0.0
        for row in per_arm:
            n, cov, vx, vy = row[0], *row[1 + 3 * i : 4 + 3 * i]
            if cov is not None and vx is not None and vy is not None:
                sxy, sxx, syy = sxy + n * cov, sxx + n * vx, syy + n * vy
        r2 = sxy * sxy / (sxx * syy) if sxx > 0 and syy > 0 else 0.0
        if r2 >= MAX_ADJUST_R2:
            out.append(
                Finding(
                    "adjust_copies_outcome",
                    "error",
                    f"pre-period column {x!r} (adjust) predicts metric {m.name!r} (column "
                    f"{m.source_column!r}) almost exactly within the arms (R² {r2:.2%}): it is the "
                    "outcome under another name, or was measured after assignment, and adjusting for "
                    "it would explain the effect away. Remove it from adjust, or use a value measured "
                    "before assignment.",
                )
            )
    return Found(tuple(out))
