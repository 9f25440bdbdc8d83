"""The programme model against an independent frequentist random-effects fit, on published data.

Data: the 13 BCG vaccine trials of Colditz et al. (1994) as distributed with metafor
(``data/bcg_trials.csv``). Effect: the log risk ratio per trial, with the usual variance
1/a − 1/(a+b) + 1/c − 1/(c+d) (metafor's ``escalc(measure="RR")``).

Frequentist fits (the fast tests, no sampling):

- REML (metafor's default; τ² by scipy on the restricted likelihood): μ = −0.7145,
  SE = 0.1798, τ² = 0.3132 (τ = 0.5597), as metafor publishes;
- DerSimonian–Laird (statsmodels ``method_re="chi2"``): μ = −0.7141, τ² = 0.3088, as metafor's
  tests against Stata's ``metan`` publish (−0.714, 0.3088);
- Paule–Mandel (statsmodels ``method_re="iterated"``): μ = −0.7150, SE = 0.1809, τ² = 0.3181.

Higgins–Thompson–Spiegelhalter 94 % prediction interval, μ ± t(11, 0.97) √(SE² + τ²) with the
REML fit: (−1.947, 0.518) on the log scale.

channelab (the slow tests, seed 33, 4 chains × 4,000 draws; the exact posterior, by quadrature
on a grid, in brackets), all on the log scale:

- default priors μ ~ N(0, 2.5), log τ ~ N(log 0.28, 0.87) (Turner et al. 2015): posterior mean of
  μ −0.7047, 0.055 SE from REML's; τ mean 0.554 (0.343, 0.873); 94 % prediction interval
  (−1.848, 0.419), within 0.10 of HTS at both ends (the prior makes a spread beyond 1 unlikely,
  where HTS's t quantile widens). (With τ ~ Rayleigh(0.5): μ −0.7117, prediction (−1.940, 0.525).)
  (With the earlier default μ ~ N(0, 1) the mean was −0.690, 0.14 SE from REML: the prior, not
  the data, moved it; hence the default of 2.5, the per-test model's arm-effect scale.)
- wide priors μ ~ N(0, 10), log τ ~ N(log 0.28, 2): μ −0.7082, 0.035 SE from REML; prediction
  interval (−1.904, 0.492), within 0.05 of HTS.

Sampling takes about 3 s once the model is compiled (about 20 s on a cold compile cache), so
the fits are in the slow tier, which is where real sampling belongs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from statsmodels.stats.meta_analysis import combine_effects

from channelab.analysis.learning.hierarchy import fit_hierarchy
from channelab.analysis.learning.programme import learn
from channelab.analysis.learning.studies import Study, group_studies
from channelab.spec import ProgrammePriors, Sampler
from helpers import DATA

HDI = 0.94
SEED = 33
SAMPLER = Sampler(draws=4000)
#: metafor's published REML fit of the log risk ratios: rma(yi, vi, data=dat).
METAFOR_REML = {"mu": -0.7145, "se": 0.1798, "tau2": 0.3132}
#: metafor's DerSimonian–Laird fit (its tests compare it with Stata's metan).
METAFOR_DL = {"mu": -0.714, "tau2": 0.3088}
WIDE = ProgrammePriors(mu_sd=10.0, tau_log_sd=2.0)


@dataclass(frozen=True)
class Frequentist:
    mu: float
    se: float
    tau2: float


def _log_risk_ratios() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per trial: log RR, its variance, and the control arm's risk."""
    d = pd.read_csv(DATA / "bcg_trials.csv")
    a, b, c, n = (d[k].to_numpy(float) for k in ("tpos", "tneg", "cpos", "cneg"))
    y = np.log(a / (a + b)) - np.log(c / (c + n))
    v = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + n)
    return y, v, c / (c + n)


def _weighted(y: np.ndarray, v: np.ndarray, tau2: float) -> Frequentist:
    w = 1 / (v + tau2)
    return Frequentist(float((w * y).sum() / w.sum()), float(np.sqrt(1 / w.sum())), tau2)


def _reml(y: np.ndarray, v: np.ndarray) -> Frequentist:
    """τ² maximising the restricted likelihood, then the inverse-variance weighted μ."""

    def minus_restricted(tau2: float) -> float:
        w = 1 / (v + tau2)
        mu = (w * y).sum() / w.sum()
        return 0.5 * float(np.log(v + tau2).sum() + np.log(w.sum()) + (w * (y - mu) ** 2).sum())

    fit = optimize.minimize_scalar(
        minus_restricted, bounds=(0.0, 10.0), method="bounded", options={"xatol": 1e-10}
    )
    return _weighted(y, v, float(fit.x))


def _hts(fit: Frequentist, k: int) -> tuple[float, float]:
    """Higgins–Thompson–Spiegelhalter prediction interval at the test's mass."""
    half = stats.t.ppf((1 + HDI) / 2, k - 2) * np.sqrt(fit.se**2 + fit.tau2)
    return fit.mu - half, fit.mu + half


def _studies() -> list[Study]:
    y, v, p0 = _log_risk_ratios()
    se = np.sqrt(v)
    # the difference fields are required but unused: every study has a log lift, so the group
    # pools on the log scale (the risk difference and a rough se are given only to fill them)
    return [
        Study(
            f"trial {i + 1}",
            "bcg",
            "tb",
            "outcome",
            float(y[i]),
            float(se[i]),
            float(np.expm1(y[i]) * p0[i]),
            float(se[i] * p0[i]),
            float(p0[i]),
        )
        for i in range(len(y))
    ]


def test_effects_match_metafors_escalc() -> None:
    y, v, _ = _log_risk_ratios()
    np.testing.assert_allclose(y[[0, 5, 7, 12]], [-0.8893, -0.7861, 0.0120, -0.0173], atol=5e-5)
    np.testing.assert_allclose(v[[0, 5, 7, 12]], [0.3256, 0.0069, 0.0040, 0.0714], atol=5e-5)


def test_frequentist_fits_reproduce_metafor() -> None:
    y, v, _ = _log_risk_ratios()
    reml = _reml(y, v)
    assert (round(reml.mu, 4), round(reml.se, 4), round(reml.tau2, 4)) == tuple(METAFOR_REML.values())
    dl = combine_effects(y, v, method_re="chi2")
    assert (round(dl.mean_effect_re, 3), round(dl.tau2, 4)) == tuple(METAFOR_DL.values())
    pm = combine_effects(y, v, method_re="iterated")
    assert pm.mean_effect_re == pytest.approx(_weighted(y, v, pm.tau2).mu, abs=1e-9)
    # Paule–Mandel's τ² sets the generalised Q to its expectation, k − 1
    assert float(((y - pm.mean_effect_re) ** 2 / (v + pm.tau2)).sum()) == pytest.approx(len(y) - 1, abs=1e-3)
    assert abs(pm.mean_effect_re - reml.mu) < 0.1 * reml.se
    lo, hi = _hts(reml, len(y))
    assert (round(lo, 3), round(hi, 3)) == (-1.947, 0.518)


@dataclass(frozen=True)
class Bayes:
    """The programme model's fit, on the log scale."""

    mu: float
    mu_ends: tuple[float, float]
    reported_mu_ends: tuple[float, float]
    prediction: tuple[float, float]
    converged: bool


@functools.cache
def _bayes(priors: ProgrammePriors) -> Bayes:
    """The log-scale posterior mean of μ and the 94 % prediction interval on the log scale."""
    studies = _studies()
    # learn() reports μ as e^μ − 1, so the log-scale mean comes from the model's own draws
    fit = fit_hierarchy(group_studies(studies), priors=priors, sampler=SAMPLER, seed=SEED, hdi_prob=HDI)
    (group,) = learn(studies, seed=SEED, hdi_prob=HDI, sampler=SAMPLER, priors=priors).groups
    average = fit.mu[:, 0] + fit.tau[:, 0] ** 2 / 2  # learn() reports e^(μ + τ²/2) − 1: the mean lift
    lo, hi = np.quantile(average, [(1 - HDI) / 2, (1 + HDI) / 2])
    return Bayes(
        mu=float(fit.mu[:, 0].mean()),
        mu_ends=(float(lo), float(hi)),
        reported_mu_ends=(float(np.log1p(group.mu.lower)), float(np.log1p(group.mu.upper))),
        prediction=(float(np.log1p(group.prediction.lower)), float(np.log1p(group.prediction.upper))),
        converged=fit.diagnostics.converged,
    )


@pytest.mark.slow
@pytest.mark.parametrize("priors", [ProgrammePriors(), WIDE], ids=["default", "wide"])
def test_learn_reports_the_draws_of_the_fit(priors: ProgrammePriors) -> None:
    """learn()'s mean lift is the fit's e^(μ + τ²/2) − 1, its interval mapped (log1p recovers it)."""
    bayes = _bayes(priors)
    assert bayes.converged
    np.testing.assert_allclose(bayes.reported_mu_ends, bayes.mu_ends, atol=1e-6)  # quantiles interpolate


@pytest.mark.slow
def test_wide_prior_matches_the_random_effects_fit() -> None:
    y, v, _ = _log_risk_ratios()
    reml = _reml(y, v)
    bayes = _bayes(WIDE)
    lo, hi = bayes.prediction
    assert abs(bayes.mu - reml.mu) < 0.1 * reml.se
    f_lo, f_hi = _hts(reml, len(y))
    assert abs(lo - f_lo) < 0.25
    assert abs(hi - f_hi) < 0.25


@pytest.mark.slow
def test_default_priors_predict_like_the_random_effects_fit() -> None:
    y, v, _ = _log_risk_ratios()
    lo, hi = _bayes(ProgrammePriors()).prediction
    f_lo, f_hi = _hts(_reml(y, v), len(y))
    assert abs(lo - f_lo) < 0.25
    assert abs(hi - f_hi) < 0.25


@pytest.mark.slow
def test_default_priors_mean_within_a_tenth_of_a_standard_error() -> None:
    y, v, _ = _log_risk_ratios()
    reml = _reml(y, v)
    assert abs(_bayes(ProgrammePriors()).mu - reml.mu) < 0.1 * reml.se
