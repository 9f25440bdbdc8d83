"""The hostile suite's harness: clean rows, a valid spec, a :class:`Case` and :func:`run_case`.

Every case builds a small experiment in a folder of its own, runs one ``channelab`` command and
asserts the exit code and the message. For every case, also: no traceback (the command ends
with its exit code, not an exception), no input file changed, and nothing written outside
``--out``. Fits use prior draws (``mocked_sampling``), so the whole suite runs in seconds.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from channelab.cli import app
from helpers import mocked_sampling

runner = CliRunner()


def rows(n: int = 120, seed: int = 1) -> pd.DataFrame:
    """Clean unit rows: two arms, a segment, and one metric of every type."""
    rng = np.random.default_rng(seed)
    spend = np.where(rng.random(n) < 0.3, np.round(rng.lognormal(3, 1, n), 2), 0.0)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "arm": np.where(np.arange(n) % 2 == 0, "control", "email"),
            "segment": np.where(rng.random(n) < 0.5, "smb", "enterprise"),
            "visits": rng.poisson(2, n),
            "bought": (rng.random(n) < 0.3).astype(int),
            "spend": spend,
            "score": np.round(rng.normal(50, 10, n), 3),
        }
    )


def spec(**changes) -> dict:
    """A valid experiment over :func:`rows` in ``rows.csv``; ``changes`` replace top-level keys."""
    base = {
        "name": "hostile",
        "unit": {"kind": "prospect", "id": "id"},
        "data": {"path": "rows.csv"},
        "arm_column": "arm",
        "control": "control",
        "arms": {"control": {"channel": "control"}, "email": {"channel": "email"}},
        "metrics": [
            {"name": "visits", "type": "count", "role": "engagement"},
            {"name": "bought", "type": "binary", "role": "outcome"},
            {"name": "spend", "type": "revenue", "role": "revenue"},
        ],
        "covariates": ["segment"],
        "seed": 3,
        "sampler": {"draws": 1000, "tune": 100, "chains": 4},  # prior draws: converged by construction
    }
    return base | changes


def csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def edited(**column_values) -> str:
    """:func:`rows` as CSV with some cells replaced: ``column=[(row, value), ...]``."""
    frame = rows().astype(object)
    for col, changes in column_values.items():
        for i, value in changes:
            frame.loc[i, col] = value
    return csv_text(frame)


def sqlite_like_db(path: Path) -> None:
    """A DuckDB database with the clean rows as table ``touches``."""
    con = duckdb.connect(str(path))
    con.register("frame", rows())
    con.execute("CREATE TABLE touches AS SELECT * FROM frame")
    con.close()


def parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


@dataclass
class Case:
    """One hostile input: files to write, the command, and what must come back."""

    files: dict[str, str | bytes | Callable[[Path], None]]
    argv: list[str]
    code: int
    match: str
    absent: str | None = None  # text that must not appear in the output
    not_created: tuple[str, ...] = ()
    fit: bool = False  # runs the model (with prior draws)
    setup: Callable[[Path], None] | None = field(default=None, repr=False)


def to_yaml(d: dict) -> str:
    return yaml.safe_dump(d, sort_keys=False, allow_unicode=True)


CLEAN = csv_text(rows())
VALIDATE = ["validate", "exp.yaml"]
AT_LEAST_ZERO = "greater than or equal to 0"
RUN = ["run", "exp.yaml", "--out", "out"]


def _snapshot(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _materialise(root: Path, files: dict[str, str | bytes | Callable[[Path], None]]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def run_case(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run one case in ``tmp_path`` and assert its contract; returns the command's output."""
    _materialise(tmp_path, case.files)
    before = _snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    if case.fit:
        with mocked_sampling():
            result = runner.invoke(app, case.argv)
    else:
        result = runner.invoke(app, case.argv)
    output = result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output
    assert result.exit_code == case.code, output
    assert re.search(case.match, " ".join(output.split())), output
    if case.absent:
        assert case.absent not in output
    after = _snapshot(tmp_path)
    changed = [f for f, digest in before.items() if after.get(f) != digest]
    assert changed == [], f"inputs changed: {changed}"
    outputs = {"out", "sim.csv", "sim.truth.json"}
    created = [f for f in after if f not in before and f.split(os.sep)[0] not in outputs]
    assert created == [], f"written outside --out: {created}"
    for absent in case.not_created:
        assert not (tmp_path / absent).exists()
    return output
