"""A layout check of channelab's PDFs, read back with pdfplumber (tests only).

:func:`layout_defects` lists what a reader would call a defect of the pages:

- a heading (bold text of 11 pt or more) as the last block of a page, cut from what it heads;
- a word or number broken across two lines of the same block ("inconclusi" / "ve",
  "$1,082.3" / "9"): a line ends in a letter or digit with no hyphen, the next line of the same
  block starts with one, and the two halves make a token seen whole in the document (or are
  both parts of a number);
- a page, other than the last, whose content spans less than a tenth of the page's height;
- text outside the page box, or beyond the margins by more than a few points;
- text drawn over other text on the same line (a word too wide for its table cell);
- a character the built-in font lacks: a lone or embedded '?', a replacement character or a
  missing-glyph box.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import pdfplumber

#: Bold text at least this large is a heading (reportlab's h1 is 13.5 pt, h2 11 pt, body 9.5 pt).
HEADING_SIZE = 11.0
#: The footer is drawn below this distance from the bottom edge of the page (points).
_FOOTER_ZONE = 40.0
#: Text may run this far into a margin (points): reportlab's frame padding and a rounding.
_MARGIN_SLACK = 8.0
_MARGIN = 51.0  # 1.8 cm, the page margin of every channelab PDF
_MISSING_GLYPHS = {"\ufffd", "\u25a1", "\u25a0", "\u2610"}
_NUMBER = re.compile(r"^[+\-\u2013\u2212]?[$\u20ac\u00a3]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
_TOKEN_EDGE = re.compile(r"^[^\w$]+|[^\w%]+$")


@dataclass(frozen=True)
class Line:
    """A run of words on one baseline, no wider a gap than a few spaces (one table cell's line).

    Attributes
    ----------
    text
        The words joined by single spaces.
    x0, x1, top, bottom
        The bounding box in points, from the page's top-left corner.
    size
        The font size of the first word.
    bold
        Whether every word is set in a bold face.
    """

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool


def layout_defects(path: Path | str) -> list[str]:
    """Every layout defect of the PDF at ``path``, one sentence each ('page n: ...').

    Parameters
    ----------
    path
        The PDF file to read.

    Returns
    -------
    list[str]
        The defects found, empty for clean pages.
    """
    out: list[str] = []
    with pdfplumber.open(path) as pdf:
        pages = [_page_lines(p) for p in pdf.pages]
        vocab = _vocabulary([ln for lines in pages for ln in lines])
        for number, (page, lines) in enumerate(zip(pdf.pages, pages, strict=True), start=1):
            last = number == len(pdf.pages)
            out += [f"page {number}: {d}" for d in _page_defects(page, lines, vocab, last=last)]
    return out


def _page_defects(
    page: pdfplumber.page.Page, lines: list[Line], vocab: dict[str, set[str]], *, last: bool
) -> list[str]:
    out = _outside(page) + _overlapping(page) + _missing_glyphs(lines) + _broken_tokens(lines, vocab)
    body = [ln for ln in lines if ln.top < page.height - _FOOTER_ZONE]
    tops = [ln.top for ln in body] + [float(im["top"]) for im in page.images]
    bottoms = [ln.bottom for ln in body] + [float(im["bottom"]) for im in page.images]
    if not last and (not tops or max(bottoms) - min(tops) < page.height / 10):
        out.append("content fills less than a tenth of the page")
    if body:
        final = max(body, key=lambda ln: ln.bottom)
        below = [im for im in page.images if float(im["top"]) > final.top]
        if final.bold and final.size >= HEADING_SIZE and not below:
            out.append(f"heading {final.text!r} is the last block of the page")
    return out


def _page_lines(page: pdfplumber.page.Page) -> list[Line]:
    """The page's words grouped into lines, split where the gap is wider than a few spaces."""
    words = page.extract_words(extra_attrs=["fontname", "size"], keep_blank_chars=False, use_text_flow=False)
    lines: list[list[dict]] = []
    for row in _rows(words):
        row.sort(key=lambda w: float(w["x0"]))
        lines.append([row[0]])
        for prev, w in itertools.pairwise(row):
            if 0 <= float(w["x0"]) - float(prev["x1"]) < 0.6 * float(w["size"]):
                lines[-1].append(w)
            else:
                lines.append([w])
    return [
        Line(
            text=" ".join(w["text"] for w in ws),
            x0=float(ws[0]["x0"]),
            x1=float(ws[-1]["x1"]),
            top=min(float(w["top"]) for w in ws),
            bottom=max(float(w["bottom"]) for w in ws),
            size=float(ws[0]["size"]),
            bold=all("Bold" in str(w["fontname"]) for w in ws),
        )
        for ws in lines
    ]


def _vocabulary(lines: list[Line]) -> dict[str, set[str]]:
    """The document's words: ``whole`` anywhere, ``inner`` never first or last on a line.

    A fragment of a broken word sits at a line's edge, so only ``inner`` words prove that a
    fragment is a word in its own right.
    """
    split = [ln.text.split() for ln in lines]
    return {
        "whole": {_bare(w) for words in split for w in words},
        "inner": {_bare(w) for words in split for w in words[1:-1]},
    }


def _bare(word: str) -> str:
    return _TOKEN_EDGE.sub("", word).lower()


def _broken_tokens(lines: list[Line], vocab: dict[str, set[str]]) -> list[str]:
    """Pairs of lines of one block where a word or number runs on from one to the next."""
    out = []
    for a in lines:
        for b in lines:
            if not _continues(a, b):
                continue
            head, tail = a.text.split()[-1], b.text.split()[0]
            if _broken(head, tail, vocab):
                out.append(f"{head!r} / {tail!r} is one word or number broken across lines")
    return out


def _continues(a: Line, b: Line) -> bool:
    """``b`` is the line after ``a`` in the same block (cell or paragraph), not the next table row.

    Lines of a block are one leading apart (about 1.3 times the font size); the next row of a
    table is further down by the cell padding.
    """
    gap = b.top - a.top
    return abs(a.x0 - b.x0) < 1.5 and abs(a.size - b.size) < 0.1 and 0.8 * a.size < gap < 1.4 * a.size


def _broken(head: str, tail: str, vocab: dict[str, set[str]]) -> bool:
    if head.endswith("-") or not head[-1:].isalnum() or not tail[:1].isalnum():
        return False
    if head[-1].isdigit() and tail[0].isdigit():
        number = _TOKEN_EDGE.sub("", head) + _TOKEN_EDGE.sub("", tail)
        return bool(_NUMBER.match(number))
    joined = _bare(head + tail)
    if not head[-1].isalpha() or not tail[0].islower() or joined not in vocab["whole"]:
        return False
    return _bare(head) not in vocab["inner"] or _bare(tail) not in vocab["inner"]


def _outside(page: pdfplumber.page.Page) -> list[str]:
    """Characters outside the page, or beyond the margins by more than the frame's padding."""
    w, h = float(page.width), float(page.height)
    lo, hi = _MARGIN - _MARGIN_SLACK, w - _MARGIN + _MARGIN_SLACK
    bad = [
        c["text"]
        for c in page.chars
        if float(c["x0"]) < lo or float(c["x1"]) > hi or float(c["top"]) < 0 or float(c["bottom"]) > h
    ]
    return [f"text outside the page or its margins: {''.join(bad)[:40]!r}"] if bad else []


def _overlapping(page: pdfplumber.page.Page) -> list[str]:
    """Characters drawn over others on one baseline: a word too wide for its cell runs into the next."""
    for row in _rows(page.chars):
        row.sort(key=lambda c: float(c["x0"]))
        for prev, c in itertools.pairwise(row):
            if c["text"].strip() and float(c["x0"]) < float(prev["x1"]) - 1.0:
                return [f"text drawn over text in {''.join(d['text'] for d in row)[:60]!r}"]
    return []


def _rows(items: list[dict]) -> list[list[dict]]:
    """Characters or words grouped by baseline (bottoms within 1.5 points of the row's first)."""
    rows: list[list[dict]] = []
    for w in sorted(items, key=lambda w: float(w["bottom"])):
        if rows and float(w["bottom"]) - float(rows[-1][0]["bottom"]) < 1.5:
            rows[-1].append(w)
        else:
            rows.append([w])
    return rows


def _missing_glyphs(lines: list[Line]) -> list[str]:
    """A '?' standing for a character the font lacks, a replacement character, a glyph box."""
    out = []
    for ln in lines:
        words = ln.text.split()
        for i, word in enumerate(words):
            substituted = word == "?" or re.search(r"\?\w", word) or (set(word) & _MISSING_GLYPHS)
            if substituted:
                context = " ".join(words[max(0, i - 2) : i + 3])
                out.append(f"a character missing from the font in {context!r}")
    return out
