"""Economics from the joint draws: closed forms on known draws, guardrail verdicts, the ranking."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from channelab.analysis.decisions import arm_verdict, guardrail_verdict
from channelab.analysis.economics import compute_economics
from channelab.cells import Cells, MetricCells
from channelab.spec import Spec, parse_spec

ARMS = ("Control", "Phone", "Social")
UNITS = {"Control": 1000.0, "Phone": 1000.0, "Social": 2000.0}


def money_spec(**economics) -> Spec:
    return parse_spec(
        {
            "name": "money",
            "data": {"path": "rows.csv"},
            "arm_column": "arm",
            "control": "Control",
            "arms": {
                "Control": {"channel": "control", **({"cost": {"per_unit": 2}} if economics else {})},
                "Phone": {"channel": "phone", "cost": {"per_touch": 8, "touches": 3}},
                "Social": {"channel": "social", "cost": {"per_unit": 5, "fixed": 10_000}},
            },
            "metrics": [
                {"name": "meetings", "role": "outcome", "type": "count", "value": 500},
                {"name": "revenue", "role": "revenue", "type": "revenue"},
                {"name": "unsubscribes", "role": "guardrail", "type": "binary", "worse": "up", "value": -50},
            ],
            **({"economics": economics} if economics else {}),
        }
    )


def cells(spec: Spec) -> Cells:
    zero = np.zeros(len(ARMS))
    return Cells(
        arms=ARMS,
        arm_idx=np.arange(len(ARMS)),
        levels={},
        level_idx={},
        n=np.array([UNITS[a] for a in ARMS]),
        metrics={m.name: MetricCells(metric=m, total=zero, sum_sq=zero) for m in spec.metrics},
    )


def draws(seed: int = 0, n: int = 4000) -> dict[str, xr.DataArray]:
    """Known population-mean draws (chain, draw, arm) per metric."""
    rng = np.random.default_rng(seed)
    centre = {
        "meetings": [0.15, 0.18, 0.151],
        "revenue": [700.0, 760.0, 690.0],
        "unsubscribes": [0.02, 0.04, 0.02],
    }
    spread = {"meetings": 0.006, "revenue": 60.0, "unsubscribes": 0.002}
    out = {}
    for name, mu in centre.items():
        values = rng.normal(mu, spread[name], size=(4, n // 4, len(ARMS)))
        out[name] = xr.DataArray(values, dims=("chain", "draw", "arm"), coords={"arm": list(ARMS)})
    return out


def test_net_value_is_value_of_increments_minus_cost_draw_by_draw():
    spec, means = money_spec(), draws()
    econ = compute_economics(means, cells(spec), spec)

    def d(metric: str, arm: str) -> np.ndarray:
        return means[metric].sel(arm=arm).to_numpy().ravel()

    for arm, cost in (("Phone", 24.0), ("Social", 5.0 + 10_000 / 2000)):
        value = sum(
            v * (d(m, arm) - d(m, "Control"))
            for m, v in (("meetings", 500), ("revenue", 1), ("unsubscribes", -50))
        )
        e = econ.get(arm)
        assert e.cost_per_unit == pytest.approx(cost)
        assert e.value_per_unit.mean == pytest.approx(value.mean())
        assert e.net_per_unit.mean == pytest.approx((value - cost).mean())
        assert e.return_on_spend is not None
        assert e.return_on_spend.mean == pytest.approx(((value - cost) / cost).mean())
    nets = np.stack(
        [np.zeros(4000)]
        + [
            sum(
                v * (d(m, a) - d(m, "Control"))
                for m, v in (("meetings", 500), ("revenue", 1), ("unsubscribes", -50))
            )
            - c
            for a, c in (("Phone", 24.0), ("Social", 10.0))
        ]
    )
    best = np.bincount(nets.argmax(axis=0), minlength=3) / 4000
    assert [econ.prob_best[a] for a in ARMS] == pytest.approx(best)
    assert sum(econ.prob_best.values()) == pytest.approx(1.0)
    for i, a in enumerate(ARMS):
        assert econ.expected_loss[a] == pytest.approx(np.mean(nets.max(axis=0) - nets[i]))


def test_cost_per_extra_outcome_is_defined_only_where_the_increment_is_credibly_positive():
    spec, means = money_spec(), draws()
    econ = compute_economics(means, cells(spec), spec)
    phone = econ.get("Phone").outcomes[0]
    increment = (means["meetings"].sel(arm="Phone") - means["meetings"].sel(arm="Control")).to_numpy().ravel()
    low, high = np.quantile(increment, [0.03, 0.97])
    assert phone.cost_each is not None
    assert phone.cost_each.lower == pytest.approx(24.0 / high)
    assert phone.cost_each.upper == pytest.approx(24.0 / low)
    assert phone.cost_each.mean == pytest.approx(24.0 / np.median(increment))
    assert phone.per_thousand.mean == pytest.approx(1000 * increment.mean())
    social = econ.get("Social").outcomes[0]  # +0.001 ± 0.008: no credible increment
    assert social.cost_each is None
    assert 0.2 < social.prob_no_increment < 0.8
    assert social.per_thousand_spent is not None  # always defined: extra outcomes per 1,000 spent


def test_total_costs_are_taken_against_the_controls_and_fixed_costs_spread_over_the_rollout():
    spec = money_spec(costs_are="total", units=50_000)
    econ = compute_economics(draws(), cells(spec), spec)
    assert econ.get("Phone").cost_per_unit == pytest.approx(24.0 - 2.0)
    assert econ.get("Social").cost_per_unit == pytest.approx(5.0 + 10_000 / 50_000 - 2.0)


class _E:
    def __init__(self, role: str, verdict: str, label: str = "m") -> None:
        self.role, self.verdict, self.label = role, verdict, label
        self.conditional, self.no_events, self.prob_above_rope = False, (), float(verdict == "real lift")


@pytest.mark.parametrize(
    ("guardrail", "verdict"),
    [("harm", "real lift, but harms"), ("inconclusive", "real lift"), ("no effect", "real lift")],
)
def test_a_guardrail_harm_qualifies_a_real_lift(guardrail, verdict):
    effects = [_E("outcome", "real lift"), _E("guardrail", guardrail, "unsubscribes")]
    assert arm_verdict(effects, level=0.97) == verdict


def test_a_guardrail_is_read_in_its_better_direction():
    assert guardrail_verdict("real lift", "up") == "harm"  # unsubscribes rose
    assert guardrail_verdict("harm", "up") == "real lift"
    assert guardrail_verdict("harm", "down") == "harm"  # retention fell
    assert guardrail_verdict("inconclusive", "up") == "inconclusive"
