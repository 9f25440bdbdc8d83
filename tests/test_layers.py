"""The dependency rules of the package, checked by reading every import in src/.

Every ``import`` counts: at module level, under ``if TYPE_CHECKING:`` and inside functions.
Two rules. The package docstring's: a module may import its own layer and the layers below it,
never above, and the import graph has no cycle. Each folder's: it imports only the parts listed
in :data:`MAY_IMPORT`, which its ``__init__`` docstring repeats ("May import: ..."), so a promise
such as "analysis never imports the engine" fails a test when broken. Heavy libraries live in one
layer each (PyMC in analysis, DuckDB and Spark in the engine, matplotlib and reportlab in
reporting, YAML in the spec loader).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: Layers from the bottom up, as written in ``channelab/__init__.py``.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "limits", "files", "likelihoods"),
    ("spec",),
    ("provenance",),
    ("cells",),
    ("engine",),
    ("cohort",),
    ("analysis",),
    ("simulate",),
    ("design",),
    ("replication",),
    ("pipeline",),
    ("reporting",),
    ("app",),
    ("cli", "__main__"),
)

#: Per top-level part, the other parts it may import (each folder's promise, beyond the order).
MAY_IMPORT: dict[str, frozenset[str]] = {
    part: frozenset(allowed.split(", ")) if allowed else frozenset()
    for part, allowed in {
        "errors": "",
        "limits": "",
        "files": "errors, limits",
        "likelihoods": "",
        "spec": "errors, limits, files, likelihoods",
        "provenance": "errors, limits, files, spec",
        "cells": "errors, limits, files, spec, likelihoods",
        "engine": "errors, limits, files, spec, likelihoods, provenance, cells",
        "cohort": "errors, limits, files, spec, engine",
        "analysis": "errors, limits, files, spec, likelihoods, cells",
        "simulate": "errors, limits, files, spec, provenance, cells, engine, analysis",
        "design": "errors, limits, files, spec, provenance, cells, engine, cohort, analysis, simulate",
        "replication": "errors, limits, files, spec, provenance, cells",
        "pipeline": "errors, limits, files, spec, provenance, cells, engine, cohort, analysis, design, "
        "replication",
        "reporting": "errors, limits, files, spec, likelihoods, provenance, cells, engine, cohort, analysis, "
        "design, replication, pipeline",
        "app": "errors, limits, files, spec, provenance, cells, engine, cohort, analysis, simulate, design, "
        "replication, pipeline, reporting",
        "cli": "errors, limits, files, spec, analysis, simulate, design, app",
        "__main__": "cli",
    }.items()
}

#: Third-party libraries and the only top-level parts (layer or module) that may import them.
HOMES: dict[str, tuple[str, ...]] = {
    "yaml": ("spec.loader",),
    "pymc": ("analysis",),
    "pytensor": ("analysis",),
    "nutpie": ("analysis",),
    "duckdb": ("engine",),
    "pyspark": ("engine",),
    "sqlglot": ("engine",),
    "matplotlib": ("reporting",),
    "reportlab": ("reporting",),
}


def module_name(path: Path, root: Path) -> str:
    """``root/pkg/sub/mod.py`` -> ``pkg.sub.mod`` (a package's ``__init__`` is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, module: str) -> list[tuple[str, int]]:
    """Every module ``path`` imports, anywhere in the file, with the line of the import."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((base, node.lineno))
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]  # submodules
    return found


def check_folders(root: Path, package: str, may_import: dict[str, frozenset[str]]) -> list[str]:
    """Imports of one top-level part from another that its entry in ``may_import`` does not list."""
    problems = []
    paths = sorted((root / package).rglob("*.py"))
    modules = {module_name(path, root) for path in paths}
    for path in paths:
        module = module_name(path, root)
        top = module.split(".")[1] if "." in module else None
        for target, line in imports_of(path, module):
            if top is None or target not in modules or target == package:
                continue
            target_top = target.split(".")[1]
            if target_top != top and target_top not in may_import.get(top, frozenset()):
                problems.append(
                    f"{path.relative_to(root)}:{line}: {module} imports {target}; "
                    f"{top} may import only {sorted(may_import.get(top, ()))}"
                )
    return problems


def check_layers(root: Path, package: str, layers: tuple[tuple[str, ...], ...]) -> list[str]:
    """Upward imports, imports outside a library's home, and import cycles in ``root/package``."""
    rank = {part: i for i, parts in enumerate(layers) for part in parts}
    graph: dict[str, set[str]] = {}
    problems: list[str] = []
    paths = sorted((root / package).rglob("*.py"))
    modules = {module_name(path, root) for path in paths}
    for path in paths:
        module = module_name(path, root)
        graph.setdefault(module, set())
        top = module.split(".")[1] if "." in module else None
        for target, line in imports_of(path, module):
            where = f"{path.relative_to(root)}:{line}"
            if target.split(".")[0] in HOMES and package == "channelab":
                inner = module.removeprefix(f"{package}.")
                if not any(inner == h or inner.startswith(h + ".") for h in HOMES[target.split(".")[0]]):
                    problems.append(
                        f"{where}: {module} imports {target}, which lives in {HOMES[target.split('.')[0]]}"
                    )
            if target not in modules:  # another library, or a name imported from a module
                continue
            graph[module].add(target)
            target_top = target.split(".")[1] if target != package else None
            if top is None or target_top is None:
                continue  # the package root re-exports the public API lazily
            if top not in rank or target_top not in rank:
                problems.append(f"{where}: {top!r} or {target_top!r} is in no layer; add it to the rule")
            elif rank[target_top] > rank[top]:
                problems.append(f"{where}: {module} (layer {top}) imports {target} (a higher layer)")
    problems += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)]
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules (depth-first search)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_channelab_imports_follow_the_written_rule():
    assert check_layers(SRC, "channelab", LAYERS) == []


def test_every_folder_imports_only_what_it_declares():
    assert check_folders(SRC, "channelab", MAY_IMPORT) == []


@pytest.mark.parametrize("folder", sorted(p.parent.name for p in (SRC / "channelab").glob("*/__init__.py")))
def test_each_folder_docstring_declares_its_table_entry(folder):
    doc = (SRC / "channelab" / folder / "__init__.py").read_text(encoding="utf-8").split('"""')[1]
    declared = " ".join(doc.split("May import:", 1)[1].split(".", 1)[0].split())
    assert frozenset(declared.split(", ")) == MAY_IMPORT[folder]


def test_every_part_has_a_declared_table_entry():
    assert {p for layer in LAYERS for p in layer} == set(MAY_IMPORT)


_SIDEWAYS = {"model/fit.py": "from fake.engine import x" + chr(10)}
_IN_FUNCTION = {"model/fit.py": "def f():" + chr(10) + "    import fake.engine" + chr(10)}


@pytest.mark.parametrize("files", [_SIDEWAYS, _IN_FUNCTION], ids=["sideways", "undeclared-in-function"])
def test_the_folder_check_fails_on_an_undeclared_import(tmp_path, files):
    """Two folders of one layer: the order allows the import, the folder's declaration does not."""
    root = _fake_package(
        tmp_path, {"__init__.py": "", "model/__init__.py": "", "engine/__init__.py": "", **files}
    )
    problems = check_folders(root, "fake", {"model": frozenset(), "engine": frozenset()})
    assert any("fake.model.fit imports fake.engine" in p for p in problems), problems
    assert check_folders(root, "fake", {"model": frozenset({"engine"}), "engine": frozenset()}) == []


def test_the_rule_in_the_code_is_the_rule_in_the_docstring():
    doc = (SRC / "channelab" / "__init__.py").read_text(encoding="utf-8")
    rule = doc.split("::", 1)[1].split("Public API")[0]
    written = [line.strip().split("  ")[0].rstrip("/") for line in rule.splitlines() if line.strip()]
    assert written == [", ".join(p for p in parts if p != "__main__") for parts in LAYERS]


def test_every_top_level_part_is_in_a_layer():
    parts = {p.stem if p.is_file() else p.name for p in (SRC / "channelab").iterdir()}
    parts -= {"__init__", "__pycache__", "py"}
    parts = {p for p in parts if not p.startswith(".")}
    assert parts - {"py.typed"} <= {p for layer in LAYERS for p in layer}


def _fake_package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "fake" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


FAKE_LAYERS = (("low",), ("high",))


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"low.py": "from fake.high import x\n", "high.py": "x = 1\n"}, "a higher layer"),
        (
            {"low.py": "def f():\n    from fake import high\n", "high.py": "x = 1\n"},
            "a higher layer",
        ),
        (
            {
                "low.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import fake.high\n",
                "high.py": "",
            },
            "a higher layer",
        ),
        (
            {
                "high/__init__.py": "",
                "high/a.py": "from fake.high.b import y\n",
                "high/b.py": "from fake.high.a import z\n",
            },
            "import cycle",
        ),
        ({"low.py": "from . import high\n", "high.py": ""}, "a higher layer"),
        ({"middle.py": "x = 1\n"}, "no layer"),
    ],
    ids=["module-level", "in-function", "type-checking", "cycle", "relative", "unlisted"],
)
def test_the_check_fails_on_a_broken_rule(tmp_path, files, expected):
    files = {"__init__.py": "", **files}
    problems = check_layers(_fake_package(tmp_path, files), "fake", FAKE_LAYERS)
    if expected == "no layer":  # a module nobody imports is not caught; one that imports is
        files["low.py"] = "from fake import middle\n"
        problems = check_layers(_fake_package(tmp_path, files), "fake", FAKE_LAYERS)
    assert any(expected in p for p in problems), problems


def test_the_check_passes_a_package_that_follows_its_rule(tmp_path):
    files = {"__init__.py": "", "low.py": "x = 1\n", "high.py": "from fake.low import x\n"}
    assert check_layers(_fake_package(tmp_path, files), "fake", FAKE_LAYERS) == []


def test_validate_imports_no_model_and_no_plotting():
    """`channelab validate` answers in about a second: it never loads PyMC, ArviZ or matplotlib."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    code = (
        "import sys\n"
        "from channelab.app import validate_experiment\n"
        f"validate_experiment({str(root / 'docs' / 'quickstart' / 'first_test.yaml')!r})\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'pymc', 'arviz', 'arviz_stats', "
        "'matplotlib', 'statsmodels', 'pytensor', 'nutpie'})\n"
        "heavy += ['scipy.stats'] if 'scipy.stats' in sys.modules else []\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_a_run_imports_no_replication_registry_or_frequentist_code(tmp_path: Path):
    """The modules of a run (pipeline, PDF, HTML) leave statsmodels, the replication code and the
    registry's to the runs that need them (an original study, a time-to-event check, a registry)."""
    import subprocess
    import sys

    tests = Path(__file__).resolve().parent
    spec = tests.parent / "docs" / "quickstart" / "first_test.yaml"
    code = (
        f"import sys; sys.path.insert(0, {str(tests)!r})\n"
        "from helpers import mocked_sampling\n"
        "from channelab.app import run_experiment\n"
        "with mocked_sampling():\n"
        f"    run_experiment({str(spec)!r}, out_dir=sys.argv[1])\n"
        "print('ran', ','.join(sorted(m for m in sys.modules if m.split('.')[0] == 'statsmodels' "
        "or m.startswith(('channelab.replication', 'channelab.app.programme')))[:3]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["ran"]  # the run went through, and loaded none of them
