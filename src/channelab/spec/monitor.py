"""Monitoring a running test: how often it is looked at, and the stopping rule applied at each look."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from channelab.limits import MAX_EVERY_DAYS, MAX_LOOKS
from channelab.spec.base import Strict


def parse_every(value: str | None) -> str | int | None:
    """Days between looks as written on the command line: ``week``, ``day`` or a number of days.

    Parameters
    ----------
    value
        What ``--every`` says; ``None`` (not given) stays ``None``.

    Raises
    ------
    ValueError
        Saying what was given (shortened) and what is expected.
    """
    if value is None or value in ("week", "day"):
        return value
    if value.isdigit() and len(value) <= 3 and 1 <= int(value) <= MAX_EVERY_DAYS:
        return int(value)
    shown = value if len(value) <= 20 else value[:17] + "..."
    raise ValueError(
        f"got {shown!r}, but expected week, day or a number of days from 1 to {MAX_EVERY_DAYS}, such as 14"
    )


class Monitoring(Strict):
    """Settings of ``channelab monitor`` and of the stopping rule's calibration in ``channelab design``.

    The stopping rule is the HDI+ROPE rule (whatever ``decision.rule`` says) read at every
    look, with the interval widened at early looks (``spending: obrien_fleming``): at look k of
    K its half-width is z / √(k/K) posterior sds of log(1 + lift), z being the spec's interval
    (1.88 for 94 %), so early looks need overwhelming evidence and the last look is the usual
    rule. ``spending: none`` reads the usual interval at every look (the habit of stopping when
    the HDI first clears the ROPE), whose false ``real lift`` rate grows with the number of
    looks.

    Attributes
    ----------
    every
        Days between looks (``week`` = 7, ``day`` = 1, or a number of days), counted from the
        first unit's entry.
    looks
        How many looks are planned, the last when the last units' outcome windows have closed;
        by default the weeks the plan needs (``plan.n`` over ``plan.units_per_week``) plus the
        longest window.
    spending
        ``obrien_fleming`` (early looks need overwhelming evidence) or ``none``.
    sims
        Simulated tests per lift when ``channelab design`` measures the rule.
    """

    every: Literal["day", "week"] | Annotated[int, Field(ge=1, le=MAX_EVERY_DAYS)] = "week"
    looks: Annotated[int, Field(ge=1, le=MAX_LOOKS)] | None = None
    spending: Literal["obrien_fleming", "none"] = "obrien_fleming"
    sims: Annotated[int, Field(ge=0, le=10_000)] = 50

    @property
    def every_days(self) -> int:
        """Days between looks."""
        return {"day": 1, "week": 7}[self.every] if isinstance(self.every, str) else int(self.every)

    @property
    def every_label(self) -> str:
        """``week``, ``day`` or ``5 days``: the unit of time between looks, in words."""
        return self.every if isinstance(self.every, str) else f"{self.every} days"
