"""Writing outputs: a set of files committed together, never over an input, and one JSON writer.

:func:`commit` writes every file of one run (the JSON and the PDF of a report) so that a reader
sees either the previous set or the new one:

1. the output folder itself is locked (a second run into it is refused while the first writes);
2. temporary files of a run that was killed are removed, and a commit that was cut off half
   way is completed first (a journal lists its renames). A journal found in the folder is
   trusted only as far as channelab could have written it (:func:`_recover`): pairs of plain
   files directly inside the folder, named as channelab names its temporaries, never an input;
   anything else is ignored with a warning, and nothing is deleted through a symlink or a folder;
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
import re
import signal
import stat
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from channelab.errors import OutputError, shown
from channelab.limits import MAX_JOURNAL_BYTES

#: Suffix of channelab's temporary files, so that only its own are ever cleaned up.
TMP_SUFFIX = ".channelab-tmp"
JOURNAL_NAME = ".channelab.journal"
#: How channelab names a temporary file: ``.{target name}.{process id}{TMP_SUFFIX}``.
_TEMP = re.compile(rf"\.(?P<target>.+)\.\d+{re.escape(TMP_SUFFIX)}", re.DOTALL)
#: Flags of a new file channelab writes: created here, never through a symlink or over a file.
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)


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
    targets, inputs = [Path(p) for p in files], [Path(p) for p in inputs]
    check_outputs(targets, inputs=inputs)
    folders = sorted({p.parent for p in targets})
    with contextlib.ExitStack() as stack:
        for folder in folders:
            stack.enter_context(_locked(folder))
            _recover(folder, inputs)
        temps: dict[Path, Path] = {}
        stack.callback(_remove, temps)  # after the renames this finds nothing left to remove
        for target in targets:
            temps[target] = _write_temp(target, files[target])
        journals = {folder: folder / JOURNAL_NAME for folder in folders}
        for folder, journal in journals.items():
            pairs = [[t.name, p.name] for p, t in temps.items() if p.parent == folder]
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

    Called before any long computation, so that a bad ``--out`` fails in seconds, and again by
    :func:`commit`.

    Parameters
    ----------
    targets
        The paths to be written.
    inputs
        Paths the run read, which no output may overwrite.

    Raises
    ------
    OutputError
        When a target is an input, a folder or named as channelab's own files, or its folder
        cannot be created or written, or holds something other than a plain file under the
        journal's name (a folder, a symlink, a FIFO: channelab could not keep its journal there).
    """
    protected = _protect(inputs)
    for target in targets:
        target = Path(target)
        if source := _input_at(target, protected):
            raise OutputError(
                f"{target}: this output would overwrite an input ({source}); inputs are never "
                "modified. Choose another output path."
            )
        if target.name == JOURNAL_NAME or _TEMP.fullmatch(target.name):
            raise OutputError(
                f"{target}: this name is reserved for channelab's own journal and temporary files; "
                "choose another output name."
            )
        if target.is_dir():
            raise OutputError(f"{target}: is a folder; give the path of the file to write.")
        _check_folder(target.parent)


def _protect(inputs: Iterable[Path]) -> dict[object, Path]:
    """Each existing input under its real path and its file identity (device, inode)."""
    protected: dict[object, Path] = {}
    for source in map(Path, inputs):
        with contextlib.suppress(OSError):
            found = source.stat()
            protected[source.resolve()] = protected[(found.st_dev, found.st_ino)] = source
    return protected


def _input_at(path: Path, protected: Mapping[object, Path]) -> Path | None:
    """The input that ``path`` is (the same real path, or the same file by another name), or None."""
    if (source := protected.get(path.resolve())) is not None:
        return source
    try:
        found = path.stat()
    except OSError:
        return None
    return protected.get((found.st_dev, found.st_ino))


def _check_folder(folder: Path) -> None:
    """Create the output folder; refuse it when it cannot be written or cannot hold a journal."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: is a file, not a folder; choose another output folder (--out).")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the output folder ({exc.strerror}).") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{folder}: the output folder is not writable; choose another (--out).")
    journal = folder / JOURNAL_NAME
    kind = _kind(journal)
    if kind not in (None, "file"):
        raise OutputError(
            f"{journal}: is a {kind}, not a journal channelab wrote; channelab keeps the record of an "
            "unfinished commit under this name. Remove it, or choose another output folder (--out)."
        )


def file_kind(mode: int) -> str:
    """What a path is, from its ``st_mode``, for messages: ``file`` (a plain one), ``folder``, ...

    Parameters
    ----------
    mode : int
        The ``st_mode`` of :func:`os.stat` (a link followed) or :func:`os.lstat` (not followed).

    Returns
    -------
    str
        ``file``, ``folder``, ``symbolic link``, ``named pipe (FIFO)``, ``socket`` or ``device``.
    """
    kinds = {
        stat.S_ISREG: "file",
        stat.S_ISDIR: "folder",
        stat.S_ISLNK: "symbolic link",
        stat.S_ISFIFO: "named pipe (FIFO)",
        stat.S_ISSOCK: "socket",
    }
    return next((name for test, name in kinds.items() if test(mode)), "device")


def _kind(path: Path) -> str | None:
    """What is at ``path``, not following a symlink (:func:`file_kind`); None if nothing is."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutputError(f"{path}: cannot be inspected ({exc.strerror}).") from None
    return file_kind(mode)


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


def _recover(folder: Path, inputs: Iterable[Path] = ()) -> None:
    """Complete a commit that was cut off (its journal remains), then remove stale temporaries.

    Only what channelab itself could have written is trusted; anything else is ignored with a
    warning (:func:`_untrusted`), and only plain files are ever renamed or removed.
    """
    journal, protected = folder / JOURNAL_NAME, _protect(inputs)
    pairs = _read_journal(journal)
    if pairs is not None:
        ignored = []
        for temp, target in pairs:
            if problem := _untrusted(folder, temp, target, protected):
                ignored.append(f"{shown(temp, 80)} to {shown(target, 80)} ({problem})")
            elif (folder / Path(temp).name).exists():
                os.replace(folder / Path(temp).name, folder / Path(target).name)
        if ignored:
            more = f", and {len(ignored) - 3:,} more" if len(ignored) > 3 else ""
            _warn(f"{journal}: ignored the renames of {'; '.join(ignored[:3])}{more}.")
        journal.unlink(missing_ok=True)
    _sweep(folder, protected)


def _sweep(folder: Path, protected: Mapping[object, Path]) -> None:
    """Remove channelab's stale temporary files: plain files only, never an input, a symlink or a folder."""
    for entry in os.scandir(folder):
        if not _TEMP.fullmatch(entry.name) or _input_at(Path(entry.path), protected):
            continue
        if entry.is_file(follow_symlinks=False):
            Path(entry.path).unlink(missing_ok=True)
        else:
            kind = _kind(Path(entry.path))
            _warn(f"{entry.path}: is a {kind} named like a channelab temporary file; left as it is.")


def _read_journal(journal: Path) -> list[tuple[Any, Any]] | None:
    """The pairs the journal lists (not yet checked), ``[]`` if it is unreadable; None if there is none."""
    try:
        fd = os.open(journal, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:  # a symlink (ELOOP), a folder: check_outputs refused it already
        raise OutputError(f"{journal}: cannot be read ({exc.strerror}); remove it.") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise OutputError(f"{journal}: is not a plain file, not a journal channelab wrote; remove it.")
        text = f.read(MAX_JOURNAL_BYTES + 1)
    if len(text) > MAX_JOURNAL_BYTES:
        _warn(f"{journal}: larger than any journal channelab writes ({MAX_JOURNAL_BYTES:,} bytes); ignored.")
        return []
    try:
        pairs = json.loads(text)
    except (ValueError, RecursionError):
        pairs = None
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        _warn(f"{journal}: not a journal channelab wrote (a list of pairs of file names); ignored.")
        return []
    return [(temp, target) for temp, target in pairs]


def _untrusted(folder: Path, temp: Any, target: Any, protected: Mapping[object, Path]) -> str | None:
    """Why renaming ``temp`` onto ``target`` is not a step channelab could have journalled; None if it is."""
    if not isinstance(temp, str) or not isinstance(target, str):
        return "the names are not text"
    for name in (temp, target):
        parent = Path(name).parent
        if "\0" in name or not Path(name).name or (parent != Path() and parent.resolve() != folder.resolve()):
            return "not directly inside the output folder"
    temp_name, target_name = Path(temp).name, Path(target).name
    match = _TEMP.fullmatch(temp_name)
    if match is None or match["target"] != target_name or target_name == JOURNAL_NAME:
        return "not named as channelab names its temporary files"
    try:
        kinds = _kind(folder / temp_name), _kind(folder / target_name)
    except OutputError:
        return "the files cannot be inspected"
    if kinds[0] not in (None, "file"):
        return f"the temporary file is a {kinds[0]}; channelab writes only plain files"
    if kinds[1] not in (None, "file"):
        return f"the target is a {kinds[1]}; channelab writes only plain files"
    if source := _input_at(folder / target_name, protected):
        return f"the target is an input of this run ({source})"
    return None


def _warn(message: str) -> None:
    """Say what in the output folder was not trusted, and go on."""
    warnings.warn(message, UserWarning, stacklevel=3)


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
    """Write a new file (never through a symlink, never over anything) and flush it to disk."""
    try:
        fd = os.open(path, _NEW_FILE, 0o666)
    except FileExistsError:
        raise OutputError(
            f"{path}: a {_kind(path)} is in the way of the file channelab writes under this name; "
            "remove it, or choose another output folder (--out)."
        ) from None
    except OSError as exc:
        raise OutputError(
            f"{path}: cannot be written ({exc.strerror}); choose another output folder (--out)."
        ) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot be written ({exc.strerror}); nothing was replaced.") from None
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
