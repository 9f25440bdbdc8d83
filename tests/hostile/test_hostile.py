"""Hostile and unusual inputs, as a careless or a malicious colleague would write them.

The first round: the experiment file, the data, SQL, overwrites and outputs. Every case runs
through :func:`harness.run_case`, which also asserts no traceback, no input changed and nothing
written outside ``--out``. The later rounds live beside it, one file per family (README.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from harness import (
    AT_LEAST_ZERO,
    CLEAN,
    RUN,
    VALIDATE,
    Case,
    csv_text,
    edited,
    parquet,
    rows,
    run_case,
    spec,
    sqlite_like_db,
    to_yaml,
)

BOMB = "\n".join(
    ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    + ["name: *a8"]
)
INF = float("inf")


def db_case(query: str, match: str, **kw) -> Case:
    data = {"path": "crm.duckdb", "query": query}
    return Case(
        {"exp.yaml": to_yaml(spec(data=data)), "crm.duckdb": sqlite_like_db}, VALIDATE, 2, match, **kw
    )


CASES: dict[str, Case] = {
    # ---- the experiment file -------------------------------------------------------------
    "yaml-alias-bomb": Case({"exp.yaml": BOMB}, VALIDATE, 2, r"alias \(\*name\)"),
    "yaml-deep-nesting": Case(
        {"exp.yaml": "name: x\ndescription: " + "[" * 50_000}, VALIDATE, 2, "nesting deeper"
    ),
    "yaml-duplicate-key": Case(
        {"exp.yaml": to_yaml(spec()) + "control: email\n", "rows.csv": CLEAN},
        VALIDATE,
        2,
        r"'control' appears twice",
    ),
    "yaml-latin-1": Case(
        {"exp.yaml": to_yaml(spec(title="Café")).encode("latin-1")}, VALIDATE, 2, "not UTF-8"
    ),
    "yaml-utf-16": Case({"exp.yaml": to_yaml(spec()).encode("utf-16")}, VALIDATE, 2, "UTF-16"),
    "yaml-empty": Case({"exp.yaml": ""}, VALIDATE, 2, "the file is empty"),
    "yaml-a-list": Case({"exp.yaml": "- name\n- data\n"}, VALIDATE, 2, "expected a mapping"),
    "yaml-python-tag": Case(
        {"exp.yaml": "name: !!python/object/apply:os.system ['touch pwned']\n"},
        VALIDATE,
        2,
        "tag refused",
        not_created=("pwned",),
    ),
    "yaml-unclosed-quote": Case({"exp.yaml": "name: 'x\ncontrol: a\n"}, VALIDATE, 2, "not valid YAML"),
    "yaml-too-large": Case(
        {"exp.yaml": "description: '" + "x" * 1_100_000 + "'\n"}, VALIDATE, 2, "far too large"
    ),
    "spec-missing": Case({}, VALIDATE, 2, "no such experiment file"),
    "spec-unknown-key": Case(
        {"exp.yaml": to_yaml(spec(metircs=[])), "rows.csv": CLEAN}, VALIDATE, 2, "did you mean"
    ),
    "spec-numeric-label-unquoted": Case(
        {"exp.yaml": to_yaml(spec()).replace("control: control", "control: 0"), "rows.csv": CLEAN},
        VALIDATE,
        2,
        "quote it",
    ),
    "spec-boolean-label": Case(
        {"exp.yaml": to_yaml(spec()).replace("control: control", "control: no"), "rows.csv": CLEAN},
        VALIDATE,
        2,
        "as a boolean",
    ),
    "spec-infinite-share": Case(
        {
            "exp.yaml": to_yaml(spec(arms={"control": {}, "email": {"share": float("inf")}})),
            "rows.csv": CLEAN,
        },
        VALIDATE,
        2,
        "finite number",
    ),
    "spec-huge-share": Case(
        {"exp.yaml": to_yaml(spec(arms={"control": {}, "email": {"share": 1e308}})), "rows.csv": CLEAN},
        VALIDATE,
        2,
        "less than or equal",
    ),
    "spec-infinite-prior": Case(
        {"exp.yaml": to_yaml(spec()) + "priors: {arm_sd: .inf}\n", "rows.csv": CLEAN},
        VALIDATE,
        2,
        "finite number",
    ),
    "spec-nan-rope": Case(
        {
            "exp.yaml": to_yaml(
                spec(metrics=[{"name": "bought", "type": "binary", "role": "outcome", "rope": float("nan")}])
            ),
            "rows.csv": CLEAN,
        },
        VALIDATE,
        2,
        "finite number",
    ),
    "spec-label-20000-chars": Case(
        {"exp.yaml": to_yaml(spec(arms={"control": {}, "e" * 20_000: {}})), "rows.csv": CLEAN},
        VALIDATE,
        2,
        "at most 80",
    ),
    "spec-label-with-newline": Case(
        {"exp.yaml": to_yaml(spec(arms={"control": {}, "e\nmail": {}})), "rows.csv": CLEAN},
        VALIDATE,
        2,
        "control character",
    ),
    "spec-unreachable-plan": Case(
        {"exp.yaml": to_yaml(spec(plan={"target_lift": 1e-9, "baselines": {"bought": {"mean": 0.3}}}))},
        ["design", "exp.yaml", "--sims", "0", "--out", "out"],
        2,
        r"greater than or equal to 0.001",
    ),
    # ---- one SELECT, nothing else ----------------------------------------------------------
    "sql-second-statement": db_case(
        "SELECT * FROM touches; COPY (SELECT 42 AS x) TO 'x.csv'",
        "holds 2 statements",
        not_created=("x.csv",),
    ),
    "sql-close-and-inject": db_case(
        "SELECT * FROM touches); COPY (SELECT 42 AS x) TO 'x.csv'; SELECT * FROM (SELECT 1",
        "not valid SQL",
        not_created=("x.csv",),
    ),
    "sql-copy": db_case("COPY (SELECT 42 AS x) TO 'x.csv'", "COPY statement", not_created=("x.csv",)),
    "sql-attach": db_case("ATTACH 'crm.duckdb' AS rw", "ATTACH statement"),
    "sql-update": db_case("UPDATE touches SET bought = 1", "UPDATE statement"),
    "sql-set": db_case("SET enable_external_access = true", "SET statement"),
    "sql-read-system-file": db_case(
        "SELECT content AS arm FROM read_text('/etc/passwd')", "fails in this database", absent="root:"
    ),
    "sql-read-another-file": db_case("SELECT * FROM read_csv('rows.csv')", "fails in this database"),
    "sql-comment-tail": db_case(
        "SELECT * FROM touches WHERE arm = 'nobody' -- )", "has a header but no data rows"
    ),
    "sql-clean-query-works": Case(
        {
            "exp.yaml": to_yaml(spec(data={"path": "crm.duckdb", "query": "SELECT * FROM touches"})),
            "crm.duckdb": sqlite_like_db,
        },
        VALIDATE,
        0,
        "pass every blocking check",
    ),
    # ---- files as downloaded ----------------------------------------------------------------
    "csv-true-false": Case(
        {
            "exp.yaml": to_yaml(spec()),
            "rows.csv": csv_text(rows().assign(bought=lambda f: f.bought.map({1: "TRUE", 0: "FALSE"}))),
        },
        VALIDATE,
        0,
        "pass every blocking check",
    ),
    "csv-true-false-any-case": Case(
        {
            "exp.yaml": to_yaml(spec()),
            "rows.csv": csv_text(rows().assign(bought=lambda f: f.bought.map({1: "true", 0: "False"}))),
        },
        VALIDATE,
        0,
        "pass every blocking check",
    ),
    "csv-other-words": Case(
        {
            "exp.yaml": to_yaml(spec()),
            "rows.csv": csv_text(rows().assign(bought=lambda f: f.bought.map({1: "yes", 0: "maybe"}))),
        },
        VALIDATE,
        2,
        r"is not a number .* Export it as 0/1 or true/false",
    ),
    "csv-leading-blank-line": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": "\n" + CLEAN}, VALIDATE, 0, "pass every blocking check"
    ),
    "csv-only-blank-lines": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": "\n\n\n"}, VALIDATE, 2, "only blank lines"
    ),
    "csv-duplicate-header": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": CLEAN.replace("score", "segment", 1)},
        VALIDATE,
        2,
        "more than once",
    ),
    "csv-unbalanced-quote": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": CLEAN.replace("\n2,email,", '\n2,"email,', 1)},
        VALIDATE,
        2,
        "never closed",
    ),
    "csv-ragged-line": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": CLEAN.replace("\n2,email,", "\n2,email,x,", 1)},
        VALIDATE,
        2,
        r"field\(s\), but the header",
    ),
    "csv-semicolons": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": CLEAN.replace(",", ";")},
        VALIDATE,
        2,
        r"set data.delimiter: ';'",
    ),
    "csv-nfd-arm-label": Case(
        {
            "exp.yaml": to_yaml(spec(arms={"control": {}, "émail": {}})),
            "rows.csv": CLEAN.replace(",email,", ",e\u0301mail,"),
        },
        VALIDATE,
        2,
        "Unicode characters",
    ),
    "csv-latin-1": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": CLEAN.replace("smb", "caf\xe9").encode("latin-1")},
        VALIDATE,
        2,
        "rows.csv",
    ),
    "csv-empty-file": Case({"exp.yaml": to_yaml(spec()), "rows.csv": ""}, VALIDATE, 2, "empty"),
    "csv-header-only": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": CLEAN.split("\n")[0] + "\n"}, VALIDATE, 2, "no data rows"
    ),
    "csv-missing-column": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": csv_text(rows().drop(columns="spend"))},
        VALIDATE,
        2,
        "does not have",
    ),
    "csv-unknown-arm": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": edited(arm=[(3, "emial")])},
        VALIDATE,
        2,
        "did you mean 'email'",
    ),
    "csv-text-in-count": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": edited(visits=[(4, "many")])},
        VALIDATE,
        2,
        r"is not a number .*row 5",
    ),
    "csv-negative-count": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": edited(visits=[(4, -1)])}, VALIDATE, 2, "is negative"
    ),
    "csv-huge-revenue": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": edited(spend=[(4, "1e308")])}, VALIDATE, 2, "larger than 1e"
    ),
    "csv-huge-count": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": edited(visits=[(4, "1e20")])}, VALIDATE, 2, "larger than 1e"
    ),
    "csv-huge-continuous": Case(
        {
            "exp.yaml": to_yaml(
                spec(metrics=[*spec()["metrics"], {"name": "score", "type": "continuous", "role": "outcome"}])
            ),
            "rows.csv": edited(score=[(4, "1e200")]),
        },
        VALIDATE,
        2,
        "larger than 1e",
    ),
    "csv-infinite-value": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": edited(spend=[(4, "inf")])}, VALIDATE, 2, "infinite or NaN"
    ),
    "csv-duplicate-ids": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": edited(id=[(4, 1)])}, VALIDATE, 2, "id"
    ),
    "csv-long-segment-label": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": edited(segment=[(4, "s" * 20_000)])},
        VALIDATE,
        2,
        "a level of 20,000 characters",
    ),
    "csv-huge-arm-label-in-data": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": edited(arm=[(4, "x" * 20_000)])},
        VALIDATE,
        2,
        r"x\.\.\. \(1 row",
        absent="x" * 100,
    ),
    "csv-covariate-is-the-arm": Case(
        {
            "exp.yaml": to_yaml(spec(covariates=["copy"])),
            "rows.csv": csv_text(rows().assign(copy=lambda f: f.arm)),
        },
        VALIDATE,
        2,
        "separates the arms",
    ),
    "csv-one-unit-in-an-arm": Case(  # refused before any sampling: no fit, exit 2 and not 3
        {
            "exp.yaml": to_yaml(spec()),
            "rows.csv": csv_text(rows().loc[lambda f: (f.arm == "control") | (f.index == 1)]),
        },
        RUN,
        2,
        r"arm 'email' \(column 'arm'\) has too few units counted for metric\(s\) 'visits' \(1; 2 needed\)",
        not_created=("out/hostile.pdf", "out/hostile.json"),
    ),
    "csv-glob-without-match": Case(
        {"exp.yaml": to_yaml(spec(data={"path": "logs/*.csv"}))}, VALIDATE, 2, "no file matches"
    ),
    "parquet-int-then-double": Case(
        {
            "exp.yaml": to_yaml(spec(data={"path": "week-*.parquet"})),
            "week-1.parquet": parquet(rows().iloc[:60]),
            "week-2.parquet": parquet(rows().iloc[60:].assign(visits=lambda f: f.visits + 0.5)),
        },
        VALIDATE,
        2,
        r"visits.* is not a whole number",  # 2.5 is kept, not rounded to 3, and then refused
    ),
    "parquet-missing-column": Case(
        {
            "exp.yaml": to_yaml(spec(data={"path": "week-*.parquet"})),
            "week-1.parquet": parquet(rows().iloc[:60]),
            "week-2.parquet": parquet(rows().iloc[60:].drop(columns="spend")),
        },
        VALIDATE,
        2,
        r"week-2.parquet: no column\(s\) \['spend'\]",
    ),
    "parquet-text-column": Case(
        {
            "exp.yaml": to_yaml(spec(data={"path": "week-*.parquet"})),
            "week-1.parquet": parquet(rows().iloc[:60]),
            "week-2.parquet": parquet(rows().iloc[60:].assign(bought=lambda f: f.bought.astype(str))),
        },
        VALIDATE,
        2,
        "holds text values where week-1.parquet holds number",
    ),
    # ---- user text in the console and in figures ------------------------------------------
    "label-rich-closing-tag": Case(
        {
            "exp.yaml": to_yaml(spec(arms={"control": {}, "Email [/]": {}})),
            "rows.csv": CLEAN.replace(",email,", ",Email [/],"),
        },
        VALIDATE,
        0,
        r"Email \[/\]: 60 units",
    ),
    "label-rich-style-and-emoji": Case(
        {
            "exp.yaml": to_yaml(spec(arms={"control": {}, "Email [v2] :x:": {}})),
            "rows.csv": CLEAN.replace(",email,", ",Email [v2] :x:,"),
        },
        VALIDATE,
        0,
        r"Email \[v2\] :x:: 60 units",
    ),
    "label-math-text-in-figures": Case(
        {
            "exp.yaml": to_yaml(spec(arms={"control": {}, "$\\frac{1": {}})),
            "rows.csv": CLEAN.replace(",email,", ",$\\frac{1,"),
        },
        RUN,
        0,
        "Report:",
        fit=True,
    ),
    # ---- degenerate data -------------------------------------------------------------------
    "control-without-events": Case(
        {
            "exp.yaml": to_yaml(spec()),
            "rows.csv": csv_text(rows().assign(bought=lambda f: np.where(f.arm == "control", 0, f.bought))),
        },
        RUN,
        0,
        "inconclusive",
        fit=True,
    ),
    # ---- outputs ---------------------------------------------------------------------------
    "out-is-a-file": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": CLEAN, "out": "not a folder"},
        RUN,
        2,
        "is a file, not a folder",
    ),
    "out-over-the-data": Case(
        {"exp.yaml": to_yaml(spec(name="rows", data={"path": "rows.json"})), "rows.json": "{}"},
        ["run", "exp.yaml", "--out", "."],
        2,
        "would overwrite an input",
    ),
    "assign-over-the-spec": Case(
        {"exp.yaml": to_yaml(spec()), "units.csv": "id,segment\n1,smb\n2,smb\n"},
        ["assign", "exp.yaml", "--units", "units.csv", "--out", "exp.yaml"],
        2,
        "would overwrite an input",
    ),
    "assign-over-the-units": Case(
        {"exp.yaml": to_yaml(spec()), "units.csv": "id,segment\n1,smb\n2,smb\n"},
        ["assign", "exp.yaml", "--units", "units.csv", "--out", "units.csv"],
        2,
        "would overwrite an input",
    ),
    "match-over-the-data": Case(
        {
            "exp.yaml": to_yaml(
                spec(
                    design="matched",
                    matching={"covariates": ["segment"]},
                    covariates=[],
                    data={"path": "rows.csv"},
                )
            ),
            "rows.csv": CLEAN,
        },
        ["match", "exp.yaml", "--out", "rows.csv"],
        2,
        "would overwrite an input",
    ),
    "simulate-writes-only-its-two-files": Case(
        {},
        ["simulate", "null", "--out", "sim.csv", "--n-prospects", "300", "--seed", "1"],
        0,
        "Truth: sim.truth.json",
    ),
    "simulate-out-is-a-folder": Case(
        {"sim": lambda p: p.mkdir()}, ["simulate", "null", "--out", "sim"], 2, "is a folder"
    ),
    "simulate-negative-seed": Case(
        {}, ["simulate", "null", "--out", "sim.csv", "--seed", "-1"], 2, AT_LEAST_ZERO
    ),
    "design-negative-sims": Case(
        {"exp.yaml": to_yaml(spec())},
        ["design", "exp.yaml", "--sims", "-1", "--out", "out"],
        2,
        AT_LEAST_ZERO,
    ),
}


@pytest.mark.parametrize(
    "name",
    # the cases that fit and draw a PDF take seconds each: slow tier
    [pytest.param(name, marks=pytest.mark.slow) if case.fit else name for name, case in CASES.items()],
)
def test_hostile_input(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    run_case(CASES[name], tmp_path, monkeypatch)


def test_the_suite_covers_at_least_sixty_cases():
    assert len(CASES) >= 60
