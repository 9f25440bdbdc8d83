"""channelab monitor: looks from the first entry to the as-of date, the stopping rule, the outputs."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from channelab.analysis.monitor import MIN_COUNTED
from channelab.app import monitor_experiment
from channelab.cli import app
from channelab.errors import SpecError
from channelab.limits import MAX_LOOKS
from channelab.pipeline.monitor import look_dates, monitor
from channelab.pipeline.options import with_options
from channelab.simulate import Arrival, simulate_outreach, snapshot
from channelab.spec import load_spec

runner = CliRunner()
WINDOW = 28


def write_test(tmp_path, *, n: int = 6000, weeks: int = 6, seed: int = 11, **extra) -> tuple:
    """A simulated pilot with entry dates and delayed meetings, and its monitoring spec."""
    rows, truth = simulate_outreach("slacktivism", n_prospects=n, seed=seed, arrival=Arrival(weeks=weeks))
    rows.to_csv(tmp_path / "pilot.csv", index=False)
    spec = {
        "name": "pilot_monitor",
        "unit": {"kind": "prospect", "id": "prospect_id", "entered_at": "entered_at"},
        "data": {"path": "pilot.csv"},
        "arm_column": "arm",
        "control": "Control",
        "arms": {
            "Control": {"channel": "control"},
            "Phone": {"channel": "phone"},
            "Social": {"channel": "social"},
        },
        "metrics": [
            {"name": "likes_comments", "role": "engagement", "type": "count"},
            {
                "name": "meetings",
                "role": "outcome",
                "type": "count",
                "at": "meetings_at",
                "window_days": WINDOW,
            },
        ],
        "seed": 5,
        "sampler": {"draws": 500, "tune": 500},
        "plan": {"n": n, "units_per_week": n // weeks},
        **extra,
    }
    rows = rows[rows["arm"].isin(spec["arms"])].reset_index(drop=True)
    rows.to_csv(tmp_path / "pilot.csv", index=False)
    path = tmp_path / "pilot_monitor.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path, rows, truth


def test_looks_see_the_test_as_it_stood_and_decisions_stand(tmp_path, mock_sampling):
    path, rows, _ = write_test(tmp_path)
    m = monitor(load_spec(path))
    entered = pd.to_datetime(rows["entered_at"])
    assert m.planned == 6 + WINDOW // 7
    assert [look.date for look in m.looks] == look_dates(entered.min().date(), m.spec)
    for look in m.looks:
        stood = rows[entered <= pd.Timestamp(look.date)]
        mature = stood[(pd.Timestamp(look.date) - pd.to_datetime(stood["entered_at"])).dt.days >= WINDOW]
        assert look.entered == stood.groupby("arm").size().reindex(m.spec.arm_order, fill_value=0).to_dict()
        assert (
            look.counted["meetings"]
            == mature.groupby("arm").size().reindex(m.spec.arm_order, fill_value=0).to_dict()
        )
        assert (look.effects is None) == (min(look.counted["meetings"].values()) < MIN_COUNTED)
    assert m.looks[0].effects is None  # no window has closed yet
    assert "too early" in m.looks[0].note
    for arm, d in m.decisions.items():  # once decided, an arm stays decided with that verdict
        assert all(look.decided.get(arm) == d.verdict for look in m.looks if look.index >= d.look)
        assert all(arm not in look.decided for look in m.looks if look.index < d.look)
    assert m.headline.startswith("Stop:" if m.stop else "Keep going:")
    assert "carry no dates" in m.notes[0]


def test_monitor_writes_a_report_and_json_that_say_whether_to_stop(tmp_path, mock_sampling):
    path, _, _ = write_test(tmp_path)
    done = monitor_experiment(path, out_dir=tmp_path / "out")
    js = json.loads(done.json.read_text())
    assert done.pdf.read_bytes().startswith(b"%PDF")
    assert js["stop"] == done.monitor.stop
    assert js["reason"] == done.monitor.reason
    assert js["rule"]["spending"] == "obrien_fleming"
    assert js["rule"]["planned_looks"] == done.monitor.planned
    assert len(js["looks"]) == len(done.monitor.looks)
    read = [look for look in js["looks"] if look["read"]]
    assert read
    assert all(len(look["lifts"]) == 2 * 2 for look in read)  # two treatments, two metrics
    assert set(js["decisions"]) == {"Phone", "Social"}


def test_monitoring_refuses_outcomes_without_dates_and_specs_without_entry(tmp_path):
    path, _, _ = write_test(tmp_path)
    raw = yaml.safe_load(path.read_text())
    raw["metrics"][1].pop("at")
    raw["metrics"][1].pop("window_days")
    path.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["monitor", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "'meetings'" in result.output
    assert "window_days" in result.output
    raw["unit"].pop("entered_at")
    path.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["monitor", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "unit.entered_at" in result.output


def test_an_as_of_date_before_the_data_ends_is_an_error_naming_rows(tmp_path):
    path, _, _ = write_test(tmp_path)
    result = runner.invoke(app, ["run", str(path), "--as-of", "2026-01-20", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "after the analysis date 2026-01-20" in result.output
    assert "row " in result.output


@pytest.mark.slow
def test_a_real_lift_is_decided_and_a_snapshot_mid_test_says_keep_going(tmp_path):
    """In person's +30 % meetings are decided a real lift; read early, the test is told to keep going."""
    path, _, truth = write_test(tmp_path, n=36_000, weeks=8, seed=3)
    raw = yaml.safe_load(path.read_text())
    raw["arms"] = {
        "Control": {"channel": "control"},
        "In person": {"channel": "in_person"},
        "E-mail": {"channel": "email"},
    }
    full, _ = simulate_outreach("slacktivism", n_prospects=36_000, seed=3, arrival=Arrival(weeks=8))
    full = full[full["arm"].isin(raw["arms"])].reset_index(drop=True)
    full.to_csv(tmp_path / "pilot.csv", index=False)
    path.write_text(yaml.safe_dump(raw))
    m = monitor(with_options(load_spec(path), as_of=date(2026, 1, 5) + timedelta(weeks=12)))  # windows closed
    assert m.looks[-1].index == m.planned
    assert truth.lifts["In person"]["meetings"] == pytest.approx(0.30, abs=0.02)
    assert m.decisions["In person"].verdict == "real lift"
    assert m.decisions.get("E-mail") is None or m.decisions["E-mail"].verdict != "real lift"  # truth: 0
    # the export as it stood five weeks in: later entrants absent, later meetings not booked yet
    snapshot(full, date(2026, 1, 5) + timedelta(days=35)).to_csv(tmp_path / "pilot.csv", index=False)
    early = monitor(load_spec(path))
    assert not early.stop
    assert early.headline.startswith("Keep going:")
    again = monitor(load_spec(path))
    assert [look.readings for look in again.looks] == [look.readings for look in early.looks]  # reproducible


def test_a_snapshot_is_the_export_as_it_stood_on_its_date():
    rows, _ = simulate_outreach("slacktivism", n_prospects=3000, seed=2, arrival=Arrival(weeks=6))
    cut = date(2026, 1, 5) + timedelta(days=20)
    snap = snapshot(rows, cut)
    entered, booked = (
        pd.to_datetime(rows["entered_at"]),
        pd.to_datetime(rows["meetings_at"].replace("", None)),
    )
    assert len(snap) == (entered <= pd.Timestamp(cut)).sum()
    assert pd.to_datetime(snap["entered_at"]).max() <= pd.Timestamp(cut)
    assert pd.to_datetime(snap["meetings_at"].replace("", None)).max() <= pd.Timestamp(cut)
    assert (snap.loc[snap["meetings_at"] == "", "meetings"] == 0).all()
    kept = rows[(entered <= pd.Timestamp(cut)) & (booked <= pd.Timestamp(cut))]
    assert snap["meetings"].sum() == kept["meetings"].sum()


def test_a_run_says_as_of_when_and_how_many_units_are_still_maturing(tmp_path, mock_sampling):
    from channelab.app import run_experiment

    path, rows, _ = write_test(tmp_path)
    report = run_experiment(path, out_dir=tmp_path / "out")
    time = json.loads(report.json.read_text())["time"]
    as_of = pd.Timestamp(time["as_of"])
    young = rows[(as_of - pd.to_datetime(rows["entered_at"])).dt.days < WINDOW]
    assert time["windows_days"] == {"meetings": WINDOW}
    assert (
        time["maturing"]["meetings"]
        == young.groupby("arm").size().reindex(["Control", "Phone", "Social"]).to_dict()
    )
    assert sum(time["maturing"]["meetings"].values()) > 0
    effect = next(e for e in report.analysis.effects.effects if e.metric == "meetings" and e.arm == "Phone")
    assert effect.n_arm == (rows["arm"] == "Phone").sum() - time["maturing"]["meetings"]["Phone"]


def test_every_must_be_week_day_or_a_number_of_days(tmp_path):
    path, _, _ = write_test(tmp_path)
    result = runner.invoke(
        app, ["monitor", str(path), "--every", "fortnight", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    assert "--every: got 'fortnight'" in result.output


def test_monitoring_needs_the_planned_number_of_looks(tmp_path):
    path, _, _ = write_test(tmp_path)
    raw = yaml.safe_load(path.read_text())
    raw.pop("plan")
    path.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["monitor", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "monitor.looks: say how many looks are planned" in result.output


def _every(spec, every: int, as_of: date):
    return spec.model_copy(
        update={"as_of": as_of, "monitor": spec.monitor.model_copy(update={"every": every})}
    )


def test_look_dates_step_from_the_first_entry_and_end_at_the_as_of_date(tmp_path):
    spec = load_spec(write_test(tmp_path, n=600)[0])
    first = date(2024, 1, 1)
    for every in (1, 3, 7, 30):
        for days in (0, 1, 6, 7, 8, 59, 60, 61):
            at = _every(spec, every, first + timedelta(days=days))
            expected, d = [], first + timedelta(days=every)
            while d <= at.as_of:  # the schedule, one step at a time
                expected.append(d)
                d += timedelta(days=every)
            if not expected or expected[-1] < at.as_of:
                expected.append(at.as_of)
            assert look_dates(first, at) == expected


def test_looks_are_counted_and_refused_before_any_is_made(tmp_path):
    spec = load_spec(write_test(tmp_path, n=600)[0])
    first = date(2023, 1, 1)
    assert len(look_dates(first, _every(spec, 1, first + timedelta(days=MAX_LOOKS)))) == MAX_LOOKS
    with pytest.raises(SpecError, match=rf"makes {MAX_LOOKS + 1} looks, but at most {MAX_LOOKS}.*--every 2"):
        look_dates(first, _every(spec, 1, first + timedelta(days=MAX_LOOKS + 1)))
    with pytest.raises(SpecError, match="makes 8,084 looks"):  # no overflow, no list of dates first
        look_dates(date(1900, 1, 1), _every(spec, 366, date(9999, 12, 31)))
    last = date(9999, 12, 31)  # a step past the last date there is: one look, the as-of date
    assert look_dates(date(9999, 1, 1), _every(spec, 366, last)) == [last]
