"""The registry of results: real DuckDB files, round trips, one transaction, hostile files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pytest

from channelab.engine.registry import (
    SCHEMA_VERSION,
    Added,
    Covariance,
    Record,
    open_registry,
    store,
)
from channelab.errors import DataError, OutputError


def record(arm: str = "B", metric: str = "meeting", *, spec_hash: str = "h1", **changes) -> Record:
    base = Record(
        spec_hash=spec_hash,
        data_fingerprint="f1",
        experiment="Q3 outreach",
        first_date=date(2026, 1, 5),
        last_date=date(2026, 3, 31),
        arm=arm,
        channel="email",
        metric=metric,
        role="outcome",
        metric_type="binary",
        control_mean=0.05,
        diff_mean=0.01,
        diff_sd=0.004,
        loglift_mean=0.18,
        loglift_sd=0.07,
        n_arm=1200,
        n_control=1180,
        verdict="inconclusive",
        created="2026-04-01T09:00:00+00:00",
    )
    return replace(base, **changes)


def test_round_trip_of_records_and_covariances(tmp_path: Path):
    path = tmp_path / "deep" / "folder" / "registry.duckdb"  # parent folders are created
    clicks = record(metric="click", role="engagement", diff_mean=0.08, diff_sd=0.01, first_date=None)
    meeting = record(
        loglift_mean=None, loglift_sd=None, channel="B", verdict="not judged", source="import:summary"
    )
    phone = record(arm="C", metric="meeting", channel="phone", n_arm=7, launched=True, last_date=None)
    cov = Covariance("h1", "f1", "B", "meeting", "click", cov_diff=1e-5, cov_loglift=None)  # stored sorted
    with open_registry(path, create=True) as reg:
        assert reg.is_empty
        assert reg.add([clicks, meeting, phone], [cov]) == Added(3, 0, 1, 0)
    with open_registry(path, create=False) as reg:
        assert not reg.writable
        assert len(reg) == 3
        assert sorted(reg.records(), key=lambda r: (r.arm, r.metric)) == [clicks, meeting, phone]
        assert reg.records(channel="phone") == [phone]
        assert reg.records(metric="click") == [clicks]
        assert reg.records(channel="phone", metric="click") == []
        assert reg.covariances() == [Covariance("h1", "f1", "B", "click", "meeting", 1e-5, None)]
        assert reg.covariances(channel="phone") == []
        assert reg.covariances(metric="click", channel="email") == reg.covariances()
        with pytest.raises(OutputError, match="read-only"):
            reg.add([record(arm="D")])


def test_a_batch_that_fails_validation_half_way_adds_nothing(tmp_path: Path):
    path = tmp_path / "r.duckdb"
    with open_registry(path, create=True) as reg:
        reg.add([record(arm="A")])
        batch = [record(arm=f"X{i}") for i in range(10)]
        batch[5] = record(arm="X5", n_control=0)
        with pytest.raises(DataError, match=r"record 6 \(.*'X5'.*n_control is 0.*Nothing was added"):
            reg.add(batch)
        with pytest.raises(DataError, match=r"covariance 1 .*no record of both metrics"):
            reg.add([record(arm="Z")], [Covariance("h1", "f1", "Z", "meeting", "click", 0.0, None)])
        with pytest.raises(DataError, match="correlation beyond"):
            reg.add(
                [record(arm="Z"), record(arm="Z", metric="click")],
                [Covariance("h1", "f1", "Z", "meeting", "click", 1.0, None)],
            )
        assert [r.arm for r in reg.records()] == ["A"]


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"diff_sd": -0.1}, r"diff_sd is -0\.1: a standard deviation cannot be negative"),
        ({"loglift_sd": -1.0}, "loglift_sd is -1.0: a standard deviation cannot be negative"),
        ({"diff_mean": float("nan")}, "diff_mean is nan; it must be finite"),
        ({"role": "vanity"}, "role is 'vanity'; it must be one of"),
        ({"verdict": "great"}, "verdict is 'great'"),
        ({"source": "guess"}, "source is 'guess'"),
        ({"loglift_sd": None}, "both be given or both be None"),
        ({"first_date": date(2026, 5, 1)}, "is after last_date"),
        ({"n_arm": 2.5}, "n_arm is 2.5"),
        ({"metric": " "}, "metric must be non-empty text"),
        ({"created": "yesterday"}, "created is 'yesterday'"),
    ],
)
def test_an_invalid_record_is_refused_naming_it(tmp_path: Path, changes: dict, said: str):
    path = tmp_path / "r.duckdb"
    with open_registry(path, create=True) as reg:
        with pytest.raises(DataError, match=said) as caught:
            reg.add([record(), record(arm="C", **changes)], origin="old/report.json")
        assert str(path) in str(caught.value)
        assert "old/report.json" in str(caught.value)
        assert "experiment 'Q3 outreach'" in str(caught.value)
        assert reg.is_empty


def test_duplicates_are_counted_once_and_reported(tmp_path: Path):
    path = tmp_path / "r.duckdb"
    cov = Covariance("h1", "f1", "B", "click", "meeting", 0.0, 0.0)
    pair = [record(), record(metric="click", role="engagement")]
    with open_registry(path, create=True) as reg:
        assert reg.add([*pair, record()], [cov, cov]) == Added(2, 1, 1, 1)  # twice in the batch
        rerun = [replace(r, diff_mean=0.02, created="2026-05-01T00:00:00+00:00") for r in pair]
        assert reg.add([*rerun, record(spec_hash="h2")], [cov]) == Added(1, 2, 0, 1)  # already there
        assert len(reg) == 3
        assert {r.diff_mean for r in reg.records(metric="meeting") if r.spec_hash == "h1"} == {0.01}


def test_mark_launched_updates_and_refuses_unknown(tmp_path: Path):
    path = tmp_path / "r.duckdb"
    with open_registry(path, create=True) as reg:
        reg.add([record(), record(metric="click", role="engagement"), record(arm="C")])
    with open_registry(path, create=False) as reg, pytest.raises(OutputError, match="read-only"):
        reg.mark_launched("h1", "B")
    with open_registry(path, create=False, write=True) as reg:
        assert reg.mark_launched("h1", "B") == 2
        with pytest.raises(DataError, match=r"no record of arm 'D'.*that test's arms are B, C"):
            reg.mark_launched("h1", "D")
        with pytest.raises(DataError, match="no test has that hash"):
            reg.mark_launched("nope", "B")
        assert {(r.arm, r.metric): r.launched for r in reg.records()} == {
            ("B", "click"): True,
            ("B", "meeting"): True,
            ("C", "meeting"): False,
        }


def test_write_never_creates_and_reading_never_writes(tmp_path: Path):
    missing = tmp_path / "none" / "r.duckdb"
    for write in (False, True):
        with pytest.raises(DataError, match="no registry here"):
            open_registry(missing, create=False, write=write)
    assert not missing.exists()
    folder = tmp_path / "folder.duckdb"
    folder.mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        open_registry(folder, create=True)
    with pytest.raises(DataError, match="is a folder"):
        open_registry(folder, create=False)
    data = tmp_path / "data.duckdb"
    _make(data, ["CREATE TABLE rows (arm VARCHAR)"])
    with pytest.raises(OutputError, match="overwrite an input"):
        open_registry(data, create=True, inputs=[data])


def test_the_bounds_refuse_a_batch_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with open_registry(tmp_path / "r.duckdb", create=True) as reg:
        monkeypatch.setattr(store, "MAX_REGISTRY_ADD", 3)
        with pytest.raises(DataError, match="more than 3 records in one addition"):
            reg.add(record(arm=f"A{i}") for i in range(5))
        monkeypatch.setattr(store, "MAX_REGISTRY_RECORDS", 2)
        reg.add([record(arm="A")])
        with pytest.raises(OutputError, match="would hold 3 records, more than 2; nothing was added"):
            reg.add([record(arm="B"), record(arm="C")])
        assert len(reg) == 1


def test_a_registry_open_for_writing_is_in_use(tmp_path: Path):
    path = tmp_path / "r.duckdb"
    with open_registry(path, create=True), pytest.raises(DataError, match="registry is in use"):
        open_registry(path, create=False)


def _make(path: Path, sql: list[str]) -> None:
    con = duckdb.connect(str(path))
    for statement in sql:
        con.execute(statement)
    con.close()


def test_not_a_registry_is_refused_and_left_unchanged(tmp_path: Path):
    csv = tmp_path / "results.csv"
    csv.write_text("arm,metric\nB,meeting\n")
    empty = tmp_path / "empty.duckdb"
    empty.touch()
    other = tmp_path / "other.duckdb"
    _make(other, ["CREATE TABLE rows (arm VARCHAR)"])
    for path in (csv, empty, other):
        before = path.read_bytes()
        for create in (False, True):
            with pytest.raises(DataError, match="not a channelab registry") as caught:
                open_registry(path, create=create)
            assert str(path) in str(caught.value)
        assert path.read_bytes() == before
    blank = tmp_path / "blank.duckdb"
    _make(blank, [])
    with pytest.raises(DataError, match=r"not a channelab registry \(an empty DuckDB database"):
        open_registry(blank, create=False)
    with open_registry(blank, create=True) as reg:  # an empty database (a killed creation) is started
        assert reg.is_empty


def test_another_version_or_other_columns_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "r.duckdb"
    open_registry(path, create=True).close()
    _make(path, [f"UPDATE channelab_registry SET version = {SCHEMA_VERSION + 1}"])
    with pytest.raises(DataError, match=f"schema version {SCHEMA_VERSION + 1}.*upgrade channelab"):
        open_registry(path, create=True)
    _make(path, [f"UPDATE channelab_registry SET version = {SCHEMA_VERSION}", "DROP TABLE covariances"])
    with pytest.raises(DataError, match="covariances table is missing"):
        open_registry(path, create=False)


def test_a_stored_record_changed_outside_channelab_is_refused_on_reading(tmp_path: Path):
    path = tmp_path / "r.duckdb"
    with open_registry(path, create=True) as reg:
        reg.add([record()])
    _make(path, ["UPDATE records SET diff_sd = -1"])
    with (
        open_registry(path, create=False) as reg,
        pytest.raises(DataError, match=r"stored record .*'meeting'.*diff_sd is -1\.0"),
    ):
        reg.records()


_WRITER = """
import sys, time
from channelab.engine.registry import store
from channelab.engine.registry.records import Record
from datetime import date

def stall(self):
    print("inserted", len(self), flush=True)  # the rows are in, uncommitted
    time.sleep(60)

store.Registry._commit = stall
rows = [
    Record("h", "f", "e", date(2026, 1, 1), None, f"arm{i}", "email", "m", "outcome", "binary",
           0.1, 0.01, 0.01, None, None, 10, 10, "inconclusive")
    for i in range(10_000)
]
with store.open_registry(sys.argv[1], create=True) as reg:
    reg.add(rows)
"""


def test_a_killed_writer_adds_nothing(tmp_path: Path):
    path = tmp_path / "r.duckdb"
    with open_registry(path, create=True) as reg:
        reg.add([record()])
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().split() == ["inserted", "10001"]
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
    with open_registry(path, create=False) as reg:
        assert [r.arm for r in reg.records()] == ["B"]


def test_an_arm_is_marked_by_a_prefix_of_its_tests_hash_that_names_one_test(tmp_path):
    from channelab.simulate.programme import SOCIAL_PROGRAMME, simulate_programme

    programme = simulate_programme(SOCIAL_PROGRAMME, seed=1)
    with open_registry(tmp_path / "r.duckdb", create=True) as store:
        store.add(programme.records, programme.covariances)
        first = programme.records[0]
        assert store.mark_launched(first.spec_hash[:12], first.arm) == 2  # its two metrics
        with pytest.raises(DataError, match="starts more than one test"):
            store.mark_launched("", first.arm)  # every hash starts with nothing
