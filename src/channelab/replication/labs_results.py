"""What a many-lab replication found: per lab, per metric pooled, and as a whole.

Plain results (no statistics here): :mod:`channelab.replication.labs` fills them, the report and
the JSON read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from channelab.replication.judge import Estimate, MetricReplication

__all__ = ["LabEffect", "LabEstimate", "LabsMetric", "LabsResult", "PooledDraws", "Spread"]

Spread = Literal["labs disagree", "labs agree", "spread uncertain"]


@dataclass(frozen=True)
class LabEstimate:
    """One lab's estimate of the original's contrast on one metric (what the pooled model reads).

    Attributes
    ----------
    lab
        The lab's name.
    metric
        The metric.
    n, means
        Units and means per arm (a, b).
    estimate, se
        The difference in means a − b and its normal-approximation standard error.
    """

    lab: str
    metric: str
    n: tuple[int, int]
    means: tuple[float, float]
    estimate: float
    se: float


@dataclass(frozen=True)
class PooledDraws:
    """Posterior draws of the many-lab model of one metric, on the difference scale.

    Attributes
    ----------
    mu
        The mean true effect across labs, shape (S,).
    tau
        The spread of true effects between labs, shape (S,).
    theta
        Each lab's shrunken true effect, shape (S, labs), in the labs' order.
    predicted
        A new lab's true effect, shape (S,).
    """

    mu: np.ndarray
    tau: np.ndarray
    theta: np.ndarray
    predicted: np.ndarray


@dataclass(frozen=True)
class LabEffect:
    """One lab's effect, as it measured it and after pooling.

    Attributes
    ----------
    lab
        The lab's name.
    n, means
        Units and means per arm (a, b).
    observed
        Its own difference with its normal-approximation interval (the spec's mass).
    se
        The standard error of :attr:`observed`.
    shrunken
        Its true effect given every lab: posterior mean and central interval.
    """

    lab: str
    n: tuple[int, int]
    means: tuple[float, float]
    observed: Estimate
    se: float
    shrunken: Estimate


@dataclass(frozen=True)
class LabsMetric:
    """The pooled replication of the original's contrast on one metric.

    Attributes
    ----------
    metric, label, type
        The metric's name, display name and type.
    labs
        Each lab's effect, in the spec's order.
    mu
        The mean true effect across labs (central interval).
    mu_sd
        μ's posterior sd: with μ's posterior mean, the replication's estimate and standard
        error in :attr:`judged`.
    tau
        The spread of true effects between labs.
    prediction
        Where a new lab's true effect is predicted to lie.
    rope
        The ROPE as a difference at the pooled arm-b mean (low, high).
    beyond_rope
        The share of the labs whose true effect lies beyond the ROPE in the original's
        direction: posterior mean and interval.
    opposite_rope
        The share whose true effect lies beyond the ROPE the other way.
    spread
        What τ says about the labs (see the module's licences).
    judged
        The replication judgement on the pooled evidence: BF_r0, both priors, the verdict.
    """

    metric: str
    label: str
    type: str
    labs: tuple[LabEffect, ...]
    mu: Estimate
    mu_sd: float
    tau: Estimate
    prediction: Estimate
    rope: tuple[float, float]
    beyond_rope: Estimate
    opposite_rope: Estimate
    spread: Spread
    judged: MetricReplication

    @property
    def verdict_words(self) -> str:
        """``replicated across labs``, ``not replicated across labs`` or ``inconclusive across labs``."""
        return f"{self.judged.verdict} across labs"


@dataclass(frozen=True)
class LabsResult:
    """Everything the report and JSON say about a many-lab replication.

    Attributes
    ----------
    citation
        The original study's citation.
    contrast
        The original's contrast: arm a vs arm b.
    primary
        The metric whose verdict is the headline.
    metrics
        The pooled replication per metric the original reports.
    bf_threshold, equivalence
        The spec's thresholds (what licences the verdicts).
    sentence
        The page-1 sentence about the primary metric.
    licence
        The conditions under which the sentence's words are said.
    converged
        Whether the pooled model passed the convergence gate.
    problems
        The gate's problems when it did not.
    warnings
        Per lab, the data checks' warnings (``lab: message``).
    data
        Per lab (in order), its data's fingerprint: path as the spec names it, rows, bytes and
        SHA-256, or what its published summaries are.
    """

    citation: str
    contrast: tuple[str, str]
    primary: str
    metrics: tuple[LabsMetric, ...]
    bf_threshold: float
    equivalence: float
    sentence: str
    licence: str
    converged: bool
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    data: tuple[dict[str, object], ...] = ()

    def get(self, metric: str) -> LabsMetric:
        """The pooled replication of one metric."""
        return next(m for m in self.metrics if m.metric == metric)

    @property
    def head(self) -> LabsMetric:
        """The primary metric's pooled replication."""
        return self.get(self.primary)

    @property
    def n_labs(self) -> int:
        """How many labs were pooled."""
        return len(self.head.labs)
