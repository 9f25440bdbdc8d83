"""The house rules the layout promises, checked on the source: short functions, modules that fit
in a sitting, and a documented public API (numpydoc ``Parameters`` or ``Attributes`` on every
name a folder exports in ``__all__``). Complexity is ruff's (``C901``, ``PLR0912``, ``PLR0915``).
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "channelab"
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 500


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _dotted(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_function_is_longer_than_80_lines():
    long = [
        f"{_dotted(p)}.{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for p in _modules()
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, long


def test_no_module_is_longer_than_500_lines():
    long = [f"{_dotted(p)}: {n} lines" for p in _modules() if (n := len(p.read_text().splitlines())) > 500]
    assert not long, long


def _exported() -> list[tuple[str, str]]:
    """(module, name) of every name in an ``__all__`` of the package, read from the source."""
    out = []
    for path in _modules():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
                and isinstance(node.value, ast.List | ast.Tuple)
            ):
                out += [(_dotted(path), ast.literal_eval(e)) for e in node.value.elts]
    return out


def _needs_section(obj: object) -> str | None:
    """``Parameters`` for a function with parameters, ``Attributes`` (or ``Parameters``) for a
    class with fields or constructor parameters, ``None`` for anything else (constants, aliases)."""
    if inspect.isclass(obj):
        fields = getattr(obj, "__dataclass_fields__", None) or getattr(obj, "model_fields", None)
        fields = fields or getattr(obj, "_fields", None)
        return "Attributes" if fields else None
    if inspect.isfunction(obj):
        params = [p for p in inspect.signature(obj).parameters if p not in ("self", "cls")]
        return "Parameters" if params else None
    return None


@pytest.mark.parametrize(("module", "name"), _exported(), ids=lambda x: x)
def test_every_exported_name_documents_its_parameters(module: str, name: str):
    obj = getattr(importlib.import_module(module), name)
    section = _needs_section(obj)
    if section is None:
        return
    doc = inspect.getdoc(obj) or ""
    wanted = {section, "Parameters"} if section == "Attributes" else {section}
    assert any(f"{s}\n{'-' * len(s)}" in doc for s in wanted), (
        f"{module}.{name}: its docstring has no numpydoc {' or '.join(sorted(wanted))} section"
    )
