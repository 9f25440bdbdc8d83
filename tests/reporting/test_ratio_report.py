"""A spec with a ratio and a quantile metric runs end to end: PDF, HTML and JSON, never priced or deciding.

Real sampling (a small sampler): prior draws would put the denominator's mean near zero, which
the sparse-denominator check rightly refuses.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers import spec_dict


@pytest.fixture(scope="module")
def ratio_run(tmp_path_factory):
    from channelab.app import run_experiment

    out = tmp_path_factory.mktemp("ratio_run")
    rng = np.random.default_rng(8)
    n = 1200
    arm = rng.choice(["control", "treatment"], n)
    meetings = rng.poisson(np.where(arm == "treatment", 1.3, 1.0))
    rows = pd.DataFrame(
        {
            "unit_id": np.arange(n),
            "arm": arm,
            "segment": rng.choice(["a", "b"], n),
            "meeting": (meetings > 0).astype(int),
            "meetings": meetings,
            "revenue": np.round(rng.gamma(2.0 * meetings, 1000.0), 2),
        }
    )
    rows.to_csv(out / "rows.csv", index=False)
    metrics = [
        {"name": "meeting", "role": "outcome", "type": "binary", "value": 500},
        {
            "name": "revenue_per_meeting",
            "label": "revenue per meeting",
            "role": "revenue",
            "type": "ratio",
            "numerator": "revenue",
            "denominator": "meetings",
        },
        {
            "name": "median_deal",
            "label": "median deal",
            "role": "revenue",
            "type": "quantile",
            "column": "revenue",
            "q": 0.5,
            "among": "positive",
        },
    ]
    arms = {"control": {"channel": "control"}, "treatment": {"channel": "email", "cost": {"per_unit": 1}}}
    body = spec_dict(
        "rows.csv", metrics, arms=arms, sampler={"draws": 200, "tune": 200, "chains": 2, "backend": "nutpie"}
    )
    (out / "ratio.yaml").write_text(yaml.safe_dump(body))
    return run_experiment(out / "ratio.yaml", out_dir=out / "report"), rows


@pytest.mark.slow
def test_the_reports_render_and_the_json_carries_the_ratio_and_its_sums(ratio_run):
    report, rows = ratio_run
    assert report.pdf.stat().st_size > 0
    assert report.html.read_text(encoding="utf-8").count("revenue per meeting") > 0
    out = json.loads(report.json.read_text())
    (effect,) = [e for e in out["effects"] if e["metric"] == "revenue_per_meeting"]
    assert effect["type"] == "ratio"
    assert effect["conditional"] is True  # it describes; it never decides
    assert (effect["numerator"], effect["denominator"]) == ("revenue", "meetings")
    sums = rows.groupby("arm")[["revenue", "meetings"]].sum()
    for arm in ("control", "treatment"):
        assert effect["sums"][arm]["numerator"] == pytest.approx(sums.loc[arm, "revenue"])
        assert effect["sums"][arm]["denominator"] == pytest.approx(sums.loc[arm, "meetings"])
    assert effect["arm_mean"] == pytest.approx(
        sums.loc["treatment", "revenue"] / sums.loc["treatment", "meetings"]
    )
    (arm,) = out["arms"]
    assert "revenue per meeting " in arm["summary"]
    # money once the summary is given the spec's currency (a ratio of role revenue), else plain
    assert re.search(rf"\$?{effect['control_mean']:,.0f}", arm["summary"])


@pytest.mark.slow
def test_a_quantiles_json_gives_its_level_and_the_arms_raw_quantiles(ratio_run):
    report, rows = ratio_run
    out = json.loads(report.json.read_text())
    (effect,) = [e for e in out["effects"] if e["metric"] == "median_deal"]
    assert (effect["type"], effect["q"], effect["among"], effect["column"]) == (
        "quantile",
        0.5,
        "positive",
        "revenue",
    )
    assert effect["conditional"] is True
    deals = rows[rows["revenue"] > 0]
    for arm, key in (("control", "control_mean"), ("treatment", "arm_mean")):
        raw = np.quantile(deals.loc[deals["arm"] == arm, "revenue"], 0.5, method="inverted_cdf")
        assert effect[key] == pytest.approx(raw)
    assert effect["n_arm"] == int((deals["arm"] == "treatment").sum())
    assert "median deal " in out["arms"][0]["summary"]


@pytest.mark.slow
def test_a_ratio_is_never_priced_nor_decides(ratio_run):
    report, _ = ratio_run
    effects = report.analysis.effects
    assert effects.economics is not None
    assert effects.economics.valued == (
        "meeting",
    )  # revenue per meeting, the median deal: not money per unit
    from channelab.analysis.decisions import deciding

    assert [e.metric for e in deciding(list(effects.effects))] == ["meeting"]


def _ratio(**changes):
    """A ratio effect of revenue per meeting: 1,961.4 under control, 1,979.2 in the arm (+0.9 %)."""
    from dataclasses import replace

    from channelab.analysis.results import Interval
    from helpers import make_effect

    base = make_effect(
        metric="rpm", label="revenue per meeting", role="revenue", mean=0.009, conditional=True
    )
    fields = {
        "type": "ratio",
        "control_mean": 1961.4,
        "arm_mean": 1979.2,
        "abs_lift": Interval(17.8, -130.4, 169.0),
        **changes,
    }
    return replace(base, **fields)


def test_a_ratio_of_money_is_said_in_the_currency_and_another_ratio_in_plain_numbers():
    from channelab.analysis.descriptive_wording import descriptive_sentence

    said = descriptive_sentence([_ratio()], 0.94, "€")
    assert (
        "revenue per meeting was €1,961 under the control and €1,979 here: neither beyond nor within "
        "the ROPE (+0.9 %; 94 % interval −9.1 % to +11 %)"
    ) in said  # inconclusive: no verb
    assert "was 1,961 under the control and 1,979 here" in descriptive_sentence([_ratio()], 0.94)  # plain
    hours = _ratio(
        label="meetings per rep-hour", role="outcome", control_mean=0.412, arm_mean=0.455, verdict="real lift"
    )
    assert "meetings per rep-hour rose from 0.412 to 0.455" in descriptive_sentence([hours], 0.94, "€")
    undefined = descriptive_sentence([_ratio(relative_defined=False)], 0.94, "€")
    assert "(+€18; 94 % interval −€130 to +€169)" in undefined  # the difference, as money


def test_a_ratio_or_quantile_says_rose_fell_or_stayed_only_where_its_verdict_licenses_it():
    """The verb is the claim: rose/fell beyond the ROPE, stayed within it, else the levels as they are."""
    from channelab.analysis.descriptive_wording import descriptive_sentence
    from channelab.analysis.results import Interval

    down = Interval(-180.0, -300.0, -60.0)
    fell = descriptive_sentence([_ratio(verdict="harm", arm_mean=1781.0, abs_lift=down)], 0.94, "€")
    assert "revenue per meeting fell from €1,961 to €1,781" in fell
    held = descriptive_sentence([_ratio(verdict="no effect")], 0.94, "€")
    assert "revenue per meeting stayed within the ROPE (€1,961 under the control, €1,979 here;" in held
    median = _ratio(type="quantile", label="median deal size", verdict="real lift")
    said = descriptive_sentence([median, _ratio()], 0.94, "€")
    assert said.startswith(" Ratios and quantiles, which describe but do not decide")
    assert "median deal size rose from €1,961 to €1,979" in said


def test_the_effects_table_reads_a_ratio_as_money_per_meeting_that_describes_only():
    from channelab.reporting.pdf.effects import _effect_row
    from channelab.reporting.pdf.layout import styles

    cells = [
        c.text.replace("\xa0", " ").replace("<br/>", " | ") for c in _effect_row(_ratio(), "€", styles())
    ]
    assert cells[2] == "revenue | <i>ratio: describes only</i>"  # not "share: explains only"
    assert cells[3:5] == ["€1,961", "€1,979"]  # never 1.96e+03
    assert cells[6] == "<b>+€18</b> | –€130 to +€169"  # esc() writes the minus as the fonts draw it


def test_the_plots_say_a_ratio_describes_and_word_its_move_as_a_ratio():
    from dataclasses import replace

    import numpy as np

    from channelab.analysis.results import ArmResult, Effects
    from channelab.reporting.plots.effects import funnel_figure
    from channelab.reporting.plots.style import EXPLAINS

    ratio = _ratio(arm="arm")
    effects = Effects(
        hdi_prob=0.94,
        effects=(ratio,),
        arms=(ArmResult(arm="arm", channel="email", verdict="inconclusive", summary=""),),
        lift_draws={("arm", "rpm"): np.random.default_rng(1).normal(0.009, 0.05, 500)},
    )
    fig = funnel_figure(effects)
    texts = {t.get_gid(): t for ax in fig.axes for t in ax.texts if t.get_gid()}
    assert texts["verdict:arm:rpm"].get_text() == "ratio unsettled (+0.9 %)"
    assert texts["verdict:arm:rpm"].get_color() == EXPLAINS
    assert [t.get_text() for t in fig.axes[0].get_yticklabels(minor=True)] == [
        "REVENUE · RATIO, DESCRIBES ONLY"
    ]
    fell = funnel_figure(replace(effects, effects=(replace(ratio, verdict="harm"),)))
    assert any(t.get_text().startswith("ratio fell") for ax in fell.axes for t in ax.texts)
