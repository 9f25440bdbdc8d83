"""The simulated programme as files: the same seed gives the same bytes, and the truth is the simulation's."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from channelab.cli import app
from channelab.engine.registry import records_from_summaries
from channelab.simulate.programme_files import write_programme

DATA = Path(__file__).resolve().parents[2] / "data"


def test_the_committed_programme_is_what_the_documented_command_writes(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["simulate", "programme", "--out", str(tmp_path / "p.csv"), "--seed", "2014"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.csv").read_bytes() == (DATA / "outreach_programme.csv").read_bytes()
    truth = json.loads((tmp_path / "p.truth.json").read_text())
    committed = json.loads((DATA / "outreach_programme.truth.json").read_text())
    assert truth["channels"] == committed["channels"]


def test_the_table_imports_to_the_simulated_tests_with_their_truth(tmp_path: Path) -> None:
    written = write_programme(tmp_path / "p.csv", seed=5)
    imported = records_from_summaries(written.data)
    assert len(imported.records) == len(written.programme.records)
    assert len(imported.covariances) == len(written.programme.covariances)
    truth = json.loads(written.truth_path.read_text())
    assert len(truth["tests"]) == len(written.programme.records)
    assert {c["channel"] for c in truth["channels"]} == {"social", "email"}
