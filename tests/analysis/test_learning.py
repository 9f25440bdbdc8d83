"""The programme model: grouping, the exact conditional of shrunken effects, recovery of known truth."""

from __future__ import annotations

import numpy as np
import pytest

from channelab.analysis.learning.hierarchy import shrunken_draws
from channelab.analysis.learning.programme import learn, link_data
from channelab.analysis.learning.studies import Study, group_studies
from channelab.spec import Sampler


def _study(label: str, metric: str, y: float, se: float, *, role: str = "outcome", **kw: object) -> Study:
    return Study(label, kw.pop("channel", "social"), metric, role, y, se, y, se, 0.1, key=label, **kw)  # type: ignore[arg-type]


def test_groups_are_sorted_and_fall_back_to_differences_when_a_log_lift_is_missing() -> None:
    studies = [
        _study("a", "meetings", 0.1, 0.05, channel="social"),
        _study("b", "meetings", 0.2, 0.05, channel="email"),
        Study("c", "email", "meetings", "outcome", None, None, 0.01, 0.002, 0.0),
    ]
    groups = group_studies(studies)
    assert [(g.channel, g.metric, g.scale, len(g.studies)) for g in groups] == [
        ("email", "meetings", "diff", 2),
        ("social", "meetings", "loglift", 1),
    ]
    np.testing.assert_allclose(groups[0].estimate, [0.2, 0.01])


def test_shrunken_draws_follow_the_normal_normal_conditional() -> None:
    """Given μ and τ, θ | y is Normal((τ²y + s²μ)/(s²+τ²), sτ/√(s²+τ²)): checked on 200,000 draws."""
    rng = np.random.default_rng(0)
    y, s = np.array([0.5, -0.2, 0.0]), np.array([0.1, 0.3, 1.0])
    mu, tau = np.full(200_000, 0.1), np.full(200_000, 0.2)
    theta = shrunken_draws(y, s, mu, tau, rng)
    mean = (0.04 * y + s**2 * 0.1) / (s**2 + 0.04)
    sd = np.sqrt(s**2 * 0.04 / (s**2 + 0.04))
    np.testing.assert_allclose(theta.mean(axis=0), mean, atol=4 * float(sd.max()) / np.sqrt(200_000))
    np.testing.assert_allclose(theta.std(axis=0), sd, rtol=0.01)


def test_shrinkage_vanishes_as_the_spread_grows_and_is_total_as_it_vanishes() -> None:
    rng = np.random.default_rng(1)
    y, s = np.array([0.4]), np.array([0.2])
    wide = shrunken_draws(y, s, np.zeros(50_000), np.full(50_000, 100.0), rng)
    none = shrunken_draws(y, s, np.zeros(50_000), np.full(50_000, 1e-9), rng)
    assert wide.mean() == pytest.approx(0.4, abs=0.01)
    assert abs(none.mean()) < 1e-6


def test_links_pair_the_same_arm_and_take_the_covariance_where_given() -> None:
    studies = [
        *(_study(f"t{i}", "views", 0.5 + i / 10, 0.1, role="engagement") for i in range(4)),
        *(_study(f"t{i}", "meetings", 0.01, 0.05) for i in range(1, 4)),
    ]
    covs = {("t1", "meetings", "views"): (0.0, 0.002)}
    (pair,) = link_data(group_studies(studies), covs)
    assert pair.labels == ("t1", "t2", "t3")
    np.testing.assert_allclose(pair.cov, [0.002, 0.0, 0.0])
    assert pair.cov_known == 1
    np.testing.assert_allclose(pair.estimate[:, 0], [0.6, 0.7, 0.8])


def _programme(seed: int, tests: int) -> tuple[list[Study], dict[str, tuple[float, float]], dict]:
    """Two channels with known μ and τ; outcomes linked to engagement with slope 0.5; correlated errors."""
    rng = np.random.default_rng(seed)
    studies, truth, covs = [], {}, {}
    for channel, mu_e, mu_o in (("social", 1.0, 0.0), ("email", 0.1, 0.08)):
        for i in range(tests):
            te = rng.normal(mu_e, 0.3)
            to = mu_o + 0.5 * (te - mu_e) + rng.normal(0, 0.05)
            se = rng.uniform(0.04, 0.12, size=2)
            c = 0.6 * se[0] * se[1]
            ye, yo = rng.multivariate_normal([te, to], [[se[0] ** 2, c], [c, se[1] ** 2]])
            key = f"{channel}{i}"
            studies += [
                _study(key, "views", ye, se[0], role="engagement", channel=channel),
                _study(key, "meetings", yo, se[1], channel=channel, launched=bool(yo / se[1] > 1.64)),
            ]
            truth[key] = (te, to)
            covs[(key, "meetings", "views")] = (0.0, c)
    return studies, truth, covs


@pytest.mark.slow
def test_recovers_known_means_spreads_effects_and_slopes() -> None:
    studies, truth, covs = _programme(3, 40)
    learned = learn(studies, seed=3, sampler=Sampler(draws=500, tune=500, chains=2), covariances=covs)
    assert learned.diagnostics.converged
    by = {(g.channel, g.metric): g for g in learned.groups}
    for (channel, metric), (mu, tau) in {
        ("social", "views"): (1.0, 0.3),
        ("email", "meetings"): (0.08, 0.158),
    }.items():
        g = by[channel, metric]
        assert g.mu.lower <= np.expm1(mu + tau**2 / 2) <= g.mu.upper  # the mean lift across tests
        inside = [
            e.shrunken.lower <= np.expm1(truth[e.label][metric == "meetings"]) <= e.shrunken.upper
            for e in g.effects
        ]
        assert np.mean(inside) >= 0.8
        assert g.tau.lower < (0.3 if metric == "views" else 0.16) < g.tau.upper
    for link in learned.links:
        assert link.cov_known == 40
        assert link.slope.lower < 0.5 < link.slope.upper
        assert link.prob_slope_positive > 0.97
