"""Reading an experiment file: YAML in, a validated :class:`Spec` out, errors one line per problem."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from channelab.errors import SpecError
from channelab.spec.base import suggest
from channelab.spec.schema import Spec


def load_spec(path: str | Path) -> Spec:
    """Read, parse and validate an experiment definition.

    Raises
    ------
    SpecError
        With one line per problem, each naming the file and the key path.
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(
            f"{path}: no such experiment file. Check the path (experiments live in experiments/)."
        )
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise SpecError(
            f"{path}: YAML tag refused{line}: {exc.problem}. Experiment files are plain data; "
            "remove the '!!' tag and write the value itself."
        ) from None
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        start = getattr(exc, "context_mark", None)
        context = getattr(exc, "context", None)
        if start is not None and context and (mark is None or start.line != mark.line):
            # e.g. an unclosed quote: the error surfaces at the end, the cause is where it began
            problem += f" ({context} that starts at line {start.line + 1}, column {start.column + 1})"
        raise SpecError(
            f"{path}: not valid YAML{where}: {problem}. Check indentation and quoting "
            "(labels containing ':' or '#' need quotes)."
        ) from None
    if raw is None:
        raise SpecError(f"{path}: the file is empty; see README.md for an annotated example experiment.")
    if not isinstance(raw, dict):
        raise SpecError(
            f"{path}: expected a mapping of keys (name:, data:, arms:, ...), got a {type(raw).__name__}."
        )
    return parse_spec(raw, source=path)


def parse_spec(raw: dict[str, Any], *, source: Path | None = None) -> Spec:
    """Validate an already-loaded mapping into a :class:`Spec` (used by tests and tools)."""
    where = str(source) if source else "<spec>"
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        missing = {tuple(e["loc"]) for e in errors if e["type"] == "missing"}
        lines = [ln for err in errors for ln in _describe(err, missing).splitlines()]
        raise SpecError(
            f"{where}: invalid experiment definition:\n" + "\n".join(f"  - {ln}" for ln in lines)
        ) from None
    if source is not None:
        spec = spec.model_copy(update={"source_path": source.resolve()})
    return spec


def _describe(err: Any, missing: set[tuple[Any, ...]]) -> str:
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        key, parent = str(err["loc"][-1]), tuple(err["loc"][:-1])
        allowed = _allowed_keys(parent)
        # a misspelt required key is also reported missing: prefer it ('roel' -> 'role', not 'rope')
        absent = [k for k in allowed if (*parent, k) in missing]
        hint = suggest(key, absent) or suggest(key, allowed)
        return f"{loc}: unknown key{hint or f'; allowed keys are {sorted(allowed)}'}"
    if kind == "missing":
        return f"{loc}: required key is missing"
    msg = err["msg"].removeprefix("Value error, ")
    if kind == "value_error" and not err["loc"]:
        return msg  # cross-key problems from Spec._consistent, each already led by its key path
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", err["ctx"]["expected"])
        msg = f"got {err['input']!r}, but expected {msg.removeprefix('Input should be ')}"
        msg += suggest(str(err["input"]), options)
    elif kind in _BOUND_ERRORS:
        msg = f"got {err['input']!r}, but expected a value {msg.removeprefix('Input should be ')}"
    elif kind == "string_pattern_mismatch":
        msg = (
            f"got {err['input']!r}, but expected letters, digits and '_' (no spaces), "
            f"matching {err['ctx']['pattern']}"
        )
    elif msg.startswith("Input should be "):  # type errors: 'a valid number', 'a valid list', ...
        msg = f"got {_short(err['input'])}, but expected {msg.removeprefix('Input should be ')}"
    return f"{loc}: {msg}"


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


_BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Field names allowed at key path ``loc``, for "did you mean" suggestions."""
    model: type[BaseModel] = Spec
    skip_key = False  # the next part is a user-chosen dict key (an arm name)
    for part in loc:
        if isinstance(part, int) or skip_key:
            skip_key = False
            continue
        field = model.model_fields.get(str(part))
        nested = _nested_model(field.annotation) if field else None
        if field is None or nested is None:
            return []
        model, skip_key = nested, typing.get_origin(field.annotation) is dict
    return [k for k in model.model_fields if k != "source_path"]


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if (found := _nested_model(arg)) is not None:
            return found
    return None
