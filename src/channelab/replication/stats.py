"""Statistics of replication: replication Bayes factors, sample-size plans, small telescopes, assurance.

Depends only on NumPy, SciPy and statsmodels (no PyMC, no files); :mod:`channelab.replication.judge`
feeds it a spec's original study and a replication's data.

- Replication Bayes factor BF_r0 (Verhagen & Wagenmakers 2014): how much better the effect the
  original study found (its posterior) predicts the replication data than no effect does. For
  two binomial groups it is closed-form with beta priors (Ly, Etz, Marsman & Wagenmakers 2019:
  BF_r0 = BF_10(original + replication) / BF_10(original)); for a difference of means, the
  normal approximation.
- Sample sizes (statsmodels): Cohen's h for proportions, Cohen's d for means, two-sided.
- Small telescopes (Simonsohn 2015): d33, the effect the original had 33 % power to detect;
  a replication with 2.5 times the original's n has about 80 % power to reject d33 when the true
  effect is zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import betaln
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from channelab.errors import SpecError

Verdict = Literal["replicated", "not replicated", "inconclusive"]

#: Small telescopes: the replication n per arm is this multiple of the original's (Simonsohn 2015).
_TELESCOPE_FACTOR = 2.5

_Z, _T = NormalIndPower(), TTestIndPower()


@dataclass(frozen=True)
class Counts:
    """Successes out of n in one group (floats allowed: an original's counts may be reconstructed)."""

    successes: float
    n: float

    def __post_init__(self) -> None:
        if not (self.n > 0 and 0 <= self.successes <= self.n):
            raise SpecError(
                f"counts: got {self.successes:g} successes of {self.n:g}; expected 0 ≤ successes ≤ n, n > 0"
            )

    @property
    def failures(self) -> float:
        """N − successes."""
        return self.n - self.successes


_Pair = tuple[Counts, Counts]


def binomial_bf10(groups: _Pair, prior: tuple[float, float] = (1.0, 1.0)) -> float:
    """Log BF_10 of two binomial groups: independent rates vs one common rate, Beta(a, b) priors."""
    a, b = prior
    g1, g2 = groups
    separate = sum(betaln(a + g.successes, b + g.failures) - betaln(a, b) for g in groups)
    common = betaln(a + g1.successes + g2.successes, b + g1.failures + g2.failures) - betaln(a, b)
    return float(separate - common)


def binomial_replication_bf(
    original: _Pair, replication: _Pair, prior: tuple[float, float] = (1.0, 1.0)
) -> float:
    """Log BF_r0 for two binomial groups, in closed form.

    H_r: the rates are independent, each with its posterior from the original study (from a
    Beta(a, b) prior); H_0: one common rate, with its posterior from the pooled original data.
    BF_r0 is the ratio of the replication data's marginal likelihoods (binomial coefficients cancel).

    Parameters
    ----------
    original
        The original study's two groups: successes out of n in each.
    replication
        The replication's two groups, in the same order.
    prior
        The (a, b) of the Beta prior each rate starts from before the original study.

    Returns
    -------
    float
        log BF_r0: positive when the original's effect predicts the replication better than
        no effect does.
    """
    a, b = prior
    h_r = sum(
        betaln(a + o.successes + r.successes, b + o.failures + r.failures)
        - betaln(a + o.successes, b + o.failures)
        for o, r in zip(original, replication, strict=True)
    )
    s_o, f_o = sum(o.successes for o in original), sum(o.failures for o in original)
    s_r, f_r = sum(r.successes for r in replication), sum(r.failures for r in replication)
    h_0 = betaln(a + s_o + s_r, b + f_o + f_r) - betaln(a + s_o, b + f_o)
    return float(h_r - h_0)


def normal_replication_bf(
    original_estimate: float, original_se: float, replication_estimate: float, replication_se: float
) -> float:
    """Log BF_r0 by the normal approximation: the effect ~ N(original, se_o²) against the effect = 0.

    Parameters
    ----------
    original_estimate, original_se
        The original's difference and its standard error.
    replication_estimate, replication_se
        The replication's difference (on the same scale) and its standard error.

    Returns
    -------
    float
        log BF_r0: positive when the original's effect predicts the replication better than
        no effect does.

    Raises
    ------
    SpecError
        If a standard error is not positive.
    """
    if original_se <= 0 or replication_se <= 0:
        raise SpecError(
            "standard errors must be positive; check the original's sd and the replication's data"
        )
    h_r = stats.norm.logpdf(replication_estimate, original_estimate, math.hypot(original_se, replication_se))
    h_0 = stats.norm.logpdf(replication_estimate, 0.0, replication_se)
    return float(h_r - h_0)


# ---- planning ---------------------------------------------------------------------------


def _check_power(power: float, alpha: float) -> None:
    if not 0 < alpha < 0.5 or not alpha < power < 1:
        raise SpecError(f"power {power:g} with alpha {alpha:g}: expected 0 < alpha < power < 1")


def n_per_arm_proportions(p1: float, p2: float, power: float, alpha: float = 0.05) -> int:
    """Participants per arm for a two-sided z-test of p1 vs p2 (Cohen's h) to reach ``power``."""
    for p in (p1, p2):
        if not 0 < p < 1:
            raise SpecError(f"proportion {p:g}: expected strictly between 0 and 1")
    _check_power(power, alpha)
    h = abs(float(proportion_effectsize(p1, p2)))
    if h == 0:
        raise SpecError(f"proportions {p1:g} and {p2:g} are equal: no sample size detects no difference")
    return math.ceil(_Z.solve_power(effect_size=h, power=power, alpha=alpha, ratio=1.0))


def n_per_arm_means(mean1: float, mean2: float, sd: float, power: float, alpha: float = 0.05) -> int:
    """Participants per arm for a two-sided t-test of mean1 vs mean2 (Cohen's d = diff / sd)."""
    if sd <= 0:
        raise SpecError(f"sd {sd:g}: expected > 0")
    _check_power(power, alpha)
    d = abs(mean1 - mean2) / sd
    if d == 0:
        raise SpecError(f"means {mean1:g} and {mean2:g} are equal: no sample size detects no difference")
    return math.ceil(_T.solve_power(effect_size=d, power=power, alpha=alpha, ratio=1.0))


def d33_proportions(p_comparison: float, n1: float, n2: float, alpha: float = 0.05) -> tuple[float, float]:
    """Cohen's h the original (n1, n2) had 33 % power to detect, and its proportion vs ``p_comparison``."""
    h = float(_Z.solve_power(nobs1=n1, ratio=n2 / n1, power=1 / 3, alpha=alpha))
    angle = math.asin(math.sqrt(p_comparison)) + h / 2
    return h, math.sin(min(angle, math.pi / 2)) ** 2


def d33_means(n1: float, n2: float, alpha: float = 0.05) -> float:
    """Cohen's d the original (n1, n2) had 33 % power to detect (two-sided t-test)."""
    return float(_T.solve_power(nobs1=n1, ratio=n2 / n1, power=1 / 3, alpha=alpha))


def small_telescopes_n(n_original_per_arm: float) -> int:
    """Simonsohn's (2015) replication size: 2.5 × the original's n per arm."""
    return math.ceil(_TELESCOPE_FACTOR * n_original_per_arm)


def plan_proportions(
    p1: float, p2: float, n1: float, n2: float, *, powers: list[float], alpha: float = 0.05
) -> pd.DataFrame:
    """N per arm to detect the original difference, half of it, and d33, at each power.

    Columns: effect (``original``/``half``/``d33``), h, p1, p2, power, n_per_arm, n_total (two arms).
    """
    h = float(proportion_effectsize(p1, p2))
    sign = 1.0 if h >= 0 else -1.0
    h33, _ = d33_proportions(p2, n1, n2, alpha)
    rows = []
    for name, size in (("original", abs(h)), ("half", abs(h) / 2), ("d33", h33)):
        target = math.sin(min(math.asin(math.sqrt(p2)) + sign * size / 2, math.pi / 2)) ** 2
        for power in powers:
            n = n_per_arm_proportions(target, p2, power, alpha)
            rows.append(
                {
                    "effect": name,
                    "h": size,
                    "p1": target,
                    "p2": p2,
                    "power": power,
                    "n_per_arm": n,
                    "n_total": 2 * n,
                }
            )
    return pd.DataFrame(rows)


def plan_means(
    mean1: float, mean2: float, sd: float, n1: float, n2: float, *, powers: list[float], alpha: float = 0.05
) -> pd.DataFrame:
    """As :func:`plan_proportions` for a difference of means with (assumed) common ``sd``."""
    d = abs(mean1 - mean2) / sd
    rows = []
    for name, size in (("original", d), ("half", d / 2), ("d33", d33_means(n1, n2, alpha))):
        for power in powers:
            n = math.ceil(_T.solve_power(effect_size=size, power=power, alpha=alpha, ratio=1.0))
            rows.append(
                {
                    "effect": name,
                    "d": size,
                    "difference": size * sd,
                    "power": power,
                    "n_per_arm": n,
                    "n_total": 2 * n,
                }
            )
    return pd.DataFrame(rows)


# ---- assurance --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplicationAssurance:
    """Shares of simulated replications (n per arm) whose BF_r0 is decisive, if the effect is real or null.

    Attributes
    ----------
    n_per_arm
        The replication's size per arm.
    threshold
        The BF_r0 (or 1/BF_r0) from which a replication counts as decisive.
    real_for, real_against
        With a real effect: the shares decisive for it and against it.
    null_for, null_against
        With no effect: the shares decisive for the effect and against it.
    sims
        Replications simulated under each truth.
    """

    n_per_arm: int
    threshold: float
    real_for: float
    real_against: float
    null_for: float
    null_against: float
    sims: int

    @property
    def real_inconclusive(self) -> float:
        """Share of replications, under the real effect, that decide neither way."""
        return 1.0 - self.real_for - self.real_against


def replication_assurance(
    original: _Pair,
    n_per_arm: int,
    *,
    threshold: float = 10.0,
    sims: int = 4000,
    seed: int,
    prior: tuple[float, float] = (1.0, 1.0),
) -> ReplicationAssurance:
    """Bayesian assurance of a decisive BF_r0 for a replication with ``n_per_arm`` per group.

    Real effect: each group's rate drawn from its original posterior. Null: one rate for both,
    drawn from the pooled original posterior. Replications are binomial draws; BF_r0 in closed
    form, vectorised over simulations.
    """
    rng = np.random.default_rng(seed)
    a, b = prior
    o1, o2 = original
    log_t = math.log(threshold)

    def shares(p1: np.ndarray, p2: np.ndarray) -> tuple[float, float]:
        x1, x2 = rng.binomial(n_per_arm, p1), rng.binomial(n_per_arm, p2)
        log_bf = _vector_bf(original, x1, x2, n_per_arm, a, b)
        return float(np.mean(log_bf >= log_t)), float(np.mean(log_bf <= -log_t))

    real = shares(
        rng.beta(a + o1.successes, b + o1.failures, sims), rng.beta(a + o2.successes, b + o2.failures, sims)
    )
    pooled = rng.beta(a + o1.successes + o2.successes, b + o1.failures + o2.failures, sims)
    null = shares(pooled, pooled)
    return ReplicationAssurance(n_per_arm, threshold, real[0], real[1], null[0], null[1], sims)


def _vector_bf(original: _Pair, x1: np.ndarray, x2: np.ndarray, n: int, a: float, b: float) -> np.ndarray:
    o1, o2 = original
    h_r = (
        betaln(a + o1.successes + x1, b + o1.failures + n - x1)
        - betaln(a + o1.successes, b + o1.failures)
        + betaln(a + o2.successes + x2, b + o2.failures + n - x2)
        - betaln(a + o2.successes, b + o2.failures)
    )
    s_o, f_o = o1.successes + o2.successes, o1.failures + o2.failures
    h_0 = betaln(a + s_o + x1 + x2, b + f_o + 2 * n - x1 - x2) - betaln(a + s_o, b + f_o)
    return h_r - h_0


# ---- verdict ----------------------------------------------------------------------------


def replication_verdict(
    log_bf_r0: float, prob_in_rope: float, *, threshold: float = 10.0, equivalence: float = 0.95
) -> Verdict:
    """The verdict on a replication from its BF_r0 and the ROPE check.

    ``replicated`` if BF_r0 ≥ threshold; ``not replicated`` if BF_r0 ≤ 1/threshold or the
    difference is inside the ROPE with probability ≥ ``equivalence``; else ``inconclusive``.
    """
    if log_bf_r0 >= math.log(threshold):
        return "replicated"
    if log_bf_r0 <= -math.log(threshold) or prob_in_rope >= equivalence:
        return "not replicated"
    return "inconclusive"


def _format_bf(log_bf: float) -> str:
    """BF_r0 as a reviewer would print it: 14.2, 1/8.3, > 1,000, < 1/1,000."""
    if log_bf >= math.log(1000):
        return "> 1,000"
    if log_bf <= -math.log(1000):
        return "< 1/1,000"
    value = math.exp(log_bf)
    return f"{value:.3g}" if value >= 1 else f"1/{1 / value:.3g}"


def reviewer_sentence(
    *,
    metric: str,
    arm: str,
    versus: str,
    n_per_arm: tuple[int, int],
    means: tuple[float, float],
    log_bf_r0: float,
    verdict: Verdict,
    percent: bool,
    threshold: float = 10.0,
) -> str:
    """The sentence a reviewer would write about the replication of ``arm`` > ``versus``."""
    shown = [f"{100 * m:.0f} %" if percent else f"{m:.2f}" for m in means]
    direction = "higher" if means[0] > means[1] else "lower" if means[0] < means[1] else "the same"
    size = (
        f"n = {n_per_arm[0]:,} and {n_per_arm[1]:,}"
        if n_per_arm[0] != n_per_arm[1]
        else f"n = {n_per_arm[0]:,} per arm"
    )
    bf = _format_bf(log_bf_r0)
    bf = bf if bf[0] in "<>" else f"= {bf}"
    outcome = {
        "replicated": "favours the original effect over no effect, so the effect replicated",
        "not replicated": "favours no effect over the original effect, so the effect did not replicate",
        "inconclusive": "is not decisive either way, so the replication is inconclusive",
    }[verdict]
    if verdict == "not replicated" and log_bf_r0 > -math.log(threshold):
        outcome = (
            "is not decisive, but the difference is credibly too small to matter, "
            "so the effect did not replicate"
        )
    return (
        f"In the replication ({size}), {metric} was {direction} under {arm} than under {versus} "
        f"({shown[0]} vs {shown[1]}); the replication Bayes factor BF_r0 {bf} {outcome}."
    )
