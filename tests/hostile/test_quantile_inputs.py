"""Hostile inputs of a quantile metric (issue 35): a quantile on aggregated rows, of text values, with
no value above 0 in an arm, and on a cluster-randomised test. Each is refused with exit 2 and a
message naming the file, the column and the row or arm (or the spec's key), nothing written
outside ``out/`` and no input changed (:func:`harness.run_case`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from harness import RUN, VALIDATE, Case, csv_text, rows, run_case, spec, to_yaml

MEDIAN = {
    "name": "median_spend",
    "type": "quantile",
    "role": "revenue",
    "column": "spend",
    "q": 0.5,
    "among": "positive",
}
OUTCOME = {"name": "bought", "type": "binary", "role": "outcome"}


def _files(frame: pd.DataFrame, **changes) -> dict[str, str]:
    experiment = spec(metrics=[OUTCOME, MEDIAN], **changes)
    return {"exp.yaml": to_yaml(experiment), "rows.csv": csv_text(frame)}


def _edited(row: int, value: object) -> pd.DataFrame:
    frame = rows().astype({"spend": object})
    frame.loc[row, "spend"] = value
    return frame


def _no_spend_in_email() -> pd.DataFrame:
    frame = rows()
    frame.loc[frame["arm"] == "email", "spend"] = 0.0
    return frame


def _aggregated() -> dict[str, str]:
    r = rows(240).assign(units=1)
    frame = r.groupby(["arm", "segment"])[["units", "bought", "spend"]].sum().reset_index()
    experiment = spec(
        data={"path": "agg.csv", "layout": "aggregated"}, unit={"kind": "prospect"}, metrics=[OUTCOME, MEDIAN]
    )
    return {"exp.yaml": to_yaml(experiment), "agg.csv": csv_text(frame.round(2))}


CASES = {
    "quantile-on-aggregated-rows": Case(
        _aggregated(),
        VALIDATE,
        2,
        r"exp\.yaml.*metrics\.1\.type: quantile metric 'median_spend' needs one row per unit; aggregated "
        r"rows hold no values",
    ),
    "quantile-of-text": Case(
        _files(_edited(4, "lots")),
        VALIDATE,
        2,
        r"rows\.csv.*'spend' \(metric 'median_spend', type quantile\).*not a number.*row 5",
    ),
    "quantile-with-no-value-above-0-in-an-arm": Case(
        _files(_no_spend_in_email()),
        VALIDATE,
        2,
        r"rows\.csv.*'spend' \(quantile metric 'median_spend'\) has no value above 0 in arm 'email' "
        r"\(60 units\)",
    ),
    "quantile-on-randomised-clusters": Case(
        _files(rows(), unit={"kind": "prospect", "id": "id", "randomised_by": "segment"}, covariates=[]),
        VALIDATE,
        2,
        r"exp\.yaml.*metrics\.1\.type: quantile metric 'median_spend' treats units as independent, but "
        r"clusters \('segment'\) were randomised",
    ),
    "quantile-run-stops-before-any-report": Case(
        _files(_no_spend_in_email()),
        RUN,
        2,
        r"has no value above 0 in arm 'email'",
        not_created=("out/hostile.pdf",),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_quantile_input_is_refused(name: str, tmp_path: Path, monkeypatch):
    run_case(CASES[name], tmp_path, monkeypatch)
