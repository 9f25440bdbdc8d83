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
    analysis, pdf_path, _ = hillstrom_mock_run[:3]
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
    _, pdf_path, _ = hillstrom_mock_run[:3]
    assert "Lift (94 % interval)" in " ".join(_pages(pdf_path)[1:])


def test_appendix_carries_diagnostics_seed_and_data_fingerprint(hillstrom_mock_run):
    analysis, pdf_path, _ = hillstrom_mock_run[:3]
    appendix = " ".join(_pages(pdf_path)[1:])
    assert "R-hat" in appendix
    assert "visit:arm[Mens E-Mail]" in appendix
    assert f"seed {analysis.provenance.seed}" in appendix
    assert str(analysis.data["sha256"]) in appendix
    assert "intercept_sd" in appendix


def test_no_convergence_and_a_failed_check_are_flagged_on_page_one(hillstrom_mock_run):
    analysis, _, _ = hillstrom_mock_run[:3]
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
    analysis, _, _ = hillstrom_mock_run[:3]
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
    analysis, pdf_path, _ = hillstrom_mock_run[:3]
    assert analysis_pdf(analysis) == pdf_path.read_bytes()


def test_json_contract_keys_and_funnel_order(hillstrom_mock_run):
    analysis, _, json_path = hillstrom_mock_run[:3]
    doc = json.loads(json_path.read_text())
    assert {"experiment", "control", "hdi_prob", "n_units", "design", "checks", "arms", "effects"} <= set(doc)
    assert set(doc["checks"]) >= {"srm_p", "rhat_max", "ess_bulk_min", "divergences", "converged"}
    assert [a["arm"] for a in doc["arms"]] == list(analysis.spec.treatments)
    assert len(doc["effects"]) == len(analysis.spec.treatments) * len(analysis.spec.metrics)
    assert [e["metric"] for e in doc["effects"][:3]] == ["visit", "conversion", "spend"]
    assert doc["data"] == doc["provenance"]["data"] == analysis.data
    assert doc["provenance"]["seed"] == analysis.spec.seed


@pytest.fixture(scope="module")
def adjusted_mock_run(tmp_path_factory: pytest.TempPathFactory):
    """The worked example with pre-period adjustment, prior draws in place of NUTS."""
    from channelab.app import run_experiment
    from helpers import EXPERIMENTS, mocked_sampling

    with mocked_sampling():
        return run_experiment(
            EXPERIMENTS / "expansion_pilot_adjusted.yaml", out_dir=tmp_path_factory.mktemp("adjusted")
        )


def test_adjustment_is_stated_on_page_one_and_tabled_with_and_without(adjusted_mock_run):
    analysis, pdf_path, _ = adjusted_mock_run[:3]
    pages = _pages(pdf_path)
    assert (
        "Adjusted for pre-period prior_meetings and prior_engagement, measured before assignment" in pages[0]
    )
    assert "Same estimand: each lift is still averaged over all the experiment's units" in pages[0]
    rest = " ".join(pages[1:])
    assert "Adjusted for pre-period values" in rest
    assert "Without adjustment" in rest
    assert "quantiles" in rest  # the approximation for counts is stated
    assert "Balance of the pre-period columns" in rest
    assert analysis.adjustment is not None


def test_json_carries_both_widths_per_arm_and_metric(adjusted_mock_run):
    analysis, _, json_path = adjusted_mock_run[:3]
    block = json.loads(json_path.read_text())["adjustment"]
    assert block["columns"] == ["prior_meetings", "prior_engagement"]
    assert block["methods"] == {"likes_comments": "strata", "meetings": "exact", "revenue": "exact"}
    assert set(block["strata"]) == {"prior_meetings", "prior_engagement"}
    pairs = {(e["arm"], e["metric"]) for e in block["effects"]}
    assert pairs == {(a, m.name) for a in analysis.spec.treatments for m in analysis.spec.metrics}
    for e in block["effects"]:
        for side in ("adjusted", "unadjusted"):
            lo, hi = e[side]["abs_lift"]["hdi"]
            assert e[side]["width"] == pytest.approx(hi - lo)
            assert e[side]["lift"]["hdi"][0] <= e[side]["lift"]["mean"] <= e[side]["lift"]["hdi"][1]
        assert e["width_ratio"] == pytest.approx(e["adjusted"]["width"] / e["unadjusted"]["width"])
    assert 0.3 < block["r_squared"]["meetings"] < 0.5
    assert [b["column"] for b in json.loads(json_path.read_text())["checks"]["balance"]] == block["columns"]


def test_runs_without_adjust_have_no_adjustment_block(hillstrom_mock_run):
    _, _, json_path = hillstrom_mock_run[:3]
    doc = json.loads(json_path.read_text())
    assert doc["adjustment"] is None
    assert doc["checks"]["balance"] == []


@pytest.mark.parametrize(
    ("lo", "hi", "said"),
    [
        (0.75, 0.79, "21–25 % narrower than"),
        (0.8, 0.8, "20 % narrower than"),
        (0.98, 1.015, "about as wide as"),
        (1.05, 1.10, "5–10 % wider than"),
        (0.9, 1.05, "between 5 % wider and 10 % narrower than"),
    ],
)
def test_width_change_is_said_as_measured(lo, hi, said):
    from channelab.reporting.pdf.leadership import _width_change

    assert _width_change(lo, hi) == said


def test_matched_counts_say_which_are_units_and_which_effective_sizes(mock_sampling, tmp_path):
    from channelab.app import run_experiment
    from helpers import EXPERIMENTS

    report = run_experiment(EXPERIMENTS / "matched_social_selling.yaml", out_dir=tmp_path)
    analysis, json_path = report.analysis, report.json
    doc = json.loads(json_path.read_text())
    block = doc["matching"]
    units = analysis.matching.matched.units
    controls = units.loc[~units["treated"], "weight"].to_numpy()
    assert block["controls_effective"] == pytest.approx(controls.sum() ** 2 / (controls**2).sum())
    assert block["controls_effective"] <= block["controls_used"]
    assert block["treated_effective"] <= block["treated_matched"]
    for e in doc["effects"]:  # the effects count effective units, as the matching block names them
        assert e["n_control"] == int(block["controls_effective"] + 1e-6)
        assert e["n_arm"] == int(block["treated_effective"] + 1e-6)


# ---- page 1 says what the rule and the money license, and no more --------------------------


def test_funnel_caption_states_the_verdict_rule_with_the_runs_interval_mass(hillstrom_mock_run):
    from channelab.reporting.pdf.leadership import funnel_caption
    from channelab.spec.core import Decision

    analysis, pdf_path, _ = hillstrom_mock_run[:3]
    caption = funnel_caption(analysis)
    assert "each thick bar is the 94 % interval (equal-tailed) of the lift" in caption
    assert "A bar wholly beyond the ROPE is a real lift (wholly below it, harm)" in caption
    assert "a bar wholly inside it is no effect" in caption
    assert "a bar that crosses an edge of the ROPE is inconclusive" in caption
    assert "for reference: it decides nothing" in caption
    text = " ".join(_pages(pdf_path))
    assert "A bar wholly beyond the ROPE is a real lift" in text
    assert "clear of both" not in text  # the old caption let the noise band decide
    wider = dataclasses.replace(analysis, effects=dataclasses.replace(analysis.effects, hdi_prob=0.8))
    assert "each thick bar is the 80 % interval (equal-tailed)" in funnel_caption(wider)
    spec = analysis.spec.model_copy(update={"decision": Decision(rule="probability", threshold=0.9)})
    by_probability = funnel_caption(dataclasses.replace(analysis, spec=spec))
    assert "at least 0.90 of its mass beyond the ROPE" in by_probability
    assert "wholly beyond" not in by_probability


def test_effects_table_names_interval_and_probability_honestly(hillstrom_mock_run):
    _, pdf_path, _ = hillstrom_mock_run[:3]
    rest = " ".join(_pages(pdf_path)[1:])
    assert "Lift (94 % interval)" in rest
    assert "P(arm > control)" in rest
    assert "P(lift>0)" not in rest
    assert "HDI" not in rest.split("Appendix")[0]  # lift intervals are equal-tailed


def test_effects_table_row_without_a_relative_lift_shows_the_difference():
    from channelab.reporting.pdf.effects import _effect_row
    from channelab.reporting.pdf.layout import styles
    from helpers import make_effect

    def row(**kwargs) -> list[str]:  # each cell's lines, joined by " | "
        cells = _effect_row(make_effect(**kwargs), "$", styles())
        return [c.text.replace("\xa0", " ").replace("<br/>", " | ") for c in cells]

    undefined = row(mean=0.2, relative_defined=False)
    assert undefined[5] == "<b>not defined</b> | control mean not clearly above 0"
    assert undefined[6] == "<b>+2.00 pp</b> | +1.00 pp to +3.00 pp"  # the difference and its interval
    assert row(mean=0.2)[5] == "<b>+20 %</b> | +10 % to +30 %"
    assert row(conditional=True)[2] == "outcome | <i>share: explains only</i>"


def test_an_undecided_arm_gets_an_open_badge_not_green_or_red():
    from reportlab.lib import colors

    from channelab.reporting.pdf.layout import styles, verdict_row
    from channelab.reporting.plots.style import VERDICT_COLOURS

    row = verdict_row("engagement up, outcome undecided", "text", styles(), reliable=True)
    (background,) = [c[3] for c in row._bkgrndcmds if c[0] == "BACKGROUND"]
    assert background == colors.HexColor(VERDICT_COLOURS["engagement up, outcome undecided"])
    assert background not in (colors.HexColor(VERDICT_COLOURS[v]) for v in ("real lift", "harm"))


def _money_text(analysis, best: str | None) -> str:
    """The money section of ``analysis``, with made-up economics where ``best`` (or none) is credibly best."""
    from channelab.analysis.results import ArmEconomics, Economics, Interval
    from channelab.reporting.pdf.layout import render, styles
    from channelab.reporting.pdf.leadership import _money_section

    arms = analysis.spec.treatments
    probs = dict(zip(arms, [0.3, 0.6] if best is None else [0.02, 0.96], strict=True))  # two treatments
    economics = Economics(
        currency="$",
        arms=tuple(
            ArmEconomics(
                a, 0.5, Interval(i, i - 1, i + 1), Interval(i, i - 1, i + 1), None, (), probs[a], 0.1
            )
            for i, a in enumerate(arms)
        ),
        prob_best={analysis.spec.control: 0.05, **probs},
        expected_loss=dict.fromkeys([analysis.spec.control, *arms], 0.0),
        valued=(),
        best=best,
    )
    costed = dataclasses.replace(analysis, effects=dataclasses.replace(analysis.effects, economics=economics))
    story = _money_section(costed, styles())
    return " ".join(_pages(render(story, title="t", subject="s", creator="c", footer="f")))


def test_money_section_ranks_nothing_when_no_arm_is_credibly_best(hillstrom_mock_run):
    analysis, _, _ = hillstrom_mock_run[:3]
    text = _money_text(analysis, None)
    assert text.startswith("What each arm is worth No arm is credibly best")
    arms = analysis.spec.treatments  # the likeliest is the second, but the test's order is kept
    places = [text.index(f"{a}: net value per") for a in arms]
    assert places == sorted(places)
    assert "in the test's order, not ranked" in text
    assert "credibly best only when its P(best) reaches 0.95" in text


def test_money_section_ranks_when_one_arm_is_credibly_best(hillstrom_mock_run):
    analysis, _, _ = hillstrom_mock_run[:3]
    best = analysis.spec.treatments[1]
    text = _money_text(analysis, best)
    assert text.startswith(f"What each arm is worth {best} is credibly the best choice")
    first = min(analysis.spec.treatments, key=lambda a: text.index(f"{a}: net value per"))
    assert first == best
