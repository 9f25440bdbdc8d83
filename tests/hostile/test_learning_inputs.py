"""Hostile inputs to learning across experiments: registries, imports, programme and priors files.

A registry that is not one, an empty one, a table of summaries with a negative sd, a learned-priors
file that is not one, a spec whose registry would be written outside ``--out``: each refused with
exit 2 and a message naming the file or field, before any fit and with nothing written (checked by
:func:`harness.run_case`). A test read twice is counted once and a channel with one test is
learned from its prior: both said, in ``test_learn_says_*`` (slow tier: they fit).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from harness import CLEAN, RUN, VALIDATE, Case, run_case, spec, to_yaml

from channelab.engine.registry import open_registry

SUMMARY_HEADER = "experiment,arm,metric,role,type,n,control,mean,sd\n"
SUMMARY = SUMMARY_HEADER + "t1,control,amount,revenue,continuous,40,control,10.0,4.0\n"
SUMMARY += "t1,email,amount,revenue,continuous,40,control,11.0,4.5\n"
IMPORT = ["registry", "import", "summaries.csv", "--registry", "out/reg.duckdb"]
LEARN = ["learn", "reg.duckdb", "--out", "out"]


def _empty_registry(path: Path) -> None:
    with open_registry(path, create=True):
        pass


def _not_a_registry(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()


def _other_version(path: Path) -> None:
    _empty_registry(path)
    con = duckdb.connect(str(path))
    con.execute("UPDATE channelab_registry SET version = 99")
    con.close()


def _priors(content: object) -> dict[str, str]:
    text = content if isinstance(content, str) else json.dumps(content)
    return {
        "exp.yaml": to_yaml(spec(priors={"from": "learned.priors.json"})),
        "rows.csv": CLEAN,
        "learned.priors.json": text,
    }


LEARNED = {"kind": "channelab learned priors", "version": 1, "name": "p"}
ENTRY = {"channel": "email", "metric": "bought", "scale": "loglift", "mean": 0.1, "sd": 0.1, "tests": 3}

CASES = {
    "learn-a-csv-is-not-a-registry": Case({"reg.duckdb": CLEAN}, LEARN, 2, r"reg\.duckdb: .*not a DuckDB"),
    "learn-a-database-that-is-not-a-registry": Case(
        {"reg.duckdb": _not_a_registry}, LEARN, 2, "not a channelab registry"
    ),
    "learn-a-registry-of-another-version": Case({"reg.duckdb": _other_version}, LEARN, 2, "version 99"),
    "learn-an-empty-registry": Case({"reg.duckdb": _empty_registry}, LEARN, 2, "no records to learn from"),
    "learn-a-missing-source": Case({}, LEARN, 2, r"reg\.duckdb"),
    "learn-a-programme-file-with-an-unknown-key": Case(
        {"p.yaml": "name: p\nsources: [reg.duckdb]\nsource: x\n"},
        ["learn", "p.yaml", "--out", "out"],
        2,
        "source: unknown key",
    ),
    "run-registry-is-not-a-registry": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": CLEAN, "reg.duckdb": _not_a_registry},
        [*RUN, "--registry", "reg.duckdb"],
        2,
        "not a channelab registry",
    ),
    "spec-registry-outside-out": Case(
        {"exp.yaml": to_yaml(spec(registry="../elsewhere.duckdb")), "rows.csv": CLEAN},
        VALIDATE,
        2,
        r"registry: got '\.\./elsewhere\.duckdb'",
    ),
    "import-a-negative-sd": Case(
        {"summaries.csv": SUMMARY.replace("11.0,4.5", "11.0,-4.5")},
        IMPORT,
        2,
        r"summaries\.csv.*line 3.*sd",
        not_created=("out/reg.duckdb",),
    ),
    "import-a-file-of-another-kind": Case(
        {"notes.txt": "hello"},
        ["registry", "import", "notes.txt", "--registry", "out/r.duckdb"],
        2,
        "cannot import a .txt file",
    ),
    "mark-an-arm-of-no-test": Case(
        {"reg.duckdb": _empty_registry},
        ["registry", "mark", "abc", "email", "--launched", "--registry", "reg.duckdb"],
        2,
        "no record of arm 'email'",
    ),
    "priors-from-a-missing-file": Case(
        {"exp.yaml": to_yaml(spec(priors={"from": "nowhere.json"})), "rows.csv": CLEAN},
        RUN,
        2,
        "priors.from: cannot read",
    ),
    "priors-from-not-a-learned-priors-file": Case(
        _priors({"kind": "learn"}), RUN, 2, "not a learned-priors file"
    ),
    "priors-from-another-version": Case(_priors(LEARNED | {"version": 2, "priors": []}), RUN, 2, "version 2"),
    "priors-from-a-negative-sd": Case(
        _priors(LEARNED | {"priors": [ENTRY | {"sd": -1}]}), RUN, 2, r"priors\[0\]\.sd is -1"
    ),
    "learn-a-name-with-a-folder": Case(
        {"reg.duckdb": _empty_registry}, [*LEARN, "--name", "../escaped"], 2, r"--name: got '\.\./escaped'"
    ),
    "priors-from-a-fit-that-did-not-converge": Case(
        _priors(LEARNED | {"converged": False, "priors": [ENTRY]}), RUN, 2, "did not converge"
    ),
    "priors-from-given-per-metric": Case(
        {
            "exp.yaml": to_yaml(
                spec(
                    metrics=[
                        {"name": "bought", "type": "binary", "role": "outcome", "priors": {"from": "x.json"}}
                    ]
                )
            ),
            "rows.csv": CLEAN,
        },
        VALIDATE,
        2,
        r"metrics\[bought\]\.priors\.from",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_programme_case(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    run_case(CASES[name], tmp_path, monkeypatch)
