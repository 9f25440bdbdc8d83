"""Planning an experiment before it runs: ``channelab design``.

Wires the frequentist plan (:mod:`channelab.design.power`: MDE, sample size, design effect, weeks)
and the Bayesian assurance (:mod:`channelab.design.assurance`: how often channelab's own
verdict would be ``real lift``) for every outcome and revenue metric, and for a monitored test
the stopping rule's error rates at the planned looks (:mod:`channelab.design.monitor`). Rendering is
:mod:`channelab.reporting` (``design_json``, ``design_pdf``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from channelab.analysis.monitor import planned_looks
from channelab.design.assurance import Assurance, SimCallback, assurance
from channelab.design.monitor import StoppingRule, operating_characteristics
from channelab.design.power import PowerPlan, plan_power, resolve_baselines
from channelab.provenance import Provenance, stamp
from channelab.spec import Spec


@dataclass(frozen=True)
class Design:
    """Everything ``channelab design`` produced for one spec.

    ``stopping_rule``: the monitoring rule's calibration, for a spec with a ``monitor`` block.
    """

    spec: Spec
    power: PowerPlan
    assurance: Assurance | None
    provenance: Provenance
    seconds: dict[str, float]
    stopping_rule: StoppingRule | None = None


def design(
    spec: Spec,
    *,
    sims: int | None = None,
    rule_sims: int | None = None,
    seed: int | None = None,
    on_step: Callable[[str], None] | None = None,
    on_sim: SimCallback | None = None,
) -> Design:
    """Plan ``spec``: the frequentist numbers (instant), then assurance and the stopping rule by simulation.

    ``sims`` overrides ``plan.assurance.sims`` (0 skips assurance). Assurance simulates the
    planned ``plan.n`` units, or without one the units the first metric needs for the first
    power level. With a ``monitor`` block and planned looks, the stopping rule is calibrated
    with ``monitor.sims`` (or ``rule_sims``) tests per metric at lifts 0 and ``plan.target_lift``.
    """
    step = on_step or (lambda _: None)
    run_seed = spec.seed if seed is None else seed
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
    n_total = (plan.n or plan.metrics[0].n_total[plan.powers[0]]) if plan.metrics else 0
    design_effects = {m.metric: m.design_effect for m in plan.metrics}
    n_sims = spec.plan.assurance.sims if sims is None else sims
    result = None
    if n_sims > 0 and plan.metrics:
        step(f"Simulating assurance ({n_sims} experiments per metric and lift)")
        t1 = time.perf_counter()
        result = assurance(
            spec,
            baselines.values,
            n_total=n_total,
            lifts=spec.plan.assurance.lifts or [0.0, spec.plan.target_lift],
            sims=n_sims,
            seed=run_seed,
            design_effects=design_effects,
            on_sim=on_sim,
        )
        seconds["assurance"] = time.perf_counter() - t1
    n_rule = spec.monitor.sims if rule_sims is None else rule_sims
    rule = None
    if calibrates_rule(spec) and n_rule > 0 and plan.metrics:
        step(f"Calibrating the stopping rule ({n_rule} monitored tests per metric and lift)")
        t2 = time.perf_counter()
        rule = operating_characteristics(
            spec,
            baselines.values,
            lifts=[0.0, spec.plan.target_lift],
            sims=n_rule,
            seed=run_seed,
            n_total=n_total,
            design_effects=design_effects,
            on_sim=on_sim,
        )
        seconds["stopping_rule"] = time.perf_counter() - t2
    return Design(
        spec=spec,
        power=plan,
        assurance=result,
        provenance=stamp(spec, seed=run_seed),
        seconds=seconds,
        stopping_rule=rule,
    )


def calibrates_rule(spec: Spec) -> bool:
    """Whether ``channelab design`` calibrates a stopping rule: a ``monitor`` block and planned looks."""
    return "monitor" in spec.model_fields_set and planned_looks(spec) is not None
