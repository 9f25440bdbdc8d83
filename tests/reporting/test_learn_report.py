"""The reports of ``learn``: page 1's sentences in the PDF and its HTML twin, the JSON and the prior file.

Fast tests build :class:`~channelab.analysis.learning.Learned` by hand over simulated records (no
sampling); the slow ones fit a simulated programme for real, once per module.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pdfplumber
import pytest

from channelab.analysis.diagnostics import Diagnostics
from channelab.analysis.learning import ChannelMetric, Impact, Learned, Link
from channelab.analysis.learning import TestEffect as PastTest
from channelab.analysis.learning.wording import learned_claim_level, learned_words
from channelab.analysis.results import Interval
from channelab.engine.registry import Record
from channelab.limits import MAX_FOREST_ROWS
from channelab.pipeline.learn import Learning, ProgrammeRecords
from channelab.provenance import stamp
from channelab.reporting.html import twin
from channelab.reporting.json_report.learn import learn_json, learned_priors_json, metric_kinds
from channelab.reporting.pdf.layout import _sanitise
from channelab.reporting.pdf.learn import learn_pdf
from channelab.reporting.plots.learn import forest_figure
from channelab.simulate.programme import SOCIAL_PROGRAMME, simulate_programme
from layout_check import layout_defects

# ---- a Learning built by hand over simulated records (no sampling) -----------------------------


def _diagnostics() -> Diagnostics:
    return Diagnostics(1.002, 1800.0, 1400.0, 0, 4, 1000, pd.DataFrame(), ())


def _shrunk(y: float, m: float) -> Interval:
    return Interval(math.expm1((y + m) / 2), math.expm1(min(y, m) - 0.2), math.expm1(max(y, m) + 0.1))


def _group(channel: str, metric: str, records: list[Record]) -> ChannelMetric:
    y = np.array([r.loglift_mean for r in records], dtype=float)
    m = float(y.mean())
    effects = tuple(
        PastTest(r.experiment, math.expm1(v), _shrunk(v, m), r.launched)
        for r, v in zip(records, y, strict=True)
    )
    launched = [e for e in effects if e.launched]
    impact = None
    if launched:
        shrunk = sum(e.shrunken.mean for e in launched)
        impact = Impact(
            len(launched), sum(e.reported for e in launched), Interval(shrunk, shrunk - 0.1, shrunk + 0.1)
        )
    return ChannelMetric(
        channel=channel,
        metric=metric,
        role=records[0].role,
        scale="loglift",
        tests=len(records),
        mu=Interval(math.expm1(m), math.expm1(m - 0.05), math.expm1(m + 0.05)),
        tau=Interval(0.12, 0.05, 0.2),
        prediction=Interval(math.expm1(m), math.expm1(m - 0.3), math.expm1(m + 0.3)),
        prediction_scale=(m, 0.15),
        prob_positive=0.999 if m > 0.1 else 0.6,
        effects=effects,
        impact=impact,
    )


def hand_learning(tests: dict[str, int], *, seed: int = 3) -> Learning:
    """Simulated records of ``tests`` per channel, and a Learned built from them by hand."""
    channels = [replace(c, tests=tests[c.channel]) for c in SOCIAL_PROGRAMME if c.channel in tests]
    sim = simulate_programme(channels, seed=seed)
    by: dict[tuple[str, str], list[Record]] = {}
    for r in sim.records:
        by.setdefault((r.channel, r.metric), []).append(r)
    groups = tuple(_group(c, m, rs) for (c, m), rs in sorted(by.items()))
    links = tuple(
        Link(c.channel, "profile_views", "meetings", "loglift", c.tests, c.tests - 1,
             Interval(0.1, -0.3, 0.5), Interval(0.2, 0.0, 0.7), 0.6, _diagnostics())
        for c in channels
    )  # fmt: skip
    learned = Learned(groups, links, _diagnostics(), 0.94)
    programme = ProgrammeRecords((Path("programme.duckdb"),), sim.records, sim.covariances)
    data = {"sources": 1, "records": len(sim.records), "sha256": programme.fingerprint}
    return Learning("outreach", programme, learned, stamp(None, seed=seed, sampler="nutpie", data=data))


@pytest.fixture(scope="module")
def small() -> Learning:
    return hand_learning({"social": 14, "email": 12})


def _flat(text: str) -> str:
    """Text as a PDF or HTML page shows it: sanitised for the built-in fonts, spaces collapsed."""
    return " ".join(_sanitise(text).replace("\u00a0", " ").split())


def _pdf_text(pdf: bytes, path: Path) -> list[str]:
    path.write_bytes(pdf)
    with pdfplumber.open(path) as doc:
        return [" ".join((p.extract_text() or "").split()) for p in doc.pages]


def _html_text(page: bytes) -> str:
    body = re.sub(r"<svg.*?</svg>", " ", page.decode("utf-8"), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).replace("\u00a0", " ").split())


# ---- the JSON ----------------------------------------------------------------------------------

_KEYS = ["kind", "name", "hdi_prob", "claim_level", "records", "duplicates", "notes", "groups", "links"]
_KEYS += ["sentences", "checks", "provenance"]
_GROUP_KEYS = {"channel", "metric", "role", "scale", "tests", "mu", "tau", "prediction", "prediction_scale"}
_GROUP_KEYS |= {"prob_positive", "one_test", "impact", "effects"}


def _iv(iv: Interval) -> dict[str, float]:
    return {"mean": iv.mean, "lower": iv.lower, "upper": iv.upper}


def test_the_json_has_the_documented_keys_and_the_learned_numbers(small: Learning) -> None:
    doc = learn_json(small)
    assert set(_KEYS) <= set(doc)
    assert doc["kind"] == "learn"
    assert doc["claim_level"] == pytest.approx(0.97)
    assert doc["records"] == len(small.programme.records)
    for out, g in zip(doc["groups"], small.learned.groups, strict=True):
        assert set(out) == _GROUP_KEYS
        assert (out["channel"], out["metric"], out["tests"]) == (g.channel, g.metric, g.tests)
        assert out["mu"] == _iv(g.mu)
        assert out["tau"] == _iv(g.tau)
        assert out["prediction"] == _iv(g.prediction)
        assert out["prediction_scale"] == {"mean": g.prediction_scale[0], "sd": g.prediction_scale[1]}
        assert out["prob_positive"] == g.prob_positive
        assert [e["reported"] for e in out["effects"]] == [e.reported for e in g.effects]
        assert [e["shrunken"] for e in out["effects"]] == [_iv(e.shrunken) for e in g.effects]
        assert (out["impact"] is None) == (g.impact is None)
        if g.impact is not None:
            assert out["impact"]["naive"] == g.impact.naive
            assert out["impact"]["shrunken"] == _iv(g.impact.shrunken)
    for out, k in zip(doc["links"], small.learned.links, strict=True):
        assert out["slope"] == _iv(k.slope)
        assert (out["tests"], out["cov_known"], out["prob_slope_positive"]) == (k.tests, k.cov_known, 0.6)
    words = learned_words(small.learned, kinds=metric_kinds(small.programme))
    assert [s["text"] for s in doc["sentences"]] == [s.text for s in words.sentences]
    assert all(s["claim"] and s["condition"] for s in doc["sentences"])
    assert doc["checks"] == {
        "rhat_max": 1.002,
        "ess_bulk_min": 1400.0 + 400.0,
        "divergences": 0,
        "converged": True,
    }
    json.dumps(doc, allow_nan=False)


def test_non_finite_numbers_never_reach_the_json(small: Learning) -> None:
    g = replace(
        small.learned.groups[0], tau=Interval(math.nan, 0.0, math.inf), prediction_scale=(math.nan, 0.1)
    )
    broken = replace(small, learned=replace(small.learned, groups=(g, *small.learned.groups[1:])))
    doc = learn_json(broken)
    json.dumps(doc, allow_nan=False)
    assert doc["groups"][0]["tau"] == {"mean": None, "lower": 0.0, "upper": None}
    priors = learned_priors_json(broken)
    json.dumps(priors, allow_nan=False)
    assert priors["left_out"] == [f"{g.channel} / {g.metric}"]  # no prior rather than a null one
    assert len(priors["priors"]) == len(small.learned.groups) - 1


def test_the_prior_file_holds_each_groups_prediction(small: Learning) -> None:
    doc = learned_priors_json(small)
    assert doc["kind"] == "channelab learned priors"
    assert doc["version"] == 1
    keys = {"kind", "version", "name", "hdi_prob", "converged", "left_out", "provenance", "priors"}
    assert set(doc) == keys
    assert doc["converged"] is small.learned.diagnostics.converged
    assert doc["left_out"] == []
    for prior, g in zip(doc["priors"], small.learned.groups, strict=True):
        assert {"channel", "metric", "scale", "mean", "sd", "tests", "one_test"} <= set(prior)
        assert (prior["mean"], prior["sd"]) == g.prediction_scale
        assert (prior["channel"], prior["metric"], prior["tests"]) == (g.channel, g.metric, g.tests)


# ---- the PDF and its HTML twin -----------------------------------------------------------------


def test_page_one_says_every_sentence_and_the_html_twin_says_the_same(
    small: Learning, tmp_path: Path
) -> None:
    pages = twin(learn_pdf, small)
    text = _pdf_text(pages.pdf, tmp_path / "learn.pdf")
    said = [s.text for s in learned_words(small.learned, kinds=metric_kinds(small.programme)).sentences]
    page_one, page = text[0], _html_text(pages.html)
    assert page_one.startswith("What 26 tests taught us: outreach")
    assert (
        "Records from a registry (programme.duckdb): 52 records of 26 tests, all from channelab runs."
        in page_one
    )
    for sentence in said:
        assert _flat(sentence) in page_one
        assert _flat(sentence) in page
    assert "Words on this page." in page_one
    assert "winner's curse: tests picked as winners" in page_one
    assert "P(" not in page_one  # probabilities are for the later pages
    assert layout_defects(tmp_path / "learn.pdf") == []


def test_the_later_pages_hold_the_tables_figures_checks_and_provenance(
    small: Learning, tmp_path: Path
) -> None:
    text = " ".join(_pdf_text(learn_pdf(small), tmp_path / "learn.pdf")[1:])
    for heading in (
        "What each channel does",
        "Each past test, pooled",
        "Does a bigger engagement gain come with a bigger outcome gain?",
        "Launched winners, with the winner's curse removed",
        "Did the sampler converge?",
        "What licenses each sentence",
        "Records read",
        "Provenance",
    ):
        assert heading in text


def test_one_test_and_unknown_correlations_are_said_on_page_one(tmp_path: Path) -> None:
    learning = hand_learning({"social": 1, "email": 4})
    text = _pdf_text(learn_pdf(learning), tmp_path / "learn.pdf")[0]
    assert "Social has one test only of meetings: how much tests differ comes from the prior" in text
    assert "the within-test correlation of the two estimates was not recorded and was taken as zero" in text


def test_ten_thousand_records_render_with_the_forest_plots_capped(tmp_path: Path) -> None:
    learning = hand_learning({"social": 2_500, "email": 2_500})
    assert len(learning.programme.records) == 10_000
    pages = twin(learn_pdf, learning)
    text = " ".join(_pdf_text(pages.pdf, tmp_path / "learn.pdf"))
    assert "every test is in the JSON report" in text
    doc = learn_json(learning)
    assert sum(len(g["effects"]) for g in doc["groups"]) == 10_000
    g = learning.learned.groups[0]
    labels = [t.get_text() for t in forest_figure(g, hdi_prob=0.94).axes[0].get_yticklabels()]
    assert len(labels) == MAX_FOREST_ROWS + 2  # the tests shown, then μ and the next test
    assert f"{MAX_FOREST_ROWS} of 2,500 tests shown" in forest_figure(g, hdi_prob=0.94).axes[0].get_title(
        loc="left"
    )


# ---- a programme fitted for real ---------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Learning:
    from channelab.engine.registry import open_registry
    from channelab.pipeline.learn import learn_programme

    path = tmp_path_factory.mktemp("learn") / "outreach.duckdb"
    sim = simulate_programme(SOCIAL_PROGRAMME, seed=7)
    with open_registry(path, create=True) as registry:
        registry.add(sim.records, sim.covariances, origin="test")
    return learn_programme(path, seed=7)


@pytest.mark.slow
def test_a_fitted_programmes_report_says_its_sentences_with_their_licences(
    fitted: Learning, tmp_path: Path
) -> None:
    pages = twin(learn_pdf, fitted)
    text = _pdf_text(pages.pdf, tmp_path / "learn.pdf")
    doc = learn_json(fitted)
    level = learned_claim_level(fitted.learned.hdi_prob)
    for s in doc["sentences"]:
        assert _flat(s["text"]) in text[0]
        assert _flat(s["text"]) in _html_text(pages.html)
    for out, g in zip(doc["groups"], fitted.learned.groups, strict=True):
        head, metric = f"Across {g.tests} tests, {g.channel} ", f" {g.metric.replace('_', ' ')} by"
        said = next(s for s in doc["sentences"] if s["text"].startswith(head) and metric in s["text"])
        assert (said["claim"] == "mean rose") == (g.prob_positive >= level)
        assert out["mu"] == _iv(g.mu)
    assert all("did not" not in s["text"] for s in doc["sentences"])
    assert doc["checks"]["converged"] is True
    assert layout_defects(tmp_path / "learn.pdf") == []
