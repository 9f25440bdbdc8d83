"""Row rules: conditions no row may meet, all counted in one scan of the data.

The value checks (:mod:`.values`, :mod:`.dates`, :mod:`.aggregates`) each write their rules as
:class:`RowRule`; :func:`apply_row_rules` counts every rule in one query and turns each broken
one into an error naming the column, example rows and what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from channelab.engine.checks.base import Finding
from channelab.engine.checks.wording import EXAMPLES
from channelab.engine.source import ROWS, Source, number, quote
from channelab.errors import shown
from channelab.limits import MAX_MAGNITUDE


@dataclass(frozen=True)
class RowRule:
    """A condition no row may meet; counted for all rules in one scan of the data."""

    check: str
    condition: str  # SQL, true for offending rows
    column: str
    what: str  # "column 'x' is empty" style prefix
    fix: str


def by_arm(source: Source, arm_column: str, aggregates: list[str]) -> dict[str, tuple[Any, ...]]:
    """Per arm label, the values of SQL ``aggregates`` over its rows, all in one query.

    Parameters
    ----------
    source
        The rows.
    arm_column
        The column of arm labels.
    aggregates
        SQL aggregate expressions (``sum(...)``, ``count(...)``), in the order of the tuples.
    """
    arm = f"CAST({quote(arm_column)} AS VARCHAR)"
    listed = ", ".join(aggregates)
    return {
        str(r[0]): tuple(r[1:]) for r in source.fetchall(f"SELECT {arm}, {listed} FROM {ROWS} GROUP BY 1")
    }


def apply_row_rules(source: Source, rules: list[RowRule]) -> list[Finding]:
    """One error per rule that some rows break, with their count and example rows."""
    if not rules:
        return []
    # sum of 0/1 rather than count(*) FILTER: DuckDB evaluates it about 3x faster (10M rows:
    # 0.25 s against 0.8 s); NULL conditions count as false in both
    (counts,) = source.fetchall(
        "SELECT "
        + ", ".join(f"coalesce(sum(CAST(({r.condition}) AS INTEGER)), 0)" for r in rules)
        + f" FROM {ROWS}"
    )
    out = []
    for rule, n in zip(rules, counts or (), strict=True):
        if n:
            examples = _examples(source, rule.condition, quote(rule.column))
            out.append(
                Finding(
                    rule.check, "error", f"{rule.what} in {n} row(s), e.g. {examples}. {rule.fix}.", int(n)
                )
            )
    return out


def _examples(source: Source, condition: str, value: str) -> str:
    """First rows (1-based, header excluded) matching ``condition``, as 'row 12 (value 3)'."""
    rows = source.first_rows(condition, value, EXAMPLES)
    return ", ".join(where + ("" if v is None else f" ({shown(v)})") for where, v in rows)


def number_rules(column: str, what: str) -> list[tuple[str, str, str, str]]:
    """(column, condition, what, fix) of a column that must hold plain, finite, sane numbers."""
    v, col = number(column), quote(column)
    return [
        (column, f"{col} IS NOT NULL AND {v} IS NULL", f"{what} is not a number", "Export plain numbers"),
        (
            column,
            f"isnan({v}) OR abs({v}) > {MAX_MAGNITUDE:.0e}",
            f"{what} is NaN, infinite or too large",
            "Fix these values at the source",
        ),
    ]
