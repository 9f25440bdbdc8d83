"""Reading an experiment file: YAML in, a validated :class:`Spec` out, errors one line per problem."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from channelab.errors import SpecError, shown
from channelab.limits import MAX_NUMBER_DIGITS, MAX_SPEC_BYTES, MAX_SPEC_DEPTH
from channelab.spec.base import suggest
from channelab.spec.programme import Programme
from channelab.spec.schema import Spec


class _SpecLoader(yaml.SafeLoader):
    """PyYAML's safe loader, stricter: no aliases, no duplicate keys, bounded nesting.

    Aliases (``*name``) are refused because a few lines of them expand to billions of nodes
    ("billion laughs"); a duplicated key is refused because YAML would silently keep the last.
    """

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise _Refused(
                self._next_mark(), "an alias (*name) refers to an anchor; write the value out instead"
            )
        self._depth += 1
        try:
            if self._depth > MAX_SPEC_DEPTH:
                raise _Refused(self._next_mark(), f"nesting deeper than {MAX_SPEC_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _next_mark(self) -> yaml.Mark:
        """Where the next event starts (what ``peek_event`` returns, typed)."""
        self.check_event()  # parses the next event into current_event, as peek_event does
        mark: yaml.Mark = self.current_event.start_mark
        return mark

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise _Refused(
                    key_node.start_mark,
                    f"key {shown(key)} appears twice in one mapping (first at line {seen[key]}); "
                    "keep one, since YAML would silently use the last",
                )
            if isinstance(key, (str, int, float, bool)):
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    def construct_number(self, node: yaml.ScalarNode) -> Any:
        """An int or float, refused when it has more digits than any field needs."""
        digits = sum(ch.isdigit() for ch in str(node.value))
        if digits > MAX_NUMBER_DIGITS:
            raise _Refused(
                node.start_mark,
                f"a number with {digits:,} digits is far beyond any value an experiment file "
                f"holds (at most {MAX_NUMBER_DIGITS} digits); check the value",
                advice="",
            )
        if node.tag.endswith(":int"):
            return self.construct_yaml_int(node)
        return self.construct_yaml_float(node)

    def construct_date_text(self, node: yaml.ScalarNode) -> str:
        """A date or timestamp, as the text written (the schema parses and checks it)."""
        return str(self.construct_scalar(node))


# Dates are read as text and parsed by the schema, which names the key and says what is wrong
# (PyYAML's own constructor raises on 2026-02-30 before the schema sees it).
_SpecLoader.add_constructor("tag:yaml.org,2002:timestamp", _SpecLoader.construct_date_text)
_SpecLoader.add_constructor("tag:yaml.org,2002:int", _SpecLoader.construct_number)
_SpecLoader.add_constructor("tag:yaml.org,2002:float", _SpecLoader.construct_number)
# Scientific notation without a dot (1e300, 2E-5) is a number, as in YAML 1.2; YAML 1.1's
# float pattern needs a dot and would read it as text.
_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)
#: YAML reads a plain key only up to this many characters (PyYAML's simple-key limit).
_YAML_KEY_LIMIT = 1024


class _Refused(yaml.YAMLError):
    def __init__(
        self, mark: yaml.Mark, problem: str, advice: str = " Experiment files are plain data."
    ) -> None:
        super().__init__(problem)
        self.problem_mark, self.problem, self.advice = mark, problem, advice


def _read_text(path: Path) -> str:
    """The spec's text: UTF-8 (with or without a byte-order mark), of a sensible size."""
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise SpecError(
                f"{path}: {size:,} bytes is far too large for an experiment file (at most "
                f"{MAX_SPEC_BYTES:,}); data belongs in the file that data.path names."
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(
            f"{path}: cannot be read ({exc.strerror}); check the path and its permissions."
        ) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SpecError(
            f"{path}: the file is UTF-16 text; save it as UTF-8 (e.g. 'Save as' UTF-8 in your editor)."
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{path}: byte {exc.start + 1} is not UTF-8 text (the file may be Latin-1 or Windows-1252); "
            "save it as UTF-8."
        ) from None


def _read_yaml(path: Path) -> Any:
    """Parse the spec's YAML as plain data, or raise a :class:`SpecError` naming the line."""
    text = _read_text(path)
    try:
        return yaml.load(text, Loader=_SpecLoader)  # a SafeLoader: plain data only
    except _Refused as exc:
        raise SpecError(
            f"{path}: refused at line {exc.problem_mark.line + 1}: {exc.problem}.{exc.advice}"
        ) from None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise SpecError(
            f"{path}: YAML tag refused{line}: {exc.problem}. Experiment files are plain data; "
            "remove the '!!' tag and write the value itself."
        ) from None
    except yaml.YAMLError as exc:
        if (long_key := _long_key(text, exc)) is not None:
            raise SpecError(f"{path}: {long_key}") from None
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
    except RecursionError:
        raise SpecError(f"{path}: nested too deeply to be an experiment file.") from None


def _long_key(text: str, exc: yaml.YAMLError) -> str | None:
    """What to say when a key longer than YAML's limit made the parser give up, else ``None``.

    PyYAML reports such a key as a missing ':' (or a ':' not allowed there), which misleads.
    """
    mark = getattr(exc, "problem_mark", None)
    lines = text.splitlines()
    if mark is None or mark.line >= len(lines):
        return None
    line = lines[mark.line]
    if line[mark.column : mark.column + 1] != ":":
        return None
    key = re.split(r"[:{,\[]\s", line[: mark.column])[-1].strip(" -?{[")
    if len(key) <= _YAML_KEY_LIMIT:
        return None
    return (
        f"the key at line {mark.line + 1} is {len(key):,} characters long, but YAML reads a key "
        f"of at most {_YAML_KEY_LIMIT:,}; shorten it (labels are printed in at most 80 characters)"
    )


def load_spec(path: str | Path) -> Spec:
    """Read, parse and validate an experiment definition.

    Parameters
    ----------
    path
        The experiment's YAML file; relative paths in it are resolved against its folder.

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
    raw = _read_yaml(path)
    if raw is None:
        raise SpecError(f"{path}: the file is empty; see README.md for an annotated example experiment.")
    if not isinstance(raw, dict):
        raise SpecError(
            f"{path}: expected a mapping of keys (name:, data:, arms:, ...), got a {type(raw).__name__}."
        )
    return parse_spec(raw, source=path)


def load_programme(path: str | Path) -> Programme:
    """Read, parse and validate a programme file (what ``channelab learn`` pools).

    Parameters
    ----------
    path
        The programme's YAML file; its sources are resolved against its folder.

    Raises
    ------
    SpecError
        With one line per problem, each naming the file and the key path.
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such programme file. Check the path.")
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping of keys (name:, sources:, ...); see docs/learning.md.")
    programme = _validated(Programme, raw, str(path), "programme file")
    return programme.model_copy(update={"source_path": path.resolve()})


def parse_spec(raw: dict[str, Any], *, source: Path | None = None) -> Spec:
    """Validate an already-loaded mapping into a :class:`Spec` (used by tests and tools).

    Parameters
    ----------
    raw
        The experiment definition as plain data (what the YAML holds).
    source
        The file it came from, named in messages and recorded as ``Spec.source_path``;
        ``None`` names it ``<spec>``.

    Raises
    ------
    SpecError
        With one line per problem, each naming the key path.
    """
    spec = _validated(Spec, raw, str(source) if source else "<spec>", "experiment definition")
    if source is not None:
        spec = spec.model_copy(update={"source_path": source.resolve()})
    return spec


def _validated[M: BaseModel](model: type[M], raw: dict[str, Any], where: str, what: str) -> M:
    """``raw`` validated as ``model``, or a :class:`SpecError` with one line per problem."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        missing = {tuple(e["loc"]) for e in errors if e["type"] == "missing"}
        lines = [ln for err in errors for ln in _describe(err, missing, model).splitlines()]
        raise SpecError(f"{where}: invalid {what}:\n" + "\n".join(f"  - {ln}" for ln in lines)) from None


def _describe(err: Any, missing: set[tuple[Any, ...]], model: type[BaseModel]) -> str:
    loc = _key_path(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        key, parent = str(err["loc"][-1]), tuple(err["loc"][:-1])
        allowed = _allowed_keys(parent, model)
        # a misspelt required key is also reported missing: prefer it ('roel' -> 'role', not 'rope')
        absent = [k for k in allowed if (*parent, k) in missing]
        hint = suggest(key, absent) or suggest(key, allowed)
        return f"{loc}: unknown key{hint or f'; allowed keys are {sorted(allowed)}'}"
    if kind == "missing":
        return f"{loc}: required key is missing"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if kind == "value_error" and not err["loc"]:
        return msg  # cross-key problems from Spec._consistent, each already led by its key path
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", err["ctx"]["expected"])
        msg = f"got {shown(err['input'])}, but expected {msg.removeprefix('Input should be ')}"
        msg += suggest(str(err["input"]), options)
    elif kind in _BOUND_ERRORS:
        (bound,) = err["ctx"].values()
        msg = f"got {shown(err['input'])}, but expected a value {_BOUND_ERRORS[kind]} {_number(bound)}"
    elif kind == "string_pattern_mismatch":
        msg = (
            f"got {shown(err['input'])}, but expected letters, digits and '_' (no spaces), "
            f"matching {err['ctx']['pattern']}"
        )
    elif msg.startswith("Input should be "):  # type errors: 'a valid number', 'a valid list', ...
        msg = f"got {shown(err['input'])}, but expected {msg.removeprefix('Input should be ')}"
        if kind == "string_type" and isinstance(err["input"], bool):
            msg += (
                "; YAML reads an unquoted yes, no, on, off, true or false as a boolean: quote the "
                "label (e.g. 'no')"
            )
        elif kind == "string_type" and isinstance(err["input"], (int, float)):
            msg += f"; YAML read an unquoted {shown(err['input'])} as a number: quote it (e.g. '0')"
    return f"{loc}: {msg}"


def _key_path(loc: tuple[Any, ...]) -> str:
    """``metrics.0.value``; for a key of a mapping (an arm label), the mapping's path and "(a key)"."""
    if loc and loc[-1] == "[key]":  # pydantic gives the key's position, not the key itself
        return ".".join(str(p) for p in loc[:-2]) + " (a key)"
    return ".".join(str(p) for p in loc) or "(top level)"


_BOUND_ERRORS = {
    "greater_than": "greater than",
    "greater_than_equal": "greater than or equal to",
    "less_than": "less than",
    "less_than_equal": "less than or equal to",
}


def _number(value: Any) -> str:
    """A bound as people read it: 0.5, 1e-06, 1,000,000,000,000."""
    if isinstance(value, (int, float)) and abs(value) >= 10_000 and float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _allowed_keys(loc: tuple[Any, ...], model: type[BaseModel]) -> list[str]:
    """Field names allowed at key path ``loc`` of ``model``, for "did you mean" suggestions."""
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
