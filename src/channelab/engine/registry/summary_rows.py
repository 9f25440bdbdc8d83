"""The rows of a published-summaries CSV, read and checked one by one (columns: ``summaries``).

Every refusal names the file, the line (the header is line 1) and the column, says what is
wrong and what to write instead; no row is dropped (only lines with every field blank).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import get_args

from channelab.engine.registry.imported import read_bounded
from channelab.errors import DataError, first_few, shown
from channelab.limits import (
    MAX_DATE_YEAR,
    MAX_LABEL,
    MAX_PUBLISHED_VALUE,
    MAX_SUMMARY_BYTES,
    MAX_SUMMARY_ROWS,
    MAX_TITLE,
    MAX_UNITS,
    MIN_DATE_YEAR,
)
from channelab.spec.base import MetricType, Role, suggest

#: Columns every row needs.
REQUIRED = ("experiment", "arm", "metric", "role", "type", "n")
#: Columns a file may add: the control arm and per-arm means (and sds), or an effect and its
#: standard error on a scale with the control's n and mean; the channel, date and launch; another
#: metric of the study and the arm's mean of the product of the two (their covariance).
OPTIONAL: tuple[str, ...] = ("control", "mean", "sd", "effect", "se", "scale", "n_control", "control_mean")
OPTIONAL += ("channel", "date", "launched", "pair", "pair_mean")
SCALES = ("diff", "loglift")
_ROLES: tuple[str, ...] = get_args(Role)
_TYPES: tuple[str, ...] = get_args(MetricType)


@dataclass(frozen=True, slots=True)
class Row:
    """One data row of the CSV, its values checked.

    Attributes
    ----------
    line
        Its line in the file (the header is line 1).
    cells
        Its text per column, stripped (for the data fingerprint).
    experiment, arm, metric, role, metric_type, n, control, channel, last_date, launched
        As the columns of the same names (``type`` is ``metric_type``; blank optional cells None).
    mean, sd
        The arm's mean (a proportion for a binary metric) and sd (None for a binary metric).
    effect, se, scale, n_control, control_mean
        An effect on ``scale`` (``diff`` or ``loglift``) and its standard error, with the
        control's n and mean; None where the row gives a mean instead.
    pair, pair_mean
        Another metric of the study and the arm's mean per unit of the product of the two (for
        two binary metrics, the share of units with both); None where not given.
    """

    line: int
    cells: dict[str, str]
    experiment: str
    arm: str
    metric: str
    role: str
    metric_type: str
    n: int
    control: str | None
    channel: str | None
    last_date: date | None
    launched: bool
    mean: float | None
    sd: float | None
    effect: float | None
    se: float | None
    scale: str | None
    n_control: int | None
    control_mean: float | None
    pair: str | None = None
    pair_mean: float | None = None

    @property
    def is_effect(self) -> bool:
        """Whether the row gives an effect and its standard error (not the arm's mean)."""
        return self.effect is not None


def wrong(path: Path, line: int, column: str | None, what: str) -> DataError:
    """A refusal naming the file, the line and the column."""
    at = f"line {line}" + (f", column {column!r}" if column else "")
    return DataError(f"{path}: {at}: {what}. Nothing was imported.")


def read_rows(path: Path) -> list[Row]:
    """Every data row of the CSV, checked (:class:`Row`), in file order.

    Parameters
    ----------
    path
        The CSV of published summaries.
    """
    text = read_bounded(path, MAX_SUMMARY_BYTES, "a CSV of published summaries")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader, [])]
        _check_header(path, header)
        rows: list[Row] = []
        start = reader.line_num + 1
        for fields in reader:
            line, start = start, reader.line_num + 1
            if not any(f.strip() for f in fields):
                continue  # a blank line holds no data
            if len(fields) != len(header):
                raise wrong(path, line, None, f"{len(fields)} field(s), but the header has {len(header)}")
            if len(rows) == MAX_SUMMARY_ROWS:
                raise wrong(
                    path, line, None, f"more than {MAX_SUMMARY_ROWS:,} rows; import the file in parts"
                )
            cells = {name: f.strip() for name, f in zip(header, fields, strict=True)}
            rows.append(parse_row(path, line, cells))
    except csv.Error as exc:
        raise wrong(path, reader.line_num, None, f"not readable as CSV ({exc}); check its quotes") from None
    if not rows:
        raise DataError(f"{path}: the file has a header but no rows; give one row per study x arm x metric.")
    return rows


def _check_header(path: Path, header: list[str]) -> None:
    if not header or not any(header):
        raise wrong(
            path, 1, None, f"no header; the first line names the columns ({', '.join(REQUIRED)}, ...)"
        )
    known = [*REQUIRED, *OPTIONAL]
    if len(header) == 1 and (sep := next((c for c in ";\t|" if c in header[0]), None)):
        said = {";": "semicolons", "\t": "tabs", "|": "bars"}[sep]
        raise wrong(path, 1, None, f"the columns are separated by {said}; save the file with commas (CSV)")
    for name in header:
        if name not in known:
            raise wrong(
                path,
                1,
                name,
                f"not a column of published summaries{suggest(name, known)} (columns: {', '.join(known)})",
            )
        if header.count(name) > 1:
            raise wrong(path, 1, name, "appears twice in the header; keep one")
    if missing := [c for c in REQUIRED if c not in header]:
        named = first_few([repr(c) for c in missing], 6)
        raise wrong(path, 1, None, f"the header has no column {named}; every row needs it")
    if "mean" not in header and "effect" not in header:
        raise wrong(
            path, 1, None, "give a column 'mean' (with 'sd' and 'control') or 'effect' (with 'se', 'scale')"
        )


def parse_row(path: Path, line: int, cells: dict[str, str]) -> Row:
    """One row's values, each checked; the row's form (mean or effect) checked whole."""
    at = _Cells(path, line, cells)
    metric_type = at.choice("type", _TYPES)
    effect = at.number("effect")
    row = Row(
        line=line,
        cells=cells,
        experiment=at.label("experiment", MAX_TITLE),
        arm=at.label("arm", MAX_LABEL),
        metric=at.label("metric", MAX_LABEL),
        role=at.choice("role", _ROLES),
        metric_type=metric_type,
        n=at.size("n"),
        control=at.text("control", MAX_LABEL),
        channel=at.text("channel", MAX_LABEL),
        last_date=at.day("date"),
        launched=at.flag("launched"),
        mean=at.mean("mean", metric_type),
        sd=at.spread("sd"),
        effect=effect,
        se=at.spread("se"),
        scale=at.choice("scale", SCALES) if at.given("scale") or effect is not None else None,
        n_control=at.units("n_control"),
        control_mean=at.mean("control_mean", metric_type),
        pair=at.text("pair", MAX_LABEL),
        pair_mean=at.number("pair_mean"),
    )
    _check_form(path, row)
    _check_pair(path, row)
    return row


def _check_form(path: Path, row: Row) -> None:
    """A row gives a mean (and sd), or an effect with its se and scale; never both, never neither."""
    line = row.line
    if row.is_effect:
        if row.mean is not None or row.sd is not None:
            raise wrong(
                path, line, "mean", "the row gives both a mean and an effect; give one of the two forms"
            )
        if row.se is None:
            raise wrong(path, line, "se", "empty, but the row gives an effect; give its standard error")
        if row.se == 0:
            raise wrong(path, line, "se", "0 claims an exact effect; give the published standard error")
        return
    for column in ("se", "scale", "n_control", "control_mean"):
        if row.cells.get(column):
            raise wrong(path, line, column, "given without an effect; fill 'effect' too, or leave this empty")
    if row.mean is None:
        raise wrong(
            path, line, "mean", "empty; give the arm's mean (a proportion for a binary metric) or an effect"
        )
    if row.metric_type == "binary" and row.sd is not None:
        raise wrong(path, line, "sd", "given for a binary metric; leave it empty (the proportion implies it)")
    if row.metric_type != "binary" and row.sd is None:
        raise wrong(path, line, "sd", f"empty, but a {row.metric_type} metric's mean needs its sd")


def _check_pair(path: Path, row: Row) -> None:
    """``pair`` and ``pair_mean`` come together, on a row that gives the arm's mean."""
    if row.pair is None and row.pair_mean is None:
        return
    if row.is_effect:
        raise wrong(
            path,
            row.line,
            "pair" if row.pair is not None else "pair_mean",
            "given on a row that gives an effect; a pair needs the arm's means of both metrics "
            "(give this row's mean instead, or leave 'pair' and 'pair_mean' empty)",
        )
    if row.pair_mean is None:
        raise wrong(
            path,
            row.line,
            "pair_mean",
            f"empty, but 'pair' names {row.pair!r}; give the arm's mean of the product of the two metrics "
            "per unit (for two binary metrics, the share of units with both), or leave 'pair' empty",
        )
    if row.pair is None:
        raise wrong(
            path, row.line, "pair", "empty, but 'pair_mean' is given; name the other metric of the pair"
        )


class _Cells:
    """Typed reading of one row's cells, each refusal naming its line and column."""

    def __init__(self, path: Path, line: int, cells: dict[str, str]) -> None:
        self.path, self.line, self.cells = path, line, cells

    def given(self, column: str) -> bool:
        return bool(self.cells.get(column))

    def _wrong(self, column: str, what: str) -> DataError:
        return wrong(self.path, self.line, column, what)

    def label(self, column: str, bound: int) -> str:
        if not self.given(column):
            raise self._wrong(column, "empty; every row needs it")
        return self.text(column, bound) or ""

    def text(self, column: str, bound: int) -> str | None:
        value = self.cells.get(column, "")
        if not value:
            return None
        if len(value) > bound:
            raise self._wrong(column, f"{len(value)} characters long; at most {bound} are kept")
        return value

    def choice(self, column: str, options: tuple[str, ...]) -> str:
        value = self.cells.get(column, "")
        if value not in options:
            said = "empty" if not value else f"{shown(value)}, not one of {', '.join(options)}"
            raise self._wrong(column, f"{said}{suggest(value, list(options))}")
        return value

    def number(self, column: str) -> float | None:
        text = self.cells.get(column, "")
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            raise self._wrong(
                column,
                f"{shown(text)} is not a number; write digits with a dot for decimals and no thousands "
                "separators",
            ) from None
        if not math.isfinite(value):
            raise self._wrong(column, f"{shown(text)} is not a finite number; give the published value")
        if abs(value) > MAX_PUBLISHED_VALUE:
            raise self._wrong(column, f"{shown(text)} is beyond {MAX_PUBLISHED_VALUE:g} in size")
        return value

    def size(self, column: str) -> int:
        if (value := self.units(column)) is None:
            raise self._wrong(column, "empty; give the number of units (participants) in the arm")
        return value

    def units(self, column: str) -> int | None:
        if (value := self.number(column)) is None:
            return None
        if not value.is_integer() or not 2 <= value <= MAX_UNITS:
            raise self._wrong(column, f"{value:g} is not a whole number of units from 2 to {MAX_UNITS:,}")
        return int(value)

    def spread(self, column: str) -> float | None:
        value = self.number(column)
        if value is not None and value < 0:
            what = "standard error" if column == "se" else "standard deviation"
            raise self._wrong(column, f"{value:g}: a {what} cannot be negative")
        return value

    def mean(self, column: str, metric_type: str) -> float | None:
        value = self.number(column)
        if value is None:
            return None
        if metric_type == "binary" and not 0 <= value <= 1:
            raise self._wrong(
                column, f"{value:g} is not a proportion between 0 and 1 (a binary metric; write 12 % as 0.12)"
            )
        if metric_type == "count" and value < 0:
            raise self._wrong(column, f"{value:g}: a count's mean cannot be negative")
        return value

    def day(self, column: str) -> date | None:
        text = self.cells.get(column, "")
        if not text:
            return None
        try:
            value = date.fromisoformat(text) if len(text) == 10 else None
        except ValueError:
            value = None
        if value is None:
            raise self._wrong(column, f"{shown(text)} is not a date written YYYY-MM-DD")
        if not MIN_DATE_YEAR <= value.year <= MAX_DATE_YEAR:
            raise self._wrong(column, f"{text}: dates run from {MIN_DATE_YEAR} to {MAX_DATE_YEAR}")
        return value

    def flag(self, column: str) -> bool:
        text = self.cells.get(column, "").lower()
        if text not in ("", "true", "false"):
            raise self._wrong(column, f"{shown(self.cells[column])} is not true or false (empty is false)")
        return text == "true"
