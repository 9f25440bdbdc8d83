"""Planning an experiment before it runs: ``channelab design``.

Wires the frequentist plan (:mod:`channelab.design.power`: MDE, sample size, design effect, weeks)
and the Bayesian assurance (:mod:`channelab.design.assurance`: how often channelab's own
verdict would be ``real lift``) for every outcome and revenue metric. Rendering is
:mod:`channelab.reporting` (``design_json``, ``design_pdf``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from channelab.design.assurance import Assurance, SimCallback, assurance
from channelab.design.power import PowerPlan, plan_power, resolve_baselines
from channelab.provenance import Provenance, stamp
from channelab.spec import Spec


@dataclass(frozen=True)
class Design:
    """Everything ``channelab design`` produced for one spec."""

    spec: Spec
    power: PowerPlan
    assurance: Assurance | None
    provenance: Provenance
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
    plan = plan_power(
        spec,
        baselines.values,
        sources=baselines.sources,
        clusters=baselines.clusters,
        r_squared=baselines.r_squared,
    )
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
        provenance=stamp(spec, seed=spec.seed if seed is None else seed),
        seconds=seconds,
    )
