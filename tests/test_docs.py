"""The docs cannot drift.

Every code block of the README and of ``docs/`` is run or checked (commands and their options
exist, YAML parses against the schema, Python compiles and its names resolve), every link and
``#anchor`` points to a page and section that exist, every quoted report sentence and number
is checked against the committed example JSON in ``reports/``, the generated reference is up to
date, and the MkDocs site builds with ``--strict``.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from channelab.cli import app
from channelab.spec import parse_spec
from helpers import ROOT, mocked_sampling

DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
_spec = importlib.util.spec_from_file_location("gen_reference", DOCS / "gen_reference.py")
gen = sys.modules.setdefault("gen_reference", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(gen)

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def _id(path: Path) -> str:
    return path.name


def _blocks(lang: str) -> list[tuple[Path, str]]:
    return [(page, body) for page in PAGES for kind, body in FENCE.findall(page.read_text()) if kind == lang]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("–", "−")).strip()


# --- headings and links -----------------------------------------------------------------------


def anchors(page: Path) -> set[str]:
    """The anchors MkDocs gives the page's headings (duplicates numbered _1, _2, ...)."""
    seen: dict[str, int] = {}
    for line in FENCE.sub("", page.read_text()).splitlines():
        match = re.match(r"#{1,6} (.*)", line)
        if not match:
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", match.group(1))
        text = text.replace("\\*", "*").replace("`", "")
        text = re.sub(r"(\*\*|__)(.*?)\1", r"\2", text)
        slug = gen.slugify(text)
        seen[slug] = seen.get(slug, -1) + 1
        if seen[slug]:
            slug = f"{slug}_{seen[slug]}"
        seen.setdefault(slug, 0)
    return set(seen)


def broken_links(page: Path) -> list[str]:
    """Every link of the page to a missing file, page or section."""
    broken = []
    for target in LINK.findall(FENCE.sub("", page.read_text())):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no section #{anchor} in {dest.name}")
    return broken


def test_the_anchor_check_finds_a_missing_section_and_page(tmp_path):
    page = tmp_path / "a.md"
    page.write_text("# Title\n\n## Step 1: `run` it\n\n[ok](#step-1-run-it) [gone](#nope) [away](b.md)\n")
    assert anchors(page) == {"title", "step-1-run-it"}
    assert broken_links(page) == ["#nope: no section #nope in a.md", "b.md: no such file"]


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_every_link_and_anchor_exists(page):
    assert broken_links(page) == []


def test_every_docs_page_is_in_the_site_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    assert [p.name for p in PAGES[1:] if f": {p.name}" not in nav] == []


def test_the_readme_stays_short_and_links_every_page():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) < 250
    assert [p.name for p in PAGES[1:] if f"(docs/{p.name})" not in text and p.name != "index.md"] == []


# --- code blocks --------------------------------------------------------------------------------


def _commands() -> dict[str, set[str]]:
    """Options per command; a group's commands as "group sub" (``registry import``)."""
    group = typer.main.get_command(app)
    out: dict[str, set[str]] = {}
    for name in group.list_commands(None):
        command = group.get_command(None, name)
        subs = command.list_commands(None) if hasattr(command, "list_commands") else []
        for sub, cmd in [(f"{name} {s}", command.get_command(None, s)) for s in subs] or [(name, command)]:
            out[sub] = {opt for param in cmd.params for opt in getattr(param, "opts", [])}
    return out


def _make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))


def check_shell_line(line: str, commands: dict[str, set[str]]) -> None:
    """One line of a bash block: a make target, a channelab command with its options, a script."""
    words = shlex.split(line.replace("[", " ").replace("]", " "))
    if words[0] == "make":
        assert set(words[1:]) <= _make_targets(), line
    elif words[0] == ".venv/bin/channelab":
        if f"{words[1]} {words[2]}" in commands:  # a group's command: registry import
            words = [words[0], f"{words[1]} {words[2]}", *words[3:]]
        assert words[1] in commands, line
        assert {w.split("=")[0] for w in words[2:] if w.startswith("--")} <= commands[words[1]], line
        inputs = [w for w in words[2:3] if w.endswith(".yaml") and not w.split("/")[-1][0].isupper()]
        assert all((ROOT / w).exists() for w in inputs), line
    elif words[0] == ".venv/bin/python":
        assert (ROOT / words[1]).exists(), line
    else:
        raise AssertionError(f"unknown command in a docs block: {line}")


@pytest.mark.parametrize(
    ("page", "block"), _blocks("bash"), ids=lambda v: v.name if isinstance(v, Path) else ""
)
def test_every_shell_command_exists_with_its_options(page, block):
    commands = _commands()
    for line in re.sub(r"\\\n\s*", " ", block).splitlines():
        if line.split("#")[0].strip():
            check_shell_line(line.split("  #")[0].split(" # ")[0].strip(), commands)


def _shaped(value: object, node: dict, defs: dict) -> bool:
    """Whether a YAML value has the shape (mapping, list or scalar) of a schema option."""
    if "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[1]]
    kind = "object" if "properties" in node else node.get("type")
    if isinstance(value, dict):
        return kind == "object"
    if isinstance(value, list):
        return kind == "array"
    return kind not in ("object", "array")


def unknown_keys(value: object, node: dict, defs: dict, path: str = "") -> list[str]:
    """Keys of a YAML value that the experiment file's JSON Schema does not know."""
    if "$ref" in node:
        return unknown_keys(value, defs[node["$ref"].rsplit("/", 1)[1]], defs, path)
    if "anyOf" in node:
        fits = [
            unknown_keys(value, option, defs, path)
            for option in node["anyOf"]
            if _shaped(value, option, defs)
        ]
        return min(fits, key=len) if fits else []
    schema = node
    if isinstance(value, dict) and "properties" in schema:
        return [f"{path}{k}" for k in value if k not in schema["properties"]] + [
            bad
            for k, v in value.items()
            if k in schema["properties"]
            for bad in unknown_keys(v, schema["properties"][k], defs, f"{path}{k}.")
        ]
    if isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        return [
            b
            for k, v in value.items()
            for b in unknown_keys(v, schema["additionalProperties"], defs, f"{path}{k}.")
        ]
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [b for v in value for b in unknown_keys(v, schema["items"], defs, f"{path}[].")]
    return []


@pytest.mark.parametrize(
    ("page", "block"), _blocks("yaml"), ids=lambda v: v.name if isinstance(v, Path) else ""
)
def test_every_yaml_block_uses_only_keys_the_schema_knows(page, block):
    value = yaml.safe_load(block)
    if isinstance(value, dict) and "sources" in value:  # a programme file (channelab learn)
        from channelab.spec import Programme

        Programme.model_validate(value)
        return
    schema = gen.json_schema()
    assert unknown_keys(value, schema, schema["$defs"]) == []
    if {"name", "arms", "metrics"} <= set(value):
        parse_spec(value)  # a whole experiment file: valid, not only well-keyed


def test_the_key_check_finds_a_misspelt_key():
    schema = gen.json_schema()
    value = {
        "metrics": [{"name": "m", "rop": 0.1}],
        "arms": {"A": {"chanel": "email"}},
        "sampler": {"draws": 5},
    }
    assert unknown_keys(value, schema, schema["$defs"]) == ["metrics.[].rop", "arms.A.chanel"]


@pytest.mark.parametrize("path", sorted((ROOT / "experiments").glob("*.yaml")), ids=lambda p: p.stem)
def test_the_json_schema_knows_every_key_of_every_example(path):
    schema = gen.json_schema()
    assert unknown_keys(yaml.safe_load(path.read_text()), schema, schema["$defs"]) == []


def _names_resolve(tree: ast.Module) -> None:
    import channelab

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = importlib.import_module(node.module)
            assert all(hasattr(module, a.name) for a in node.names), ast.unparse(node)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "channelab"
        ):
            assert hasattr(channelab, node.attr), node.attr


@pytest.mark.parametrize(
    ("page", "block"), _blocks("python"), ids=lambda v: v.name if isinstance(v, Path) else ""
)
def test_every_python_block_compiles_and_its_names_resolve(page, block):
    _names_resolve(ast.parse(block))


def test_the_readmes_python_example_runs(monkeypatch, capsys):
    block = next(body for page, body in _blocks("python") if page.name == "README.md")
    monkeypatch.chdir(ROOT)
    with mocked_sampling():
        exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "Mens E-Mail" in out
    assert re.search(r"^(real lift|inconclusive|no effect|harm|engagement)", out, re.M)


def test_the_layout_tree_names_files_that_exist():
    tree = next(body for page, body in _blocks("") if page.name == "development.md")
    names = re.findall(r"^\s+([\w./ ]+?)\s{2,}", tree, re.M)
    files = {p.name for p in (ROOT / "src" / "channelab").rglob("*")}
    missing = [n for entry in names for n in entry.split() if n.rstrip("/") not in files]
    assert names
    assert missing == []


def test_the_readme_and_annotated_spec_examples_parse():
    section = (DOCS / "experiment-file.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    spec = parse_spec(yaml.safe_load(block))
    assert spec.name == "hillstrom_email"
    assert [m.role for m in spec.metrics_in_funnel_order] == ["engagement", "outcome", "outcome", "revenue"]
    assert spec.metrics[2].denominator == "visit"
    assert spec.priors_for(spec.metrics[3]).arm_sd == 0.5


@pytest.mark.parametrize("path", sorted((ROOT / "experiments").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_experiment_validates_against_its_data(path):
    from channelab.pipeline import validate
    from channelab.spec import load_spec

    checked = validate(load_spec(path))
    assert checked.checks.errors == []
    assert checked.cells.n_units > 0


# --- the quick start runs as written ----------------------------------------------------------

QUICK = DOCS / "quickstart"


def test_the_quick_starts_files_are_the_ones_shown():
    blocks = FENCE.findall((DOCS / "quickstart.md").read_text())
    assert (QUICK / "first_test.csv").read_text() == next(b for k, b in blocks if k == "text")
    assert (QUICK / "first_test.yaml").read_text() == next(b for k, b in blocks if k == "yaml")


def test_the_quick_start_validates_and_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    checked = runner.invoke(app, ["validate", "docs/quickstart/first_test.yaml"])
    assert checked.exit_code == 0, checked.output
    assert "2 rows, 2 cells" in checked.output
    with mocked_sampling():
        ran = runner.invoke(app, ["run", "docs/quickstart/first_test.yaml", "--out", str(tmp_path)])
    assert ran.exit_code == 0, ran.output
    doc = json.loads((tmp_path / "first_test.json").read_text())
    assert [a["arm"] for a in doc["arms"]] == ["New e-mail"]
    assert (tmp_path / "first_test.pdf").exists()


@pytest.mark.slow
def test_the_quick_start_says_what_the_page_says(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    ran = CliRunner().invoke(app, ["run", "docs/quickstart/first_test.yaml", "--out", str(tmp_path)])
    assert ran.exit_code == 0, ran.output
    assert "New e-mail: real lift" in ran.output
    summary = json.loads((tmp_path / "first_test.json").read_text())["arms"][0]["summary"]
    assert "meetings booked by 65 % (94 % interval +15 % to +141 %)" in summary
    assert "replies by 45 %" in summary


# --- what the docs say about the example reports is what the reports say -----------------------

QUOTE = re.compile(r"<!-- quote: (reports/[\w.]+\.json) -->\n((?:>.*\n)+)")


def _strings(value: object):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _strings(item)


def _quotes() -> list[tuple[Path, str, str]]:
    return [(page, report, quote) for page in PAGES for report, quote in QUOTE.findall(page.read_text())]


def test_the_quoted_pages_carry_their_quotes():
    assert len(_quotes()) >= 5
    assert {p.name for p, _, _ in _quotes()} >= {"README.md", "examples.md", "leadership.md"}


@pytest.mark.parametrize(
    ("page", "report", "quote"), _quotes(), ids=lambda v: v.name if isinstance(v, Path) else ""
)
def test_every_quoted_sentence_is_in_its_committed_report(page, report, quote):
    text = _norm(" ".join(_strings(json.loads((ROOT / report).read_text()))))
    body = _norm(" ".join(line.lstrip(">").strip() for line in quote.splitlines()))
    assert [f for f in body.split("[...]") if _norm(f) not in text] == []


FACTS = yaml.safe_load((DOCS / "facts.yaml").read_text())


def _pick(value: object, segment: str) -> object:
    name, _, where = segment.partition("[")
    value = value[name] if name else value
    if where:
        tests = [pair.split("=", 1) for pair in where.rstrip("]").split(",")]
        value = next(item for item in value if all(str(item[k]) == v for k, v in tests))
    return value


def json_value(doc: dict, path: str) -> object:
    """The value at a path of a report: dotted keys, ``list[key=value,...]`` picking an item."""
    value: object = doc
    for segment in re.findall(r"[^.\[]+(?:\[[^\]]*\])?|\[[^\]]*\]", path):
        value = _pick(value, segment)
    return value


def matches(actual: object, stated: object, scale: float) -> bool:
    """Whether a JSON value, times scale, is the stated value as written (rounded to its digits)."""
    if isinstance(stated, list):
        return len(actual) == len(stated) and all(
            matches(a, s, scale) for a, s in zip(actual, stated, strict=True)
        )
    if isinstance(stated, str):
        return actual == stated
    digits = len(repr(stated).partition(".")[2])
    return abs(float(actual) * scale - stated) <= 0.5 * 10**-digits + 1e-9


def test_the_fact_check_reads_paths_and_rounding():
    doc = {"effects": [{"arm": "A", "lift": {"mean": 0.1234, "hdi": [0.05, 0.2]}}], "n": {"in person": 3}}
    assert json_value(doc, "effects[arm=A].lift.hdi") == [0.05, 0.2]
    assert json_value(doc, "n.in person") == 3
    assert matches(0.1234, 12, 100)
    assert matches(0.1234, 12.3, 100)
    assert not matches(0.1234, 12.4, 100)
    assert matches([0.05, 0.2], [5, 20], 100)
    assert not matches("harm", "real lift", 1)


@pytest.mark.parametrize("fact", FACTS, ids=lambda f: f"{f['page']}: {f['says'][:40]}")
def test_every_stated_number_matches_its_committed_report(fact):
    page = ROOT / fact["page"] if fact["page"] == "README.md" else DOCS / fact["page"]
    assert _norm(fact["says"]) in _norm(re.sub(r"\n>[ ]?", "\n", page.read_text()))
    doc = json.loads((ROOT / "reports" / f"{fact['report']}.json").read_text())
    wrong = {
        path: json_value(doc, path)
        for path, stated in fact["values"].items()
        if not matches(json_value(doc, path), stated, fact.get("scale", 1))
    }
    assert wrong == {}


# --- the generated reference and the site -------------------------------------------------------


def test_the_generated_reference_and_schema_are_up_to_date():
    assert gen.main(["--check"]) == 0, "run: .venv/bin/python docs/gen_reference.py"
    reference = gen.REFERENCE.read_text()
    for key in ("`arm_column`", "`window_days`", "`origin`", "`adjust_bins`", "`bf_threshold`"):
        assert key in reference
    assert json.loads(gen.SCHEMA.read_text())["properties"]["metrics"]["minItems"] == 1


def test_the_reference_lists_every_key_of_every_section():
    schema = gen.json_schema()
    reference = gen.REFERENCE.read_text()
    keys = {k for d in [schema, *schema["$defs"].values()] for k in d.get("properties", {})}
    assert [k for k in keys if f"| `{k}` |" not in reference] == []


def test_the_site_builds_strictly(tmp_path):
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        pytest.skip("mkdocs and mkdocs-material are not installed (pip install -e '.[dev]')")
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (site / "reference" / "index.html").exists()
    assert (site / "quickstart" / "first_test.yaml").exists()
    assert not (ROOT / "site").exists()
