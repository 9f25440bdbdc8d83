"""The PDF's flowables as HTML: headings, paragraphs, verdict rows, boxes, tables and figures.

Paragraph text is reportlab's mini-markup, already escaped by the PDF's builders (``<b>``,
``<i>``, ``<br/>``, ``<font color>``); it maps onto HTML tag for tag. A figure arrives as the
SVG recorded when the PDF laid it out (:mod:`~channelab.reporting.html.capture`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from io import StringIO
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Table

from channelab.reporting.plots.style import VERDICT_COLOURS

__all__ = ["flowables_html", "svg_markup"]

#: PDF paragraph styles as HTML elements: the document title is the page's one ``h1``.
_TAGS = {"title": "h1", "h1": "h2", "h2": "h3"}

#: reportlab markup tags and their HTML equivalents (``font`` handled apart, for its colour).
_INLINE = {"b": "strong", "i": "em", "u": "u", "super": "sup", "sub": "sub", "strike": "s"}

_TAG = re.compile(r"<(/?)([a-zA-Z]+)([^>]*?)(/?)>")
_COLOUR = re.compile(r"""color\s*=\s*["']?([#\w]+)""")


def _inline(markup: str) -> str:
    """Paragraph markup of reportlab as HTML; unknown tags are dropped, their text kept."""

    def swap(m: re.Match[str]) -> str:
        closing, name, attrs, _ = m.groups()
        name = name.lower()
        if name == "br":
            return "<br>"
        if name == "font":
            colour = _COLOUR.search(attrs)
            if closing:
                return "</span>"
            return f'<span style="color:{html.escape(colour.group(1))}">' if colour else "<span>"
        tag = _INLINE.get(name)
        return f"<{closing}{tag}>" if tag else ""

    return _TAG.sub(swap, markup)


def _plain(markup: str) -> str:
    """The text of some markup, without tags (for labels)."""
    return html.unescape(_TAG.sub(" ", markup)).strip()


def _paragraph(p: Paragraph) -> str:
    name = p.style.name
    tag = _TAGS.get(name, "p")
    cls = "" if tag != "p" else f' class="{html.escape(name)}"'
    return f"<{tag}{cls}>{_inline(p.text)}</{tag}>"


def _cell(value: Any, svgs: Mapping[int, str]) -> str:
    """One table cell's content: text, a paragraph's inline markup, or nested flowables."""
    if isinstance(value, Paragraph):
        return _inline(value.text)
    if isinstance(value, Flowable):
        return "".join(_flowable(value, svgs))
    if isinstance(value, list | tuple):
        return "".join(_cell(v, svgs) for v in value)
    return "" if value is None else html.escape(str(value))


def _verdict(badge: Paragraph, body: Any, svgs: Mapping[int, str]) -> str:
    """A verdict row: the badge, edged in the verdict's colour unless marked unreliable."""
    label = " ".join(_plain(badge.text).lower().split())
    colour = VERDICT_COLOURS.get(label)
    edge = f' style="border-left-color:{colour}"' if colour else ""
    return (
        f'<div class="verdict"{edge}><span class="badge">{_inline(badge.text)}</span>'
        f'<div class="said">{_cell(body, svgs)}</div></div>'
    )


def _table(t: Table, svgs: Mapping[int, str]) -> str:
    """A verdict row, a coloured box or a grid: its first row is the header."""
    rows: list[list[Any]] = [list(r) for r in t._cellvalues]
    first = rows[0][0] if rows and rows[0] else None
    if isinstance(first, Paragraph) and first.style.name == "badge" and len(rows[0]) == 2:
        return _verdict(first, rows[0][1], svgs)
    if len(rows) == 1 and len(rows[0]) == 1:
        kind = "banner" if isinstance(first, Paragraph) and first.style.name == "banner" else "box"
        return f'<div class="{kind}">{_cell(first, svgs)}</div>'
    head = "".join(f'<th scope="col">{_cell(c, svgs)}</th>' for c in rows[0])
    body = "".join(
        "<tr>"
        + "".join(
            f'<th scope="row">{_cell(c, svgs)}</th>' if i == 0 else f"<td>{_cell(c, svgs)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows[1:]
    )
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _flowable(f: Flowable, svgs: Mapping[int, str]) -> list[str]:
    """One flowable as HTML fragments; spacers and page breaks, which only place things, vanish."""
    if id(f) in svgs:
        return [svgs[id(f)]]
    if isinstance(f, Paragraph):
        return [_paragraph(f)]
    if isinstance(f, KeepTogether):
        return flowables_html(f._content, svgs)
    if isinstance(f, Table):
        return [_table(f, svgs)]
    return []


def flowables_html(story: Iterable[Flowable], svgs: Mapping[int, str]) -> list[str]:
    """The HTML of a PDF's story, one fragment per flowable, in the story's order.

    Parameters
    ----------
    story
        The flowables a PDF builder passed to its layout.
    svgs
        The inline SVG of each figure flowable, by the flowable's ``id``.

    Returns
    -------
    list of str
        HTML fragments (headings, paragraphs, verdict rows, boxes, tables, figures).
    """
    return [part for f in story for part in _flowable(f, svgs)]


def _alt(fig: Figure, fallback: str) -> str:
    """A figure's text alternative: its title and its panels' titles and axis labels."""
    suptitle = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    parts = [suptitle] if suptitle else []
    for ax in fig.axes:
        titles = [ax.get_title(loc) for loc in ("left", "center", "right")]
        words = [w for w in (*titles, ax.get_xlabel()) if w]
        if words and ax.get_visible():
            parts.append(": ".join(words))
    seen = list(dict.fromkeys(p.replace("\n", " ").strip() for p in parts if p.strip()))
    return f"{fallback}: " + "; ".join(seen[:8]) if seen else fallback


def svg_markup(fig: Figure, number: int, *, caption: str = "") -> str:
    """``fig`` as inline SVG in a ``figure``, with a ``<title>`` and an ``aria-label``.

    Parameters
    ----------
    fig
        The figure, as the PDF's builder made it.
    number
        Its place in the document (from 1): salts the SVG's ids so figures never share one,
        and names it in its text alternative.

    Returns
    -------
    str
        A ``<figure>`` holding the SVG (no fixed size: it scales to the page's width).
    """
    buf = StringIO()
    # text stays text (searchable, a fraction of the size of glyph paths); rasterised artists
    # (the traces' thousands of points) are drawn at 60 dpi
    with matplotlib.rc_context({"svg.hashsalt": f"channelab-figure-{number}", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None}, dpi=60)
    text = buf.getvalue()
    svg = text[text.index("<svg") :]
    opening = svg[: svg.index(">") + 1]
    alt = html.escape(_alt(fig, f"Figure {number}"))
    tag = re.sub(r'\s(width|height)="[^"]*"', "", opening)
    tag = tag.replace("<svg", f'<svg role="img" aria-label="{alt}"', 1)
    below = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f'<figure class="chart">{tag}<title>{alt}</title>{svg[len(opening) :]}{below}</figure>'
