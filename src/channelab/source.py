"""Open an experiment's unit rows where they live, without loading them into Python.

This is the only module that knows where rows come from and which engine reads them. It
exposes them to the checks and the cell aggregation as a view named :data:`ROWS`, runs
their SQL (written once, in DuckDB's dialect, and rendered for Spark by sqlglot), and
fingerprints the input for provenance. Input files are only ever read.

Engines: DuckDB (default) reads a CSV or Parquet file, a glob of them, or a table or query
of a DuckDB database, streaming with an optional memory limit. Spark (``engine: spark``,
the ``spark`` extra) reads the same CSV or Parquet files and gives identical cells.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import os
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb
import pandas as pd

from channelab.errors import DataError
from channelab.spec import DataSource, Spec

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Name of the view holding the raw unit rows.
ROWS = "unit_rows"

#: Hidden columns locating a row in its file, for error messages (Spark: both; DuckDB: the file).
_FILE, _ROW = "__channelab_file", "__channelab_row"

Engine = Literal["duckdb", "spark"]


@dataclass(frozen=True)
class Source:
    """Rows registered as the view :data:`ROWS` in one engine, with their fingerprint.

    Exactly one of ``con`` (DuckDB) and ``spark`` is set. ``files`` lists the files read
    (several for a glob), in the order their rows are numbered.
    """

    con: duckdb.DuckDBPyConnection | None
    path: Path
    columns: dict[str, str]  # column name -> engine type
    n_rows: int
    sha256: str
    size_bytes: int
    files: tuple[Path, ...] = ()
    spark: SparkSession | None = None

    def fetchall(self, sql: str) -> list[tuple[Any, ...]]:
        """Run ``sql`` (DuckDB dialect) and return its rows."""
        if self.spark is not None:
            return [tuple(r) for r in self.spark.sql(to_spark(sql)).collect()]
        return self.duck.execute(sql).fetchall()

    def df(self, sql: str) -> pd.DataFrame:
        """Run ``sql`` (DuckDB dialect) and return its result as a DataFrame."""
        if self.spark is not None:  # results are small (cells): no Arrow or pandas conversion layer
            result = self.spark.sql(to_spark(sql))
            return pd.DataFrame.from_records([tuple(r) for r in result.collect()], columns=result.columns)
        return self.duck.execute(sql).df()

    @property
    def duck(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection (for steps that only DuckDB runs, such as matching)."""
        if self.con is None:
            raise RuntimeError("this step needs the DuckDB engine")
        return self.con

    def first_rows(self, condition: str, value: str, limit: int) -> list[tuple[str, Any]]:
        """Where the first ``limit`` rows meeting ``condition`` are, in file order, with ``value``.

        Locations read ``row 12`` (1-based, header excluded) or, for several files,
        ``week-03.csv row 12``.
        """
        several = len(self.files) > 1
        if self.spark is not None:
            file, window = _FILE, f"PARTITION BY {_FILE} ORDER BY {_ROW}"
        else:  # DuckDB numbers rows in file order when run on one thread
            file, window = (_FILE, f"PARTITION BY {_FILE}") if several else ("NULL", "")
        sql = (
            "SELECT f_, rn_, v_ FROM (SELECT "
            f"{file} AS f_, row_number() OVER ({window}) AS rn_, "
            f"{value} AS v_, ({condition}) AS hit_ FROM {ROWS}) "
            f"WHERE hit_ ORDER BY f_, rn_ LIMIT {int(limit)}"
        )
        if self.con is not None:
            self.con.execute("SET threads = 1")  # row numbers must follow file order
            try:
                rows = self.con.execute(sql).fetchall()
            finally:
                self.con.execute("RESET threads")
        else:
            rows = self.fetchall(sql)
        return [((f"{Path(str(f)).name} " if several else "") + f"row {rn}", v) for f, rn, v in rows]

    def close(self) -> None:
        """Release the DuckDB connection (a Spark session is shared and stays up)."""
        if self.con is not None:
            self.con.close()

    def fingerprint(self) -> dict[str, object]:
        """Provenance of the input: path, size, row count and SHA-256 of the bytes."""
        out: dict[str, object] = {
            "path": str(self.path),
            "sha256": self.sha256,
            "bytes": self.size_bytes,
            "rows": self.n_rows,
        }
        if len(self.files) > 1:
            out["files"] = len(self.files)
        return out


def quote(identifier: str) -> str:
    """Quote a column name for SQL (DuckDB and, after rendering, Spark)."""
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def to_spark(sql: str) -> str:
    """Render DuckDB SQL in Spark's dialect (``fsum``, DuckDB's exact sum, becomes ``sum``)."""
    import sqlglot
    from sqlglot import exp

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.lower() == "fsum":
            return exp.Sum(this=node.expressions[0])
        return node

    return sqlglot.parse_one(sql, read="duckdb").transform(rename).sql(dialect="spark")


def open_source(spec: Spec) -> Source:
    """Register the spec's rows as the view :data:`ROWS` in its engine, with their fingerprint.

    Raises :class:`DataError` if the files are missing, empty, unreadable, or have no rows.
    """
    where = f"data.path in {spec.source_path or 'the spec'}"
    if spec.engine == "spark":
        return open_spark(spec.data_path, spec.data, where=where)
    return open_file(spec.data_path, spec.data, where=where, memory_limit=spec.data.memory_limit)


def data_files(path: Path, data: DataSource, *, where: str) -> list[Path]:
    """The files ``path`` names (a glob expands to its matches, sorted), each non-empty."""
    if data.is_glob:
        files = [Path(p) for p in sorted(glob.glob(str(path), recursive=True)) if Path(p).is_file()]
        if not files:
            raise DataError(
                f"{path}: no file matches this pattern ({where}). Paths are relative to the "
                "experiment file's folder; check the folder and the pattern."
            )
    else:
        if not path.is_file():
            raise DataError(
                f"{path}: data file not found ({where}). Paths are relative to the experiment file's folder."
            )
        files = [path]
    for f in files:
        if f.stat().st_size == 0:
            raise DataError(f"{f}: the data file is empty (0 bytes). Export the unit rows again.")
    return files


def open_file(
    path: Path, data: DataSource, *, where: str, memory_limit: str | None = None, text: bool = False
) -> Source:
    """Register rows (CSV or Parquet files, or a DuckDB table or query) as the view :data:`ROWS`.

    ``where`` names the setting the path came from, for error messages (e.g. ``plan.pilot``).
    ``text`` reads every CSV column as text, keeping values such as ids exactly as written.
    """
    files = data_files(path, data, where=where)
    fmt = data.resolved_format
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar_print = false")  # progress is reported by watch()
    con.execute(f"SET temp_directory = {_literal(str(Path(tempfile.gettempdir()) / 'channelab-duckdb'))}")
    if memory_limit:
        con.execute(f"SET memory_limit = {_literal(memory_limit)}")
        con.execute("SET preserve_insertion_order = false")  # lets big scans stream within the limit
    try:
        relation = _attach(con, path, data) if fmt == "duckdb" else _reader(files, data, text=text)
        described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        hidden = f", filename AS {_FILE}" if len(files) > 1 else ""  # to locate rows in messages
        con.execute(f"CREATE VIEW {ROWS} AS SELECT *{hidden} FROM {relation}")
        n_rows = con.execute(f"SELECT count(*) FROM {ROWS}").fetchone()[0]  # type: ignore[index]
    except duckdb.Error as exc:
        con.close()
        raise _read_error(files, data, exc, text=text) from None
    return _file_source(path, files, {row[0]: row[1] for row in described}, int(n_rows), con=con)


def _reader(files: list[Path], data: DataSource, *, text: bool = False) -> str:
    """DuckDB table function reading ``files`` as one table."""
    listed = "[" + ", ".join(_literal(str(f)) for f in files) + "]"
    if data.resolved_format == "parquet":
        return f"read_parquet({listed})"
    # skip = 0: otherwise the sniffer may skip leading rows to make a ragged file look
    # regular, silently dropping data instead of failing
    return (
        f"read_csv({listed}, header = true, sample_size = -1, skip = 0, "
        f"delim = {_literal(data.delimiter)}, all_varchar = {str(text).lower()})"
    )


def _attach(con: duckdb.DuckDBPyConnection, path: Path, data: DataSource) -> str:
    """Attach a DuckDB database read-only; the relation of its ``table`` or ``query``."""
    con.execute(f"ATTACH {_literal(str(path))} AS source_db (READ_ONLY)")
    con.execute("SET search_path = 'memory.main,source_db.main'")
    if data.query is not None:
        try:
            con.execute(f"DESCRIBE ({data.query})")
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise DataError(f"{path}: data.query fails in this database: {first}. Fix the query.") from None
        return f"({data.query})"
    tables = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'source_db' "
            "UNION SELECT view_name FROM duckdb_views() WHERE database_name = 'source_db' "
            "ORDER BY 1"
        ).fetchall()
    ]
    if data.table not in tables:
        raise DataError(
            f"{path}: data.table {data.table!r} is not in this database; its tables and views are: "
            f"{', '.join(tables) or 'none'}."
        )
    return f"source_db.main.{quote(str(data.table))}"


def _read_error(files: list[Path], data: DataSource, exc: Exception, *, text: bool) -> DataError:
    """A message naming the file (and line) that could not be read."""
    fmt = data.resolved_format
    if fmt == "csv":
        for f in files:
            if ragged := _ragged_line(f, data.delimiter):
                line, got, want = ragged
                return DataError(
                    f"{f}: line {line} has {got} field(s), but the header has {want}. Fix that line "
                    "(a missing or extra delimiter, or a text value containing one that needs quotes)."
                )
    bad = files[0]
    if len(files) > 1:  # read each file alone to find the culprit
        probe = duckdb.connect(":memory:")
        try:
            for f in files:
                try:
                    probe.execute(f"SELECT count(*) FROM {_reader([f], data, text=text)}").fetchall()
                except duckdb.Error as one:
                    bad, exc = f, one
                    break
        finally:
            probe.close()
    first = str(exc).strip().splitlines()[0].rstrip(".")
    where = "" if len(files) == 1 else f" (one of {len(files)} files matched)"
    return DataError(
        f"{bad}{where}: cannot be read as {fmt.upper()}: {first}. "
        "Check the file format and that every line has the same number of fields."
    )


@contextmanager
def watch(source: Source, report: Callable[[float], None], *, every: float = 0.5) -> Iterator[None]:
    """Report the percentage done of the DuckDB queries run inside the block, every ``every`` s."""
    if source.con is None:
        yield
        return
    con = source.con
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    stop = threading.Event()

    def poll() -> None:
        last = -1.0
        while not stop.wait(every):
            try:
                pct = float(con.query_progress())
            except duckdb.Error:
                continue
            if pct >= 0 and int(pct) != int(last):
                last = pct
                report(pct)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def frame_source(frame: pd.DataFrame, *, name: str = "<data frame>") -> Source:
    """Register an in-memory DataFrame as the rows (simulations, power studies, tests).

    The frame is read, not copied or modified; its fingerprint hashes the frame's contents.
    """
    if frame.empty:
        raise DataError(f"{name}: the data frame has no rows.")
    con = duckdb.connect(":memory:")
    con.register("__channelab_frame", frame)
    con.execute(f"CREATE VIEW {ROWS} AS SELECT * FROM __channelab_frame")
    described = con.execute(f"DESCRIBE {ROWS}").fetchall()
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()
    return Source(
        con=con,
        path=Path(name),
        columns={row[0]: row[1] for row in described},
        n_rows=len(frame),
        sha256=digest,
        size_bytes=int(frame.memory_usage(deep=False).sum()),
    )


# ---- Spark ------------------------------------------------------------------------------------


def spark_session() -> SparkSession:
    """The local Spark session (all cores, quiet), or the active one on a cluster."""
    # PySpark warns about pandas 3 on start; channelab collects plain rows, not pandas frames
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise DataError("engine: spark needs PySpark and Java 17: pip install 'channelab[spark]'") from None
    session = SparkSession.getActiveSession()
    if session is None:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        session = (
            SparkSession.builder.master(os.environ.get("CHANNELAB_SPARK_MASTER", "local[*]"))
            .appName("channelab")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("FATAL")  # failures reach the user as DataErrors
    # on a cluster's session too: parse every CSV field, so that a line with extra fields
    # fails instead of being cut
    session.conf.set("spark.sql.csv.parser.columnPruning.enabled", "false")
    return session


def open_spark(path: Path, data: DataSource, *, where: str) -> Source:
    """Register CSV or Parquet files as the Spark temporary view :data:`ROWS`."""
    from pyspark.sql import functions as F

    files = data_files(path, data, where=where)
    spark = spark_session()
    names = [str(f) for f in files]
    try:
        if data.resolved_format == "parquet":
            frame = spark.read.parquet(*names)
        else:
            frame = spark.read.csv(names, header=True, inferSchema=True, mode="FAILFAST", sep=data.delimiter)
        columns = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
        frame = frame.withColumn(_FILE, F.input_file_name()).withColumn(_ROW, F.monotonically_increasing_id())
        frame.createOrReplaceTempView(ROWS)
        n_rows = frame.count()
    except Exception as exc:  # Spark's reader errors come as Py4J as well as PySpark exceptions
        raise _read_error(files, data, exc, text=False) from None
    return _file_source(path, files, columns, int(n_rows), spark=spark)


# ---- helpers ----------------------------------------------------------------------------------


def _file_source(
    path: Path,
    files: list[Path],
    columns: dict[str, str],
    n_rows: int,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    spark: SparkSession | None = None,
) -> Source:
    """The :class:`Source` of rows read from ``files``, fingerprinted; refuses zero rows."""
    if n_rows == 0:
        if con is not None:
            con.close()
        raise DataError(f"{path}: the file has a header but no data rows.")
    return Source(
        con=con,
        path=path,
        columns=columns,
        n_rows=n_rows,
        sha256=_sha256(files),
        size_bytes=sum(f.stat().st_size for f in files),
        files=tuple(files),
        spark=spark,
    )


def _ragged_line(path: Path, delimiter: str) -> tuple[int, int, int] | None:
    """First line whose field count differs from the header's, as (line, fields, header fields)."""
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as f:
            reader = csv.reader(f, delimiter=delimiter)
            header = next(reader, [])
            for fields in reader:
                if fields and len(fields) != len(header):
                    return reader.line_num, len(fields), len(header)
    except csv.Error:
        return None
    return None


def _sha256(files: list[Path]) -> str:
    """SHA-256 of one file's bytes; for several, of their names and hashes in order."""
    digests = []
    for path in files:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        digests.append(h.hexdigest())
    if len(files) == 1:
        return digests[0]
    combined = "\n".join(f"{p.name} {d}" for p, d in zip(files, digests, strict=True))
    return hashlib.sha256(combined.encode()).hexdigest()
