"""Which files a data path names: one file, or a pattern's matches, each a regular file read once.

A pattern is expanded here rather than by :func:`glob.glob`, which follows symbolic links into
folders without end (``logs/loop -> .`` matched each file 41 times, two such links gigabytes of
names). ``**`` searches a folder reached through a link, but never one folder twice; a file
matched twice (a link to it), a pipe or a device is refused; folders and files are capped.
Hidden names are skipped, as :func:`glob.glob` skips them.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from channelab.errors import DataError
from channelab.files import file_kind
from channelab.limits import MAX_DATA_FILES, MAX_GLOB_FOLDERS
from channelab.spec import DataSource

_MAGIC = re.compile(r"[*?[]")


class _Refused(Exception):
    """The walk stops: the message says why."""


@dataclass
class _Walk:
    """What one pattern's expansion has found so far."""

    pattern: Path
    strict: bool = True  # refuse a folder reached twice; else skip it (matching_files)
    found: list[Path] = field(default_factory=list)
    folders: int = 0
    seen: dict[tuple[int, int], Path] = field(default_factory=dict)  # folders searched by **

    def search(self, folder: Path) -> list[os.DirEntry[str]]:
        """The entries of ``folder``, sorted by name; refuses past :data:`MAX_GLOB_FOLDERS`."""
        self.folders += 1
        if self.folders > MAX_GLOB_FOLDERS:
            raise _Refused(
                f"{self.pattern}: the pattern searches more than {MAX_GLOB_FOLDERS:,} folders; "
                "narrow it (start it at the data's own folder, and use ** only below it)."
            )
        try:
            with os.scandir(folder if str(folder) else ".") as entries:
                return sorted(entries, key=lambda e: e.name)
        except OSError:  # a folder that cannot be listed holds no match, as for glob.glob
            return []

    def add(self, path: Path) -> None:
        self.found.append(path)
        if len(self.found) > MAX_DATA_FILES:
            raise _Refused(
                f"{self.pattern}: the pattern matches more than {MAX_DATA_FILES:,} files; narrow it "
                "to the experiment's files, or combine the files into fewer (e.g. Parquet)."
            )


def _expand(walk: _Walk, folder: Path, parts: tuple[str, ...]) -> None:
    """Add the paths under ``folder`` that match ``parts`` (the pattern's remaining components)."""
    part, rest = parts[0], parts[1:]
    if part == "**":
        for sub in _tree(walk, folder):
            _expand(walk, sub, rest or ("*",))
    elif _MAGIC.search(part):
        for entry in _named(walk, folder, part):
            if not rest:
                walk.add(folder / entry.name)
            elif _is_dir(entry):
                _expand(walk, folder / entry.name, rest)
    elif not rest:
        if os.path.lexists(folder / part):
            walk.add(folder / part)
    elif (folder / part).is_dir():
        _expand(walk, folder / part, rest)


def _named(walk: _Walk, folder: Path, part: str) -> list[os.DirEntry[str]]:
    """The entries of ``folder`` whose names match ``part``; hidden ones only if ``part`` is."""
    hidden = part.startswith(".")
    return [
        e
        for e in walk.search(folder)
        if (hidden or not e.name.startswith(".")) and fnmatch.fnmatchcase(e.name, part)
    ]


def _tree(walk: _Walk, root: Path) -> list[Path]:
    """``root`` and every non-hidden folder below it, each real folder once (``**``)."""
    key = _key(root)
    if key is None:
        return []
    walk.seen.setdefault(key, root)
    out, stack = [], [root]
    while stack:
        folder = stack.pop()
        out.append(folder)
        below = []
        for entry in walk.search(folder):
            if entry.name.startswith(".") or not _is_dir(entry):
                continue
            path, key = folder / entry.name, _key(folder / entry.name)
            if key is None:
                continue
            if key in walk.seen and not walk.strict:
                continue
            if key in walk.seen:
                raise _Refused(
                    f"{path}: the same folder as {walk.seen[key]}, reached again through a symbolic "
                    f"link, so {walk.pattern.name!r} under ** would match its files more than once. "
                    "Remove the link, or narrow the pattern: each file must be matched once."
                )
            walk.seen[key] = path
            below.append(path)
        stack.extend(reversed(below))
    return out


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # a link to a folder too; a broken link is not a folder
    except OSError:
        return False


def _key(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _expand_pattern(pattern: Path, *, strict: bool = True) -> tuple[list[Path], str | None]:
    """The paths ``pattern`` matches, sorted, and why the walk stopped early (``None`` if it did not)."""
    parts = pattern.parts
    first = next((i for i, p in enumerate(parts) if _MAGIC.search(p)), len(parts))
    collapsed: list[str] = []
    for p in parts[first:]:
        if not (p == "**" and collapsed and collapsed[-1] == "**"):  # a/**/**/b is a/**/b
            collapsed.append(p)
    walk = _Walk(pattern, strict=strict)
    try:
        if collapsed:
            _expand(walk, Path(*parts[:first]) if first else Path(""), tuple(collapsed))
    except _Refused as exc:
        return sorted(walk.found, key=str), str(exc)
    return sorted(walk.found, key=str), None


def _regular_once(found: list[Path]) -> tuple[list[Path], str | None]:
    """The regular files among ``found`` (folders skipped), and the first problem met.

    A problem is a pipe or a device, or one file matched twice (by a link).
    """
    files: list[Path] = []
    first: dict[tuple[int, int], Path] = {}
    for path in found:
        try:
            st = os.stat(path)
        except OSError:  # a broken link names no file, as for glob.glob
            continue
        if stat.S_ISDIR(st.st_mode):
            continue
        if not stat.S_ISREG(st.st_mode):
            return files, (
                f"{path}: this is a {file_kind(st.st_mode)}, not a regular file, and the pattern matches "
                "it. channelab reads only regular files (it reads the data more than once); move it "
                "out of the folder or narrow the pattern."
            )
        key = (st.st_dev, st.st_ino)
        if key in first:
            return files, (
                f"{first[key]} and {path} are the same file (one is a link to the other), so its rows "
                "would be read twice. Remove the link or narrow the pattern: a pattern must match "
                "each file once."
            )
        first[key] = path
        files.append(path)
    return files, None


def matching_files(path: Path) -> list[Path]:
    """Every regular file ``path`` names, by the rules of reading; never raises.

    A pattern (``*``, ``?``, ``[``) gives its matching regular files, sorted (a link to a file
    too), where reading would refuse the pattern (a folder reached twice is searched once; past
    the caps, the first ones); a plain path gives itself, whether or not it exists. For knowing
    a run's inputs, so that none is overwritten.

    Parameters
    ----------
    path : Path
        A data path as resolved against the experiment file's folder.
    """
    if not _MAGIC.search(str(path)):
        return [path]
    found, _ = _expand_pattern(path, strict=False)
    return [f for f in found if _regular(f)]


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def data_files(path: Path, data: DataSource, *, where: str) -> list[Path]:
    """The files ``path`` names (a glob expands to its matches, sorted), each a non-empty regular file.

    Parameters
    ----------
    path : Path
        The data path, resolved.
    data : DataSource
        The data's settings: whether the path is a pattern, and the format (for advice).
    where : str
        The setting the path came from, for messages (e.g. ``data.path in exp.yaml``).
    """
    if data.is_glob:
        found, problem = _expand_pattern(path)
        files, problem = _regular_once(found) if problem is None else ([], problem)
        if problem is not None:
            raise DataError(problem)
        if not files:
            raise DataError(
                f"{path}: no file matches this pattern ({where}). Paths are relative to the "
                "experiment file's folder; check the folder and the pattern."
            )
    else:
        files = [path]
    for f in files:
        _check_file(f, where=where, fmt=data.resolved_format)
    return files


def _check_file(path: Path, *, where: str, fmt: str) -> None:
    """Refuse a path that is missing, not a regular file, empty or unreadable."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise DataError(
            f"{path}: data file not found ({where}). Paths are relative to the experiment file's folder."
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: the data file cannot be read ({exc.strerror}).") from None
    if stat.S_ISDIR(st.st_mode):
        pattern = (
            f" or all of its files with a pattern such as '{path / ('*.' + fmt)}'" if fmt != "duckdb" else ""
        )
        raise DataError(f"{path}: this is a folder, not a data file ({where}). Name one file in it{pattern}.")
    if not stat.S_ISREG(st.st_mode):
        raise DataError(
            f"{path}: this is a {file_kind(st.st_mode)}, not a regular file ({where}). channelab reads the "
            "data more than once (to check, then to count), so they must be a file on disk: save them "
            "to a file first."
        )
    try:
        with path.open("rb") as f:
            content = f.read(1) if st.st_size == 0 else b"x"
    except OSError:
        raise DataError(
            f"{path}: the data file cannot be read (permission denied); check its permissions."
        ) from None
    if st.st_size == 0 and content:
        raise DataError(
            f"{path}: its size reads as 0 bytes, but it has content: a system file (such as one under "
            "/proc) whose content changes as it is read, not a data file. Copy it to a regular file first."
        )
    if st.st_size == 0:
        raise DataError(f"{path}: the data file is empty (0 bytes). Export the unit rows again.")
