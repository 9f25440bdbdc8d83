"""DuckDB reading: CSV or Parquet files (one or a glob) or a DuckDB database, streamed, never loaded.

Errors name the file, and for a ragged CSV the line; the fingerprint hashes every file read.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import duckdb

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

from channelab.engine.inputs import data_files as data_files
from channelab.engine.inputs import matching_files as matching_files
from channelab.engine.source import FILE_COLUMN, ROWS, Limited, Source, files_sha256, literal, quote
from channelab.errors import DataError, first_few
from channelab.limits import CSV_SNAPSHOT_BYTES, MAX_LINE_BYTES, QUERY_SECONDS, QUERY_SPILL_LIMIT
from channelab.spec import DataSource


def _csv_header(path: Path, delimiter: str) -> tuple[int, list[str]]:
    """Blank lines before the header, and the header's field names; refuses a header DuckDB would alter.

    A blank first line would make DuckDB read the header as data; repeated names would be
    renamed silently (``arm``, ``arm_1``). Only the first lines of the file are read.
    """
    try:
        with path.open("rb") as f:
            head = f.read(MAX_LINE_BYTES + 1)  # a sparse or binary file has no line to end
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror}).") from None
    cut = len(head) > MAX_LINE_BYTES
    blank, header = 0, None
    for line in io.StringIO(head[:MAX_LINE_BYTES].decode("utf-8-sig", errors="replace"), newline=""):
        if cut and not line.endswith(("\n", "\r")):
            break  # the bound cut this line
        if line.strip():
            header = next(csv.reader([line], delimiter=delimiter))
            break
        blank += 1
    if header is None and cut:
        raise DataError(
            f"{path}: no header line ends within the first {_size(MAX_LINE_BYTES)}: the header is "
            "longer than any real one, or this is not a CSV file (a binary or sparse file?). Check "
            "data.path and data.format."
        )
    if header is None:
        raise DataError(f"{path}: the file holds only blank lines; export the unit rows again.")
    names = [h.strip() for h in header]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(
            f"{path}: the header names column(s) {repeated} more than once; give every column its own "
            "name (a reader would otherwise rename or drop one)."
        )
    if "" in names:
        raise DataError(
            f"{path}: column {names.index('') + 1} of the header has no name; name it or remove it."
        )
    return blank, names


def delimiter_hint(names: list[str], delimiter: str) -> str:
    """Advice when a one-column header looks split by another delimiter (e.g. ';' from Excel)."""
    if len(names) != 1:
        return ""
    for other in (";", "\t", "|", ","):
        if other != delimiter and other in names[0]:
            shown = "\\t" if other == "\t" else other
            return f" The header looks separated by {shown!r}: set data.delimiter: '{shown}'."
    return ""


def open_file(
    path: Path,
    data: DataSource,
    *,
    where: str,
    memory_limit: str | None = None,
    timeout: float | None = None,
    text: bool = False,
) -> Source:
    """Register rows (CSV or Parquet files, or a DuckDB table or query) as the view :data:`ROWS`.

    ``where`` names the setting the path came from, for error messages (e.g. ``plan.pilot``).
    ``text`` reads every CSV column as text, keeping values such as ids exactly as written.
    A database is attached read-only and then locked down (:func:`_lock_down`) before its
    table or query is touched. Every query, from here on too, is stopped after ``timeout``
    seconds (by default :data:`~channelab.limits.QUERY_SECONDS`).
    """
    files = data_files(path, data, where=where)
    fmt = data.resolved_format
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = true")  # read by watch(), never printed
    con.execute("SET enable_progress_bar_print = false")
    con.execute(f"SET temp_directory = {literal(str(Path(tempfile.gettempdir()) / 'channelab-duckdb'))}")
    con.execute(f"SET max_temp_directory_size = {literal(QUERY_SPILL_LIMIT)}")
    if memory_limit:
        con.execute(f"SET memory_limit = {literal(memory_limit)}")
        con.execute("SET preserve_insertion_order = false")  # lets big scans stream within the limit
    limits = Limited(con, name=str(path), seconds=timeout or QUERY_SECONDS, memory=memory_limit)
    try:
        with limits.limited():
            if fmt == "parquet" and len(files) > 1:
                _same_columns(con, files, data)
            relation = (
                _attach(con, path, data, where=where) if fmt == "duckdb" else _reader(files, data, text=text)
            )
            described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
            hidden = f", filename AS {FILE_COLUMN}" if len(files) > 1 else ""  # to locate rows in messages
            if fmt == "csv" and sum(f.stat().st_size for f in files) <= CSV_SNAPSHOT_BYTES:
                # parsed once (every later query reads this table, not the text again)
                con.execute(f"CREATE TEMP TABLE __channelab_csv AS SELECT *{hidden} FROM {relation}")
                relation, hidden = "__channelab_csv", ""
            con.execute(f"CREATE VIEW {ROWS} AS SELECT *{hidden} FROM {relation}")
            n_rows = con.execute(f"SELECT count(*) FROM {ROWS}").fetchone()[0]  # type: ignore[index]
    except DataError:
        con.close()
        raise
    except duckdb.Error as exc:
        con.close()
        raise read_error(files, data, exc, text=text) from None
    columns = {row[0]: row[1] for row in described}
    source = file_source(path, files, columns, int(n_rows), con=con, locked=fmt == "duckdb")
    return replace(source, timeout=limits.seconds, memory_limit=memory_limit)


def _lock_down(con: duckdb.DuckDBPyConnection) -> None:
    """No file or network access from here on, and no further change of any setting."""
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def _single_select(sql: str, *, where: str) -> str:
    """``sql`` if it is exactly one SELECT statement (its text, without a final ';'); else a DataError.

    DuckDB's own parser decides, so that no second statement, and no other kind of statement,
    can hide in the text.
    """
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise DataError(f"{where}: data.query is not valid SQL: {_first_line(exc)}. Fix the query.") from None
    if len(statements) != 1:
        raise DataError(
            f"{where}: data.query holds {len(statements)} statements; channelab runs exactly one SELECT "
            "(remove the ';'-separated statements)."
        )
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:
        raise DataError(
            f"{where}: data.query is a {statement.type.name} statement; channelab runs only one SELECT "
            "(reading, never writing or configuring)."
        )
    return statement.query.strip().removesuffix(";")


def _same_columns(con: duckdb.DuckDBPyConnection, files: list[Path], data: DataSource) -> None:
    """Refuse Parquet files that disagree on their columns or on a column's kind (number, text, ...).

    DuckDB would otherwise cast every file to the first file's types (1.5 read as 2), or fail
    later with a message that names no file. Whole and fractional numbers may mix: the files
    are read by column name and the numbers widened (``union_by_name``).
    """
    first, reference = files[0], _kinds(con, files[0])
    for f in files[1:]:
        kinds = _kinds(con, f)
        missing = [c for c in reference if c not in kinds]
        extra = [c for c in kinds if c not in reference]
        if missing or extra:
            what = "; ".join(
                part
                for part in (
                    f"no column(s) {missing}" if missing else "",
                    f"extra column(s) {extra}" if extra else "",
                )
                if part
            )
            raise DataError(
                f"{f}: {what} compared with {first.name}. Every file of data.path must have the same "
                "columns; export them again with one schema."
            )
        for col, kind in kinds.items():
            if kind != reference[col]:
                raise DataError(
                    f"{f}: column {col!r} holds {kind} values where {first.name} holds {reference[col]}. "
                    "Every file must give a column the same kind of value; export them again."
                )


_NUMBER = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL"}
    | {"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)


def _kinds(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    """Each column of one Parquet file and its kind: number, text, true/false or the type itself."""
    rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({literal(str(path))})").fetchall()
    out = {}
    for name, dtype, *_ in rows:
        base = str(dtype).split("(")[0]
        out[str(name)] = (
            "number"
            if base in _NUMBER
            else "text"
            if base == "VARCHAR"
            else "true/false"
            if base == "BOOLEAN"
            else str(dtype)
        )
    return out


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0].rstrip(".")[:300]


_TYPE_CANDIDATES = "['BOOLEAN', 'BIGINT', 'DOUBLE', 'VARCHAR']"


def _reader(files: list[Path], data: DataSource, *, text: bool = False) -> str:
    """DuckDB table function reading ``files`` as one table."""
    listed = "[" + ", ".join(literal(str(f)) for f in files) + "]"
    if data.resolved_format == "parquet":  # by column name: see _same_columns
        return f"read_parquet({listed}, union_by_name = true)"
    # skip: exactly the blank lines before the header, never more, or the sniffer may skip rows to
    # make a ragged file look regular; quote given, so that an unbalanced quote fails. Dates stay
    # text: the sniffer would read 'epoch' as 1970-01-01 and 'infinity' as a date in a DATE
    # column, where engine.timing.day reads only what is written as one
    blanks = {_csv_header(f, data.delimiter)[0] for f in files}
    if len(blanks) > 1:
        raise DataError(
            f"{files[0].parent}: the files of data.path start with different numbers of blank lines; "
            "remove the blank lines before each header."
        )
    return (
        f"read_csv({listed}, header = true, sample_size = -1, skip = {blanks.pop()}, "
        f"delim = {literal(data.delimiter)}, quote = '\"', escape = '\"', all_varchar = {str(text).lower()}, "
        f"auto_type_candidates = {_TYPE_CANDIDATES})"
    )


def _attach(con: duckdb.DuckDBPyConnection, path: Path, data: DataSource, *, where: str) -> str:
    """Attach a DuckDB database read-only, lock the connection down, and return its relation.

    The relation is the spec's ``table``, or a view of its ``query``, which must be exactly one
    SELECT (:func:`_single_select`). After :func:`_lock_down` nothing can read or write a file,
    attach another database or change a setting, whatever the query says.
    """
    query = _single_select(data.query, where=f"{path} ({where})") if data.query is not None else None
    con.execute(f"ATTACH {literal(str(path))} AS source_db (READ_ONLY)")
    con.execute("SET search_path = 'memory.main,source_db.main'")
    tables = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'source_db' "
            "UNION SELECT view_name FROM duckdb_views() WHERE database_name = 'source_db' "
            "ORDER BY 1"
        ).fetchall()
    ]
    _lock_down(con)
    if query is not None:
        view = f"CREATE VIEW memory.main.__channelab_query AS {query}"
        statements = duckdb.extract_statements(view)  # defence in depth: still one statement
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.CREATE:
            raise DataError(f"{path}: data.query must be one plain SELECT; simplify it.")
        try:
            con.execute(view)
            con.execute("DESCRIBE SELECT * FROM memory.main.__channelab_query")
        except duckdb.Error as exc:
            raise DataError(
                f"{path}: data.query fails in this database: {_first_line(exc)}. Fix the query."
            ) from None
        return "memory.main.__channelab_query"
    if data.table not in tables:
        raise DataError(
            f"{path}: data.table {data.table!r} is not in this database; its tables and views are: "
            f"{first_few(sorted(tables), 30) or 'none'}."
        )
    return f"source_db.main.{quote(str(data.table))}"


def read_error(files: list[Path], data: DataSource, exc: Exception, *, text: bool) -> DataError:
    """A message naming the file (and line) that could not be read."""
    fmt = data.resolved_format
    if isinstance(exc, DataError):
        return exc
    if fmt == "csv":
        for f in files:
            if line := _open_quote(f):
                return DataError(
                    f'{f}: line {line} opens a quoted field (") that is never closed. Close the quote, '
                    'or double it ("") if it is part of the value.'
                )
            if ragged := _ragged_line(f, data.delimiter):
                line, got, want = ragged
                return DataError(
                    f"{f}: line {line} has {got} field(s), but the header has {want}. Fix that line "
                    "(a missing or extra delimiter, or a text value containing one that needs quotes)."
                )
    bad = files[0]
    if len(files) > 1:  # read each file alone to find the culprit
        probe = duckdb.connect(":memory:")
        limited = Limited(probe, name=str(files[0].parent), seconds=QUERY_SECONDS)
        try:
            for f in files:
                try:
                    limited.execute(f"SELECT count(*) FROM {_reader([f], data, text=text)}").fetchall()
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
    locked: bool = False,
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
        sha256=files_sha256(files),
        size_bytes=sum(f.stat().st_size for f in files),
        files=tuple(files),
        spark=spark,
        locked=locked,
    )


def _open_quote(path: Path) -> int | None:
    """The line where a quoted field opens and, by the end of the file, has not closed.

    Lines are read in pieces of at most :data:`_PIECE` characters, so that a line of gigabytes
    (a sparse file, a field without end) never sits in memory whole.
    """
    opened, number, odd = None, 1, False
    with path.open(encoding="utf-8", errors="replace") as f:
        while piece := f.readline(_PIECE):
            odd ^= piece.count('"') % 2 == 1
            if piece.endswith("\n"):
                if odd:
                    opened = number if opened is None else None
                number, odd = number + 1, False
    if odd:
        opened = number if opened is None else None
    return opened


#: Characters read at once where a line may be read in pieces.
_PIECE = 2**20


def _lines(f: TextIO) -> Iterator[str]:
    """The lines of ``f``, up to the first longer than :data:`~channelab.limits.MAX_LINE_BYTES`."""
    while line := f.readline(MAX_LINE_BYTES):
        if len(line) >= MAX_LINE_BYTES and not line.endswith(("\n", "\r")):
            return  # too long to hold: the fields of later lines are not counted
        yield line


def _ragged_line(path: Path, delimiter: str) -> tuple[int, int, int] | None:
    """First line whose field count differs from the header's, as (line, fields, header fields)."""
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as f:
            reader = csv.reader(_lines(f), delimiter=delimiter)
            header = next(reader, [])
            for fields in reader:
                if fields and len(fields) != len(header):
                    return reader.line_num, len(fields), len(header)
    except csv.Error:
        return None
    return None


def _size(n: int) -> str:
    """A byte count as read in messages: ``8 MiB``, ``64 KiB``, ``100 bytes``."""
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    return f"{n:,} bytes"
