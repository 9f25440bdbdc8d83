"""How the checks show what they found: values from the data, and "did you mean" hints."""

from __future__ import annotations

import difflib
import unicodedata

#: Example rows, ids or clusters a message names.
EXAMPLES = 3
#: Column names a message lists (a file's columns, to pick the right one from).
COLUMNS_LISTED = 30


def closest(word: str, options: list[str]) -> str:
    """``did you mean 'x'?``, or that the two differ only in Unicode normalisation; else nothing."""
    same = [o for o in options if unicodedata.normalize("NFC", o) == unicodedata.normalize("NFC", word)]
    if same:
        return (
            f"it looks like {same[0]!r} but is written with other Unicode characters (NFC vs NFD "
            "normalisation); retype one of the two"
        )
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""
