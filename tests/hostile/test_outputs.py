"""Odd and hostile states of the output folder: a planted journal, temporaries that are not ours.

Before every commit, channelab completes a commit that was cut off, reading the journal it left
in the output folder (:mod:`channelab.files`). A journal found there is trusted only as far as
channelab itself could have written it: pairs of plain files directly inside the folder, named
as channelab names its temporaries, never an input of the run. Anything else is ignored with a
warning, or refused before any work when the folder cannot hold a journal at all.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from harness import CLEAN, RUN, Case, _materialise, _snapshot, run_case, runner, spec, to_yaml

from channelab import files
from channelab.cli import app
from channelab.errors import OutputError
from channelab.files import JOURNAL_NAME, TMP_SUFFIX, check_outputs, commit

UNITS = "id,segment\n" + "".join(f"{i},{'smb' if i % 2 else 'enterprise'}\n" for i in range(1, 41))
ASSIGN = ["assign", "exp.yaml", "--units", "units.csv", "--out", "out/assigned.csv"]
BASE = {"exp.yaml": to_yaml(spec()), "units.csv": UNITS, "rows.csv": CLEAN}


def journal(*pairs: tuple[str, str]) -> str:
    return json.dumps([list(pair) for pair in pairs])


def temp(name: str) -> str:
    return f"out/.{name}.4242{TMP_SUFFIX}"


def symlink(to: str) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(to)


def mkdir(path: Path) -> None:
    path.mkdir()


def planted(pairs: dict[str, str | Callable[[Path], None]], **files) -> dict:
    return BASE | {f"out/{JOURNAL_NAME}": journal(*pairs.items())} | files


CASES: dict[str, Case] = {
    # a journal naming paths outside --out: the spec and the data would be moved away
    "journal-moves-inputs-away": Case(
        planted({"exp.yaml": "../elsewhere.yaml", "rows.csv": "gone.csv"}),
        ASSIGN,
        0,
        "units assigned",
        not_created=("elsewhere.yaml", "out/gone.csv"),
    ),
    # a journal whose "temporary" is the spec and whose target is outside: an overwrite
    "journal-overwrites-outside": Case(planted({"../exp.yaml": "../units.csv"}), ASSIGN, 0, "units assigned"),
    # names inside --out but not named as channelab names its temporaries
    "journal-not-our-temporaries": Case(
        planted({"notes.txt": "summary.json"}, **{"out/notes.txt": "mine", "out/summary.json": "{}"}),
        ASSIGN,
        0,
        "units assigned",
    ),
    # --out is the experiment's own folder: a planted temporary aimed at the data file
    "journal-target-is-an-input": Case(
        {
            "out/exp.yaml": to_yaml(spec()),
            "out/rows.csv": CLEAN,
            "out/units.csv": UNITS,
            f"out/{JOURNAL_NAME}": journal((f".rows.csv.4242{TMP_SUFFIX}", "rows.csv")),
            temp("rows.csv"): "id,arm\n",
        },
        ["assign", "out/exp.yaml", "--units", "out/units.csv", "--out", "out/assigned.csv"],
        0,
        "units assigned",
    ),
    # the data file itself is named like a stale temporary: an input is never swept away
    "data-named-like-a-temporary": Case(
        {
            "out/exp.yaml": to_yaml(spec(data={"path": f".rows.csv.1{TMP_SUFFIX}"})),
            f"out/.rows.csv.1{TMP_SUFFIX}": CLEAN,
            "out/units.csv": UNITS,
        },
        ["assign", "out/exp.yaml", "--units", "out/units.csv", "--out", "out/assigned.csv"],
        0,
        "units assigned",
    ),
    # the temporary is a symlink to a file elsewhere: moved onto the target, it would link out
    "journal-temp-is-a-symlink": Case(
        planted({temp("a.csv"): "out/a.csv"}, **{temp("a.csv"): symlink("../units.csv")}),
        ASSIGN,
        0,
        "units assigned",
    ),
    "journal-garbage": Case(BASE | {f"out/{JOURNAL_NAME}": "{[not json"}, ASSIGN, 0, "units assigned"),
    "journal-nested-too-deep": Case(
        BASE | {f"out/{JOURNAL_NAME}": "[" * 200_000}, ASSIGN, 0, "units assigned"
    ),
    "journal-wrong-shape": Case(
        BASE | {f"out/{JOURNAL_NAME}": '[["a"], 3, {"x": 1}, [1, 2], null]'}, ASSIGN, 0, "units assigned"
    ),
    # the journal is not a plain file: refused before any work, naming it and saying what to do
    "journal-is-a-folder": Case(
        BASE | {f"out/{JOURNAL_NAME}": mkdir}, RUN, 2, r"\.channelab\.journal: is a folder.*Remove it"
    ),
    "journal-is-a-symlink-out": Case(
        BASE | {f"out/{JOURNAL_NAME}": symlink("../planted.txt")},
        ASSIGN,
        2,
        r"\.channelab\.journal: is a symbolic link",
        not_created=("planted.txt",),
    ),
    # every command checks its output folder before its work (design would simulate for minutes)
    "journal-is-a-folder-design": Case(
        BASE | {f"out/{JOURNAL_NAME}": mkdir},
        ["design", "exp.yaml", "--out", "out"],
        2,
        r"\.channelab\.journal: is a folder",
    ),
    "journal-is-a-folder-assign": Case(
        BASE | {f"out/{JOURNAL_NAME}": mkdir}, ASSIGN, 2, r"\.channelab\.journal: is a folder"
    ),
    "journal-is-a-fifo": Case(
        BASE | {f"out/{JOURNAL_NAME}": os.mkfifo}, ASSIGN, 2, r"\.channelab\.journal: is a named pipe"
    ),
    "journal-is-a-symlink-to-the-spec": Case(
        BASE | {f"out/{JOURNAL_NAME}": symlink("../exp.yaml")},
        ASSIGN,
        2,
        r"\.channelab\.journal: is a symbolic link",
    ),
    # stale temporaries that are not plain files: left alone (never deleted through)
    "stale-temp-is-a-folder": Case(
        BASE | {temp("old.json"): mkdir, temp("old.json") + "/keep.txt": "kept"},
        ASSIGN,
        0,
        "units assigned",
    ),
    "stale-temp-is-a-symlink-to-a-folder": Case(
        BASE | {"keep/k.txt": "kept", "out/placeholder": "", temp("old.json"): symlink("../keep")},
        ASSIGN,
        0,
        "units assigned",
    ),
    # an output named as channelab's own journal or temporaries
    "out-is-the-journal-name": Case(
        BASE, ["assign", "exp.yaml", "--units", "units.csv", "--out", f"out/{JOURNAL_NAME}"], 2, "reserved"
    ),
}


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=pytest.mark.slow) if case.fit else name for name, case in CASES.items()]
)
def test_output_folder_case(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    case = CASES[name]
    if name not in WARNS:  # refused, or completed without a word: the harness's own checks
        run_case(case, tmp_path, monkeypatch)
        return
    # the command completes: what was not trusted is said, the planted journal is gone (the
    # journal is channelab's own file, so it is not an input), and every other file is intact
    output = " ".join(_run_completing(case, tmp_path, monkeypatch).split())
    assert re.search("warning: .*" + WARNS[name], output), output  # one line on the console
    assert not (tmp_path / "out" / JOURNAL_NAME).exists()
    assert not (tmp_path / JOURNAL_NAME).exists()


def _run_completing(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """:func:`harness.run_case`'s checks; channelab may remove its own journal and temporaries."""
    _materialise(tmp_path, case.files)
    ours = {f for f in _snapshot(tmp_path) if Path(f).name == JOURNAL_NAME or f.endswith(TMP_SUFFIX)}
    before = {f: digest for f, digest in _snapshot(tmp_path).items() if f not in ours}
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, case.argv)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code == case.code, result.output
    assert re.search(case.match, " ".join(result.output.split())), result.output
    after = _snapshot(tmp_path)
    changed = [f for f, digest in before.items() if after.get(f) != digest]
    assert changed == [], f"files changed, moved or removed: {changed}"
    created = [f for f in after if f not in before and f.split(os.sep)[0] != "out"]
    assert created == [], f"written outside --out: {created}"
    for absent in case.not_created:
        assert not (tmp_path / absent).exists()
    return result.output


#: What the warning of each case that completes says.
WARNS = {
    "journal-moves-inputs-away": "not directly inside the output folder",
    "journal-overwrites-outside": "not directly inside the output folder",
    "journal-not-our-temporaries": "not named as channelab names its temporary files",
    "journal-target-is-an-input": "an input of this run",
    "journal-temp-is-a-symlink": "is a symbolic link",
    "journal-garbage": "not a journal channelab wrote",
    "journal-wrong-shape": "not a journal channelab wrote",
    "journal-nested-too-deep": "not a journal channelab wrote",
    "stale-temp-is-a-folder": "is a folder named like a channelab temporary file",
    "stale-temp-is-a-symlink-to-a-folder": "is a symbolic link named like a channelab temporary file",
}


# ---- the commit itself --------------------------------------------------------------------


def _plant(folder: Path, pairs: object) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / JOURNAL_NAME
    path.write_text(json.dumps(pairs))
    return path


def test_a_journal_of_names_is_completed_where_it_was_cut_off(tmp_path: Path):
    """The journal lists names in the folder: a rename done before the cut is not redone."""
    (tmp_path / "r.json").write_bytes(b"new")  # renamed before the cut
    (tmp_path / "r.pdf").write_bytes(b"old")
    (tmp_path / f".r.pdf.77{TMP_SUFFIX}").write_bytes(b"new")
    _plant(tmp_path, [[f".r.json.77{TMP_SUFFIX}", "r.json"], [f".r.pdf.77{TMP_SUFFIX}", "r.pdf"]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a genuine journal is obeyed without a word
        commit({tmp_path / "x.txt": b"x"})
    assert (tmp_path / "r.json").read_bytes() == (tmp_path / "r.pdf").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.pdf", "x.txt"]


def test_the_journal_written_names_files_not_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Recovery from another working folder finds the same files."""
    seen: list[bytes] = []
    real = files._write_synced

    def spy(path: Path, data: bytes) -> None:
        if path.name == JOURNAL_NAME:
            seen.append(data)
        real(path, data)

    monkeypatch.setattr(files, "_write_synced", spy)
    monkeypatch.chdir(tmp_path)
    commit({Path("out/r.json"): b"1", Path("out/r.pdf"): b"2"})
    [pairs] = [json.loads(data) for data in seen]
    assert all("/" not in name and os.sep not in name for pair in pairs for name in pair)
    assert sorted(target for _, target in pairs) == ["r.json", "r.pdf"]


def test_a_huge_journal_is_not_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(files, "MAX_JOURNAL_BYTES", 64)
    _plant(tmp_path, [[f".r.json.{i}{TMP_SUFFIX}", "r.json"] for i in range(10)])
    with pytest.warns(UserWarning, match="larger than any journal channelab writes"):
        commit({tmp_path / "x.txt": b"x"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.txt"]


def test_a_journal_target_that_is_a_symlink_is_not_replaced(tmp_path: Path):
    (tmp_path / "elsewhere.txt").write_text("keep")
    out = tmp_path / "out"
    _plant(out, [[f".link.7{TMP_SUFFIX}", "link"]])
    (out / f".link.7{TMP_SUFFIX}").write_text("planted")
    (out / "link").symlink_to(tmp_path / "elsewhere.txt")
    with pytest.warns(UserWarning, match="the target is a symbolic link"):
        commit({out / "x.txt": b"x"})
    assert (out / "link").is_symlink()
    assert (tmp_path / "elsewhere.txt").read_text() == "keep"


def test_a_dangling_journal_symlink_is_refused_and_nothing_is_written_through_it(tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / JOURNAL_NAME).symlink_to(tmp_path / "planted.txt")
    with pytest.raises(OutputError, match="is a symbolic link, not a journal channelab wrote"):
        check_outputs([out / "r.json"])
    with pytest.raises(OutputError, match="is a symbolic link"):
        commit({out / "r.json": b"x"})
    assert not (tmp_path / "planted.txt").exists()
    assert not (out / "r.json").exists()


def test_a_folder_in_the_way_of_a_temporary_is_an_output_error(tmp_path: Path):
    """Never IsADirectoryError, and the folder is left as it is."""
    blocker = tmp_path / f".r.json.{os.getpid()}{TMP_SUFFIX}"
    blocker.mkdir()
    (blocker / "keep.txt").write_text("kept")
    warned = pytest.warns(UserWarning, match="is a folder named like a channelab temporary file")
    with warned, pytest.raises(OutputError, match="a folder is in the way"):
        commit({tmp_path / "r.json": b"x"})
    assert (blocker / "keep.txt").read_text() == "kept"
    assert not (tmp_path / "r.json").exists()


def test_a_temporary_is_never_written_through_a_symlink(tmp_path: Path):
    (tmp_path / "target.txt").write_text("keep")
    out = tmp_path / "out"
    out.mkdir()
    (out / f".r.json.{os.getpid()}{TMP_SUFFIX}").symlink_to(tmp_path / "target.txt")
    warned = pytest.warns(UserWarning, match="is a symbolic link named like a channelab temporary file")
    with warned, pytest.raises(OutputError, match="symbolic link is in the way"):
        commit({out / "r.json": b"x"})
    assert (tmp_path / "target.txt").read_text() == "keep"


def test_a_journal_of_many_bad_pairs_warns_once_and_briefly(tmp_path: Path):
    _plant(tmp_path, [["/etc/" + "x" * 500, f"../{i}"] for i in range(1_000)])
    with pytest.warns(UserWarning, match="not directly inside the output folder") as caught:
        commit({tmp_path / "x.txt": b"x"})
    [warning] = [str(w.message) for w in caught]
    assert "and 997 more" in warning
    assert len(warning) < 1_000
