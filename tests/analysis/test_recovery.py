"""Real sampling against known truth: a conjugate closed form, and simulated lifts."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest

from channelab.pipeline import analyse
from channelab.simulate.ab import SimMetric, simulate_ab

pytestmark = pytest.mark.slow


def test_binary_lift_matches_beta_binomial_closed_form(write_experiment):
    # arm-only binary model: with 5,000 units per arm the weak logit-normal priors are
    # negligible, so the posterior of p_t / p_c - 1 must match Beta(1 + s, 1 + n - s) per arm.
    n, s_c, s_t = 5000, 500, 620
    y = np.r_[np.ones(s_c), np.zeros(n - s_c), np.ones(s_t), np.zeros(n - s_t)].astype(int)
    rows = pd.DataFrame(
        {
            "unit_id": np.arange(2 * n),
            "arm": ["control"] * n + ["treatment"] * n,
            "segment": "all",
            "y": y,
        }
    )
    spec = write_experiment(
        rows,
        [{"name": "y", "type": "binary", "role": "outcome"}],
        covariates=[],
        sampler={"draws": 1000, "tune": 1000, "chains": 4, "backend": "pymc"},
    )
    result = analyse(spec)
    effect = result.effects.get("treatment", "y")

    rng = np.random.default_rng(0)
    exact = rng.beta(1 + s_t, 1 + n - s_t, 400_000) / rng.beta(1 + s_c, 1 + n - s_c, 400_000) - 1
    lo, hi = az.hdi(exact, prob=0.94)
    assert abs(effect.lift.mean - exact.mean()) < 4 * effect.mcse_lift + 0.002
    assert effect.lift.lower == pytest.approx(lo, abs=0.015)
    assert effect.lift.upper == pytest.approx(hi, abs=0.015)
    assert effect.prob_positive == pytest.approx(np.mean(exact > 0), abs=0.01)


RECOVERY = {
    "binary": SimMetric("binary", 0.10, {"treatment": 0.35}),
    "count": SimMetric("count", 2.0, {"treatment": 0.25}, overdispersion=0.8),
    "revenue": SimMetric(
        "revenue", 0.08, {"treatment": 0.4}, amount_effects={"treatment": 0.2}, amount=60, sigma=0.9
    ),
    "continuous": SimMetric("continuous", 20.0, {"treatment": 2.0}, sigma=6.0),
}
ROLE = {"binary": "outcome", "count": "outcome", "revenue": "revenue", "continuous": "outcome"}


@pytest.mark.parametrize("kind", list(RECOVERY))
def test_recovers_known_lift(kind, write_experiment):
    rows, truth = simulate_ab(
        n_per_arm=4000, metrics={"y": RECOVERY[kind], "null": _null_like(RECOVERY[kind])}, seed=101
    )
    spec = write_experiment(
        rows,
        [
            {"name": "y", "type": kind, "role": ROLE[kind]},
            {"name": "null", "type": kind, "role": ROLE[kind]},
        ],
    )
    result = analyse(spec)
    assert result.diagnostics.converged, result.diagnostics.problems
    real = result.effects.get("treatment", "y")
    true_lift = truth.lifts[("treatment", "y")]
    assert real.lift.lower <= true_lift <= real.lift.upper
    assert abs(real.lift.mean - true_lift) < 0.5 * (real.lift.upper - real.lift.lower)
    assert real.verdict == "real lift"
    # a metric with no true effect must not be called a real lift, and its interval covers 0
    null = result.effects.get("treatment", "null")
    assert null.lift.lower <= 0 <= null.lift.upper
    assert null.verdict != "real lift"
    # observed means in the effects are the exact raw means
    for arm in ("control", "treatment"):
        raw = rows.loc[rows["arm"] == arm, "y"].mean()
        got = real.control_mean if arm == "control" else real.arm_mean
        assert got == pytest.approx(raw, rel=1e-12)


def _null_like(m: SimMetric) -> SimMetric:
    return SimMetric(m.type, m.base, {}, amount=m.amount, sigma=m.sigma, overdispersion=m.overdispersion)
