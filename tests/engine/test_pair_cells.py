"""Cross-products of metric pairs per cell: exact sums, mature units only, none where data cannot say."""

from __future__ import annotations

from datetime import date
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
import yaml

from channelab.engine import build_cells, open_source
from channelab.engine.aggregate import frame_cells, summary_cells
from channelab.engine.pairs import paired_metrics
from channelab.engine.source import frame_source
from channelab.spec import load_spec, parse_spec
from helpers import EXPERIMENTS, needs_spark

SPEC_METRICS = [
    {"name": "opened", "type": "binary", "role": "engagement"},
    {"name": "replies", "type": "count", "role": "engagement"},
    {"name": "meeting", "type": "binary", "role": "outcome"},
    {"name": "score", "type": "continuous", "role": "guardrail"},
]


def correlated_rows(n: int = 900, seed: int = 2) -> pd.DataFrame:
    """Units whose engagement, replies, meetings and score move together, in three segments."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    arm = np.where(np.arange(n) % 2 == 0, "control", "treatment")
    return pd.DataFrame(
        {
            "unit_id": np.arange(n),
            "arm": arm,
            "segment": rng.choice(["a", "b", "c"], n),
            "opened": (latent + rng.normal(size=n) > 0).astype(int),
            "replies": rng.poisson(np.exp(0.3 * latent)),
            "meeting": (latent + rng.normal(size=n) > 1.2).astype(int),
            "score": np.round(2 + latent + rng.normal(size=n), 3),
        }
    )


def pandas_pair_sums(rows: pd.DataFrame, a: str, b: str, keys: list[str]) -> pd.DataFrame:
    ya, yb = rows[a].astype(float), rows[b].astype(float)
    frame = rows[keys].assign(n=1.0, sum_a=ya, sum_b=yb, sum_ab=ya * yb, sum_aa=ya * ya, sum_bb=yb * yb)
    return frame.groupby(keys).sum()


def assert_pairs_equal_pandas(cells, rows: pd.DataFrame, keys: list[str]) -> None:
    names = [m["name"] for m in SPEC_METRICS]
    assert [(p.metric_a, p.metric_b) for p in cells.pairs] == list(combinations(names, 2))
    for pair in cells.pairs:
        expected = pandas_pair_sums(rows, pair.metric_a, pair.metric_b, keys)
        for c in range(cells.n_cells):
            key = (cells.arms[cells.arm_idx[c]], cells.levels["segment"][cells.level_idx["segment"][c]])
            for stat in pair.sums:
                assert getattr(pair, stat)[c] == pytest.approx(expected.loc[key, stat], rel=1e-12), stat


def test_pair_sums_equal_pandas_on_the_rows(write_experiment):
    rows = correlated_rows()
    spec = write_experiment(rows, SPEC_METRICS)
    with open_source(spec) as source:
        cells = build_cells(source, spec)
    assert_pairs_equal_pandas(cells, rows, ["arm", "segment"])
    assert cells.pair("meeting", "opened") is cells.pair("opened", "meeting") is not None
    assert cells.pair("opened", "opened") is None


def test_frame_cells_carry_the_same_pairs(write_experiment):
    rows = correlated_rows(seed=5)
    spec = write_experiment(rows, SPEC_METRICS)
    assert_pairs_equal_pandas(frame_cells(rows, spec), rows, ["arm", "segment"])


def test_integer_weights_give_the_pairs_of_repeated_rows(write_experiment):
    rows = correlated_rows(seed=6)
    weights = np.random.default_rng(1).integers(0, 4, len(rows))
    spec = write_experiment(rows, SPEC_METRICS)
    weighted = build_cells(frame_source(rows.assign(w=weights)), spec, weight="w")
    repeated = build_cells(frame_source(rows.loc[rows.index.repeat(weights)].reset_index(drop=True)), spec)
    for p, q in zip(weighted.pairs, repeated.pairs, strict=True):
        for stat in p.sums:
            np.testing.assert_allclose(getattr(p, stat), getattr(q, stat), rtol=1e-12)


def test_merging_cells_merges_their_pairs(write_experiment):
    rows = correlated_rows(seed=7).assign(prior=lambda d: np.round(d["score"] + 1.0, 2))
    spec = write_experiment(rows, SPEC_METRICS, adjust=["prior"])
    merged = frame_cells(rows, spec).without_adjustment()
    plain = frame_cells(rows, write_experiment(rows, SPEC_METRICS))
    for p, q in zip(merged.pairs, plain.pairs, strict=True):
        for stat in p.sums:
            np.testing.assert_allclose(getattr(p, stat), getattr(q, stat), rtol=1e-12)


def test_only_units_mature_for_both_metrics_count():
    """A meeting with a 10-day window pairs with likes only over units that entered 10+ days before."""
    rng = np.random.default_rng(3)
    n = 400
    entered = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 40, n), unit="D")
    meeting = rng.random(n) < 0.3
    booked = entered + pd.to_timedelta(rng.integers(0, 20, n), unit="D")
    frame = pd.DataFrame(
        {
            "arm": np.where(np.arange(n) % 2 == 0, "A", "B"),
            "entered_at": entered.strftime("%Y-%m-%d"),
            "likes": rng.poisson(2.0, n),
            "meeting": meeting.astype(int),
            "meeting_at": np.where(meeting, booked.strftime("%Y-%m-%d"), ""),
        }
    )
    spec = parse_spec(
        {
            "name": "timed",
            "unit": {"entered_at": "entered_at"},
            "data": {"path": "rows.csv"},
            "arm_column": "arm",
            "control": "A",
            "arms": ["A", "B"],
            "metrics": [
                {"name": "likes", "role": "engagement", "type": "count"},
                {
                    "name": "meeting",
                    "role": "outcome",
                    "type": "binary",
                    "at": "meeting_at",
                    "window_days": 10,
                },
            ],
            "as_of": "2026-01-30",
        }
    )
    with frame_source(frame) as source:
        cells = build_cells(source, spec)
    (pair,) = cells.pairs
    as_of = pd.Timestamp(date(2026, 1, 30))
    age = (as_of - entered).days
    mature = frame[(age >= 10) & (entered <= as_of)]
    counted = mature["meeting"].where(
        (
            pd.to_datetime(mature["meeting_at"].replace("", None)) - pd.to_datetime(mature["entered_at"])
        ).dt.days
        <= 10,
        0,
    )
    by_arm = np.bincount(cells.arm_idx, weights=pair.n, minlength=2)
    np.testing.assert_array_equal(by_arm, mature.groupby("arm").size().reindex(["A", "B"]).to_numpy())
    np.testing.assert_array_equal(by_arm, cells.per_arm(cells.units("meeting")))
    products = np.bincount(cells.arm_idx, weights=pair.sum_ab, minlength=2)
    expected = (mature["likes"] * counted).groupby(mature["arm"]).sum().reindex(["A", "B"]).to_numpy()
    np.testing.assert_allclose(products, expected)


def test_no_pairs_where_the_data_hold_no_cross_products():
    """Aggregated rows and published summaries give none; a share among an earlier stage is not paired."""
    aggregated = load_spec(EXPERIMENTS / "crm_weekly_aggregated.yaml")
    assert paired_metrics(aggregated) == []
    with open_source(aggregated) as source:
        assert build_cells(source, aggregated).pairs == ()
    published = load_spec(EXPERIMENTS / "ubc_study1_published.yaml")
    assert summary_cells(published).pairs == ()

    body = {
        "name": "funnel",
        "data": {"path": "rows.csv"},
        "arm_column": "arm",
        "control": "control",
        "arms": ["control", "treatment"],
        "metrics": [
            {"name": "engaged", "type": "binary", "role": "engagement"},
            {"name": "meeting", "type": "binary", "role": "outcome", "denominator": "engaged"},
            {"name": "deal", "type": "binary", "role": "outcome"},
        ],
    }
    spec = parse_spec(body)
    assert [m.name for m in paired_metrics(spec)] == ["engaged", "deal"]
    rows = pd.DataFrame(
        {"arm": ["control", "treatment"] * 20, "engaged": [1, 0, 1, 1] * 10, "meeting": [1, 0, 0, 1] * 10}
    ).assign(deal=lambda d: d["meeting"])
    cells = frame_cells(rows, spec)
    assert [(p.metric_a, p.metric_b) for p in cells.pairs] == [("engaged", "deal")]


def test_pairs_are_capped_at_the_first_metrics_in_funnel_order(monkeypatch, write_experiment):
    from channelab.engine import pairs

    monkeypatch.setattr(pairs, "MAX_PAIRED_METRICS", 3)
    rows = correlated_rows(n=60)
    cells = frame_cells(rows, write_experiment(rows, SPEC_METRICS))
    assert [(p.metric_a, p.metric_b) for p in cells.pairs] == list(
        combinations(["opened", "replies", "meeting"], 2)
    )


@needs_spark
def test_spark_builds_the_same_pairs(tmp_path):
    rows = correlated_rows(n=300)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    body = {
        "name": "pairs",
        "unit": {"kind": "prospect", "id": "unit_id"},
        "data": {"path": "rows.csv"},
        "arm_column": "arm",
        "control": "control",
        "arms": ["control", "treatment"],
        "metrics": SPEC_METRICS,
        "covariates": ["segment"],
    }
    out = {}
    for engine in ("duckdb", "spark"):
        (tmp_path / f"{engine}.yaml").write_text(yaml.safe_dump({**body, "engine": engine}))
        spec = load_spec(tmp_path / f"{engine}.yaml")
        with open_source(spec) as source:
            out[engine] = build_cells(source, spec)
    assert_pairs_equal_pandas(out["spark"], rows, ["arm", "segment"])
    for p, q in zip(out["duckdb"].pairs, out["spark"].pairs, strict=True):
        for stat in p.sums:
            np.testing.assert_allclose(getattr(p, stat), getattr(q, stat), rtol=1e-12)
