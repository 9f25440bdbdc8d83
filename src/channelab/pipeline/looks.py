"""What a monitored test produced: each look, each arm's decision, the whole monitor.

Plain frozen values built by :func:`channelab.pipeline.monitor.monitor` and read by the
report; their sentences are worded in :mod:`channelab.pipeline.headline`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from channelab.analysis.monitor import Reading
from channelab.analysis.results import ArmVerdict, Effects
from channelab.engine import CheckReport
from channelab.pipeline.headline import deciding_words, monitor_headline
from channelab.provenance import Provenance
from channelab.spec import Spec


@dataclass(frozen=True)
class Look:
    """The test as it stood on one date, and what the stopping rule read off it.

    Attributes
    ----------
    index
        Counts looks from the first entry: look k is k × ``monitor.every`` days in (the
        as-of date may add a last, shorter one).
    date
        The date of the look.
    z
        The z of the look's interval, from the spending of strictness over the planned looks.
    entered
        Per arm, the units entered by the look's date.
    counted
        Per metric and arm, the units behind its estimate: the mature ones, with a window; every
        entered unit, counted as far as it has come, with a time-to-event model.
    effects
        The effects at this look; ``None`` for a look too early to read (``note`` says why).
    readings
        What the stopping rule read off each lift.
    decided
        The arms decided by this look, with their decision.
    converged
        Whether the look's fit passed the convergence gate (an unconverged look decides nothing).
    note
        Why the look could not be read, or nothing.
    followed
        Per time-to-event metric and arm, the units followed for the whole window (the rest of
        ``counted`` were still inside it at the look, censored).
    """

    index: int
    date: date
    z: float
    entered: dict[str, int]
    counted: dict[str, dict[str, int]]
    effects: Effects | None = None
    readings: tuple[Reading, ...] = ()
    decided: dict[str, ArmVerdict] = field(default_factory=dict)
    converged: bool = True
    note: str = ""
    followed: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class ArmDecision:
    """An arm's decision: its verdict, the look and date it was reached, and the outcomes that decided it.

    Attributes
    ----------
    verdict
        The arm's verdict.
    look
        The index of the look that decided it.
    date
        The date of that look.
    metrics
        The outcomes (their display names) whose lift or harm decided it.
    """

    verdict: ArmVerdict
    look: int
    date: date
    metrics: tuple[str, ...] = ()

    @property
    def on(self) -> str:
        """`` in meetings booked`` (the deciding outcomes, for a real lift or harm), else nothing."""
        return deciding_words(self.metrics)


@dataclass(frozen=True)
class Monitor:
    """Every look of a monitored test, the decisions, and whether it may stop now.

    Attributes
    ----------
    spec
        The spec monitored, with its analysis date (the last look's).
    checks
        What the checks of the rows found.
    looks
        Every look, from the first to the as-of date.
    planned
        The looks planned (over which the stopping rule spends its strictness).
    first_entry
        The date the first unit entered.
    decisions
        Per decided arm, its decision.
    stop
        Whether the test may stop now.
    reason
        Why it may stop, or how many arms and looks remain, in a few words.
    more_looks
        Looks still expected before every arm is decided (``None`` once the test may stop, or
        when the estimates cannot tell).
    provenance
        Who made the monitor from what: versions, seed, sampler, spec hash, data fingerprint.
    notes
        Caveats on what was read (metrics without dates).
    timings
        Seconds per step, for the appendix.
    """

    spec: Spec
    checks: CheckReport
    looks: tuple[Look, ...]
    planned: int
    first_entry: date
    decisions: dict[str, ArmDecision]
    stop: bool
    reason: str
    more_looks: int | None
    provenance: Provenance
    notes: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def as_of(self) -> date:
        """The date of the last look."""
        assert self.spec.as_of is not None
        return self.spec.as_of

    @property
    def headline(self) -> str:
        """Page 1's answer: ``Stop: ... Phone is a real lift in meetings.`` or ``Keep going: ...``."""
        return monitor_headline(
            self.spec,
            self.decisions,
            stop=self.stop,
            reason=self.reason,
            remaining=self.planned - self.looks[-1].index,
            more_looks=self.more_looks,
        )

    @property
    def last_read(self) -> Look | None:
        """The latest look with estimates."""
        return next((look for look in reversed(self.looks) if look.effects is not None), None)
