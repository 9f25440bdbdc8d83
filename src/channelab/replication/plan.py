"""Planning a replication (``channelab replicate --plan``): sample sizes and assurance per metric."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from channelab.errors import SpecError
from channelab.provenance import Provenance, stamp
from channelab.replication.original import original_moments, original_study, reported_numbers
from channelab.replication.stats import (
    Counts,
    ReplicationAssurance,
    plan_means,
    plan_proportions,
    replication_assurance,
    small_telescopes_n,
)
from channelab.spec import Metric, Spec


@dataclass(frozen=True)
class ReplicationPlan:
    """Sample sizes for replicating the original's contrast, per metric, and their assurance.

    Attributes
    ----------
    citation
        The original study's citation.
    contrast
        The original's headline contrast: arm a vs arm b.
    n_original
        The original's units in arm a and arm b.
    telescopes_n
        The small-telescopes replication size per arm: 2.5 × the original's (Simonsohn 2015).
    tables
        Per metric: rows of effect (``original``, ``half``, ``d33``) × power with the n per arm
        (see :func:`channelab.replication.stats.plan_proportions`). Binary metrics add the
        Bayesian assurance of that n: ``decisive_if_real``, the share of simulated replications
        whose BF_r0 is decisive for the effect when it is real (rates drawn from the original's
        posterior), and ``decisive_if_null``, decisive against it when there is none.
    assumed
        The original's numbers that are assumed rather than published, each with its reason.
    bf_threshold
        The BF_r0 from which the evidence counts as decisive.
    provenance
        Who made the plan from what: versions, seed, spec hash.
    curve
        The assurance over a range of sizes per arm (``n_per_arm``, ``decisive_if_real``,
        ``decisive_if_null``) for the first binary metric; ``None`` without one.
    curve_metric
        The metric of :attr:`curve`.
    """

    citation: str
    contrast: tuple[str, str]
    n_original: tuple[float, float]
    telescopes_n: int
    tables: dict[str, pd.DataFrame]
    assumed: tuple[str, ...]
    bf_threshold: float
    provenance: Provenance
    curve: pd.DataFrame | None = None
    curve_metric: str | None = None


#: Replication sizes per arm at which the assurance curve is simulated.
_CURVE_N = (25, 50, 75, 100, 150, 200, 300, 400, 500, 700, 1000, 1500)


def plan(spec: Spec) -> ReplicationPlan:
    """Plan a replication of ``spec.original``'s contrast on every metric it reports.

    Parameters
    ----------
    spec
        The spec with the original study (``original:``) and the replication's settings
        (``replication:``: powers, alpha, BF threshold, assurance simulations); its ``seed``
        seeds the simulations.

    Returns
    -------
    ReplicationPlan
        The sample sizes per metric, effect and power, their assurance, and the small-telescopes n.

    Raises
    ------
    SpecError
        If the spec has no original study, or no metric with published numbers for both arms.
    """
    o = original_study(spec)
    if not spec.replicated_metrics:
        raise SpecError(
            f"original.arms: no metric has published numbers for both {o.contrast[0]!r} and "
            f"{o.contrast[1]!r}, so there is nothing to plan; add them under each arm's metrics."
        )
    a, b = o.contrast
    n_a, n_b = o.arms[a].n.value, o.arms[b].n.value
    tables = {m.name: _sizes(m, spec) for m in spec.replicated_metrics}
    binary = next((m for m in spec.replicated_metrics if m.type == "binary"), None)
    assumed = tuple(f"{arm} {q}: {why}" for arm, q, _, why in reported_numbers(spec) if why is not None)
    return ReplicationPlan(
        citation=o.citation,
        contrast=(a, b),
        n_original=(n_a, n_b),
        telescopes_n=small_telescopes_n(max(n_a, n_b)),
        tables=tables,
        assumed=assumed,
        bf_threshold=spec.replication.bf_threshold,
        provenance=stamp(spec, seed=spec.seed),
        curve=_curve(binary, spec) if binary is not None else None,
        curve_metric=binary.name if binary is not None else None,
    )


def _sizes(metric: Metric, spec: Spec) -> pd.DataFrame:
    """The n per arm for each effect and power; for a binary metric, with its assurance."""
    cfg = spec.replication
    a, b = original_study(spec).contrast
    (n_a, m_a, sd_a), (n_b, m_b, sd_b) = (original_moments(metric, spec, x) for x in (a, b))
    if metric.type != "binary":
        sd = math.sqrt((sd_a**2 + sd_b**2) / 2)
        return plan_means(m_a, m_b, sd, n_a, n_b, powers=cfg.powers, alpha=cfg.alpha)
    table = plan_proportions(m_a, m_b, n_a, n_b, powers=cfg.powers, alpha=cfg.alpha)
    shares = [_assurance(metric, spec, int(n)) for n in table["n_per_arm"]]
    table["decisive_if_real"] = [s.real_for for s in shares]
    table["decisive_if_null"] = [s.null_against for s in shares]
    return table


def _curve(metric: Metric, spec: Spec) -> pd.DataFrame:
    """The assurance of a binary metric over :data:`_CURVE_N`."""
    rows = []
    for n in _CURVE_N:
        r = _assurance(metric, spec, n)
        rows.append({"n_per_arm": n, "decisive_if_real": r.real_for, "decisive_if_null": r.null_against})
    return pd.DataFrame(rows)


def _assurance(metric: Metric, spec: Spec, n_per_arm: int) -> ReplicationAssurance:
    """The assurance of a replication of a binary metric with ``n_per_arm`` per arm."""
    a, b = original_study(spec).contrast
    (n_a, m_a, _), (n_b, m_b, _) = (original_moments(metric, spec, x) for x in (a, b))
    counts = (Counts(m_a * n_a, n_a), Counts(m_b * n_b, n_b))
    cfg = spec.replication
    return replication_assurance(
        counts, n_per_arm, threshold=cfg.bf_threshold, sims=cfg.assurance_sims, seed=spec.seed
    )
