"""Time-to-event cells: events and days at risk per interval since entry, exact for the row likelihood.

The piecewise-exponential log-likelihood of a unit followed through day ``last`` (its outcome's
day, or censored at the window's end or the analysis date) is Σ_k d_k log λ_k − t_k λ_k, with t_k
its days at risk in interval k and d_k its first event there. Summed over a cell's units it needs
only Σ d_k and Σ t_k: the cells' ``events`` and ``exposure``. Here the rows are reduced in pandas,
independently of the SQL, and the two log-likelihoods compared at random hazards.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
import yaml

from channelab.cells import SurvivalCells
from channelab.engine import build_cells, open_source
from channelab.engine.aggregate import frame_cells
from channelab.spec import Spec, load_spec, parse_spec
from helpers import needs_spark

START = date(2026, 3, 2)
WINDOW = 28


def timed_rows(n: int = 2000, seed: int = 5) -> pd.DataFrame:
    """Units entering over 8 weeks; meetings on day 0-40 after entry (some after the window)."""
    rng = np.random.default_rng(seed)
    entered = [START + timedelta(days=int(d)) for d in rng.integers(0, 56, size=n)]
    met = rng.random(n) < 0.12
    delay = rng.integers(0, 41, size=n)
    at = [
        (e + timedelta(days=int(d))).isoformat() if m else ""
        for e, d, m in zip(entered, delay, met, strict=True)
    ]
    return pd.DataFrame(
        {
            "unit_id": np.arange(n),
            "arm": rng.choice(["control", "phone", "social"], size=n),
            "segment": rng.choice(["smb", "ent"], size=n),
            "entered_at": [e.isoformat() for e in entered],
            "meeting": met.astype(int),
            "meeting_at": at,
        }
    )


BODY = {
    "name": "ttf",
    "unit": {"kind": "prospect", "id": "unit_id", "entered_at": "entered_at"},
    "data": {"path": "rows.csv"},
    "arm_column": "arm",
    "control": "control",
    "arms": ["control", "phone", "social"],
    "covariates": ["segment"],
    "metrics": [
        {
            "name": "meeting",
            "role": "outcome",
            "type": "binary",
            "at": "meeting_at",
            "window_days": WINDOW,
            "time_model": "survival",
            "intervals": [3, 10, 20],
        }
    ],
}


def timed_spec(as_of: date | None) -> Spec:
    return parse_spec({**BODY, "as_of": as_of.isoformat() if as_of else None})


def row_statistics(rows: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """Per row, its first event and days at risk in each interval: the row-level likelihood's data."""
    metric = spec.metrics[0]
    bounds = np.array(metric.interval_bounds)
    entered = pd.to_datetime(rows["entered_at"])
    at = pd.to_datetime(rows["meeting_at"].replace("", None))
    follow = (
        (pd.Timestamp(spec.as_of) - entered).dt.days if spec.as_of else pd.Series(10**6, index=rows.index)
    )
    keep = follow >= 0
    limit = np.minimum(follow, WINDOW)
    day = (at - entered).dt.days
    event = (at.notna() & (rows["meeting"] > 0) & (day <= limit)).to_numpy()
    last = np.where(event, day.fillna(0), limit).astype(int)
    out = rows[["arm", "segment"]].copy()
    for k, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        out[f"d{k}"] = (event & (day >= lo).to_numpy() & (day < hi).to_numpy()).astype(float)
        out[f"t{k}"] = np.clip(np.minimum(hi, last + 1) - lo, 0, None).astype(float)
    return out[keep.to_numpy()]


def cell_loglik(cells, log_rate: np.ndarray) -> float:
    """Σ events · log λ − exposure · λ, with λ per (arm, interval)."""
    s = cells.metrics["meeting"]
    assert isinstance(s, SurvivalCells)
    rate = log_rate[cells.arm_idx]
    return float((s.events * rate - s.exposure * np.exp(rate)).sum())


def row_loglik(stats: pd.DataFrame, arms: tuple[str, ...], log_rate: np.ndarray) -> float:
    k = log_rate.shape[1]
    rate = log_rate[stats["arm"].map({a: i for i, a in enumerate(arms)}).to_numpy()]
    d = stats[[f"d{j}" for j in range(k)]].to_numpy()
    t = stats[[f"t{j}" for j in range(k)]].to_numpy()
    return float((d * rate - t * np.exp(rate)).sum())


@pytest.mark.parametrize("as_of", [START + timedelta(days=30), START + timedelta(days=70), None])
def test_cells_hold_the_rows_events_and_days_at_risk(as_of):
    rows, spec = timed_rows(), timed_spec(as_of)
    cells = frame_cells(rows, spec)
    s = cells.metrics["meeting"]
    assert isinstance(s, SurvivalCells)
    assert s.bounds == (0, 3, 10, 20, WINDOW + 1)
    stats = row_statistics(rows, spec)
    grouped = stats.groupby(["arm", "segment"]).sum().sort_index()
    np.testing.assert_array_equal(s.events, grouped[[f"d{k}" for k in range(4)]].to_numpy())
    np.testing.assert_array_equal(s.exposure, grouped[[f"t{k}" for k in range(4)]].to_numpy())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cell_likelihood_equals_the_row_piecewise_exponential_likelihood(seed):
    rows, spec = timed_rows(seed=seed), timed_spec(START + timedelta(days=45))
    cells = frame_cells(rows, spec)
    log_rate = np.random.default_rng(seed).normal(-4.0, 0.7, size=(3, 4))
    expected = row_loglik(row_statistics(rows, spec), cells.arms, log_rate)
    assert cell_loglik(cells, log_rate) == pytest.approx(expected, rel=1e-12)
    # and it depends on the hazards: a wrong λ gives another value
    assert cell_loglik(cells, log_rate + 0.1) != pytest.approx(expected, rel=1e-6)


def test_mature_units_still_give_the_windowed_raw_answer():
    """``total`` and ``n`` stay the windowed counts: units whose window closed, outcomes within it."""
    rows, as_of = timed_rows(), START + timedelta(days=45)
    survival = frame_cells(rows, timed_spec(as_of))
    windowed_body = {**BODY, "as_of": as_of.isoformat()}
    windowed_body["metrics"] = [
        {k: v for k, v in BODY["metrics"][0].items() if k not in ("time_model", "intervals")}
    ]
    windowed = frame_cells(rows, parse_spec(windowed_body))
    for stat in ("total", "n"):
        np.testing.assert_array_equal(
            getattr(survival.metrics["meeting"], stat), getattr(windowed.metrics["meeting"], stat)
        )


def test_merging_cells_adds_events_and_days():
    rows = timed_rows()
    spec = timed_spec(START + timedelta(days=45))
    cells = frame_cells(rows, spec)
    inverse = cells.arm_idx  # merge the segments of each arm
    merged = cells.metrics["meeting"].merged(inverse, len(cells.arms))
    assert isinstance(merged, SurvivalCells)
    s = cells.metrics["meeting"]
    assert isinstance(s, SurvivalCells)
    for a in range(len(cells.arms)):
        np.testing.assert_allclose(merged.events[a], s.events[cells.arm_idx == a].sum(axis=0))
        np.testing.assert_allclose(merged.exposure[a], s.exposure[cells.arm_idx == a].sum(axis=0))


@needs_spark
def test_spark_builds_the_same_survival_cells(tmp_path):
    rows = timed_rows(n=400)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    out = {}
    for engine in ("duckdb", "spark"):
        body = {**BODY, "engine": engine, "as_of": (START + timedelta(days=45)).isoformat()}
        (tmp_path / f"{engine}.yaml").write_text(yaml.safe_dump(body))
        spec = load_spec(tmp_path / f"{engine}.yaml")
        with open_source(spec) as source:
            out[engine] = build_cells(source, spec)
    duck, spark = (out[e].metrics["meeting"] for e in ("duckdb", "spark"))
    assert isinstance(duck, SurvivalCells)
    assert isinstance(spark, SurvivalCells)
    np.testing.assert_array_equal(duck.events, spark.events)
    np.testing.assert_array_equal(duck.exposure, spark.exposure)
    log_rate = np.random.default_rng(0).normal(-4.0, 0.5, size=(3, 4))
    expected = row_loglik(
        row_statistics(rows, timed_spec(START + timedelta(days=45))), out["spark"].arms, log_rate
    )
    assert cell_loglik(out["spark"], log_rate) == pytest.approx(expected, rel=1e-12)
