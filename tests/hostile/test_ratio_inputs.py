"""Hostile inputs of a ratio metric (issue 35): a denominator that is text, negative, 0 in an arm,
aggregated rows without Σ x y, and a ratio that divides by another role's column. Each is refused
with exit 2 and a message naming the file, the column and the row or arm (or the spec's key),
nothing written outside ``out/`` and no input changed (:func:`harness.run_case`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from harness import RUN, VALIDATE, Case, csv_text, rows, run_case, spec, to_yaml

RATIO = {
    "name": "spend_per_meeting",
    "type": "ratio",
    "role": "revenue",
    "numerator": "spend",
    "denominator": "meetings",
}
OUTCOME = {"name": "bought", "type": "binary", "role": "outcome"}


def _rows(n: int = 120) -> pd.DataFrame:
    """:func:`harness.rows` with the meetings each unit booked (the ratio's denominator)."""
    frame = rows(n)
    return frame.assign(meetings=np.random.default_rng(2).poisson(1.0, len(frame)))


def _files(frame: pd.DataFrame, **ratio) -> dict[str, str]:
    experiment = spec(metrics=[OUTCOME, RATIO | ratio])
    return {"exp.yaml": to_yaml(experiment), "rows.csv": csv_text(frame)}


def _edited(row: int, value: object) -> pd.DataFrame:
    frame = _rows().astype({"meetings": object})
    frame.loc[row, "meetings"] = value
    return frame


def _no_meetings_in_email() -> pd.DataFrame:
    frame = _rows()
    frame.loc[frame["arm"] == "email", "meetings"] = 0
    return frame


def _aggregated_without_the_cross_product() -> dict[str, str]:
    """Exact arm × segment rows with every sum of the ratio but Σ spend · meetings."""
    r = _rows(240)
    r = r.assign(spend_sum_sq=r["spend"] ** 2, meetings_sum_sq=r["meetings"] ** 2, units=1)
    columns = ["units", "bought", "spend", "spend_sum_sq", "meetings", "meetings_sum_sq"]
    frame = r.groupby(["arm", "segment"])[columns].sum().reset_index().round({"spend": 2, "spend_sum_sq": 4})
    experiment = spec(
        data={"path": "agg.csv", "layout": "aggregated"}, unit={"kind": "prospect"}, metrics=[OUTCOME, RATIO]
    )
    return {"exp.yaml": to_yaml(experiment), "agg.csv": csv_text(frame)}


CASES = {
    "ratio-denominator-is-text": Case(
        _files(_edited(4, "three")),
        VALIDATE,
        2,
        r"rows\.csv.*'meetings' \(denominator of ratio metric 'spend_per_meeting'\).*not a number.*row 5",
    ),
    "ratio-negative-denominator": Case(
        _files(_edited(4, -2)),
        VALIDATE,
        2,
        r"rows\.csv.*'meetings' \(denominator of ratio metric 'spend_per_meeting'\) is negative in 1 "
        r"row\(s\), e\.g\. row 5",
    ),
    "ratio-denominator-sums-to-zero-in-an-arm": Case(
        _files(_no_meetings_in_email()),
        VALIDATE,
        2,
        r"rows\.csv.*'meetings' \(denominator of ratio metric 'spend_per_meeting'\) sums to 0 in arm "
        r"'email' \(60 units\)",
    ),
    "ratio-aggregated-rows-without-the-cross-product": Case(
        _aggregated_without_the_cross_product(),
        VALIDATE,
        2,
        r"agg\.csv.*'spend_x_meetings' \(metric 'spend_per_meeting', ratio\)",
    ),
    "ratio-divides-by-the-arm-column": Case(
        _files(_rows(), denominator="arm"),
        VALIDATE,
        2,
        r"exp\.yaml.*metrics\.1\.denominator: ratio metric 'spend_per_meeting' reads 'arm', which is the "
        r"arm column",
    ),
    "ratio-run-stops-before-any-report": Case(
        _files(_no_meetings_in_email()),
        RUN,
        2,
        r"sums to 0 in arm 'email'",
        not_created=("out/hostile.pdf",),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_ratio_input_is_refused(name: str, tmp_path: Path, monkeypatch):
    run_case(CASES[name], tmp_path, monkeypatch)
