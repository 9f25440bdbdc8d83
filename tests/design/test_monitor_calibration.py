"""The stopping rule's calibration in ``channelab design``: schedule, decisions, summaries, reports."""

from __future__ import annotations

import dataclasses
import io
import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from channelab.analysis.monitor import look_z
from channelab.cli import app
from channelab.design import monitor as sequential
from channelab.design.assurance import single_metric_spec
from channelab.design.monitor import (
    LookSchedule,
    RuleRow,
    StoppingRule,
    entry_rows,
    look_schedule,
    monitored_test,
    rule_row,
    wilson,
)
from channelab.design.plan import calibrates_rule, design
from channelab.reporting.json_report import design_json
from channelab.reporting.pdf.design import design_pdf
from channelab.spec import Baseline, parse_spec

MONITORED = {
    "name": "monitored",
    "title": "Phone vs social, monitored weekly",
    "data": {"path": "units.csv"},
    "unit": {"kind": "prospect", "entered_at": "entered"},
    "arm_column": "arm",
    "control": "Control",
    "arms": {
        "Control": {"channel": "control"},
        "Phone": {"channel": "phone"},
        "Social": {"channel": "social"},
    },
    "metrics": [
        {
            "name": "meetings",
            "label": "meetings booked",
            "role": "outcome",
            "type": "binary",
            "window_days": 28,
        },
        {"name": "revenue", "role": "revenue", "type": "revenue"},
    ],
    "plan": {
        "n": 30_000,
        "target_lift": 0.2,
        "units_per_week": 2500,
        "baselines": {"meetings": {"mean": 0.08}, "revenue": {"share": 0.02, "amount": 33_000}},
    },
    "monitor": {"every": "week"},
}


def _spec(**changes):
    return parse_spec({**MONITORED, **changes})


def test_look_z_is_wider_early_and_the_usual_interval_at_the_last_look():
    z = 1.8808  # 94 %
    assert look_z(4, 16, 0.94, "obrien_fleming") == pytest.approx(2 * z, abs=1e-3)
    assert look_z(16, 16, 0.94, "obrien_fleming") == pytest.approx(z, abs=1e-3)
    assert look_z(1, 16, 0.94, "none") == pytest.approx(z, abs=1e-3)
    assert look_z(20, 16, 0.94, "obrien_fleming") == pytest.approx(z, abs=1e-3)  # past the plan: no narrower


def test_the_schedule_enters_the_plan_over_its_weeks_and_counts_after_the_window():
    spec = _spec()
    meetings, revenue = spec.metrics
    s = look_schedule(spec, meetings, 30_000)
    assert s == LookSchedule(looks=16, entry=12, wait=4, units=30_000, simulated=30_000)
    assert [s.counted(k) for k in (1, 4, 5, 6, 16, 17)] == [0, 0, 2500, 5000, 30_000, 30_000]
    assert [s.entered(k) for k in (1, 12, 16)] == [2500, 30_000, 30_000]
    assert look_schedule(spec, revenue, 30_000).counted(12) == 30_000  # no window: counts as it enters
    assert look_schedule(spec, revenue, 30_000, design_effect=2.0).simulated == 15_000


def test_without_an_entry_rate_units_enter_over_the_looks_before_the_window():
    spec = _spec(plan={**MONITORED["plan"], "units_per_week": None}, monitor={"looks": 10})
    s = look_schedule(spec, spec.metrics[0], 30_000)
    assert (s.looks, s.entry, s.wait) == (10, 6, 4)


def test_calibration_needs_a_monitor_block_and_planned_looks():
    assert calibrates_rule(_spec())
    assert not calibrates_rule(parse_spec({k: v for k, v in MONITORED.items() if k != "monitor"}))
    assert not calibrates_rule(_spec(plan={**MONITORED["plan"], "units_per_week": None}))
    d = design(_spec(), sims=0, rule_sims=0)
    assert d.stopping_rule is None
    assert design_json(d)["stopping_rule"] is None


def test_entry_rows_split_by_the_planned_shares_in_random_order():
    spec = single_metric_spec(_spec(), _spec().metrics[0])
    rows = entry_rows(spec, Baseline(mean=0.3), 0.0, 900, seed=3)
    assert rows["arm"].value_counts().to_dict() == {"Control": 300, "Phone": 300, "Social": 300}
    assert not rows["arm"].is_monotonic_increasing  # not in blocks of arms
    assert set(rows["meetings"]) == {0, 1}
    pd.testing.assert_frame_equal(rows, entry_rows(spec, Baseline(mean=0.3), 0.0, 900, seed=3))


def _draws(mean: float, sd: float) -> np.ndarray:
    """Lift draws whose log(1 + lift) has exactly this mean and sd."""
    z = np.random.default_rng(0).standard_normal(4000)
    return np.expm1(mean + sd * (z - z.mean()) / z.std(ddof=1))


def test_each_rule_decides_an_arm_at_its_first_decisive_look(monkeypatch):
    # 600 units enter over 10 looks, arms in turn: look 1 counts 20 per arm (too few to read).
    # Phone's log-lift is 0.15 ± 0.03·√(10/k): clears the ±5 % ROPE at look 4 with z = 1.88 and
    # at look 6 with z / √(k/10). Social's is 0 ± 0.01·√(10/k): inside it at look 2, and look 4.
    one = single_metric_spec(_spec(), _spec().metrics[1])
    rows = pd.DataFrame({"arm": ["Control", "Phone", "Social"] * 200, "revenue": 0.0})
    schedule = LookSchedule(looks=10, entry=10, wait=0, units=600, simulated=600)
    fitted: list[int] = []

    def fake(refitter, counted, *, seed, settings=None):
        fitted.append(len(counted))
        shrink = math.sqrt(600 / len(counted))
        return {"Phone": _draws(0.15, 0.03 * shrink), "Social": _draws(0.0, 0.01 * shrink)}

    monkeypatch.setattr(sequential, "lift_draws", fake)
    decided = monitored_test(SimpleNamespace(spec=one), rows, schedule, ["obrien_fleming", "none"], seed=1)
    assert decided["none"] == {"Phone": (4, "real lift"), "Social": (2, "no effect")}
    assert decided["obrien_fleming"] == {"Phone": (6, "real lift"), "Social": (4, "no effect")}
    assert fitted == [120, 180, 240, 300, 360]  # look 1 unread; stops once both rules decided both


def test_a_look_with_no_new_units_is_not_refitted(monkeypatch):
    one = single_metric_spec(_spec(), _spec().metrics[1])
    rows = pd.DataFrame({"arm": ["Control", "Phone", "Social"] * 200, "revenue": 0.0})
    schedule = LookSchedule(looks=14, entry=10, wait=0, units=600, simulated=600)
    fitted: list[int] = []

    def fake(refitter, counted, *, seed, settings=None):
        fitted.append(len(counted))
        return {"Phone": _draws(0.0, 0.5), "Social": _draws(0.0, 0.5)}  # never decided

    monkeypatch.setattr(sequential, "lift_draws", fake)
    decided = monitored_test(SimpleNamespace(spec=one), rows, schedule, ["none"], seed=1)
    assert decided == {"none": {}}
    assert fitted == [60 * k for k in range(2, 11)]


def test_rule_row_counts_decisions_and_the_stopping_look():
    schedule = LookSchedule(looks=10, entry=8, wait=0, units=800, simulated=800)
    tests = [
        {"A": (3, "real lift"), "B": (5, "no effect")},  # stops at 5
        {"A": (2, "harm")},  # B undecided: runs to 10
        {},
        {"A": (9, "real lift"), "B": (10, "no effect")},  # decided at the last look: not early
    ]
    r = rule_row("m", 0.0, "none", tests, schedule, treatments=2)
    assert (r.sims, r.decisions) == (4, 8)
    assert (r.real_lift, r.harm, r.no_effect, r.undecided) == (0.25, 0.125, 0.25, 0.375)
    assert r.se == pytest.approx(math.sqrt(0.25 * 0.75 / 8))
    assert r.stops_early == 0.25
    assert r.mean_stop == 8.75
    assert r.expected_n == pytest.approx((500 + 3 * 800) / 4)
    assert r.low < 0.25 < r.high


def test_wilson_interval():
    low, high = wilson(5, 100)
    assert (low, high) == pytest.approx((0.0215, 0.1118), abs=1e-3)
    low, high = wilson(0, 200)
    assert low == 0
    assert 0.01 < high < 0.03


def _row(lift: float, rule: str, rate: float, stop: float, n: float) -> RuleRow:
    return RuleRow(
        "meetings",
        lift,
        rule,
        200,
        400,
        rate,
        0.007,
        rate / 2,
        rate * 2,
        0.0,
        0.5,
        0.2,
        stop,
        14.0,
        n,  # type: ignore[arg-type]
    )


def test_report_sentence_and_json_block_from_a_known_calibration():
    plan = {**MONITORED["plan"], "baselines": {"meetings": {"mean": 0.08}}}
    d = design(_spec(metrics=MONITORED["metrics"][:1], plan=plan), sims=0, rule_sims=0)
    s = look_schedule(d.spec, d.spec.metrics[0], 30_000)
    rule = StoppingRule(
        spending="obrien_fleming",
        every_days=7,
        looks=16,
        z=tuple(look_z(k, 16, 0.94, "obrien_fleming") for k in range(1, 17)),
        schedules={"meetings": s},
        rows=(
            _row(0.0, "obrien_fleming", 0.02, 0.01, 29_900),
            _row(0.0, "none", 0.09, 0.05, 29_000),
            _row(0.2, "obrien_fleming", 0.71, 0.6, 13_000),
            _row(0.2, "none", 0.80, 0.9, 9_000),
        ),
        seconds=1.0,
    )
    d = dataclasses.replace(d, stopping_rule=rule)
    block = design_json(d)["stopping_rule"]
    assert block["spending"] == "obrien_fleming"
    assert block["every_days"] == 7
    assert block["planned_looks"] == 16
    assert block["schedule"]["meetings"] == {
        "entry_looks": 12,
        "looks_before_counting": 4,
        "n_planned": 30_000,
        "n_simulated": 30_000,
        "survival": False,  # a count with a window stays windowed
        "delay": None,
    }
    assert [(r["lift"], r["rule"]) for r in block["results"]] == [
        (0.0, "obrien_fleming"),
        (0.0, "none"),
        (0.2, "obrien_fleming"),
        (0.2, "none"),
    ]
    assert block["z"][3] == {"look": 4, "z": pytest.approx(2 * block["z"][15]["z"])}

    from pypdf import PdfReader

    pages = PdfReader(io.BytesIO(design_pdf(d))).pages
    text = " ".join(" ".join(p.extract_text() for p in pages).replace("\u00a0", " ").split())
    assert (
        "with weekly looks for 16 weeks and this rule, a channel that does nothing is called a real lift "
        "in 2.0 % of tests (1.0 % to 4.0 %); stopping at the first look whose interval clears the ROPE "
        "would call it in 9.0 %. A +20 % lift is found in 71 % of tests; a test stops on average when "
        "13,000 of the 30,000 planned prospects have entered."
    ) in text
    assert "sqrt(k/K)" in text
    assert "12 looks (2,500 a week)" in text


@pytest.mark.slow
def test_design_calibrates_the_rule_and_a_large_lift_stops_early(tmp_path):
    # 4,000 units over 4 weekly looks; a true +100 % on a 10 % rate clears the ROPE at look 1
    # even with the interval twice as wide, so the spending rule stops well before the last look.
    spec = {
        **MONITORED,
        "arms": {"Control": {"channel": "control"}, "Phone": {"channel": "phone"}},
        "metrics": [{"name": "meetings", "role": "outcome", "type": "binary"}],
        "plan": {
            "n": 4000,
            "target_lift": 1.0,
            "units_per_week": 1000,
            "baselines": {"meetings": {"mean": 0.1}},
        },
        "monitor": {"every": "week", "sims": 3},
    }
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(
        app, ["design", str(tmp_path / "plan.yaml"), "--out", str(tmp_path), "--sims", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "Stopping rule over 4 planned looks" in result.output
    block = json.loads((tmp_path / "monitored.design.json").read_text())["stopping_rule"]
    assert block["planned_looks"] == 4
    assert len(block["results"]) == 4
    rows = {(r["lift"], r["rule"]): r for r in block["results"]}
    assert set(rows) == {(0.0, "obrien_fleming"), (0.0, "none"), (1.0, "obrien_fleming"), (1.0, "none")}
    for r in rows.values():
        assert r["sims"] == 3
        assert r["decisions"] == 3
        shares = (r["real_lift"], r["harm"], r["no_effect"], r["undecided"])
        assert all(0 <= x <= 1 for x in (*shares, r["stops_early"]))
        assert sum(shares) == pytest.approx(1)
        assert 1000 <= r["expected_n"] <= 4000
    big = rows[(1.0, "obrien_fleming")]
    assert big["real_lift"] == 1.0
    assert big["stops_early"] == 1.0
    assert big["mean_stop"] < 4
    assert big["expected_n"] < 4000
    assert rows[(0.0, "obrien_fleming")]["real_lift"] == 0.0
