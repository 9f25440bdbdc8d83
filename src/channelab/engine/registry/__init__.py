"""The registry of results: one embedded DuckDB file that collects tests' effects for ``learn``.

One :class:`Record` per experiment x arm x metric (the posterior of the absolute difference and
of log(1 + lift), n per arm, the verdict, whether the arm was launched) and one
:class:`Covariance` per arm and pair of metrics (the within-arm covariance of those effects,
for a joint engagement -> outcome model). Storage only: the analysis turns its draws into
records, the pipeline decides when to add them.

The file is an output. It carries a schema version (:data:`SCHEMA_VERSION`, a one-row table
``channelab_registry``); a file that is not a DuckDB database, a database without that table,
or one of another version is refused with a :class:`~channelab.errors.DataError`. An addition
is validated whole, then written in one transaction: a failure, or a kill, adds nothing.
Values reach DuckDB only as parameters or as a registered Arrow table, never inside SQL text.

Modules: ``records`` (the dataclasses, vocabularies and checks), ``store`` (the file: opening,
adding in one transaction, reading, marking launched arms), ``imports`` (the importers' entry
points: ``imported``, what an import gives and the data fingerprint; ``reports``, JSON run
reports; ``summaries`` and ``summary_rows``, a CSV of published per-study summaries).
"""

from channelab.engine.registry.imports import (
    Imported,
    data_fingerprint,
    records_from_report,
    records_from_summaries,
)
from channelab.engine.registry.records import (
    SCHEMA_VERSION,
    SOURCES,
    VERDICTS,
    Added,
    Covariance,
    Record,
    RecordSource,
    RecordVerdict,
    pooled_channel,
)
from channelab.engine.registry.store import Registry, open_registry

__all__ = [
    "SCHEMA_VERSION",
    "SOURCES",
    "VERDICTS",
    "Added",
    "Covariance",
    "Imported",
    "Record",
    "RecordSource",
    "RecordVerdict",
    "Registry",
    "data_fingerprint",
    "open_registry",
    "pooled_channel",
    "records_from_report",
    "records_from_summaries",
]
