"""What the simulators share: unit ids, a truth record, and writing rows with their truth beside them."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from channelab.files import commit, json_bytes


@dataclass(frozen=True)
class TruthRecord:
    """The base of a simulator's truth that is plain data: its fields, in order, are its JSON."""

    def to_dict(self) -> dict[str, Any]:
        """The truth as JSON-ready data: every field, in the order the class declares them."""
        return asdict(self)


def unit_ids(prefix: str, count: int) -> pd.api.extensions.ExtensionArray:
    """``count`` zero-padded labels such as ``R01`` ... ``R48``."""
    digits = pd.Series(np.arange(1, count + 1)).astype(str).str.zfill(len(str(count)))
    return (prefix + digits).array


def write_with_truth(path: str | Path, rows: pd.DataFrame, truth: TruthRecord) -> Path:
    """Write ``rows`` as CSV and ``truth`` (with the data's hash under ``data``) as ``<stem>.truth.json``."""
    path = Path(path)
    payload = rows.to_csv(index=False, lineterminator="\n").encode()
    data = {"file": path.name, "rows": len(rows), "sha256": hashlib.sha256(payload).hexdigest()}
    commit(
        {
            path: payload,
            path.with_name(f"{path.stem}.truth.json"): json_bytes(truth.to_dict() | {"data": data}),
        }
    )
    return path
