"""A monitored test in JSON: every look, each arm's decision, and whether the test may stop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from channelab.pipeline.monitor import Look, Monitor


def monitor_json(m: Monitor) -> dict[str, Any]:
    """A monitored test as JSON-ready data: every look, each arm's decision, and whether it may stop.

    Parameters
    ----------
    m
        The monitored test (:func:`channelab.pipeline.monitor`); nothing is recomputed.

    Returns
    -------
    dict
        The stopping rule, the decision so far, each arm's verdict and look, every look's lifts
        and the provenance record.
    """
    from channelab.analysis.monitor import MIN_COUNTED, MIN_FOLLOWED
    from channelab.reporting.words import data_origin

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
            "min_followed": MIN_FOLLOWED,
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
        "looks": [_look(look) for look in m.looks],
        "notes": list(m.notes),
        "data": {"origin": data_origin(spec)},
        "provenance": m.provenance.as_dict(),
    }


def _look(look: Look) -> dict[str, Any]:
    """One look: its date and boundary, the units entered and counted, and each lift read."""
    return {
        "look": look.index,
        "date": look.date.isoformat(),
        "z": look.z,
        "entered": look.entered,
        "counted": look.counted,
        "followed": look.followed or None,
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
