"""Rendering results for people and pipelines: JSON data, matplotlib figures and reportlab PDFs.

Subpackages: ``json_report/`` (the JSON contract of an analysis, a design, a replication plan
and a monitored test, as plain data, one module per output), ``plots/`` (one module per figure
family over a shared ``style``), ``pdf/`` (``layout`` shared by the analysis report's
``leadership`` page, ``effects`` pages and ``appendix``, and by the ``design``, ``replication``
and ``monitor`` documents), ``html/`` (each PDF's self-contained HTML twin, recorded from the
same story and figures). Renderers return data or bytes; :mod:`channelab.app` writes them.

Dependency rule: reads results of every computing layer (pipeline, design, replication,
analysis, engine checks); nothing below imports it. It never fits or recomputes a statistic.

May import: errors, limits, files, spec, likelihoods, provenance, cells, engine, cohort, analysis, design,
replication, pipeline. (Checked by ``tests/test_layers.py``.)
"""

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from channelab.reporting.json_report import analysis_json, design_json, plan_json
    from channelab.reporting.pdf.analysis import analysis_pdf
    from channelab.reporting.pdf.design import design_pdf
    from channelab.reporting.pdf.replication import plan_pdf

__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "json_report": ["analysis_json", "design_json", "plan_json"],
        "pdf.analysis": ["analysis_pdf"],
        "pdf.design": ["design_pdf"],
        "pdf.replication": ["plan_pdf"],
    },
)
__all__ = [
    "analysis_json",
    "analysis_pdf",
    "design_json",
    "design_pdf",
    "plan_json",
    "plan_pdf",
]
