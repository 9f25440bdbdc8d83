"""Imports go one way: the statistics layers never load plotting or PDF libraries."""

from __future__ import annotations

import subprocess
import sys

STATISTICS_LAYERS = ", ".join(
    f"channelab.{m}"
    for m in (
        "spec",
        "cells",
        "model",
        "effects",
        "pipeline",
        "export",
        "simulate",
        "calibrate",
        "power",
        "assurance",
        "assign",
        "design",
    )
)


def test_statistics_layers_do_not_import_plotting():
    loaded = "sorted(m for m in ('matplotlib', 'reportlab') if m in sys.modules)"
    code = f"import sys, {STATISTICS_LAYERS}; print({loaded})"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_only_spec_module_reads_yaml():
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "src" / "channelab"
    readers = sorted(p.name for p in src.glob("*.py") if "import yaml" in p.read_text())
    assert readers == ["spec.py"]
