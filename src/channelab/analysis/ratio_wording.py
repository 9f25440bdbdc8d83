"""A ratio metric in words: "revenue per meeting rose from 2,076 to 2,450 (+18 %; ...)".

A ratio describes and never decides an arm (it can rise because its denominator falls), so it
is said after the arm's verdict, each with its raw Σ numerator / Σ denominator per arm and the
posterior's relative change (or, where that is not defined, its difference).
"""

from __future__ import annotations

from collections.abc import Sequence

from channelab.analysis.results import Effect
from channelab.analysis.wording import amount, join_words, pct

__all__ = ["level", "ratio_sentence"]


def level(x: float) -> str:
    """A ratio's level: whole units with thousands separators from 100, else three significant figures.

    Parameters
    ----------
    x
        The ratio (Σ numerator / Σ denominator).
    """
    return (f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}").replace("-", "−")


def ratio_sentence(effects: Sequence[Effect], hdi_prob: float) -> str:
    """One sentence on the arm's ratio metrics, or nothing when it has none.

    Parameters
    ----------
    effects
        The arm's effects (those of type ``ratio`` are said).
    hdi_prob
        The interval mass.
    """
    ratios = [e for e in effects if e.type == "ratio"]
    if not ratios:
        return ""
    mass = f"{hdi_prob * 100:.0f} % interval"
    parts = []
    for e in ratios:
        verb = "rose" if e.arm_mean > e.control_mean else "fell" if e.arm_mean < e.control_mean else "stayed"
        if e.relative_defined:
            low, high = pct(e.lift.lower, sign=True), pct(e.lift.upper, sign=True)
            change = f"{pct(e.lift.mean, sign=True)}; {mass} {low} to {high}"
        else:
            change = (
                f"{amount(e.abs_lift.mean)}; {mass} {amount(e.abs_lift.lower)} to {amount(e.abs_lift.upper)}"
            )
        parts.append(f"{e.label} {verb} from {level(e.control_mean)} to {level(e.arm_mean)} ({change})")
    return (
        " Ratios, which describe but do not decide (one can rise because its denominator falls): "
        + join_words(parts)
        + "."
    )
