"""The PDF report of an analysis, laid out with reportlab from the :class:`Analysis` alone.

Page 1 speaks to leadership (:mod:`~channelab.reporting.pdf.leadership`): what each arm did in
words, its verdict, the funnel figure, and any warning that should stop a decision (no
convergence, a failed data check). Then come the replication verdict's details
(:mod:`~channelab.reporting.pdf.replication`), the table of effects and one posterior plot per
metric (:mod:`~channelab.reporting.pdf.effects`), and an appendix with the data checks, sampler
diagnostics, priors, data fingerprint and provenance (:mod:`~channelab.reporting.pdf.appendix`).

The report renders; it never fits or recomputes a statistic. Text uses reportlab's
built-in fonts only (see :mod:`~channelab.reporting.pdf.layout`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reportlab.platypus import PageBreak

from channelab.reporting.pdf.appendix import (
    checks_section,
    diagnostics_section,
    matching_section,
    priors_section,
    provenance_section,
)
from channelab.reporting.pdf.effects import effects_section, posterior_section
from channelab.reporting.pdf.layout import literal_text, render, styles
from channelab.reporting.pdf.leadership import leadership_page
from channelab.reporting.pdf.replication import replication_section

if TYPE_CHECKING:
    from channelab.pipeline import Analysis


@literal_text
def analysis_pdf(analysis: Analysis) -> bytes:
    """The PDF report of ``analysis``: every section laid out (same analysis, same bytes).

    Nothing is fitted or recomputed here; writing the bytes is the caller's.

    Parameters
    ----------
    analysis
        A finished analysis (:func:`channelab.pipeline.analyse`).

    Returns
    -------
    bytes
        The PDF document, deterministic for a given analysis.
    """
    spec = analysis.spec
    st = styles()
    story = [
        *leadership_page(analysis, st),
        PageBreak(),
        *replication_section(analysis, st),
        *effects_section(analysis, st),
        *posterior_section(analysis, st),
        PageBreak(),
        *checks_section(analysis, st),
        *matching_section(analysis, st),
        *diagnostics_section(analysis, st),
        *priors_section(analysis, st),
        *provenance_section(analysis, st),
    ]
    return render(
        story,
        title=spec.display_title,
        subject=spec.description.strip(),
        creator=f"channelab {analysis.provenance.channelab}",
        footer=f"channelab  ·  {spec.name}  ·  {spec.display_title}",
    )
