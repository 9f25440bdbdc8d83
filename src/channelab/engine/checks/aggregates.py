"""Aggregated rows: their summed statistics, and the likelihoods they cannot support.

An aggregated row (one row per group of units) holds a units count and, per metric, sums
(Σ y, Σ y², ...): each must be a number that some units could have (whole where it counts,
Σ y² at least (Σ y)² / units). What the sums do not hold (each unit's count, the logs of
positive amounts) decides which likelihood replaces the spec's, with a note saying so
(:func:`fallbacks`).
"""

from __future__ import annotations

from collections.abc import Collection

from channelab.engine.checks.base import CheckReport, Fallbacks, Finding
from channelab.engine.checks.rules import RowRule, number_rules
from channelab.engine.source import Source, aggregate_columns, number, statistic_columns
from channelab.likelihoods import LIKELIHOODS, Likelihood, fitted
from channelab.spec import Metric, Spec

#: How a message names each summed statistic of a metric.
_STAT_WORDS = {
    "total": "sum",
    "sum_sq": "Σ y²",
    "n_pos": "count of positive amounts",
    "sum_log": "Σ log y",
    "sum_log_sq": "Σ (log y)²",
}

_Rule = tuple[str, str, str, str]  # (column, condition, what, fix)


def aggregate_rules(spec: Spec, columns: Collection[str]) -> list[RowRule]:
    """Impossible values in aggregated rows: each names the column, the row and what to fix."""
    assert spec.data is not None
    units_col = spec.data.units
    units = number(units_col)
    rules: list[_Rule] = [
        *number_rules(units_col, "units column"),
        (
            units_col,
            f"{units} < 0 OR {units} <> floor({units})",
            "units column is not a whole number ≥ 0",
            "It counts the units of the row",
        ),
    ]
    for m in spec.metrics:
        rules += _metric_rules(spec, m, aggregate_columns(m, columns)[0])
    return [
        RowRule("aggregate_values", cond, col, f"column {col!r}: the {what}", fix)
        for col, cond, what, fix in rules
    ]


def _metric_rules(spec: Spec, m: Metric, present: dict[str, str]) -> list[_Rule]:
    """One metric's summed statistics: numbers, then what its type and the units allow."""
    rules: list[_Rule] = []
    for stat, col in present.items():
        rules += number_rules(col, f"{_STAT_WORDS[stat]} of metric {m.name!r}")
    rules += _total_rules(spec, m, present["total"])
    return rules + _spread_rules(spec, m, present)


def _total_rules(spec: Spec, m: Metric, column: str) -> list[_Rule]:
    """A metric's sum: whole for binary and count metrics, not negative, successes within bounds."""
    assert spec.data is not None
    total, what = number(column), f"sum of metric {m.name!r} ({m.type})"
    rules: list[_Rule] = []
    if m.type in ("binary", "count"):
        rules.append(
            (
                column,
                f"{total} <> floor({total})",
                f"{what} is not whole",
                "It counts units or events; export whole numbers",
            )
        )
    if m.type != "continuous":
        rules.append((column, f"{total} < 0", f"{what} is negative", "Fix it at the source"))
    if m.type == "binary":
        bound, name = (number(spec.data.units), spec.data.units)
        if m.denominator is not None:
            d = {x.name: x for x in spec.metrics}[m.denominator]
            bound, name = number(d.source_column), d.source_column
        rules.append(
            (
                column,
                f"{total} > {bound}",
                f"{what} is above {name!r}",
                f"Successes cannot outnumber {name!r}; check the two columns",
            )
        )
    return rules


def _spread_rules(spec: Spec, m: Metric, present: dict[str, str]) -> list[_Rule]:
    """Σ y² no less than (Σ y)² / units; positive amounts counted whole, at most the units."""
    assert spec.data is not None
    units, total = number(spec.data.units), number(present["total"])
    rules: list[_Rule] = []
    if "sum_sq" in present:
        sq = number(present["sum_sq"])
        rules.append(
            (
                present["sum_sq"],
                f"{sq} * {units} < {total} * {total} * (1 - 1e-9) - 1e-9",
                f"Σ y² of metric {m.name!r} is below (Σ y)² / units",
                "No numbers have that; check that the column holds the sum of squares",
            )
        )
    if "n_pos" in present:
        k = number(present["n_pos"])
        rules.append(
            (
                present["n_pos"],
                f"{k} < 0 OR {k} <> floor({k}) OR {k} > {units}",
                f"count of positive amounts of metric {m.name!r} is not a whole number "
                "between 0 and the units",
                "Fix it at the source",
            )
        )
    return rules


def fallbacks(source: Source, spec: Spec, so_far: CheckReport) -> Fallbacks:
    """Likelihoods aggregated rows cannot support, what replaces each, and a note saying so."""
    if spec.input_kind != "aggregated rows":
        return Fallbacks()
    used, notes = {}, []
    for m in spec.metrics:
        fallback = _fallback(m, aggregate_columns(m, source.columns)[0])
        if fallback is not None:
            used[m.name], note = fallback
            notes.append(Finding("likelihood", "info", note))
    return Fallbacks(used, tuple(notes))


def _fallback(m: Metric, present: dict[str, str]) -> tuple[str, str] | None:
    """The likelihood that replaces ``m``'s, and the note saying why; ``None`` if none is needed."""
    row = m.likelihood
    used = fitted(row, present)
    if used is row:
        return None
    assert used.variant is not None
    return used.variant, fallback_note(m, used, present, source="aggregated rows")


def fallback_note(m: Metric, used: Likelihood, present: Collection[str], *, source: str) -> str:
    """``metric 'x' is fitted with the <used> (from Σ y): <caveat>; the <asked> needs <what>, ...``.

    Names the columns that would let a better fallback fit, when there is one.

    Parameters
    ----------
    m
        The metric, whose spec asks for another likelihood.
    used
        The likelihood fitted instead (:func:`channelab.likelihoods.fitted`).
    present
        The statistics the data give.
    source
        What the data are, in words (``aggregated rows``).
    """
    row, columns = m.likelihood, statistic_columns(m)
    better = [LIKELIHOODS[k] for k in row.fallbacks[: row.fallbacks.index(used.key)]]
    add = [f"'{columns[s]}' ({_SYMBOL[s]})" for b in better for s in b.statistics if s not in present]
    hint = f"; add {', '.join(add)} to fit the {better[0].label} instead" if add else ""
    lacking = [s for s in row.statistics if s not in present]
    needs = _and(["each unit's count" if s == "frequencies" else f"'{columns[s]}'" for s in lacking])
    given = _and([_SYMBOL[s] for s in used.statistics])
    return (
        f"metric {m.name!r} is fitted with the {used.label} (from {given}){used.caveat}{hint}; "
        f"the {row.label} needs {needs}, which {source} do not hold"
    )


#: Statistics in symbols.
_SYMBOL = {
    "total": "Σ y",
    "sum_sq": "Σ y²",
    "n_pos": "n with y > 0",
    "sum_log": "Σ log y",
    "sum_log_sq": "Σ (log y)²",
    "frequencies": "each unit's count",
}


def _and(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)
