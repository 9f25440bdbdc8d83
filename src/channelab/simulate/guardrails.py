"""A guardrail for simulated outreach: prospects who opt out (unsubscribe) after the touch.

Each prospect unsubscribes with probability ``rate`` × ``risk[channel]`` (1 for a channel not
listed), from its own random stream, so the other columns of a simulation keep their draws.
By default phone outreach doubles the opt-out rate (do-not-call requests; illustrative): a
channel with a real lift in meetings and a real harm on a guardrail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Unsubscribes:
    """Opt-outs: the control's rate and each channel's relative risk.

    Attributes
    ----------
    rate
        P(unsubscribe) under the control (and any channel without a risk), in (0, 1).
    risk
        Per channel, the relative risk of unsubscribing; rate × risk must stay below 1.
    """

    rate: float = 0.02
    risk: Mapping[str, float] = field(default_factory=lambda: {"phone": 2.0})

    def __post_init__(self) -> None:
        if not 0 < self.rate < 1 or any(r <= 0 or self.rate * r >= 1 for r in self.risk.values()):
            raise ValueError(
                f"Unsubscribes: got rate={self.rate}, risk={dict(self.risk)}; expected 0 < rate × risk < 1"
            )

    def probability(self, channel: str) -> float:
        """P(unsubscribe) under ``channel``."""
        return self.rate * self.risk.get(channel, 1.0)

    def draw(self, channels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """0/1 opt-outs per unit given its channel, and each unit's probability."""
        p = np.array([self.probability(str(c)) for c in channels])
        return (rng.random(len(p)) < p).astype(np.int64), p

    def to_dict(self) -> dict[str, object]:
        """The settings as JSON-ready data."""
        return {"rate": self.rate, "risk": dict(self.risk)}
