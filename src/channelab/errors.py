"""Exceptions raised by channelab.

Every error a user can cause derives from one root, so the CLI catches it once::

    ChannelabError            anything channelab refuses to do, with a message saying how to fix it
    ├── SpecError             the experiment definition (YAML) is malformed or inconsistent
    ├── DataError             the data cannot be read, or fails a blocking check (unknown arm,
    │                         duplicated unit, missing or impossible value, empty file)
    ├── OutputError           an output cannot be written, would overwrite an input, or its
    │                         folder is being written by another run
    └── ModelError            the model cannot be built or sampled from these cells

Exit codes of the CLI: 2 for a ``SpecError``, ``DataError`` or ``OutputError`` (bad input), 4 for a
``ModelError``. A fit that runs but fails the convergence gate is *not* an exception: the
report is still written, marked "not converged", and the CLI exits with code 3. Code 1 is
left to crashes (a bug in channelab).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date


class ChannelabError(Exception):
    """Root of every error channelab raises on purpose.

    Attributes
    ----------
    exit_code
        The CLI's exit code for this error (see the module docstring).
    """

    exit_code = 2


class SpecError(ChannelabError):
    """Raised when an experiment definition is malformed, names unknown keys or is inconsistent."""


class DataError(ChannelabError):
    """Raised when data cannot be read or fails a check that makes analysis meaningless."""


class OutputError(ChannelabError):
    """Raised when an output path cannot be written, is an input, or is locked by another run."""


class ModelError(ChannelabError):
    """Raised when the model cannot be built or sampled from the given cells.

    Attributes
    ----------
    exit_code
        4: the CLI's code for a model that cannot be built or sampled (bad input is 2).
    """

    exit_code = 4


def first_few(items: Sequence[str], limit: int = 3) -> str:
    """The first ``limit`` of ``items`` joined by commas, and how many more: a bounded list.

    Each item is cut to 60 characters; with more than ``limit`` items, ``and 1,234 more``.
    """
    cut = [i if len(i) <= 60 else i[:57] + "..." for i in items[:limit]]
    more = f" and {len(items) - limit:,} more" if len(items) > limit else ""
    return ", ".join(cut) + more


def shown(value: object, width: int = 60) -> str:
    """A value as a message quotes it: its repr (a date in ISO), cut to ``width`` characters.

    Parameters
    ----------
    value : object
        A value from a file: a label, a number, a date, a name.
    width : int
        The most characters shown; a longer repr ends in ``...``.

    Returns
    -------
    str
        The value as quoted.
    """
    text = value.isoformat() if isinstance(value, date) else repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."
