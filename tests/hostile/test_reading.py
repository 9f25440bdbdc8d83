"""Hostile reading, round two: globs through symbolic links, files that are not files, endless lines
and endless queries (issue 32, items 2, 6, 8 and 14).

Every case runs through :func:`harness.run_case`: exit code, message, no traceback, no input
changed, nothing written outside ``--out``. No case allocates much: sparse files and small caps.
"""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from harness import CLEAN, VALIDATE, Case, csv_text, rows, run_case, spec, sqlite_like_db, to_yaml

from channelab.engine import duck, inputs
from channelab.engine.source import frame_source
from channelab.errors import DataError

NO_ID = {"kind": "prospect"}  # without unit.id, a row read twice is not caught as a duplicate id


def link(target: str) -> Callable[[Path], None]:
    return lambda p: p.symlink_to(target)


def sparse(size: int) -> Callable[[Path], None]:
    def write(p: Path) -> None:
        with p.open("wb") as f:
            f.truncate(size)

    return write


def glob_case(files: dict, match: str, code: int = 2, pattern: str = "logs/**/*.csv") -> Case:
    exp = to_yaml(spec(unit=NO_ID, data={"path": pattern}))
    return Case({"exp.yaml": exp, "logs/a.csv": CLEAN, **files}, VALIDATE, code, match)


def path_case(path: str, match: str, files: dict | None = None) -> Case:
    return Case({"exp.yaml": to_yaml(spec(data={"path": path})), **(files or {})}, VALIDATE, 2, match)


def query_case(query: str, match: str, **data: object) -> Case:
    exp = to_yaml(spec(data={"path": "crm.duckdb", "query": query, **data}))
    return Case({"exp.yaml": exp, "crm.duckdb": sqlite_like_db}, VALIDATE, 2, match)


ENDLESS = "(WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT n FROM t)"
TIMED_OUT = r"ran longer than data\.timeout_seconds \(1 s\) and was stopped.*raise data\.timeout_seconds"

CASES: dict[str, Case] = {
    # ---- globs and symbolic links (item 2) ------------------------------------------------
    "glob-symlink-loop": glob_case(
        {"logs/loop": link(".")},
        r"logs/loop: the same folder as .*logs, reached again through a symbolic link.*more than once",
    ),
    "glob-two-symlink-loops": glob_case(  # 2^40 paths before: gigabytes of matches
        {"logs/loop": link("."), "logs/more/loop": link("..")}, r"through a symbolic link"
    ),
    "run-glob-two-symlink-loops": Case(  # a run lists its inputs (never overwritten) the same way
        {
            "exp.yaml": to_yaml(spec(unit=NO_ID, data={"path": "logs/**/*.csv"})),
            "logs/a.csv": CLEAN,
            "logs/loop": link("."),
            "logs/more/loop": link(".."),
        },
        ["run", "exp.yaml", "--out", "out"],
        2,
        r"through a symbolic link",
    ),
    "glob-two-links-to-one-folder": glob_case(
        {"logs/2024/b.csv": CLEAN, "logs/current": link("2024")}, r"same folder"
    ),
    "glob-file-symlink-twice": glob_case(
        {"logs/b.csv": link("a.csv")},
        r"logs/a\.csv and .*logs/b\.csv are the same file.*each file once",
        pattern="logs/*.csv",
    ),
    "glob-symlinked-folder-read-once": glob_case(  # a link to a folder searched nowhere else is read
        {"elsewhere/b.csv": CLEAN, "logs/more": link("../elsewhere")}, r"hostile: 240 rows", code=0
    ),
    "glob-fifo": glob_case(
        {"logs/pipe.csv": os.mkfifo}, r"logs/pipe\.csv: .*named pipe \(FIFO\), not a regular file"
    ),
    # ---- a data path that is not a regular file (item 14) ---------------------------------
    "data-path-fifo": path_case("pipe.csv", r"pipe\.csv: .*named pipe \(FIFO\)", {"pipe.csv": os.mkfifo}),
    "data-path-dev-zero": path_case("/dev/zero", r"/dev/zero: .*a device, not a regular file"),
    "data-path-proc-file": path_case(
        "/proc/self/status", r"/proc/self/status: .*0 bytes.*but it has content"
    ),
    "data-path-folder": path_case("logs", r"logs: .*is a folder, not a data file", {"logs/a.csv": CLEAN}),
    # ---- lines without end (item 6) -------------------------------------------------------
    "csv-sparse-file": path_case(
        "rows.csv", r"rows\.csv: no header line ends within the first 8 MiB", {"rows.csv": sparse(24 * 2**20)}
    ),
    "csv-header-longer-than-the-bound": path_case(
        "rows.csv",
        r"rows\.csv: no header line ends within the first 8 MiB",
        {"rows.csv": "id," + "x" * (9 * 2**20) + "\n1,2\n"},
    ),
    # ---- queries without end (item 8) -----------------------------------------------------
    "query-endless-recursive": query_case(
        f"SELECT touches.* FROM touches, {ENDLESS}", TIMED_OUT, timeout_seconds=1
    ),
    "query-cross-join-range": query_case(
        "SELECT touches.* FROM touches, range(1000000000000)", TIMED_OUT, timeout_seconds=1
    ),
    "query-past-the-memory-limit": query_case(
        "SELECT * FROM touches WHERE (SELECT len(list(range)) FROM range(100000000)) > 0",
        r"needed more memory than data\.memory_limit \(50MB\).*Raise data\.memory_limit",
        memory_limit="50MB",
    ),
    "query-timeout-zero": query_case(
        "SELECT * FROM touches", r"data\.timeout_seconds: .*greater than 0", timeout_seconds=0
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_reading(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    run_case(CASES[name], tmp_path, monkeypatch)


def test_a_glob_matching_too_many_files_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(inputs, "MAX_DATA_FILES", 3)
    files = {f"logs/week-{i}.csv": CLEAN for i in range(5)}
    run_case(glob_case(files, r"matches more than 3 files"), tmp_path, monkeypatch)


def test_a_glob_searching_too_many_folders_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(inputs, "MAX_GLOB_FOLDERS", 5)
    files = {f"logs/{i}/{i}/b.csv": CLEAN for i in range(5)}
    run_case(glob_case(files, r"searches more than 5 folders"), tmp_path, monkeypatch)


def test_a_query_runs_under_the_default_time_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(duck, "QUERY_SECONDS", 1)
    case = query_case(
        f"SELECT touches.* FROM touches, {ENDLESS}", r"ran longer than data\.timeout_seconds \(1 s\)"
    )
    run_case(case, tmp_path, monkeypatch)


def test_matching_files_follows_the_rules_of_reading_and_never_raises(tmp_path: Path):
    (tmp_path / "logs" / "sub").mkdir(parents=True)
    for name in ("logs/a.csv", "logs/sub/b.csv", "logs/.hidden.csv"):
        (tmp_path / name).write_text(CLEAN)
    (tmp_path / "logs" / "loop").symlink_to(".")
    (tmp_path / "logs" / "c.csv").symlink_to("a.csv")
    found = duck.matching_files(tmp_path / "logs" / "**" / "*.csv")
    assert found == [tmp_path / "logs" / p for p in ("a.csv", "c.csv", "sub/b.csv")]
    assert duck.matching_files(tmp_path / "nowhere" / "*.csv") == []
    assert duck.matching_files(tmp_path / "logs" / "a.csv") == [tmp_path / "logs" / "a.csv"]


def _peak(read: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        read()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_quote_and_field_readers_hold_a_bounded_piece_of_a_long_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A 16 MB field is read in pieces: the open quote after it is still found."""
    path = tmp_path / "rows.csv"
    head = csv_text(rows().head(3))
    path.write_text(head + "1,control,smb,1,0," + "9" * (16 * 2**20) + ",5\n" + '2,"email,smb,1,0,3,5\n')
    assert _peak(lambda: duck._open_quote(path)) < 4 * 2**20
    assert duck._open_quote(path) == 6
    monkeypatch.setattr(duck, "MAX_LINE_BYTES", 2**20)
    assert _peak(lambda: duck._ragged_line(path, ",")) < 4 * 2**20


def test_the_header_reader_reads_a_bounded_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(duck, "MAX_LINE_BYTES", 64 * 2**10)
    path = tmp_path / "rows.csv"
    sparse(2**30)(path)  # 1 GB of zero bytes, none of them on disk
    with pytest.raises(DataError, match=r"no header line ends within the first 64 KiB"):
        duck._csv_header(path, ",")
    path.write_text("\n\n" + CLEAN)
    assert duck._csv_header(path, ",") == (2, list(rows().columns))


def test_every_query_of_a_source_runs_under_its_time_limit():
    """Checks, matching and weighting query through ``Source.duck``: each under the limit."""
    source = replace(frame_source(pd.DataFrame({"x": [1]})), timeout=0.3)
    with pytest.raises(DataError, match=r"ran longer than data\.timeout_seconds \(0\.3 s\)"):
        source.fetchall("SELECT count(*) FROM range(1000000000000)")
    with pytest.raises(DataError, match=r"ran longer than data\.timeout_seconds"):
        source.duck.execute(f"SELECT count(*) FROM {ENDLESS}").fetchone()
    assert source.fetchall("SELECT 1") == [(1,)]  # the connection is still usable
    source.close()
