"""A ratio metric's cells: n, Σ x, Σ x², Σ y, Σ y², Σ x y per cell as pandas sums them, from any rows.

Also the data checks of its denominator: a negative value names its row, an arm whose denominator
sums to 0 names the arm.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from channelab.cells import RatioCells
from channelab.engine import open_source
from channelab.engine.aggregate import build_cells
from channelab.errors import DataError
from channelab.pipeline import validate
from channelab.spec import load_spec
from helpers import needs_spark, spec_dict

METRICS = [
    {"name": "meeting", "role": "outcome", "type": "binary"},
    {
        "name": "revenue_per_meeting",
        "role": "revenue",
        "type": "ratio",
        "numerator": "revenue",
        "denominator": "meetings",
    },
]
SUMS = {"total": "x", "sum_sq": "xx", "den_total": "y", "den_sum_sq": "yy", "cross": "xy"}


def ratio_rows(n: int = 600, seed: int = 3) -> pd.DataFrame:
    """Units with a meeting count and revenue that grows with it (a correlated pair)."""
    rng = np.random.default_rng(seed)
    arm = rng.choice(["control", "treatment"], n)
    segment = rng.choice(["a", "b", "c"], n)
    meetings = rng.poisson(np.where(arm == "treatment", 1.3, 1.0))
    revenue = np.round(meetings * rng.gamma(2.0, 1000.0, n) + rng.normal(0, 50, n), 2)
    return pd.DataFrame(
        {
            "unit_id": np.arange(n),
            "arm": arm,
            "segment": segment,
            "meeting": (meetings > 0).astype(int),
            "meetings": meetings,
            "revenue": revenue,
        }
    )


def write(tmp_path, rows: pd.DataFrame, name: str = "rows", **overrides) -> object:
    rows.to_csv(tmp_path / f"{name}.csv", index=False)
    body = spec_dict(f"{name}.csv", METRICS, **overrides)
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(body))
    return load_spec(tmp_path / f"{name}.yaml")


def pandas_sums(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (arm, segment) cell, in the cells' order, the six sums computed by pandas."""
    r = rows.assign(
        x=rows["revenue"],
        xx=rows["revenue"] ** 2,
        y=rows["meetings"].astype(float),
        yy=rows["meetings"].astype(float) ** 2,
        xy=rows["revenue"] * rows["meetings"],
        n=1.0,
    )
    return r.groupby(["arm", "segment"])[["n", "x", "xx", "y", "yy", "xy"]].sum()


def assert_matches_pandas(cells, rows: pd.DataFrame) -> None:
    s = cells.metrics["revenue_per_meeting"]
    assert isinstance(s, RatioCells)
    expected = pandas_sums(rows)
    keys = list(
        zip(
            np.asarray(cells.arms)[cells.arm_idx],
            np.asarray(cells.levels["segment"])[cells.level_idx["segment"]],
            strict=True,
        )
    )
    want = expected.loc[keys]
    np.testing.assert_allclose(cells.n, want["n"], rtol=1e-12)
    for stat, col in SUMS.items():
        np.testing.assert_allclose(getattr(s, stat), want[col], rtol=1e-10, err_msg=stat)


def test_unit_rows_give_the_six_sums_pandas_gives(tmp_path):
    rows = ratio_rows()
    assert_matches_pandas(validate(write(tmp_path, rows)).cells, rows)


def test_merged_cells_add_every_sum(tmp_path):
    rows = ratio_rows()
    cells = validate(write(tmp_path, rows)).cells
    s = cells.metrics["revenue_per_meeting"]
    inverse = cells.arm_idx  # merge to one cell per arm
    merged = s.merged(inverse, len(cells.arms))
    for stat in SUMS:
        np.testing.assert_allclose(getattr(merged, stat), np.bincount(inverse, weights=getattr(s, stat)))


def aggregated(rows: pd.DataFrame) -> pd.DataFrame:
    """Arm × segment × period rows (two per cell) holding units and the five sums in their columns."""
    r = rows.assign(period=np.arange(len(rows)) % 2)
    r = r.assign(
        revenue_sum_sq=r["revenue"] ** 2,
        meetings_sum_sq=r["meetings"] ** 2,
        revenue_x_meetings=r["revenue"] * r["meetings"],
        units=1,
    )
    cols = [
        "units",
        "meeting",
        "revenue",
        "revenue_sum_sq",
        "meetings",
        "meetings_sum_sq",
        "revenue_x_meetings",
    ]
    return r.groupby(["arm", "segment", "period"])[cols].sum().reset_index().sample(frac=1.0, random_state=2)


def test_aggregated_rows_with_the_cross_product_give_the_same_cells(tmp_path):
    rows = ratio_rows()
    unit = validate(write(tmp_path, rows)).cells
    agg = write(
        tmp_path,
        aggregated(rows),
        name="agg",
        data={"path": "agg.csv", "layout": "aggregated"},
        unit={"kind": "prospect"},
    )
    cells = validate(agg).cells
    np.testing.assert_allclose(cells.n, unit.n)
    for stat in SUMS:
        np.testing.assert_allclose(
            getattr(cells.metrics["revenue_per_meeting"], stat),
            getattr(unit.metrics["revenue_per_meeting"], stat),
        )


def test_aggregated_rows_without_the_cross_product_are_refused(tmp_path):
    agg = write(
        tmp_path,
        aggregated(ratio_rows()).drop(columns="revenue_x_meetings"),
        name="agg",
        data={"path": "agg.csv", "layout": "aggregated"},
        unit={"kind": "prospect"},
    )
    with pytest.raises(DataError, match=r"'revenue_x_meetings' \(metric 'revenue_per_meeting', ratio\)"):
        validate(agg)


def test_a_negative_denominator_names_its_column_and_row(tmp_path):
    rows = ratio_rows()
    rows.loc[5, "meetings"] = -1
    with pytest.raises(
        DataError,
        match=r"(?s)rows\.csv.*'meetings' \(denominator of ratio metric 'revenue_per_meeting'\) "
        r"is negative in 1 row\(s\), e\.g\. row 6",
    ):
        validate(write(tmp_path, rows))


def test_an_arm_whose_denominator_sums_to_zero_is_named(tmp_path):
    rows = ratio_rows()
    rows.loc[rows["arm"] == "treatment", "meetings"] = 0
    n = int((rows["arm"] == "treatment").sum())
    with pytest.raises(DataError, match=rf"'meetings'.*sums to 0 in arm 'treatment' \({n:,} units\)"):
        validate(write(tmp_path, rows))


@needs_spark
def test_spark_builds_the_same_ratio_cells_from_unit_and_aggregated_rows(tmp_path):
    rows = ratio_rows(n=300)
    out = {}
    for engine in ("duckdb", "spark"):
        spec = write(tmp_path, rows, name=engine, engine=engine)
        with open_source(spec) as source:
            out[engine] = build_cells(source, spec)
    agg = write(
        tmp_path,
        aggregated(rows),
        name="agg",
        engine="spark",
        data={"path": "agg.csv", "layout": "aggregated"},
        unit={"kind": "prospect"},
    )
    with open_source(agg) as source:
        out["spark aggregated"] = build_cells(source, agg)
    np.testing.assert_allclose(out["spark aggregated"].n, out["duckdb"].n)
    for stat in SUMS:
        np.testing.assert_allclose(
            getattr(out["spark aggregated"].metrics["revenue_per_meeting"], stat),
            getattr(out["duckdb"].metrics["revenue_per_meeting"], stat),
            rtol=1e-10,
        )
    for stat in SUMS:
        np.testing.assert_allclose(
            getattr(out["spark"].metrics["revenue_per_meeting"], stat),
            getattr(out["duckdb"].metrics["revenue_per_meeting"], stat),
            rtol=1e-12,
        )
    assert_matches_pandas(out["spark"], rows)
