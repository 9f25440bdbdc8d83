"""Writing outputs: a set of files committed together, never over an input, and one JSON writer.

:func:`commit` writes every file of one run (the JSON and the PDF of a report) so that a reader
sees either the previous set or the new one:

1. the output folder itself is locked (a second run into it is refused while the first writes);
2. temporary files of a run that was killed are removed, and a commit that was cut off half
   way is completed first (a journal lists its renames);
3. each file is written to a temporary file beside its target and flushed to disk;
4. the journal is written, then every temporary file is renamed onto its target with
   interruption signals held back, and the journal is removed.

Only a power cut or SIGKILL between two renames, a window of microseconds, can leave a mixed
set on disk; the journal lets the next run into that folder complete it.

Every JSON channelab writes goes through :func:`json_bytes`: numpy scalars become Python
numbers, NaN and infinities become ``null`` (JSON has no NaN), text stays UTF-8, keys keep
their order, and the text ends with a newline.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from channelab.errors import OutputError

#: Suffix of channelab's temporary files, so that only its own are ever cleaned up.
TMP_SUFFIX = ".channelab-tmp"
JOURNAL_NAME = ".channelab.journal"


def commit(files: Mapping[Path, bytes], *, inputs: Iterable[Path] = ()) -> list[Path]:
    """Write ``files`` (path -> bytes) as one set; refuse any path that is one of ``inputs``.

    Parameters
    ----------
    files
        Per target path, the bytes to write there.
    inputs
        Paths the run read, which no output may overwrite.

    Returns
    -------
    list of Path
        The paths written, in the order of ``files``.

    Raises
    ------
    OutputError
        When a target is an input, a folder cannot be created or written, or another run holds
        the folder's lock. Nothing is written then.
    """
    targets = [Path(p) for p in files]
    check_outputs(targets, inputs=inputs)
    folders = sorted({p.parent for p in targets})
    with contextlib.ExitStack() as stack:
        for folder in folders:
            stack.enter_context(_locked(folder))
            _recover(folder)
        temps: dict[Path, Path] = {}
        stack.callback(_remove, temps)  # after the renames this finds nothing left to remove
        for target in targets:
            temps[target] = _write_temp(target, files[target])
        journals = {folder: folder / JOURNAL_NAME for folder in folders}
        for folder, journal in journals.items():
            pairs = [[str(t), str(p)] for p, t in temps.items() if p.parent == folder]
            _write_synced(journal, json.dumps(pairs).encode())
        with _signals_held():
            for target, temp in temps.items():
                os.replace(temp, target)
            for folder, journal in journals.items():
                _sync_folder(folder)
                journal.unlink()
    return targets


def check_outputs(targets: Iterable[Path], *, inputs: Iterable[Path] = ()) -> None:
    """Refuse outputs that would overwrite an input or that cannot be written; create their folders.

    Called before any long computation, so that a bad ``--out`` fails in seconds.

    Parameters
    ----------
    targets
        The paths to be written.
    inputs
        Paths the run read, which no output may overwrite.

    Raises
    ------
    OutputError
        When a target is an input or a folder, or its folder cannot be created or written.
    """
    protected = [Path(p) for p in inputs if Path(p).exists()]
    for target in targets:
        target = Path(target)
        for source in protected:
            if target.resolve() == source.resolve() or (target.exists() and os.path.samefile(target, source)):
                raise OutputError(
                    f"{target}: this output would overwrite an input ({source}); inputs are never "
                    "modified. Choose another output path."
                )
        if target.is_dir():
            raise OutputError(f"{target}: is a folder; give the path of the file to write.")
        folder = target.parent
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"{folder}: is a file, not a folder; choose another output folder (--out).")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{folder}: cannot create the output folder ({exc.strerror}).") from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutputError(f"{folder}: the output folder is not writable; choose another (--out).")


def write_atomic(path: Path, data: bytes, *, inputs: Iterable[Path] = ()) -> Path:
    """Write one file as a set of one (:func:`commit`).

    Parameters
    ----------
    path
        The file to write.
    data
        Its bytes.
    inputs
        Paths the run read, which the output may not overwrite.
    """
    return commit({Path(path): data}, inputs=inputs)[0]


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
    """``payload`` as indented UTF-8 JSON text, made safe by :func:`_json_safe`.

    Parameters
    ----------
    payload
        Plain data: mappings, sequences, strings, numbers (numpy scalars too), ``None``.
    """
    return (json.dumps(_json_safe(payload), indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode()


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the folder itself (no lock file), or refuse if another run holds it.

    POSIX only (``fcntl``); where it is missing (Windows) runs into one folder are not serialised.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(
                f"{folder}: another channelab run is writing its outputs here; wait for it to finish, "
                "or write to another folder (--out)."
            ) from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _recover(folder: Path) -> None:
    """Complete a commit that was cut off (its journal remains), then remove stale temporaries."""
    journal = folder / JOURNAL_NAME
    if journal.exists():
        try:
            pairs = json.loads(journal.read_text())
        except (OSError, ValueError):
            pairs = []
        for temp, target in pairs:
            if Path(temp).exists():
                os.replace(temp, target)
        journal.unlink(missing_ok=True)
    for stale in folder.glob(f".*{TMP_SUFFIX}"):
        stale.unlink(missing_ok=True)


def _remove(temps: Mapping[Path, Path]) -> None:
    for temp in temps.values():
        temp.unlink(missing_ok=True)


def _write_temp(target: Path, data: bytes) -> Path:
    temp = target.with_name(f".{target.name}.{os.getpid()}{TMP_SUFFIX}")
    _write_synced(temp, data)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temp, 0o666 & ~umask)  # outputs are ordinary files
    return temp


def _write_synced(path: Path, data: bytes) -> None:
    try:
        with open(path, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold back Ctrl-C and termination while the renames run; they take effect just after."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
