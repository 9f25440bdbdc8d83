"""A learned prediction carried to a metric's link scale: exact where the link allows, delta method else."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import expit, logit

from channelab.analysis.learning.prior import link_prior


@pytest.mark.parametrize(("c", "m", "s"), [(0.02, 0.3, 0.1), (0.4, -0.2, 0.05), (0.1, 0.0, 0.2)])
def test_binomial_mean_is_the_exact_logit_shift_and_sd_matches_simulation(
    c: float, m: float, s: float
) -> None:
    mean, sd = link_prior("binomial", c, 1.0, "loglift", m, s)  # type: ignore[misc]
    assert mean == pytest.approx(logit(c * math.exp(m)) - logit(c))
    draws = logit(c * np.exp(np.random.default_rng(0).normal(m, s, 400_000))) - logit(c)
    assert sd == pytest.approx(draws.std(), rel=0.05)
    back = expit(logit(c) + mean) / c - 1  # the arm's lift at the prior mean
    assert back == pytest.approx(math.expm1(m), rel=1e-9)


def test_log_links_take_the_log_lift_as_it_is() -> None:
    assert link_prior("poisson", 3.0, 1.0, "loglift", 0.2, 0.1) == (0.2, 0.1)
    assert link_prior("negative_binomial", 0.5, 1.0, "loglift", -0.1, 0.3) == (-0.1, 0.3)
    mean, sd = link_prior("poisson", 2.0, 1.0, "diff", 0.5, 0.2)  # type: ignore[misc]
    assert mean == pytest.approx(math.log(2.5 / 2.0))
    assert sd == pytest.approx(0.2 / 2.5)
    assert link_prior("poisson", 2.0, 1.0, "diff", -3.0, 0.2) is None  # a count cannot go below zero


def test_normal_models_take_the_difference_in_standardised_units() -> None:
    mean, sd = link_prior("normal", 50.0, 20.0, "loglift", math.log(1.1), 0.05)  # type: ignore[misc]
    assert mean == pytest.approx(50.0 * 0.1 / 20.0)
    assert sd == pytest.approx(50.0 * 1.1 * 0.05 / 20.0)
    assert link_prior("normal", 50.0, 20.0, "diff", 4.0, 2.0) == pytest.approx((0.2, 0.1))


def test_the_hurdle_has_no_single_arm_effect() -> None:
    assert link_prior("lognormal_hurdle", 10.0, 1.0, "loglift", 0.1, 0.1) is None


def test_a_prediction_with_no_image_on_the_link_scale_gives_no_prior() -> None:
    assert link_prior("binomial", 0.4, 1.0, "loglift", math.log(3), 0.3) is None  # rates above 1
    assert link_prior("binomial", 0.3, 1.0, "loglift", 0.5, 0.6) is None  # 0.3·e^1.7 > 1: two sds up
    assert link_prior("binomial", 0.02, 1.0, "diff", -0.03, 0.01) is None  # a rate below 0
    assert link_prior("normal", -5.0, 2.0, "loglift", 0.2, 0.1) is None  # a ratio around a negative mean
    assert link_prior("poisson", 3.0, 1.0, "loglift", 0.2, 150.0) is None  # beyond any prior's bound
