"""The truth of a simulated outreach experiment, and the verdicts a truth known without error earns.

The verdicts are read by the pipeline's own rule (:func:`~channelab.analysis.decisions.arm_verdict`)
from each metric's known lift, handed to it as a :class:`~channelab.analysis.decisions.Judged`
with a zero-width interval: no cast makes a truth pretend to be an estimated effect.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from channelab.analysis.decisions import arm_verdict, guardrail_verdict, interval_verdict
from channelab.analysis.results import ArmVerdict, MetricVerdict
from channelab.analysis.wording import pct
from channelab.files import json_bytes
from channelab.simulate.scenarios import OUTREACH_METRICS, Randomisation
from channelab.spec import Channel, Metric, Role

#: ROPE used to read verdicts off a truth: the spec's default.
_TRUTH_ROPE = Metric(name="m", role="outcome", type="count").rope_interval


@dataclass(frozen=True)
class OutreachTruth:
    """What :func:`~channelab.simulate.simulate_outreach` put into the data.

    The mean of a metric under arm a is the average, over every simulated prospect (with its
    own segments, rep and week), of the metric's expected value with the arm set to a; the
    lift of a treatment is its mean over the control's, minus 1. This is the g-computation
    estimand channelab reports. ``segment_lifts`` applies the same definition within each
    level of a column that has a segment-specific arm effect. :attr:`verdicts` are the arm
    verdicts this truth implies under the default ROPE of ±5 % (what an experiment large
    enough to leave no doubt would conclude; a real one may read ``inconclusive``).

    Attributes
    ----------
    scenario, description
        The scenario's name and its truth in plain language.
    seed, n
        The simulation's seed and number of prospects.
    arms
        ``{label: channel}``, control first.
    control
        The control arm's label.
    randomised_by
        ``prospect`` or ``rep``: the unit of randomisation.
    means
        ``{arm: {metric: true mean per prospect}}``. A test put in time adds ``booked`` (the
        share of prospects with a meeting); a guarded one adds ``unsubscribes``; one with the
        reps' effort adds ``rep_hours`` (its channel's mean hours plus each meeting's hours
        times the arm's true mean meetings).
    lifts
        ``{treatment: {metric: relative lift}}``, 0.2 = +20 %. The lift in ``rep_hours`` is a
        cost, not a verdict: :attr:`verdicts` do not read it.
    segment_lifts
        ``{column: {level: {treatment: {metric: relative lift}}}}``, for the columns with a
        segment-specific arm effect.
    explained
        ``{pre-period column: {metric: R²}}`` with a history only
        (:class:`~channelab.simulate.scenarios.PrePeriod`): the R² of a least-squares line
        on the column, among control prospects.
    parameters
        The generating parameters (:meth:`~channelab.simulate.Scenario.to_dict`, with the
        ``arrival``, ``unsubscribes`` and ``effort`` settings when given).
    provenance
        ``{"channelab": version, "numpy": version, ...}``, without a time.

    Notes
    -----
    :meth:`to_dict` gives the stable layout of a truth file::

        scenario, description, seed, n, randomised_by, control   scalars
        arms            {label: channel}, control first
        metrics         {metric: role}, funnel order (then booked, in time; unsubscribes, guarded;
                        rep_hours, with effort, role "effort": a cost no verdict reads)
        means           {arm: {metric: true mean per prospect}}
        lifts           {treatment: {metric: relative lift}}, 0.2 = +20 %
        segment_lifts   {column: {level: {treatment: {metric: relative lift}}}}
        verdicts        {treatment: arm verdict}
        explained       {pre-period column: {metric: R²}}, with a history only
        parameters      the generating parameters (Scenario.to_dict)
        provenance      {"channelab": version, "numpy": version}

    :func:`~channelab.simulate.write_simulation` adds ``data``: the data file's name, format,
    rows and SHA-256.
    """

    scenario: str
    description: str
    seed: int
    n: int
    arms: dict[str, Channel]
    control: str
    randomised_by: Randomisation
    means: dict[str, dict[str, float]]
    lifts: dict[str, dict[str, float]]
    segment_lifts: dict[str, dict[str, dict[str, dict[str, float]]]]
    explained: dict[str, dict[str, float]] = field(default_factory=dict)
    parameters: dict[str, Any] = field(repr=False, default_factory=dict)
    provenance: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def verdicts(self) -> dict[str, ArmVerdict]:
        """``{treatment: arm verdict}`` this truth implies over all its metrics."""
        return {arm: self.verdict(arm) for arm in self.lifts}

    def to_dict(self) -> dict[str, Any]:
        """The truth as JSON-ready data, in the layout documented on the class."""
        return {
            "scenario": self.scenario,
            "description": self.description,
            "seed": self.seed,
            "n": self.n,
            "randomised_by": self.randomised_by,
            "control": self.control,
            "arms": self.arms,
            "metrics": dict(OUTREACH_METRICS)
            | ({"booked": "outcome"} if self._has("booked") else {})
            | ({"unsubscribes": "guardrail"} if self._has("unsubscribes") else {})
            | ({"rep_hours": "effort"} if self._has("rep_hours") else {}),
            "means": self.means,
            "lifts": self.lifts,
            "segment_lifts": self.segment_lifts,
            "verdicts": self.verdicts,
            **({"explained": self.explained} if self.explained else {}),
            "parameters": self.parameters,
            "provenance": self.provenance,
        }

    def _has(self, metric: str) -> bool:
        """Whether ``metric`` (``booked``, ``unsubscribes``, ``rep_hours``: not always added) is in it."""
        return any(metric in by_metric for by_metric in self.means.values())

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON."""
        return json_bytes(self.to_dict()).decode()

    def verdict(self, arm: str, metrics: Collection[str] | None = None) -> ArmVerdict:
        """The verdict on ``arm`` that this truth implies, read over ``metrics`` only (default all)."""
        return _true_verdict({k: v for k, v in self.lifts[arm].items() if metrics is None or k in metrics})

    def summary(self, metric: str = "meetings") -> str:
        """One line: the true lift of every treatment on ``metric``."""
        lifts = ", ".join(f"{arm} {pct(by[metric], sign=True)}" for arm, by in self.lifts.items())
        return f"{self.scenario}: true lift in {metric.replace('_', ' ')}: {lifts}"


class _TrueEffect(NamedTuple):
    """A metric's known effect, as :func:`~channelab.analysis.decisions.arm_verdict` reads it (a Judged)."""

    role: Role
    verdict: MetricVerdict
    label: str
    prob_above_rope: float  # 1 or 0: the lift is known
    conditional: bool = False
    no_events: tuple[str, ...] = ()


def _true_verdict(lifts: Mapping[str, float]) -> ArmVerdict:
    """The arm verdict a lift known without error earns (the pipeline's rules, zero-width intervals).

    Effort (``rep_hours``) is a cost, which the economics read, not a metric with a verdict: it is left out.
    """
    rope = _TRUTH_ROPE
    roles: dict[str, Role] = {**OUTREACH_METRICS, "booked": "outcome", "unsubscribes": "guardrail"}
    effects = []
    for k, v in lifts.items():
        if k == "rep_hours":  # a cost
            continue
        verdict = interval_verdict(v, v, rope)
        if roles[k] == "guardrail":
            verdict = guardrail_verdict(verdict, "up")
        effects.append(_TrueEffect(roles[k], verdict, k, float(v > rope[1])))
    return arm_verdict(effects, level=0.5)  # a known lift is decided at any level
