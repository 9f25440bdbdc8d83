"""Decision rules on hand-made posteriors, where the right verdict is known."""

from __future__ import annotations

import dataclasses
import math

import arviz_stats as azs
import numpy as np
import pytest
from scipy import stats

from channelab.analysis.claims import UnlicensedClaim
from channelab.analysis.decisions import (
    arm_verdict,
    interval_verdict,
    metric_verdict,
    more_data_factor,
    rope_probabilities,
    without_events_verdict,
    zero_event_bound,
)
from channelab.analysis.intervals import noise_band, relative_defined, relative_interval
from channelab.analysis.results import Interval
from channelab.analysis.wording import amount, arm_summary, pct, times
from channelab.spec import Decision
from helpers import make_effect

ROPE = (-0.05, 0.05)
HDI_ROPE, PROB = Decision(rule="hdi_rope"), Decision(rule="probability", threshold=0.95)


LEVEL = 0.97  # a one-sided claim under the 94 % interval rule


@pytest.mark.parametrize(
    ("above", "below", "expected"),
    [
        (0.99, 0.0, "real lift"),
        (0.0, 0.99, "harm"),
        (0.01, 0.02, "no effect"),  # both tails inside the ROPE: the interval is within it
        (0.02, 0.04, "inconclusive"),  # the lower tail reaches past the ROPE's edge
        (0.60, 0.0, "inconclusive"),
    ],
)
def test_hdi_rope_rule(above, below, expected):
    assert metric_verdict(above, below, LEVEL, HDI_ROPE) == expected


def test_probability_rule_counts_mass_beyond_rope():
    assert metric_verdict(0.96, 0.0, 0.95, PROB) == "real lift"
    assert metric_verdict(0.90, 0.0, 0.95, PROB) == "inconclusive"
    assert metric_verdict(0.02, 0.02, 0.95, PROB) == "no effect"


@pytest.mark.parametrize("seed", range(40))
def test_the_verdict_is_the_drawn_interval_against_the_rope(seed):
    """Decided on the difference, the verdict equals the equal-tailed interval of the relative lift
    against the relative ROPE: what the figure draws is what decides."""
    rng = np.random.default_rng(seed)
    c = rng.gamma(rng.uniform(20, 400), 1.0, 8000)
    t = c * np.exp(rng.normal(rng.normal(0, 0.1), rng.uniform(0.01, 0.08), 8000))
    above, below = rope_probabilities(t - c, c, ROPE)
    iv = relative_interval(t, c, 0.94)
    assert metric_verdict(above, below, LEVEL, HDI_ROPE) == interval_verdict(iv.lower, iv.upper, ROPE)
    assert np.mean(t > c) == pytest.approx(np.mean(t / c - 1 > 0))


def test_p_positive_is_of_the_difference_when_the_control_can_be_negative():
    """A change score whose control mean straddles 0: the ratio's sign flips with the control's,
    so P(lift > 0) is not P(arm > control); the decision reads the difference."""
    rng = np.random.default_rng(3)
    c = rng.normal(0.02, 0.1, 40_000)
    t = rng.normal(0.32, 0.1, 40_000)
    exact = 1 - stats.norm.cdf(0, 0.30, np.hypot(0.1, 0.1))  # P(t − c > 0), closed form
    assert np.mean(t - c > 0) == pytest.approx(exact, abs=0.005)
    assert abs(np.mean(t / c - 1 > 0) - exact) > 0.2  # what reading the ratio gave
    assert not relative_defined(c, t, 0.94, non_negative=False)
    above, below = rope_probabilities(t - c, c, ROPE)
    assert metric_verdict(above, below, LEVEL, HDI_ROPE) == "real lift"


@pytest.mark.parametrize("seed", range(20))
def test_noise_band_contains_zero_on_sparse_revenue(seed):
    """Heavy right tails and draws at or below zero (a normal model of sparse revenue's means)."""
    rng = np.random.default_rng(seed)
    control = rng.normal(1.0, rng.uniform(0.1, 0.6), 4000)
    treated = control * 0 + rng.lognormal(0.0, rng.uniform(0.5, 2.5), 4000) * rng.choice([1.0, -0.3], 4000)
    lo, hi = noise_band(treated - control, 0.94, ratio=False)
    assert lo <= 0 <= hi
    if relative_defined(control, treated, 0.94, non_negative=False):
        lo, hi = noise_band(treated / control, 0.94, ratio=True)
        assert lo <= 0 <= hi
    heavy = rng.lognormal(0.0, 3.0, 4000)  # a mean far out in the tail
    lo, hi = noise_band(heavy, 0.94, ratio=True)
    assert lo <= 0 <= hi


def test_more_data_factor_follows_root_n():
    # estimate 0.10, half-width 0.10: to clear the ROPE edge 0.05 the half-width must halve -> 4x data
    assert more_data_factor(0.10, (0.0, 0.20), ROPE) == pytest.approx(4.0)
    # inside the ROPE: the interval must shrink to fit between the edges
    assert more_data_factor(0.0, (-0.10, 0.10), ROPE) == pytest.approx(4.0)
    assert math.isinf(more_data_factor(0.05, (0.0, 0.10), ROPE))


def _effect(metric: str, role: str, verdict: str, mean: float = 0.2, **fields):
    e = make_effect(arm="Social", metric=metric, role=role, verdict=verdict, mean=mean, rope=ROPE)
    return dataclasses.replace(e, **fields)


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        # the outcome merely undecided: engagement up is not "engagement only"
        ({"likes": "real lift", "meetings": "inconclusive"}, "engagement up, outcome undecided"),
        ({"likes": "real lift", "meetings": "no effect"}, "engagement only"),
        ({"likes": "real lift", "meetings": "real lift"}, "real lift"),
        ({"likes": "no effect", "meetings": "real lift"}, "real lift"),
        ({"likes": "real lift", "meetings": "harm"}, "harm"),
        ({"likes": "no effect", "meetings": "no effect"}, "no effect"),
        ({"likes": "inconclusive", "meetings": "inconclusive"}, "inconclusive"),
        ({"likes": "real lift", "meetings": "real lift", "revenue": "harm"}, "inconclusive"),
    ],
)
def test_arm_verdict_reads_the_funnel(verdicts, expected):
    roles = {"likes": "engagement", "meetings": "outcome", "revenue": "revenue"}
    means = {"real lift": 0.2, "harm": -0.2, "no effect": 0.0, "inconclusive": 0.2}
    effects = [_effect(m, roles[m], v, means[v]) for m, v in verdicts.items()]
    assert arm_verdict(effects, LEVEL) == expected


def test_engagement_only_needs_the_outcome_credibly_not_up():
    likes = _effect("likes", "engagement", "real lift", 0.3)
    below = _effect("meetings", "outcome", "inconclusive", -0.2, prob_above_rope=0.0, prob_below_rope=0.6)
    assert arm_verdict([likes, below], LEVEL) == "engagement only"  # credibly not up, though not settled
    edge = dataclasses.replace(below, prob_above_rope=0.05)
    assert arm_verdict([likes, edge], LEVEL) == "engagement up, outcome undecided"


def test_a_conditional_share_never_decides_an_arm():
    share = _effect("enrolled", "outcome", "harm", -0.28, conditional=True)
    per_unit = _effect(
        "enrolled_per_unit", "outcome", "inconclusive", 0.0, prob_above_rope=0.2, prob_positive=0.5
    )
    assert arm_verdict([share, per_unit], LEVEL) == "inconclusive"
    text = arm_summary("Ad", "inconclusive", [share, per_unit], 0.94, level=LEVEL)
    assert text.startswith("Ad left enrolled_per_unit unsettled")
    assert "As a share of an earlier stage, enrolled fell" in text
    assert "not an effect on the same people" in text


def test_engagement_only_summary_warns_against_reading_likes_as_results():
    effects = [
        _effect("likes", "engagement", "real lift", 1.5),
        _effect("meetings", "outcome", "no effect", 0.01, prob_above_rope=0.0, prob_in_rope=0.99),
    ]
    text = arm_summary("Social", "engagement only", effects, 0.94, level=LEVEL)
    assert "raised likes by 150 %" in text
    assert "left meetings practically unchanged" in text
    assert "did not turn into the costly step" in text


def test_an_undecided_outcome_is_not_called_engagement_only():
    effects = [
        _effect("likes", "engagement", "real lift", 1.5),
        _effect("meetings", "outcome", "inconclusive"),
    ]
    text = arm_summary("Social", "engagement up, outcome undecided", effects, 0.94, level=LEVEL)
    assert "whether that turned into the costly step is not settled" in text
    assert "did not turn into" not in text
    with pytest.raises(UnlicensedClaim, match="engagement only"):
        arm_summary("Social", "engagement only", effects, 0.94, level=LEVEL)


def test_a_relative_lift_that_is_not_defined_is_said_as_a_difference():
    e = _effect("y", "outcome", "real lift", 37.2, relative_defined=False, prob_positive=1.0)
    e = dataclasses.replace(e, abs_lift=Interval(0.30, 0.08, 0.52))
    text = arm_summary("T", "real lift", [e], 0.94, level=LEVEL)
    assert "raised y by 0.3 (94 % interval +0.08 to +0.52; no relative lift" in text
    assert "3,720" not in text


def test_inconclusive_summary_says_how_much_more_data():
    effects = [_effect("meetings", "outcome", "inconclusive", 0.1)]
    text = arm_summary("Phone", "inconclusive", effects, 0.94, level=LEVEL)
    assert "2× the current sample" in text
    assert "1,000 more units per arm" in text


def test_a_small_increase_of_data_is_said_as_a_percentage_never_as_1_0_times():
    e = dataclasses.replace(_effect("meetings", "outcome", "inconclusive", 0.1), more_data_factor=1.049)
    text = arm_summary("Phone", "inconclusive", [e], 0.94, level=LEVEL)
    assert "about 4.9 % more data than now (roughly 49 more units per arm)" in text
    assert "1.0×" not in text
    assert "1×" not in text


@pytest.mark.parametrize(
    ("factor", "words"),
    [
        (1.05, "1.05×"),
        (1.5, "1.5×"),
        (2.0, "2×"),
        (2.74, "2.7×"),
        (9.96, "10×"),
        (15.7, "16×"),
        (1234.0, "1,234×"),
    ],
)
def test_factor_formatter_reads_right(factor, words):
    assert times(factor) == words


@pytest.mark.parametrize(
    ("x", "words"), [(-1261.3, "−1,260"), (372.2, "+372"), (12345.0, "+12,300"), (0.302, "+0.302")]
)
def test_amounts_never_use_scientific_notation(x, words):
    assert amount(x) == words


def test_flat_engagement_metrics_are_listed_with_or_so_labels_with_and_stay_whole():
    effects = [
        _effect("meetings", "outcome", "real lift", 0.3),
        _effect("prospects who replied", "engagement", "inconclusive"),
        _effect("likes and comments", "engagement", "inconclusive"),
    ]
    text = arm_summary("Phone", "real lift", effects, 0.94, level=LEVEL)
    assert "did not credibly move prospects who replied or likes and comments." in text


def test_pct_formatting():
    assert pct(1.19) == "119 %"
    assert pct(0.034) == "3.4 %"
    assert pct(-0.25, sign=True) == "−25 %"


def test_no_direction_is_claimed_inside_the_rope():
    """The interval is below zero but overlaps the ROPE: the ROPE calls such changes practically
    zero, so no sign is claimed; the interval is stated and the size question left open."""
    e = make_effect(label="7-day retention", mean=-0.043, half_width=0.0265, rope=(-0.05, 0.05))
    e = dataclasses.replace(e, lift=dataclasses.replace(e.lift, lower=-0.069, upper=-0.016))
    e = dataclasses.replace(e, prob_positive=0.005, prob_in_rope=0.9)
    text = arm_summary("New onboarding", "inconclusive", [e], 0.94, level=LEVEL)
    assert (
        "left 7-day retention unsettled (−4.3 %; 94 % interval −6.9 % to −1.6 %): neither beyond nor "
        "within the 5.0 % that matters" in text
    )
    assert "credible" not in text
    assert "lowered" not in text
    # if the estimate (-4.3 %) holds, more data settle that the drop is too small to matter
    assert (
        "would settle whether the change in 7-day retention is within the 5.0 % too small to matter" in text
    )


@pytest.mark.parametrize("seed", range(5))
def test_relative_and_absolute_intervals_agree_about_zero_on_a_skewed_ratio(seed):
    """A control rate near zero skews the ratio; the relative interval must not straddle zero
    when the difference's excludes it (the raw-scale HDI did: -7.7 % to +304 %)."""
    rng = np.random.default_rng(seed)
    control = rng.beta(3, 600, 8000)  # about 0.5 %, a few events
    treated = rng.beta(14, 600, 8000)  # about 2.3 %
    lift, diff = treated / control - 1, treated - control
    lo, _ = azs.hdi(diff, prob=0.94)
    rel = relative_interval(treated, control, 0.94)
    assert lo > 0
    assert rel.lower > 0
    raw_lo, _ = azs.hdi(lift, prob=0.94)
    assert rel.lower > raw_lo  # the raw-scale HDI reaches further down the long tail's other side
    assert rel.mean == pytest.approx(diff.mean() / control.mean())  # the difference over the control level


def test_a_verdict_the_posterior_does_not_license_is_not_written():
    """The sentence generator checks the posterior condition, not only the verdict's label."""
    e = _effect("meetings", "outcome", "real lift", 0.2, prob_above_rope=0.6)
    with pytest.raises(UnlicensedClaim, match="'real lift' about Social, meetings"):
        arm_summary("Social", "real lift", [e], 0.94, level=LEVEL)


def test_a_relative_interval_never_reaches_below_minus_100_percent_for_a_non_negative_metric():
    """A normal model of a few units' revenue can put a treated mean below zero: no ratio then."""
    rng = np.random.default_rng(5)
    control = rng.normal(10.0, 0.5, 8000)
    treated = rng.normal(3.0, 4.0, 8000)  # 23 % of draws below zero: a lift below −100 %
    assert relative_interval(treated, control, 0.94).lower < -1
    assert not relative_defined(control, treated, 0.94, non_negative=True)
    assert relative_defined(control, treated, 0.94, non_negative=False)  # a change score may
    assert relative_defined(control, np.abs(treated), 0.94, non_negative=True)


@pytest.mark.parametrize("n", [1, 3, 40, 1000])
def test_the_zero_event_bound_is_the_exact_clopper_pearson_bound(n):
    """No events in n units: P(0 events | p = bound) = 1 − level, the exact one-sided bound."""
    bound = zero_event_bound(n, LEVEL)
    assert (1 - bound) ** n == pytest.approx(1 - LEVEL)
    assert stats.beta.ppf(LEVEL, 1, n) == pytest.approx(bound)  # Clopper–Pearson's upper end


def _rates(events: int, n: int, draws: int = 8000, seed: int = 0) -> np.ndarray:
    """Posterior draws of a rate under a uniform prior: Beta(1 + events, 1 + n − events)."""
    return np.random.default_rng(seed).beta(1 + events, 1 + n - events, draws)


@pytest.mark.parametrize(
    ("treated", "control", "expected"),
    [
        ((12, 40), (0, 40), "real lift"),  # 30 % against none in 40: holds even at the bound (8 %)
        ((2, 40), (0, 40), "inconclusive"),  # 5 % against none in 40: the bound could be above it
        ((0, 40), (12, 40), "harm"),
        ((40, 40), (20, 40), "real lift"),  # always against half
        ((40, 40), (38, 40), "inconclusive"),  # always against 95 %: the bound is 92 %
    ],
)
def test_a_binary_verdict_with_an_arm_without_events_holds_at_the_bound(treated, control, expected):
    t, c = _rates(*treated, seed=1), _rates(*control, seed=2)
    above, below = rope_probabilities(t - c, c, ROPE)
    judged = metric_verdict(above, below, LEVEL, HDI_ROPE)
    state = {0: "never", 40: "always"}
    empty = (state.get(treated[0]), state.get(control[0]))
    assert without_events_verdict(judged, (t, c), empty, (40, 40), ROPE, LEVEL) == expected


def test_no_effect_is_never_claimed_with_an_arm_without_events():
    t, c = _rates(0, 4000, seed=1), _rates(0, 4000, seed=2)
    assert without_events_verdict("no effect", (t, c), ("never", "never"), (4000, 4000), ROPE, LEVEL) == (
        "inconclusive"
    )
