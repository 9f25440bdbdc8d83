"""The gate before every check: the data have each column the spec uses.

Not a check of the protocol: without its columns no query can run, so a missing column stops
the run at once, naming the closest column the file has.
"""

from __future__ import annotations

from collections.abc import Collection

from channelab.engine.checks.wording import COLUMNS_LISTED, closest
from channelab.engine.duck import delimiter_hint
from channelab.engine.source import Source, aggregate_columns
from channelab.engine.timing import date_columns
from channelab.errors import DataError, first_few
from channelab.spec import Spec


def used_columns(spec: Spec, columns: Collection[str]) -> list[str]:
    """Every column the spec reads (dates of outcomes excepted), once each, in a stable order."""
    cols = [spec.arm_column]
    if spec.input_kind == "aggregated rows":
        assert spec.data is not None
        cols.append(spec.data.units)
        cols += [c for m in spec.metrics for c in aggregate_columns(m, columns)[0].values()]
    else:
        cols += [c for m in spec.metrics for c in m.data_columns]
    cols += spec.covariates + spec.adjust
    if spec.unit.id:
        cols.insert(0, spec.unit.id)
    if spec.unit.randomised_by:
        cols.append(spec.unit.randomised_by)
    if spec.unit.entered_at:
        cols.append(spec.unit.entered_at)
    if spec.design == "matched":
        cols += [*spec.matching_covariates, *spec.matching.exact]
    return list(dict.fromkeys(cols))


def require_columns(source: Source, spec: Spec) -> None:
    """Stop unless ``source`` has every column the spec uses (aggregated statistics included).

    Raises
    ------
    DataError
        Naming the missing columns, a close match for each, and the columns the file has.
    """
    have = list(source.columns)
    if spec.input_kind == "aggregated rows":
        _require_statistics(source, spec, have)
    dates = [c for c, _ in date_columns(spec)]  # outcome dates may be blank (no outcome)
    missing = [c for c in dict.fromkeys(used_columns(spec, have) + dates) if c not in source.columns]
    if missing:
        hints = [f"{c!r}" + (f" ({hint})" if (hint := closest(c, have)) else "") for c in missing]
        raise DataError(
            f"{source.path}: the spec uses column(s) {first_few(hints, COLUMNS_LISTED)} that the file "
            "does not have. "
            f"Its columns are: {first_few(have, COLUMNS_LISTED)}."
            + (
                delimiter_hint(have, spec.data.delimiter if spec.data else ",")
                or " Fix the column names in the experiment file."
            )
        )


def _require_statistics(source: Source, spec: Spec, have: list[str]) -> None:
    """Stop unless aggregated rows hold each statistic their metrics' likelihoods need."""
    stats = [
        f"{c!r} (metric {m.name!r}, {m.type})" for m in spec.metrics for c in aggregate_columns(m, have)[1]
    ]
    if stats:
        raise DataError(
            f"{source.path}: aggregated rows lack the statistic column(s) "
            f"{first_few(stats, COLUMNS_LISTED)}. "
            "Each row needs the metric's sum in its own column, Σ y² in '<column>_sum_sq' "
            "(continuous, revenue) and, for the lognormal hurdle, '<column>_n_pos', "
            "'<column>_sum_log' and '<column>_sum_log_sq'; a ratio its numerator's and "
            "denominator's sums and '_sum_sq', and '<numerator>_x_<denominator>' (Σ x y). "
            "Add them to the export, or choose a "
            f"likelihood the statistics support. Its columns are: {first_few(have, COLUMNS_LISTED)}."
        )
