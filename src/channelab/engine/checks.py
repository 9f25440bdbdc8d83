"""Checks on the raw unit rows, run in DuckDB before anything is fitted.

Every check yields a :class:`Finding`. Errors (unknown arm labels, duplicated units, missing
or impossible values) make analysis meaningless and stop the run with one
:class:`~channelab.errors.DataError` listing them all; warnings (a sample-ratio mismatch)
are counted and carried into the report. No row is ever dropped. One check runs on the cells
instead, as it counts each metric's own units (:func:`arm_units`: enough units in every arm).
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np
from scipy import stats

from channelab.cells import Cells
from channelab.engine.duck import delimiter_hint
from channelab.engine.source import (
    HURDLE_STATS,
    MAX_MAGNITUDE,
    ROWS,
    Source,
    aggregate_columns,
    metric_value,
    number,
    quote,
)
from channelab.engine.timing import blank, date_columns, day, day_literal
from channelab.errors import DataError
from channelab.spec import Metric, Spec

Severity = Literal["error", "warning", "info"]

#: Longest covariate level (it is printed as a label in tables and figures).
MAX_LEVEL_LENGTH = 80
#: A covariate with more levels than this is almost certainly an id or a number, not a stratum.
MAX_COVARIATE_LEVELS = 200
#: Sample-ratio mismatch is flagged below this chi-square p-value.
SRM_ALPHA = 0.001
#: Fewest units an arm must have counted for a metric before anything is fitted: one unit says
#: nothing of how much units vary, so nothing tells the arm's effect from chance.
MIN_ARM_UNITS = 2
#: Fewest for a metric with a normal model (continuous; revenue or counts as cell means), which
#: estimates each arm's spread from that arm's units alone: with fewer, the spread rests on under
#: four degrees of freedom, its posterior's tail is too heavy for NUTS, and fits diverge. Measured
#: with the default sampler (first fit; 200 control units, a segment covariate; values varying
#: within the arm): 2 units failed the gate in 4 of 5 data sets, 3 or 4 units in 5 of 41, 5 units
#: in 2 of 80 (one divergence each, gone at the first refit). Binary and count models sampled
#: cleanly from 1 unit.
MIN_ARM_UNITS_NORMAL = 5
_EXAMPLES = 3


@dataclass(frozen=True)
class Finding:
    """One result of one check: what was found, how serious, and how many rows it touches."""

    check: str
    severity: Severity
    message: str
    count: int = 0


@dataclass(frozen=True)
class Balance:
    """A pre-period column across the arms, as randomisation should leave it: alike.

    ``smd``: each treatment's standardised mean difference from the control (pooled sd);
    ``p_value``: the one-way ANOVA F test that all arm means are equal.
    """

    column: str
    mean: dict[str, float]
    sd: dict[str, float]
    smd: dict[str, float]
    p_value: float


@dataclass(frozen=True)
class CheckReport:
    """All findings on the rows, with the arm counts behind the sample-ratio test."""

    n_rows: int
    arm_counts: dict[str, int]
    planned_shares: dict[str, float]
    srm_p: float
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    #: Metrics fitted with another likelihood than the spec's, because the data cannot support
    #: it (aggregated counts hold no per-unit frequencies): metric name -> likelihood used.
    fallbacks: dict[str, str] = field(default_factory=dict)
    #: Balance of each pre-period column adjusted for (``adjust``) across the arms.
    balance: tuple[Balance, ...] = ()

    @property
    def errors(self) -> list[Finding]:
        """Findings that stop the run."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """Findings carried into the report as caveats."""
        return [f for f in self.findings if f.severity == "warning"]


def run_checks(source: Source, spec: Spec) -> CheckReport:
    """Run every check on the rows of ``source``.

    Raises
    ------
    DataError
        Listing every blocking problem at once, each naming the file, the column and
        example rows, and saying what to do.
    """
    _require_columns(source, spec)
    aggregated = spec.input_kind == "aggregated rows"
    row_rules = _missing_value_rules(spec, source.columns)
    if aggregated:
        row_rules += _aggregate_rules(spec, source.columns)
    else:
        types = source.columns
        row_rules += [r for m in spec.metrics for r in _metric_value_rules(m, types)]
        row_rules += _denominator_rules(spec, types)
        row_rules += [
            _RowRule("pre_period_values", cond, col, f"column {col!r} (adjust): the {what}", fix)
            for c in spec.adjust
            for col, cond, what, fix in _number_rules(c, "pre-period value")
        ]
    row_rules += _time_rules(spec, source.columns)
    findings = _apply_row_rules(source, row_rules)
    arm_counts, arm_findings = _arm_labels(source, spec)
    findings += arm_findings
    findings += _duplicate_units(source, spec)
    findings += _split_clusters(source, spec)
    findings += _covariate_levels(source, spec)
    findings += _confounded_covariates(source, spec)
    srm_p, srm = sample_ratio(spec, arm_counts)
    findings += srm
    balance, balance_findings = pre_period_balance(source, spec) if not _has_errors(findings) else ((), [])
    findings += balance_findings
    fallbacks, notes = _fallbacks(spec, source.columns) if aggregated else ({}, [])
    report = CheckReport(
        n_rows=source.n_rows,
        arm_counts=arm_counts,
        planned_shares=spec.planned_shares() if spec.shares_known and spec.design == "randomised" else {},
        srm_p=srm_p,
        findings=tuple(findings + notes),
        fallbacks=fallbacks,
        balance=balance,
    )
    if report.errors:
        lines = "\n".join(f"  - {f.message}" for f in report.errors)
        raise DataError(f"{source.path}: the data fail {len(report.errors)} check(s):\n{lines}")
    return report


def arm_units(cells: Cells, spec: Spec, *, where: str) -> None:
    """Refuse to fit a metric that some arm has too few units counted for.

    Run on the cells, as a metric's units may be fewer than its arm's: with an outcome window,
    only the units whose window had closed count (:meth:`Cells.units`). The monitor does not
    call it: there a look with few units counted is "too early", not an error.

    Raises
    ------
    DataError
        Naming ``where`` (the data), each metric and arm with too few units, and what to do.
    """
    counted = {m.name: cells.per_arm(cells.units(m.name)) for m in spec.metrics}
    findings = [
        f for i, arm in enumerate(cells.arms) if (f := _too_few_units(arm, i, counted, spec)) is not None
    ]
    if findings:
        lines = "\n".join(f"  - {f.message}" for f in findings)
        raise DataError(f"{where}: the data fail {len(findings)} check(s):\n{lines}")


def _too_few_units(arm: str, i: int, counted: Mapping[str, np.ndarray], spec: Spec) -> Finding | None:
    """The metrics that arm ``i`` has fewer units counted for than their models need, as one finding."""
    short, windows = [], False
    for m in spec.metrics:
        need = MIN_ARM_UNITS_NORMAL if m.adjusts_exactly else MIN_ARM_UNITS
        n = float(counted[m.name][i])
        if n >= need:
            continue
        window = f" whose {m.window_days}-day outcome window had closed" if m.window_days else ""
        why = ", as its normal model estimates each arm's spread from that arm's units alone"
        short.append(f"{m.name!r} ({n:,.4g}{window}; {need} needed{why if m.adjusts_exactly else ''})")
        windows = windows or bool(window)
    if not short:
        return None
    unit = "effective units (Kish)" if spec.design == "matched" else "units"
    later = ", set a later analysis date (--as-of or as_of:) once more windows have closed" if windows else ""
    return Finding(
        "arm_units",
        "error",
        f"arm {arm!r} (column {spec.arm_column!r}) has too few {unit} counted for metric(s) "
        f"{', '.join(short)}. Add units to the arm{later}, or remove it from the spec (and its rows "
        "from the data).",
        len(short),
    )


@dataclass(frozen=True)
class _RowRule:
    """A condition no row may meet; counted for all rules in one scan of the data."""

    check: str
    condition: str  # SQL, true for offending rows
    column: str
    what: str  # "column 'x' is empty" style prefix
    fix: str


def _apply_row_rules(source: Source, rules: list[_RowRule]) -> list[Finding]:
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


# ---- individual checks --------------------------------------------------------------------


def summary_checks(spec: Spec) -> CheckReport:
    """What can be said of a published per-arm table (``data.summaries``) before fitting.

    Its values were checked when the spec was read; what cannot be checked, and which numbers
    are assumed rather than published, become notes in the report.
    """
    assert spec.data is not None
    table = spec.data.summaries
    assert table is not None
    counts = {a: round(table[a].n.value) for a in spec.arm_order}
    assumed = [
        f"{a} {what}: {r.value:g} ({r.assumed})"
        for a in spec.arm_order
        for what, r in [
            ("n", table[a].n),
            *[
                (f"{k} {field}", getattr(summary, field))
                for k, summary in table[a].metrics.items()
                for field in ("proportion", "mean", "sd")
            ],
        ]
        if r is not None and r.assumed is not None
    ]
    findings = [
        Finding(
            "published_summaries",
            "info",
            "from published summaries: per-arm sizes, proportions, means and sds, as the paper gives "
            "them; duplicates, arm labels, single values and the sample ratio cannot be checked",
        )
    ]
    if assumed:
        findings.append(
            Finding(
                "assumed_values", "warning", "assumed, not published: " + "; ".join(assumed), len(assumed)
            )
        )
    fallbacks = {
        m.name: "cell_means"
        for m in spec.metrics
        if m.type == "count" and m.count_likelihood == "negative_binomial"
    }
    findings += [
        Finding(
            "likelihood",
            "info",
            f"metric {k!r} is fitted as cell means (from each arm's mean and sd); the negative binomial "
            "needs each unit's count",
        )
        for k in fallbacks
    ]
    return CheckReport(
        n_rows=len(counts),
        arm_counts=counts,
        planned_shares=spec.planned_shares() if spec.shares_known and spec.design == "randomised" else {},
        srm_p=float("nan"),
        findings=tuple(findings),
        fallbacks=fallbacks,
    )


def _used_columns(spec: Spec, columns: Collection[str]) -> list[str]:
    cols = [spec.arm_column]
    if spec.input_kind == "aggregated rows":
        assert spec.data is not None
        cols.append(spec.data.units)
        cols += [c for m in spec.metrics for c in aggregate_columns(m, columns)[0].values()]
    else:
        cols += [m.source_column for m in spec.metrics]
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


def _require_columns(source: Source, spec: Spec) -> None:
    have = list(source.columns)
    if spec.input_kind == "aggregated rows":
        stats = [
            f"{c!r} (metric {m.name!r}, {m.type})"
            for m in spec.metrics
            for c in aggregate_columns(m, have)[1]
        ]
        if stats:
            raise DataError(
                f"{source.path}: aggregated rows lack the statistic column(s) {', '.join(stats)}. "
                "Each row needs the metric's sum in its own column, Σ y² in '<column>_sum_sq' "
                "(continuous, revenue) and, for the lognormal hurdle, '<column>_n_pos', "
                "'<column>_sum_log' and '<column>_sum_log_sq'. Add them to the export, or choose a "
                f"likelihood the statistics support. Its columns are: {', '.join(have)}."
            )
    dates = [c for c, _ in date_columns(spec)]  # outcome dates may be blank (no outcome)
    missing = [c for c in dict.fromkeys(_used_columns(spec, have) + dates) if c not in source.columns]
    if missing:
        hints = [f"{c!r}" + (f" ({hint})" if (hint := _closest(c, have)) else "") for c in missing]
        raise DataError(
            f"{source.path}: the spec uses column(s) {', '.join(hints)} that the file does not have. "
            f"Its columns are: {', '.join(have)}."
            + (
                delimiter_hint(have, spec.data.delimiter if spec.data else ",")
                or " Fix the column names in the experiment file."
            )
        )


def _closest(word: str, options: list[str]) -> str:
    """``did you mean 'x'?``, or that the two differ only in Unicode normalisation; else nothing."""
    same = [o for o in options if unicodedata.normalize("NFC", o) == unicodedata.normalize("NFC", word)]
    if same:
        return (
            f"it looks like {same[0]!r} but is written with other Unicode characters (NFC vs NFD "
            "normalisation); retype one of the two"
        )
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def _examples(source: Source, condition: str, value: str) -> str:
    """First rows (1-based, header excluded) matching ``condition``, as 'row 12 (value 3)'."""
    rows = source.first_rows(condition, value, _EXAMPLES)
    return ", ".join(where + ("" if v is None else f" ({shown(v)})") for where, v in rows)


def _missing_value_rules(spec: Spec, columns: Collection[str]) -> list[_RowRule]:
    return [
        _RowRule(
            "missing_values",
            f"{quote(col)} IS NULL",
            col,
            f"column {col!r} is empty",
            "Fill them in, or remove those units from the export and say why",
        )
        for col in _used_columns(spec, columns)
    ]


def _arm_labels(source: Source, spec: Spec) -> tuple[dict[str, int], list[Finding]]:
    """Units per arm label (rows, or the sum of the units column of aggregated rows)."""
    arm = quote(spec.arm_column)
    units = (
        f"CAST(coalesce(fsum({number(spec.data.units)}), 0) AS BIGINT)"
        if spec.data is not None and spec.input_kind == "aggregated rows"
        else "count(*)"
    )
    rows = source.fetchall(
        f"SELECT CAST({arm} AS VARCHAR), {units} FROM {ROWS} WHERE {arm} IS NOT NULL GROUP BY 1 ORDER BY 1"
    )
    counts = {str(a): int(n) for a, n in rows}
    out = []
    unknown = {a: n for a, n in counts.items() if a not in spec.arms}
    if unknown:
        listed = ", ".join(
            f"{shown(a)} ({n} row(s)" + (f"; {hint}" if (hint := _closest(a, list(spec.arms))) else "") + ")"
            for a, n in unknown.items()
        )
        out.append(
            Finding(
                "unknown_arms",
                "error",
                f"column {spec.arm_column!r} has arm label(s) the spec does not list: {listed}. "
                f"The spec's arms are {list(spec.arms)}; add the label to 'arms' or fix the data.",
                sum(unknown.values()),
            )
        )
    absent = [a for a in spec.arms if a not in counts]
    if absent:
        out.append(
            Finding(
                "absent_arms",
                "error",
                f"arm(s) {absent} listed in the spec have no rows in column {spec.arm_column!r}. "
                "Check the spelling of the arm labels, or remove the arm from the spec.",
            )
        )
    return {a: counts[a] for a in spec.arms if a in counts}, out


def _metric_value_rules(metric: Metric, types: Mapping[str, str]) -> list[_RowRule]:
    col = quote(metric.source_column)
    num = metric_value(metric, types)
    name = f"column {metric.source_column!r} (metric {metric.name!r}, type {metric.type})"
    number = "0/1 or true/false" if metric.type == "binary" else "a plain number"
    rules = [
        (f"{col} IS NOT NULL AND {num} IS NULL", "is not a number", f"Export it as {number}"),
        (
            f"isnan({num}) OR abs({num}) = CAST('Infinity' AS DOUBLE)",
            "is infinite or NaN",
            "Fix or remove these values at the source",
        ),
        (
            f"abs({num}) > {MAX_MAGNITUDE:.0e} AND abs({num}) <> CAST('Infinity' AS DOUBLE)",
            f"is larger than {MAX_MAGNITUDE:.0e} in size",
            "No real count, amount or score is that large; it is a data error (or a unit mix-up)",
        ),
    ]
    if metric.type == "binary":
        rules.append(
            (f"{num} NOT IN (0, 1)", "is not 0 or 1", "Recode it as 0/1, or declare the metric as type count")
        )
    elif metric.type in ("count", "revenue"):
        rules.append(
            (f"{num} < 0", "is negative", f"A {metric.type} cannot be below zero; fix or explain these rows")
        )
    if metric.type == "count":
        rules.append(
            (
                f"{num} <> floor({num})",
                "is not a whole number",
                "Counts must be whole; use type continuous otherwise",
            )
        )
    return [
        _RowRule("metric_values", cond, metric.source_column, f"{name} {what}", fix)
        for cond, what, fix in rules
    ]


def _denominator_rules(spec: Spec, types: Mapping[str, str]) -> list[_RowRule]:
    """A unit cannot take a later step (enrol) without the earlier one (click)."""
    by_name = {m.name: m for m in spec.metrics}
    out = []
    for m in spec.metrics:
        if m.denominator is None:
            continue
        d = by_name[m.denominator]
        out.append(
            _RowRule(
                "funnel",
                f"{metric_value(m, types)} > 0 AND NOT coalesce({metric_value(d, types)} > 0, false)",
                m.source_column,
                f"column {m.source_column!r} (metric {m.name!r}, measured among {d.name!r}) is above 0 "
                f"where {d.source_column!r} is not",
                f"A unit cannot reach {m.display!r} without {d.display!r}; fix the funnel data, or remove "
                "the metric's denominator",
            )
        )
    return out


def _time_rules(spec: Spec, types: Mapping[str, str]) -> list[_RowRule]:
    """Dates that are not dates, entries or outcomes after the analysis date, outcomes before entry."""
    entered = spec.unit.entered_at
    if entered is None:
        return []
    as_of = spec.as_of
    later = "Set the analysis date later (--as-of or as_of:), or remove these rows" if as_of else ""
    out = []
    for col, what in date_columns(spec):
        name = f"column {col!r} ({what})"
        out.append(
            _RowRule(
                "dates",
                f"NOT {blank(col)} AND {day(col)} IS NULL",
                col,
                f"{name} is not a date",
                "Write dates as YYYY-MM-DD (a time after the date, as in 2026-03-02 14:05, is allowed)",
            )
        )
        if as_of is not None:
            out.append(
                _RowRule(
                    "dates",
                    f"{day(col)} > {day_literal(as_of)}",
                    col,
                    f"{name} is after the analysis date {as_of.isoformat()}",
                    later,
                )
            )
    for m in spec.metrics:
        if m.at is None:
            continue
        out.append(
            _RowRule(
                "dates",
                f"{day(m.at)} < {day(entered)}",
                m.at,
                f"column {m.at!r} (the date of metric {m.name!r}) is before the unit entered ({entered!r})",
                "An outcome cannot come before the unit's entry; fix the dates at the source",
            )
        )
        out.append(
            _RowRule(
                "dates",
                f"{metric_value(m, types)} > 0 AND {blank(m.at)}",
                m.source_column,
                f"column {m.source_column!r} (metric {m.name!r}) is above 0 but its date {m.at!r} is empty",
                "Give the date of every outcome, or remove 'at' from the metric to read its values as "
                "known at entry",
            )
        )
    return out


def _aggregate_rules(spec: Spec, columns: Collection[str]) -> list[_RowRule]:
    """Impossible values in aggregated rows: each names the column, the row and what to fix."""
    assert spec.data is not None
    units_col = spec.data.units
    units = number(units_col)
    rules: list[tuple[str, str, str, str]] = [  # (column, condition, what, fix)
        *_number_rules(units_col, "units column"),
        (
            units_col,
            f"{units} < 0 OR {units} <> floor({units})",
            "units column is not a whole number ≥ 0",
            "It counts the units of the row",
        ),
    ]
    by_name = {m.name: m for m in spec.metrics}
    for m in spec.metrics:
        present, _ = aggregate_columns(m, columns)
        for stat, col in present.items():
            rules += _number_rules(col, f"{_STAT_WORDS[stat]} of metric {m.name!r}")
        total, what = number(present["total"]), f"sum of metric {m.name!r} ({m.type})"
        if m.type in ("binary", "count"):
            rules.append(
                (
                    present["total"],
                    f"{total} <> floor({total})",
                    f"{what} is not whole",
                    "It counts units or events; export whole numbers",
                )
            )
        if m.type != "continuous":
            rules.append((present["total"], f"{total} < 0", f"{what} is negative", "Fix it at the source"))
        if m.type == "binary":
            bound, name = (units, units_col)
            if m.denominator is not None:
                d = by_name[m.denominator]
                bound, name = number(d.source_column), d.source_column
            rules.append(
                (
                    present["total"],
                    f"{total} > {bound}",
                    f"{what} is above {name!r}",
                    f"Successes cannot outnumber {name!r}; check the two columns",
                )
            )
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
    return [
        _RowRule("aggregate_values", cond, col, f"column {col!r}: the {what}", fix)
        for col, cond, what, fix in rules
    ]


_STAT_WORDS = {
    "total": "sum",
    "sum_sq": "Σ y²",
    "n_pos": "count of positive amounts",
    "sum_log": "Σ log y",
    "sum_log_sq": "Σ (log y)²",
}


def _number_rules(column: str, what: str) -> list[tuple[str, str, str, str]]:
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


def _fallbacks(spec: Spec, columns: Collection[str]) -> tuple[dict[str, str], list[Finding]]:
    """Likelihoods aggregated rows cannot support, what replaces each, and a note saying so."""
    fallbacks, notes = {}, []
    for m in spec.metrics:
        present = aggregate_columns(m, columns)[0]
        if m.type == "count" and m.count_likelihood == "negative_binomial":
            used = "cell_means" if "sum_sq" in present else "poisson"
            why = (
                "the normal model of cell means (from Σ y and Σ y²), which allows any spread"
                if used == "cell_means"
                else f"a Poisson model: its intervals are too narrow if the counts vary more than a "
                f"Poisson's; add '{m.source_column}_sum_sq' (Σ y²) to fit cell means instead"
            )
            lacks = "the negative binomial needs each unit's count, which aggregated rows do not hold"
        elif m.type == "revenue" and m.revenue_likelihood == "lognormal_hurdle":
            if all(stat in present for stat in HURDLE_STATS):
                continue
            used, why = "cell_means", "the normal model of cell means (from Σ y and Σ y²)"
            lacks = (
                f"the lognormal hurdle needs '{m.source_column}_n_pos', '_sum_log' and '_sum_log_sq', "
                "which the file does not have"
            )
        else:
            continue
        fallbacks[m.name] = used
        notes.append(Finding("likelihood", "info", f"metric {m.name!r} is fitted with {why}; {lacks}"))
    return fallbacks, notes


def _duplicate_units(source: Source, spec: Spec) -> list[Finding]:
    if spec.input_kind == "aggregated rows":
        return [
            Finding(
                "unit_id",
                "info",
                "not checkable on aggregated rows: duplicated units, units in two arms, and missing "
                "or impossible values of single units (the export's own checks must vouch for them)",
            )
        ]
    if not spec.unit.id:
        return [
            Finding(
                "unit_id",
                "info",
                "no unit id column is declared (unit.id), so each row is taken as one unit and "
                "duplicates cannot be checked",
            )
        ]
    uid, arm = quote(spec.unit.id), quote(spec.arm_column)
    if not _repeated_ids(source, spec.unit.id):  # the usual case, settled by the cheapest exact query
        return []
    # min <> max rather than count(DISTINCT): no set of arms is kept per unit
    rows = source.fetchall(
        f"SELECT {uid}, count(*) AS n, min({arm}) <> max({arm}) AS two_arms FROM {ROWS} "
        f"WHERE {uid} IS NOT NULL GROUP BY 1 HAVING count(*) > 1 ORDER BY 2 DESC, 1 LIMIT 100000"
    )
    cross = [r for r in rows if r[2]]
    repeat = [r for r in rows if not r[2]]
    out = []
    if cross:
        ex = ", ".join(shown(r[0]) for r in cross[:_EXAMPLES])
        out.append(
            Finding(
                "unit_in_two_arms",
                "error",
                f"{len(cross)} unit(s) in column {spec.unit.id!r} appear in more than one arm (e.g. {ex}). "
                "A unit must receive one treatment; fix the assignment log before analysing.",
                len(cross),
            )
        )
    if repeat:
        ex = ", ".join(shown(r[0]) for r in repeat[:_EXAMPLES])
        out.append(
            Finding(
                "duplicate_units",
                "error",
                f"{len(repeat)} unit id(s) in column {spec.unit.id!r} occur on more than one row "
                f"(e.g. {ex}). "
                "Keep one row per unit (aggregate repeated touches first).",
                sum(r[1] - 1 for r in repeat),
            )
        )
    return out


#: Integer types whose ids DuckDB can mark in a bitset; the largest range of ids so counted.
_BITSET_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
_BITSET_MAX_RANGE = 2**30  # 128 MB per thread


def _repeated_ids(source: Source, column: str) -> int:
    """Rows beyond the first of each unit id (exact).

    Integer ids spanning at most :data:`_BITSET_MAX_RANGE` values are counted with a bitset
    (DuckDB's ``bitstring_agg``): one streaming pass in a few megabytes, about 8x faster than
    ``count(DISTINCT)`` at 100M rows under a 500 MB memory limit. Other ids use ``count(DISTINCT)``.
    """
    uid = quote(column)
    if source.spark is None and source.columns[column].upper() in _BITSET_TYPES:
        ((lo, hi, n),) = source.fetchall(f"SELECT min({uid}), max({uid}), count({uid}) FROM {ROWS}")
        if not n:
            return 0
        if hi - lo < _BITSET_MAX_RANGE:
            sql = f"SELECT bit_count(bitstring_agg({uid}, {int(lo)}, {int(hi)})) FROM {ROWS}"
            ((distinct,),) = source.fetchall(sql)
            return int(n) - int(distinct)
    ((repeated,),) = source.fetchall(f"SELECT count({uid}) - count(DISTINCT {uid}) FROM {ROWS}")
    return int(repeated)


def _split_clusters(source: Source, spec: Spec) -> list[Finding]:
    """In a cluster-randomised design every unit of a cluster must be in the cluster's arm."""
    cluster = spec.unit.randomised_by
    if not cluster:
        return []
    col, arm = quote(cluster), quote(spec.arm_column)
    rows = source.fetchall(
        f"SELECT CAST({col} AS VARCHAR) FROM {ROWS} WHERE {col} IS NOT NULL "
        f"GROUP BY 1 HAVING min({arm}) <> max({arm}) ORDER BY 1"
    )
    if not rows:
        return []
    ex = ", ".join(repr(r[0]) for r in rows[:_EXAMPLES])
    return [
        Finding(
            "cluster_in_two_arms",
            "error",
            f"{len(rows)} cluster(s) in column {cluster!r} (unit.randomised_by) have units in more than "
            f"one arm (e.g. {ex}). In a cluster-randomised design all units of a cluster share its arm; "
            "fix the assignment, or drop unit.randomised_by if units were randomised individually.",
            len(rows),
        )
    ]


def shown(value: object, width: int = 60) -> str:
    """A value from the data as a message shows it: its repr (a date in ISO), cut to ``width`` characters."""
    text = value.isoformat() if isinstance(value, date) else repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _covariate_levels(source: Source, spec: Spec) -> list[Finding]:
    out = []
    for cov in spec.covariates:
        ((n, longest),) = source.fetchall(
            f"SELECT count(DISTINCT {quote(cov)}), max(length(CAST({quote(cov)} AS VARCHAR))) FROM {ROWS}"
        )
        if (longest or 0) > MAX_LEVEL_LENGTH:
            out.append(
                Finding(
                    "covariate_levels",
                    "error",
                    f"covariate {cov!r} has a level of {longest:,} characters; reports print levels as "
                    f"labels (at most {MAX_LEVEL_LENGTH}). Recode it into short level names.",
                )
            )
        if n > MAX_COVARIATE_LEVELS:
            out.append(
                Finding(
                    "covariate_levels",
                    "error",
                    f"covariate {cov!r} has {n} distinct values; covariates are strata (at most "
                    f"{MAX_COVARIATE_LEVELS} levels). Bin it (e.g. into quintiles) in a new column.",
                )
            )
    return out


def _confounded_covariates(source: Source, spec: Spec) -> list[Finding]:
    """Covariates that stand in for the arm (or the cluster): their effect cannot be told apart.

    A covariate whose every level holds units of one arm only separates the arms; adjusting for
    it leaves nothing to estimate the arm effect from. One whose levels and clusters pair off one
    to one is the cluster under another name.
    """
    arm, out = quote(spec.arm_column), []
    for cov in spec.covariates:
        c = quote(cov)
        ((levels, shared),) = source.fetchall(
            f"SELECT count(*), count(*) FILTER (WHERE k > 1) FROM "
            f"(SELECT {c}, count(DISTINCT {arm}) AS k FROM {ROWS} GROUP BY {c})"
        )
        if levels > 1 and shared == 0:
            out.append(
                Finding(
                    "confounded_covariate",
                    "error",
                    f"covariate {cov!r} separates the arms: each of its {levels} levels holds units of one "
                    "arm only, so its effect cannot be told apart from the arm's. Remove it from covariates "
                    "(it is the treatment under another name, or it was measured after assignment).",
                )
            )
        cluster = spec.unit.randomised_by
        if cluster and cluster != cov:
            k = quote(cluster)
            ((pairs, n_cov, n_cluster),) = source.fetchall(
                f"SELECT count(*), count(DISTINCT {c}), count(DISTINCT {k}) "
                f"FROM (SELECT DISTINCT {c}, {k} FROM {ROWS})"
            )
            if n_cov > 1 and pairs == n_cov == n_cluster:
                out.append(
                    Finding(
                        "confounded_covariate",
                        "error",
                        f"covariate {cov!r} pairs one to one with the clusters of {cluster!r} (unit."
                        "randomised_by): it is the cluster under another name. Remove it from covariates; "
                        "the cluster term already adjusts for it.",
                    )
                )
    return out


def _has_errors(findings: list[Finding]) -> bool:
    """Whether any finding is an error (later checks would only repeat it)."""
    return any(f.severity == "error" for f in findings)


def pre_period_balance(source: Source, spec: Spec) -> tuple[tuple[Balance, ...], list[Finding]]:
    """Each ``adjust`` column per arm (mean, sd), and a warning where the arms differ beyond chance.

    A pre-period column is measured before assignment, so randomisation leaves its arm means
    alike up to chance; an F test p-value below :data:`SRM_ALPHA` is a red flag (assignment
    broken, or the column measured after it). A matched design is balanced by matching instead.
    """
    if not spec.adjust:
        return (), []
    arm = quote(spec.arm_column)
    stats_sql = ", ".join(f"avg({number(c)}), coalesce(var_samp({number(c)}), 0)" for c in spec.adjust)
    rows = {
        str(r[0]): r[1:]
        for r in source.fetchall(
            f"SELECT CAST({arm} AS VARCHAR), count(*), {stats_sql} FROM {ROWS} GROUP BY 1"
        )
    }
    arms = [a for a in spec.arm_order if a in rows]
    n = np.array([rows[a][0] for a in arms], dtype=np.float64)
    out, findings = [], []
    for i, col in enumerate(spec.adjust):
        mean = np.array([rows[a][1 + 2 * i] for a in arms], dtype=np.float64)
        var = np.array([rows[a][2 + 2 * i] for a in arms], dtype=np.float64)
        grand = n @ mean / n.sum()
        between, within = n @ (mean - grand) ** 2, (n - 1) @ var
        dof = (len(arms) - 1, n.sum() - len(arms))
        p = (
            float(stats.f.sf(between / dof[0] / (within / dof[1]), *dof))
            if within > 0 and dof[1] > 0
            else 1.0
        )
        smd = {
            a: float((mean[j] - mean[0]) / np.sqrt((var[j] + var[0]) / 2)) if var[j] + var[0] > 0 else 0.0
            for j, a in enumerate(arms)
            if j
        }
        out.append(
            Balance(
                col,
                dict(zip(arms, mean.tolist(), strict=True)),
                dict(zip(arms, np.sqrt(var).tolist(), strict=True)),
                smd,
                p,
            )
        )
        if within <= 0:
            findings.append(
                Finding(
                    "pre_period_balance",
                    "warning",
                    f"pre-period column {col!r} (adjust) does not vary within any arm; adjusting for it "
                    "changes nothing. Remove it from adjust",
                )
            )
        elif p < SRM_ALPHA and spec.design == "randomised":
            worst = max(smd, key=lambda a: abs(smd[a]))
            findings.append(
                Finding(
                    "pre_period_balance",
                    "warning",
                    f"pre-period column {col!r} differs across the arms more than randomisation allows "
                    f"(F test p = {p:.2g}; {worst} vs {spec.control}: standardised difference "
                    f"{smd[worst]:+.2f}). Assignment may be broken, or the column was measured after "
                    "assignment; treat the effects with caution.",
                )
            )
    return tuple(out), findings


def sample_ratio(spec: Spec, counts: dict[str, int]) -> tuple[float, list[Finding]]:
    """Chi-square test of the observed arm sizes against the planned allocation."""
    if spec.design == "matched":
        return float("nan"), [
            Finding(
                "sample_ratio", "info", "no sample-ratio test: a matched design has no planned allocation"
            )
        ]
    if not spec.shares_known:
        return float("nan"), [
            Finding("sample_ratio", "info", "sample ratio not checked: the planned shares are unknown")
        ]
    if len(counts) != len(spec.arms):
        return float("nan"), []
    shares = spec.planned_shares()
    observed = [counts[a] for a in spec.arms]
    total = sum(observed)
    expected = [shares[a] * total for a in spec.arms]
    p = float(stats.chisquare(observed, expected).pvalue)
    detail = ", ".join(f"{a} {counts[a]} vs {e:.0f}" for a, e in zip(spec.arms, expected, strict=True))
    if p < SRM_ALPHA:
        return p, [
            Finding(
                "sample_ratio",
                "warning",
                f"sample-ratio mismatch: arm sizes differ from the planned allocation more than chance "
                f"allows (chi-square p = {p:.2g}; observed vs expected: {detail}). Assignment or logging "
                "may be broken; treat the effects with caution.",
                total,
            )
        ]
    return p, [
        Finding("sample_ratio", "info", f"arm sizes match the planned allocation (chi-square p = {p:.2g})")
    ]
