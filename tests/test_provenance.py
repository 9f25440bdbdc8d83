"""One provenance record, stamped the same way on every JSON and PDF channelab writes."""

from __future__ import annotations

import json

import pytest
import yaml
from pypdf import PdfReader

from channelab.app import design_experiment, plan_replication
from channelab.provenance import stamp
from channelab.spec import load_spec
from helpers import EXPERIMENTS


def _copy(tmp_path, name: str, **changes) -> str:
    raw = yaml.safe_load((EXPERIMENTS / f"{name}.yaml").read_text())
    for key, value in changes.items():
        raw.setdefault(key, {}).update(value)
    raw["data"]["path"] = str((EXPERIMENTS / raw["data"]["path"]).resolve())
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def test_every_output_carries_the_same_record(tmp_path, hillstrom_mock_run):
    analysis_doc = json.loads(hillstrom_mock_run.json.read_text())
    designed = design_experiment(_copy(tmp_path, "social_selling_pilot"), out_dir=tmp_path, sims=0, seed=5)
    planned = plan_replication(
        _copy(tmp_path, "ubc_slacktivism_study1", replication={"assurance_sims": 100}),
        out_dir=tmp_path,
        seed=6,
    )
    docs = [analysis_doc, *(json.loads(p.json.read_text()) for p in (designed, planned))]
    keys = [set(d["provenance"]) for d in docs]
    assert keys[0] == keys[1] == keys[2]
    assert [d["provenance"]["seed"] for d in docs] == [2008, 5, 6]
    for planned_output in (designed, planned):
        text = " ".join(page.extract_text() for page in PdfReader(planned_output.pdf).pages)
        assert planned_output.result.provenance.spec_sha256 in " ".join(text.split())


def test_stamp_hashes_the_spec_file_and_honours_source_date_epoch(monkeypatch):
    import hashlib

    path = EXPERIMENTS / "hillstrom_email.yaml"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    record = stamp(load_spec(path), seed=3, sampler="nutpie", data={"rows": 1})
    assert record.spec_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record.created == "1970-01-01T00:00:00+00:00"
    assert record.as_dict()["data"] == {"rows": 1}
    assert stamp(seed=1, timed=False).created is None


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_one_json_writer_writes_non_finite_numbers_as_null(value):
    from channelab.files import json_bytes

    assert json.loads(json_bytes({"x": value, "y": [value]})) == {"x": None, "y": [None]}
    assert json_bytes({}).endswith(b"\n")


def test_paths_are_named_relative_to_the_spec_wherever_the_run_is_made(tmp_path, monkeypatch):
    spec = load_spec(EXPERIMENTS / "hillstrom_email.yaml")
    data = {"path": str((EXPERIMENTS / "../data/hillstrom.csv").resolve()), "rows": 1}
    records = []
    for cwd in (EXPERIMENTS.parent, tmp_path):
        monkeypatch.chdir(cwd)
        records.append(stamp(spec, seed=1, data=data).as_dict())
    assert records[0] == records[1] | {"created": records[0]["created"]}
    assert records[0]["spec_path"] == "hillstrom_email.yaml"
    assert records[0]["data"]["path"] == "../data/hillstrom.csv"


def test_no_committed_report_names_a_folder_of_the_machine_that_made_it():
    import os
    from pathlib import Path

    root = EXPERIMENTS.parent
    reports = sorted((root / "reports").glob("*.*"))
    assert reports, "the committed example reports are missing"
    machine = {str(root.resolve()), str(Path.home()), "/tmp/", os.environ.get("USER", "/nonexistent")}
    for report in reports:
        if report.suffix == ".pdf":
            text = " ".join(page.extract_text() for page in PdfReader(report).pages)
        else:
            text = report.read_text(encoding="utf-8")
        leaks = [m for m in machine if m and m.startswith("/") and m in text]
        assert not leaks, f"{report.name} names {leaks}"
