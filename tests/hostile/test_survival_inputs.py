"""Hostile inputs of a time-to-event metric (issue 34): bad dates, bad intervals, a window the
data cannot reach. Each is refused with exit 2 and a message naming the row or key, nothing
written outside ``out/`` and no input changed (:func:`harness.run_case`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from harness import RUN, VALIDATE, Case, csv_text, rows, run_case, spec, to_yaml

START = pd.Timestamp("2026-01-05")


def _rows(days_entered: int = 60) -> pd.DataFrame:
    """The clean rows with entry dates over ``days_entered`` days and a meeting date where bought."""
    frame = rows()
    rng = np.random.default_rng(4)
    entered = START + pd.to_timedelta(rng.integers(0, days_entered, len(frame)), unit="D")
    booked = entered + pd.to_timedelta(rng.integers(0, 20, len(frame)), unit="D")
    frame["entered_at"] = entered.strftime("%Y-%m-%d")
    frame["bought_at"] = np.where(frame["bought"] > 0, booked.strftime("%Y-%m-%d"), "")
    return frame


def _metric(**changes) -> dict:
    base = {"name": "bought", "type": "binary", "role": "outcome", "at": "bought_at", "window_days": 28,
            "time_model": "survival"}  # fmt: skip
    return base | changes


def _files(frame: pd.DataFrame, **metric) -> dict[str, str]:
    experiment = spec(
        unit={"kind": "prospect", "id": "id", "entered_at": "entered_at"},
        metrics=[_metric(**metric)],
        covariates=[],
    )
    return {"exp.yaml": to_yaml(experiment), "rows.csv": csv_text(frame)}


def _before_entry() -> pd.DataFrame:
    frame = _rows()
    i = int(np.flatnonzero(frame["bought"] > 0)[0])
    frame.loc[i, "bought_at"] = (pd.Timestamp(frame.loc[i, "entered_at"]) - pd.Timedelta(days=3)).strftime(
        "%Y-%m-%d"
    )
    return frame


def _explicit_as_of(frame: pd.DataFrame) -> dict[str, str]:
    files = _files(frame)
    experiment = spec(
        unit={"kind": "prospect", "id": "id", "entered_at": "entered_at"},
        metrics=[_metric()],
        covariates=[],
        as_of="2026-02-01",
    )
    return {**files, "exp.yaml": to_yaml(experiment)}


CASES = {
    "meeting_before_entry": Case(
        _files(_before_entry()),
        VALIDATE,
        2,
        r"'bought_at' \(the date of metric 'bought'\) is before the unit entered",
    ),
    "entry_after_the_analysis_date": Case(
        _explicit_as_of(_rows()),
        VALIDATE,
        2,
        r"'entered_at' \(unit\.entered_at\) is after the analysis date 2026-02-01",
    ),
    "intervals_do_not_rise": Case(
        _files(_rows(), intervals=[14, 7]),
        VALIDATE,
        2,
        r"metrics\.0\.intervals: got \[14, 7\], but the days must rise",
    ),
    "interval_past_the_window": Case(
        _files(_rows(), intervals=[7, 30]),
        VALIDATE,
        2,
        r"metrics\.0\.intervals: got \[7, 30\], but every cut",
    ),
    "window_longer_than_the_follow_up": Case(
        _files(_rows(days_entered=10), window_days=60),
        RUN,
        2,
        r"0 followed for the whole 60-day window; the time-to-event model counts every entered unit",
        not_created=("out/hostile.pdf",),
    ),
    "intervals_on_a_windowed_metric": Case(
        _files(_rows(), time_model="window", intervals=[7]),
        VALIDATE,
        2,
        r"metrics\.0\.intervals: only a metric analysed",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_survival_input_is_refused(name: str, tmp_path: Path, monkeypatch):
    run_case(CASES[name], tmp_path, monkeypatch)
