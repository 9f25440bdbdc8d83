"""Figures, one module per family over a shared ``style``.

Families: ``effects``, ``economics``, ``diagnostics``, ``design``, ``matching``, ``monitor``,
``replication``, ``learn`` (a programme's forest plots, its links and page 1's overview).
Each function takes data first and options keyword-only, builds a
:class:`matplotlib.figure.Figure` without pyplot, and returns it; nothing is shown or saved.

Dependency rule: reads results (analysis, design, replication values); never fits.
"""
