"""The words of a monitored test: page 1's headline and the outcomes that decided an arm.

Reads the decisions as a protocol (a verdict and the words of its deciding outcomes), so it
needs nothing of :mod:`channelab.pipeline.looks`, whose :class:`Monitor` words itself here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from channelab.analysis.results import ArmVerdict
from channelab.analysis.wording import join_words
from channelab.spec import Spec


class _Decided(Protocol):
    """An arm's decision, as the headline reads it."""

    @property
    def verdict(self) -> ArmVerdict: ...

    @property
    def on(self) -> str: ...


def deciding_words(metrics: Sequence[str]) -> str:
    """`` in meetings booked, replies`` for the outcomes that decided an arm, else nothing."""
    return f" in {join_words(list(metrics), sep=', ')}" if metrics else ""


def undecided_words(*, final: bool) -> str:
    """What an arm without a decision is, on the monitor's page: still open, or left undecided.

    Parameters
    ----------
    final : bool
        Whether the test has stopped (its planned looks are done): the arm then stayed undecided,
        and "not decided yet" would promise a look that will not come.

    Returns
    -------
    str
        One sentence, ending with a space.
    """
    if final:
        return (
            "Undecided: the planned looks ended without any outcome clearing the rule's interval, "
            "so this test cannot say whether the channel works. "
        )
    return "Not decided yet: no outcome has cleared the rule's interval. "


def monitor_headline(
    spec: Spec,
    decisions: Mapping[str, _Decided],
    *,
    stop: bool,
    reason: str,
    remaining: int,
    more_looks: int | None,
) -> str:
    """Page 1's answer: ``Stop: ... Phone is a real lift in meetings.`` or ``Keep going: ...``.

    ``remaining`` is the planned looks still to come; ``more_looks`` those expected before
    every arm is decided, if the estimates tell.
    """
    said = _decided_words(spec, decisions)
    open_arms = [arm for arm in spec.treatments if arm not in decisions]
    waiting = join_words(open_arms, sep=", ")
    if stop:
        tail = f"; {waiting} stayed undecided" if open_arms else ""
        said = said or "no channel was decided"
        return f"Stop: {reason}. {said[0].upper()}{said[1:]}{tail}."
    already = f" Already: {said}." if said else ""
    verb = "is" if len(open_arms) == 1 else "are"
    end = _span(remaining, spec)
    if more_looks is None or more_looks >= remaining:
        return (
            f"Keep going: {waiting} {verb} not decided yet and, at the current estimates, may not be "
            f"before the planned looks end in {end}.{already}"
        )
    return (
        f"Keep going: about {_span(more_looks, spec)} more expected before {waiting} {verb} "
        f"decided; the planned looks end in {end}.{already}"
    )


def _decided_words(spec: Spec, decisions: Mapping[str, _Decided]) -> str:
    """``Phone is a real lift in meetings; Email and Letter are no effect``: the arms decided."""
    by_verdict: dict[str, list[str]] = {}
    for arm in spec.treatments:
        if (d := decisions.get(arm)) is not None:
            by_verdict.setdefault(f"{_verdict_words(d.verdict)}{d.on}", []).append(arm)
    return "; ".join(
        f"{join_words(arms, sep=', ')} {'is' if len(arms) == 1 else 'are'} {words}"
        for words, arms in by_verdict.items()
    )


def _span(looks: int, spec: Spec) -> str:
    """``3 weeks``, ``1 day``, ``28 days``: ``looks`` looks' worth of time."""
    every = spec.monitor.every
    if every in ("week", "day"):
        return f"{looks} {every}{'' if looks == 1 else 's'}"
    days = looks * spec.monitor.every_days
    return f"{days} day{'' if days == 1 else 's'}"


def _verdict_words(verdict: ArmVerdict) -> str:
    """``a real lift``, ``a harm``, ``no effect``: a verdict as the object of "is"."""
    return {"real lift": "a real lift", "harm": "a harm", "no effect": "no effect"}.get(verdict, verdict)
