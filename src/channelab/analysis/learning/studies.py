"""What the programme model reads: one estimate and its standard error per test, by group.

A *study* is one test's effect of one arm on one metric (a registry record, or a lab of a
many-lab replication). Studies are pooled by *group*: a channel and a metric. Within a group
every study is on one *scale*: log(1 + lift) where every study has it (so tests with different
control levels pool as ratios), else the absolute difference (a metric around zero).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["Group", "Scale", "Study", "group_studies"]

#: The scale a group is pooled on.
Scale = Literal["loglift", "diff"]


@dataclass(frozen=True, slots=True)
class Study:
    """One test's estimate of one arm's effect on one metric.

    Attributes
    ----------
    label
        How the study is named in tables (the experiment, and the arm where it had several).
    channel, metric
        Its group.
    role
        The metric's role (``engagement``, ``outcome``, ``revenue``, ``guardrail``).
    loglift, loglift_se
        Estimate and standard error (posterior sd) of log(1 + lift); None where undefined.
    diff, diff_se
        Estimate and standard error of the absolute difference, arm minus control.
    control_mean
        The control's mean (turns a pooled log lift into a difference for this test's level).
    launched
        Whether the arm was launched after the test.
    key
        Identifies the test and arm across metrics (for the engagement → outcome link).
    """

    label: str
    channel: str
    metric: str
    role: str
    loglift: float | None
    loglift_se: float | None
    diff: float
    diff_se: float
    control_mean: float
    launched: bool = False
    key: str = ""

    def on(self, scale: Scale) -> tuple[float, float]:
        """The estimate and its standard error on ``scale``."""
        if scale == "diff":
            return self.diff, self.diff_se
        if self.loglift is None or self.loglift_se is None:
            raise ValueError(f"{self.label}: no log lift to pool on")
        return self.loglift, self.loglift_se


@dataclass(frozen=True, slots=True)
class Group:
    """The studies of one channel and metric, on one scale, as arrays.

    Attributes
    ----------
    channel, metric
        The group.
    scale
        ``loglift`` when every study has a log lift, else ``diff``.
    studies
        The studies, in the order of the arrays.
    estimate, se
        Each study's estimate and standard error on ``scale``.
    """

    channel: str
    metric: str
    scale: Scale
    studies: tuple[Study, ...]
    estimate: np.ndarray
    se: np.ndarray

    @property
    def name(self) -> str:
        """``channel / metric``, for tables and messages."""
        return f"{self.channel} / {self.metric}"

    @property
    def launched(self) -> np.ndarray:
        """Which studies' arms were launched (a boolean mask)."""
        return np.array([s.launched for s in self.studies], dtype=bool)


def group_studies(studies: Sequence[Study]) -> tuple[Group, ...]:
    """The studies grouped by channel and metric (sorted), each on its scale.

    Parameters
    ----------
    studies : sequence of Study
        Studies of any channels and metrics.

    Returns
    -------
    tuple of Group
        One group per (channel, metric), sorted by channel then metric; studies keep their
        order within a group.
    """
    by: dict[tuple[str, str], list[Study]] = {}
    for s in studies:
        by.setdefault((s.channel, s.metric), []).append(s)
    groups = []
    for (channel, metric), members in sorted(by.items()):
        scale: Scale = "loglift" if all(s.loglift is not None for s in members) else "diff"
        pairs = np.array([s.on(scale) for s in members], dtype=float).reshape(-1, 2)
        groups.append(Group(channel, metric, scale, tuple(members), pairs[:, 0], pairs[:, 1]))
    return tuple(groups)
