"""Build a PDF once and record what it laid out, to write the same document as HTML.

While a PDF builder runs, :func:`twin` stands in for the layout's ``figure_flowable`` and
``render`` in every module of :mod:`channelab.reporting.pdf`: each figure is still embedded in
the PDF exactly as before and is also saved as SVG, and the finished story is turned into HTML
before it is laid out. The PDF's bytes are unchanged; the HTML holds the same sections,
sentences, tables and figures, in the same order, because they are the same objects.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from matplotlib.figure import Figure
from reportlab.platypus import Flowable

import channelab.reporting.pdf as pdf_package
from channelab.reporting.html.convert import flowables_html, svg_markup
from channelab.reporting.html.page import document
from channelab.reporting.pdf import layout

__all__ = ["Twin", "twin"]


class Twin(NamedTuple):
    """A report as a PDF and as its HTML twin.

    Attributes
    ----------
    pdf
        The PDF's bytes, as its builder alone would have made them.
    html
        The HTML page (UTF-8), self-contained.
    """

    pdf: bytes
    html: bytes


@dataclass
class _Recording:
    """The figures laid out so far (as SVG, by flowable) and the page, once rendered."""

    svgs: dict[int, str] = field(default_factory=dict)
    kept: list[Flowable] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)

    def figure_flowable(self, fig: Figure, *args: Any, **kwargs: Any) -> Flowable:
        flowable = layout.figure_flowable(fig, *args, **kwargs)
        self.kept.append(flowable)  # keeps its id unique while the story lives
        caption = kwargs.get("caption", args[0] if args else None)
        said = "".join(flowables_html([caption], {})) if isinstance(caption, Flowable) else ""
        self.svgs[id(flowable)] = svg_markup(fig, len(self.kept), caption=said)
        return flowable

    def render(self, story: list[Flowable], *, title: str, subject: str, creator: str, footer: str) -> bytes:
        self.body = flowables_html(story, self.svgs)  # before layout, which consumes the story
        self.meta = {"title": title, "subject": subject, "creator": creator, "footer": footer}
        return layout.render(story, title=title, subject=subject, creator=creator, footer=footer)


@contextmanager
def _recording(rec: _Recording) -> Iterator[None]:
    """Stand ``rec`` in for the layout's figure and render functions in every PDF module."""
    swapped: list[tuple[Any, str, Any]] = []
    for info in pkgutil.iter_modules(pdf_package.__path__):
        module = importlib.import_module(f"{pdf_package.__name__}.{info.name}")
        if module is layout:
            continue
        for name in ("figure_flowable", "render"):
            if hasattr(module, name):
                swapped.append((module, name, getattr(module, name)))
                setattr(module, name, getattr(rec, name))
    try:
        yield
    finally:
        for module, name, original in reversed(swapped):
            setattr(module, name, original)


def twin(
    build: Callable[..., bytes],
    *args: Any,
    appendix: Callable[[list[str], int], list[str]] | None = None,
) -> Twin:
    """Run the PDF builder ``build(*args)`` once; return its PDF and the same document in HTML.

    Parameters
    ----------
    build
        A PDF builder of :mod:`channelab.reporting.pdf` (``analysis_pdf``, ``design_pdf``, ...).
    *args
        Its arguments.
    appendix
        Called with the page's fragments and the number of figures so far; returns fragments
        to append (sections only the HTML carries, such as the full trace plots).

    Returns
    -------
    Twin
        The PDF's bytes and the HTML page's.
    """
    rec = _Recording()
    with _recording(rec):
        pdf = build(*args)
    if not rec.meta:
        raise RuntimeError(f"{getattr(build, '__name__', build)!r} did not lay out a PDF story.")
    body = rec.body + (appendix(rec.body, len(rec.kept)) if appendix else [])
    page = document(body, **rec.meta)
    return Twin(pdf, page.encode("utf-8"))
