"""The words of a many-lab replication: its page-1 sentence and the licence of its verdicts.

See :mod:`channelab.replication.labs` for what licences each word.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from channelab.spec import Spec

if TYPE_CHECKING:
    from channelab.replication.judge import Estimate
    from channelab.replication.labs_results import LabsMetric

__all__ = ["labs_sentence", "licence_sentence"]


def _shown(value: float, kind: str, currency: str, *, signed: bool = True) -> str:
    """A difference as the sentence prints it: percentage points for a binary metric, else units."""
    sign = "−" if value < 0 else "+" if signed else ""
    if kind == "binary":
        return f"{sign}{100 * abs(value):.1f} pp"
    return f"{sign}{currency if kind == 'revenue' else ''}{abs(value):,.2f}"


def _interval(e: Estimate, kind: str, currency: str) -> str:
    return f"{_shown(e.lower, kind, currency)} to {_shown(e.upper, kind, currency)}"


def _bf_words(log_bf: float) -> str:
    if log_bf >= math.log(1000):
        return "> 1,000"
    if log_bf <= -math.log(1000):
        return "< 1/1,000"
    v = math.exp(log_bf)
    return f"= {v:.3g}" if v >= 1 else f"= 1/{1 / v:.3g}"


def labs_sentence(m: LabsMetric, contrast: tuple[str, str], spec: Spec) -> str:
    """The page-1 sentence: the pooled effect and verdict, the spread, a new lab, the labs beyond the ROPE.

    Parameters
    ----------
    m
        The primary metric's pooled replication.
    contrast
        The original's arms a and b.
    spec
        The spec (its currency and interval mass).
    """
    a, b = contrast
    kind, cur, pct = m.type, spec.currency, f"{100 * spec.hdi_prob:.0f} %"
    n = sum(sum(lab.n) for lab in m.labs)
    outcome = {
        "replicated": "favours the original effect over no effect, so the effect replicated across labs",
        "not replicated": "the effect did not replicate across labs",
        "inconclusive": "is not decisive either way, so the replication across labs is inconclusive",
    }[m.judged.verdict]
    if m.judged.verdict == "not replicated":
        outcome = (
            "favours no effect, so " + outcome
            if m.judged.log_bf_r0 <= -math.log(spec.replication.bf_threshold)
            else "is not decisive, but the pooled difference is credibly too small to matter, so " + outcome
        )
    spread = {
        "labs disagree": "The labs disagree: their true effects differ by more than the smallest difference "
        "that matters",
        "labs agree": "The labs agree: any two labs' true effects differ by less than the smallest "
        "difference that matters",
        "spread uncertain": "How much the labs' true effects differ is uncertain",
    }[m.spread]
    beyond, opposite = m.beyond_rope, m.opposite_rope
    return (
        f"Across {len(m.labs)} labs ({n:,} participants in these two arms), {m.label} under {a} minus {b} "
        f"averaged {_shown(m.mu.mean, kind, cur)} ({pct} interval {_interval(m.mu, kind, cur)}); the "
        f"pooled replication Bayes factor BF_r0 {_bf_words(m.judged.log_bf_r0)} {outcome}. {spread} "
        f"(spread between labs, tau, {_shown(m.tau.mean, kind, cur, signed=False)}, {pct} interval "
        f"{_shown(m.tau.lower, kind, cur, signed=False)} to {_shown(m.tau.upper, kind, cur, signed=False)}); "
        f"a new lab's true effect would lie between {_shown(m.prediction.lower, kind, cur)} and "
        f"{_shown(m.prediction.upper, kind, cur)}. About {100 * beyond.mean:.0f} % of the labs "
        f"({100 * beyond.lower:.0f} to {100 * beyond.upper:.0f} %) have a true effect beyond the ROPE in "
        f"the original's direction, and {100 * opposite.mean:.0f} % the other way."
    )


def licence_sentence(threshold: float, equivalence: float, hdi_prob: float, versus: str) -> str:
    """When the verdict's words are said (printed under the page-1 sentence).

    Parameters
    ----------
    threshold, equivalence
        The spec's ``replication.bf_threshold`` and ``replication.equivalence``.
    hdi_prob
        The interval mass of τ's interval.
    versus
        Arm b of the original's contrast, whose pooled mean sets the ROPE as a difference.
    """
    pct = f"{100 * hdi_prob:.0f} %"
    return (
        f"'Replicated across labs' is said only when the pooled BF_r0 is at least {threshold:g}; 'not "
        f"replicated' only when it is at most 1/{threshold:g} or the pooled difference lies inside the ROPE "
        f"with probability at least {equivalence:g} under the sceptical prior. 'Labs disagree' is said "
        f"only when the whole {pct} interval of tau (the spread between labs) lies above the ROPE's "
        f"half-width (at the pooled mean of {versus}), 'labs agree' only when √2 · z · its upper end "
        "lies below it (two labs' true effects then differ by less, at that probability). The pooled "
        "evidence is μ's "
        "posterior, read as a normal with its posterior mean and sd, judged as one replication."
    )
