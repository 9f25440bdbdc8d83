"""Rep effort in simulated outreach: the hours a rep spends on each prospect.

Each prospect's ``rep_hours`` is a gamma draw with its channel's mean hours of outreach
(shape ``shape``, so the spread is ``mean / √shape``), plus ``per_meeting`` hours for each
meeting it booked (the ``meetings`` column), rounded to 0.01 h. It is drawn from its own
random stream, so the other columns of a simulation keep their draws.

The default hours are illustrative: business as usual 0.10 h (6 minutes), an e-mail sequence
0.05 h, a phone sequence 0.40 h (three attempts of 8 minutes), social selling 0.25 h (five
touches of 3 minutes), a personal video 0.20 h, a visit 2 h, a channel not listed 0.10 h;
a booked meeting adds 1 h (the meeting itself).

The true mean hours under an arm are the channel's mean plus ``per_meeting`` × the arm's true
mean meetings (the unrounded model). Rounding to 0.01 h moves a prospect's hours by at most
0.005 h and their mean by far less: the error is nearly uniform on ±0.005 h with mean 0 (the
gamma's density is smooth and, with a shape above 1, 0 at 0 h), and computed exactly for the
default hours (E[round(X, 2)] − E[X] summed over the 0.01 h grid) it is under 2 × 10⁻⁶ h, with
the largest at e-mail's 0.05 h. The truth's means hold for the rounded column to that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

#: Illustrative mean hours of outreach per prospect, by channel (before any meeting).
DEFAULT_HOURS: dict[str, float] = {
    "control": 0.10,
    "email": 0.05,
    "phone": 0.40,
    "social": 0.25,
    "video": 0.20,
    "in_person": 2.0,
}


@dataclass(frozen=True)
class Effort:
    """Rep hours per prospect: each channel's mean hours of outreach, their spread and a meeting's hours.

    Attributes
    ----------
    hours
        Per channel, the mean hours of outreach per prospect (> 0).
    default
        The mean hours under a channel not in ``hours`` (> 0).
    shape
        The gamma shape of a prospect's outreach hours (> 0); their coefficient of variation
        is 1 / √shape.
    per_meeting
        Hours each booked meeting adds (≥ 0).
    """

    hours: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_HOURS))
    default: float = 0.10
    shape: float = 2.0
    per_meeting: float = 1.0

    def __post_init__(self) -> None:
        means = [self.default, *self.hours.values()]
        if any(not h > 0 for h in means) or not self.shape > 0 or not self.per_meeting >= 0:
            raise ValueError(
                f"Effort: got hours={dict(self.hours)}, default={self.default}, shape={self.shape}, "
                f"per_meeting={self.per_meeting}; expected hours, default and shape > 0, per_meeting >= 0"
            )

    def mean_hours(self, channel: str) -> float:
        """Mean hours of outreach per prospect under ``channel``, before any meeting."""
        return self.hours.get(channel, self.default)

    def true_mean(self, channel: str, meetings: float) -> float:
        """True mean rep hours per prospect under ``channel`` with ``meetings`` mean meetings."""
        return self.mean_hours(channel) + self.per_meeting * meetings

    def draw(self, channels: np.ndarray, meetings: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Rep hours per unit given its channel and its meetings, rounded to 0.01 h."""
        names, index = np.unique(np.asarray(channels, dtype=str), return_inverse=True)
        mean = np.array([self.mean_hours(str(c)) for c in names])[index]
        outreach = rng.gamma(self.shape, 1.0 / self.shape, size=mean.size) * mean
        return np.round(outreach + self.per_meeting * np.asarray(meetings, dtype=float), 2)

    def to_dict(self) -> dict[str, object]:
        """The settings as JSON-ready data."""
        return {
            "hours": dict(self.hours),
            "default": self.default,
            "shape": self.shape,
            "per_meeting": self.per_meeting,
            "rounded_to": 0.01,
        }


def add_rep_hours(
    effort: Effort,
    arms: Mapping[str, str],
    control: str,
    unit_arms: np.ndarray,
    meetings: np.ndarray,
    truth: tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]],
    rng: np.random.Generator,
) -> np.ndarray:
    """Draw the rep hours; add their true mean and lift to the truth's means and lifts (in place).

    Parameters
    ----------
    effort
        The effort model.
    arms
        ``{label: channel}``, in the arms' order.
    control
        The control arm's label.
    unit_arms
        Each unit's arm, as its position in ``arms``.
    meetings
        Each unit's meetings.
    truth
        The truth's ``means`` ``{arm: {metric: mean}}`` (with ``meetings``) and ``lifts``
        ``{treatment: {metric: lift}}``, both updated.
    rng
        The stream the hours are drawn from.

    Returns
    -------
    numpy.ndarray
        The ``rep_hours`` column.
    """
    means, lifts = truth
    column = effort.draw(np.asarray(list(arms.values()))[unit_arms], meetings, rng)
    for label, channel in arms.items():
        means[label]["rep_hours"] = effort.true_mean(channel, means[label]["meetings"])
    for label in arms:
        if label != control:
            lifts[label]["rep_hours"] = means[label]["rep_hours"] / means[control]["rep_hours"] - 1
    return column
