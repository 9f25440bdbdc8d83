"""Replication in JSON: an analysis's verdict against the original study, and a replication plan."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from channelab.pipeline import Analysis
    from channelab.replication.judge import ArmContrast, Estimate, MetricReplication
    from channelab.replication.labs import LabsMetric, LabsResult
    from channelab.replication.plan import ReplicationPlan


def replication_json(analysis: Analysis) -> dict[str, Any] | None:
    """The verdict, the Bayes factors and both priors' posteriors per metric, original vs replication."""
    r = analysis.replication
    if r is None:
        return None
    return {
        "citation": r.citation,
        "study": r.study,
        "contrast": list(r.contrast),
        "primary": r.primary,
        "verdict": r.verdict,
        "sentence": r.sentence,
        "bf_threshold": r.bf_threshold,
        "metrics": [_metric(m) for m in r.metrics],
        "contrasts": [_contrast(c) for c in r.contrasts],
        "original_numbers": [
            {"arm": arm, "quantity": q, "value": v, "source": "assumed" if why else "published", "why": why}
            for arm, q, v, why in r.reported
        ],
        "labs": None if analysis.labs is None else labs_json(analysis.labs),
    }


def labs_json(labs: LabsResult) -> dict[str, Any]:
    """A many-lab replication: per metric, each lab's effect, the pooled effect, τ and the judgement.

    Differences are arm a − arm b of the original's contrast, on each metric's own scale
    (proportions for a binary metric, the metric's units otherwise).

    Parameters
    ----------
    labs
        The pooled replication (:func:`channelab.replication.labs.judge_labs`).

    Returns
    -------
    dict
        The headline verdict, its sentence and licence, whether the pooled model converged,
        the labs' data warnings, and per metric the labs and the pooled results.
    """
    return {
        "primary": labs.primary,
        "verdict": labs.head.verdict_words,
        "spread": labs.head.spread,
        "sentence": labs.sentence,
        "licence": labs.licence,
        "bf_threshold": labs.bf_threshold,
        "equivalence": labs.equivalence,
        "converged": labs.converged,
        "problems": list(labs.problems),
        "warnings": list(labs.warnings),
        "data": [{"name": m.lab} | d for m, d in zip(labs.head.labs, labs.data, strict=True)],
        "metrics": [_labs_metric(m) for m in labs.metrics],
    }


def _labs_metric(m: LabsMetric) -> dict[str, Any]:
    """One metric pooled across labs: per lab, and the pooled mean, spread, prediction and verdict."""
    j = m.judged
    return {
        "metric": m.metric,
        "labs": [
            {
                "name": lab.lab,
                "n": list(lab.n),
                "means": list(lab.means),
                "estimate": lab.observed.mean,
                "se": lab.se,
                "interval": [lab.observed.lower, lab.observed.upper],
                "shrunken": _estimate(lab.shrunken),
            }
            for lab in m.labs
        ],
        "pooled": {
            "mu": _estimate(m.mu) | {"sd": m.mu_sd},
            "tau": _estimate(m.tau),
            "prediction": _estimate(m.prediction),
            "rope": list(m.rope),
            "share_beyond_rope": _estimate(m.beyond_rope),
            "share_beyond_rope_opposite": _estimate(m.opposite_rope),
            "spread": m.spread,
            "bf_r0": j.bf_r0,
            "log_bf_r0": j.log_bf_r0,
            "prob_in_rope": j.prob_in_rope,
            "posterior_informed_prior": _estimate(j.informed),
            "posterior_sceptical_prior": _estimate(j.sceptical),
            "method": "pooled mu's posterior as a normal (mean, sd), judged by the normal approximation",
            "verdict": m.verdict_words,
        },
    }


def _metric(m: MetricReplication) -> dict[str, Any]:
    """One metric's verdict, Bayes factor and estimates: original, replication and both posteriors."""
    return {
        "metric": m.metric,
        "verdict": m.verdict,
        "bf_r0": m.bf_r0,
        "log_bf_r0": m.log_bf_r0,
        "method": m.method,
        "prob_in_rope": m.prob_in_rope,
        "rope": list(m.rope),
        "n_original": list(m.n_original),
        "n_replication": list(m.n_replication),
        "original": _estimate(m.original),
        "replication": _estimate(m.replication),
        "posterior_informed_prior": _estimate(m.informed),
        "posterior_sceptical_prior": _estimate(m.sceptical),
    }


def _contrast(c: ArmContrast) -> dict[str, Any]:
    """One arm against another on one metric, in the original and in the replication."""
    return {
        "metric": c.metric,
        "arm": c.arm,
        "versus": c.versus,
        "original": _estimate(c.original),
        "replication": _estimate(c.replication),
    }


def _estimate(e: Estimate) -> dict[str, Any]:
    return {"mean": e.mean, "interval": [e.lower, e.upper], "prob": e.prob}


def plan_json(plan: ReplicationPlan) -> dict[str, Any]:
    """A replication plan as JSON-ready data: sample sizes and assurance per metric.

    Parameters
    ----------
    plan
        The plan (:func:`channelab.replication.plan.plan`); nothing is recomputed.

    Returns
    -------
    dict
        The original study's numbers, each metric's table of sample sizes, the assurance curve
        and the provenance record.
    """
    return {
        "citation": plan.citation,
        "contrast": list(plan.contrast),
        "n_original": list(plan.n_original),
        "bf_threshold": plan.bf_threshold,
        "small_telescopes_n_per_arm": plan.telescopes_n,
        "metrics": {name: table.to_dict("records") for name, table in plan.tables.items()},
        "assurance_curve": None if plan.curve is None else plan.curve.to_dict("records"),
        "assurance_curve_metric": plan.curve_metric,
        "assumed": list(plan.assumed),
        "provenance": plan.provenance.as_dict(),
    }
