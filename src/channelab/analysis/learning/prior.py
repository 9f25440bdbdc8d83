"""A learned prior on the link scale: the programme's prediction for the next test, as an arm prior.

``learn`` predicts the next test's true effect of a channel on a metric as Normal(m, s) on the
log-lift scale (or on the difference scale for a metric around zero). The model of one test
puts its prior on the arm effect β on the metric's link scale, so the prediction is carried
there at the test's own control level c (the control's observed mean):

============== =============================== ===============================================
family         β                               from log lift (m, s)
============== =============================== ===============================================
binomial       logit(c·e^x) − logit(c)          mean logit(c·e^m) − logit(c), sd s / (1 − c·e^m)
Poisson, NB    log ratio                       mean m, sd s (exact)
normal         difference / the metric's sd σ  mean c (e^m − 1) / σ, sd c·e^m·s / σ
============== =============================== ===============================================

(the sds by the delta method at the mean; a difference prediction (d, s) goes through the same
links: logit(c + d) − logit(c) with sd s / (p (1 − p)), log((c + d) / c) with sd s / (c + d), and
d / σ with sd s / σ). The two-part lognormal hurdle has no single arm effect to carry a relative
lift, so a learned prior does not apply to it (:func:`link_prior` returns None and says why).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.special import logit

from channelab.analysis.families import standardiser
from channelab.analysis.results import Effects
from channelab.cells import Cells
from channelab.limits import MAX_PRIOR
from channelab.spec import Metric, PriorEntries, Priors, Spec, pooled_channel

__all__ = ["LearnedStart", "PriorUse", "link_prior", "start_from"]

#: Rates a binomial link is evaluated at are kept inside (0, 1) by this margin.
_EDGE = 1e-6


def _binomial(c: float, scale: str, mean: float, sd: float) -> tuple[float, float] | None:
    if not 0 < c < 1:
        return None
    # where the prediction reaches rates at or above 1 (two sds up), no logit shift carries it
    top = c * math.exp(mean + 2 * sd) if scale == "loglift" else c + mean + 2 * sd
    bottom = c * math.exp(mean - 2 * sd) if scale == "loglift" else c + mean - 2 * sd
    if top >= 1 - _EDGE or bottom <= 0:
        return None
    p = c * math.exp(mean) if scale == "loglift" else c + mean
    beta = float(logit(p) - logit(c))
    return beta, (sd / (1 - p) if scale == "loglift" else sd / (p * (1 - p)))


def _log(c: float, scale: str, mean: float, sd: float) -> tuple[float, float] | None:
    if scale == "loglift":
        return mean, sd
    if c <= 0 or c + mean <= 0:
        return None
    return math.log((c + mean) / c), sd / (c + mean)


def _normal(c: float, sigma: float, scale: str, mean: float, sd: float) -> tuple[float, float] | None:
    if scale == "loglift":
        if c <= 0:  # a ratio of means has no meaning around a mean of zero or below
            return None
        return c * math.expm1(mean) / sigma, abs(c) * math.exp(mean) * sd / sigma
    return mean / sigma, sd / sigma


def link_prior(
    family: str, control_mean: float, sigma: float, scale: str, mean: float, sd: float
) -> tuple[float, float] | None:
    """The learned prediction (``mean``, ``sd`` on ``scale``) as a prior of the arm effect.

    Parameters
    ----------
    family : str
        The metric's model family (``binomial``, ``poisson``, ``negative_binomial``, ``normal``,
        ``lognormal_hurdle``).
    control_mean : float
        The control's observed mean of the metric in this test.
    sigma : float
        The metric's pooled sd (the normal model's standardiser); unused by the other families.
    scale : str
        ``loglift`` or ``diff``: the scale of the prediction.
    mean, sd : float
        The programme's prediction for the next test on that scale.

    Returns
    -------
    tuple of (float, float) or None
        Mean and sd on the link scale, or None where the family has no single arm effect (the
        hurdle), or the prediction has no image on it at this control level (rates at or above 1
        or below 0 within two sds, a count below zero, a ratio around a mean of zero or below), or
        the image is beyond the bound of any prior of the model.
    """
    match family:
        case "binomial":
            link = _binomial(control_mean, scale, mean, sd)
        case "poisson" | "negative_binomial":
            link = _log(control_mean, scale, mean, sd)
        case "normal":
            link = _normal(control_mean, sigma if sigma > 0 else 1.0, scale, mean, sd)
        case _:
            return None
    if (
        link is None
        or not all(map(math.isfinite, link))
        or abs(link[0]) > MAX_PRIOR
        or not 0 < link[1] <= MAX_PRIOR
    ):
        return None  # beyond what a prior of the model may be (the spec's own bound)
    return link


@dataclass(frozen=True, slots=True)
class PriorUse:
    """One arm and metric that started from a learned prior.

    Attributes
    ----------
    arm, channel, metric
        The arm, the channel it was pooled under, and the metric.
    tests
        How many tests the programme learned that prediction from.
    scale
        ``loglift`` or ``diff``: the prediction's scale.
    mean, sd
        The prediction for the next test on that scale.
    link_mean, link_sd
        The arm effect's prior on the metric's link scale.
    """

    arm: str
    channel: str
    metric: str
    tests: int
    scale: str
    mean: float
    sd: float
    link_mean: float
    link_sd: float


@dataclass(frozen=True, slots=True)
class LearnedStart:
    """How a run used a learned-priors file, and its result under the default priors.

    Attributes
    ----------
    path
        The file, as the spec names it.
    name
        The programme it was learned from.
    uses
        Each arm and metric that started from the programme's prediction.
    notes
        Arms and metrics left at the default priors, and why.
    default_effects
        The effects under the default priors (set after the second fit).
    """

    path: str
    name: str
    uses: tuple[PriorUse, ...]
    notes: tuple[str, ...] = ()
    default_effects: Effects | None = None


def _arm_priors(
    spec: Spec, cells: Cells, m: Metric, entries: PriorEntries, start: tuple[list[PriorUse], list[str]]
) -> Metric:
    """``m`` with the learned prior on each arm of a channel the file knows, for this metric."""
    uses, notes = start
    priors = spec.priors_for(m)
    arm_mu, arm_sds = dict(priors.arm_mu), dict(priors.arm_sds)
    control = float(cells.arm_totals(m.name)["mean"].loc[spec.control])
    sigma = standardiser(cells.metrics[m.name], cells.units(m.name))[1]
    for arm in spec.treatments:
        channel = pooled_channel(arm, spec.arms[arm].channel)
        if (e := entries.get((channel, m.name))) is None:
            continue
        link = link_prior(m.likelihood.family, control, sigma, e["scale"], e["mean"], e["sd"])
        if link is None:
            notes.append(
                f"{arm} on {m.name}: a {m.likelihood.label} has no single arm effect (default prior)"
            )
            continue
        arm_mu[arm], arm_sds[arm] = link
        uses.append(PriorUse(arm, channel, m.name, e["tests"], e["scale"], e["mean"], e["sd"], *link))
    own = (m.priors or Priors()).model_copy(update={"arm_mu": arm_mu, "arm_sds": arm_sds})
    return m.model_copy(update={"priors": own})


def _why_not(m: Metric) -> str:
    if m.likelihood.family == "lognormal_hurdle":
        return f"a {m.likelihood.label} has no single arm effect to carry a prediction"
    return "the programme's prediction cannot be carried to its link scale at this test's control level"


def start_from(
    spec: Spec, cells: Cells, entries: PriorEntries, *, path: str, name: str
) -> tuple[Spec, LearnedStart]:
    """``spec`` with each learned prediction on the arm effects of its channel, per metric.

    Parameters
    ----------
    spec
        The experiment (likelihoods as fitted; arms not pooled).
    cells
        Its cells, or simulated cells of its design (the control's level of each metric).
    entries
        The predictions by (channel, metric): ``scale``, ``mean``, ``sd``, ``tests``.
    path, name
        The learned-priors file as the spec names it, and the programme's name.

    Returns
    -------
    tuple of (Spec, LearnedStart)
        The spec to fit, and what was used (notes for arms and metrics left at the defaults).
    """
    uses: list[PriorUse] = []
    notes: list[str] = []
    metrics = [_arm_priors(spec, cells, m, entries, (uses, notes)) for m in spec.metrics]
    if not uses:
        notes.append(f"no arm's channel and metric is among those {name} learned about: default priors")
    return spec.model_copy(update={"metrics": metrics}), LearnedStart(path, name, tuple(uses), tuple(notes))
