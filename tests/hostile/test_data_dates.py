"""Dates inside the data at the edges (issue 32, item 11): what the engines read as a timestamp
but no outreach test has (``epoch``, ``infinity``, years 1900, 9999 and 294247) is not a date.

The experiment file's own dates are bounded by the schema (``test_bounds.py``); these are the
data's, which also set the analysis date when the spec gives none.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from harness import VALIDATE, Case, csv_text, rows, run_case, spec, to_yaml


def _dated(value: str) -> dict[str, str]:
    frame = rows()
    frame["entered_at"] = np.where(np.arange(len(frame)) % 3 == 0, "2026-01-05", "2026-01-12")
    frame.loc[7, "entered_at"] = value
    experiment = spec(unit={"kind": "prospect", "id": "id", "entered_at": "entered_at"})
    return {"exp.yaml": to_yaml(experiment), "rows.csv": csv_text(frame)}


@pytest.mark.parametrize("value", ["epoch", "infinity", "1900-01-01", "9999-12-31", "294247-01-01"])
def test_a_date_no_test_has_is_refused_naming_the_row(value: str, tmp_path: Path, monkeypatch):
    match = r"'entered_at' \(unit\.entered_at\) is not a date between 1970-01-01 and 2100-12-31.*row 8"
    run_case(Case(_dated(value), VALIDATE, 2, match), tmp_path, monkeypatch)


def test_dates_inside_the_range_are_read(tmp_path: Path, monkeypatch):
    run_case(Case(_dated("2026-01-09 14:05"), VALIDATE, 0, r"as of 2026-01-12"), tmp_path, monkeypatch)
