"""The likelihood families: one declarative table that every floor asks.

A metric's likelihood is the spec's choice (its ``type`` and, for counts and revenue, its
``count_likelihood`` or ``revenue_likelihood``), keyed as the JSON reports it: ``binary``,
``count:negative_binomial``, ``revenue:cell_means``, ... Each row says which model family
fits it, which per-cell statistics that family needs, which likelihoods replace it (in order)
when the data lack those statistics, whether pre-period adjustment is exact, and how its mean
per unit is drawn. The spec, the checks, the aggregation, the model and the reports read these
facts here instead of matching names.

Adding a family: a row in :data:`LIKELIHOODS` (and, for a new spec choice, its name in the
spec's ``Literal``), its typed cell statistics in :mod:`channelab.cells` when it needs new ones,
and its PyMC likelihood in :mod:`channelab.analysis.families`; ``tests/test_likelihoods.py``
checks that the three agree.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

__all__ = ["LIKELIHOODS", "Likelihood", "Statistic", "fitted", "likelihood", "replaced"]

#: Per-cell sums a family may need (besides the cell's units ``n``): ``total`` (Σ y),
#: ``sum_sq`` (Σ y²), ``frequencies`` (units per value), the hurdle's ``n_pos``, ``sum_log`` and
#: ``sum_log_sq`` over positive values, and per interval since entry the time-to-event model's
#: first ``events`` and days at risk (``exposure``); for a ratio, the denominator's Σ y
#: (``den_total``) and Σ y² (``den_sum_sq``) beside the numerator's, and Σ x·y (``cross``).
Statistic = Literal[
    "total",
    "sum_sq",
    "frequencies",
    "n_pos",
    "sum_log",
    "sum_log_sq",
    "events",
    "exposure",
    "den_total",
    "den_sum_sq",
    "cross",
]


@dataclass(frozen=True)
class Likelihood:
    """One row of the table: a likelihood the spec can choose and what it needs.

    Attributes
    ----------
    key
        The spec's choice as the JSON reports it (``type`` or ``type:variant``).
    family
        The model family that fits it (``binomial``, ``poisson``, ``negative_binomial``,
        ``lognormal_hurdle``, ``normal``, ``ratio_normal``): the key of its PyMC likelihood.
    label
        Its name in a sentence (``negative binomial``).
    statistics
        The per-cell sums the family needs.
    fallbacks
        Keys of the likelihoods fitted instead, the first whose statistics the data have, when
        the data lack :attr:`statistics` (aggregated rows, published summaries).
    exact_adjustment
        Whether pre-period columns enter exactly, as slopes from cell sums (normal families);
        the others adjust through the columns' quantile strata.
    mean_per_unit
        How a draw of the mean per unit is made from the link-scale draws.
    modelled_as
        How the report describes the model where it is not the obvious one (``as a hurdle:
        ...``), else empty.
    caveat
        What a reader should know when it is fitted in place of the spec's choice, joined to
        its name (``, which allows any spread``).
    modelled
        Whether the joint PyMC model fits it; a quantile's posterior is drawn apart
        (:mod:`channelab.analysis.quantiles`), from its per-cell ``frequencies`` of values.
    """

    key: str
    family: str
    label: str
    statistics: tuple[Statistic, ...]
    fallbacks: tuple[str, ...] = ()
    exact_adjustment: bool = False
    mean_per_unit: str = ""
    modelled_as: str = ""
    caveat: str = ""
    modelled: bool = True

    @property
    def variant(self) -> str | None:
        """The spec's option value (``negative_binomial``), ``None`` for a type with no choice."""
        return self.key.split(":", 1)[1] if ":" in self.key else None


def _normal(key: str, modelled_as: str = "") -> Likelihood:
    """The normal model of each cell's mean: right for the mean per unit whatever the values' shape."""
    return Likelihood(
        key,
        "normal",
        "normal model of cell means",
        ("total", "sum_sq"),
        exact_adjustment=True,
        mean_per_unit="centre + scale · η (the standardised cell mean, back on the data scale)",
        modelled_as=modelled_as,
        caveat=", which allows any spread",
    )


#: Every likelihood the spec can choose, by key.
LIKELIHOODS: dict[str, Likelihood] = {
    row.key: row
    for row in (
        Likelihood(
            "binary",
            "binomial",
            "binomial",
            ("total",),
            mean_per_unit="expit(η), the share of units with the outcome",
        ),
        Likelihood(
            "binary:survival",
            "piecewise_exponential",
            "time-to-event model",
            ("total", "events", "exposure"),
            mean_per_unit="1 − exp(−Σ_k width_k · exp(η + baseline_k + period_k)), the share of units "
            "with the outcome within the window",
            modelled_as="as time to event (a piecewise-exponential hazard per interval since entry): "
            "every entered unit counts for the days it has been followed",
        ),
        _normal(
            "binary:cell_means",
            "as a share per unit (a normal model of each cell's share, one spread per arm), whose "
            "pre-period adjustment is linear: ANCOVA on the 0-1 outcome, as CUPED and Lin (2013)",
        ),
        Likelihood(
            "count:negative_binomial",
            "negative_binomial",
            "negative binomial",
            ("total", "frequencies"),
            fallbacks=("count:cell_means", "count:poisson"),
            mean_per_unit="exp(η), the mean count per unit",
        ),
        Likelihood(
            "count:poisson",
            "poisson",
            "Poisson model",
            ("total",),
            mean_per_unit="exp(η)",
            caveat=": its intervals are too narrow if the counts vary more than a Poisson's",
        ),
        _normal("count:cell_means"),
        Likelihood(
            "revenue:lognormal_hurdle",
            "lognormal_hurdle",
            "lognormal hurdle",
            ("total", "n_pos", "sum_log", "sum_log_sq"),
            fallbacks=("revenue:cell_means",),
            mean_per_unit="expit(η_any) · exp(η_amount + σ²/2)",
            modelled_as="as a hurdle: whether a unit spends, then lognormal amounts with one log-spread; "
            "right only if the amounts are lognormal with that spread in every arm",
        ),
        _normal(
            "revenue:cell_means",
            "as a mean per unit (a normal likelihood of each cell's mean, one spread per arm), which is "
            "right whatever the shape of the amounts",
        ),
        _normal("continuous"),
        Likelihood(
            "ratio",
            "ratio_normal",
            "bivariate normal model of cell means",
            ("total", "sum_sq", "den_total", "den_sum_sq", "cross"),
            mean_per_unit="centre + scale · η per part (numerator, denominator); the ratio is of their "
            "population means",
            modelled_as="as a ratio of means (Σ numerator / Σ denominator per arm): a bivariate normal "
            "likelihood of each cell's two means, one 2×2 covariance per arm, right whatever the "
            "columns' shapes",
        ),
        Likelihood(
            "quantile",
            "bayesian_bootstrap",
            "Bayesian bootstrap",
            ("total", "frequencies"),
            mean_per_unit="the weighted inverse CDF at q under Dirichlet weights on the arm's units",
            modelled_as="as a quantile of the units' values: the Bayesian bootstrap (Dirichlet weights "
            "on each arm's units, Rubin 1981), outside the joint model, with no covariates",
            modelled=False,
        ),
    )
}


def likelihood(metric_type: str, variant: str | None = None) -> Likelihood:
    """The row of a metric's type and its likelihood option (``None`` for a type with no choice).

    Parameters
    ----------
    metric_type
        ``binary``, ``count``, ``revenue``, ``continuous`` or ``ratio``.
    variant
        The spec's ``count_likelihood`` or ``revenue_likelihood``, or ``survival`` for a binary
        metric analysed as time to event; ignored for a type without one.
    """
    if variant is not None and f"{metric_type}:{variant}" in LIKELIHOODS:
        return LIKELIHOODS[f"{metric_type}:{variant}"]
    if metric_type in LIKELIHOODS:
        return LIKELIHOODS[metric_type]
    return LIKELIHOODS[f"{metric_type}:{variant}"]


def fitted(row: Likelihood, present: Collection[str]) -> Likelihood:
    """The likelihood fitted when the data give only the per-cell statistics ``present``.

    ``row`` itself when its statistics are all present; else the first of its fallbacks whose
    statistics are; else the least demanding of them (the last), whose missing statistics the
    checks then report.

    Parameters
    ----------
    row
        The likelihood the spec asks for.
    present
        The per-cell statistics the data give (:data:`Statistic` names).
    """
    candidates = [row, *(LIKELIHOODS[key] for key in row.fallbacks)]
    return next((c for c in candidates if set(c.statistics) <= set(present)), candidates[-1])


def replaced(used: Likelihood) -> Likelihood:
    """The likelihood a spec asked for when ``used`` is fitted as its fallback.

    Parameters
    ----------
    used
        A likelihood fitted in place of another (one of some row's :attr:`Likelihood.fallbacks`).
    """
    return next(row for row in LIKELIHOODS.values() if used.key in row.fallbacks)
