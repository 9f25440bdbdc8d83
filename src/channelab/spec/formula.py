"""The propensity formula: a small language, parsed strictly, never evaluated as code.

A formula is terms joined by ``+``; a term is factors joined by ``:`` (their product, an
interaction); a factor is a column or a function of one column::

    age               a number as it is; a category as indicators of its levels (first dropped)
    age^2, age^3      powers
    log1p(re74)       log(1 + x), for skewed amounts with zeros (needs x > -1)
    zero(re74)        1 where x is 0: the "had none" indicator of a zero-inflated amount
    spline(age, 4)    a cubic B-spline basis of 4 columns (2 to 10), knots at the quantiles

Column names are letters, digits, ``_`` and ``.``, or any text without ``+``, ``:`` or
backticks, in backticks. An unknown function or operator is an error naming the term.

A term makes the product of its factors' columns (:meth:`Formula.widths`): a category of 40
levels interacted with another makes 39 × 39 columns. A term whose splines alone make more
than :data:`~channelab.limits.MAX_DESIGN_COLUMNS` columns is refused here; the levels of the
categories are known only from the data, where the whole design is bounded before it is built.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from channelab.limits import MAX_DESIGN_COLUMNS

_NAME = r"(?:[A-Za-z_][A-Za-z0-9_.]*|`[^`]+`)"
_COLUMN = re.compile(rf"^(?P<name>{_NAME})(?:\s*\^\s*(?P<power>\d{{1,6}}))?$")
_CALL = re.compile(
    rf"^(?P<func>[A-Za-z_][A-Za-z0-9_]*)\s*\(\s*(?P<name>{_NAME})\s*(?:,\s*(?P<arg>\d{{1,6}})\s*)?\)$"
)
_FUNCTIONS = ("log1p", "zero", "spline")


@dataclass(frozen=True)
class Factor:
    """One column, transformed: ``func`` is ``""`` (as is), ``power``, ``log1p``, ``zero`` or ``spline``."""

    column: str
    func: str = ""
    arg: int = 1

    def __str__(self) -> str:
        name = self.column if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", self.column) else f"`{self.column}`"
        if self.func == "power":
            return f"{name}^{self.arg}"
        if self.func == "spline":
            return f"spline({name}, {self.arg})"
        return f"{self.func}({name})" if self.func else name

    def width(self, levels: int | None) -> int:
        """Columns the factor makes: a category's levels but the first, a spline's ``arg``, else one.

        ``levels`` is the column's number of distinct values if it holds text, else ``None``.
        """
        if self.func == "spline":
            return self.arg
        if levels is not None and not self.func:
            return max(levels - 1, 0)
        return 1


@dataclass(frozen=True)
class Formula:
    """A parsed propensity formula: terms, each a tuple of factors multiplied together."""

    terms: tuple[tuple[Factor, ...], ...]

    @property
    def columns(self) -> list[str]:
        """The data columns the formula reads, in order of first use."""
        return list(dict.fromkeys(f.column for term in self.terms for f in term))

    def __str__(self) -> str:
        return " + ".join(":".join(str(f) for f in term) for term in self.terms)

    def widths(self, levels: Mapping[str, int | None]) -> list[int]:
        """Columns each term makes, the product of its factors' :meth:`Factor.width`.

        ``levels`` gives, per column, its number of distinct values if it holds text (a
        category), or ``None`` if it holds numbers. This is what the design matrix is built
        with, before redundant columns are dropped: an upper bound of what it keeps.
        """
        return [math.prod(f.width(levels.get(f.column)) for f in term) for term in self.terms]

    @classmethod
    def main_effects(cls, columns: list[str]) -> Formula:
        """Every column as it is: the linear propensity."""
        return cls(tuple((Factor(c),) for c in columns))


def parse(text: str) -> Formula:
    """Parse a formula; a :class:`ValueError` names the term that is not in the language."""
    terms = []
    for i, raw in enumerate(text.split("+"), start=1):
        if not raw.strip():
            raise ValueError(f"term {i} is empty: terms are joined by a single '+'")
        term = tuple(_factor(part.strip(), i, raw.strip()) for part in raw.split(":"))
        splines = math.prod(f.arg for f in term if f.func == "spline")
        if splines > MAX_DESIGN_COLUMNS:
            raise ValueError(
                f"term {i} {raw.strip()!r} makes {splines:,} columns (its splines' columns multiplied), "
                f"but a propensity model may have at most {MAX_DESIGN_COLUMNS:,}; interact fewer "
                "splines or give them fewer columns"
            )
        terms.append(term)
    return Formula(tuple(dict.fromkeys(terms)))


def _factor(part: str, i: int, term: str) -> Factor:
    where = f"term {i} {term!r}" if len(term) <= 60 else f"term {i} {term[:57]!r}..."
    if m := _COLUMN.match(part):
        power = int(m["power"] or 1)
        if not 1 <= power <= 3:
            raise ValueError(f"{where}: got the power {power}, but expected 2 or 3")
        return Factor(m["name"].strip("`"), "power" if power > 1 else "", power)
    if m := _CALL.match(part):
        func, name, arg = m["func"], m["name"].strip("`"), m["arg"]
        if func not in _FUNCTIONS:
            raise ValueError(
                f"{where}: got the function {func!r}, but expected one of {', '.join(_FUNCTIONS)}"
            )
        if func == "spline":
            df = int(arg or 4)
            if not 2 <= df <= 10:
                raise ValueError(f"{where}: a spline has 2 to 10 columns, got {df}")
            return Factor(name, "spline", df)
        if arg is not None:
            raise ValueError(f"{where}: {func}() takes one column")
        return Factor(name, func)
    what = where if part == term else f"{where}: {part[:60]!r}"
    raise ValueError(
        f"{what} is not a column, a power (x^2), an interaction (a:b) or one of "
        f"{', '.join(f + '()' for f in _FUNCTIONS)}"
    )
