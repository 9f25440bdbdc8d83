"""The suite's README lists every case of every ``CASES`` table, by family."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

README = (Path(__file__).parent / "README.md").read_text(encoding="utf-8")
TABLES = [
    "test_hostile",
    "test_outputs",
    "test_reading",
    "test_aggregates",
    "test_bounds",
    "test_work",
    "test_learning_inputs",
    "test_survival_inputs",
    "test_ratio_inputs",
    "test_quantile_inputs",
]


@pytest.mark.parametrize("module", TABLES)
def test_the_readme_names_every_case(module: str):
    cases = importlib.import_module(module).CASES
    assert [name for name in cases if f"`{name}`" not in README] == []
    assert f"`{module}.py`" in README


def test_every_file_of_the_suite_is_in_the_readme():
    files = sorted(p.name for p in Path(__file__).parent.glob("test_*.py") if p.name != "test_readme.py")
    assert [f for f in files if f"`{f}`" not in README] == []
