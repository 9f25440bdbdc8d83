"""One provenance record, stamped the same way on every output (JSON, PDF, simulated truth).

It says who made an output from what: package versions, seed, sampler, the spec's hash, the
data's fingerprint and the time. ``created`` honours ``SOURCE_DATE_EPOCH`` (the reproducible-
builds convention), so a rerun with it set writes byte-identical outputs.
"""

from __future__ import annotations

import hashlib
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from channelab.spec.schema import Spec

#: Packages whose versions decide the numbers; those installed are recorded.
_PACKAGES = ("numpy", "pandas", "scipy", "pymc", "pytensor", "nutpie", "arviz", "statsmodels", "duckdb")


@dataclass(frozen=True)
class Provenance:
    """Who made an output from what; build it with :func:`stamp`.

    Attributes
    ----------
    channelab, python, packages
        The versions that decide the numbers.
    seed
        The seed of every random step.
    sampler
        The MCMC backend (``nutpie`` or ``pymc``); ``None`` for an output that drew no posterior.
    spec_path, spec_sha256
        The experiment file's name and the SHA-256 of its bytes.
    data
        The data's fingerprint: its path relative to the experiment file's folder, size, rows
        and SHA-256.
    created
        When it was made (``SOURCE_DATE_EPOCH`` when set); ``None`` for timeless outputs.
    """

    channelab: str
    python: str
    packages: Mapping[str, str]
    seed: int | None
    sampler: str | None = None
    spec_path: str | None = None
    spec_sha256: str | None = None
    data: Mapping[str, object] = field(default_factory=dict)
    created: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data: flat keys, package versions inline, ``data`` nested."""
        return {
            "channelab": self.channelab,
            "python": self.python,
            **self.packages,
            "sampler": self.sampler,
            "seed": self.seed,
            "spec_path": self.spec_path,
            "spec_sha256": self.spec_sha256,
            "data": dict(self.data),
            "created": self.created,
        }


def stamp(
    spec: Spec | None = None,
    *,
    seed: int | None,
    sampler: str | None = None,
    data: Mapping[str, object] | None = None,
    timed: bool = True,
) -> Provenance:
    """The provenance of an output made now from ``spec`` (if any), ``seed`` and ``data``.

    ``timed=False`` leaves out the time, for outputs that must depend on their inputs alone
    (simulated data and its truth).
    """
    spec_path = spec_sha = None
    data = dict(data or {})
    if spec is not None:
        spec_bytes = spec.source_path.read_bytes() if spec.source_path else spec.model_dump_json().encode()
        spec_sha = hashlib.sha256(spec_bytes).hexdigest()
        if spec.source_path is not None:  # paths as the spec names them: relative to its folder
            spec_path = spec.source_path.name
            if isinstance(data.get("path"), str):
                data["path"] = shown_path(str(data["path"]), spec.source_path.parent)
    return Provenance(
        channelab=_version("channelab") or "0+unknown",
        python=platform.python_version(),
        packages={name: v for name in _PACKAGES if (v := _version(name))},
        seed=seed,
        sampler=sampler,
        spec_path=spec_path,
        spec_sha256=spec_sha,
        data=data,
        created=_now() if timed else None,
    )


def shown_path(path: str | os.PathLike[str], base: str | os.PathLike[str] | None = None) -> str:
    """A path as outputs and messages name it: relative to ``base``, else to the working folder.

    With ``base`` (an experiment file's folder) the path is always relative, ``../data/x.csv``:
    a report names its inputs as its spec does, wherever it was made, so the same run from
    another clone or another working folder writes the same bytes and never the building
    machine's folders. Without ``base``: relative to the working folder when inside it, else
    absolute (for messages).

    Parameters
    ----------
    path
        The path to show.
    base
        The folder to show it relative to, or ``None`` for the working folder.
    """
    full = Path(path).resolve()
    if base is not None:
        return Path(os.path.relpath(full, Path(base).resolve())).as_posix()
    try:
        return full.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(full)


def _now() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch and epoch.isdigit() else datetime.now(UTC)
    return moment.isoformat(timespec="seconds")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
