"""A matched or weighted cohort in JSON: method, units kept and dropped, balance before and after."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from channelab.pipeline import Analysis


def matching_json(analysis: Analysis) -> dict[str, Any] | None:
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
