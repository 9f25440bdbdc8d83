"""Time in the data: the cells of a test as it stood on a date, windows, and bad dates."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import yaml

from channelab.engine import build_cells, open_source, run_checks
from channelab.engine.source import frame_source
from channelab.engine.timing import date_range, with_as_of
from channelab.errors import DataError, SpecError
from channelab.spec import Spec, load_spec, parse_spec
from helpers import needs_spark


def timed_spec(*, window: int | None = 10, at: str | None = "meeting_at", **extra) -> Spec:
    """Two arms, a binary meeting with a date (and a window), and a count of likes without one.

    The meeting is read as the windowed analysis reads it (``time_model: window``): these tests are
    of the windows; the time-to-event model has its own (``test_survival_cells.py``).
    """
    meeting: dict[str, object] = {"name": "meeting", "role": "outcome", "type": "binary"}
    if at is not None:
        meeting["at"] = at
    if window is not None:
        meeting["window_days"] = window
        meeting["time_model"] = "window"
    return parse_spec(
        {
            "name": "timed",
            "unit": {"entered_at": "entered_at"},
            "data": {"path": "rows.csv"},
            "arm_column": "arm",
            "control": "A",
            "arms": ["A", "B"],
            "metrics": [{"name": "likes", "role": "engagement", "type": "count"}, meeting],
            **extra,
        }
    )


def rows(n: int = 400, seed: int = 3) -> pd.DataFrame:
    """Units entering over 40 days, meetings 0 to 19 days after entry; dates as ISO text."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-01-01")
    entered = start + pd.to_timedelta(rng.integers(0, 40, n), unit="D")
    meeting = rng.random(n) < 0.3
    booked = entered + pd.to_timedelta(rng.integers(0, 20, n), unit="D")
    return pd.DataFrame(
        {
            "arm": np.where(np.arange(n) % 2 == 0, "A", "B"),
            "entered_at": entered.strftime("%Y-%m-%d"),
            "likes": rng.poisson(2.0, n),
            "meeting": meeting.astype(int),
            "meeting_at": np.where(meeting, booked.strftime("%Y-%m-%d"), ""),
        }
    )


def by_arm(frame: pd.DataFrame, column: str | None = None) -> list[float]:
    counts = frame.groupby("arm").size() if column is None else frame.groupby("arm")[column].sum()
    return [float(counts.get(a, 0)) for a in ("A", "B")]


def cells_as_of(frame: pd.DataFrame, spec: Spec, as_of: date):
    with frame_source(frame) as source:
        cells = build_cells(source, spec.model_copy(update={"as_of": as_of}))
    return cells


def per_arm(cells, values) -> list[float]:
    return list(np.bincount(cells.arm_idx, weights=values, minlength=2))


def test_a_window_counts_mature_units_and_their_outcomes_within_it():
    frame, as_of = rows(), date(2026, 1, 30)
    cells = cells_as_of(frame, timed_spec(window=10), as_of)
    entered = pd.to_datetime(frame["entered_at"])
    booked = pd.to_datetime(frame["meeting_at"].replace("", None))
    inside = frame[entered <= pd.Timestamp(as_of)]
    mature = inside[(pd.Timestamp(as_of) - pd.to_datetime(inside["entered_at"])).dt.days >= 10]
    within = mature.assign(
        meeting=(
            (mature["meeting"] == 1) & ((booked[mature.index] - entered[mature.index]).dt.days <= 10)
        ).astype(int)
    )
    assert per_arm(cells, cells.n) == by_arm(inside)  # every entered unit is in the cells
    assert per_arm(cells, cells.units("meeting")) == by_arm(mature)  # only mature ones count
    assert per_arm(cells, cells.metrics["meeting"].total) == by_arm(within, "meeting")
    assert per_arm(cells, cells.units("likes")) == by_arm(inside)  # no window: every unit
    assert list(cells.maturing("meeting")) == [
        a - b for a, b in zip(by_arm(inside), by_arm(mature), strict=True)
    ]


def test_without_a_window_outcomes_count_once_they_have_happened():
    frame, as_of = rows(), date(2026, 1, 30)
    cells = cells_as_of(frame, timed_spec(window=None), as_of)
    entered = pd.to_datetime(frame["entered_at"])
    booked = pd.to_datetime(frame["meeting_at"].replace("", None))
    inside = frame[entered <= pd.Timestamp(as_of)]
    known = inside.assign(
        meeting=((inside["meeting"] == 1) & (booked[inside.index] <= pd.Timestamp(as_of))).astype(int)
    )
    assert cells.metrics["meeting"].n is None
    assert per_arm(cells, cells.metrics["meeting"].total) == by_arm(known, "meeting")
    assert per_arm(cells, cells.metrics["meeting"].total) < by_arm(inside, "meeting")  # some not yet booked


def test_the_default_analysis_date_is_the_latest_date_in_the_data():
    frame = rows()
    with frame_source(frame) as source:
        first, last = date_range(source, timed_spec())
        spec = with_as_of(source, timed_spec())
    latest = max(
        pd.to_datetime(frame["entered_at"]).max(), pd.to_datetime(frame["meeting_at"].replace("", None)).max()
    )
    assert first == pd.to_datetime(frame["entered_at"]).min().date()
    assert last == latest.date() == spec.as_of


def test_at_the_latest_date_only_the_last_entrants_are_maturing():
    frame = rows()
    spec = timed_spec(window=25)  # longer than any delay: the last entrants are still maturing
    with frame_source(frame) as source:
        dated = with_as_of(source, spec)
        cells = build_cells(source, dated)
        run_checks(source, dated)  # the default date passes every time check
    last_entry = pd.to_datetime(frame["entered_at"]).max().date()
    young = (pd.Timestamp(dated.as_of) - pd.to_datetime(frame["entered_at"])).dt.days < 25
    assert cells.maturing("meeting").sum() == young.sum() > 0
    assert dated.as_of >= last_entry


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda f: f.assign(entered_at=f["entered_at"].where(f.index != 5, "05/01/2026")), "is not a date"),
        (lambda f: f.assign(meeting_at=f["meeting_at"].where(f.index != 7, "soon")), "is not a date"),
        (
            lambda f: f.assign(
                meeting=f["meeting"].where(f.index != 9, 1),
                meeting_at=f["meeting_at"].where(f.index != 9, "2025-12-01"),
            ),
            "is before the unit entered",
        ),
        (
            lambda f: f.assign(meeting=1, meeting_at=f["meeting_at"].where(f.index != 4, "")),
            "its date 'meeting_at' is empty",
        ),
        (
            lambda f: f.assign(entered_at=f["entered_at"].where(f.index != 3, "2026-03-01")),
            "after the analysis date",
        ),
    ],
)
def test_bad_dates_are_errors_naming_rows(edit, words):
    frame = edit(rows())
    spec = timed_spec(as_of=date(2026, 2, 20))
    with frame_source(frame) as source, pytest.raises(DataError) as err:
        run_checks(source, spec)
    message = str(err.value)
    assert words in message
    assert "row " in message


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"unit": {}}, "unit.entered_at"),
        ({"adjust": ["likes_before"]}, "cannot yet be combined with adjust"),
    ],
)
def test_windows_need_entry_dates_and_refuse_adjust(change, words):
    raw = timed_spec().model_dump(exclude_unset=True, mode="json")
    with pytest.raises(SpecError, match=words):
        parse_spec({**raw, **change})


def test_an_analysis_date_needs_entry_dates():
    raw = timed_spec(window=None, at=None).model_dump(exclude_unset=True, mode="json")
    with pytest.raises(SpecError, match=r"as_of: an analysis date needs unit\.entered_at"):
        parse_spec({**raw, "unit": {}, "as_of": "2026-02-01"})


@needs_spark
def test_spark_builds_the_same_windowed_cells(tmp_path):
    frame = rows()
    frame.to_csv(tmp_path / "rows.csv", index=False)
    spec = timed_spec(window=10, as_of=date(2026, 1, 30)).model_copy(
        update={"source_path": tmp_path / "x.yaml"}
    )
    out = {}
    for engine in ("duckdb", "spark"):
        with open_source(spec.model_copy(update={"engine": engine})) as source:
            out[engine] = build_cells(source, spec)
    duck, spark = out["duckdb"], out["spark"]
    np.testing.assert_array_equal(duck.n, spark.n)
    for name in ("likes", "meeting"):
        np.testing.assert_array_equal(duck.units(name), spark.units(name))
        np.testing.assert_allclose(duck.metrics[name].total, spark.metrics[name].total)


def test_aggregated_rows_are_dated_by_their_period():
    """For aggregated rows, unit.entered_at dates each row's period: an analysis date keeps earlier rows."""
    frame = pd.DataFrame(
        {
            "arm": ["A", "B"] * 3,
            "week_start": [
                "2026-01-05",
                "2026-01-05",
                "2026-01-12",
                "2026-01-12",
                "2026-01-19",
                "2026-01-19",
            ],
            "units": [100, 110, 120, 130, 140, 150],
            "booked": [10, 12, 13, 15, 14, 20],
        }
    )
    spec = parse_spec(
        {
            "name": "weekly",
            "unit": {"entered_at": "week_start"},
            "data": {"path": "rows.csv", "layout": "aggregated"},
            "arm_column": "arm",
            "control": "A",
            "arms": ["A", "B"],
            "metrics": [{"name": "booked", "role": "outcome", "type": "binary"}],
        }
    )
    cells = cells_as_of(frame, spec, date(2026, 1, 12))
    assert per_arm(cells, cells.n) == [220.0, 240.0]
    assert per_arm(cells, cells.metrics["booked"].total) == [23.0, 27.0]


@pytest.mark.slow
def test_a_windowed_lift_is_the_raw_difference_among_mature_units(tmp_path):
    """The posterior of the windowed difference in rates agrees with the raw difference of mature units."""
    from channelab.pipeline import analyse

    frame = rows(n=6000, seed=8)
    frame.to_csv(tmp_path / "rows.csv", index=False)
    raw = timed_spec(window=25, sampler={"draws": 1000, "tune": 1000}).model_dump(
        exclude_unset=True, mode="json"
    )
    (tmp_path / "x.yaml").write_text(yaml.safe_dump(raw))
    result = analyse(load_spec(tmp_path / "x.yaml"))
    as_of = result.spec.as_of  # the latest date in the data: the last entrants are still maturing
    entered = pd.to_datetime(frame["entered_at"])
    booked = pd.to_datetime(frame["meeting_at"].replace("", None))
    mature = frame[(pd.Timestamp(as_of) - entered).dt.days >= 25]
    assert 0 < len(mature) < len(frame)
    met = (mature["meeting"] == 1) & ((booked[mature.index] - entered[mature.index]).dt.days <= 25)
    rate = met.groupby(mature["arm"]).mean()
    effect = next(e for e in result.effects.effects if e.metric == "meeting")
    sd = (effect.abs_lift.upper - effect.abs_lift.lower) / (2 * 1.881)
    assert effect.n_arm == (mature["arm"] == "B").sum()
    assert abs(effect.abs_lift.mean - (rate["B"] - rate["A"])) < 0.1 * sd
