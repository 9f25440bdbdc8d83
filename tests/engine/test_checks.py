"""Bad data is refused before anything is fitted, with messages naming file, column and rows.

Each test simulates clean rows with :func:`channelab.simulate.simulate_ab`, plants one
problem with pandas (or by editing the CSV text) and asserts the message. Row numbers in
messages count data rows from 1, header excluded, so pandas index ``i`` is "row i+1".
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pytest

from channelab.engine.aggregate import build_cells
from channelab.engine.checks import (
    MAX_COVARIATE_LEVELS,
    MIN_ARM_UNITS,
    MIN_ARM_UNITS_NORMAL,
    SRM_ALPHA,
    CheckReport,
    arm_units,
    run_checks,
)
from channelab.engine.rows import open_source
from channelab.errors import DataError
from channelab.simulate.ab import SimMetric, simulate_ab
from channelab.spec import Spec

SIM = {
    "clicks": SimMetric("count", 1.0),
    "bought": SimMetric("binary", 0.2),
    "spend": SimMetric("revenue", 0.3, amount=40.0),
}
METRICS = [
    {"name": "clicks", "role": "engagement", "type": "count"},
    {"name": "bought", "role": "outcome", "type": "binary"},
    {"name": "spend", "role": "revenue", "type": "revenue"},
]


def sim_rows(n_per_arm: int = 40, seed: int = 3) -> pd.DataFrame:
    return simulate_ab(n_per_arm=n_per_arm, metrics=SIM, seed=seed)[0]


def check(spec: Spec) -> CheckReport:
    return run_checks(open_source(spec), spec)


def data_error(spec: Spec, pattern: str) -> str:
    """Run the checks, assert one DataError naming the data file and matching ``pattern``."""
    with pytest.raises(DataError, match=re.escape(str(spec.data_path)) + r":(.|\n)*" + pattern) as info:
        check(spec)
    return str(info.value)


def write_csv_text(spec: Spec, text: str) -> None:
    spec.data_path.write_text(text, encoding="utf-8")


# ---- clean data ---------------------------------------------------------------------------


def test_clean_rows_pass(write_experiment):
    spec = write_experiment(sim_rows(), METRICS)
    report = check(spec)
    assert report.errors == []
    assert report.warnings == []
    assert report.n_rows == 80
    assert report.arm_counts == {"control": 40, "treatment": 40}
    assert report.srm_p == pytest.approx(1.0)


# ---- columns and arms ---------------------------------------------------------------------


def test_missing_column_suggests_the_close_one(write_experiment):
    spec = write_experiment(sim_rows().rename(columns={"segment": "segmnet"}), METRICS)
    data_error(
        spec,
        r"the spec uses column\(s\) 'segment' \(did you mean 'segmnet'\?\) that the file does "
        r"not have\. Its columns are: unit_id, arm, segmnet, clicks, bought, spend\. Fix",
    )


def test_unknown_arm_label(write_experiment):
    rows = sim_rows()
    rows.loc[[3, 7, 50], "arm"] = "treatmnet"
    spec = write_experiment(rows, METRICS)
    data_error(
        spec,
        r"column 'arm' has arm label\(s\) the spec does not list: 'treatmnet' \(3 row\(s\); "
        r"did you mean 'treatment'\?\)\. The spec's arms are \['control', 'treatment'\]",
    )


def test_spec_arm_absent_from_data(write_experiment):
    spec = write_experiment(
        sim_rows(),
        METRICS,
        arms={"control": {}, "treatment": {}, "phone_call": {"channel": "phone"}},
    )
    data_error(spec, r"arm\(s\) \['phone_call'\] listed in the spec have no rows in column 'arm'")


# ---- metric values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "pattern"),
    [
        pytest.param(
            "spend",
            -5.0,
            r"column 'spend' \(metric 'spend', type revenue\) is negative in 1 row\(s\), "
            r"e\.g\. row 18 \(-5\.0\)\. A revenue cannot be below zero",
            id="negative_revenue",
        ),
        pytest.param(
            "clicks",
            -1,
            r"column 'clicks' \(metric 'clicks', type count\) is negative in 1 row\(s\), "
            r"e\.g\. row 18 \(-1",
            id="negative_count",
        ),
        pytest.param(
            "clicks",
            2.5,
            r"column 'clicks' \(metric 'clicks', type count\) is not a whole number in 1 row\(s\), "
            r"e\.g\. row 18 \(2\.5\)\. Counts must be whole",
            id="non_integer_count",
        ),
        pytest.param(
            "bought",
            2,
            r"column 'bought' \(metric 'bought', type binary\) is not 0 or 1 in 1 row\(s\), "
            r"e\.g\. row 18 \(2\)\. Recode it as 0/1",
            id="binary_not_0_1",
        ),
        pytest.param(
            "spend",
            "12,50 EUR",
            r"column 'spend' \(metric 'spend', type revenue\) is not a number in 1 row\(s\), "
            r"e\.g\. row 18 \('12,50 EUR'\)\. Export it as a plain number",
            id="non_numeric_revenue",
        ),
        pytest.param(
            "bought",
            "yes",
            r"column 'bought' \(metric 'bought', type binary\) is not a number in 1 row\(s\), "
            r"e\.g\. row 18 \('yes'\)",
            id="non_numeric_binary",
        ),
    ],
)
def test_impossible_metric_value(write_experiment, column, value, pattern):
    rows = sim_rows()
    rows[column] = rows[column].astype(object)
    rows.loc[17, column] = value
    spec = write_experiment(rows, METRICS)
    message = data_error(spec, pattern)
    assert "fail 1 check(s)" in message


def test_infinite_value(write_experiment):
    rows = sim_rows()
    rows.loc[9, "spend"] = np.inf
    spec = write_experiment(rows, METRICS)
    data_error(spec, r"column 'spend' .* is infinite or NaN in 1 row\(s\), e\.g\. row 10 ")


@pytest.mark.parametrize("column", ["segment", "spend", "arm", "unit_id"])
def test_missing_values_name_column_count_and_rows(write_experiment, column):
    rows = sim_rows()
    rows[column] = rows[column].astype(object)
    rows.loc[[4, 30, 61, 62], column] = None
    spec = write_experiment(rows, METRICS)
    data_error(
        spec,
        rf"column '{column}' is empty in 4 row\(s\), e\.g\. row 5, row 31, row 62\. "
        r"Fill them in, or remove those units",
    )


# ---- units --------------------------------------------------------------------------------


def test_duplicated_unit_id_in_same_arm(write_experiment):
    rows = sim_rows()
    rows.loc[11, "unit_id"] = rows.loc[10, "unit_id"]  # both in control
    spec = write_experiment(rows, METRICS)
    data_error(
        spec,
        r"1 unit id\(s\) in column 'unit_id' occur on more than one row \(e\.g\. 11\)\. "
        r"Keep one row per unit",
    )


@pytest.mark.parametrize(
    ("ids", "duplicated"),
    [
        (lambda n: np.arange(n) * 3 - 50, False),  # integers with gaps and negatives: a bitset
        (lambda n: np.arange(n) * 10**11, False),  # too wide a range for a bitset: count(DISTINCT)
        (lambda n: np.r_[np.arange(n - 1), 7] * 3 - 50, True),
        (lambda n: np.r_[np.arange(n - 1), 7] * 10**11, True),
    ],
)
def test_integer_unit_ids_are_checked_exactly_whatever_their_range(write_experiment, ids, duplicated):
    rows = sim_rows()
    rows["unit_id"] = ids(len(rows))
    rows.loc[len(rows) - 1, "arm"] = rows.loc[7, "arm"]  # a repeated id stays in its arm
    spec = write_experiment(rows, METRICS)
    if duplicated:
        data_error(spec, r"1 unit id\(s\) in column 'unit_id' occur on more than one row")
    else:
        assert not check(spec).errors


def test_unit_in_two_arms(write_experiment):
    rows = sim_rows()
    rows.loc[45, "unit_id"] = rows.loc[5, "unit_id"]  # row 6 is control, row 46 treatment
    spec = write_experiment(rows, METRICS)
    message = data_error(
        spec,
        r"1 unit\(s\) in column 'unit_id' appear in more than one arm \(e\.g\. 6\)\. "
        r"A unit must receive one treatment",
    )
    assert "occur on more than one row" not in message


def test_covariate_with_too_many_levels(write_experiment):
    rows = sim_rows(n_per_arm=120)
    rows["segment"] = [f"zip{i:05d}" for i in range(len(rows))]
    spec = write_experiment(rows, METRICS)
    data_error(
        spec,
        rf"covariate 'segment' has 240 distinct values; covariates are strata \(at most "
        rf"{MAX_COVARIATE_LEVELS} levels\)\. Bin it",
    )


def test_covariate_at_the_level_limit_passes(write_experiment):
    rows = sim_rows(n_per_arm=120)
    rows["segment"] = [f"zip{i % MAX_COVARIATE_LEVELS:05d}" for i in range(len(rows))]
    assert check(write_experiment(rows, METRICS)).errors == []


# ---- the file itself ----------------------------------------------------------------------


def test_data_file_missing(write_experiment):
    spec = write_experiment(sim_rows(), METRICS)
    spec.data_path.unlink()
    with pytest.raises(
        DataError,
        match=re.escape(str(spec.data_path))
        + r": data file not found \(data\.path in .*exp\.yaml\)\. Paths are relative",
    ):
        open_source(spec)


def test_empty_data_file(write_experiment):
    spec = write_experiment(sim_rows(), METRICS)
    spec.data_path.write_bytes(b"")
    with pytest.raises(
        DataError, match=re.escape(str(spec.data_path)) + r": the data file is empty \(0 bytes\)"
    ):
        open_source(spec)


@pytest.mark.parametrize("ending", ["\n", ""])
def test_header_only_file(write_experiment, ending):
    spec = write_experiment(sim_rows(), METRICS)
    write_csv_text(spec, "unit_id,arm,segment,clicks,bought,spend" + ending)
    with pytest.raises(
        DataError, match=re.escape(str(spec.data_path)) + r": the file has a header but no data rows"
    ):
        open_source(spec)


def _ragged(lines: list[str], where: str) -> tuple[list[str], int, int]:
    """Corrupt CSV lines; return them with the expected (line number, field count)."""
    lines = list(lines)
    if where == "first_row":
        lines[1] += ",99"
        return lines, 2, 7
    if where == "middle_row":
        lines[30] += ",99"
        return lines, 31, 7
    if where == "last_row":
        lines[-1] += ",99"
        return lines, len(lines), 7
    if where == "last_five_rows":
        lines[-5:] = [ln + ",99" for ln in lines[-5:]]
        return lines, len(lines) - 4, 7
    if where == "missing_field":
        lines[12] = lines[12].rsplit(",", 1)[0]
        return lines, 13, 5
    raise ValueError(where)


@pytest.mark.parametrize("where", ["first_row", "middle_row", "last_row", "last_five_rows", "missing_field"])
def test_ragged_csv_is_an_error_naming_the_line(write_experiment, where):
    # DuckDB's sniffer would otherwise skip the rows above a ragged tail and read only the tail
    spec = write_experiment(sim_rows(), METRICS)
    lines = spec.data_path.read_text(encoding="utf-8").splitlines()
    bad, line, fields = _ragged(lines, where)
    write_csv_text(spec, "\n".join(bad) + "\n")
    with pytest.raises(
        DataError,
        match=re.escape(str(spec.data_path))
        + rf": line {line} has {fields} field\(s\), but the header has 6\. Fix that line",
    ):
        open_source(spec)


def test_quoted_delimiter_is_not_ragged(write_experiment):
    rows = sim_rows()
    rows["segment"] = rows["segment"].map({"s0": "north, east", "s1": "south", "s2": "west"})
    spec = write_experiment(rows, METRICS)
    assert '"north, east"' in spec.data_path.read_text(encoding="utf-8")
    report = check(spec)
    assert report.errors == []
    assert report.n_rows == len(rows)


# ---- sample ratio -------------------------------------------------------------------------


def test_sample_ratio_mismatch_is_a_warning_not_an_error(write_experiment):
    rows = sim_rows(n_per_arm=1000)
    rows = rows.drop(rows.index[rows["arm"] == "treatment"][:200])
    spec = write_experiment(rows, METRICS)
    report = check(spec)
    assert report.errors == []
    assert report.arm_counts == {"control": 1000, "treatment": 800}
    assert report.srm_p < SRM_ALPHA
    assert report.srm_p == pytest.approx(2.5e-6, rel=0.1)  # chi-square 22.2 on 1 df
    [warning] = report.warnings
    assert warning.check == "sample_ratio"
    assert re.search(
        r"sample-ratio mismatch: .*chi-square p = 2\.\de-06; observed vs expected: "
        r"control 1000 vs 900, treatment 800 vs 900\)",
        warning.message,
    )


def test_sample_ratio_uses_planned_shares(write_experiment):
    rows = sim_rows(n_per_arm=1000)
    rows = rows.drop(rows.index[rows["arm"] == "treatment"][:500])
    spec = write_experiment(rows, METRICS, arms={"control": {"share": 2}, "treatment": {"share": 1}})
    report = check(spec)
    assert report.warnings == []
    assert report.srm_p == pytest.approx(1.0)


# ---- units per arm, per metric (on the cells) ---------------------------------------------


def few_treated(k: int, n_per_arm: int = 40) -> pd.DataFrame:
    """:func:`sim_rows` with only the first ``k`` treatment units kept."""
    rows = sim_rows(n_per_arm=n_per_arm)
    return rows.drop(rows.index[rows["arm"] == "treatment"][k:])


def check_units(spec: Spec) -> None:
    arm_units(build_cells(open_source(spec), spec), spec, where=str(spec.data_path))


def test_an_arm_with_one_unit_is_refused_naming_the_file_arm_and_metrics(write_experiment):
    spec = write_experiment(few_treated(1), METRICS)
    check(spec)  # the row checks pass: the monitor, which runs them, may read such an early look
    with pytest.raises(
        DataError,
        match=re.escape(
            f"{spec.data_path}: the data fail 1 check(s):\n  - arm 'treatment' (column 'arm') has too few "
            "units counted for metric(s) 'clicks' (1; 2 needed), 'bought' (1; 2 needed), 'spend' (1; 5 "
            "needed, as its normal model estimates each arm's spread from that arm's units alone). Add "
            "units to the arm, or remove it from the spec (and its rows from the data)."
        ),
    ):
        check_units(spec)


def test_a_normal_model_needs_more_units_per_arm_than_the_others(write_experiment):
    assert (MIN_ARM_UNITS, MIN_ARM_UNITS_NORMAL) == (2, 5)
    spec = write_experiment(few_treated(MIN_ARM_UNITS_NORMAL - 1), METRICS)
    with pytest.raises(DataError, match=r"metric\(s\) 'spend' \(4; 5 needed, as its normal model"):
        check_units(spec)
    check_units(write_experiment(few_treated(MIN_ARM_UNITS_NORMAL), METRICS))
    hurdle = [*METRICS[:2], {**METRICS[2], "revenue_likelihood": "lognormal_hurdle"}]
    check_units(write_experiment(few_treated(MIN_ARM_UNITS), hurdle))  # one log-spread for all arms


def test_an_outcome_window_counts_only_the_units_whose_window_closed(write_experiment):
    rows = few_treated(40)
    late = rows.index[rows["arm"] == "treatment"][3:]
    rows["entered_at"] = "2026-01-01"
    rows.loc[late, "entered_at"] = "2026-01-25"  # 5 days before the analysis date
    spend = {**METRICS[2], "window_days": 10}
    unit = {"kind": "prospect", "id": "unit_id", "entered_at": "entered_at"}
    spec = write_experiment(rows, [*METRICS[:2], spend], unit=unit, as_of="2026-01-30")
    with pytest.raises(
        DataError,
        match=r"arm 'treatment' \(column 'arm'\) has too few units counted for metric\(s\) 'spend' \(3 whose "
        r"10-day outcome window had closed; 5 needed, .*\)\. Add units to the arm, set a later analysis "
        r"date \(--as-of or as_of:\) once more windows have closed, or remove it",
    ):
        check_units(spec)


# ---- several problems, untouched input, row numbers ---------------------------------------


def test_all_problems_are_listed_in_one_error(write_experiment):
    rows = sim_rows()
    rows.loc[3, "spend"] = -1.0
    rows.loc[8, "bought"] = 3
    rows.loc[12, "arm"] = "contrl"
    rows.loc[20, "unit_id"] = rows.loc[21, "unit_id"]
    rows.loc[25, "segment"] = None
    spec = write_experiment(rows, METRICS)
    message = data_error(spec, r"the data fail 5 check\(s\):\n")
    problems = [ln for ln in message.splitlines()[1:] if ln.startswith("  - ")]
    assert len(problems) == 5
    for pattern in [
        r"column 'segment' is empty in 1 row\(s\), e\.g\. row 26\.",
        r"column 'bought' .* is not 0 or 1 in 1 row\(s\), e\.g\. row 9 \(3\)",
        r"column 'spend' .* is negative in 1 row\(s\), e\.g\. row 4 \(-1\.0\)",
        r"'contrl' \(1 row\(s\); did you mean 'control'\?\)",
        r"unit id\(s\) in column 'unit_id' occur on more than one row \(e\.g\. 22\)",
    ]:
        assert sum(bool(re.search(pattern, p)) for p in problems) == 1, pattern


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("corrupt", [False, True])
def test_input_file_is_never_modified(write_experiment, corrupt):
    rows = sim_rows()
    if corrupt:
        rows.loc[3, "spend"] = -1.0
    spec = write_experiment(rows, METRICS)
    before, mtime = _sha256(spec.data_path), spec.data_path.stat().st_mtime_ns
    source = open_source(spec)
    if corrupt:
        with pytest.raises(DataError):
            run_checks(source, spec)
    else:
        run_checks(source, spec)
    assert source.sha256 == before
    assert _sha256(spec.data_path) == before
    assert spec.data_path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in spec.data_path.parent.iterdir()) == ["exp.yaml", "rows.csv"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_example_rows_are_the_planted_rows_in_a_larger_file(write_experiment, fmt):
    rows = sim_rows(n_per_arm=6000, seed=5)
    planted = [7_000, 11_998, 2_345, 9_001]
    rows.loc[planted, "clicks"] = -3
    spec = write_experiment(rows, METRICS)
    if fmt == "parquet":
        path = spec.data_path.with_suffix(".parquet")
        rows.to_parquet(path, index=False)
        spec = spec.model_copy(update={"data": spec.data.model_copy(update={"path": path})})
    first_three = ", ".join(f"row {i + 1} (-3)" for i in sorted(planted)[:3])
    data_error(spec, rf"is negative in 4 row\(s\), e\.g\. {re.escape(first_three)}\. ")


def test_column_named_like_an_internal_alias(write_experiment):
    # a data column called 'rn' used to shadow the row number in the examples
    rows = sim_rows().rename(columns={"bought": "rn"})
    rows.loc[33, "rn"] = 7
    spec = write_experiment(rows, [METRICS[0], {"name": "rn", "role": "outcome", "type": "binary"}])
    data_error(spec, r"column 'rn' .* is not 0 or 1 in 1 row\(s\), e\.g\. row 34 \(7\)\.")


# ---- pre-period columns (adjust) ----------------------------------------------------------


def _with_history(n_per_arm: int = 200, seed: int = 3) -> pd.DataFrame:
    rows = sim_rows(n_per_arm=n_per_arm, seed=seed)
    rng = np.random.default_rng(seed)
    rows["prior_spend"] = np.round(rng.gamma(2.0, 30.0, len(rows)), 2)
    rows["prior_visits"] = rng.poisson(3.0, len(rows))
    return rows


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        (
            "n/a",
            r"column 'prior_spend' \(adjust\): the pre-period value is not a number in 1 row\(s\), "
            r"e\.g\. row 8 \('n/a'\)",
        ),
        (None, r"column 'prior_spend' is empty in 1 row\(s\), e\.g\. row 8\. Fill them in"),
        (
            "inf",
            r"column 'prior_spend' \(adjust\): the pre-period value is NaN, infinite or too large in 1 row",
        ),
    ],
)
def test_bad_pre_period_values_are_refused_naming_column_and_row(write_experiment, value, pattern):
    rows = _with_history()
    rows["prior_spend"] = rows["prior_spend"].astype(object)
    rows.loc[7, "prior_spend"] = value
    spec = write_experiment(rows, METRICS, adjust=["prior_spend", "prior_visits"])
    data_error(spec, pattern)


def test_balanced_pre_period_columns_pass_and_are_reported(write_experiment):
    rows = _with_history()
    spec = write_experiment(rows, METRICS, adjust=["prior_spend", "prior_visits"])
    report = check(spec)
    assert report.warnings == []
    spend = report.balance[0]
    assert spend.column == "prior_spend"
    by_arm = rows.groupby("arm")["prior_spend"]
    assert spend.mean == pytest.approx(by_arm.mean().to_dict(), rel=1e-12)
    assert spend.sd == pytest.approx(by_arm.std().to_dict(), rel=1e-9)
    from scipy import stats

    groups = [g.to_numpy() for _, g in by_arm]
    assert spend.p_value == pytest.approx(stats.f_oneway(*groups).pvalue, rel=1e-9)


def test_imbalanced_pre_period_column_is_a_randomisation_red_flag(write_experiment):
    rows = _with_history(n_per_arm=500)
    rows.loc[rows["arm"] == "treatment", "prior_spend"] *= 1.5  # measured after assignment?
    spec = write_experiment(rows, METRICS, adjust=["prior_spend"])
    [warning] = check(spec).warnings
    assert warning.check == "pre_period_balance"
    assert re.search(
        r"pre-period column 'prior_spend' differs across the arms more than randomisation allows "
        r"\(F test p = .*; treatment vs control: standardised difference \+0\.\d\d\)",
        warning.message,
    )


def test_constant_pre_period_column_is_flagged(write_experiment):
    rows = _with_history().assign(prior_visits=4)
    spec = write_experiment(rows, METRICS, adjust=["prior_visits"])
    [warning] = check(spec).warnings
    assert "does not vary within any arm; adjusting for it changes nothing" in warning.message


def test_absent_pre_period_column_is_named_with_a_suggestion(write_experiment):
    spec = write_experiment(_with_history(), METRICS, adjust=["prior_spnd"])
    data_error(spec, r"the spec uses column\(s\) 'prior_spnd' \(did you mean 'prior_spend'\?\)")


# ---- the protocol: checks folded in order into one report ---------------------------------


def test_results_fold_in_the_order_of_the_checks_each_seeing_the_report_so_far():
    from channelab.engine.checks import Finding
    from channelab.engine.checks.base import ArmCounts, SampleRatio, run_all

    def counts(data, spec, so_far):
        return ArmCounts({"control": 3, "email": 4}, (Finding("arms", "info", "counted"),))

    def ratio(data, spec, so_far):
        return SampleRatio(float(sum(so_far.arm_counts.values())), (Finding("ratio", "warning", "read"),))

    start = CheckReport(n_rows=7, arm_counts={}, planned_shares={}, srm_p=float("nan"))
    report = run_all((counts, ratio), None, None, start)
    assert report.arm_counts == {"control": 3, "email": 4}
    assert report.srm_p == 7.0  # the second check read the first one's counts
    assert [f.check for f in report.findings] == ["arms", "ratio"]
    assert start.findings == ()  # folding makes new reports


def test_a_new_check_is_one_line_in_the_tuple_and_its_errors_stop_the_run(write_experiment, monkeypatch):
    from channelab.engine.checks import Finding, runner
    from channelab.engine.checks.base import Found

    def note(source, spec, so_far):
        return Found((Finding("note", "info", f"{len(so_far.findings)} before"),))

    spec = write_experiment(sim_rows(), METRICS)
    before = check(spec).findings
    monkeypatch.setattr(runner, "ROW_CHECKS", (*runner.ROW_CHECKS, note))
    assert check(spec).findings == (*before, Finding("note", "info", f"{len(before)} before"))

    def refuse(source, spec, so_far):
        return Found((Finding("refuse", "error", "planted problem"),))

    monkeypatch.setattr(runner, "ROW_CHECKS", (*runner.ROW_CHECKS, refuse))
    data_error(spec, r"the data fail 1 check\(s\):\n  - planted problem")
