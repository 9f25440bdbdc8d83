"""The analysis report's HTML twin: the PDF's pages, then the full trace plots in an appendix.

The PDF keeps its appendix short; a web page has room for every arm effect's trace and rank
plots (:func:`~channelab.reporting.plots.diagnostics.trace_figure`), so the HTML adds them
unless the PDF already carries them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib

from channelab.reporting.html.capture import Twin, twin
from channelab.reporting.html.convert import svg_markup
from channelab.reporting.pdf.analysis import analysis_pdf
from channelab.reporting.plots.diagnostics import trace_figure

if TYPE_CHECKING:
    from channelab.pipeline import Analysis

__all__ = ["TRACE_HEADING", "analysis_twin"]

#: The heading of the trace plots, in the PDF's appendix and in the HTML's.
TRACE_HEADING = "Trace and rank plots of the arm effects"


def _traces(analysis: Analysis, body: list[str], figures: int) -> list[str]:
    """The trace plots of every arm effect, unless the page already has them."""
    if any(TRACE_HEADING in part for part in body):
        return []
    posterior = analysis.posterior["posterior"].to_dataset()
    arm_vars = [str(v) for v in posterior.data_vars if str(v).endswith(":arm")]
    if not arm_vars:
        return []
    with matplotlib.rc_context({"text.parse_math": False}):
        svg = svg_markup(trace_figure(posterior, arm_vars), figures + 1)
    return [
        f"<h2>Appendix. {TRACE_HEADING}</h2>",
        '<p class="body">Each arm effect\'s draws per chain (left: chains that overlap and wander '
        "alike have mixed) and their ranks across chains (right: flat histograms mean the chains "
        "agree). The convergence gate above states the numbers these pictures show.</p>",
        svg,
    ]


def analysis_twin(analysis: Analysis) -> Twin:
    """The analysis report as a PDF (:func:`analysis_pdf`) and its HTML twin, built in one pass.

    Parameters
    ----------
    analysis
        A finished analysis (:func:`channelab.pipeline.analyse`).

    Returns
    -------
    Twin
        The PDF's bytes and the HTML page's, with the full trace plots in its appendix.
    """
    return twin(analysis_pdf, analysis, appendix=lambda body, n: _traces(analysis, body, n))
