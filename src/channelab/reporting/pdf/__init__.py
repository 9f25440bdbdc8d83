"""PDF documents laid out with reportlab, each returned as bytes.

``layout`` (geometry, styles, tables, number formats) is shared by the analysis report
(``analysis``, which assembles the ``leadership`` page, the ``effects`` pages and the
``appendix``), the design report (``design``), the replication pages (``replication``) and the
monitored test's report (``monitor``). Each returns the PDF's bytes.

Dependency rule: imports ``reporting.plots`` and the results it renders; never fits.
"""
