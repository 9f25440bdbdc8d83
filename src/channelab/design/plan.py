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
from functools import partial
from pathlib import Path

from channelab.analysis.monitor import planned_looks
from channelab.design.assurance import Assurance, SimCallback, assurance
from channelab.design.baselines import Baselines, resolve_baselines
from channelab.design.monitor import StoppingRule, bounded_looks, operating_characteristics
from channelab.design.power import PowerPlan, plan_power
from channelab.engine.registry.priors_file import LearnedPriors, read_learned_priors
from channelab.provenance import Provenance, stamp
from channelab.spec import Spec


@dataclass(frozen=True)
class Design:
    """Everything ``channelab design`` produced for one spec.

    Attributes
    ----------
    spec
        The experiment planned.
    power
        The frequentist plan (:func:`~channelab.design.power.plan_power`).
    assurance
        How often channelab's own verdict would say ``real lift``, by simulation; ``None`` when
        skipped (no simulations asked, or no outcome metric).
    provenance
        The stamp of the outputs, with the spec's seed.
    seconds
        Time per step: ``frequentist``, and ``assurance`` and ``stopping_rule`` when they ran.
    stopping_rule
        The monitoring rule's calibration, for a spec with a ``monitor`` block and planned looks.
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
    on_step: Callable[[str], None] | None = None,
    on_sim: SimCallback | None = None,
) -> Design:
    """Plan ``spec``: the frequentist numbers (instant), then assurance and the stopping rule by simulation.

    Assurance simulates the planned ``plan.n`` units, or without one the units the first metric
    needs for the first power level. With a ``monitor`` block and planned looks, the stopping
    rule is calibrated at lifts 0 and ``plan.target_lift``.

    Parameters
    ----------
    spec
        The experiment. Its ``seed`` seeds every simulation (a caller with another seed puts it
        in the spec first).
    sims
        Simulated experiments per metric and lift for assurance, instead of
        ``plan.assurance.sims`` (0 skips assurance).
    rule_sims
        Simulated monitored tests per metric and lift for the stopping rule, instead of
        ``monitor.sims`` (0 skips it).
    on_step
        Hears the name of each step as it starts.
    on_sim
        Hears (done, asked) after every simulated experiment or test.

    Returns
    -------
    Design
        The plan, the assurance and the stopping rule's calibration, with provenance.
    """
    step = on_step or (lambda _: None)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    learned = _learned(spec)  # a bad learned-priors file is refused before any simulation
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
    if calibrates_rule(spec):
        bounded_looks(spec)  # an over-long schedule is refused before any simulation
    n_sims = spec.plan.assurance.sims if sims is None else sims
    result = None
    if n_sims > 0 and plan.metrics:
        step(f"Simulating assurance ({n_sims} experiments per metric and lift)")
        run = partial(_assurance, spec, baselines, plan, n_sims, on_sim, learned)
        result = _timed(seconds, "assurance", run)
    n_rule = spec.monitor.sims if rule_sims is None else rule_sims
    rule = None
    if calibrates_rule(spec) and n_rule > 0 and plan.metrics:
        step(f"Calibrating the stopping rule ({n_rule} monitored tests per metric and lift)")
        rule = _timed(
            seconds, "stopping_rule", partial(_stopping_rule, spec, baselines, plan, n_rule, on_sim)
        )
    return Design(
        spec=spec,
        power=plan,
        assurance=result,
        provenance=stamp(spec, seed=spec.seed, sampler=_sampler(spec) if result or rule else None),
        seconds=seconds,
        stopping_rule=rule,
    )


def calibrates_rule(spec: Spec) -> bool:
    """Whether ``channelab design`` calibrates a stopping rule: a ``monitor`` block and planned looks."""
    return "monitor" in spec.model_fields_set and planned_looks(spec) is not None


def _learned(spec: Spec) -> LearnedPriors | None:
    """The spec's learned-priors file, read and checked (``priors.from``), if it names one."""
    named = spec.priors.from_
    return None if named is None else read_learned_priors(spec.resolve_path(Path(named)), named=named)


def _assurance(
    spec: Spec,
    baselines: Baselines,
    plan: PowerPlan,
    sims: int,
    on_sim: SimCallback | None,
    learned: LearnedPriors | None,
) -> Assurance:
    """Assurance at ``plan.assurance.lifts`` (default 0 and the target lift), ``sims`` per lift.

    With learned priors, the fits start from them and one more row draws the true lifts from them.
    """
    return assurance(
        spec,
        baselines.values,
        n_total=_simulated_units(plan),
        lifts=spec.plan.assurance.lifts or [0.0, spec.plan.target_lift],
        sims=sims,
        seed=spec.seed,
        design_effects=_design_effects(plan),
        on_sim=on_sim,
        learned=learned,
    )


def _stopping_rule(
    spec: Spec, baselines: Baselines, plan: PowerPlan, sims: int, on_sim: SimCallback | None
) -> StoppingRule:
    """The stopping rule's operating characteristics at lifts 0 and the target, ``sims`` tests per lift."""
    return operating_characteristics(
        spec,
        baselines.values,
        lifts=[0.0, spec.plan.target_lift],
        sims=sims,
        seed=spec.seed,
        n_total=_simulated_units(plan),
        design_effects=_design_effects(plan),
        on_sim=on_sim,
    )


def _simulated_units(plan: PowerPlan) -> int:
    """The planned ``n``, or without one the units the first metric needs for the first power."""
    return (plan.n or plan.metrics[0].n_total[plan.powers[0]]) if plan.metrics else 0


def _design_effects(plan: PowerPlan) -> dict[str, float]:
    """Each metric's design effect: the simulations shrink its sample to the effective one."""
    return {m.metric: m.design_effect for m in plan.metrics}


def _timed[T](seconds: dict[str, float], key: str, make: Callable[[], T]) -> T:
    """``make()``, with the seconds it took recorded under ``key``."""
    start = time.perf_counter()
    out = make()
    seconds[key] = time.perf_counter() - start
    return out


def _sampler(spec: Spec) -> str:
    """The MCMC backend the simulated experiments were fitted with."""
    from channelab.analysis.sampler import resolve_backend

    return resolve_backend(spec.sampler.backend)
