"""PDF documents laid out with reportlab, each returned as bytes.

``layout`` (geometry, styles, tables, number formats) is shared by the analysis report
(``analysis``, which assembles the ``leadership`` page, the ``effects`` pages and the
``appendix``), the design report (``design``), the replication pages (``replication``), the
monitored test's report (``monitor``) and what a programme of tests taught (``learn``:
``learn_pdf``). Each returns the PDF's bytes.

Dependency rule: imports ``reporting.plots`` and the results it renders; never fits.
"""

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from channelab.reporting.pdf.learn import learn_pdf

# loaded on first use: the learn report pulls in the programme model, which the others never need
__getattr__, __dir__, _ = lazy_loader.attach(__name__, submod_attrs={"learn": ["learn_pdf"]})
__all__ = ["learn_pdf"]
