from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from channelab.analysis.diagnostics import Attempt
from channelab.engine.checks import Finding
from channelab.reporting.json_report import analysis_json
from channelab.reporting.pdf.analysis import analysis_pdf


def _pages(pdf: Path | bytes) -> list[str]:
    source = io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf
    return [" ".join(p.extract_text().replace("\xa0", " ").split()) for p in PdfReader(source).pages]


def test_pdf_opens_with_a_leadership_page(hillstrom_mock_run):
    analysis, pdf_path, _ = hillstrom_mock_run
    pages = _pages(pdf_path)
    assert len(pages) >= 4
    first = pages[0]
    assert analysis.spec.display_title in first
    assert "64,000 customers" in first
    for arm in analysis.effects.arms:
        assert arm.arm in first
        assert arm.verdict.upper() in first
    assert "NOT CONVERGED" not in first
    assert "unreliable" not in first


def test_effects_table_names_the_interval_mass(hillstrom_mock_run):
    _, pdf_path, _ = hillstrom_mock_run
    assert "Lift (94 % HDI)" in " ".join(_pages(pdf_path)[1:])


def test_appendix_carries_diagnostics_seed_and_data_fingerprint(hillstrom_mock_run):
    analysis, pdf_path, _ = hillstrom_mock_run
    appendix = " ".join(_pages(pdf_path)[1:])
    assert "R-hat" in appendix
    assert "visit:arm[Mens E-Mail]" in appendix
    assert f"seed {analysis.provenance.seed}" in appendix
    assert str(analysis.data["sha256"]) in appendix
    assert "intercept_sd" in appendix


def test_no_convergence_and_a_failed_check_are_flagged_on_page_one(hillstrom_mock_run):
    analysis, _, _ = hillstrom_mock_run
    problem = "r_hat up to 1.2 (≤ 1.01 required) for visit:arm[Mens E-Mail]"
    bad = dataclasses.replace(analysis.diagnostics, problems=(problem,))
    srm = Finding("sample_ratio", "warning", "sample-ratio mismatch: arm sizes differ", 64000)
    checks = dataclasses.replace(analysis.checks, findings=(*analysis.checks.findings, srm))
    first = _pages(analysis_pdf(dataclasses.replace(analysis, diagnostics=bad, checks=checks)))[0]
    assert "NOT CONVERGED" in first
    assert "do not act on these numbers" in first
    assert "r_hat up to 1.2 (<= 1.01 required)" in first  # glyph Helvetica lacks, spelled out
    assert first.count("(unreliable)") == len(analysis.effects.arms)
    assert "Caveat from the data checks" in first
    assert "sample-ratio mismatch" in first


def test_refits_and_a_slow_nuisance_parameter_are_reported_not_hidden(hillstrom_mock_run):
    analysis, _, _ = hillstrom_mock_run
    failed = "r_hat up to 1.018 (> 1.01) for visit:cluster_sd"
    note = f"{failed}: parameters the reported quantities barely depend on mixed slowly, but ..."
    attempts = (
        Attempt(1000, 1000, 0.9, 2008, (failed,)),
        Attempt(2000, 2000, 0.95, 2009, ()),
    )
    refitted = dataclasses.replace(analysis.diagnostics, attempts=attempts, notes=(note,))
    redone = dataclasses.replace(analysis, diagnostics=refitted)
    pages = _pages(analysis_pdf(redone))
    assert "NOT CONVERGED" not in pages[0]
    appendix = " ".join(pages[1:])
    assert "The first fit (1,000 draws after 1,000 tuning steps" in appendix
    assert "refitted 1 time, the last with 2,000 draws" in appendix
    assert "seed 2009" in appendix
    assert "visit:cluster_sd" in appendix
    doc = analysis_json(redone)
    assert [f["seed"] for f in doc["checks"]["fits"]] == [2008, 2009]
    assert doc["checks"]["fits"][0]["problems"] == [failed]
    assert doc["checks"]["notes"] == [note]


@pytest.mark.slow  # draws the whole PDF again (seconds)
def test_same_analysis_gives_the_same_bytes(hillstrom_mock_run, tmp_path):
    analysis, pdf_path, _ = hillstrom_mock_run
    assert analysis_pdf(analysis) == pdf_path.read_bytes()


def test_json_contract_keys_and_funnel_order(hillstrom_mock_run):
    analysis, _, json_path = hillstrom_mock_run
    doc = json.loads(json_path.read_text())
    assert {"experiment", "control", "hdi_prob", "n_units", "design", "checks", "arms", "effects"} <= set(doc)
    assert set(doc["checks"]) >= {"srm_p", "rhat_max", "ess_bulk_min", "divergences", "converged"}
    assert [a["arm"] for a in doc["arms"]] == list(analysis.spec.treatments)
    assert len(doc["effects"]) == len(analysis.spec.treatments) * len(analysis.spec.metrics)
    assert [e["metric"] for e in doc["effects"][:3]] == ["visit", "conversion", "spend"]
    assert doc["data"] == doc["provenance"]["data"] == analysis.data
    assert doc["provenance"]["seed"] == analysis.spec.seed
