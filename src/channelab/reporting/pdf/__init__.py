"""PDF documents laid out with reportlab, each returned as bytes.

``layout`` (geometry, styles, tables, number
formats) shared by the analysis report (``analysis`` and its ``appendix``), the design report
(``design``) and the replication pages (``replication``). Each returns the PDF's bytes.

Dependency rule: imports ``reporting.plots`` and the results it renders; never fits.
"""
