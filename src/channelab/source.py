"""Open an experiment's unit rows in DuckDB, without loading them into Python.

This is the only module that knows where rows come from. It exposes them to the checks
and the cell aggregation as a DuckDB view named :data:`ROWS`, and fingerprints the input
for provenance. Input files are only ever read.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from channelab.errors import DataError
from channelab.spec import DataSource, Spec

#: Name of the DuckDB view holding the raw unit rows.
ROWS = "unit_rows"


@dataclass(frozen=True)
class Source:
    """An open connection with the spec's rows registered as the view :data:`ROWS`."""

    con: duckdb.DuckDBPyConnection
    path: Path
    columns: dict[str, str]  # column name -> DuckDB type
    n_rows: int
    sha256: str
    size_bytes: int

    def fingerprint(self) -> dict[str, object]:
        """Provenance of the input: path, size, row count and SHA-256 of the bytes."""
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "bytes": self.size_bytes,
            "rows": self.n_rows,
        }


def quote(identifier: str) -> str:
    """Quote a column name for DuckDB SQL."""
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def open_source(spec: Spec, *, memory_limit: str | None = None) -> Source:
    """Register the spec's data file as a DuckDB view and return it with its fingerprint.

    Raises
    ------
    DataError
        If the file is missing, empty, unreadable, or has no data rows.
    """
    where = f"data.path in {spec.source_path or 'the spec'}"
    return open_file(spec.data_path, spec.data, where=where, memory_limit=memory_limit)


def open_file(
    path: Path, data: DataSource, *, where: str, memory_limit: str | None = None, text: bool = False
) -> Source:
    """Register any rows file (CSV or Parquet, as ``data`` describes) as the view :data:`ROWS`.

    ``where`` names the setting the path came from, for error messages (e.g. ``plan.pilot``).
    ``text`` reads every CSV column as text, keeping values such as ids exactly as written.
    """
    if not path.is_file():
        raise DataError(
            f"{path}: data file not found ({where}). Paths are relative to the experiment file's folder."
        )
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"{path}: the data file is empty (0 bytes). Export the unit rows again.")
    con = duckdb.connect(":memory:")
    if memory_limit:
        con.execute(f"SET memory_limit = {_literal(memory_limit)}")
    reader = (
        f"read_parquet({_literal(str(path))})"
        if data.resolved_format == "parquet"
        # skip = 0: otherwise the sniffer may skip leading rows to make a ragged file look
        # regular, silently dropping data instead of failing
        else f"read_csv({_literal(str(path))}, header = true, sample_size = -1, skip = 0, "
        f"delim = {_literal(data.delimiter)}, all_varchar = {str(text).lower()})"
    )
    try:
        con.execute(f"CREATE VIEW {ROWS} AS SELECT * FROM {reader}")
        described = con.execute(f"DESCRIBE {ROWS}").fetchall()
        n_rows = con.execute(f"SELECT count(*) FROM {ROWS}").fetchone()[0]  # type: ignore[index]
    except duckdb.Error as exc:
        if data.resolved_format == "csv" and (ragged := _ragged_line(path, data.delimiter)):
            line, got, want = ragged
            raise DataError(
                f"{path}: line {line} has {got} field(s), but the header has {want}. Fix that line "
                "(a missing or extra delimiter, or a text value containing one that needs quotes)."
            ) from None
        first = str(exc).strip().splitlines()[0].rstrip(".")
        raise DataError(
            f"{path}: cannot be read as {data.resolved_format.upper()}: {first}. "
            "Check the file format and that every line has the same number of fields."
        ) from None
    if n_rows == 0:
        raise DataError(f"{path}: the file has a header but no data rows.")
    return Source(
        con=con,
        path=path,
        columns={row[0]: row[1] for row in described},
        n_rows=int(n_rows),
        sha256=_sha256(path),
        size_bytes=size,
    )


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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
