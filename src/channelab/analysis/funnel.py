"""Follow-through: of the units an arm engaged, how many went on to the costly step.

The slacktivism question asked directly. An arm can raise likes and lower the share of likers
who book a meeting; the funnel's lifts show the first, follow-through shows the second. Per arm
and (engagement, outcome) pair, P(outcome | engaged) has the conjugate posterior
Beta(1 + took, 1 + engaged − took) (uniform prior), drawn with the run's seed; its lift against
the control's follow-through uses the same equal-tailed interval as every other relative lift,
and a rise or fall is claimed only beyond the outcome's ROPE, as for any lift.
The rate is among the engaged units as the arm produced them: an arm that engages more people
engages different people, so a change in follow-through describes the arm's engaged pool, not
a causal effect on the same people.
"""

from __future__ import annotations

import numpy as np

from channelab.analysis.intervals import interval, relative_interval
from channelab.analysis.results import FollowThrough
from channelab.cells import Cells
from channelab.spec import Spec

#: Posterior draws per rate: the same as a default run's 4 chains × 1,000 draws.
_DRAWS = 4000


def follow_through(cells: Cells, spec: Spec, *, seed: int) -> tuple[FollowThrough, ...]:
    """Follow-through per arm and (engagement, outcome) pair the data can show, control first."""
    labels = {m.name: m.display for m in spec.metrics}
    ropes = {m.name: m.rope_interval for m in spec.metrics}
    rng = np.random.default_rng(seed)
    out = []
    for counts in cells.funnel:
        rates = rng.beta(
            1 + counts.engaged_outcome, 1 + counts.engaged - counts.engaged_outcome, (_DRAWS, len(cells.arms))
        )
        unengaged = None
        if counts.unengaged is not None and counts.unengaged_outcome is not None:
            took, n = counts.unengaged_outcome, counts.unengaged
            unengaged = rng.beta(1 + took, 1 + n - took, (_DRAWS, len(cells.arms)))
        control = cells.arms.index(spec.control)
        for i, arm in enumerate(cells.arms):
            comparable = i != control and counts.engaged[i] > 0 and counts.engaged[control] > 0
            out.append(
                FollowThrough(
                    arm=arm,
                    engagement=counts.engagement,
                    outcome=counts.outcome,
                    engagement_label=labels[counts.engagement],
                    outcome_label=labels[counts.outcome],
                    engaged=float(counts.engaged[i]),
                    took=float(counts.engaged_outcome[i]),
                    rate=interval(rates[:, i], spec.hdi_prob),
                    unengaged=None if unengaged is None else interval(unengaged[:, i], spec.hdi_prob),
                    lift=relative_interval(rates[:, i], rates[:, control], spec.hdi_prob)
                    if comparable
                    else None,
                    prob_lower=float(np.mean(rates[:, i] < rates[:, control])) if comparable else None,
                    rope=ropes[counts.outcome],
                )
            )
    return tuple(out)
