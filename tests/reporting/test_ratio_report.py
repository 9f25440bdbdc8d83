"""A spec with a ratio metric runs end to end: PDF, HTML and JSON, the ratio said as "X per Y", never priced.

Real sampling (a small sampler): prior draws would put the denominator's mean near zero, which
the sparse-denominator check rightly refuses.
"""

from __future__ import annotations

import json

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
    assert any(f"from {v:,.0f} to" in arm["summary"] for v in [effect["control_mean"]])


@pytest.mark.slow
def test_a_ratio_is_never_priced_nor_decides(ratio_run):
    report, _ = ratio_run
    effects = report.analysis.effects
    assert effects.economics is not None
    assert effects.economics.valued == ("meeting",)  # revenue per meeting is not money per unit
    from channelab.analysis.decisions import deciding

    assert [e.metric for e in deciding(list(effects.effects))] == ["meeting"]
