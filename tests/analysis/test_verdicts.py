"""Decision rules on hand-made posteriors, where the right verdict is known."""

from __future__ import annotations

import dataclasses
import math

import arviz_stats as azs
import numpy as np
import pytest

from channelab.analysis.decisions import arm_verdict, metric_verdict, more_data_factor
from channelab.analysis.intervals import relative_interval
from channelab.analysis.wording import arm_summary, pct
from channelab.spec import Decision
from helpers import make_effect

ROPE = (-0.05, 0.05)
HDI_ROPE, PROB = Decision(rule="hdi_rope"), Decision(rule="probability", threshold=0.95)


@pytest.mark.parametrize(
    ("hdi", "expected"),
    [
        ((0.10, 0.30), "real lift"),
        ((-0.30, -0.08), "harm"),
        ((-0.03, 0.04), "no effect"),
        ((0.02, 0.30), "inconclusive"),
    ],
)
def test_hdi_rope_rule(hdi, expected):
    assert metric_verdict(np.zeros(10), hdi, ROPE, HDI_ROPE) == expected


def test_probability_rule_counts_mass_beyond_rope():
    rng = np.random.default_rng(1)
    assert metric_verdict(rng.normal(0.20, 0.05, 20_000), (0, 0), ROPE, PROB) == "real lift"
    assert metric_verdict(rng.normal(0.07, 0.05, 20_000), (0, 0), ROPE, PROB) == "inconclusive"
    assert metric_verdict(rng.normal(0.0, 0.01, 20_000), (0, 0), ROPE, PROB) == "no effect"


def test_more_data_factor_follows_root_n():
    # estimate 0.10, half-width 0.10: to clear the ROPE edge 0.05 the half-width must halve -> 4x data
    assert more_data_factor(0.10, (0.0, 0.20), ROPE) == pytest.approx(4.0)
    # inside the ROPE: the interval must shrink to fit between the edges
    assert more_data_factor(0.0, (-0.10, 0.10), ROPE) == pytest.approx(4.0)
    assert math.isinf(more_data_factor(0.05, (0.0, 0.10), ROPE))


def _effect(metric: str, role: str, verdict: str, mean: float = 0.2):
    return make_effect(arm="Social", metric=metric, role=role, verdict=verdict, mean=mean, rope=ROPE)


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ({"likes": "real lift", "meetings": "inconclusive"}, "engagement only"),
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
    effects = [_effect(m, roles[m], v) for m, v in verdicts.items()]
    assert arm_verdict(effects) == expected


def test_engagement_only_summary_warns_against_reading_likes_as_results():
    effects = [
        _effect("likes", "engagement", "real lift", 1.5),
        _effect("meetings", "outcome", "inconclusive", 0.01),
    ]
    text = arm_summary("Social", "engagement only", effects, 0.94)
    assert "raised likes by 150 %" in text
    assert "did not credibly move meetings" in text
    assert "engagement only" in text


def test_inconclusive_summary_says_how_much_more_data():
    effects = [_effect("meetings", "outcome", "inconclusive", 0.1)]
    text = arm_summary("Phone", "inconclusive", effects, 0.94)
    assert "2.0× the current sample" in text
    assert "1,000 more units per arm" in text


def test_pct_formatting():
    assert pct(1.19) == "119 %"
    assert pct(0.034) == "3.4 %"
    assert pct(-0.25, sign=True) == "−25 %"


def test_a_credible_drop_inside_the_rope_question_is_said_as_such():
    """The interval is below zero but overlaps the ROPE: the sign is settled, the size is not."""
    e = make_effect(label="7-day retention", mean=-0.043, half_width=0.0265, rope=(-0.05, 0.05))
    e = dataclasses.replace(e, lift=dataclasses.replace(e.lift, lower=-0.069, upper=-0.016))
    text = arm_summary("New onboarding", "inconclusive", [e], 0.94)
    assert (
        "lowered 7-day retention by 4.3 % (94 % interval −6.9 % to −1.6 %); a drop is credible, but "
        "whether it exceeds the 5.0 % that matters is not settled" in text
    )
    # if the estimate (-4.3 %) holds, more data settle that the drop is too small to matter
    assert (
        "would settle whether the change in 7-day retention is within the 5.0 % too small to matter" in text
    )
    assert "did not credibly move" not in text


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
