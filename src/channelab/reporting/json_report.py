"""The JSON outputs as plain data: an analysis (the contract of DESIGN.md), a design, a plan.

Relative lifts are fractions (0.25 = +25 %). Keys beyond the contract are additions only.
Writing (and the one NaN policy) is :func:`channelab.files.json_bytes`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from channelab.analysis.claims import claims_made

if TYPE_CHECKING:
    from channelab.analysis.results import Economics, Effect, Interval
    from channelab.cells import Cells
    from channelab.design.plan import Design
    from channelab.pipeline import Analysis
    from channelab.pipeline.monitor import Monitor
    from channelab.replication.plan import ReplicationPlan
    from channelab.spec import Metric, Spec


def analysis_json(analysis: Analysis) -> dict[str, Any]:
    """Render an analysis as the JSON contract (a plain, JSON-safe dictionary)."""
    spec, diag, checks, eff = analysis.spec, analysis.diagnostics, analysis.checks, analysis.effects
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
        "time": time_json(spec, analysis.cells),
        "checks": {
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
        },
        "arms": [
            {
                "arm": a.arm,
                "channel": a.channel,
                "verdict": a.verdict,
                "harms": list(a.harms),
                "summary": a.summary,
                "economics": _arm_economics(eff.economics, a.arm),
            }
            for a in eff.arms
        ],
        "ranking": _ranking(eff.economics),
        "credibly_best": None if eff.economics is None else eff.economics.best,
        "claim_level": eff.claim_level,
        "claims": [
            {"claim": c.kind, "arm": c.arm, "metric": c.metric, "detail": c.detail} for c in claims_made(eff)
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
                "conditional": e.conditional,
                "per_unit_of": e.derived_from,
                "rope": list(e.rope),
                "verdict": e.verdict,
                "more_data_factor": e.more_data_factor,
                "no_events_in": list(e.no_events),  # there the estimate rests on the prior
                "likelihood": _likelihood(analysis.spec, e.derived_from or e.metric),
                "denominator": _metric(spec, e.derived_from or e.metric).denominator,
            }
            for e in eff.effects
        ],
        "follow_through": [
            {
                "arm": f.arm,
                "engagement": f.engagement,
                "outcome": f.outcome,
                "engaged": f.engaged,
                "took_outcome": f.took,
                "rate": _iv(f.rate),
                "rate_unengaged": None if f.unengaged is None else _iv(f.unengaged),
                "lift": None if f.lift is None else _iv(f.lift),
                "prob_below_control": f.prob_lower,
            }
            for f in eff.follow_through
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
        "adjustment": _adjustment(analysis),
        "data": analysis.data,
        "provenance": analysis.provenance.as_dict(),
    }


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


def _arm_economics(economics: Economics | None, arm: str) -> dict[str, Any] | None:
    """An arm's money against the control, per unit and per 1,000 units (None without costs or values)."""
    if economics is None:
        return None
    a = economics.get(arm)
    return {
        "currency": economics.currency,
        "cost_per_unit": a.cost_per_unit,
        "value_per_unit": _iv(a.value_per_unit),
        "net_value_per_unit": _iv(a.net_per_unit),
        "return_on_spend": None if a.return_on_spend is None else _iv(a.return_on_spend),
        "extra_outcomes": [
            {
                "metric": o.metric,
                "per_1000_units": _iv(o.per_thousand),
                "per_1000_spent": None if o.per_thousand_spent is None else _iv(o.per_thousand_spent),
                "cost_each": None  # median and equal-tailed interval, where the increment is credibly > 0
                if o.cost_each is None
                else {"median": o.cost_each.mean, "interval": [o.cost_each.lower, o.cost_each.upper]},
                "prob_no_increment": o.prob_no_increment,
            }
            for o in a.outcomes
        ],
        "prob_best": a.prob_best,
        "expected_loss": a.expected_loss,
    }


def _ranking(economics: Economics | None) -> list[dict[str, Any]] | None:
    """Every arm, the control included, by P(highest net value), with the expected loss of choosing it."""
    if economics is None:
        return None
    order = sorted(economics.prob_best, key=lambda a: (-economics.prob_best[a], economics.expected_loss[a]))
    return [
        {
            "arm": a,
            "prob_best": economics.prob_best[a],
            "expected_loss": economics.expected_loss[a],
            "credibly_best": a == economics.best,
        }
        for a in order
    ]


def _adjustment(analysis: Analysis) -> dict[str, Any] | None:
    """The pre-period adjustment: columns, method and R² per metric, each lift with and without."""
    a = analysis.adjustment
    if a is None:
        return None

    def lift(iv: Interval, abs_iv: Interval) -> dict[str, Any]:
        return {
            "lift": {"mean": iv.mean, "hdi": [iv.lower, iv.upper]},
            "abs_lift": {"mean": abs_iv.mean, "hdi": [abs_iv.lower, abs_iv.upper]},
            "width": abs_iv.upper - abs_iv.lower,  # of the difference in means per unit
        }

    return {
        "columns": list(a.columns),
        "methods": a.methods,
        "strata": {c: list(labels) for c, labels in a.strata.items()},
        "r_squared": a.r_squared,
        "unadjusted_converged": a.unadjusted_converged,
        "effects": [
            {
                "arm": x.arm,
                "metric": x.metric,
                "adjusted": lift(x.adjusted, x.abs_adjusted),
                "unadjusted": lift(x.unadjusted, x.abs_unadjusted),
                "width_ratio": x.width_ratio,
            }
            for x in a.lifts
        ],
    }


def _iv(iv: Interval) -> dict[str, Any]:
    return {"mean": iv.mean, "hdi": [iv.lower, iv.upper]}


def _metric(spec: Spec, name: str) -> Metric:
    return next(m for m in spec.metrics if m.name == name)


def _likelihood(spec: Spec, metric: str) -> str:
    """The likelihood an effect's figures come from (``type`` or ``type:variant``)."""
    m = _metric(spec, metric)
    if m.type == "revenue":
        return f"revenue:{m.revenue_likelihood}"
    return f"count:{m.count_likelihood}" if m.type == "count" else m.type


def _matching(analysis: Analysis) -> dict[str, Any] | None:
    """Method, estimand, units kept and dropped, and balance before/after (matched designs)."""
    m = analysis.matching
    if m is None:
        return None
    units = m.matched.units
    cfg = analysis.spec.matching
    sep = m.separation
    return {
        "estimand": m.estimand,
        "method": cfg.method,
        "covariates": analysis.spec.matching_covariates,
        "propensity": m.formula or None,
        "caliper": m.matched.caliper,
        "ratio": cfg.ratio,
        "replace": cfg.replace,
        "exact": cfg.exact,
        "trim": cfg.trim,
        "treated": int(units["treated"].sum()),
        "treated_matched": int((units["treated"] & (units["weight"] > 0)).sum()),
        "controls_used": int((~units["treated"] & (units["weight"] > 0)).sum()),
        # Kish's effective sizes, (Σw)² / Σw²: what the effects' n_arm and n_control count
        "treated_effective": m.effective(treated=True),
        "controls_effective": m.effective(treated=False),
        "effective_sizes": m.effective_sizes,
        "min_effective": cfg.min_effective,
        "separation": None if sep is None else {"auc": sep.auc, "treated_beyond_controls": sep.beyond},
        "notes": m.notes,
        "max_smd": m.max_smd,
        "dropped_by": m.dropped_by(analysis.spec.matching_covariates).to_dict("records"),
        "balance": [
            {
                "arm": b.arm,
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


def design_json(d: Design) -> dict[str, Any]:
    """The design as JSON-ready data (the layout is documented in the README)."""
    p = d.power
    metrics = []
    for m in p.metrics:
        metrics.append(
            {
                "metric": m.metric,
                "label": m.label,
                "role": m.role,
                "type": m.type,
                "baseline": m.baseline.model_dump(exclude_none=True),
                "baseline_source": m.baseline_source,
                "control_mean": m.control_mean,
                "unit_sd": m.unit_sd,
                "design_effect": m.design_effect,
                "icc": m.icc,
                "sample_size": [
                    {
                        "power": power,
                        "n_control": m.n_control[power],
                        "n_total": m.n_total[power],
                        "weeks": m.weeks[power] if m.weeks else None,
                    }
                    for power in p.powers
                ],
                "mde": [{"power": power, "lift": m.mde[power]} for power in p.powers] if m.mde else None,
                "adjustment": None
                if m.r_squared is None
                else {
                    "columns": list(d.spec.adjust),
                    "r_squared": m.r_squared,
                    "r_squared_source": m.r_squared_source,
                    "n_total": [{"power": q, "n_total": n} for q, n in (m.n_total_adjusted or {}).items()],
                    "mde": [{"power": q, "lift": x} for q, x in m.mde_adjusted.items()]
                    if m.mde_adjusted
                    else None,
                },
            }
        )
    out: dict[str, Any] = {
        "experiment": d.spec.name,
        "title": d.spec.display_title,
        "arms": p.shares,
        "control": d.spec.control,
        "randomised_by": d.spec.unit.randomised_by,
        "target_lift": p.target_lift,
        "alpha": p.alpha,
        "alpha_per_comparison": p.alpha_per_comparison,
        "multiplicity": p.multiplicity,
        "comparisons": p.comparisons,
        "n_planned": p.n,
        "units_per_week": d.spec.plan.units_per_week,
        "metrics": metrics,
        "assurance": None,
        "stopping_rule": None,
        "provenance": d.provenance.as_dict(),
    }
    if d.assurance is not None:
        out["assurance"] = {
            "decision_rule": d.spec.decision.rule,
            "hdi_prob": d.spec.hdi_prob,
            "n_simulated": d.assurance.n_total,
            "results": [dict(row) for row in d.assurance.table.to_dict("records")],
        }
    if d.stopping_rule is not None:
        rule = d.stopping_rule
        out["stopping_rule"] = {
            "decision_rule": d.spec.decision.rule,
            "hdi_prob": d.spec.hdi_prob,
            "spending": rule.spending,
            "every_days": rule.every_days,
            "planned_looks": rule.looks,
            "z": [{"look": k, "z": z} for k, z in enumerate(rule.z, 1)],
            "schedule": {
                metric: {
                    "entry_looks": s.entry,
                    "looks_before_counting": s.wait,
                    "n_planned": s.units,
                    "n_simulated": s.simulated,
                }
                for metric, s in rule.schedules.items()
            },
            "results": [dict(row) for row in rule.table.to_dict("records")],
        }
    return out


def plan_json(plan: ReplicationPlan) -> dict[str, Any]:
    """A replication plan as JSON-ready data: sample sizes and assurance per metric."""
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


def time_json(spec: Spec, cells: Cells) -> dict[str, Any] | None:
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


def monitor_json(m: Monitor) -> dict[str, Any]:
    """A monitored test as JSON-ready data: every look, each arm's decision, and whether it may stop."""
    from channelab.analysis.monitor import MIN_COUNTED

    spec = m.spec
    return {
        "experiment": spec.name,
        "title": spec.display_title,
        "control": spec.control,
        "as_of": m.as_of.isoformat(),
        "first_entry": m.first_entry.isoformat(),
        "rule": {
            "decision": "hdi_rope",
            "hdi_prob": spec.hdi_prob,
            "spending": spec.monitor.spending,
            "every_days": spec.monitor.every_days,
            "planned_looks": m.planned,
            "min_counted": MIN_COUNTED,
        },
        "stop": m.stop,
        "reason": m.reason,
        "more_looks_expected": m.more_looks,
        "decisions": {
            arm: (
                {"verdict": d.verdict, "look": d.look, "date": d.date.isoformat()}
                if (d := m.decisions.get(arm))
                else None
            )
            for arm in spec.treatments
        },
        "looks": [
            {
                "look": look.index,
                "date": look.date.isoformat(),
                "z": look.z,
                "entered": look.entered,
                "counted": look.counted,
                "read": look.effects is not None,
                "converged": look.converged,
                "note": look.note or None,
                "lifts": [
                    {
                        "arm": e.arm,
                        "metric": e.metric,
                        "role": e.role,
                        "mean": e.lift.mean,
                        "hdi": [e.lift.lower, e.lift.upper],
                        "rule_interval": [r.lower, r.upper],
                        "rule_verdict": r.verdict,
                        "rope": list(e.rope),
                    }
                    for e, r in zip(look.effects.effects if look.effects else (), look.readings, strict=True)
                ],
                "decided": look.decided,
            }
            for look in m.looks
        ],
        "notes": list(m.notes),
        "provenance": m.provenance.as_dict(),
    }
