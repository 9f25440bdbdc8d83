"""Reading rows where they live: globs, Parquet, DuckDB databases, memory limits, Spark.

The model sees only cells, so every way of reading the same rows must give the same cells.
"""

from __future__ import annotations

import itertools
import shutil
import tracemalloc
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from channelab.cells import Cells
from channelab.engine.aggregate import build_cells
from channelab.engine.checks import run_checks
from channelab.engine.rows import open_source
from channelab.engine.source import ROWS, frame_source, to_spark, watch
from channelab.errors import DataError, SpecError
from channelab.simulate.ab import SimMetric, simulate_ab
from channelab.spec import load_spec
from helpers import DATA, EXPERIMENTS, cell_statistics, needs_spark

METRICS = [
    {"name": "clicks", "role": "engagement", "type": "count"},
    {"name": "bought", "role": "outcome", "type": "binary"},
    {"name": "spend", "role": "revenue", "type": "revenue"},
]
SIM = {
    "clicks": SimMetric("count", 2.0, {"treatment": 0.3}),
    "bought": SimMetric("binary", 0.1, {"treatment": 0.2}),
    "spend": SimMetric("revenue", 0.1, {"treatment": 0.2}, amount=80.0),
}

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    frame = simulate_ab(n_per_arm=900, metrics=SIM, seed=11)[0]
    frame["spend"] = frame["spend"].round(2)  # as exported: cents
    return frame


def write_spec(folder: Path, data: dict, **extra) -> Path:
    spec = {
        "name": "scale",
        "unit": {"id": "unit_id"},
        "data": data,
        "arm_column": "arm",
        "control": "control",
        "arms": ["control", "treatment"],
        "metrics": METRICS,
        "covariates": ["segment"],
        **extra,
    }
    path = folder / "exp.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def cells_of(path: Path, **kwargs) -> Cells:
    spec = load_spec(path)
    source = open_source(spec, **kwargs)
    try:
        assert run_checks(source, spec).errors == []
        return build_cells(source, spec)
    finally:
        source.close()


def assert_same_cells(a: Cells, b: Cells) -> None:
    """Labels, indices and unit counts exactly equal; sums equal up to summation order."""
    assert a.arms == b.arms
    assert a.levels == b.levels
    np.testing.assert_array_equal(a.arm_idx, b.arm_idx)
    for cov in a.levels:
        np.testing.assert_array_equal(a.level_idx[cov], b.level_idx[cov])
    np.testing.assert_array_equal(a.n, b.n)
    for name, m in a.metrics.items():
        other = b.metrics[name]
        m_stats, other_stats = cell_statistics(m), cell_statistics(other)
        assert m_stats.keys() == other_stats.keys()
        for field in m_stats:
            x, y = m_stats[field], other_stats[field]
            if x is None:
                assert y is None
            else:
                np.testing.assert_allclose(x, y, rtol=1e-12, atol=0, err_msg=f"{name}.{field}")
    if a.pre_period is not None:
        assert b.pre_period is not None
        assert a.pre_period.cuts == b.pre_period.cuts
        assert a.pre_period.strata == b.pre_period.strata
        np.testing.assert_allclose(a.pre_period.sum_x, b.pre_period.sum_x, rtol=1e-12)
        np.testing.assert_allclose(a.pre_period.sum_xx, b.pre_period.sum_xx, rtol=1e-12)


def split(rows: pd.DataFrame, folder: Path, fmt: str) -> None:
    """Write the rows into three files of uneven size, in row order."""
    folder.mkdir(parents=True)
    bounds = [0, len(rows) // 5, len(rows) // 2, len(rows)]
    for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        part = rows.iloc[lo:hi]
        if fmt == "csv":
            part.to_csv(folder / f"week-{i:02d}.csv", index=False)
        else:
            part.to_parquet(folder / f"week-{i:02d}.parquet", index=False)


@pytest.fixture(scope="module")
def layouts(rows: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same rows as one CSV, CSV and Parquet globs, and a DuckDB database."""
    root = tmp_path_factory.mktemp("layouts")
    rows.to_csv(root / "rows.csv", index=False)
    split(rows, root / "csv", "csv")
    split(rows, root / "parquet", "parquet")
    con = duckdb.connect(str(root / "crm.duckdb"))
    con.register("frame", rows)
    con.execute("CREATE TABLE touches AS SELECT * FROM frame")
    con.execute("CREATE TABLE noise AS SELECT 1 AS x")
    con.close()
    return root


def test_cells_identical_across_files_formats_and_databases(layouts: Path):
    single = cells_of(write_spec(layouts, {"path": "rows.csv"}))
    assert single.n_units == 1800
    for data in (
        {"path": "csv/week-*.csv"},
        {"path": "parquet/*.parquet"},
        {"path": "parquet/week-*.parquet", "memory_limit": "64MB"},
        {"path": "crm.duckdb", "table": "touches"},
        {"path": "crm.duckdb", "query": "SELECT * FROM touches WHERE unit_id IS NOT NULL"},
    ):
        assert_same_cells(single, cells_of(write_spec(layouts, data)))


def test_glob_fingerprint_names_every_file(layouts: Path):
    spec = load_spec(write_spec(layouts, {"path": "csv/week-*.csv"}))
    source = open_source(spec)
    fp = source.fingerprint()
    source.close()
    assert fp["files"] == 3
    assert fp["rows"] == 1800
    assert [f.name for f in source.files] == ["week-00.csv", "week-01.csv", "week-02.csv"]
    # the same bytes split differently are a different input
    assert fp["sha256"] != open_source(load_spec(write_spec(layouts, {"path": "rows.csv"}))).sha256


def test_malformed_file_in_a_glob_is_named_with_its_line(rows: pd.DataFrame, tmp_path: Path):
    split(rows, tmp_path / "csv", "csv")
    bad = tmp_path / "csv" / "week-01.csv"
    lines = bad.read_text().splitlines()
    lines[6] += ",extra"
    bad.write_text("\n".join(lines) + "\n")
    spec = load_spec(write_spec(tmp_path, {"path": "csv/week-*.csv"}))
    with pytest.raises(DataError, match=r"week-01\.csv: line 7 has 7 field\(s\), but the header has 6"):
        open_source(spec)


def test_broken_parquet_file_in_a_glob_is_named(rows: pd.DataFrame, tmp_path: Path):
    split(rows, tmp_path / "pq", "parquet")
    (tmp_path / "pq" / "week-02.parquet").write_bytes(b"not parquet at all")
    spec = load_spec(write_spec(tmp_path, {"path": "pq/*.parquet"}))
    with pytest.raises(
        DataError, match=r"week-02\.parquet \(one of 3 files matched\): cannot be read as PARQUET"
    ):
        open_source(spec)


def check_messages(spec_path: Path) -> str:
    spec = load_spec(spec_path)
    with pytest.raises(DataError, match="the data fail") as info:
        run_checks(open_source(spec), spec)
    return str(info.value)


def test_bad_row_in_a_glob_is_located_by_file_and_row(rows: pd.DataFrame, tmp_path: Path):
    bad = rows.copy()
    bad.loc[bad.index[len(bad) // 2 + 4], "spend"] = -5.0  # 5th row of the third file
    split(bad, tmp_path / "pq", "parquet")
    message = check_messages(write_spec(tmp_path, {"path": "pq/*.parquet"}))
    assert "is negative in 1 row(s), e.g. week-02.parquet row 5 (-5.0)" in message


def test_empty_glob_and_database_settings_are_explained(layouts: Path, tmp_path: Path):
    with pytest.raises(DataError, match=r"no file matches this pattern"):
        open_source(load_spec(write_spec(layouts, {"path": "csv/month-*.csv"})))
    with pytest.raises(
        SpecError, match=r"data: a DuckDB database needs exactly one of 'table' .* or 'query'"
    ):
        load_spec(write_spec(layouts, {"path": "crm.duckdb"}))
    with pytest.raises(SpecError, match=r"data: 'table' is only for a DuckDB database"):
        load_spec(write_spec(layouts, {"path": "rows.csv", "table": "touches"}))
    with pytest.raises(
        SpecError, match=r"data.memory_limit: got 'lots', but expected a size such as '500MB'"
    ):
        load_spec(write_spec(layouts, {"path": "rows.csv", "memory_limit": "lots"}))
    with pytest.raises(
        DataError,
        match=r"data.table 'touch' is not in this database; its tables and views are: noise, touches",
    ):
        open_source(load_spec(write_spec(layouts, {"path": "crm.duckdb", "table": "touch"})))
    with pytest.raises(DataError, match=r"data.query fails in this database"):
        open_source(load_spec(write_spec(layouts, {"path": "crm.duckdb", "query": "SELECT * FROM nowhere"})))
    with pytest.raises(SpecError, match=r"engine: matching runs in memory"):
        load_spec(write_spec(layouts, {"path": "rows.csv"}, engine="spark", design="matched"))


def test_input_database_is_opened_read_only(layouts: Path):
    db = layouts / "crm.duckdb"
    before = db.read_bytes()
    source = open_source(load_spec(write_spec(layouts, {"path": "crm.duckdb", "table": "touches"})))
    with pytest.raises(duckdb.Error, match="read-only"):
        source.duck.execute("CREATE TABLE source_db.main.scratch AS SELECT 1")
    source.close()
    assert db.read_bytes() == before


def test_aggregation_streams_within_the_memory_limit(tmp_path: Path):
    """Two million rows are aggregated without the rows ever reaching Python."""
    n = 2_000_000
    folder = tmp_path / "big"
    folder.mkdir()
    duckdb.execute(
        f"COPY (SELECT 'u' || range AS unit_id, CASE WHEN hash(range) % 2 = 0 THEN 'control' "
        "ELSE 'treatment' END AS arm, 'seg' || (hash(range * 3) % 4) AS segment, "
        "CAST(hash(range * 5) % 4 AS BIGINT) AS clicks, CAST(hash(range * 7) % 10 = 0 AS INTEGER) AS bought, "
        "CASE WHEN hash(range * 11) % 10 = 0 THEN (hash(range * 13) % 10000) / 100.0 ELSE 0 END AS spend "
        f"FROM range({n})) TO '{folder}' (FORMAT parquet, PER_THREAD_OUTPUT true)"
    )
    spec = load_spec(write_spec(tmp_path, {"path": "big/*.parquet", "memory_limit": "200MB"}))
    tracemalloc.start()
    source = open_source(spec)
    assert source.fetchall("SELECT current_setting('memory_limit')")[0][0] in ("190.7 MiB", "200.0 MB")
    cells = build_cells(source, spec)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    source.close()
    assert cells.n_units == n
    in_pandas = n * 6 * 8  # the rows as a numeric frame, before any string column
    assert peak < in_pandas / 10, f"Python peak {peak / 1e6:.0f} MB: rows were loaded"


def test_progress_is_reported_while_a_query_runs():
    source = frame_source(pd.DataFrame({"x": [1]}))
    progress: list[float] = []
    with watch(source, progress.append, every=0.02):
        source.fetchall("SELECT count(*) FROM range(100000000) t(i) WHERE hash(i) % 7 = 0")
    source.close()
    assert len(progress) >= 3
    assert progress == sorted(progress)
    assert 0 <= progress[0] < progress[-1] <= 100


def test_spark_sql_is_rendered_from_the_duckdb_text():
    pytest.importorskip("sqlglot", reason="rendering SQL for Spark needs the spark extra (sqlglot)")
    sql = to_spark(
        f'SELECT CAST("arm" AS VARCHAR), fsum(1.0) AS n FROM {ROWS} WHERE TRY_CAST("x" AS DOUBLE) > 0 '
        "GROUP BY 1 ORDER BY 1"
    )
    assert "SUM(1.0)" in sql
    assert "CAST(`arm` AS STRING)" in sql
    assert "FSUM" not in sql.upper()


# ---- Spark (local mode) --------------------------------------------------------------------


@needs_spark
@pytest.mark.parametrize("data", [{"path": "csv/week-*.csv"}, {"path": "parquet/*.parquet"}])
def test_spark_cells_equal_duckdb_cells(layouts: Path, data: dict):
    duck = cells_of(write_spec(layouts, data))
    spark = cells_of(write_spec(layouts, data, engine="spark"))
    assert_same_cells(duck, spark)


@needs_spark
def test_spark_adjusts_for_pre_period_columns_as_duckdb_does(rows: pd.DataFrame, tmp_path: Path):
    """Exact quantile strata and the same sums: Spark runs percentile_disc, not an approximation."""
    rng = np.random.default_rng(2)
    history = rows.assign(
        prior=np.round(rng.gamma(2.0, 20.0, len(rows)), 2), visits=rng.poisson(2, len(rows))
    )
    split(history, tmp_path / "parquet", "parquet")
    data = {"path": "parquet/*.parquet"}
    duck = cells_of(write_spec(tmp_path, data, adjust=["prior", "visits"]))
    spark = cells_of(write_spec(tmp_path, data, adjust=["prior", "visits"], engine="spark"))
    assert duck.pre_period is not None
    assert len(duck.pre_period.cuts["prior"]) == 4  # quintiles of a continuous column
    assert_same_cells(duck, spark)


@needs_spark
def test_spark_checks_say_what_duckdb_says(rows: pd.DataFrame, tmp_path: Path):
    bad = rows.copy()
    bad.loc[bad.index[len(bad) // 2 + 4], "spend"] = -5.0
    bad.loc[bad.index[3], "arm"] = "treatmnet"
    split(bad, tmp_path / "csv", "csv")
    duck = check_messages(write_spec(tmp_path, {"path": "csv/*.csv"}))
    spark = check_messages(write_spec(tmp_path, {"path": "csv/*.csv"}, engine="spark"))
    assert spark == duck
    assert "week-02.csv row 5 (-5.0)" in spark
    assert "'treatmnet' (1 row(s); did you mean 'treatment'?)" in spark


@needs_spark
def test_spark_names_the_malformed_file(rows: pd.DataFrame, tmp_path: Path):
    split(rows, tmp_path / "csv", "csv")
    bad = tmp_path / "csv" / "week-02.csv"
    bad.write_text(bad.read_text().replace("\n", "\n1,control,s0,1,0,0.0,9\n", 1))
    spec = load_spec(write_spec(tmp_path, {"path": "csv/*.csv"}, engine="spark"))
    with pytest.raises(DataError, match=r"week-02\.csv: line 2 has 7 field\(s\), but the header has 6"):
        open_source(spec)


def test_engine_override_is_validated_like_the_spec(tmp_path: Path):
    from channelab.app import run_experiment

    spec = tmp_path / "matched.yaml"
    shutil.copy(ROOT / "experiments" / "matched_social_selling.yaml", spec)
    text = spec.read_text().replace("../data/", f"{ROOT / 'data'}/")
    spec.write_text(text)
    with pytest.raises(SpecError, match=r"engine: matching runs in memory on the units; use engine: duckdb"):
        run_experiment(spec, out_dir=tmp_path, engine="spark")


@needs_spark
def test_spark_reads_aggregated_funnels_as_duckdb_does(tmp_path: Path):
    from channelab.pipeline import validate

    spec = yaml.safe_load((EXPERIMENTS / "course_funnel_daily.yaml").read_text())
    spec["data"]["path"] = str(DATA / "course_funnel_daily.csv")
    (tmp_path / "duck.yaml").write_text(yaml.safe_dump(spec))
    (tmp_path / "spark.yaml").write_text(yaml.safe_dump({**spec, "engine": "spark"}))
    duck, spark = (validate(load_spec(tmp_path / f"{e}.yaml")).cells for e in ("duck", "spark"))
    assert_same_cells(duck, spark)
    for name in ("enrolled", "paid"):
        np.testing.assert_array_equal(duck.metrics[name].trials, spark.metrics[name].trials)
    np.testing.assert_array_equal(duck.funnel[0].engaged_outcome, spark.funnel[0].engaged_outcome)
