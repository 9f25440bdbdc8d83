"""Rows registered as one view in an engine: the :class:`Source` every check and aggregation queries.

SQL is written once, in DuckDB's dialect, and rendered for Spark by sqlglot (:func:`to_spark`).
Input files are only ever read.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb
import pandas as pd

from channelab.errors import DataError
from channelab.likelihoods import LIKELIHOODS, fitted
from channelab.limits import QUERY_SECONDS
from channelab.provenance import shown_path

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from channelab.spec import Metric

#: Name of the view holding the raw unit rows.
ROWS = "unit_rows"

#: Hidden columns locating a row in its file, for error messages (Spark: both; DuckDB: the file).
FILE_COLUMN, ROW_COLUMN = "__channelab_file", "__channelab_row"

#: The engines rows can be read in (the spec's ``engine``).
Engine = Literal["duckdb", "spark"]


@dataclass(frozen=True)
class Source:
    """Rows registered as the view :data:`ROWS` in one engine, with their fingerprint.

    Exactly one of ``con`` (DuckDB) and ``spark`` is set.

    Attributes
    ----------
    con : duckdb.DuckDBPyConnection or None
        The DuckDB connection holding the view (``None`` on Spark).
    path : Path
        The data as the spec names them (a file, a glob or a database), for messages.
    columns : dict of str to str
        Each column's name and engine type.
    n_rows : int
        Rows in the view.
    sha256 : str
        The fingerprint of the bytes read (:func:`files_sha256`, or of a frame's contents).
    size_bytes : int
        Bytes read.
    files : tuple of Path
        The files read (several for a glob), in the order their rows are numbered.
    spark : SparkSession or None
        The Spark session holding the view (``None`` on DuckDB).
    locked : bool
        Whether the settings are locked (a database source): no SET, as for user SQL.
    timeout : float
        The time limit of each query, in seconds (``data.timeout_seconds``).
    memory_limit : str or None
        DuckDB's memory limit as the spec sets it (``data.memory_limit``), for messages.
    """

    con: duckdb.DuckDBPyConnection | None
    path: Path
    columns: dict[str, str]  # column name -> engine type
    n_rows: int
    sha256: str
    size_bytes: int
    files: tuple[Path, ...] = ()
    spark: SparkSession | None = None
    locked: bool = False  # settings locked (a database source): no SET, as for user SQL
    timeout: float = QUERY_SECONDS
    memory_limit: str | None = None

    def fetchall(self, sql: str) -> list[tuple[Any, ...]]:
        """Run ``sql`` (DuckDB dialect) and return its rows."""
        if self.spark is not None:
            return [tuple(r) for r in self.spark.sql(to_spark(sql)).collect()]
        return self.duck.execute(sql).fetchall()

    def quantiles(self, columns: Sequence[str], probs: Sequence[float]) -> list[list[float]]:
        """Exact quantiles of numeric columns: values of the data (``percentile_disc``), per column.

        Written per engine: sqlglot renders DuckDB's exact quantiles as Spark's approximate ones.
        """
        if self.spark is not None:
            aggs = [
                f"percentile_disc({p!r}) WITHIN GROUP (ORDER BY TRY_CAST(`{c.replace('`', '``')}` AS DOUBLE))"
                for c in columns
                for p in probs
            ]
            flat = [float(v) for v in self.spark.sql(f"SELECT {', '.join(aggs)} FROM {ROWS}").collect()[0]]
            return [flat[i * len(probs) : (i + 1) * len(probs)] for i in range(len(columns))]
        listed = ", ".join(map(repr, probs))
        (row,) = self.duck.execute(
            "SELECT "
            + ", ".join(f"quantile_disc({number(c)}, [{listed}])" for c in columns)
            + f" FROM {ROWS}"
        ).fetchall()
        return [[float(v) for v in values] for values in row]

    def df(self, sql: str) -> pd.DataFrame:
        """Run ``sql`` (DuckDB dialect) and return its result as a DataFrame."""
        if self.spark is not None:  # results are small (cells): no Arrow or pandas conversion layer
            result = self.spark.sql(to_spark(sql))
            return pd.DataFrame.from_records([tuple(r) for r in result.collect()], columns=result.columns)
        return self.duck.execute(sql).df()

    @property
    def duck(self) -> Limited:
        """The DuckDB connection, each query under the time limit (for steps only DuckDB runs)."""
        if self.con is None:
            raise RuntimeError("this step needs the DuckDB engine")
        return Limited(self.con, name=str(self.path), seconds=self.timeout, memory=self.memory_limit)

    def first_rows(self, condition: str, value: str, limit: int) -> list[tuple[str, Any]]:
        """Where the first ``limit`` rows meeting ``condition`` are, in file order, with ``value``.

        Locations read ``row 12`` (1-based, header excluded) or, for several files,
        ``week-03.csv row 12``.
        """
        several = len(self.files) > 1
        if self.spark is not None:
            file, window = FILE_COLUMN, f"PARTITION BY {FILE_COLUMN} ORDER BY {ROW_COLUMN}"
        else:  # DuckDB numbers rows in file order when run on one thread
            file, window = (FILE_COLUMN, f"PARTITION BY {FILE_COLUMN}") if several else ("NULL", "")
        sql = (
            "SELECT f_, rn_, v_ FROM (SELECT "
            f"{file} AS f_, row_number() OVER ({window}) AS rn_, "
            f"{value} AS v_, ({condition}) AS hit_ FROM {ROWS}) "
            f"WHERE hit_ ORDER BY f_, rn_ LIMIT {int(limit)}"
        )
        if self.con is not None and not self.locked:
            self.con.execute("SET threads = 1")  # row numbers must follow file order
            try:
                rows = self.duck.execute(sql).fetchall()
            finally:
                self.con.execute("RESET threads")
        else:
            rows = self.fetchall(sql)
        return [((f"{Path(str(f)).name} " if several else "") + f"row {rn}", v) for f, rn, v in rows]

    def close(self) -> None:
        """Release the DuckDB connection (a Spark session is shared and stays up)."""
        if self.con is not None:
            self.con.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def verify_unchanged(self) -> None:
        """Refuse to go on if a file was changed after it was opened (checked ≠ analysed ≠ hashed).

        Checks, matching and aggregation each read the files; hashing them again at the end
        proves that all of them saw the bytes the fingerprint names.
        """
        if self.files and files_sha256(self.files) != self.sha256:
            raise DataError(
                f"{self.path}: the data changed while channelab was reading it (its SHA-256 differs "
                "from when it was opened). Wait until the file is written completely, then run again."
            )

    def fingerprint(self) -> dict[str, object]:
        """Provenance of the input: path, size, row count and SHA-256 of the bytes."""
        out: dict[str, object] = {
            "path": shown_path(self.path),
            "sha256": self.sha256,
            "bytes": self.size_bytes,
            "rows": self.n_rows,
        }
        if len(self.files) > 1:
            out["files"] = len(self.files)
        return out


class Limited:
    """A DuckDB connection whose every query is stopped past a time limit, with a clear message.

    A timer thread interrupts the query (:meth:`duckdb.DuckDBPyConnection.interrupt`); DuckDB
    running out of memory is reported the same way, naming the setting to raise.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The connection.
    name : str
        The data as messages name them.
    seconds : float
        The time limit of one query (and of fetching its result).
    memory : str or None
        The spec's ``data.memory_limit``, for messages.
    """

    def __init__(
        self, con: duckdb.DuckDBPyConnection, *, name: str, seconds: float, memory: str | None = None
    ) -> None:
        self.con, self.name, self.seconds, self.memory = con, name, seconds, memory

    @contextmanager
    def limited(self) -> Iterator[None]:
        """Run the block's DuckDB work under the time limit; DuckDB's limits become DataErrors."""
        fired = threading.Event()

        def stop() -> None:
            fired.set()
            self.con.interrupt()

        timer = threading.Timer(self.seconds, stop)
        timer.daemon = True
        timer.start()
        try:
            yield
        except duckdb.InterruptException:
            if not fired.is_set():  # interrupted by the user (Ctrl-C), not by the limit
                raise
            raise DataError(
                f"{self.name}: a query over the data ran longer than data.timeout_seconds "
                f"({self.seconds:g} s) and was stopped. If the data are that large, raise "
                "data.timeout_seconds in the experiment file; if data.query is yours, look for a join "
                "or a WITH RECURSIVE without end."
            ) from None
        except duckdb.OutOfMemoryException as exc:
            limit = f"data.memory_limit ({self.memory})" if self.memory else "DuckDB's limit (80% of memory)"
            raise DataError(
                f"{self.name}: a query over the data needed more memory than {limit} allows "
                f"({str(exc).strip().splitlines()[0][:200]}). Raise data.memory_limit (e.g. '8GB'), "
                "or simplify data.query."
            ) from None
        finally:
            timer.cancel()

    def execute(self, sql: str, parameters: object = None) -> Limited:
        """Run ``sql`` (with ``parameters``); fetch its result from this object."""
        with self.limited():
            self.con.execute(sql, parameters)
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Every row of the last query's result."""
        with self.limited():
            return self.con.fetchall()

    def fetchone(self) -> tuple[Any, ...] | None:
        """The next row of the last query's result."""
        with self.limited():
            return self.con.fetchone()

    def df(self) -> pd.DataFrame:
        """The last query's result as a DataFrame."""
        with self.limited():
            return self.con.df()

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """Register ``frame`` as the view ``name`` (read, never copied)."""
        self.con.register(name, frame)


def quote(identifier: str) -> str:
    """Quote a column name for SQL (DuckDB and, after rendering, Spark)."""
    return '"' + identifier.replace('"', '""') + '"'


def metric_value(metric: Metric, types: Mapping[str, str]) -> str:
    """SQL for a metric's value as a DOUBLE, NULL where it is not a number.

    Binary metrics in a text column also accept ``true``/``false`` in any case (as many
    exports write them), as 1 and 0. ``types`` (column name to engine type, as in
    :attr:`Source.columns`) spares numeric columns that text handling, which costs more than
    the rest of a scan. Every check and aggregation reads values through this one expression.
    """
    col = quote(metric.source_column)
    number = f"TRY_CAST({col} AS DOUBLE)"
    if metric.type != "binary" or _numeric_type(types.get(metric.source_column, "")):
        return number
    text = f"lower(trim(CAST({col} AS VARCHAR)))"
    return f"(CASE {text} WHEN 'true' THEN 1.0 WHEN 'false' THEN 0.0 ELSE {number} END)"


#: Engine types (DuckDB's and Spark's spellings) read as numbers without text handling. Not
#: BOOLEAN: DuckDB pushes a cast of a CSV column into its reader, which then fails on ``TRUE``.
_NUMERIC_TYPES = re.compile(
    r"(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|LONG|SHORT|BYTE|FLOAT|REAL|DOUBLE|DECIMAL|NUMERIC)"
    r"(\(\s*\d+\s*(,\s*\d+\s*)?\))?",
    re.IGNORECASE,
)


def _numeric_type(engine_type: str) -> bool:
    return _NUMERIC_TYPES.fullmatch(engine_type.strip()) is not None


def number(column: str) -> str:
    """SQL for a column read as a DOUBLE, NULL where it is not a number."""
    return f"TRY_CAST({quote(column)} AS DOUBLE)"


def aggregate_columns(metric: Metric, columns: Collection[str]) -> tuple[dict[str, str], list[str]]:
    """For aggregated rows: the columns of ``metric``'s statistics present, and those missing.

    The metric's own column holds its sum (successes for binary); ``<column>_<statistic>``
    each other statistic its likelihood or a fallback for it names
    (:mod:`channelab.likelihoods`): ``_sum_sq`` for Σ y², ``_n_pos``, ``_sum_log`` and
    ``_sum_log_sq`` for the lognormal hurdle. Missing means needed by the likelihood that
    will be fitted (:func:`channelab.likelihoods.fitted`), but absent.

    Parameters
    ----------
    metric
        The metric.
    columns
        The columns of the aggregated rows.
    """
    wanted = statistic_columns(metric)
    present = {stat: c for stat, c in wanted.items() if c in columns}
    used = fitted(metric.likelihood, present)
    return present, [wanted[stat] for stat in used.statistics if stat in wanted and stat not in present]


def statistic_columns(metric: Metric) -> dict[str, str]:
    """The column of each summed statistic that aggregated rows of ``metric`` may carry.

    Σ y² is read whenever given (it gives each arm's sd), except for a binary metric, whose
    0/1 values make it Σ y. A ratio's five sums: Σ x in its numerator's column and Σ x² in
    ``<numerator>_sum_sq``, Σ y and Σ y² likewise for its denominator's, and Σ x y in
    ``<numerator>_x_<denominator>``.
    """
    if metric.type == "ratio":
        x, y = metric.data_columns
        return {
            "total": x,
            "sum_sq": f"{x}_sum_sq",
            "den_total": y,
            "den_sum_sq": f"{y}_sum_sq",
            "cross": f"{x}_x_{y}",
        }
    row, col = metric.likelihood, metric.source_column
    candidates = [row, *(LIKELIHOODS[key] for key in row.fallbacks)]
    stats = dict.fromkeys(["total", *([] if metric.type == "binary" else ["sum_sq"])])
    stats |= dict.fromkeys(s for c in candidates for s in c.statistics if s != "frequencies")
    return {stat: col if stat == "total" else f"{col}_{stat}" for stat in stats}


def literal(text: str) -> str:
    """Quote a text value as an SQL string literal."""
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


@contextmanager
def watch(source: Source, report: Callable[[float], None], *, every: float = 0.5) -> Iterator[None]:
    """Report the percentage done of the DuckDB queries run inside the block, every ``every`` s.

    Parameters
    ----------
    source : Source
        The rows whose queries are watched (on Spark nothing is reported).
    report : callable
        Called with the percentage done (0 to 100), once per whole percent reached.
    every : float
        Seconds between two polls of the progress.
    """
    if source.con is None:
        yield
        return
    con = source.con  # progress is switched on, silently, when the source is opened
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


@functools.cache
def _frames() -> duckdb.DuckDBPyConnection:
    """The in-memory database of every frame source, each source a session (cursor) of it.

    A session opens in about 3 ms and a new database in 20 ms, which was a third of the time
    each simulated test's cells took in ``channelab design``.
    """
    return duckdb.connect(":memory:")


def frame_source(frame: pd.DataFrame, *, name: str = "<data frame>") -> Source:
    """Register an in-memory DataFrame as the rows (simulations, power studies, tests).

    The frame is read, not copied or modified; its fingerprint hashes the frame's contents.

    Parameters
    ----------
    frame : pandas.DataFrame
        The unit rows.
    name : str
        How messages name the rows (the source's ``path``).

    Raises
    ------
    DataError
        If the frame has no rows.
    """
    if frame.empty:
        raise DataError(f"{name}: the data frame has no rows.")
    con = _frames().cursor()  # its own session; the frame and view are the session's alone
    con.execute("SET enable_progress_bar = true")  # read by watch(), never printed
    con.execute("SET enable_progress_bar_print = false")
    con.register("__channelab_frame", frame)
    con.execute(f"CREATE TEMP VIEW {ROWS} AS SELECT * FROM __channelab_frame")
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


def files_sha256(files: list[Path] | tuple[Path, ...]) -> str:
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
