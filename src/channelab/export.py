"""The machine-readable JSON of an analysis: the stable output contract of DESIGN.md.

Relative lifts are fractions (0.25 = +25 %). Keys beyond the contract are additions only.
"""

from __future__ import annotations

import json
import math
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from channelab.files import write_atomic

if TYPE_CHECKING:
    from channelab.pipeline import Analysis
    from channelab.replicate import ReplicationPlan


def to_dict(analysis: Analysis) -> dict[str, Any]:
    """Render an analysis as the JSON contract (a plain, JSON-safe dictionary)."""
    spec, diag, checks, eff = analysis.spec, analysis.diagnostics, analysis.checks, analysis.effects
    return _clean(
        {
            "experiment": spec.name,
            "title": spec.display_title,
            "control": spec.control,
            "hdi_prob": spec.hdi_prob,
            "n_units": analysis.cells.n_units,
            "design": spec.design,
            "unit": spec.unit.kind,
            "randomised_by": spec.unit.randomised_by or spec.unit.kind,
            "arm_pooling": spec.pools_arms,
            "decision_rule": spec.decision.rule,
            "checks": {
                "srm_p": checks.srm_p,
                "rhat_max": diag.rhat_max,
                "ess_bulk_min": diag.ess_bulk_min,
                "ess_tail_min": diag.ess_tail_min,
                "divergences": diag.divergences,
                "converged": diag.converged,
                "problems": list(diag.problems),
                "arm_counts": checks.arm_counts,
                "planned_shares": checks.planned_shares,
                "findings": [
                    {
                        "check": f.check,
                        "severity": f.severity,
                        "message": f.message,
                        "count": f.count,
                    }
                    for f in checks.findings
                ],
            },
            "arms": [
                {"arm": a.arm, "channel": a.channel, "verdict": a.verdict, "summary": a.summary}
                for a in eff.arms
            ],
            "effects": [
                {
                    "arm": e.arm,
                    "metric": e.metric,
                    "label": e.label,
                    "role": e.role,
                    "type": e.type,
                    "n_arm": e.n_arm,
                    "n_control": e.n_control,
                    "control_mean": e.control_mean,
                    "arm_mean": e.arm_mean,
                    "lift": {
                        "mean": e.lift.mean,
                        "hdi": [e.lift.lower, e.lift.upper],
                        "prob_positive": e.prob_positive,
                        "prob_in_rope": e.prob_in_rope,
                        "prob_above_rope": e.prob_above_rope,
                        "prob_below_rope": e.prob_below_rope,
                        "mcse": e.mcse_lift,
                        "noise_band": list(e.noise),
                    },
                    "abs_lift": {
                        "mean": e.abs_lift.mean,
                        "hdi": [e.abs_lift.lower, e.abs_lift.upper],
                    },
                    "rope": list(e.rope),
                    "verdict": e.verdict,
                    "more_data_factor": e.more_data_factor,
                }
                for e in eff.effects
            ],
            "segments": [
                {
                    "arm": g.arm,
                    "metric": g.metric,
                    "role": g.role,
                    "segment": g.segment,
                    "level": g.level,
                    "share": g.share,
                    "lift": {
                        "mean": g.lift.mean,
                        "hdi": [g.lift.lower, g.lift.upper],
                        "prob_positive": g.prob_positive,
                    },
                    "verdict": g.verdict,
                }
                for g in eff.segments
            ],
            "matching": _matching(analysis),
            "replication": _replication(analysis),
            "data": analysis.data,
            "provenance": analysis.provenance,
        }
    )


def _matching(analysis: Analysis) -> dict[str, Any] | None:
    """Method, estimand, units kept and dropped, and balance before/after (matched designs)."""
    m = analysis.matching
    if m is None:
        return None
    units = m.matched.units
    cfg = analysis.spec.matching
    return {
        "estimand": "ATT",
        "method": cfg.method,
        "covariates": analysis.spec.matching_covariates,
        "caliper": m.matched.caliper,
        "ratio": cfg.ratio,
        "replace": cfg.replace,
        "exact": cfg.exact,
        "treated": int(units["treated"].sum()),
        "treated_matched": int((units["treated"] & (units["weight"] > 0)).sum()),
        "controls_used": int((~units["treated"] & (units["weight"] > 0)).sum()),
        "max_smd": m.max_smd,
        "dropped_by": m.dropped_by(analysis.spec.matching_covariates).to_dict("records"),
        "balance": [
            {
                "covariate": b.covariate,
                "level": b.level,
                "smd_before": b.smd,
                "smd_after": a.smd,
                "variance_ratio_before": b.variance_ratio,
                "variance_ratio_after": a.variance_ratio,
            }
            for b, a in zip(m.before.itertuples(), m.after.itertuples(), strict=True)
        ],
    }


def _replication(analysis: Analysis) -> dict[str, Any] | None:
    """The verdict, the Bayes factors and both priors' posteriors per metric, original vs replication."""
    r = analysis.replication
    if r is None:
        return None

    def est(e: Any) -> dict[str, Any]:
        return {"mean": e.mean, "interval": [e.lower, e.upper], "prob": e.prob}

    return {
        "citation": r.citation,
        "study": r.study,
        "contrast": list(r.contrast),
        "primary": r.primary,
        "verdict": r.verdict,
        "sentence": r.sentence,
        "bf_threshold": r.bf_threshold,
        "metrics": [
            {
                "metric": m.metric,
                "verdict": m.verdict,
                "bf_r0": m.bf_r0,
                "log_bf_r0": m.log_bf_r0,
                "method": m.method,
                "prob_in_rope": m.prob_in_rope,
                "rope": list(m.rope),
                "n_original": list(m.n_original),
                "n_replication": list(m.n_replication),
                "original": est(m.original),
                "replication": est(m.replication),
                "posterior_informed_prior": est(m.informed),
                "posterior_sceptical_prior": est(m.sceptical),
            }
            for m in r.metrics
        ],
        "contrasts": [
            {
                "metric": c.metric,
                "arm": c.arm,
                "versus": c.versus,
                "original": est(c.original),
                "replication": est(c.replication),
            }
            for c in r.contrasts
        ],
        "original_numbers": [
            {"arm": arm, "quantity": q, "value": v, "source": "assumed" if why else "published", "why": why}
            for arm, q, v, why in r.reported
        ],
    }


def write_json(analysis: Analysis, path: Path) -> Path:
    """Write the JSON contract of ``analysis`` to ``path`` atomically."""
    text = json.dumps(to_dict(analysis), indent=2, ensure_ascii=False)
    return write_atomic(path, (text + "\n").encode("utf-8"))


def _clean(value: Any) -> Any:
    """Make a value JSON-safe: numpy scalars to Python, NaN and infinities to null."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_plan_json(plan: ReplicationPlan, path: Path) -> Path:
    """Write a replication plan (sample sizes and assurance per metric) to ``path`` atomically."""
    payload = {
        "citation": plan.citation,
        "contrast": list(plan.contrast),
        "n_original": list(plan.n_original),
        "bf_threshold": plan.bf_threshold,
        "small_telescopes_n_per_arm": plan.telescopes_n,
        "metrics": {name: table.to_dict("records") for name, table in plan.tables.items()},
        "assurance_curve": None if plan.curve is None else plan.curve.to_dict("records"),
        "assurance_curve_metric": plan.curve_metric,
        "assumed": list(plan.assumed),
        "provenance": {"channelab": metadata.version("channelab")},
    }
    text = json.dumps(_clean(payload), indent=2, ensure_ascii=False)
    return write_atomic(path, (text + "\n").encode("utf-8"))
