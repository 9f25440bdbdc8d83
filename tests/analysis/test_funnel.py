"""Funnels: metrics measured among an earlier stage, and follow-through from engagement to outcome.

The truth comes from :func:`channelab.simulate.simulate_funnel`, where the social-proof ad
raises clicks and lowers enrolments among clicks; counts are checked against pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from channelab.pipeline import analyse, validate
from channelab.simulate import daily_report, simulate_funnel
from channelab.simulate.funnel import FUNNEL_METRICS
from channelab.spec import load_spec


def funnel_spec(tmp_path, rows: pd.DataFrame, *, aggregated: bool = False, **extra):
    name = "daily.csv" if aggregated else "rows.csv"
    rows.to_csv(tmp_path / name, index=False)
    data = {"path": name, **({"layout": "aggregated", "units": "visitors"} if aggregated else {})}
    spec = {
        "name": "funnel",
        "data": data,
        "arm_column": "arm",
        "control": "Plain ad",
        "arms": {"Plain ad": {"channel": "control"}, "Social proof ad": {"channel": "social"}},
        "metrics": FUNNEL_METRICS,
        "seed": 11,
        **extra,
    }
    (tmp_path / "funnel.yaml").write_text(yaml.safe_dump(spec))
    return load_spec(tmp_path / "funnel.yaml")


def test_rows_give_trials_and_follow_through_counts_as_pandas_counts_them(tmp_path):
    rows, _ = simulate_funnel(3000, seed=1)
    cells = validate(funnel_spec(tmp_path, rows)).cells
    by_arm = rows.groupby("arm")
    arms = list(cells.arms)
    np.testing.assert_array_equal(cells.metrics["enrolled"].trials, by_arm["clicked"].sum()[arms])
    np.testing.assert_array_equal(cells.metrics["paid"].trials, by_arm["enrolled"].sum()[arms])
    pairs = {(f.engagement, f.outcome): f for f in cells.funnel}
    assert set(pairs) == {("clicked", "enrolled"), ("clicked", "paid")}
    f = pairs[("clicked", "paid")]
    clicked = rows[rows["clicked"] == 1].groupby("arm")
    unclicked = rows[rows["clicked"] == 0].groupby("arm")
    np.testing.assert_array_equal(f.engaged, clicked.size()[arms])
    np.testing.assert_array_equal(f.engaged_outcome, clicked["paid"].sum()[arms])
    np.testing.assert_array_equal(f.unengaged, unclicked.size()[arms])
    np.testing.assert_array_equal(f.unengaged_outcome, unclicked["paid"].sum()[arms])  # all zero here


def test_a_daily_report_gives_the_cells_of_its_unit_rows(tmp_path):
    rows, _ = simulate_funnel(3000, seed=2)
    a = validate(funnel_spec(tmp_path, rows)).cells
    b = validate(funnel_spec(tmp_path, daily_report(rows), aggregated=True)).cells
    np.testing.assert_array_equal(a.n, b.n)
    for name in ("clicked", "enrolled", "paid"):
        np.testing.assert_array_equal(a.metrics[name].total, b.metrics[name].total)
    for name in ("enrolled", "paid"):
        np.testing.assert_array_equal(a.metrics[name].trials, b.metrics[name].trials)
    (fa,) = [f for f in a.funnel if f.outcome == "enrolled"]
    (fb,) = b.funnel  # aggregates show only the outcome measured among the engagement metric
    np.testing.assert_array_equal(fa.engaged_outcome, fb.engaged_outcome)
    assert fb.unengaged is None


def test_a_later_stage_without_the_earlier_one_is_refused_with_its_row(tmp_path):
    from channelab.errors import DataError

    rows, _ = simulate_funnel(500, seed=3)
    i = int(np.flatnonzero(rows["clicked"] == 0)[0])
    rows.loc[i, "enrolled"] = 1
    with pytest.raises(
        DataError,
        match=rf"among 'clicked'\) is above 0 where 'clicked' is not in 1 row\(s\), e\.g\. row {i + 1}\b",
    ):
        validate(funnel_spec(tmp_path, rows))


def test_a_denominator_must_be_an_earlier_counting_metric():
    from channelab.errors import SpecError
    from channelab.spec import parse_spec

    spec = {
        "name": "funnel",
        "data": {"path": "x.csv"},
        "arm_column": "arm",
        "control": "a",
        "arms": ["a", "b"],
        "metrics": [
            {"name": "enrolled", "role": "outcome", "type": "binary", "denominator": "clicked"},
            {"name": "clicked", "role": "engagement", "type": "binary"},
        ],
    }
    with pytest.raises(
        SpecError, match=r"metrics\.0\.denominator: got 'clicked', but expected a metric listed before"
    ):
        parse_spec(spec)


def test_follow_through_falls_where_engagement_rises_and_the_verdict_names_it(tmp_path, mock_sampling):
    rows, truth = simulate_funnel(20000, seed=4)
    analysis = analyse(funnel_spec(tmp_path, rows))
    (social,) = [
        f for f in analysis.effects.follow_through if f.arm == "Social proof ad" and f.outcome == "enrolled"
    ]
    rates = truth.enrolled_given_clicked
    true_lift = rates["Social proof ad"] / rates["Plain ad"] - 1  # -25 %
    assert social.lift is not None
    assert social.lift.lower < true_lift < social.lift.upper < 0
    assert social.rate.mean == pytest.approx((1 + social.took) / (2 + social.engaged), abs=0.003)  # Beta mean
    (arm,) = analysis.effects.arms
    assert "Follow-through fell: " in arm.summary
    assert "of those with clicks went on to enrolments" in arm.summary
    labels = {e.label for e in analysis.effects.effects}
    assert {
        "enrolments among clicks",
        "enrolments per prospect",
    } <= labels  # the share and its per-unit outcome


def test_several_credible_follow_through_changes_share_one_sentence():
    from channelab.analysis.results import FollowThrough, Interval
    from channelab.analysis.wording import arm_summary

    def item(arm: str, engagement: str, lift: Interval | None) -> FollowThrough:
        rate = Interval(0.19 if lift else 0.14, 0.1, 0.3)
        return FollowThrough(
            arm, engagement, "meetings", engagement, "meetings", 100, 19, rate, None, lift, None
        )

    up = Interval(0.32, 0.18, 0.50)
    follow = [(item("A", e, up), item("C", e, None)) for e in ("likes", "replies")]
    text = arm_summary("A", "inconclusive", [], 0.94, level=0.97, follow=follow)
    assert (
        "Follow-through to meetings rose among those with likes (+32 %; 94 % interval +18 % to +50 %) "
        "and replies (+32 %; 94 % interval +18 % to +50 %)."
    ) in text
    single = arm_summary("A", "inconclusive", [], 0.94, level=0.97, follow=follow[:1])
    assert (
        "Follow-through rose: 19 % of those with likes went on to meetings, against 14 % under the control"
        in single
    )


@pytest.mark.slow
def test_the_per_unit_outcome_of_a_share_recovers_the_raw_and_the_true_rate(tmp_path):
    """Enrolments per unit, derived from the shares down the funnel (clicks × enrolments among
    clicks), agree with the raw per-unit difference and cover the simulator's true rates."""
    rows, truth = simulate_funnel(20000, seed=8)
    analysis = analyse(funnel_spec(tmp_path, rows))
    e = analysis.effects.get("Social proof ad", "enrolled_per_unit")
    raw = rows.groupby("arm")["enrolled"].mean()
    assert e.arm_mean == pytest.approx(raw["Social proof ad"])
    assert e.control_mean == pytest.approx(raw["Plain ad"])
    raw_diff = raw["Social proof ad"] - raw["Plain ad"]
    sd = (e.abs_lift.upper - e.abs_lift.lower) / (2 * 1.881)
    assert abs(e.abs_lift.mean - raw_diff) < 0.1 * sd
    true = {a: truth.clicked[a] * truth.enrolled_given_clicked[a] for a in truth.clicked}
    assert e.abs_lift.lower <= true["Social proof ad"] - true["Plain ad"] <= e.abs_lift.upper
    assert not e.conditional
    assert e.derived_from == "enrolled"
    from channelab.reporting.json_report import analysis_json

    rendered = analysis_json(analysis)  # a per-unit row names no metric of the spec: rendered all the same
    assert any(x["metric"] == "enrolled_per_unit" for x in rendered["effects"])
