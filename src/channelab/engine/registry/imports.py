"""Importing results made elsewhere into the registry: the public entry points in one place.

:func:`records_from_report` reads a channelab JSON run report (``reports``);
:func:`records_from_summaries` a CSV of published per-study summaries (``summaries``, whose
docstring describes the columns); both return :class:`Imported` (records, covariances, notes).
:func:`data_fingerprint` is the one rule that keys a test's data, for runs and imports alike.
"""

from channelab.engine.registry.imported import Imported, data_fingerprint
from channelab.engine.registry.reports import records_from_report
from channelab.engine.registry.summaries import records_from_summaries

__all__ = ["Imported", "data_fingerprint", "records_from_report", "records_from_summaries"]
