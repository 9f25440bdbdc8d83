"""A design in JSON: sample sizes and detectable lifts per metric, assurance and the stopping rule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from channelab.design.assurance import DELAY_BETA
from channelab.spec import Spec

if TYPE_CHECKING:
    from channelab.design.plan import Design
    from channelab.design.power import MetricPower


def design_json(d: Design) -> dict[str, Any]:
    """The design as JSON-ready data (the layout is documented in the README).

    Parameters
    ----------
    d
        The design (:func:`channelab.design.plan.design`); nothing is recomputed.

    Returns
    -------
    dict
        The plan's settings, each metric's sample sizes and detectable lifts, the assurance and
        the stopping rule (``None`` where not simulated) and the provenance record.
    """
    p = d.power
    return {
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
        "metrics": [_metric(m, d) for m in p.metrics],
        "assurance": _assurance(d),
        "stopping_rule": _stopping_rule(d),
        "provenance": d.provenance.as_dict(),
    }


def _metric(m: MetricPower, d: Design) -> dict[str, Any]:
    """One metric's baseline, the units each power needs and the lift it can detect."""
    powers = d.power.powers
    return {
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
            for power in powers
        ],
        "mde": [{"power": power, "lift": m.mde[power]} for power in powers] if m.mde else None,
        "adjustment": _adjusted(m, d),
    }


def _adjusted(m: MetricPower, d: Design) -> dict[str, Any] | None:
    """What the pre-period adjustment saves on one metric (None without ``adjust``)."""
    if m.r_squared is None:
        return None
    return {
        "columns": list(d.spec.adjust),
        "r_squared": m.r_squared,
        "r_squared_source": m.r_squared_source,
        "n_total": [{"power": q, "n_total": n} for q, n in (m.n_total_adjusted or {}).items()],
        "mde": [{"power": q, "lift": x} for q, x in m.mde_adjusted.items()] if m.mde_adjusted else None,
    }


def _assurance(d: Design) -> dict[str, Any] | None:
    """The simulated chance of each verdict under the decision rule (None when not simulated)."""
    if d.assurance is None:
        return None
    return {
        "decision_rule": d.spec.decision.rule,
        "hdi_prob": d.spec.hdi_prob,
        "n_simulated": d.assurance.n_total,
        "results": [dict(row) for row in d.assurance.table.to_dict("records")],
    }


def _delay(spec: Spec, metric: str) -> dict[str, Any]:
    """The delay a time-to-event outcome's simulated tests assume (not given by the plan)."""
    a, b = DELAY_BETA
    window = next(m.window_days for m in spec.metrics if m.name == metric) or 0
    return {"distribution": "window × Beta(a, b)", "a": a, "b": b, "mean_days": window * a / (a + b),
            "same_in_every_arm": True}  # fmt: skip


def _stopping_rule(d: Design) -> dict[str, Any] | None:
    """The monitored test's boundaries, schedule per metric and simulated error rates (None without one)."""
    rule = d.stopping_rule
    if rule is None:
        return None
    return {
        "decision_rule": d.spec.decision.rule,
        "hdi_prob": d.spec.hdi_prob,
        "spending": rule.spending,
        "every_days": rule.every_days,
        "planned_looks": rule.looks,
        "z": [{"look": k, "z": z} for k, z in enumerate(rule.z, 1)],
        "schedule": {
            metric: {
                "entry_looks": s.entry,
                "looks_before_counting": 0 if s.survival else s.wait,
                "n_planned": s.units,
                "n_simulated": s.simulated,
                "survival": s.survival,
                "delay": _delay(d.spec, metric) if s.survival else None,
            }
            for metric, s in rule.schedules.items()
        },
        "results": [dict(row) for row in rule.table.to_dict("records")],
    }
