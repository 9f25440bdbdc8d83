"""Page 1 in plain words: the data's origin said on the page and in the JSON, and no unexplained jargon."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from channelab.pipeline.headline import undecided_words
from channelab.reporting.words import GLOSSARY, glossary_entries, origin_line
from channelab.spec import load_spec
from helpers import EXPERIMENTS, mocked_sampling

#: Terms a sales leader cannot read, as they could appear on page 1 -> the glossary entry that
#: must explain them there (None: the term must not appear at all).
JARGON: dict[str, str | None] = {
    r"\bBF_r0\b": "BF_r0",
    r"\bROPE\b": "ROPE",
    r"\bATT\b": "ATT",
    r"effective untreated": "effective untreated",
    r"\bHDI\b": None,
    r"P\((?!best\))": None,  # P(none extra), P(arm > control): only P(best) is explained
    r"P\(best\)": "P(best)",
    r"\b1\.0×|×\s?1\.0\b": None,  # a 5 % increase read as "1.0×"
    r"\d\.\d+e[+-]\d": None,  # scientific notation
}

_RUN_EXAMPLES = sorted(
    p.stem for p in EXPERIMENTS.glob("*.yaml") if p.stem not in ("social_selling_monitor",)
)


def _page_one(pdf: Path) -> str:
    return " ".join(PdfReader(pdf).pages[0].extract_text().split())


def _glossary_part(page: str) -> str:
    """The text of page 1's glossary box (between its heading and the first section)."""
    start = page.find("Words on this page.")
    return "" if start < 0 else page[start:]


def _unexplained(page: str) -> list[str]:
    box = _glossary_part(page)
    problems = []
    for pattern, term in JARGON.items():
        if not re.search(pattern, page):
            continue
        if term is None:
            problems.append(f"{pattern} appears on page 1")
        elif f"{term}: {GLOSSARY[term][1][:30]}" not in " ".join(box.split()):
            problems.append(f"{term} appears on page 1 without its glossary line")
    return problems


def _run(name: str, out: Path):
    from unittest.mock import patch

    from channelab.app import run_experiment

    # prior draws are no posterior: a ratio's sparse-denominator check would rightly refuse them
    with mocked_sampling(), patch("channelab.analysis.ratio.check_denominator"):
        return run_experiment(EXPERIMENTS / f"{name}.yaml", out_dir=out)


# ---- known truth: a simulated-origin spec says so on page 1 and in the JSON --------------------


def test_a_simulated_example_says_so_on_page_one_and_in_the_json(tmp_path):
    report = _run("job_training_weighted", tmp_path)
    page = _page_one(report.pdf)
    assert "These data are simulated: channelab's simulator made them with known true effects" in page
    assert "They say nothing about real participants." in page
    assert json.loads(report.json.read_text(encoding="utf-8"))["data"]["origin"] == "simulated"
    assert _unexplained(page) == []
    # the terms of a weighted cohort are explained where they first appear
    assert "ATT: the effect on the treated" in page
    assert "effective untreated: how many untreated units" in page


def test_observed_data_are_said_to_be_observed(hillstrom_mock_run):
    page = _page_one(hillstrom_mock_run.pdf)
    assert "These data are observed: recorded from real customers." in page
    assert "simulated" not in page
    assert json.loads(hillstrom_mock_run.json.read_text(encoding="utf-8"))["data"]["origin"] == "observed"
    assert _unexplained(page) == []


def test_origin_line_follows_the_spec():
    assert origin_line(load_spec(EXPERIMENTS / "ubc_study1_published.yaml")).startswith(
        "These data are published: the numbers come from a paper's per-arm results"
    )
    assert origin_line(load_spec(EXPERIMENTS / "social_selling_pilot.yaml")).endswith(
        "They say nothing about real prospects."
    )


# ---- the glossary ------------------------------------------------------------------------------


def test_glossary_lists_only_the_terms_a_page_uses():
    entries = dict(glossary_entries(["the replication Bayes factor BF_r0 > 1,000 favours the original"]))
    assert list(entries) == ["BF_r0"]
    assert entries["BF_r0"].startswith("how many times better the original effect predicts")
    assert glossary_entries(["Phone raised meetings booked by 18 %."]) == []
    # a word that merely contains a term is not the term
    assert glossary_entries(["EUROPE and ATTENTION"]) == []


def test_every_glossary_line_is_one_short_sentence():
    for term, (_, words) in GLOSSARY.items():
        assert words.endswith("."), term
        assert len(f"{term}: {words}") <= 140, term


def test_jargon_check_catches_what_it_should():
    assert _unexplained("Verdict: BF_r0 = 1/10.8; about 1.0× the current sample; P(none extra) = 0.42")
    assert _unexplained("interval −1.26e+03 to +372")
    assert not _unexplained("Phone raised meetings booked by 18 %.")


def test_monitor_words_do_not_promise_a_look_after_the_last():
    assert undecided_words(final=False).startswith("Not decided yet")
    final = undecided_words(final=True)
    assert "yet" not in final
    assert final.startswith("Undecided: the planned looks ended")


# ---- every example, page 1 (the full list on the slow tier: about 15 s each under mocking) -------

_FAST = ["job_training_weighted", "ubc_slacktivism_study1"]


@pytest.mark.parametrize(
    "name",
    [n if n in _FAST else pytest.param(n, marks=pytest.mark.slow) for n in _RUN_EXAMPLES],
)
def test_page_one_of_every_example_has_no_unexplained_jargon(name, tmp_path):
    report = _run(name, tmp_path)
    page = _page_one(report.pdf)
    assert _unexplained(page) == []
    origin = load_spec(EXPERIMENTS / f"{name}.yaml").data.resolved_origin
    assert f"These data are {origin}" in page
    assert json.loads(report.json.read_text(encoding="utf-8"))["data"]["origin"] == origin
