"""Where the data live and what they are, and what a data source cannot be combined with."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Literal, Protocol, Self

from pydantic import Field, field_validator, model_validator

from channelab.limits import MAX_QUERY_SECONDS
from channelab.spec.base import Strict
from channelab.spec.core import Metric, Unit
from channelab.spec.summaries import OriginalArm, table_problems

#: Where the data came from, said on page 1 of every report and in its JSON (``data.origin``).
Origin = Literal["simulated", "published", "observed"]


class DataSource(Strict):
    """Where the data live; a relative path is resolved against the YAML file's folder.

    ``layout: aggregated``: each row holds many units (an arm × week of a CRM report): the
    ``units`` column counts them, and each metric's column holds its sum over them (successes
    for a binary metric), with further statistics in ``<column>_sum_sq`` (Σ y²) and, for the
    lognormal hurdle, ``<column>_n_pos``, ``<column>_sum_log``, ``<column>_sum_log_sq``.

    Attributes
    ----------
    path
        The data file. It may be a glob (``logs/week-*.parquet``): the matching files are read
        as one table, streamed rather than loaded. ``**`` searches every sub-folder, a folder
        reached through a symbolic link too, but a pattern that reaches one folder or one file
        twice (a link back to a parent, two links to one place) is refused, never read twice.
        Every match must be a regular file (not a pipe or a device); hidden names are skipped.
    layout
        ``rows`` (one row per unit) or ``aggregated`` (many units per row).
    units
        For aggregated rows, the column counting each row's units.
    summaries
        Instead of ``path``: a paper's per-arm table (n, and a proportion or a mean and sd per
        metric, each published or ``assumed``), in the ``original:`` block's format.
    format
        ``csv``, ``parquet`` or ``duckdb``; by default inferred from the file's suffix.
    delimiter
        The field separator of a CSV file.
    table
        In a DuckDB database file (``.duckdb``/``.db``), the table or view to read.
    query
        In a DuckDB database file, a SQL ``SELECT`` to run instead of reading a table.
    memory_limit
        A cap on DuckDB's memory (e.g. ``"2GB"``); larger aggregations spill to disk. By default
        DuckDB's own: 80% of the machine's memory. A query that needs more is stopped, and the
        message says to raise this.
    timeout_seconds
        The time limit of each query over the data, in seconds (half an hour by default; at most
        a week). A query still running then, such as an endless ``WITH RECURSIVE`` in
        ``query``, is stopped with a message; raise the limit for a very large file.
    origin
        Where the data came from: ``simulated`` (made by a simulator, so the effects are known
        and say nothing about the real world), ``published`` (a paper's numbers) or ``observed``
        (recorded from real units). By default ``published`` for ``summaries`` and ``observed``
        for a data file: the spec reads only the files it names, so a truth file beside the data
        does not change it. See :attr:`resolved_origin`.
    """

    path: Path | None = None
    layout: Literal["rows", "aggregated"] = "rows"
    units: str = "units"
    summaries: dict[str, OriginalArm] | None = None
    format: Literal["csv", "parquet", "duckdb"] | None = None
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","
    table: str | None = None
    query: str | None = None
    memory_limit: str | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=MAX_QUERY_SECONDS)] | None = None
    origin: Origin | None = None

    @field_validator("memory_limit")
    @classmethod
    def _memory_size(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", v):
            raise ValueError(f"got {v!r}, but expected a size such as '500MB' or '2GB'")
        return v

    @property
    def resolved_format(self) -> Literal["csv", "parquet", "duckdb"]:
        """Format given in the spec, or inferred from the file suffix."""
        if self.format is not None:
            return self.format
        suffix = self.path.suffix.lower() if self.path is not None else ""
        if suffix in {".parquet", ".pq"}:
            return "parquet"
        return "duckdb" if suffix in {".duckdb", ".db"} else "csv"

    @property
    def resolved_origin(self) -> Origin:
        """Origin given in the spec, else ``published`` for summaries and ``observed`` for a file."""
        if self.origin is not None:
            return self.origin
        return "published" if self.summaries is not None else "observed"

    @property
    def is_glob(self) -> bool:
        """Whether ``path`` names several files by a pattern."""
        return self.path is not None and any(ch in str(self.path) for ch in "*?[")

    @model_validator(mode="after")
    def _database_needs_one_relation(self) -> Self:
        if (self.path is None) == (self.summaries is None):
            raise ValueError(
                "give exactly one of 'path' (a data file) or 'summaries' (a paper's per-arm n, "
                "proportions or means and sds)"
            )
        if self.summaries is not None:
            if self.layout != "rows" or self.format or self.table or self.query:
                raise ValueError(
                    "'summaries' are the data themselves; remove layout, format, table and query"
                )
            return self
        given = [k for k in ("table", "query") if getattr(self, k) is not None]
        if self.resolved_format == "duckdb":
            if len(given) != 1:
                raise ValueError(
                    "a DuckDB database needs exactly one of 'table' (a table or view name) "
                    f"or 'query' (a SELECT), got {given or 'neither'}"
                )
            if self.is_glob:
                raise ValueError("'path' must name one database file, not a pattern")
        elif given:
            raise ValueError(
                f"'{given[0]}' is only for a DuckDB database (.duckdb/.db or format: duckdb); "
                "for CSV or Parquet files remove it"
            )
        return self


class _Sourced(Protocol):
    """What the checks of this module read of the spec."""

    @property
    def data(self) -> DataSource | None: ...
    @property
    def unit(self) -> Unit: ...
    @property
    def design(self) -> str: ...
    @property
    def engine(self) -> str: ...
    @property
    def covariates(self) -> Sequence[str]: ...
    @property
    def metrics(self) -> Sequence[Metric]: ...
    @property
    def arms(self) -> Mapping[str, object]: ...


def data_problems(spec: _Sourced) -> list[str]:
    """What the data source cannot be combined with: Spark, unit ids, matching, one line each.

    Parameters
    ----------
    spec
        The experiment definition being validated.
    """
    d = spec.data
    problems = []
    if spec.engine == "spark" and d is not None and d.resolved_format == "duckdb":
        problems.append("engine: Spark cannot read a DuckDB database; export the rows to Parquet")
    if d is None or (d.layout != "aggregated" and d.summaries is None):
        return problems
    kind = "aggregated rows" if d.layout == "aggregated" else "published summaries"
    if spec.unit.id is not None:
        problems.append(
            f"unit.id: {kind} hold many units per row, so there is no unit id; remove it "
            "(duplicate units cannot be checked, and the report says so)"
        )
    if spec.design == "matched":
        problems.append(f"design: matching needs one row per unit, not {kind}")
    return problems


def summaries_problems(spec: _Sourced) -> list[str]:
    """What published summaries as the data (``data.summaries``) cannot be, one line each.

    Parameters
    ----------
    spec
        The experiment definition being validated.
    """
    d = spec.data
    if d is None or d.summaries is None:
        return []
    problems = []
    if spec.covariates or spec.unit.randomised_by:
        problems.append(
            "data.summaries: a per-arm table has no strata or clusters; remove covariates "
            "and unit.randomised_by"
        )
    if spec.engine == "spark":
        problems.append("engine: published summaries need no engine; remove engine: spark")
    problems += table_problems(
        "data.summaries", d.summaries, spec.metrics, list(spec.arms), every_metric=True
    )
    problems += [
        f"metrics.{i}.revenue_likelihood: a mean and sd per arm cannot fit the lognormal "
        "hurdle (it needs the amounts); use cell_means"
        for i, m in enumerate(spec.metrics)
        if m.type == "revenue" and m.revenue_likelihood == "lognormal_hurdle"
    ]
    return problems
