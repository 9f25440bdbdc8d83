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
    plan_means,
    plan_proportions,
    replication_assurance,
    small_telescopes_n,
)
from channelab.spec import Spec


@dataclass(frozen=True)
class ReplicationPlan:
    """Sample sizes for replicating the original's contrast, per metric, and their assurance.

    ``tables`` per metric: rows of effect (``original``, ``half``, ``d33``) × power with the n per
    arm (see :func:`channelab.replication.stats.plan_proportions`). Binary metrics add the Bayesian
    assurance of that n: ``decisive_if_real``, the share of simulated replications whose BF_r0
    is decisive for the effect when it is real (rates drawn from the original's posterior), and
    ``decisive_if_null``, decisive against it when there is none. ``curve`` is that assurance
    over :data:`CURVE_N` for the first binary metric (``curve_metric``).
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
CURVE_N = (25, 50, 75, 100, 150, 200, 300, 400, 500, 700, 1000, 1500)


def plan(spec: Spec, *, seed: int | None = None) -> ReplicationPlan:
    """Plan a replication of ``spec.original``'s contrast on every metric it reports."""
    o = original_study(spec)
    if not spec.replicated_metrics:
        raise SpecError(
            f"original.arms: no metric has published numbers for both {o.contrast[0]!r} and "
            f"{o.contrast[1]!r}, so there is nothing to plan; add them under each arm's metrics."
        )
    cfg = spec.replication
    a, b = o.contrast
    n_a, n_b = o.arms[a].n.value, o.arms[b].n.value
    seed = spec.seed if seed is None else seed
    tables: dict[str, pd.DataFrame] = {}
    curve, curve_metric = None, None
    for m in spec.replicated_metrics:
        (_, m_a, sd_a), (_, m_b, sd_b) = (original_moments(m, spec, x) for x in (a, b))
        if m.type == "binary":
            table = plan_proportions(m_a, m_b, n_a, n_b, powers=cfg.powers, alpha=cfg.alpha)
            counts = (Counts(m_a * n_a, n_a), Counts(m_b * n_b, n_b))
            shares = [
                replication_assurance(
                    counts, int(n), threshold=cfg.bf_threshold, sims=cfg.assurance_sims, seed=seed
                )
                for n in table["n_per_arm"]
            ]
            table["decisive_if_real"] = [s.real_for for s in shares]
            table["decisive_if_null"] = [s.null_against for s in shares]
            if curve is None:
                curve_metric = m.name
                curve = pd.DataFrame(
                    [
                        {"n_per_arm": n, "decisive_if_real": r.real_for, "decisive_if_null": r.null_against}
                        for n in CURVE_N
                        for r in [
                            replication_assurance(
                                counts, n, threshold=cfg.bf_threshold, sims=cfg.assurance_sims, seed=seed
                            )
                        ]
                    ]
                )
        else:
            sd = math.sqrt((sd_a**2 + sd_b**2) / 2)
            table = plan_means(m_a, m_b, sd, n_a, n_b, powers=cfg.powers, alpha=cfg.alpha)
        tables[m.name] = table
    assumed = tuple(f"{arm} {q}: {why}" for arm, q, _, why in reported_numbers(spec) if why is not None)
    return ReplicationPlan(
        citation=o.citation,
        contrast=(a, b),
        n_original=(n_a, n_b),
        telescopes_n=small_telescopes_n(max(n_a, n_b)),
        tables=tables,
        assumed=assumed,
        bf_threshold=cfg.bf_threshold,
        provenance=stamp(spec, seed=seed),
        curve=curve,
        curve_metric=curve_metric,
    )
