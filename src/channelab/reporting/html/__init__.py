"""HTML twins of the PDF reports: one self-contained page per document, readable on a phone.

``capture`` builds a PDF once while recording its story (the same flowables, in the same
order) and every figure laid into it as inline SVG; ``convert`` turns those flowables into HTML
(headings, paragraphs, verdict rows, boxes, tables with header cells); ``page`` wraps them in a
document with a small inline style sheet: no network, no script, figures with text alternatives.
The page therefore has the PDF's sections, sentences and numbers by construction.

Dependency rule: imports ``reporting.pdf`` (whose builders it records) and ``reporting.plots``;
never fits or recomputes a statistic.
"""

from channelab.reporting.html.analysis import analysis_twin
from channelab.reporting.html.capture import Twin, twin

__all__ = ["Twin", "analysis_twin", "twin"]
