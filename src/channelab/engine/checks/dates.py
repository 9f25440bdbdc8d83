"""Row rules on dates: dates that are not dates, after the analysis date, outcomes before entry."""

from __future__ import annotations

from collections.abc import Mapping

from channelab.engine.checks.rules import RowRule
from channelab.engine.source import metric_value
from channelab.engine.timing import blank, date_columns, day, day_literal
from channelab.spec import Metric, Spec
from channelab.spec.timing import FIRST_DAY, LAST_DAY


def time_rules(spec: Spec, types: Mapping[str, str]) -> list[RowRule]:
    """Dates that are not dates, entries or outcomes after the analysis date, outcomes before entry."""
    if spec.unit.entered_at is None:
        return []
    return _date_rules(spec) + [
        r for m in spec.metrics if m.at is not None for r in _outcome_rules(spec, m, types)
    ]


def _date_rules(spec: Spec) -> list[RowRule]:
    """Each date column holds dates, none after the analysis date (when one is set)."""
    as_of = spec.as_of
    later = "Set the analysis date later (--as-of or as_of:), or remove these rows" if as_of else ""
    out = []
    for col, what in date_columns(spec):
        name = f"column {col!r} ({what})"
        out.append(
            RowRule(
                "dates",
                f"NOT {blank(col)} AND {day(col)} IS NULL",
                col,
                f"{name} is not a date between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}",
                "Write dates as YYYY-MM-DD (a time after the date, as in 2026-03-02 14:05, is allowed), "
                "and check the years",
            )
        )
        if as_of is not None:
            out.append(
                RowRule(
                    "dates",
                    f"{day(col)} > {day_literal(as_of)}",
                    col,
                    f"{name} is after the analysis date {as_of.isoformat()}",
                    later,
                )
            )
    return out


def _outcome_rules(spec: Spec, m: Metric, types: Mapping[str, str]) -> list[RowRule]:
    """A dated metric's outcome comes after the unit's entry, and has a date when it happened."""
    entered, at = spec.unit.entered_at, m.at
    assert entered is not None
    assert at is not None
    return [
        RowRule(
            "dates",
            f"{day(at)} < {day(entered)}",
            at,
            f"column {at!r} (the date of metric {m.name!r}) is before the unit entered ({entered!r})",
            "An outcome cannot come before the unit's entry; fix the dates at the source",
        ),
        RowRule(
            "dates",
            f"{metric_value(m, types)} > 0 AND {blank(at)}",
            m.source_column,
            f"column {m.source_column!r} (metric {m.name!r}) is above 0 but its date {at!r} is empty",
            "Give the date of every outcome, or remove 'at' from the metric to read its values as "
            "known at entry",
        ),
    ]
