"""The registry file: opening (version and schema checked), adding in one transaction, reading.

Values reach DuckDB only as parameters or as a registered Arrow table, never inside SQL text;
identifiers in the SQL are this package's own constants.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import astuple
from pathlib import Path
from types import TracebackType

import duckdb
import pyarrow as pa

from channelab.engine.registry.records import (
    KEYS,
    META,
    SCHEMA_VERSION,
    TABLES,
    Added,
    Covariance,
    Record,
    checked_covariances,
    fault,
    first_of_each,
    named,
    now,
)
from channelab.errors import DataError, OutputError, first_few
from channelab.files import check_outputs
from channelab.limits import (
    MAX_REGISTRY_ADD,
    MAX_REGISTRY_ADD_COVARIANCES,
    MAX_REGISTRY_COVARIANCES,
    MAX_REGISTRY_RECORDS,
)

__all__ = ["Registry", "open_registry"]

_BATCH = "channelab_batch"
_ARROW = {"VARCHAR": pa.string(), "DATE": pa.date32(), "DOUBLE": pa.float64(), "BIGINT": pa.int64()}
_ARROW["BOOLEAN"] = pa.bool_()


def _arrow(table: str, items: Sequence[Record | Covariance]) -> pa.Table:
    columns = TABLES[table]
    rows = [astuple(i) for i in items]
    arrays = [pa.array([r[j] for r in rows], type=_ARROW[kind]) for j, (_, kind, _) in enumerate(columns)]
    return pa.Table.from_arrays(arrays, names=[name for name, _, _ in columns])


def _bounded[T](items: Iterable[T], bound: int, what: str, where: str) -> list[T]:
    out: list[T] = []
    for item in items:
        out.append(item)
        if len(out) > bound:
            raise DataError(
                f"{where}: more than {bound:,} {what} in one addition; add them in parts of at most "
                f"{bound:,}; nothing was added."
            )
    return out


class Registry:
    """An open registry of results (use as a context manager; see :func:`open_registry`).

    Attributes
    ----------
    path
        The registry file.
    writable
        Whether records may be added or marked (opened with ``create`` or ``write``).
    """

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, *, writable: bool) -> None:
        self.path = path
        self.writable = writable
        self._con = con

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._con.close()

    def __len__(self) -> int:
        return self._count("records")

    @property
    def is_empty(self) -> bool:
        """True when the registry holds no record."""
        return len(self) == 0

    def add(
        self, records: Iterable[Record], covariances: Iterable[Covariance] = (), *, origin: str | None = None
    ) -> Added:
        """Validate every record and covariance, then write the new ones in one transaction.

        Parameters
        ----------
        records
            Records to add; one already in the registry (same spec hash, data fingerprint, arm
            and metric), or earlier in the batch, is counted as a duplicate and not written.
        covariances
            Covariances of the same batch; each must name two of its records.
        origin
            What the records came from (a report or summary file), for error messages.

        Returns
        -------
        Added
            How many records and covariances were written, and how many were duplicates.

        Raises
        ------
        DataError
            A record or covariance is invalid (named, with the problem): nothing is added.
        OutputError
            The registry is read-only, or would hold more than its bound.
        """
        where = f"{self.path}" + (f" (adding from {origin})" if origin else "")
        self._need_write("add records")
        batch = _bounded(records, MAX_REGISTRY_ADD, "records", where)
        covs = _bounded(covariances, MAX_REGISTRY_ADD_COVARIANCES, "covariances", where)
        for i, record in enumerate(batch, start=1):
            if not isinstance(record, Record):
                raise DataError(f"{where}: item {i} is a {type(record).__name__}, not a Record.")
            if problem := fault(record):
                raise DataError(f"{where}: record {i} ({named(record)}): {problem}. Nothing was added.")
        unique, unique_covs = first_of_each(batch), first_of_each(checked_covariances(covs, batch, where))
        self._con.execute("BEGIN TRANSACTION")
        try:
            added = self._insert("records", unique, MAX_REGISTRY_RECORDS)
            added_covs = self._insert("covariances", unique_covs, MAX_REGISTRY_COVARIANCES)
            self._commit()
        except duckdb.Error as exc:
            self._rollback()
            raise OutputError(
                f"{self.path}: cannot write the registry ({str(exc).splitlines()[0]}); nothing was added."
            ) from None
        except BaseException:
            self._rollback()
            raise
        return Added(added, len(batch) - added, added_covs, len(covs) - added_covs)

    def _insert(self, table: str, items: Sequence[Record | Covariance], bound: int) -> int:
        """Insert the items whose key is not yet stored; refuse to grow past ``bound`` rows."""
        if not items:
            return 0
        names = ", ".join(name for name, _, _ in TABLES[table])
        same = " AND ".join(f"t.{k} = b.{k}" for k in KEYS[table])
        self._con.register(_BATCH, _arrow(table, items))
        try:
            inserted = _number(
                self._con,
                f"INSERT INTO {table} SELECT {names} FROM {_BATCH} AS b "
                f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {same})",
            )
        finally:
            self._con.unregister(_BATCH)
        if (total := self._count(table)) > bound:
            raise OutputError(
                f"{self.path}: would hold {total:,} {table}, more than {bound:,}; nothing was added. "
                "Start a new registry (another path) for further tests."
            )
        return inserted

    def _commit(self) -> None:
        self._con.execute("COMMIT")

    def _rollback(self) -> None:
        with contextlib.suppress(duckdb.Error):  # the transaction may already be gone
            self._con.execute("ROLLBACK")

    def records(self, channel: str | None = None, metric: str | None = None) -> list[Record]:
        """The stored records, optionally of one channel and/or one metric, in a stable order.

        Parameters
        ----------
        channel
            Only records pooled under this channel.
        metric
            Only records of this metric.

        Returns
        -------
        list of Record
            Ordered by creation time, test, arm and metric; each checked as on :meth:`add`.
        """
        names = ", ".join(name for name, _, _ in TABLES["records"])
        rows = self._con.execute(
            f"SELECT {names} FROM records WHERE (? IS NULL OR channel = ?) AND (? IS NULL OR metric = ?) "
            "ORDER BY created, spec_hash, data_fingerprint, arm, metric",
            [channel, channel, metric, metric],
        ).fetchall()
        return [self._stored(Record(*row)) for row in rows]

    def covariances(self, channel: str | None = None, metric: str | None = None) -> list[Covariance]:
        """The stored covariances, optionally of arms pooled under one channel and/or one metric.

        Parameters
        ----------
        channel
            Only covariances of arms whose records are pooled under this channel.
        metric
            Only covariances in which this metric is one of the pair.

        Returns
        -------
        list of Covariance
            Ordered by test, arm and metric pair.
        """
        names = ", ".join(f"c.{name}" for name, _, _ in TABLES["covariances"])
        rows = self._con.execute(
            f"SELECT {names} FROM covariances AS c WHERE (? IS NULL OR ? IN (c.metric_a, c.metric_b)) "
            "AND (? IS NULL OR EXISTS (SELECT 1 FROM records AS r WHERE r.spec_hash = c.spec_hash "
            "AND r.data_fingerprint = c.data_fingerprint AND r.arm = c.arm AND r.channel = ?)) "
            "ORDER BY c.spec_hash, c.data_fingerprint, c.arm, c.metric_a, c.metric_b",
            [metric, metric, channel, channel],
        ).fetchall()
        return [self._stored(Covariance(*row)) for row in rows]

    def _stored[T: (Record, Covariance)](self, item: T) -> T:
        if problem := fault(item):
            raise DataError(
                f"{self.path}: the stored {type(item).__name__.lower()} ({named(item)}) is not valid: "
                f"{problem}. The registry was changed outside channelab; rebuild it (registry import)."
            )
        return item

    def mark_launched(self, spec_hash: str, arm: str) -> int:
        """Mark every record of one test's arm as launched.

        Parameters
        ----------
        spec_hash
            The test's experiment-file hash, as stored in its records, or enough of its first
            characters to name one test.
        arm
            The arm that was launched.

        Returns
        -------
        int
            Records updated (one per metric and data fingerprint of that arm).

        Raises
        ------
        DataError
            No record of that test and arm.
        """
        self._need_write("mark an arm as launched")
        spec_hash = self._one_test(spec_hash)
        updated = _number(
            self._con, "UPDATE records SET launched = true WHERE spec_hash = ? AND arm = ?", [spec_hash, arm]
        )
        if updated:
            return updated
        arms = self._con.execute(
            "SELECT DISTINCT arm FROM records WHERE spec_hash = ? ORDER BY arm", [spec_hash]
        ).fetchall()
        known = (
            f"that test's arms are {first_few([a for (a,) in arms], 10)}" if arms else "no test has that hash"
        )
        raise DataError(
            f"{self.path}: no record of arm {arm!r} in the test with spec hash {spec_hash!r} ({known}); "
            "give the spec hash and arm as the test's report states them."
        )

    def _one_test(self, prefix: str) -> str:
        """The one stored spec hash that starts with ``prefix`` (a whole hash is its own prefix)."""
        found = self._con.execute(
            "SELECT DISTINCT spec_hash FROM records WHERE starts_with(spec_hash, ?) ORDER BY 1 LIMIT 3",
            [prefix],
        ).fetchall()
        if len(found) > 1:
            raise DataError(
                f"{self.path}: spec hash {prefix!r} starts more than one test's "
                f"({first_few([h for (h,) in found], 2)}); give more of its characters."
            )
        return str(found[0][0]) if found else prefix

    def _need_write(self, what: str) -> None:
        if not self.writable:
            raise OutputError(f"{self.path}: opened read-only; cannot {what}. Open it for writing.")

    def _count(self, table: str) -> int:
        return _number(self._con, f"SELECT count(*) FROM {table}")


def _number(con: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[object] = ()) -> int:
    """The one number a statement returns (a count, or rows inserted or updated), read to the end."""
    rows = con.execute(sql, parameters).fetchall()
    return int(rows[0][0]) if rows else 0


def open_registry(
    path: Path | str, *, create: bool, write: bool = False, inputs: Iterable[Path] = ()
) -> Registry:
    """Open a registry of results: read-only, or for writing (``write``), creating it (``create``).

    Parameters
    ----------
    path
        The registry file (by convention ``*.duckdb``); its folders are created when writing.
    create
        Open for writing, and start a new registry when the file does not exist.
    write
        Open an existing registry for writing (``registry mark``) without ever creating one.
    inputs
        Paths the run read, which the registry may not be.

    Returns
    -------
    Registry
        The open registry; close it, or use it as a context manager.

    Raises
    ------
    DataError
        The file is missing (when not creating), is not a DuckDB database or not a channelab
        registry, is of another schema version, is in use by another process, or holds more
        records than channelab reads.
    OutputError
        When writing: the path is a folder or an input, or its folder cannot be written.
    """
    path = Path(path)
    writing = create or write
    _check_path(path, writing=writing, inputs=inputs)
    if not path.exists() and not create:
        raise DataError(
            f"{path}: no registry here. Check the path; a registry is started by the first run "
            "that adds its results to it."
        )
    try:
        con = duckdb.connect(str(path), read_only=not writing)
        con.execute("SET enable_external_access = false")  # nothing in the file reaches other files
        con.execute("SET lock_configuration = true")
    except duckdb.Error as exc:
        raise _open_error(path, exc) from None
    try:
        _prepare(con, path, create=create)
    except BaseException:
        con.close()
        raise
    return Registry(path, con, writable=writing)


def _check_path(path: Path, *, writing: bool, inputs: Iterable[Path]) -> None:
    """Refuse a folder, an input, or an existing file that is not a DuckDB database."""
    if writing:
        check_outputs([path], inputs=inputs)  # a folder, an input; creates the parent folders
    elif path.is_dir():
        raise DataError(f"{path}: is a folder; give the path of the registry file.")
    if not path.exists():
        return
    try:
        with path.open("rb") as f:
            head = f.read(12)
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror}).") from None
    if head[8:12] != b"DUCK":
        kind = "an empty file" if not head else "not a DuckDB database (a CSV or other file?)"
        raise DataError(
            f"{path}: not a channelab registry: {kind}. Give the path of a registry channelab wrote, "
            "or a new path to start one; this file was left unchanged."
        )


def _open_error(path: Path, exc: duckdb.Error) -> DataError:
    said = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "lock" in said.lower() or isinstance(exc, duckdb.ConnectionException):
        return DataError(
            f"{path}: the registry is in use, by another process or already open in this one ({said}); "
            "wait for the other to finish, then try again."
        )
    return DataError(f"{path}: DuckDB cannot open this registry ({said}). Check it is a channelab registry.")


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str, bool]]]:
    """Per base table of the main schema, its (column, type, nullable), in order."""
    tables: dict[str, list[tuple[str, str, bool]]] = {
        name: []
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND NOT internal"
        ).fetchall()
    }
    for table, column, kind, nullable in con.execute(
        "SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal "
        "ORDER BY table_name, column_index"
    ).fetchall():
        if table in tables:
            tables[table].append((column, kind, bool(nullable)))
    return tables


def _create(con: duckdb.DuckDBPyConnection) -> None:
    """The tables and the version row, in one transaction."""
    con.execute("BEGIN TRANSACTION")
    for table, columns in TABLES.items():
        spec = ", ".join(f"{name} {kind}{'' if null else ' NOT NULL'}" for name, kind, null in columns)
        key = f", PRIMARY KEY ({', '.join(KEYS[table])})" if table in KEYS else ""
        con.execute(f"CREATE TABLE {table} ({spec}{key})")
    con.execute(f"INSERT INTO {META} VALUES (?, ?)", [SCHEMA_VERSION, now()])
    con.execute("COMMIT")


def _prepare(con: duckdb.DuckDBPyConnection, path: Path, *, create: bool) -> None:
    """Check the version and the tables; start an empty database as a registry when creating."""
    tables = _columns(con)
    if not tables and create:
        _create(con)
        return
    if META not in tables or tables[META] != list(TABLES[META]):
        what = (
            "an empty DuckDB database"
            if not tables
            else f"a DuckDB database of tables {first_few(sorted(tables))}"
        )
        raise DataError(
            f"{path}: not a channelab registry ({what}, without the {META} table). Give the path of a "
            "registry channelab wrote, or a new path to start one; this file was left unchanged."
        )
    versions = con.execute(f"SELECT version FROM {META}").fetchall()
    if len(versions) != 1:
        raise DataError(
            f"{path}: the {META} table holds {len(versions)} rows, not one; the registry is damaged."
        )
    if (version := versions[0][0]) != SCHEMA_VERSION:
        newer = "a newer channelab; upgrade channelab" if version > SCHEMA_VERSION else "an older channelab"
        raise DataError(
            f"{path}: a channelab registry of schema version {version}; this channelab reads version "
            f"{SCHEMA_VERSION}. It was written by {newer}, or re-create it from the reports with "
            "registry import."
        )
    for table in ("records", "covariances"):
        if tables.get(table) != list(TABLES[table]):
            raise DataError(
                f"{path}: the registry's {table} table is missing or has other columns than schema "
                f"version {SCHEMA_VERSION}'s; it was changed outside channelab. Re-create it "
                "(registry import)."
            )
    for table, bound in (("records", MAX_REGISTRY_RECORDS), ("covariances", MAX_REGISTRY_COVARIANCES)):
        if (count := _number(con, f"SELECT count(*) FROM {table}")) > bound:
            raise DataError(f"{path}: holds {count:,} {table}, more than the {bound:,} channelab reads.")
