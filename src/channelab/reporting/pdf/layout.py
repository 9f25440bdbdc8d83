"""PDF layout shared by every report: page geometry, styles, tables, boxes, figures and number formats.

Text uses reportlab's built-in fonts only, so it passes through :func:`_sanitise` (WinAnsi
characters only) and :func:`esc` (markup).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
from importlib import metadata
from io import BytesIO
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import matplotlib
from matplotlib.figure import Figure
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from channelab.analysis.wording import money, pct
from channelab.reporting.plots.style import VERDICT_COLOURS
from channelab.spec import MetricType

if TYPE_CHECKING:
    from channelab.provenance import Provenance


_MARGIN = 1.8 * cm
_FRAME_PADDING = 6  # reportlab's default padding inside a page frame, in points
_FRAME_WIDTH = A4[0] - 2 * _MARGIN - 2 * _FRAME_PADDING
_FRAME_HEIGHT = A4[1] - 2 * _MARGIN - 2 * _FRAME_PADDING
#: Resolution of embedded figures: sharp in print, a few hundred kB per figure.
_DPI = 170
_PNG_COMPRESSION = 3  # zlib level: about 20 % faster than the default 6, files about 10 % larger
#: A figure may shrink into the rest of a page down to this share of its best size, no further.
_MIN_FIGURE_SCALE = 0.7

RED = colors.HexColor("#b42318")
AMBER_BG = colors.HexColor("#fff4d6")
AMBER_EDGE = colors.HexColor("#bf8700")
_GREY = colors.HexColor("#57606a")
_UNRELIABLE = "#8c959f"
_RULE = colors.HexColor("#d0d7de")
_STRIPE = colors.HexColor("#f6f8fa")

# Characters outside WinAnsi that the text may hold, and what the built-in fonts show instead.
_REPLACEMENTS = str.maketrans(
    {
        "\u2212": "\u2013",  # minus sign -> en dash, the same width as digits
        "\u2011": "-",
        "\u2009": " ",
        "\u202f": " ",
        "\u2264": "<=",
        "\u2265": ">=",
        "\u2248": "~",
        "\u2192": "->",
        "\u221a": "sqrt",
        "\u03a3": "sum of",  # 'from Σ y and Σ y²' -> 'from sum of y and sum of y²'
        "\u03c3": "sigma",
        "\u03bc": "\u00b5",  # Greek mu -> micro sign, which WinAnsi has
        "\u0394": "change in",
        "\u2206": "change in",
    }
)


def literal_text[**P](build: Callable[P, bytes]) -> Callable[P, bytes]:
    """Build a PDF with figure text taken literally: a '$' in a user's label is a dollar sign.

    matplotlib reads text between two '$' as math and fails on an unbalanced brace; labels come
    from users, so every PDF renderer draws its figures with math text switched off.
    """

    @functools.wraps(build)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> bytes:
        with matplotlib.rc_context({"text.parse_math": False}):
            return build(*args, **kwargs)

    return wrapper


def render(story: list[Flowable], *, title: str, subject: str, creator: str, footer: str) -> bytes:
    """Lay out ``story`` on A4 pages with the footer and return the PDF bytes (deterministic)."""
    buf = BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
        title=_sanitise(title),
        author="channelab",
        subject=_sanitise(subject),
        creator=creator,
        invariant=1,
    )
    previous = rl_config.useA85
    rl_config.useA85 = 0  # embed images as binary: the pure-Python ASCII85 encoder costs seconds
    try:
        doc.build(story, canvasmaker=functools.partial(_FooterCanvas, footer=_sanitise(footer)))
    finally:
        rl_config.useA85 = previous
    return buf.getvalue()


def fmt_percent(x: float) -> str:
    """A probability or share as a whole percentage, in the report's style: 0.8 -> '80 %'."""
    return f"{100 * x:.0f} %"


def verdict_row(verdict: str, markup: str, st: dict[str, ParagraphStyle], *, reliable: bool) -> Table:
    """Put a verdict badge beside a paragraph of plain language.

    The badge wears the verdict's colour, or a neutral grey marked unreliable when the
    sampler did not converge, so no green badge contradicts the red banner above it.
    """
    label = esc(verdict.upper()) if reliable else f"{esc(verdict.upper())}<br/>(unreliable)"
    badge = Paragraph(label, st["badge"])
    colour = {**VERDICT_COLOURS, **_REPLICATION_COLOURS}[verdict] if reliable else _UNRELIABLE
    table = Table([[badge, Paragraph(markup, st["body"])]], colWidths=[3.2 * cm, _FRAME_WIDTH - 3.2 * cm])
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (0, 0), colors.HexColor(colour)),
                ("VALIGN", (0, 0), (0, 0), "MIDDLE"),
                ("VALIGN", (1, 0), (1, 0), "TOP"),
                ("LEFTPADDING", (1, 0), (1, 0), 8),
            ]
        )
    )
    return table


#: Badge colours of replication verdicts.
_REPLICATION_COLOURS: dict[str, str] = {
    "replicated": VERDICT_COLOURS["real lift"],
    "not replicated": VERDICT_COLOURS["harm"],
    "inconclusive": VERDICT_COLOURS["inconclusive"],
}


def fmt_level(value: float, kind: MetricType, currency: str, *, decimals: int = 2) -> str:
    """Format an observed mean per unit: rates in percent (``decimals`` places), money as on page 1.

    Money goes through :func:`~channelab.analysis.wording.money` (cents below 10, whole units
    above), the one formatter of amounts in every report, so a table never says '$1,082.39'
    where the text says '$1,082'.
    """
    if kind == "binary":
        return f"{100 * value:.{decimals}f} %"
    if kind == "revenue":
        return money(value, currency)
    return f"{value:,.3g}"


def fmt_change(value: float, kind: MetricType, currency: str, *, decimals: int = 2) -> str:
    """Format a signed absolute lift: percentage points for rates, money for revenue ('+$1.20')."""
    if kind == "revenue":
        return money(value, currency, sign=True)
    sign = "+" if value >= 0 else "\u2212"
    if kind == "binary":
        return f"{sign}{abs(100 * value):.{decimals}f} pp"
    return f"{sign}{abs(value):,.3g}"


def fmt_prob(p: float) -> str:
    """Format a probability in percent, never claiming a certainty the draws cannot show."""
    if p >= 0.9995:
        return ">99.9 %"
    if p < 0.0005:
        return "<0.1 %"
    return f"{100 * p:.1f} %"


def fmt_span(lower: float, upper: float) -> str:
    """An interval of relative lifts, e.g. '+3.0 % to +9.1 %'."""
    return f"{pct(lower, sign=True)} to {pct(upper, sign=True)}"


def fmt_rope(rope: tuple[float, float]) -> str:
    """A ROPE as relative lifts, e.g. '±5 %'."""
    lo, hi = rope
    return f"±{pct(hi)}" if lo == -hi else fmt_span(lo, hi)


def fmt_pass(ok: bool) -> str:
    """A pass/fail mark for a check table."""
    return "pass" if ok else "FAIL"


def _sanitise(text: str) -> str:
    """Return text the built-in fonts can draw: symbols spelled out, accents dropped, else '?'.

    Helvetica in a PDF covers WinAnsi only; anything else would print as a black box.
    """
    return "".join(ch if _win_ansi(ch) else _fallback(ch) for ch in text.translate(_REPLACEMENTS))


def _win_ansi(ch: str) -> bool:
    try:
        ch.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _fallback(ch: str) -> str:
    plain = unicodedata.normalize("NFKD", ch).encode("cp1252", "ignore").decode("cp1252")
    return plain or "?"


def esc(text: str) -> str:
    """Make plain text safe for a paragraph: sanitised, XML-escaped, unbroken before units."""
    return escape(_sanitise(text)).replace(" %", "\u00a0%").replace(" pp", "\u00a0pp")


# ---- building blocks ----------------------------------------------------------------------


def para(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (sanitised and escaped)."""
    return Paragraph(esc(text), style)


def grid_table(rows: list[list[str]], weights: list[float], st: dict[str, ParagraphStyle]) -> Table:
    """Lay out a plain grid of wrapping cells; the first row is the bold header."""
    header = [Paragraph(f"<b>{esc(c)}</b>", st["cell"]) for c in rows[0]]
    body = [[Paragraph(esc(c), st["cell"]) for c in row] for row in rows[1:]]
    table = GridTable([header, *body], colWidths=col_widths(weights), repeatRows=1)
    table.setStyle(grid_style([]))
    return table


#: A table split across pages keeps at least this many body rows on each side of the break.
_MIN_ROWS_AT_SPLIT = 3


class GridTable(Table):
    """A table that never leaves a lone row at the foot or head of a page.

    A split that would keep fewer than :data:`_MIN_ROWS_AT_SPLIT` body rows on the first page
    is refused (the table starts on the next page); one that would carry fewer to the next page
    breaks earlier instead. Pass ``repeatRows`` for the header rows, as for any ``Table``.
    """

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        """Split as reportlab does, unless a side would hold fewer than the minimum of rows."""
        header = self.repeatRows if isinstance(self.repeatRows, int) else len(self.repeatRows)
        rows = len(self._cellvalues) - header
        if availHeight >= _FRAME_HEIGHT - 1:  # a fresh page: splitting anywhere beats no room at all
            return super().split(availWidth, availHeight)
        if rows < 2 * _MIN_ROWS_AT_SPLIT:
            return []  # short: move whole to the next page
        height = availHeight
        while True:
            parts = super().split(availWidth, height)
            if len(parts) != 2:
                return parts
            first = len(parts[0]._cellvalues) - header
            if first < _MIN_ROWS_AT_SPLIT:
                return []
            if rows - first >= _MIN_ROWS_AT_SPLIT:
                return parts
            height -= parts[0]._rowHeights[-1]


def col_widths(weights: list[float]) -> list[float]:
    """Share the text width among columns in proportion to ``weights`` (in points)."""
    total = sum(weights)
    return [_FRAME_WIDTH * w / total for w in weights]


def grid_style(extra: list[tuple[Any, ...]]) -> TableStyle:
    """The house table style (header rule, grid, padding), plus ``extra`` commands."""
    return TableStyle(
        [
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, _GREY),
            ("LINEBELOW", (0, 1), (-1, -1), 0.3, _RULE),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            *extra,
        ]
    )


def arm_stripes(arms: list[str]) -> list[tuple[Any, ...]]:
    """Shade every other arm's block of rows (row 0 is the header)."""
    order = list(dict.fromkeys(arms))
    return [
        ("BACKGROUND", (0, i), (-1, i), _STRIPE)
        for i, arm in enumerate(arms, start=1)
        if order.index(arm) % 2
    ]


def boxed(content: Flowable, *, background: colors.Color, edge: colors.Color) -> Table:
    """``content`` in a coloured box with an edge (banners, caveats)."""
    table = Table([[content]], colWidths=[_FRAME_WIDTH])
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), background),
                ("BOX", (0, 0), (-1, -1), 1, edge),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


def figure_flowable(fig: Figure, caption: Flowable | None = None) -> Flowable:
    """Embed ``fig`` as a PNG the width of the text, free to shrink into the rest of a page.

    A ``caption`` is drawn under the figure and never parted from it: the figure shrinks to
    leave it room, or both move to the next page.
    """
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, pil_kwargs={"compress_level": _PNG_COMPRESSION})
    buf.seek(0)
    w, h = fig.get_size_inches()
    image = _FitImage(buf, width=_FRAME_WIDTH, height=_FRAME_WIDTH * h / w)
    return image if caption is None else _Captioned(image, caption)


class _Captioned(Flowable):
    """A figure and its caption below, laid out as one block that shrinks the figure to fit."""

    _GAP = 3.0  # points between the figure and its caption

    def __init__(self, image: _FitImage, caption: Flowable) -> None:
        super().__init__()
        self.image, self.caption = image, caption

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        """Room for the caption first, then the figure in what is left."""
        _, caption_h = self.caption.wrap(availWidth, availHeight)
        self.image.reserve = caption_h + self._GAP
        _, image_h = self.image.wrap(availWidth, availHeight)
        self.width, self.height = availWidth, image_h + self.image.reserve
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        """Never split: the figure and its caption move to the next page together."""
        return []

    def draw(self) -> None:
        """The figure centred on top, the caption under it."""
        x = (self.width - self.image.drawWidth) / 2
        self.image.drawOn(self.canv, x, self.image.reserve)
        self.caption.drawOn(self.canv, 0, 0)


class _FitImage(Image):
    """An image that shrinks to fit the space left on a page, but not below a readable size."""

    def __init__(self, buf: BytesIO, *, width: float, height: float) -> None:
        super().__init__(buf, width=width, height=height)
        self._full = (width, height)
        self.reserve = 0.0  # points kept free below the image (for its caption)

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        """Shrink to the space left on the page, down to :data:`_MIN_FIGURE_SCALE`."""
        w, h = self._full
        best = min(1.0, availWidth / w, (_FRAME_HEIGHT - self.reserve) / h)  # on a page of its own
        scale = min(best, (availHeight - self.reserve) / h)
        if scale < _MIN_FIGURE_SCALE * best:  # too small here: wait for the next page
            scale = best
        self.drawWidth, self.drawHeight = w * scale, h * scale
        return self.drawWidth, self.drawHeight


class _FooterCanvas(Canvas):
    """A canvas that holds pages back until the end, so each footer can say 'page n of N'."""

    def __init__(self, *args: Any, footer: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        """Keep the page's state to number it once the total is known."""
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        """Draw every page's footer with 'page i of n', then write the file."""
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self.setFont("Helvetica", 7.5)
            self.setFillColor(_GREY)
            self.drawString(_MARGIN, _MARGIN / 2, self._footer)
            self.drawRightString(A4[0] - _MARGIN, _MARGIN / 2, f"page {number} of {len(self._pages)}")
            super().showPage()
        super().save()


def styles() -> dict[str, ParagraphStyle]:
    """The paragraph styles of every channelab PDF, by name."""
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontSize=9.5, leading=12.5)
    return {
        "title": ParagraphStyle("title", parent=base["Title"], alignment=TA_LEFT, fontSize=20, leading=24),
        "lead": ParagraphStyle("lead", parent=body, fontSize=11, leading=14.5),
        "meta": ParagraphStyle("meta", parent=body, fontSize=9, textColor=_GREY),
        "h1": ParagraphStyle(
            "h1", parent=base["Heading1"], fontSize=13.5, leading=17, spaceBefore=8, keepWithNext=1
        ),
        "h2": ParagraphStyle(
            "h2", parent=base["Heading2"], fontSize=11, leading=14, spaceBefore=6, keepWithNext=1
        ),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10.5, textColor=_GREY),
        # a word wider than its cell runs on rather than breaking mid-word ('inconclusi' / 've')
        "cell": ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9.5, splitLongWords=0),
        "badge": ParagraphStyle(
            "badge",
            parent=body,
            fontName="Helvetica-Bold",
            fontSize=10,
            leading=12,
            textColor=colors.white,
            alignment=TA_CENTER,
        ),
        "banner": ParagraphStyle("banner", parent=body, fontSize=10.5, leading=14, textColor=colors.white),
    }


def provenance_block(
    prov: Provenance, st: dict[str, ParagraphStyle], *, heading: str = "Provenance"
) -> list[Flowable]:
    """The provenance record as a table: data fingerprint, spec hash, seed, software, time."""
    data = prov.data
    rows = [["Item", "Value"]]
    if data:
        rows += [
            ["data file", str(data.get("path"))],
            ["data sha256", str(data.get("sha256"))],
            ["data size", f"{data.get('bytes', 0):,} bytes, {data.get('rows', 0):,} rows"],
        ]
    rows += [[k, str(v)] for k, v in prov.as_dict().items() if k != "data" and v is not None]
    rows.append(
        [
            "drawn with",
            f"matplotlib {metadata.version('matplotlib')}, reportlab {metadata.version('reportlab')}",
        ]
    )
    return [
        Spacer(1, 0.4 * cm),
        para(heading, st["h1"]),
        para("Enough to reproduce this document: the exact data, spec, seed and software.", st["body"]),
        Spacer(1, 0.2 * cm),
        grid_table(rows, [3.4, 14.0], st),
    ]
