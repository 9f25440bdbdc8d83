"""DuckDB reading: CSV or Parquet files (one or a glob) or a DuckDB database, streamed, never loaded.

Errors name the file, and for a ragged CSV the line; the fingerprint hashes every file read.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

from channelab.engine.source import FILE_COLUMN, ROWS, Source, literal, quote
from channelab.errors import DataError
from channelab.spec.core import DataSource


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
    con.execute(f"SET temp_directory = {literal(str(Path(tempfile.gettempdir()) / 'channelab-duckdb'))}")
    if memory_limit:
        con.execute(f"SET memory_limit = {literal(memory_limit)}")
        con.execute("SET preserve_insertion_order = false")  # lets big scans stream within the limit
    try:
        relation = attach(con, path, data) if fmt == "duckdb" else reader(files, data, text=text)
        described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        hidden = f", filename AS {FILE_COLUMN}" if len(files) > 1 else ""  # to locate rows in messages
        con.execute(f"CREATE VIEW {ROWS} AS SELECT *{hidden} FROM {relation}")
        n_rows = con.execute(f"SELECT count(*) FROM {ROWS}").fetchone()[0]  # type: ignore[index]
    except duckdb.Error as exc:
        con.close()
        raise read_error(files, data, exc, text=text) from None
    return file_source(path, files, {row[0]: row[1] for row in described}, int(n_rows), con=con)


def reader(files: list[Path], data: DataSource, *, text: bool = False) -> str:
    """DuckDB table function reading ``files`` as one table."""
    listed = "[" + ", ".join(literal(str(f)) for f in files) + "]"
    if data.resolved_format == "parquet":
        return f"read_parquet({listed})"
    # skip = 0: otherwise the sniffer may skip leading rows to make a ragged file look
    # regular, silently dropping data instead of failing
    return (
        f"read_csv({listed}, header = true, sample_size = -1, skip = 0, "
        f"delim = {literal(data.delimiter)}, all_varchar = {str(text).lower()})"
    )


def attach(con: duckdb.DuckDBPyConnection, path: Path, data: DataSource) -> str:
    """Attach a DuckDB database read-only; the relation of its ``table`` or ``query``."""
    con.execute(f"ATTACH {literal(str(path))} AS source_db (READ_ONLY)")
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


def read_error(files: list[Path], data: DataSource, exc: Exception, *, text: bool) -> DataError:
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
                    probe.execute(f"SELECT count(*) FROM {reader([f], data, text=text)}").fetchall()
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


def file_source(
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
        sha256=_sha256_of(files),
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


def _sha256_of(files: list[Path]) -> str:
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
