"""Aggregated rows: their summed statistics, and the likelihoods they cannot support.

An aggregated row (one row per group of units) holds a units count and, per metric, sums
(Σ y, Σ y², ...): each must be a number that some units could have (whole where it counts,
Σ y² at least (Σ y)² / units and, for values ≥ 0, at most (Σ y)², the hurdle's logs with a
variance ≥ 0 and a mean at most the log of the amounts' mean, nothing summed on a row of 0
units, a count used as a denominator at most the units). What the sums do not hold (each
unit's count, the logs of positive amounts) decides which likelihood replaces the spec's,
with a note saying so (:func:`fallbacks`). Rows without any spread: :mod:`.spread`.
"""

from __future__ import annotations

from collections.abc import Collection

from channelab.engine.checks.base import CheckReport, Fallbacks, Finding, Found
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
    "den_total": "sum of the denominator",
    "den_sum_sq": "Σ y² of the denominator",
    "cross": "Σ x y of numerator and denominator",
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
    rules += _reached_rules(spec)
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
    rules += _spread_rules(spec, m, present) + _hurdle_rules(spec, m, present)
    return [*rules, _empty_rule(spec, m, present)]


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
    if m.type not in ("continuous", "ratio"):
        rules.append((column, f"{total} < 0", f"{what} is negative", "Fix it at the source"))
    if m.type == "binary":
        bound, name = (number(spec.data.units), spec.data.units)
        if m.stage is not None:
            d = {x.name: x for x in spec.metrics}[m.stage]
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


def _reached_rules(spec: Spec) -> list[_Rule]:
    """A count that is a denominator counts the units reaching its stage: at most the row's units.

    On unit rows a share's denominator is the units with a count above 0 (clickers); aggregated
    rows sum the count's column instead, which is the same only when it counts units (clickers,
    not clicks). A row where it exceeds the units shows it counts events.
    """
    assert spec.data is not None
    units = spec.data.units
    by_name = {m.name: m for m in spec.metrics}
    stages = {m.stage: by_name[m.stage] for m in spec.metrics if m.stage is not None}
    return [
        (
            d.source_column,
            f"{number(d.source_column)} > {number(units)}",
            f"sum of metric {d.name!r} (count), the denominator of a share, is above {units!r}",
            "On aggregated rows a share's denominator must count the units who reached the stage "
            "(e.g. prospects who clicked), not events (clicks); export that count in a column of its "
            "own and name it as the denominator",
        )
        for d in stages.values()
        if d.type == "count"
    ]


def _spread_rules(spec: Spec, m: Metric, present: dict[str, str]) -> list[_Rule]:
    """Σ y² that some values have: at least (Σ y)² / units and, for values ≥ 0, at most (Σ y)².

    A whole count is also at most its square, so its Σ y² is at least Σ y. Rows of 0 units are
    left to :func:`_empty_rule`. Tolerances are relative: 1e-9 for the lower bound, 1e-6 for the
    others, which catch gross mistakes (another column's squares) and must not catch a
    one-unit row whose Σ y² was rounded (there the two bounds meet).
    """
    assert spec.data is not None
    if "sum_sq" not in present:
        return []
    units, total, sq = number(spec.data.units), number(present["total"]), number(present["sum_sq"])
    col, name = present["sum_sq"], f"Σ y² of metric {m.name!r}"
    fix = "No numbers have that; check that the column holds the sum of each unit's squared value"
    rules: list[_Rule] = [
        (
            col,
            f"{units} > 0 AND {sq} * {units} < {total} * {total} * (1 - 1e-9) - 1e-9",
            f"{name} is below (Σ y)² / units",
            fix,
        )
    ]
    if m.type in ("count", "revenue"):
        rules.append(
            (
                col,
                f"{sq} > {total} * {total} * (1 + 1e-6) + 1e-6",
                f"{name} is above (Σ y)²",
                f"{fix} (values ≥ 0)",
            )
        )
    if m.type == "count":
        rules.append(
            (col, f"{sq} < {total} * (1 - 1e-6) - 1e-6", f"{name} is below Σ y", f"{fix} (whole counts)")
        )
    return rules


def _hurdle_rules(spec: Spec, m: Metric, present: dict[str, str]) -> list[_Rule]:
    """The hurdle's statistics of the positive amounts: counted whole, and what some amounts have.

    With k positive amounts summing to Σ y: k is a whole number within the units; k is 0
    exactly when Σ y, Σ log y and Σ (log y)² are; Σ (log y)² is at least (Σ log y)² / k (the
    logs' variance is not negative); Σ log y is at most k · log(Σ y / k) (the mean of the
    logs is at most the log of the mean). Zero spread of the logs is allowed: a fixed price
    gives it. Tolerances are relative (1e-6), as exports often round logs to six decimals.
    """
    assert spec.data is not None
    if "n_pos" not in present:
        return []
    units, k, total = number(spec.data.units), number(present["n_pos"]), number(present["total"])
    name = f"of metric {m.name!r}"
    rules: list[_Rule] = [
        (
            present["n_pos"],
            f"{k} < 0 OR {k} <> floor({k}) OR {k} > {units}",
            f"count of positive amounts {name} is not a whole number between 0 and the units",
            "Fix it at the source",
        ),
        (
            present["n_pos"],
            f"({k} = 0) <> ({total} = 0)",
            f"count of positive amounts {name} is 0 where the sum is not, or the reverse",
            "Positive amounts are counted there; check the two columns",
        ),
    ]
    if "sum_log" in present and "sum_log_sq" in present:
        lg, lg2 = number(present["sum_log"]), number(present["sum_log_sq"])
        rules += [
            (
                present["sum_log_sq"],
                f"{lg2} * {k} < {lg} * {lg} - 1e-6 * ({lg} * {lg} + {k} + 1) OR ({k} = 0 AND {lg2} <> 0)",
                f"Σ (log y)² {name} is below (Σ log y)² / the positive amounts (a negative variance)",
                "No amounts have that; check that the column holds the sum of each squared log",
            ),
            (
                present["sum_log"],
                f"CASE WHEN {k} > 0 AND {total} > 0 THEN {lg} > {k} * ln({total} / {k}) "
                f"+ 1e-6 * (abs({lg}) + {k}) ELSE {k} = 0 AND {lg} <> 0 END",
                f"Σ log y {name} is above what amounts with that sum can have (k · log(Σ y / k))",
                "Check that the column holds the sum of the natural logs of the positive amounts",
            ),
        ]
    return rules


def _empty_rule(spec: Spec, m: Metric, present: dict[str, str]) -> _Rule:
    """A row of 0 units sums nothing: every statistic of the metric is 0 there."""
    assert spec.data is not None
    units = number(spec.data.units)
    nonzero = " OR ".join(f"{number(c)} <> 0" for c in present.values())
    return (
        present["total"],
        f"{units} = 0 AND ({nonzero})",
        f"statistics of metric {m.name!r} are not 0 on a row of 0 units",
        f"A row with no units has nothing to sum; fix {spec.data.units!r} or the sums at the source",
    )


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


def shares_of_counts(source: Source, spec: Spec, so_far: CheckReport) -> Found:
    """A note for each share whose denominator, on aggregated rows, is the sum of a count's column.

    On unit rows a share among a count (enrolled among ``clicks``) divides by the units with a
    count above 0; aggregated rows give only the column's sum, read as those units. Rows where
    it exceeds the units are refused (:func:`_reached_rules`); the note says what the share means.
    """
    if spec.input_kind != "aggregated rows":
        return Found()
    by_name = {m.name: m for m in spec.metrics}
    notes = [
        Finding(
            "denominator",
            "info",
            f"metric {m.name!r} is a share of {d.name!r} (a count): on aggregated rows it divides "
            f"{m.source_column!r} by the sum of {d.source_column!r}, read as the units who reached "
            f"that stage (e.g. prospects who clicked), not as events (clicks); if a unit can count "
            "more than 1 there, the share is per event, not per unit",
        )
        for m in spec.metrics
        if m.stage is not None and (d := by_name[m.stage]).type == "count"
    ]
    return Found(tuple(notes))


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
