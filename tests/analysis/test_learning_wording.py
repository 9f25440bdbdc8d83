"""The sentences of ``learn``: a direction only with its licence, never 'did not' for an unclear link."""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd
import pytest

from channelab.analysis.diagnostics import Diagnostics
from channelab.analysis.learning import ChannelMetric, Impact, Learned, Link
from channelab.analysis.learning import TestEffect as PastTest
from channelab.analysis.learning.wording import (
    CONTRACT,
    correlation_sentence,
    fmt_effect,
    impact_sentence,
    learned_claim_level,
    learned_words,
    link_sentence,
    mean_sentence,
    missing_links_sentence,
    one_test_sentence,
    prediction_sentence,
)
from channelab.analysis.results import Interval

LEVEL = learned_claim_level(0.94)
_MU = Interval(0.05, -0.02, 0.12)
_DIRECTION = re.compile(r"\b(raised|lowered|rose|fell|increased|decreased)\b")


def _diagnostics(problems: tuple[str, ...] = ()) -> Diagnostics:
    return Diagnostics(1.001, 2000.0, 1500.0, 0, 4, 1000, pd.DataFrame(), problems)


def group(
    channel: str = "social",
    metric: str = "meetings",
    *,
    role: str = "outcome",
    mu: Interval = _MU,
    p: float = 0.9,
    tests: int = 14,
    scale: str = "loglift",
    impact: Impact | None = None,
) -> ChannelMetric:
    effects = tuple(
        PastTest(f"test {i}", 0.1 * i, Interval(0.05, -0.01, 0.11), launched=i == 0) for i in range(tests)
    )
    return ChannelMetric(
        channel=channel,
        metric=metric,
        role=role,
        scale=scale,  # type: ignore[arg-type]
        tests=tests,
        mu=mu,
        tau=Interval(0.1, 0.02, 0.2),
        prediction=Interval(0.05, -0.2, 0.3),
        prediction_scale=(0.04, 0.12),
        prob_positive=p,
        effects=effects,
        impact=impact,
    )


def link(p: float = 0.5, *, tests: int = 14, cov_known: int = 14) -> Link:
    return Link(
        "social", "profile_views", "meetings", "loglift", tests, cov_known,
        Interval(0.1, -0.4, 0.6), Interval(0.3, 0.0, 0.9), p, _diagnostics(),
    )  # fmt: skip


def learned(*groups: ChannelMetric, links: tuple[Link, ...] = ()) -> Learned:
    return Learned(tuple(groups), links, _diagnostics(), 0.94)


def test_the_claim_level_is_the_houses_for_a_94_percent_interval() -> None:
    assert pytest.approx(0.97) == LEVEL


@pytest.mark.parametrize(
    ("p", "claim", "words"), [(0.969, "mean unsettled", "changed"), (0.971, "mean rose", "raised")]
)
def test_a_rise_is_said_only_when_its_probability_reaches_the_claim_level(
    p: float, claim: str, words: str
) -> None:
    mu = Interval(0.05, -0.001, 0.1) if p < LEVEL else Interval(0.05, 0.001, 0.1)
    s = mean_sentence(group(p=p, mu=mu), level=LEVEL, hdi_prob=0.94)
    assert s.claim == claim
    assert f"social {words} meetings" in s.text
    if claim == "mean unsettled":
        assert not _DIRECTION.search(s.text)
        assert "the interval includes no change" in s.text
        assert "both < 0.970" in s.condition
    else:
        assert s.condition == "P(μ > 0) = 0.971 ≥ 0.970"


@pytest.mark.parametrize(("p", "claim"), [(0.031, "mean unsettled"), (0.029, "mean fell")])
def test_a_fall_is_said_only_when_its_probability_reaches_the_claim_level(p: float, claim: str) -> None:
    s = mean_sentence(group(p=p, mu=Interval(-0.05, -0.1, 0.0)), level=LEVEL, hdi_prob=0.94)
    assert s.claim == claim
    assert ("lowered meetings by 5.0 %" in s.text) == (claim == "mean fell")
    assert ("raised" in s.text) is False


def test_an_unlicensed_direction_is_not_claimed_even_where_the_interval_excludes_zero() -> None:
    s = mean_sentence(group(p=0.96, mu=Interval(0.05, 0.01, 0.1)), level=LEVEL, hdi_prob=0.94)
    assert s.claim == "mean unsettled"
    assert not _DIRECTION.search(s.text)
    assert "not settled at the 97 % level" in s.text


@pytest.mark.parametrize("p", [0.5, 0.031, 0.969, 0.04])
def test_an_unclear_link_never_says_did_not(p: float) -> None:
    s = link_sentence(link(p), level=LEVEL, hdi_prob=0.94)
    assert s.claim == "link unclear"
    assert "did not" not in s.text
    assert "no link" not in s.text.replace("no clear link", "")
    assert "showed no clear link to meetings (slope +0.10, 94 % interval −0.40 to +0.60)" in s.text


@pytest.mark.parametrize(
    ("p", "claim", "words"),
    [
        (0.98, "link rising", "also had bigger gains in meetings"),
        (0.02, "link falling", "had smaller gains in meetings"),
    ],
)
def test_a_link_has_a_direction_only_with_its_licence(p: float, claim: str, words: str) -> None:
    s = link_sentence(link(p), level=LEVEL, hdi_prob=0.94)
    assert s.claim == claim
    assert words in s.text


def test_unknown_within_test_correlations_are_said_with_their_count() -> None:
    assert correlation_sentence(link(tests=14, cov_known=14)) is None
    s = correlation_sentence(link(tests=14, cov_known=10))
    assert s is not None
    assert s.claim == "correlation taken as zero"
    assert "For 4 of the 14 social tests" in s.text
    assert "taken as zero" in s.text
    every = correlation_sentence(link(tests=5, cov_known=0))
    assert every is not None
    assert "For all 5 social tests" in every.text


def test_one_test_says_the_spread_comes_from_the_prior() -> None:
    assert one_test_sentence(group(tests=2)) is None
    s = one_test_sentence(group(tests=1))
    assert s is not None
    assert s.text == (
        "Social has one test only of meetings: how much tests differ comes from the prior, so the "
        "prediction for the next test is wide."
    )
    said = mean_sentence(group(tests=1), level=LEVEL, hdi_prob=0.94)
    assert said.text.startswith("Across 1 test, ")


def test_the_next_test_and_the_winners_curse() -> None:
    s = prediction_sentence(group(), hdi_prob=0.94)
    assert s.text == (
        "The next social test is predicted to move meetings between −20 % and +30 % "
        "(94 % prediction interval)."
    )
    assert impact_sentence(group(), hdi_prob=0.94) is None
    two = Impact(2, 0.6, Interval(0.32, 0.1, 0.5))
    said = impact_sentence(group(impact=two), hdi_prob=0.94)
    assert said is not None
    assert said.text == (
        "The 2 launched social winners reported a combined +60 % on meetings; with the winner's curse "
        "removed their combined effect is +32 % (94 % interval +10 % to +50 %); per winner, +30 % reported "
        "and +16 % with the curse removed."
    )
    one = impact_sentence(group(impact=replace(two, launched=1)), hdi_prob=0.94)
    assert one is not None
    assert "The one launched social winner reported +60 %" in one.text


def test_differences_are_in_points_for_binary_metrics_and_in_units_otherwise() -> None:
    assert fmt_effect(0.0123, "diff", "binary") == "+1.23 pp"
    assert fmt_effect(-0.0123, "diff", "binary") == "−1.23 pp"
    assert fmt_effect(-2.5, "diff", "continuous") == "−2.5"
    assert fmt_effect(2.5, "diff", None, sign=False) == "2.5"
    assert fmt_effect(1.8, "loglift") == "+180 %"
    s = mean_sentence(
        group(scale="diff", mu=Interval(0.012, 0.005, 0.02), p=0.999),
        level=LEVEL,
        hdi_prob=0.94,
        kind="binary",
    )
    assert "raised meetings by 1.20 pp on average (94 % interval +0.50 pp to +2.00 pp)" in s.text


def test_a_missing_link_is_said_once_for_every_channel_without_one() -> None:
    views = group(metric="profile_views", role="engagement", p=1.0)
    email = [replace(g, channel="email") for g in (group(), views)]
    result = learned(group(), views, *email, links=(link(),))
    s = missing_links_sentence(result)
    assert s is not None
    assert s.claim == "link not estimated"
    assert s.text == "No engagement → outcome link is estimated for email: fewer than 3 tests measured both."
    words = learned_words(result)
    assert [x.claim for x in words.general] == ["link not estimated"]
    assert sum("fewer than 3 tests" in x.text for x in words.sentences) == 1


def test_a_channel_paragraph_puts_outcomes_first_and_every_kind_is_in_the_contract() -> None:
    views = group(metric="profile_views", role="engagement", p=1.0, mu=Interval(1.8, 1.5, 2.1))
    impact = Impact(3, 0.9, Interval(0.2, 0.0, 0.4))
    result = learned(views, group(impact=impact), links=(link(0.5, cov_known=12),))
    (channel, said), *_ = learned_words(result).channels
    assert channel == "social"
    assert [s.claim for s in said] == [
        "mean unsettled",
        "mean rose",
        "link unclear",
        "correlation taken as zero",
        "next test",
        "winners' impact",
    ]
    assert said[1].text.startswith("Across 14 tests, social raised profile views by 180 % on average")
    assert all(s.claim in CONTRACT for s in said)


def test_a_failed_convergence_is_said_first() -> None:
    result = replace(learned(group()), diagnostics=_diagnostics(("r_hat 1.2 > 1.01",)))
    words = learned_words(result)
    assert words.sentences[0].claim == "not converged"
    assert "r_hat 1.2 > 1.01" in words.sentences[0].text
