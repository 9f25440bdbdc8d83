"""``channelab design``: assurance against frequentist power, the JSON contract, the PDF and the CLI."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from channelab.cli import app
from channelab.design.assurance import assurance, sim_metric
from channelab.design.baselines import resolve_baselines
from channelab.design.plan import design
from channelab.design.power import plan_power
from channelab.files import json_bytes
from channelab.reporting.json_report import design_json
from channelab.reporting.pdf.design import design_pdf
from channelab.reporting.plots.design import power_curve_figure
from channelab.spec import Baseline, Metric, load_spec, parse_spec

PLAN = {
    "name": "plan",
    "title": "Phone vs social, planned",
    "data": {"path": "units.csv"},
    "arm_column": "arm",
    "control": "Control",
    "arms": {
        "Control": {"channel": "control"},
        "Phone": {"channel": "phone"},
        "Social": {"channel": "social"},
    },
    "metrics": [
        {"name": "likes", "role": "engagement", "type": "count"},
        {"name": "meetings", "label": "meetings booked", "role": "outcome", "type": "count"},
        {"name": "revenue", "role": "revenue", "type": "revenue"},
    ],
    "plan": {
        "n": 30_000,
        "target_lift": 0.2,
        "units_per_week": 2500,
        "baselines": {
            "meetings": {"mean": 0.15, "overdispersion": 0.1},
            "revenue": {"share": 0.02, "amount": 33_000},
        },
    },
}


def test_simulated_metrics_have_the_baseline_mean_and_the_lift():
    rng_lifts = {"binary": 0.3, "count": 0.2, "revenue": 0.25, "continuous": 0.1}
    baselines = {
        "binary": Baseline(mean=0.2),
        "count": Baseline(mean=0.5, overdispersion=0.3),
        "revenue": Baseline(share=0.1, amount=200.0, amount_sd_log=0.8),
        "continuous": Baseline(mean=10.0, sd=4.0),
    }
    from channelab.simulate.ab import simulate_ab

    for kind, lift in rng_lifts.items():
        role = "revenue" if kind == "revenue" else "outcome"
        sim = sim_metric(Metric(name="y", role=role, type=kind), baselines[kind], lift, ["t"])
        _, truth = simulate_ab(
            n_per_arm=10, arms=("c", "t"), metrics={"y": sim}, segment_effects=(0.0,), seed=1
        )
        expected = baselines[kind].mean or baselines[kind].share * baselines[kind].amount  # type: ignore[operator]
        assert truth.means[("c", "y")] == pytest.approx(expected)
        assert truth.lifts[("t", "y")] == pytest.approx(lift)


@pytest.mark.slow
def test_assurance_matches_frequentist_power_in_the_large_sample_normal_case():
    # A ROPE of ~0 and 95 % intervals make "real lift" the one-sided half of a two-sided 5 % test.
    spec = parse_spec(
        {
            **PLAN,
            "arms": {"Control": {}, "Phone": {}},
            "metrics": [{"name": "booked", "role": "outcome", "type": "binary", "rope": 0.001}],
            "hdi_prob": 0.95,
            "plan": {"n": 4000, "target_lift": 0.12, "baselines": {"booked": {"mean": 0.2}}},
        }
    )
    baselines = resolve_baselines(spec).values
    power = plan_power(spec, baselines).power_at("booked", [0.12, 0.0])
    result = assurance(spec, baselines, n_total=4000, lifts=[0.12, 0.0], sims=100, seed=3)
    lifted, null = result.rate("booked", 0.12), result.rate("booked", 0.0)
    se = np.sqrt(power[0] * (1 - power[0]) / 100)
    assert abs(lifted - power[0]) < 3 * se  # power 0.46: se 0.05
    assert null <= 0.06  # one-sided 2.5 % expected


def test_design_json_and_pdf_without_assurance(tmp_path):
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(PLAN))
    spec = load_spec(tmp_path / "plan.yaml")
    d = design(spec, sims=0)
    assert d.assurance is None
    assert d.seconds["frequentist"] < 1.0
    data = design_json(d)
    assert [m["metric"] for m in data["metrics"]] == ["meetings", "revenue"]  # engagement is not planned
    meetings = data["metrics"][0]
    assert meetings["sample_size"][0]["power"] == 0.8
    assert meetings["sample_size"][0]["n_total"] == d.power.metrics[0].n_total[0.8]
    assert meetings["sample_size"][0]["weeks"] == -(-meetings["sample_size"][0]["n_total"] // 2500)
    assert meetings["mde"][0]["lift"] == pytest.approx(d.power.metrics[0].mde[0.8])
    assert data["alpha_per_comparison"] == pytest.approx(0.025)
    assert json.loads(json_bytes(data))["experiment"] == "plan"
    assert json.loads(json_bytes(data))["provenance"]["seed"] == spec.seed

    from pypdf import PdfReader

    text = " ".join(PdfReader(io.BytesIO(design_pdf(d))).pages[0].extract_text().split())
    n = d.power.metrics[0].n_total[0.8]
    assert f"Meetings booked: to detect a +20 % lift with 80 % power, the test needs {n:,} units" in text
    assert "Bonferroni" in text


def test_power_curve_draws_the_planned_power():
    spec = parse_spec(PLAN)
    plan = plan_power(spec, resolve_baselines(spec).values)
    fig = power_curve_figure(plan)
    ax = fig.axes[0]
    line = next(ln for ln in ax.get_lines() if ln.get_gid() == "power:meetings")
    x, y = line.get_data()
    np.testing.assert_allclose(y, plan.power_at("meetings", x))
    mde = plan.metrics[0].mde[0.8]
    assert np.interp(mde, x, y) == pytest.approx(0.8, abs=0.01)


def test_cli_design(tmp_path):
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(PLAN))
    runner = CliRunner()
    result = runner.invoke(
        app, ["design", str(tmp_path / "plan.yaml"), "--out", str(tmp_path), "--sims", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "meetings booked at 80% power" in result.output
    assert (tmp_path / "plan.design.pdf").is_file()
    broken = {**PLAN, "plan": {**PLAN["plan"], "baselines": {"meetings": {"mean": 0.15}}}}
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(broken))
    result = runner.invoke(
        app, ["design", str(tmp_path / "plan.yaml"), "--out", str(tmp_path), "--sims", "0"]
    )
    assert result.exit_code == 2
    assert "no baseline for metric 'revenue'" in result.output
