"""The command line: exit codes 0 / 1 / 2 / 3 / 4, one-paragraph errors, outputs written."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from channelab.cli import app
from channelab.errors import ModelError
from channelab.simulate.ab import SimMetric, simulate_ab
from helpers import EXPERIMENTS, spec_dict

runner = CliRunner()


def _write_sim(tmp_path, **overrides):
    rows, _ = simulate_ab(n_per_arm=500, metrics={"y": SimMetric("binary", 0.2, {"treatment": 0.5})}, seed=5)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    path = tmp_path / "sim.yaml"
    metrics = [{"name": "y", "type": "binary", "role": "outcome"}]
    path.write_text(yaml.safe_dump(spec_dict("rows.csv", metrics, **overrides)))
    return path


def test_version_prints_the_installed_version_and_exits_0():
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"channelab {version('channelab')}"


def test_validate_the_flagship_exits_0():
    result = runner.invoke(app, ["validate", str(EXPERIMENTS / "hillstrom_email.yaml")])
    assert result.exit_code == 0, result.output
    assert "64,000 rows" in result.output
    assert "54 cells" in result.output


def test_bad_spec_exits_2_with_one_paragraph_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmetircs: []\n")
    result = runner.invoke(app, ["run", str(bad), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "did you mean 'metrics'" in result.output
    assert "Traceback" not in result.output


def test_bad_data_exits_2(tmp_path):
    path = _write_sim(tmp_path, control="Control")  # wrong case: not an arm label
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "did you mean 'control'" in result.output


@pytest.mark.parametrize("command", ["validate", "run"])
def test_an_arm_with_too_few_units_exits_2_before_sampling(tmp_path, monkeypatch, command):
    from channelab.pipeline import run

    def never(*_args, **_kwargs):
        raise AssertionError("sampled")

    monkeypatch.setattr(run, "sample", never)
    rows, _ = simulate_ab(n_per_arm=[500, 1], metrics={"y": SimMetric("binary", 0.2)}, seed=5)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    path = tmp_path / "sim.yaml"
    metrics = [{"name": "y", "type": "binary", "role": "outcome"}]
    path.write_text(yaml.safe_dump(spec_dict("rows.csv", metrics)))
    out = ["--out", str(tmp_path / "out")] if command == "run" else []
    result = runner.invoke(app, [command, str(path), *out])
    assert result.exit_code == 2, result.output
    assert (
        f"{tmp_path / 'rows.csv'}: the data fail 1 check(s): - arm 'treatment' (column 'arm') has too few "
        "units counted for metric(s) 'y' (1; 2 needed). Add units to the arm, or remove it from the spec"
    ) in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not list(tmp_path.glob("out/*"))


@pytest.mark.usefixtures("mock_sampling")
def test_run_writes_pdf_and_json_and_seed_overrides(tmp_path):
    path = _write_sim(tmp_path)
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "out"), "--seed", "99"])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "out" / "sim.json").read_text())
    assert (tmp_path / "out" / "sim.pdf").stat().st_size > 10_000
    page = (tmp_path / "out" / "sim.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page
    assert "sim.html" in "".join(result.output.split())  # the CLI prints the HTML path too
    assert doc["provenance"]["seed"] == 99
    assert doc["arms"][0]["arm"] == "treatment"
    assert not list((tmp_path / "out").glob("*.tmp"))  # atomic writes leave no temporary files


@pytest.mark.slow
def test_not_converged_exits_3_and_still_writes_a_marked_report(tmp_path):
    path = _write_sim(tmp_path, sampler={"draws": 100, "tune": 100, "chains": 2, "backend": "pymc"})
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path)])
    assert result.exit_code == 3, result.output
    doc = json.loads((tmp_path / "sim.json").read_text())
    assert doc["checks"]["converged"] is False
    assert doc["checks"]["problems"]
    assert (tmp_path / "sim.pdf").exists()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["pymc", "nutpie"])
def test_same_inputs_give_the_same_numbers(tmp_path, backend):
    from channelab.pipeline import analyse
    from channelab.spec.loader import load_spec

    path = _write_sim(tmp_path, sampler={"draws": 300, "tune": 300, "chains": 2, "backend": backend})
    first, second = analyse(load_spec(path)), analyse(load_spec(path))
    a, b = (
        first.effects.lift_draws[("treatment", "y")],
        second.effects.lift_draws[("treatment", "y")],
    )
    np.testing.assert_array_equal(a, b)
    other = analyse(load_spec(path), seed=123).effects.lift_draws[("treatment", "y")]
    assert not np.array_equal(a, other)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ModelError("sampling failed: all NaN. Check the data for degenerate cells."), 4),
        (RuntimeError("a bug"), 1),
    ],
    ids=["model-error-4", "crash-1"],
)
def test_a_failed_fit_writes_nothing_and_exits_with_its_code(tmp_path, monkeypatch, error, code):
    from channelab.pipeline import run

    def fail(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(run, "sample", fail)
    result = runner.invoke(app, ["run", str(_write_sim(tmp_path)), "--out", str(tmp_path / "out")])
    assert result.exit_code == code
    if code == 1:  # a crash is a bug: its exception is not turned into an input error
        assert isinstance(result.exception, RuntimeError)
    else:
        assert "sampling failed" in result.output
    assert not any((tmp_path / "out").iterdir())  # nothing is written when the fit fails


def test_options_are_put_into_the_spec_once_and_validated_again():
    from datetime import date

    from channelab.errors import SpecError
    from channelab.pipeline import with_options
    from channelab.spec import load_spec

    spec = load_spec(EXPERIMENTS / "social_selling_monitor.yaml")
    assert with_options(spec) is spec
    assert with_options(spec, seed=spec.seed, engine=spec.engine, as_of=spec.as_of) is spec
    changed = with_options(spec, seed=7, as_of=date(2026, 5, 1), every=10)
    assert (changed.seed, changed.as_of, changed.monitor.every) == (7, date(2026, 5, 1), 10)
    assert changed == spec.model_copy(
        update={"seed": 7, "as_of": date(2026, 5, 1), "monitor": changed.monitor}
    )
    assert changed.source_path == spec.source_path
    untimed = load_spec(EXPERIMENTS / "ubc_slacktivism_study1.yaml")
    with pytest.raises(SpecError, match=r"as_of: an analysis date needs unit\.entered_at"):
        with_options(untimed, as_of=date(2026, 1, 1))
