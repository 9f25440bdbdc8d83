"""Aggregated rows: the same cells and posterior as the unit rows behind them, and clear refusals.

Unit rows are aggregated here with pandas (a different engine from the DuckDB SQL under test),
into arm × stratum × period rows, so that summing several rows per cell is exercised too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from channelab.analysis.model import build_model
from channelab.cli import app
from channelab.pipeline import validate
from channelab.spec import load_spec
from helpers import DATA, EXPERIMENTS, cell_statistics


def aggregate(rows: pd.DataFrame, keys: list[str], metrics: dict[str, str]) -> pd.DataFrame:
    """Arm × stratum × period rows holding units and each metric's statistics (``name: type``)."""
    rows = rows.assign(period=np.arange(len(rows)) % 2)  # two rows per cell, to be summed
    out = rows.groupby([*keys, "period"], sort=False).size().rename("units").to_frame()
    for name, kind in metrics.items():
        y = rows[name].astype(float)
        g = rows.assign(y=y, y2=y * y).groupby([*keys, "period"], sort=False)
        out[name] = g["y"].sum()
        if kind != "binary":
            out[f"{name}_sum_sq"] = g["y2"].sum()
        if kind == "revenue":
            pos = rows.assign(pos=(y > 0).astype(float), ly=np.log(y.where(y > 0, 1.0)) * (y > 0)).assign(
                ly2=lambda d: d["ly"] ** 2
            )
            gp = pos.groupby([*keys, "period"], sort=False)
            out[f"{name}_n_pos"] = gp["pos"].sum()
            out[f"{name}_sum_log"] = gp["ly"].sum()
            out[f"{name}_sum_log_sq"] = gp["ly2"].sum()
    return out.reset_index().sample(frac=1.0, random_state=1)  # any row order


def write_pair(tmp_path, spec: dict, rows: pd.DataFrame, metrics: dict[str, str]):
    """The spec on the unit rows and on their aggregate; both loaded."""
    keys = [spec["arm_column"], *spec.get("covariates", [])]
    rows.to_csv(tmp_path / "rows.csv", index=False)
    aggregate(rows, keys, metrics).to_csv(tmp_path / "agg.csv", index=False)
    unit = {**spec, "data": {"path": "rows.csv"}}
    agg = {**spec, "data": {"path": "agg.csv", "layout": "aggregated"}, "unit": {"kind": "customer"}}
    for name, body in (("rows.yaml", unit), ("agg.yaml", agg)):
        (tmp_path / name).write_text(yaml.safe_dump(body, allow_unicode=True))
    return load_spec(tmp_path / "rows.yaml"), load_spec(tmp_path / "agg.yaml")


def assert_same_cells_and_model(rows_spec, agg_spec) -> None:
    a, b = validate(rows_spec), validate(agg_spec)
    assert a.cells.arms == b.cells.arms
    assert a.cells.levels == b.cells.levels
    np.testing.assert_array_equal(a.cells.arm_idx, b.cells.arm_idx)
    np.testing.assert_allclose(a.cells.n, b.cells.n, rtol=0)
    for name, ma in a.cells.metrics.items():
        mb = b.cells.metrics[name]
        sa, sb = cell_statistics(ma), cell_statistics(mb)
        for stat in sa.keys() & sb.keys() - {"sum_xy", "n"}:
            x, y = sa[stat], sb[stat]
            if x is not None and y is not None:
                np.testing.assert_allclose(x, y, rtol=1e-12, err_msg=f"{name}.{stat}")
    # the same posterior: the log density agrees at any point of the parameter space
    ma, mb = build_model(a.cells, a.spec).model, build_model(b.cells, b.spec).model
    point = ma.initial_point(random_seed=3)
    point = {k: v + 0.1 * np.random.default_rng(0).normal(size=np.shape(v)) for k, v in point.items()}
    assert mb.compile_logp()(point) == pytest.approx(ma.compile_logp()(point), rel=1e-10)


@pytest.mark.parametrize("revenue", ["cell_means", pytest.param("lognormal_hurdle", marks=pytest.mark.slow)])
def test_hillstrom_aggregated_gives_the_cells_and_posterior_of_its_rows(tmp_path, revenue):
    spec = yaml.safe_load((EXPERIMENTS / "hillstrom_email.yaml").read_text())
    spec["metrics"][2]["revenue_likelihood"] = revenue
    rows = pd.read_csv(DATA / "hillstrom.csv")
    metrics = {"visit": "binary", "conversion": "binary", "spend": "revenue"}
    assert_same_cells_and_model(*write_pair(tmp_path, spec, rows, metrics))


def test_counts_and_continuous_aggregated_give_the_same_cells_and_posterior(tmp_path):
    rng = np.random.default_rng(5)
    n = 3000
    rows = pd.DataFrame(
        {
            "arm": rng.choice(["control", "a", "b"], n),
            "segment": rng.choice(["smb", "mid", "ent"], n),
            "replies": rng.poisson(1.2, n),
            "calls": rng.negative_binomial(2, 0.4, n),
            "score": rng.normal(50, 10, n).round(3),
        }
    )
    spec = {
        "name": "families",
        "arm_column": "arm",
        "control": "control",
        "arms": ["control", "a", "b"],
        "covariates": ["segment"],
        "metrics": [
            {"name": "replies", "role": "engagement", "type": "count", "count_likelihood": "poisson"},
            {"name": "calls", "role": "outcome", "type": "count", "count_likelihood": "cell_means"},
            {"name": "score", "role": "outcome", "type": "continuous"},
        ],
    }
    metrics = {"replies": "count", "calls": "count", "score": "continuous"}
    assert_same_cells_and_model(*write_pair(tmp_path, spec, rows, metrics))


def test_a_negative_binomial_on_aggregates_falls_back_and_says_so(tmp_path):
    rows = pd.DataFrame({"arm": ["control", "a"] * 50, "calls": np.arange(100) % 4})
    spec = {
        "name": "fallback",
        "arm_column": "arm",
        "control": "control",
        "arms": ["control", "a"],
        "metrics": [{"name": "calls", "role": "outcome", "type": "count"}],
    }
    _, agg = write_pair(tmp_path, spec, rows, {"calls": "count"})
    checked = validate(agg)
    assert checked.spec.metrics[0].count_likelihood == "cell_means"
    assert checked.checks.fallbacks == {"calls": "cell_means"}
    notes = [f.message for f in checked.checks.findings if f.check == "likelihood"]
    assert "negative binomial needs each unit's count" in notes[0]
    assert any("not checkable on aggregated rows" in f.message for f in checked.checks.findings)
    # without Σ y² only a Poisson is possible, and the note says what it costs
    pd.read_csv(tmp_path / "agg.csv").drop(columns="calls_sum_sq").to_csv(tmp_path / "agg.csv", index=False)
    checked = validate(load_spec(tmp_path / "agg.yaml"))
    assert checked.checks.fallbacks == {"calls": "poisson"}
    assert "too narrow" in next(f.message for f in checked.checks.findings if f.check == "likelihood")


AGG = """arm,week,units,meetings,revenue,revenue_sum_sq
control,1,100,10,500,40000
treated,1,100,12,650,52000
control,2,120,11,520,41000
treated,2,110,9,610,50000
"""


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("treated,2,110,9,", "treated,2,110,190,"),
            "the sum of metric 'meetings' (binary) is above 'units' in 1 row(s), e.g. row 4",
        ),
        (
            ("control,2,120,11,", "control,2,-120,11,"),
            "column 'units': the units column is not a whole number ≥ 0 in 1 row(s), e.g. row 3",
        ),
        (
            ("control,1,100,10,500,", "control,1,100,10,-500,"),
            "column 'revenue': the sum of metric 'revenue' (revenue) is negative in 1 row(s), e.g. row 1",
        ),
        (
            ("treated,1,100,12,650,52000", "treated,1,100,12,650,52"),
            "'revenue_sum_sq': the Σ y² of metric 'revenue' is below (Σ y)² / units in 1 row(s), e.g. row 2",
        ),
        (
            ("control,1,100,10,", "control,1,100,ten,"),
            "column 'meetings': the sum of metric 'meetings' is not a number in 1 row(s), e.g. row 1",
        ),
        (
            ("revenue_sum_sq", "revenue_sumsq"),
            "lack the statistic column(s) 'revenue_sum_sq' (metric 'revenue', revenue)",
        ),
    ],
)
def test_bad_aggregates_exit_2_naming_row_and_column(tmp_path, edit, expected):
    (tmp_path / "agg.csv").write_text(AGG.replace(*edit))
    spec = {
        "name": "crm",
        "data": {"path": "agg.csv", "layout": "aggregated"},
        "arm_column": "arm",
        "control": "control",
        "arms": ["control", "treated"],
        "metrics": [
            {"name": "meetings", "role": "outcome", "type": "binary"},
            {"name": "revenue", "role": "revenue", "type": "revenue"},
        ],
    }
    (tmp_path / "crm.yaml").write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "crm.yaml")])
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_aggregates_refuse_a_unit_id_and_matching(tmp_path):
    from channelab.errors import SpecError
    from channelab.spec import parse_spec

    base = {
        "name": "crm",
        "data": {"path": "agg.csv", "layout": "aggregated"},
        "arm_column": "arm",
        "control": "control",
        "arms": ["control", "treated"],
        "unit": {"id": "prospect_id"},
        "metrics": [{"name": "meetings", "role": "outcome", "type": "binary"}],
    }
    with pytest.raises(SpecError, match=r"unit\.id: aggregated rows hold many units per row"):
        parse_spec(base)


def test_unknown_shares_skip_the_sample_ratio_test_and_say_why(write_experiment):
    rows = pd.DataFrame(
        {
            "unit_id": range(300),
            "arm": ["control"] * 200 + ["treatment"] * 100,
            "segment": "all",
            "bought": [0, 1, 0] * 100,
        }
    )
    spec = write_experiment(
        rows,
        [{"name": "bought", "role": "outcome", "type": "binary"}],
        arms={"control": {"share": "unknown"}, "treatment": {"share": "unknown"}},
    )
    checked = validate(spec)
    srm = [f for f in checked.checks.findings if f.check == "sample_ratio"]
    assert [(f.severity, f.message) for f in srm] == [
        ("info", "sample ratio not checked: the planned shares are unknown")
    ]
    assert checked.checks.planned_shares == {}
    from channelab.errors import SpecError

    with pytest.raises(SpecError, match="share: unknown; planning and assigning need"):
        spec.planned_shares()


def test_a_lognormal_hurdle_without_its_statistics_falls_back_to_cell_means(tmp_path):
    rows = pd.DataFrame({"arm": ["control", "a"] * 50, "spend": (np.arange(100) % 5) * 10.0})
    spec = {
        "name": "hurdle",
        "arm_column": "arm",
        "control": "control",
        "arms": ["control", "a"],
        "metrics": [
            {"name": "spend", "role": "revenue", "type": "revenue", "revenue_likelihood": "lognormal_hurdle"}
        ],
    }
    _, agg = write_pair(tmp_path, spec, rows, {"spend": "revenue"})
    assert validate(agg).checks.fallbacks == {}  # the statistics are there: the hurdle is fitted
    table = pd.read_csv(tmp_path / "agg.csv")
    table.drop(columns=["spend_n_pos", "spend_sum_log", "spend_sum_log_sq"]).to_csv(
        tmp_path / "agg.csv", index=False
    )
    checked = validate(load_spec(tmp_path / "agg.yaml"))
    assert checked.spec.metrics[0].revenue_likelihood == "cell_means"
    note = next(f.message for f in checked.checks.findings if f.check == "likelihood")
    assert "the lognormal hurdle needs 'spend_n_pos'" in note
