"""What an import into the registry gives, the rule that keys a test's data, and bounded reading.

Shared by the importers of JSON run reports (``reports``) and of published summaries
(``summaries``); :func:`data_fingerprint` is also what a run keys its records by.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from channelab.engine.registry.records import Covariance, Record
from channelab.errors import DataError

__all__ = ["Imported", "data_fingerprint", "read_bounded"]


class Imported(NamedTuple):
    """What an import read: the records and covariances to add, and what to tell the user.

    Attributes
    ----------
    records
        One per arm x metric (ready for :meth:`Registry.add`).
    covariances
        The within-arm covariances of those records' effects (empty for older reports and for
        published summaries).
    notes
        Plain sentences for the user: effects left out and why, sds approximated, verdicts
        not recognised. Empty when there is nothing to say.
    approximated
        True when some sds were approximated (from intervals, or from a standard error on the
        other scale) rather than read.
    """

    records: list[Record]
    covariances: list[Covariance]
    notes: list[str]
    approximated: bool = False


def data_fingerprint(data: Mapping[str, object]) -> str:
    """The fingerprint that keys a test's data: its SHA-256, else a hash of its description.

    Parameters
    ----------
    data
        The provenance's ``data`` mapping (as a run report's ``provenance.data`` holds it).

    Returns
    -------
    str
        ``data["sha256"]`` (lower case) where it is non-empty text; otherwise the SHA-256 of the
        mapping's canonical JSON (sorted keys, no spaces, UTF-8), so that a published table
        described the same way has the same fingerprint.
    """
    sha = data.get("sha256")
    if isinstance(sha, str) and sha.strip():
        return sha.strip().lower()
    text = json.dumps(dict(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_bounded(path: Path, bound: int, what: str) -> str:
    """The UTF-8 text of a file to import, refused past ``bound`` bytes or when not a file.

    Parameters
    ----------
    path
        The file.
    bound
        The most bytes read (a constant of :mod:`channelab.limits`).
    what
        What the file should be, for messages (``a JSON report``).

    Returns
    -------
    str
        The text (a byte-order mark dropped).
    """
    if not path.exists():
        raise DataError(f"{path}: no such file. Check the path of {what}.")
    if not path.is_file():
        raise DataError(f"{path}: is not a file (a folder?). Give the path of {what}.")
    try:
        with path.open("rb") as f:
            raw = f.read(bound + 1)
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror}); check its permissions.") from None
    if len(raw) > bound:
        raise DataError(
            f"{path}: more than {bound:,} bytes, far larger than {what} (at most {bound:,} are read). "
            "Check the path, or split the file."
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{path}: the file is UTF-16 text; save it as UTF-8 and import it again.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: byte {exc.start + 1} is not UTF-8 text (a PDF, a spreadsheet or another binary "
            f"file?); give {what} as UTF-8 text."
        ) from None
