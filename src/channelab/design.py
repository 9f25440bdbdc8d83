"""Planning an experiment before it runs: ``channelab design``.

Wires the frequentist plan (:mod:`channelab.power`: MDE, sample size, design effect, weeks)
and the Bayesian assurance (:mod:`channelab.assurance`: how often channelab's own verdict
would be ``real lift``) for every outcome and revenue metric, and renders them as JSON; the
PDF page is :func:`channelab.report.write_design_pdf`.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from channelab.assurance import Assurance, SimCallback, assurance
from channelab.files import write_atomic
from channelab.power import PowerPlan, plan_power, resolve_baselines
from channelab.spec import Spec


@dataclass(frozen=True)
class Design:
    """Everything ``channelab design`` produced for one spec."""

    spec: Spec
    power: PowerPlan
    assurance: Assurance | None
    provenance: dict[str, object]
    seconds: dict[str, float]


def design(
    spec: Spec,
    *,
    sims: int | None = None,
    seed: int | None = None,
    on_step: Callable[[str], None] | None = None,
    on_sim: SimCallback | None = None,
) -> Design:
    """Plan ``spec``: the frequentist numbers (instant), then assurance by simulation.

    ``sims`` overrides ``plan.assurance.sims`` (0 skips assurance). Assurance simulates the
    planned ``plan.n`` units, or without one the units the first metric needs for the first
    power level.
    """
    step = on_step or (lambda _: None)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    step("Reading baselines")
    baselines = resolve_baselines(spec)
    step("Computing power and sample sizes")
    plan = plan_power(spec, baselines.values, sources=baselines.sources, clusters=baselines.clusters)
    seconds["frequentist"] = time.perf_counter() - t0
    n_sims = spec.plan.assurance.sims if sims is None else sims
    result = None
    if n_sims > 0 and plan.metrics:
        step(f"Simulating assurance ({n_sims} experiments per metric and lift)")
        t1 = time.perf_counter()
        first = plan.metrics[0]
        n_total = plan.n or first.n_total[plan.powers[0]]
        lifts = spec.plan.assurance.lifts or [0.0, spec.plan.target_lift]
        result = assurance(
            spec,
            baselines.values,
            n_total=n_total,
            lifts=lifts,
            sims=n_sims,
            seed=spec.seed if seed is None else seed,
            design_effects={m.metric: m.design_effect for m in plan.metrics},
            on_sim=on_sim,
        )
        seconds["assurance"] = time.perf_counter() - t1
    return Design(
        spec=spec,
        power=plan,
        assurance=result,
        provenance=_provenance(spec, seed=spec.seed if seed is None else seed),
        seconds=seconds,
    )


def design_dict(d: Design) -> dict[str, Any]:
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
                "mde": [{"power": power, "lift": _finite(m.mde[power])} for power in p.powers]
                if m.mde
                else None,
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
        "provenance": d.provenance,
    }
    if d.assurance is not None:
        out["assurance"] = {
            "decision_rule": d.spec.decision.rule,
            "hdi_prob": d.spec.hdi_prob,
            "n_simulated": d.assurance.n_total,
            "results": [
                {k: _finite(v) for k, v in row.items()} for row in d.assurance.table.to_dict("records")
            ],
        }
    return out


def write_design_json(d: Design, path: str | Path) -> Path:
    """Write :func:`design_dict` atomically as indented JSON."""
    return write_atomic(Path(path), (json.dumps(design_dict(d), indent=2) + "\n").encode())


def _finite(x: Any) -> Any:
    return None if isinstance(x, float) and not math.isfinite(x) else x


def _provenance(spec: Spec, *, seed: int) -> dict[str, object]:
    spec_bytes = spec.source_path.read_bytes() if spec.source_path else spec.model_dump_json().encode()
    return {
        "channelab": metadata.version("channelab"),
        "statsmodels": metadata.version("statsmodels"),
        "seed": seed,
        "spec_sha256": hashlib.sha256(spec_bytes).hexdigest(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
