"""Writing outputs: atomically (a reader never sees a half-written file) and, for JSON, one way.

Every JSON channelab writes goes through :func:`json_bytes`: numpy scalars become Python
numbers, NaN and infinities become ``null`` (JSON has no NaN), text stays UTF-8, keys keep
their order, and the text ends with a newline.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; outputs are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _json_safe(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and non-finite floats as ``None``."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_bytes(payload: Any) -> bytes:
    """``payload`` as indented UTF-8 JSON text, made safe by :func:`_json_safe`."""
    return (json.dumps(_json_safe(payload), indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode()


def write_json(path: Path, payload: Any) -> Path:
    """Write ``payload`` as JSON (:func:`json_bytes`) to ``path`` atomically."""
    return write_atomic(path, json_bytes(payload))
