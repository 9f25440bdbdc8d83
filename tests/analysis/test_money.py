"""Money and guardrails end to end, against a simulated pilot whose true rates and costs are known."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from channelab.pipeline import analyse
from channelab.simulate import Unsubscribes, simulate_outreach
from channelab.spec import load_spec

ARMS = {"Control": "control", "Phone": "phone", "In person": "in_person"}
COSTS = {"Phone": {"per_touch": 8, "touches": 3}, "In person": {"per_unit": 120}}
VALUES = {"meetings": 500.0, "revenue": 1.0, "unsubscribes": -50.0}


def run(tmp_path, unsubscribes: Unsubscribes, seed: int = 4):
    rows, truth = simulate_outreach("slacktivism", n_prospects=30_000, seed=seed, unsubscribes=unsubscribes)
    rows = rows[rows["arm"].isin(ARMS)].reset_index(drop=True)
    rows.to_csv(tmp_path / "pilot.csv", index=False)
    spec = {
        "name": "money",
        "unit": {"kind": "prospect", "id": "prospect_id"},
        "data": {"path": "pilot.csv"},
        "arm_column": "arm",
        "control": "Control",
        "arms": {a: {"channel": c, **({"cost": COSTS[a]} if a in COSTS else {})} for a, c in ARMS.items()},
        "metrics": [
            {"name": "meetings", "role": "outcome", "type": "count", "value": VALUES["meetings"]},
            {"name": "revenue", "role": "revenue", "type": "revenue"},
            {
                "name": "unsubscribes",
                "role": "guardrail",
                "type": "binary",
                "worse": "up",
                "value": VALUES["unsubscribes"],
            },
        ],
        "seed": seed,
    }
    (tmp_path / "money.yaml").write_text(yaml.safe_dump(spec))
    return analyse(load_spec(tmp_path / "money.yaml")), rows, truth


@pytest.mark.slow
def test_net_value_matches_the_raw_differences_and_the_truth_and_a_guardrail_harm_qualifies(tmp_path):
    analysis, rows, truth = run(tmp_path, Unsubscribes())
    verdicts = {a.arm: a for a in analysis.effects.arms}
    assert verdicts["Phone"].verdict == "real lift, but harms"  # meetings +20 %, opt-outs doubled
    assert verdicts["Phone"].harms == ("unsubscribes",)
    assert verdicts["In person"].verdict == "real lift"
    economics = analysis.effects.economics
    assert economics is not None
    observed = rows.groupby("arm")[list(VALUES)].mean()
    for arm, cost in (("Phone", 24.0), ("In person", 120.0)):
        e = economics.get(arm)
        sd = (e.net_per_unit.upper - e.net_per_unit.lower) / (2 * 1.881)
        raw = sum(v * (observed.loc[arm, m] - observed.loc["Control", m]) for m, v in VALUES.items()) - cost
        true = sum(v * (truth.means[arm][m] - truth.means["Control"][m]) for m, v in VALUES.items()) - cost
        assert abs(e.net_per_unit.mean - raw) < 0.1 * sd  # a randomised test: the raw differences
        assert abs(e.net_per_unit.mean - true) < 3 * sd  # and the truth within its uncertainty
        assert e.cost_per_unit == cost
    assert sum(economics.prob_best.values()) == pytest.approx(1.0)


@pytest.mark.slow
def test_without_a_guardrail_harm_a_real_lift_stays_clean(tmp_path):
    analysis, _, _ = run(tmp_path, Unsubscribes(risk={}))
    phone = next(a for a in analysis.effects.arms if a.arm == "Phone")
    assert phone.verdict == "real lift"
    assert phone.harms == ()
    guardrail = analysis.effects.get("Phone", "unsubscribes")
    assert guardrail.verdict != "harm"
    assert np.isfinite(guardrail.lift.mean)
