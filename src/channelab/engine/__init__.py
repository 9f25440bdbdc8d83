"""The data engine: rows where they live in, checks and exact cells out.

Modules: ``source`` (the :class:`Source` view every query runs on, SQL rendering for Spark),
``duck`` (DuckDB reading of files, globs and databases), ``spark`` (the same with PySpark),
``rows`` (the spec's engine and path to a Source), ``timing`` (dates in SQL: entry, outcome
windows, the analysis date), ``checks`` (the package of checks before fitting, one module per
concern behind one protocol), ``aggregate`` (the SQL that builds :class:`~channelab.cells.Cells`),
``inputs`` (which files a data path names), ``registry`` (the DuckDB registry of results, one
row per experiment × arm × metric, for learning across experiments).

Dependency rule: imports :mod:`channelab.spec`, :mod:`channelab.cells`, :mod:`channelab.provenance`
and the base modules (``errors``, ``files``) only; never the model, plotting or reporting.
Rows stay in the engine: only cells and small check results come back to Python.

May import: errors, limits, files, spec, likelihoods, provenance, cells.
(Checked by ``tests/test_layers.py``.)
"""

from channelab.engine.aggregate import build_cells
from channelab.engine.checks import CheckReport, Finding, run_checks
from channelab.engine.rows import open_source
from channelab.engine.source import ROWS, Engine, Source, frame_source, watch

__all__ = [
    "ROWS",
    "CheckReport",
    "Engine",
    "Finding",
    "Source",
    "build_cells",
    "frame_source",
    "open_source",
    "run_checks",
    "watch",
]
