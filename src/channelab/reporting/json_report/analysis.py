"""The JSON contract of an analysis (DESIGN.md): checks, arms, effects and every optional section.

:func:`analysis_json` lays out the top level in the contract's order; each part is built by a
short function here, and the sections only some designs have by their own modules
(``economics``, ``adjustment``, ``matching``, ``replication``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from channelab.analysis.claims import claims_made
from channelab.cells import RatioCells
from channelab.reporting.json_report.adjustment import adjustment_json
from channelab.reporting.json_report.common import interval_json
from channelab.reporting.json_report.economics import arm_economics_json, ranking_json
from channelab.reporting.json_report.learned_prior import learned_prior_json
from channelab.reporting.json_report.matching import matching_json
from channelab.reporting.json_report.replication import replication_json
from channelab.reporting.json_report.survival import time_to_event_json
from channelab.reporting.words import data_origin

if TYPE_CHECKING:
    from channelab.analysis.results import Effect, Effects, FollowThrough, SegmentEffect
    from channelab.cells import Cells
    from channelab.pipeline import Analysis
    from channelab.spec import Metric, Spec


def analysis_json(analysis: Analysis) -> dict[str, Any]:
    """Render an analysis as the JSON contract (a plain, JSON-safe dictionary).

    Parameters
    ----------
    analysis
        A finished analysis (:func:`channelab.pipeline.analyse`); nothing is recomputed.

    Returns
    -------
    dict
        The contract's keys in its order; relative lifts are fractions (0.25 = +25 %).
    """
    spec, eff = analysis.spec, analysis.effects
    return {
        "experiment": spec.name,
        "title": spec.display_title,
        "control": spec.control,
        "hdi_prob": spec.hdi_prob,
        "intervals": "equal-tailed",  # of lifts and differences; the key name 'hdi' is kept
        "n_units": analysis.cells.n_units,
        "design": spec.design,
        "input": spec.input_kind,
        "unit": spec.unit.kind,
        "randomised_by": spec.unit.randomised_by or spec.unit.kind,
        "arm_pooling": spec.pools_arms,
        "decision_rule": spec.decision.rule,
        "time": _time(spec, analysis.cells),
        "checks": _checks(analysis),
        "arms": _arms(eff),
        "ranking": ranking_json(eff.economics),
        "credibly_best": None if eff.economics is None else eff.economics.best,
        "claim_level": eff.claim_level,
        "claims": [
            {"claim": c.kind, "arm": c.arm, "metric": c.metric, "detail": c.detail} for c in claims_made(eff)
        ],
        "effects": [
            _effect(e, spec) | _ratio_sums(e, spec, analysis.cells) | _quantile(e, spec) for e in eff.effects
        ],
        "follow_through": [_follow_through(f) for f in eff.follow_through],
        "segments": [_segment(g) for g in eff.segments],
        "time_to_event": time_to_event_json(eff),
        "matching": matching_json(analysis),
        "replication": replication_json(analysis),
        "adjustment": adjustment_json(analysis),
        "learned_priors": learned_prior_json(analysis),
        "data": {**analysis.data, "origin": data_origin(spec)},
        "provenance": analysis.provenance.as_dict(),
    }


def _checks(analysis: Analysis) -> dict[str, Any]:
    """The data checks and the sampler's convergence gate, with every fit attempted."""
    diag, checks = analysis.diagnostics, analysis.checks
    return {
        "srm_p": checks.srm_p,
        "rhat_max": diag.rhat_max,
        "ess_bulk_min": diag.ess_bulk_min,
        "ess_tail_min": diag.ess_tail_min,
        "divergences": diag.divergences,
        "converged": diag.converged,
        "problems": list(diag.problems),
        "notes": list(diag.notes),
        "fits": [
            {
                "draws": a.draws,
                "tune": a.tune,
                "target_accept": a.target_accept,
                "seed": a.seed,
                "problems": list(a.problems),
            }
            for a in diag.attempts
        ],
        "arm_counts": checks.arm_counts,
        "planned_shares": checks.planned_shares,
        "balance": [
            {"column": b.column, "mean": b.mean, "sd": b.sd, "smd": b.smd, "p_value": b.p_value}
            for b in checks.balance
        ],
        "findings": [
            {
                "check": f.check,
                "severity": f.severity,
                "message": f.message,
                "count": f.count,
            }
            for f in checks.findings
        ],
    }


def _arms(eff: Effects) -> list[dict[str, Any]]:
    """Each arm's verdict, harms, sentence, money against the control and effects' covariances."""
    return [
        {
            "arm": a.arm,
            "channel": a.channel,
            "verdict": a.verdict,
            "harms": list(a.harms),
            "summary": a.summary,
            "economics": arm_economics_json(eff.economics, a.arm),
            "covariances": [  # across metrics, of the effects below (null where the data cannot say)
                {"metric_a": c.metric_a, "metric_b": c.metric_b, "diff": c.diff, "loglift": c.loglift}
                for c in a.covariances
            ],
        }
        for a in eff.arms
    ]


def _effect(e: Effect, spec: Spec) -> dict[str, Any]:
    """One arm's effect on one metric: means, relative and absolute lift, verdict and model."""
    return {
        "arm": e.arm,
        "metric": e.metric,
        "label": e.label,
        "role": e.role,
        "type": e.type,
        "n_arm": e.n_arm,
        "n_control": e.n_control,
        "control_mean": e.control_mean,
        "arm_mean": e.arm_mean,
        "lift": _relative(e),
        "ratio": None  # arm mean ÷ control mean: 1 + lift
        if not e.relative_defined
        else {"mean": 1 + e.lift.mean, "hdi": [1 + e.lift.lower, 1 + e.lift.upper]},
        "abs_lift": {  # the estimand, on which the verdict rests
            "mean": e.abs_lift.mean,
            "hdi": [e.abs_lift.lower, e.abs_lift.upper],
            "prob_positive": e.prob_positive,
            "mcse": e.mcse_abs_lift,
            "noise_band": list(e.abs_noise),
        },
        "diff_sd": e.diff_sd,  # posterior sd of the difference (abs_lift)
        "loglift": None  # log(1 + lift): posterior mean and sd, null where the lift is not defined
        if e.loglift_mean is None
        else {"mean": e.loglift_mean, "sd": e.loglift_sd},
        "conditional": e.conditional,
        "per_unit_of": e.derived_from,
        "rope": list(e.rope),
        "verdict": e.verdict,
        "more_data_factor": e.more_data_factor,
        "no_events_in": list(e.no_events),  # there the data bound the level from one side only
        "likelihood": _likelihood(spec, e.derived_from or e.metric),
        "denominator": _metric(spec, e.derived_from or e.metric).denominator,
    }


def _ratio_sums(e: Effect, spec: Spec, cells: Cells) -> dict[str, Any]:
    """For a ratio metric: its two columns and, per arm (control and this arm), the raw Σ x and Σ y.

    ``arm_mean`` and ``control_mean`` are their quotients; nothing for another metric.
    """
    if e.type != "ratio" or e.derived_from is not None:  # a per-unit row is no metric of the spec
        return {}
    m = _metric(spec, e.metric)
    s = cells.metrics[m.name]
    if not isinstance(s, RatioCells):
        return {}
    x, y = cells.per_arm(s.total), cells.per_arm(s.den_total)
    index = {a: i for i, a in enumerate(cells.arms)}
    return {
        "numerator": m.data_columns[0],
        "sums": {
            a: {"numerator": float(x[index[a]]), "denominator": float(y[index[a]])}
            for a in (spec.control, e.arm)
        },
    }


def _quantile(e: Effect, spec: Spec) -> dict[str, Any]:
    """For a quantile metric: its column, level q and which values count; ``arm_mean`` is the raw quantile."""
    if e.type != "quantile" or e.derived_from is not None:
        return {}
    m = _metric(spec, e.metric)
    return {"column": m.source_column, "q": m.q, "among": m.among}


def _relative(e: Effect) -> dict[str, Any]:
    """The relative lift (a display quantity: null where not defined) and the decision's probabilities."""
    shown = e.relative_defined
    return {
        "defined": shown,
        "mean": e.lift.mean if shown else None,
        "hdi": [e.lift.lower, e.lift.upper] if shown else None,
        "prob_positive": e.prob_positive,  # P(arm mean > control mean), from the difference
        "prob_in_rope": e.prob_in_rope,
        "prob_above_rope": e.prob_above_rope,
        "prob_below_rope": e.prob_below_rope,
        "mcse": e.mcse_lift if shown else None,
        "noise_band": list(e.noise) if shown else None,
    }


def _metric(spec: Spec, name: str) -> Metric:
    return next(m for m in spec.metrics if m.name == name)


def _likelihood(spec: Spec, metric: str) -> str:
    """The likelihood an effect's figures come from: its key in :mod:`channelab.likelihoods`."""
    return _metric(spec, metric).likelihood.key


def _follow_through(f: FollowThrough) -> dict[str, Any]:
    """Of an arm's engaged units, how many took the outcome step, against the unengaged and the control."""
    return {
        "arm": f.arm,
        "engagement": f.engagement,
        "outcome": f.outcome,
        "engaged": f.engaged,
        "took_outcome": f.took,
        "rate": interval_json(f.rate),
        "rate_unengaged": None if f.unengaged is None else interval_json(f.unengaged),
        "lift": None if f.lift is None else interval_json(f.lift),
        "prob_below_control": f.prob_lower,
    }


def _segment(g: SegmentEffect) -> dict[str, Any]:
    """An arm's lift within one level of the ``model.lift_by`` covariate."""
    return {
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


def _time(spec: Spec, cells: Cells) -> dict[str, Any] | None:
    """When the analysis stands (``as_of``), each metric's window, and the units still maturing per arm."""
    if not spec.timed or spec.as_of is None:
        return None
    windowed = [m for m in spec.metrics if m.window_days is not None]
    return {
        "as_of": spec.as_of.isoformat(),
        "entered_at": spec.unit.entered_at,
        "outcome_dates": {m.name: m.at for m in spec.metrics if m.at is not None},
        "windows_days": {m.name: m.window_days for m in windowed},
        "maturing": {
            m.name: {a: round(float(n)) for a, n in zip(cells.arms, cells.maturing(m.name), strict=True)}
            for m in windowed
        },
    }
