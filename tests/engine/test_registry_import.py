"""Imports into the registry: channelab JSON run reports and CSVs of published per-study summaries."""

from __future__ import annotations

import copy
import json
import math
import re
from datetime import date
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest

from channelab.engine.registry import (
    Added,
    Imported,
    data_fingerprint,
    open_registry,
    records_from_report,
    records_from_summaries,
    summary_rows,
)
from channelab.engine.registry import reports as reports_module
from channelab.errors import DataError

REPORTS = Path(__file__).resolve().parents[2] / "reports"
RUN_REPORTS = sorted(
    p
    for p in REPORTS.glob("*.json")
    if "effects" in (doc := json.loads(p.read_text())) and not (doc.get("replication") or {}).get("labs")
)
OTHER_REPORTS = sorted(p for p in REPORTS.glob("*.json") if p not in RUN_REPORTS)
PILOT = REPORTS / "social_selling_pilot.json"
Z94 = NormalDist().inv_cdf(0.97)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _refused(read, path: Path, match: str) -> None:
    """``read(path)`` raises a DataError matching ``match`` and writes nothing (the folder unchanged)."""
    before = _snapshot(path.parent)
    with pytest.raises(DataError) as caught:
        read(path)
    said = " ".join(str(caught.value).split())
    assert str(path) in said
    assert re.search(match, said), said
    assert "Traceback" not in said
    assert _snapshot(path.parent) == before


# --- JSON run reports -----------------------------------------------------------------------


def test_the_committed_reports_are_both_kinds():
    assert len(RUN_REPORTS) >= 8
    assert OTHER_REPORTS  # design, monitor and plan reports


@pytest.mark.parametrize("path", RUN_REPORTS, ids=lambda p: p.name)
def test_every_committed_run_report_imports(path: Path):
    report = json.loads(path.read_text())
    imported = records_from_report(path)
    assert isinstance(imported, Imported)
    per_unit = [e for e in report["effects"] if not e.get("conditional")]
    assert len(imported.records) == len(per_unit)
    channels = {a["arm"]: a.get("channel") for a in report["arms"]}
    for record, effect in zip(imported.records, per_unit, strict=True):
        assert (record.arm, record.metric) == (effect["arm"], effect["metric"])
        assert record.diff_mean == effect["abs_lift"]["mean"]
        assert record.control_mean == effect["control_mean"]
        assert (record.n_arm, record.n_control) == (effect["n_arm"], effect["n_control"])
        assert (record.role, record.metric_type) == (effect["role"], effect["type"])
        assert record.verdict == effect["verdict"]
        assert record.spec_hash == report["provenance"]["spec_sha256"]
        assert record.data_fingerprint == data_fingerprint(report["provenance"]["data"])
        assert record.experiment == report["title"]
        assert record.source == "import:json"
        ch = channels.get(effect["arm"])
        assert record.channel == (ch if ch not in (None, "other", "control") else effect["arm"])
        assert (record.loglift_mean is None) == (effect["lift"]["defined"] is False)
        assert record.diff_sd > 0
    if "diff_sd" not in report["effects"][0]:
        assert imported.approximated
        assert any("approximated from the report's 94 % intervals" in n for n in imported.notes)


NEW_STYLE = [p for p in RUN_REPORTS if "diff_sd" in json.loads(p.read_text())["effects"][0]]


@pytest.mark.parametrize("path", NEW_STYLE, ids=lambda p: p.name)  # none until the reports are re-run
def test_sds_from_the_intervals_are_within_5_percent_of_the_reported_ones(path: Path, tmp_path: Path):
    new = records_from_report(path)
    old = records_from_report(_write(tmp_path, _old_style(json.loads(path.read_text()))))
    assert old.approximated
    for a, b in zip(old.records, new.records, strict=True):
        assert a.diff_sd == pytest.approx(b.diff_sd, rel=0.05), (a.arm, a.metric)
        if a.loglift_sd is not None and b.loglift_sd is not None:
            assert a.loglift_sd == pytest.approx(b.loglift_sd, rel=0.05), (a.arm, a.metric)


def test_conditional_shares_are_left_out_and_said():
    imported = records_from_report(REPORTS / "course_funnel_daily.json")
    assert [r.metric for r in imported.records] == ["clicked", "enrolled_per_unit", "paid_per_unit"]
    assert any("2 conditional share(s) left out" in n for n in imported.notes)


@pytest.mark.parametrize("path", OTHER_REPORTS, ids=lambda p: p.name)
def test_other_kinds_of_report_are_refused_by_name(path: Path, tmp_path: Path):
    copy_ = tmp_path / path.name
    copy_.write_bytes(path.read_bytes())
    _refused(
        records_from_report,
        copy_,
        r"this is a (design report|monitoring report|replication plan|learn report|learned-priors file"
        r"|many-lab replication).*(Import run reports|Record the labs one by one)",
    )


def test_a_report_imported_twice_is_counted_once(tmp_path: Path):
    reg_path = tmp_path / "registry.duckdb"
    imported = records_from_report(PILOT)
    n = len(imported.covariances)
    with open_registry(reg_path, create=True) as reg:
        assert reg.add(imported.records, imported.covariances) == Added(35, 0, n, 0)
        again = records_from_report(PILOT)
        assert reg.add(again.records, again.covariances) == Added(0, 35, 0, n)
        assert len(reg) == 35


def test_the_data_fingerprint_is_the_sha256_else_a_hash_of_the_description():
    assert data_fingerprint({"sha256": "AB" * 32, "rows": 3}) == "ab" * 32
    published = {"summaries": "data.summaries in the spec", "rows": 3, "origin": "published"}
    reordered = dict(reversed(list(published.items())))
    assert data_fingerprint(published) == data_fingerprint(reordered)
    assert len(data_fingerprint(published)) == 64
    assert data_fingerprint(published) != data_fingerprint({**published, "rows": 4})


def _effect(**changes) -> dict:
    """A new-style effect whose posterior is normal: diff N(0.02, 0.005²), loglift N(0.3, 0.1²)."""
    d_mean, d_sd, l_mean, l_sd = 0.02, 0.005, 0.3, 0.1
    base = {
        "arm": "B",
        "metric": "meetings",
        "role": "outcome",
        "type": "binary",
        "n_arm": 4000,
        "n_control": 4000,
        "control_mean": 0.05,
        "lift": {
            "defined": True,
            "mean": 0.35,
            "hdi": [math.expm1(l_mean - Z94 * l_sd), math.expm1(l_mean + Z94 * l_sd)],
        },
        "abs_lift": {"mean": d_mean, "hdi": [d_mean - Z94 * d_sd, d_mean + Z94 * d_sd]},
        "diff_sd": d_sd,
        "loglift": {"mean": l_mean, "sd": l_sd},
        "conditional": False,
        "verdict": "real lift",
    }
    return {**base, **changes}


def _report(effects: list[dict], **changes) -> dict:
    base = {
        "experiment": "q3",
        "title": "Q3 outreach",
        "control": "A",
        "hdi_prob": 0.94,
        "time": {"as_of": "2026-03-31"},
        "arms": [{"arm": "B", "channel": "email", "verdict": "x", "covariances": []}],
        "effects": effects,
        "provenance": {"spec_sha256": "c" * 64, "data": {"path": "d.csv", "sha256": "d" * 64, "rows": 8000}},
    }
    return {**base, **changes}


def _write(tmp_path: Path, payload: object, name: str = "report.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(payload) if not isinstance(payload, str) else payload)
    return path


def _old_style(report: dict) -> dict:
    old = copy.deepcopy(report)
    for e in old["effects"]:
        e.pop("diff_sd", None)
        e.pop("loglift", None)
    for a in old["arms"]:
        a.pop("covariances", None)
    return old


def test_new_fields_are_read_and_old_reports_approximate_them_from_the_intervals(tmp_path: Path):
    cov = {"metric_a": "meetings", "metric_b": "replies", "diff": 1e-6, "loglift": None}
    unknown = {**cov, "metric_b": "clicks", "diff": None}
    left_out = {**cov, "metric_b": "booked_given_reply"}
    report = _report(
        [
            _effect(),
            _effect(metric="replies", role="engagement"),
            _effect(metric="clicks", role="engagement"),
            _effect(metric="booked_given_reply", conditional=True),
        ]
    )
    report["arms"][0]["covariances"] = [cov, unknown, left_out]
    new = records_from_report(_write(tmp_path, report))
    assert not new.approximated
    assert new.notes == [
        "1 conditional share(s) left out (B: booked_given_reply): the registry pools effects per unit.",
        "1 covariance(s) between metrics are null in the report (its data cannot give them: aggregated rows "
        "or published summaries); they are not stored.",
        "1 covariance(s) involve a metric left out and are not stored.",
    ]
    first = new.records[0]
    assert (first.diff_sd, first.loglift_mean, first.loglift_sd) == (0.005, 0.3, 0.1)
    assert first.last_date == date(2026, 3, 31)
    assert first.first_date is None
    assert first.channel == "email"
    assert [(c.metric_a, c.metric_b, c.cov_diff) for c in new.covariances] == [("meetings", "replies", 1e-6)]
    old = records_from_report(_write(tmp_path, _old_style(report), "old.json"))
    assert old.approximated
    assert old.covariances == []
    for a, b in zip(old.records, new.records, strict=True):  # exact for a normal posterior
        assert a.diff_sd == pytest.approx(b.diff_sd, rel=1e-9)
        assert a.loglift_mean == pytest.approx(b.loglift_mean, rel=1e-9)
        assert a.loglift_sd == pytest.approx(b.loglift_sd, rel=1e-9)


def test_the_interval_approximation_is_within_5_percent_for_real_posteriors():
    """Beta posteriors of two small arms (skewed): sds from 94 % equal-tailed intervals vs draws."""
    rng = np.random.default_rng(3)
    for (x_a, n_a), (x_c, n_c) in [((9, 31), (4, 31)), ((40, 500), (25, 500)), ((300, 5000), (250, 5000))]:
        p_a = rng.beta(1 + x_a, 1 + n_a - x_a, 200_000)
        p_c = rng.beta(1 + x_c, 1 + n_c - x_c, 200_000)
        diff, lift = p_a - p_c, p_a / p_c - 1
        d_lo, d_hi = np.quantile(diff, [0.03, 0.97])
        l_lo, l_hi = np.quantile(lift, [0.03, 0.97])
        assert (d_hi - d_lo) / (2 * Z94) == pytest.approx(diff.std(), rel=0.05)
        assert (math.log1p(l_hi) - math.log1p(l_lo)) / (2 * Z94) == pytest.approx(
            np.log1p(lift).std(), rel=0.05
        )


def test_an_undefined_or_unbounded_lift_has_no_log_lift_and_unknown_verdicts_are_not_judged(tmp_path: Path):
    effects = [
        _effect(lift={"defined": False, "mean": None, "hdi": None}, verdict="something new"),
        _effect(metric="replies", lift={"defined": True, "mean": 0.1, "hdi": [-1.0, 2.0]}),
    ]
    imported = records_from_report(_write(tmp_path, _old_style(_report(effects))))
    assert [(r.loglift_mean, r.loglift_sd) for r in imported.records] == [(None, None), (None, None)]
    assert imported.records[0].verdict == "not judged"
    assert any("'something new'" in n and "not judged" in n for n in imported.notes)


def _report_case(tmp_path: Path, payload: object, match: str, name: str = "report.json") -> None:
    _refused(records_from_report, _write(tmp_path, payload, name), match)


REPORT_CASES: dict[str, tuple[object, str]] = {
    "not json": ("{effects: [", r"not a channelab report: not valid JSON \(line 1, column 2"),
    "a json list": ([1, 2], r"the JSON is a list, not an object"),
    "no effects": ({"title": "x", "provenance": {}}, r"no 'effects' field"),
    "nan": ('{"effects": [], "hdi_prob": NaN}', r"NaN is not a number JSON allows"),
    "no provenance": (
        {k: v for k, v in _report([_effect()]).items() if k != "provenance"},
        r"provenance is missing",
    ),
    "no spec hash": (
        _report([_effect()], provenance={"data": {"sha256": "d" * 64}}),
        r"provenance\.spec_sha256 is missing",
    ),
    "spec hash null": (
        _report([_effect()], provenance={"spec_sha256": None, "data": {"sha256": "d" * 64}}),
        r"provenance\.spec_sha256 is None, not a SHA-256 hash",
    ),
    "no data description": (
        _report([_effect()], provenance={"spec_sha256": "c" * 64, "data": {}}),
        r"provenance\.data is \{\}, not the data's description",
    ),
    "empty effects": (_report([]), r"effects is \[\], not a list of measured effects"),
    "no abs_lift": (
        _report([{k: v for k, v in _effect().items() if k not in ("abs_lift",)}]),
        r"effects\[0\] \(arm 'B', metric 'meetings'\): abs_lift is missing",
    ),
    "old report without interval": (
        _old_style(_report([{**_effect(), "abs_lift": {"mean": 0.1}}])),
        r"abs_lift\.hdi is missing",
    ),
    "negative diff sd": (
        _report([_effect(diff_sd=-0.01)]),
        r"diff_sd is -0\.01: a standard deviation cannot be negative",
    ),
    "fractional n": (_report([_effect(n_arm=12.5)]), r"n_arm is 12\.5, not a whole number of units"),
    "unknown role": (_report([_effect(role="vanity")]), r"role is 'vanity'; it must be one of"),
    "text for a number": (
        _report([_effect(control_mean="5 %")]),
        r"control_mean is '5 %', not a finite number",
    ),
    "reversed interval": (
        _old_style(_report([{**_effect(), "abs_lift": {"mean": 0.1, "hdi": [0.2, 0.0]}}])),
        r"abs_lift\.hdi runs from 0\.2 down to 0",
    ),
    "lift not an object": (_old_style(_report([_effect(lift=0.3)])), r"\): lift is 0\.3, not an object"),
    "as_of not text": (
        _report([_effect()], time={"as_of": 20260331}),
        r"time\.as_of is 20260331, not a date",
    ),
    "bad as_of": (_report([_effect()], time={"as_of": "March"}), r"time\.as_of is 'March', not a date"),
    "conditional not a flag": (_report([_effect(conditional="yes")]), r"effects\[0\]\.conditional is 'yes'"),
}


@pytest.mark.parametrize("name", REPORT_CASES)
def test_a_report_that_cannot_be_imported_is_refused(name: str, tmp_path: Path):
    payload, match = REPORT_CASES[name]
    _report_case(tmp_path, payload, match)


def test_a_binary_file_a_folder_a_missing_path_and_a_huge_report_are_refused(tmp_path, monkeypatch):
    pdf = tmp_path / "report.pdf.json"
    pdf.write_bytes(b"%PDF-1.4\n\xe2\xe3\xcf\xd3\n")
    _refused(records_from_report, pdf, r"byte 10 is not UTF-8 text")
    _refused(records_from_report, tmp_path / "nope.json", r"no such file")
    (tmp_path / "folder.json").mkdir()
    _refused(records_from_report, tmp_path / "folder.json", r"is not a file")
    huge = tmp_path / "huge.json"
    with huge.open("wb") as f:
        f.truncate(2_000)  # sparse; the bound is lowered below
    monkeypatch.setattr(reports_module, "MAX_REPORT_BYTES", 1_000)
    _refused(records_from_report, huge, r"more than 1,000 bytes")


# --- CSV of published summaries -------------------------------------------------------------

HEADER = "experiment,arm,metric,role,type,n,control,mean,sd"
UBC = [  # UBC Study 1 style: two arms of 31, a revenue-like mean with sd and a proportion
    "UBC Study 1,Private token,donation,revenue,revenue,31,No token,0.85,0.62",
    "UBC Study 1,No token,donation,revenue,revenue,31,No token,0.34,0.43",
    "UBC Study 1,Private token,donated,outcome,binary,31,No token,0.77,",
    "UBC Study 1,No token,donated,outcome,binary,31,No token,0.58,",
]


def _csv(tmp_path: Path, lines: list[str], header: str = HEADER, name: str = "summaries.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def test_per_arm_means_give_the_closed_form_differences_and_log_lifts(tmp_path: Path):
    imported = records_from_summaries(_csv(tmp_path, UBC))
    donation, donated = imported.records
    assert (donation.metric, donated.metric) == ("donation", "donated")
    assert donation.diff_mean == pytest.approx(0.85 - 0.34)
    assert donation.diff_sd == pytest.approx(math.sqrt(0.62**2 / 31 + 0.43**2 / 31))
    assert donation.loglift_mean == pytest.approx(math.log(0.85 / 0.34))
    assert donation.loglift_sd == pytest.approx(
        math.sqrt(0.62**2 / (31 * 0.85**2) + 0.43**2 / (31 * 0.34**2))
    )
    var_a, var_c = 0.77 * 0.23, 0.58 * 0.42  # a proportion's sd is implied
    assert donated.diff_mean == pytest.approx(0.19)
    assert donated.diff_sd == pytest.approx(math.sqrt(var_a / 31 + var_c / 31))
    assert donated.loglift_sd == pytest.approx(math.sqrt(var_a / (31 * 0.77**2) + var_c / (31 * 0.58**2)))
    assert donated.control_mean == 0.58
    assert donated.n_arm == donated.n_control == 31
    assert {r.verdict for r in imported.records} == {"not judged"}
    assert {r.source for r in imported.records} == {"import:summary"}
    assert donated.channel == "Private token"
    assert donated.arm == "Private token"
    assert imported.covariances == []
    assert imported.notes == []
    assert not imported.approximated


def test_effects_with_standard_errors_and_the_optional_columns(tmp_path: Path):
    header = "experiment,arm,metric,role,type,n,effect,se,scale,n_control,control_mean,channel,date,launched"
    lines = [
        "Lab 1,Public,donated,outcome,binary,100,0.05,0.02,diff,100,0.5,social,2024-05-01,true",
        "Lab 1,Public,amount,revenue,revenue,100,0.2,0.1,loglift,100,2.0,social,2024-05-01,",
        "Lab 2,Public,donated,outcome,binary,80,0.01,0.03,diff,90,0.0,,,FALSE",
    ]
    imported = records_from_summaries(_csv(tmp_path, lines, header))
    diff, loglift, zero = imported.records
    assert (diff.diff_mean, diff.diff_sd) == (0.05, 0.02)
    assert diff.loglift_mean == pytest.approx(math.log(0.55 / 0.5))
    assert diff.loglift_sd == pytest.approx(0.02 * math.sqrt((0.55**-2 + 0.5**-2) / 2))
    assert (diff.channel, diff.last_date, diff.launched) == ("social", date(2024, 5, 1), True)
    m_a = 2.0 * math.exp(0.2)
    assert (loglift.loglift_mean, loglift.loglift_sd) == (0.2, 0.1)
    assert loglift.diff_mean == pytest.approx(m_a - 2.0)
    assert loglift.diff_sd == pytest.approx(0.1 * math.sqrt(2 / (m_a**-2 + 2.0**-2)))
    assert zero.loglift_mean is None
    assert zero.n_control == 90
    assert not zero.launched
    assert zero.channel == "Public"
    assert diff.spec_hash != zero.spec_hash  # one test per experiment
    assert imported.approximated
    assert any("2 record(s) were given as an effect" in n for n in imported.notes)
    assert any("1 record(s) have no log lift" in n for n in imported.notes)


def test_an_effect_row_takes_the_control_numbers_from_the_control_row(tmp_path: Path):
    header = "experiment,arm,metric,role,type,n,control,mean,sd,effect,se,scale"
    lines = ["S,B,clicks,engagement,count,50,A,,,0.4,0.2,diff", "S,A,clicks,engagement,count,60,A,2.0,1.5,,,"]
    (record,) = records_from_summaries(_csv(tmp_path, lines, header)).records
    assert (record.n_control, record.control_mean, record.diff_mean) == (60, 2.0, 0.4)


def test_a_summaries_file_imported_twice_is_counted_once_and_launched_does_not_change_the_key(tmp_path: Path):
    first = records_from_summaries(_csv(tmp_path, UBC))
    with_launch = [f"{line},{'true' if i == 0 else ''}" for i, line in enumerate(UBC)]
    marked = records_from_summaries(_csv(tmp_path, with_launch, f"{HEADER},launched", "b.csv"))
    assert marked.records[0].launched
    assert {r.data_fingerprint for r in first.records} == {r.data_fingerprint for r in marked.records}
    reordered = records_from_summaries(_csv(tmp_path, list(reversed(UBC)), name="c.csv"))
    assert {r.data_fingerprint for r in reordered.records} == {r.data_fingerprint for r in first.records}
    changed = records_from_summaries(_csv(tmp_path, [UBC[0].replace("0.85", "0.86"), *UBC[1:]], name="d.csv"))
    assert changed.records[0].data_fingerprint != first.records[0].data_fingerprint
    with open_registry(tmp_path / "r.duckdb", create=True) as reg:
        assert reg.add(first.records) == Added(2, 0)
        assert reg.add(records_from_summaries(_csv(tmp_path, UBC)).records) == Added(0, 2)


def test_line_numbers_count_the_header_as_line_1_and_quoted_line_breaks(tmp_path: Path):
    lines = [
        '"UBC\nStudy 1",Private token,donated,outcome,binary,31,No token,0.77,',
        UBC[3],
        "X,B,m,outcome,binary,1,A,0.1,",
    ]
    _refused(
        records_from_summaries,
        _csv(tmp_path, lines),
        r"line 5, column 'n': 1 is not a whole number of units from 2",
    )


SUMMARY_CASES: dict[str, tuple[list[str], str, str]] = {  # (rows, header, message)
    "missing column": (
        [UBC[0]],
        "experiment,arm,metric,role,type,control,mean,sd,x",
        r"line 1, column 'x': not a column",
    ),
    "missing n column": (
        [],
        "experiment,arm,metric,role,type,control,mean,sd",
        r"line 1: the header has no column 'n'",
    ),
    "no mean nor effect": ([], "experiment,arm,metric,role,type,n", r"line 1: give a column 'mean'"),
    "misspelt column": (
        [],
        HEADER + ",sdd",
        r"column 'sdd': not a column of published summaries; did you mean 'sd'\?",
    ),
    "semicolons": ([], HEADER.replace(",", ";"), r"line 1: the columns are separated by semicolons"),
    "duplicate column": ([], HEADER + ",sd", r"column 'sd': appears twice"),
    "header only": ([], HEADER, r"has a header but no rows"),
    "unknown role": (
        [UBC[0].replace("revenue,revenue", "money,revenue"), UBC[1]],
        HEADER,
        r"line 2, column 'role': 'money', not one of",
    ),
    "unknown type": (
        [UBC[0].replace("revenue,revenue", "revenue,dollars"), UBC[1]],
        HEADER,
        r"line 2, column 'type': 'dollars', not one of",
    ),
    "n below 2": (
        [UBC[0].replace(",31,", ",1,"), UBC[1]],
        HEADER,
        r"line 2, column 'n': 1 is not a whole number of units from 2",
    ),
    "n not whole": (
        [UBC[0], UBC[1].replace(",31,", ",30.5,")],
        HEADER,
        r"line 3, column 'n': 30\.5 is not a whole number",
    ),
    "negative sd": (
        [UBC[0].replace("0.62", "-0.62"), UBC[1]],
        HEADER,
        r"line 2, column 'sd': -0\.62: a standard deviation cannot be negative",
    ),
    "proportion above 1": (
        [UBC[2].replace("0.77", "77"), UBC[3]],
        HEADER,
        r"line 2, column 'mean': 77 is not a proportion between 0 and 1",
    ),
    "no control row": (
        [UBC[0], UBC[2], UBC[3]],
        HEADER,
        r"line 2, column 'metric': study 'UBC Study 1' has no control row of metric 'donation'",
    ),
    "empty control column": (
        [UBC[0].replace("No token,0.85", ",0.85")],
        HEADER,
        r"line 2, column 'control': .*the 'control' column is empty",
    ),
    "two control rows": (
        [*UBC, UBC[1]],
        HEADER,
        r"line 6, column 'arm': a second control row of study 'UBC Study 1', arm 'No token', "
        r"metric 'donation' \(the first is line 3\)",
    ),
    "two control labels": (
        [UBC[0], UBC[1].replace(",No token,0.34", ",Nothing,0.34")],
        HEADER,
        r"line 3, column 'control': 'Nothing', but line 2 gives 'No token'",
    ),
    "a control row without treatment": (
        [UBC[0], UBC[1], UBC[3]],
        HEADER,
        r"line 4, column 'metric': the control row of metric 'donated' has no treatment row",
    ),
    "text for a number": (
        [UBC[0].replace("0.85", "85%"), UBC[1]],
        HEADER,
        r"line 2, column 'mean': '85%' is not a number",
    ),
    "nan": (
        [UBC[0].replace("0.62", "nan"), UBC[1]],
        HEADER,
        r"line 2, column 'sd': 'nan' is not a finite number",
    ),
    "inf": (
        [UBC[0], UBC[1].replace("0.34", "inf")],
        HEADER,
        r"line 3, column 'mean': 'inf' is not a finite number",
    ),
    "sd of a binary metric": (
        [UBC[2] + "0.4", UBC[3]],
        HEADER,
        r"line 2, column 'sd': given for a binary metric",
    ),
    "no sd for a mean": (
        [UBC[0].replace("0.62", ""), UBC[1]],
        HEADER,
        r"line 2, column 'sd': empty, but a revenue metric's mean needs its sd",
    ),
    "empty arm": (
        [UBC[0].replace("Private token", ""), UBC[1]],
        HEADER,
        r"line 2, column 'arm': empty; every row needs it",
    ),
    "ragged row": ([UBC[0] + ",extra", UBC[1]], HEADER, r"line 2: 10 field\(s\), but the header has 9"),
    "role changes within a metric": (
        [UBC[0], UBC[1].replace("revenue,revenue", "outcome,revenue")],
        HEADER,
        r"line 3, column 'role': metric 'donation' has role outcome, type revenue here but role revenue, "
        r"type revenue on line 2",
    ),
    "no spread at all": (
        ["S,B,m,outcome,binary,10,A,0,", "S,A,m,outcome,binary,10,A,0,"],
        HEADER,
        r"line 2, column 'mean': both arms have no spread",
    ),
    "negative count mean": (
        ["S,B,m,outcome,count,10,A,-1,1", "S,A,m,outcome,count,10,A,1,1"],
        HEADER,
        r"line 2, column 'mean': -1: a count's mean cannot be negative",
    ),
}
EFFECT = (
    "experiment,arm,metric,role,type,n,control,mean,sd,effect,se,scale,n_control,control_mean,date,launched"
)
SUMMARY_CASES |= {
    "mean and effect": (
        ["S,B,m,outcome,binary,10,A,0.2,,0.1,0.05,diff,10,0.1,,"],
        EFFECT,
        r"line 2, column 'mean': the row gives both a mean and an effect",
    ),
    "effect without se": (
        ["S,B,m,outcome,binary,10,,,,0.1,,diff,10,0.1,,"],
        EFFECT,
        r"line 2, column 'se': empty, but the row gives an effect",
    ),
    "se of zero": (
        ["S,B,m,outcome,binary,10,,,,0.1,0,diff,10,0.1,,"],
        EFFECT,
        r"line 2, column 'se': 0 claims an exact effect",
    ),
    "negative se": (
        ["S,B,m,outcome,binary,10,,,,0.1,-0.1,diff,10,0.1,,"],
        EFFECT,
        r"line 2, column 'se': -0\.1: a standard error cannot be negative",
    ),
    "unknown scale": (
        ["S,B,m,outcome,binary,10,,,,0.1,0.1,ratio,10,0.1,,"],
        EFFECT,
        r"line 2, column 'scale': 'ratio', not one of diff, loglift",
    ),
    "no control mean": (
        ["S,B,m,outcome,binary,10,,,,0.1,0.1,diff,10,,,"],
        EFFECT,
        r"line 2, column 'control_mean': empty, and study 'S' has no control row",
    ),
    "effect beyond a proportion": (
        ["S,B,m,outcome,binary,10,,,,0.5,0.1,diff,10,0.6,,"],
        EFFECT,
        r"line 2, column 'effect': .* arm's mean at 1\.1, not a proportion",
    ),
    "loglift of a zero control": (
        ["S,B,m,outcome,count,10,,,,0.5,0.1,loglift,10,0,,"],
        EFFECT,
        r"line 2, column 'scale': loglift needs a positive control mean",
    ),
    "se without effect": (
        ["S,B,m,outcome,binary,10,A,0.2,,,0.05,,,,,", "S,A,m,outcome,binary,10,A,0.1,,,,,,,,"],
        EFFECT,
        r"line 2, column 'se': given without an effect",
    ),
    "control row with an effect": (
        ["S,B,m,outcome,binary,10,A,0.2,,,,,,,,", "S,A,m,outcome,binary,10,A,,,0.1,0.1,diff,10,0.1,,"],
        EFFECT,
        r"line 3, column 'effect': the control arm's row gives an effect",
    ),
    "launched control": (
        ["S,B,m,outcome,binary,10,A,0.2,,,,,,,,", "S,A,m,outcome,binary,10,A,0.1,,,,,,,,true"],
        EFFECT,
        r"line 3, column 'launched': true on the control arm's row",
    ),
    "control numbers that disagree": (
        ["S,B,m,outcome,count,10,A,,,0.1,0.1,diff,12,,,", "S,A,m,outcome,count,11,A,1.0,1.0,,,,,,,"],
        EFFECT,
        r"line 2, column 'n_control': 12, but the control row \(line 3\) gives 11",
    ),
    "launched not a flag": (
        ["S,B,m,outcome,binary,10,,,,0.1,0.1,diff,10,0.1,,yes"],
        EFFECT,
        r"line 2, column 'launched': 'yes' is not true or false",
    ),
    "bad date": (
        ["S,B,m,outcome,binary,10,,,,0.1,0.1,diff,10,0.1,01/05/2024,"],
        EFFECT,
        r"line 2, column 'date': '01/05/2024' is not a date written YYYY-MM-DD",
    ),
    "two dates": (
        [
            "S,B,m,outcome,binary,10,,,,0.1,0.1,diff,10,0.1,2024-01-01,",
            "S,C,m,outcome,binary,10,,,,0.1,0.1,diff,10,0.1,2024-02-01,",
        ],
        EFFECT,
        r"line 3, column 'date': '2024-02-01', but line 2 gives '2024-01-01'",
    ),
}


@pytest.mark.parametrize("name", SUMMARY_CASES)
def test_a_summaries_file_that_cannot_be_imported_is_refused(name: str, tmp_path: Path):
    lines, header, match = SUMMARY_CASES[name]
    _refused(records_from_summaries, _csv(tmp_path, lines, header), match)


def test_too_many_rows_a_binary_file_and_a_huge_file_are_refused(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(summary_rows, "MAX_SUMMARY_ROWS", 3)
    _refused(
        records_from_summaries,
        _csv(tmp_path, [*UBC, UBC[0]]),
        r"line 5: more than 3 rows; import the file in parts",
    )
    xlsx = tmp_path / "book.csv"
    xlsx.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb5")
    _refused(records_from_summaries, xlsx, r"is not UTF-8 text \(a PDF, a spreadsheet")
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as f:
        f.truncate(5_000)  # sparse
    monkeypatch.setattr(summary_rows, "MAX_SUMMARY_BYTES", 1_000)
    _refused(records_from_summaries, huge, r"more than 1,000 bytes")


def test_blank_lines_are_not_rows_and_a_bom_is_read(tmp_path: Path):
    path = tmp_path / "s.csv"
    path.write_bytes(("\ufeff" + HEADER + "\n" + "\n".join([UBC[0], "", UBC[1], ",,,,,,,,"]) + "\n").encode())
    assert len(records_from_summaries(path).records) == 1
