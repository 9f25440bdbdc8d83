"""Faults while a run works: killed writers, a second run, Ctrl-C, a file replaced under us."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from harness import CLEAN, spec, to_yaml
from typer.testing import CliRunner

from channelab import pipeline
from channelab.cli import app
from channelab.errors import DataError, OutputError
from channelab.files import JOURNAL_NAME, TMP_SUFFIX, _locked, commit
from channelab.pipeline import read as pipeline_read
from channelab.pipeline import run as pipeline_run

runner = CliRunner()

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from channelab.files import commit

    out = Path(sys.argv[1])
    for run in range(10_000):
        body = (f"run {run}\\n" * 20_000).encode()  # about 200 kB a file
        commit({out / "r.json": body, out / "r.pdf": body})
    """
)


def _pair_state(out: Path) -> tuple[bytes, bytes]:
    return (out / "r.json").read_bytes(), (out / "r.pdf").read_bytes()


@pytest.mark.slow  # 25 processes started and killed: about 20 s
def test_a_writer_killed_at_any_moment_leaves_one_complete_pair(tmp_path: Path):
    """SIGKILL a process that commits pairs in a loop, 25 times at random moments."""
    rng = np.random.default_rng(7)
    commit({tmp_path / "r.json": b"run start\n", tmp_path / "r.pdf": b"run start\n"})
    for _ in range(25):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)])
        time.sleep(float(rng.uniform(0.3, 1.2)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if not (tmp_path / JOURNAL_NAME).exists():
            js, pdf = _pair_state(tmp_path)
            assert js == pdf, "a mixed pair without a journal to complete it"
        commit({tmp_path / "other.txt": b"x"})  # the next run into the folder recovers
        js, pdf = _pair_state(tmp_path)
        assert js == pdf
        assert not list(tmp_path.glob(f".*{TMP_SUFFIX}")), "stale temporary files left"
        assert not (tmp_path / JOURNAL_NAME).exists()


def test_a_cut_off_commit_is_completed_by_the_next(tmp_path: Path):
    (tmp_path / "r.json").write_bytes(b"new")
    (tmp_path / "r.pdf").write_bytes(b"old")
    temp = tmp_path / f".r.pdf.123{TMP_SUFFIX}"
    temp.write_bytes(b"new")
    (tmp_path / JOURNAL_NAME).write_text(json.dumps([[str(temp), str(tmp_path / "r.pdf")]]))
    (tmp_path / f".stale.json.9{TMP_SUFFIX}").write_bytes(b"half")
    commit({tmp_path / "x.txt": b"x"})
    assert _pair_state(tmp_path) == (b"new", b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.pdf", "x.txt"]


def test_a_commit_killed_between_renames_is_completed_from_another_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The journal names files inside the output folder, so the next run completes it from anywhere."""
    import os

    from channelab import files

    out = tmp_path / "out"
    commit({out / "r.json": b"old", out / "r.pdf": b"old"})
    real, done = os.replace, []

    def killed_after_one(src, dst):
        if done:
            raise KeyboardInterrupt  # stands for SIGKILL: nothing after it runs
        done.append(dst)
        real(src, dst)

    with monkeypatch.context() as m:
        m.chdir(tmp_path)
        m.setattr(files.os, "replace", killed_after_one)
        m.setattr(files, "_remove", lambda temps: None)  # a killed process cleans nothing up
        with pytest.raises(KeyboardInterrupt):
            commit({Path("out/r.json"): b"new", Path("out/r.pdf"): b"new"})
    assert (out / JOURNAL_NAME).exists()
    assert _pair_state(out) in {(b"new", b"old"), (b"old", b"new")}  # the mixed pair the journal repairs
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    commit({out / "x.txt": b"x"})
    assert _pair_state(out) == (b"new", b"new")
    assert sorted(p.name for p in out.iterdir()) == ["r.json", "r.pdf", "x.txt"]


def test_a_second_run_into_the_same_folder_is_refused_while_the_first_writes(tmp_path: Path):
    with _locked(tmp_path), pytest.raises(OutputError, match="another channelab run is writing"):
        commit({tmp_path / "r.json": b"x"})
    assert not (tmp_path / "r.json").exists()


def _experiment(tmp_path: Path) -> Path:
    (tmp_path / "rows.csv").write_text(CLEAN)
    path = tmp_path / "exp.yaml"
    path.write_text(to_yaml(spec()))
    return path


def test_ctrl_c_during_sampling_exits_130_and_keeps_earlier_outputs(tmp_path: Path, monkeypatch):
    path = _experiment(tmp_path)
    out = tmp_path / "out"
    commit({out / "hostile.json": b'{"seed": 3}\n', out / "hostile.pdf": b"%PDF earlier run"})
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline_run, "sample", interrupted)
    result = runner.invoke(app, ["run", str(path), "--out", str(out), "--seed", "9"])
    assert result.exit_code == 130
    assert "interrupted" in result.output
    assert "Traceback" not in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_truncated_trace_counts_as_an_interruption(tmp_path: Path, monkeypatch):
    """nutpie catches Ctrl-C and returns the draws so far; that is not a finished fit."""
    import pymc as pm
    from pymc.testing import mock_sample

    from channelab.analysis import model as model_module
    from channelab.analysis.model import build_model, sample
    from channelab.app import validate_experiment

    checked = validate_experiment(_experiment(tmp_path))
    built = build_model(checked.cells, checked.spec)
    short = checked.spec.sampler.draws // 2

    def truncated(built, cfg, *, seed, progressbar=False):
        with built.model:
            return mock_sample(draws=short, chains=cfg.chains, random_seed=seed)

    monkeypatch.setattr(pm, "sample", lambda **kw: mock_sample(**{**kw, "draws": short}))
    monkeypatch.setattr(model_module, "sample_nutpie", truncated)
    with pytest.raises(KeyboardInterrupt):
        sample(built, checked.spec, seed=checked.spec.seed)


def test_data_replaced_while_it_is_read_is_refused(tmp_path: Path, monkeypatch):
    """What is checked is what is analysed is what is fingerprinted."""
    from channelab.engine import aggregate

    path = _experiment(tmp_path)
    real = aggregate.build_cells

    def swap_then_build(source, spec, **kw):
        (tmp_path / "rows.csv").write_text(CLEAN.replace("\n1,control,", "\n1,email,", 1))
        return real(source, spec, **kw)

    monkeypatch.setattr(pipeline_read, "build_cells", swap_then_build)
    with pytest.raises(DataError, match="changed while channelab was reading it"):
        pipeline.validate(__import__("channelab").load_spec(path))


def test_spark_engine_without_pyspark_says_how_to_install_it(tmp_path: Path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    (tmp_path / "rows.csv").write_text(CLEAN)
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(spec(engine="spark")))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "pip install 'channelab[spark]'" in " ".join(result.output.split())
