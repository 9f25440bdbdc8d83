"""Costs from effort: per_hour × the draws of an hours metric, against closed forms and the raw data."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
import yaml

from channelab.analysis.economics import compute_economics
from channelab.cells import Cells, MetricCells
from channelab.reporting.json_report.economics import arm_economics_json
from channelab.spec import Spec, parse_spec

ARMS = ("Control", "Phone")
PER_HOUR = 60.0


def effort_spec(costs_are: str = "incremental", constant: float = 0.0, phone: dict | None = None) -> Spec:
    phone = phone or {"per_hour": PER_HOUR, "hours": "rep_hours", "per_unit": constant}
    control = {"cost": {"per_hour": PER_HOUR, "hours": "rep_hours"}} if costs_are == "total" else {}
    return parse_spec(
        {
            "name": "effort",
            "data": {"path": "rows.csv"},
            "arm_column": "arm",
            "control": "Control",
            "arms": {
                "Control": {"channel": "control", **control},
                "Phone": {"channel": "phone", "cost": phone},
            },
            "metrics": [
                {"name": "meetings", "role": "outcome", "type": "binary", "value": 500},
                {
                    "name": "rep_hours",
                    "label": "rep hours",
                    "role": "guardrail",
                    "type": "continuous",
                    "worse": "up",
                },
            ],
            "economics": {"costs_are": costs_are},
        }
    )


def cells(spec: Spec) -> Cells:
    zero = np.zeros(len(ARMS))
    return Cells(
        arms=ARMS,
        arm_idx=np.arange(len(ARMS)),
        levels={},
        level_idx={},
        n=np.array([1000.0, 1000.0]),
        metrics={m.name: MetricCells(metric=m, total=zero, sum_sq=zero) for m in spec.metrics},
    )


def draws(seed: int = 1, n: int = 4000) -> dict[str, xr.DataArray]:
    """Known population-mean draws: meetings 0.10 → 0.16, rep hours 0.5 → 2.0 per prospect."""
    rng = np.random.default_rng(seed)
    centre = {"meetings": [0.10, 0.16], "rep_hours": [0.5, 2.0]}
    spread = {"meetings": 0.01, "rep_hours": 0.05}
    return {
        name: xr.DataArray(
            rng.normal(mu, spread[name], size=(4, n // 4, 2)),
            dims=("chain", "draw", "arm"),
            coords={"arm": list(ARMS)},
        )
        for name, mu in centre.items()
    }


def _flat(means: dict[str, xr.DataArray], metric: str, arm: str) -> np.ndarray:
    return means[metric].sel(arm=arm).to_numpy().ravel()


@pytest.mark.parametrize("costs_are", ["incremental", "total"])
def test_the_cost_is_per_hour_times_the_extra_hours_draw_by_draw(costs_are):
    spec, means = effort_spec(costs_are, constant=3.0), draws()
    e = compute_economics(means, cells(spec), spec).get("Phone")
    extra = _flat(means, "rep_hours", "Phone") - _flat(means, "rep_hours", "Control")
    cost = 3.0 + PER_HOUR * extra  # incremental: the hours beyond the control's; total: arm's less control's
    value = 500 * (_flat(means, "meetings", "Phone") - _flat(means, "meetings", "Control"))
    assert e.cost_per_unit == pytest.approx(cost.mean())
    assert e.cost_per_unit == pytest.approx(3.0 + PER_HOUR * 1.5, abs=4 * PER_HOUR * 0.07 / np.sqrt(4000))
    assert e.net_per_unit.mean == pytest.approx((value - cost).mean())
    assert e.return_on_spend is not None
    assert e.return_on_spend.mean == pytest.approx(((value - cost) / cost).mean())
    assert e.cost_interval is not None
    assert e.cost_interval.lower < e.cost_per_unit < e.cost_interval.upper
    assert e.cost_interval.upper - e.cost_interval.lower == pytest.approx(
        2 * 1.881 * cost.std(), rel=0.1
    )  # random: its 94 % HDI is about ±1.88 sd of the cost draws
    assert e.effort is not None
    assert (e.effort.metric, e.effort.per_hour, e.effort.label) == ("rep_hours", PER_HOUR, "rep hours")
    assert e.effort.extra.mean == pytest.approx(extra.mean())
    assert e.effort.cost.mean == pytest.approx(PER_HOUR * extra.mean())


def test_the_cost_per_extra_meeting_comes_from_the_joint_draws_of_cost_and_increment():
    spec, means = effort_spec(), draws()
    o = compute_economics(means, cells(spec), spec).get("Phone").outcomes[0]
    extra = _flat(means, "rep_hours", "Phone") - _flat(means, "rep_hours", "Control")
    increment = _flat(means, "meetings", "Phone") - _flat(means, "meetings", "Control")
    each = PER_HOUR * extra / increment  # every increment draw is positive here (0.06 ± 0.014)
    assert increment.min() > 0
    assert o.cost_each is not None
    assert o.cost_each.mean == pytest.approx(np.median(each))
    assert o.cost_each.lower == pytest.approx(np.quantile(each, 0.03), rel=1e-3)
    assert o.cost_each.upper == pytest.approx(np.quantile(each, 0.97), rel=1e-3)
    # not the increment's interval mapped through the mean cost: the cost's own spread widens it
    mapped = PER_HOUR * extra.mean() / np.quantile(increment, [0.97, 0.03])
    assert (o.cost_each.lower, o.cost_each.upper) != pytest.approx(tuple(mapped), rel=1e-3)
    assert o.per_thousand_spent is not None
    assert o.per_thousand_spent.mean == pytest.approx((1000 * increment / (PER_HOUR * extra)).mean())


def test_an_arm_that_saves_effort_in_some_draws_gets_no_cost_per_outcome_nor_return():
    spec, means = effort_spec(), draws()
    means["rep_hours"] = means["rep_hours"].copy(
        data=np.random.default_rng(2).normal(0.5, 0.05, (4, 1000, 2))
    )
    e = compute_economics(means, cells(spec), spec).get("Phone")
    assert abs(e.cost_per_unit) < 1.0  # the same hours in both arms: no extra cost, either sign
    assert e.return_on_spend is None
    assert e.outcomes[0].cost_each is None
    assert e.outcomes[0].per_thousand_spent is None
    assert e.outcomes[0].prob_no_increment == pytest.approx(0.0, abs=1e-3)


def test_the_json_gives_the_costs_interval_and_says_it_came_from_effort():
    spec = effort_spec()
    econ = compute_economics(draws(), cells(spec), spec)
    out = arm_economics_json(econ, "Phone")
    assert out is not None
    e = econ.get("Phone")
    assert out["cost_per_unit"] == e.cost_per_unit
    assert e.cost_interval is not None
    assert out["cost_interval"] == {
        "mean": e.cost_per_unit,
        "hdi": [e.cost_interval.lower, e.cost_interval.upper],
    }
    effort = out["cost_from_effort"]
    assert effort["metric"] == "rep_hours"
    assert effort["per_hour"] == PER_HOUR
    assert effort["extra_per_unit"]["mean"] == pytest.approx(1.5, abs=0.01)
    assert effort["cost_per_unit"]["mean"] == pytest.approx(90.0, abs=0.6)


def test_a_constant_cost_keeps_a_point_interval_and_no_effort_in_the_json():
    plain = effort_spec(phone={"per_unit": 24})
    out = arm_economics_json(compute_economics(draws(), cells(plain), plain), "Phone")
    assert out is not None
    assert out["cost_per_unit"] == 24.0
    assert out["cost_interval"] == {"mean": 24.0, "hdi": [24.0, 24.0]}
    assert out["cost_from_effort"] is None


def test_the_report_says_the_cost_came_from_the_rep_hours_actually_spent():
    from channelab.analysis.wording import money, money_sentence

    spec = effort_spec()
    econ = compute_economics(draws(), cells(spec), spec)
    e = econ.get("Phone")
    assert e.effort is not None
    cost = e.effort.cost
    text = money_sentence(e, econ, "prospect", 0.94)
    assert (
        f"(cost from rep hours actually spent: {money(cost.mean, '$')} per prospect, 94 % interval "
        f"{money(cost.lower, '$')} to {money(cost.upper, '$')}: +1.50 rep hours per prospect against the "
        "control's, at $60 each)"
    ) in text
    plain = effort_spec(phone={"per_unit": 24})
    econ = compute_economics(draws(), cells(plain), plain)
    assert "actually spent" not in money_sentence(econ.get("Phone"), econ, "prospect", 0.94)


@pytest.mark.slow
def test_end_to_end_the_cost_per_meeting_is_per_hour_times_the_raw_extra_hours_over_the_extra_meetings(
    tmp_path,
):
    from channelab.pipeline import analyse
    from channelab.reporting.json_report import analysis_json
    from channelab.simulate.ab import SimMetric, simulate_ab
    from channelab.spec import load_spec
    from helpers import spec_dict

    # control 0.5 rep hours per prospect, phone 2.0; meetings 10 % → about 16 %
    metrics = {
        "meetings": SimMetric("binary", 0.10, {"phone": 0.54}),
        "rep_hours": SimMetric("continuous", 0.5, {"phone": 1.5}, sigma=0.4),
    }
    rows, _ = simulate_ab(
        n_per_arm=4000, arms=("control", "phone"), metrics=metrics, segment_effects=(0.0, 0.0, 0.0), seed=11
    )
    rows.to_csv(tmp_path / "rows.csv", index=False)
    spec = spec_dict(
        "rows.csv",
        [
            {"name": "meetings", "role": "outcome", "type": "binary"},
            {
                "name": "rep_hours",
                "label": "rep hours",
                "role": "guardrail",
                "type": "continuous",
                "worse": "up",
            },
        ],
        arms={
            "control": {"channel": "control"},
            "phone": {"channel": "phone", "cost": {"per_hour": PER_HOUR, "hours": "rep_hours"}},
        },
        covariates=[],
        sampler={"draws": 500, "tune": 500, "chains": 4, "backend": "pymc"},
    )
    (tmp_path / "effort.yaml").write_text(yaml.safe_dump(spec))
    analysis = analyse(load_spec(tmp_path / "effort.yaml"))
    raw = rows.groupby("arm")[["meetings", "rep_hours"]].mean().to_dict()
    dh = float(raw["rep_hours"]["phone"] - raw["rep_hours"]["control"])
    dp = float(raw["meetings"]["phone"] - raw["meetings"]["control"])
    economics = analysis.effects.economics
    assert economics is not None
    e = economics.get("phone")
    assert e.cost_interval is not None
    assert e.effort is not None
    sd_cost = (e.cost_interval.upper - e.cost_interval.lower) / (2 * 1.881)  # 94 % HDI ≈ ±1.881 sd
    draws_total = 500 * 4  # at least: a refit only adds draws
    # the posterior mean of a randomised test's mean difference is the raw one (flat-ish priors,
    # no covariates), up to Monte Carlo error: sd / √ESS, taken at ESS ≥ draws / 4, four times over
    mc = 4 * sd_cost / np.sqrt(draws_total / 4)
    assert abs(e.cost_per_unit - PER_HOUR * dh) < mc, (e.cost_per_unit, PER_HOUR * dh, mc)
    each = e.outcomes[0].cost_each
    assert each is not None
    sd_each = (each.upper - each.lower) / (2 * 1.881)
    closed = PER_HOUR * dh / dp
    # the median of cost / increment against the plug-in ratio of raw means: Monte Carlo error of
    # a median (1.25 sd / √ESS) plus the ratio's curvature (second order in the increment's CV)
    assert abs(each.mean - closed) < 4 * 1.25 * sd_each / np.sqrt(draws_total / 4) + 0.1 * sd_each, (
        each.mean,
        closed,
        sd_each,
    )
    arm = next(a for a in analysis_json(analysis)["arms"] if a["arm"] == "phone")
    assert arm["economics"]["cost_from_effort"]["metric"] == "rep_hours"
    assert arm["economics"]["cost_from_effort"]["per_hour"] == PER_HOUR
    assert (
        arm["economics"]["cost_interval"]["hdi"][0]
        < PER_HOUR * dh
        < arm["economics"]["cost_interval"]["hdi"][1]
    )
