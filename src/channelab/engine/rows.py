"""Where an experiment's rows are opened: the spec's engine and path to a :class:`Source`."""

from __future__ import annotations

from channelab.engine.duck import open_file
from channelab.engine.source import Source
from channelab.engine.spark import open_spark
from channelab.spec import Spec


def open_source(spec: Spec) -> Source:
    """Register the spec's rows as the view :data:`ROWS` in its engine, with their fingerprint.

    Parameters
    ----------
    spec : Spec
        The experiment: its data (path, format, table or query) and engine.

    Returns
    -------
    Source
        The rows, registered in DuckDB or Spark.

    Raises
    ------
    DataError
        If the files are missing, empty, unreadable, or have no rows.
    SpecError
        If the spec names no data file.
    """
    path = spec.data_path  # raises SpecError when the spec names no data file
    assert spec.data is not None
    where = f"data.path in {spec.source_path or 'the spec'}"
    if spec.engine == "spark":
        return open_spark(path, spec.data, where=where)
    return open_file(
        path, spec.data, where=where, memory_limit=spec.data.memory_limit, timeout=spec.data.timeout_seconds
    )
