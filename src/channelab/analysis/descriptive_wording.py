"""Ratio and quantile metrics in words: "revenue per meeting rose from $2,076 to $2,450 (+18 %; ...)".

A ratio or a quantile describes and never decides an arm (a ratio can rise because its
denominator falls; a median says nothing of the units above it), so they are said after the
arm's verdict, each with its raw level per arm (Σ numerator / Σ denominator, or the arm's own
q-quantile) and the posterior's relative change (or, where that is not defined, its
difference). The verb is licensed as every claim is (:func:`~.claims.metric_claim`): "rose" or
"fell" only where the metric's verdict is a change beyond its ROPE, "stayed within the ROPE"
where it is no effect, else the two levels as they are, "neither beyond nor within the ROPE". One of role
``revenue`` is money (:func:`is_money`): its levels and differences are written with the
formatter of every other amount (:func:`~.wording.money`).
"""

from __future__ import annotations

from collections.abc import Sequence

from channelab.analysis.claims import metric_claim
from channelab.analysis.results import Effect
from channelab.analysis.wording import amount, join_words, money, pct
from channelab.spec import DESCRIPTIVE_TYPES

__all__ = ["descriptive_sentence", "is_money", "level", "ratio_change", "ratio_level"]


def level(x: float) -> str:
    """A level: whole units with thousands separators from 100, else three significant figures (kept).

    Parameters
    ----------
    x
        The ratio (Σ numerator / Σ denominator).
    """
    return (f"{x:,.0f}" if abs(x) >= 100 else f"{x:#.3g}").replace("-", "−")  # 0.440 beside 0.0935


def is_money(e: Effect) -> bool:
    """Whether a ratio or quantile is money: one of role ``revenue`` (revenue per meeting, the median deal).

    Parameters
    ----------
    e
        The effect.
    """
    return e.type in DESCRIPTIVE_TYPES and e.role == "revenue"


def ratio_level(e: Effect, x: float, currency: str | None) -> str:
    """A level of ratio ``e``: money when it is money and a currency is given, else :func:`level`.

    Parameters
    ----------
    e
        The ratio's effect.
    x
        The level (an arm's Σ numerator / Σ denominator).
    currency
        The spec's currency symbol, or ``None`` for plain numbers.
    """
    return money(x, currency) if currency is not None and is_money(e) else level(x)


def ratio_change(e: Effect, x: float, currency: str | None) -> str:
    """A signed difference of ratio ``e``: money as :func:`ratio_level`, else :func:`~.wording.amount`.

    Parameters
    ----------
    e
        The ratio's effect.
    x
        The difference of the arms' ratios.
    currency
        The spec's currency symbol, or ``None`` for plain numbers.
    """
    return money(x, currency, sign=True) if currency is not None and is_money(e) else amount(x)


def descriptive_sentence(effects: Sequence[Effect], hdi_prob: float, currency: str | None = None) -> str:
    """One sentence on the arm's ratio and quantile metrics, or nothing when it has none.

    Parameters
    ----------
    effects
        The arm's effects (those of a type in :data:`~channelab.spec.DESCRIPTIVE_TYPES` are said).
    hdi_prob
        The interval mass.
    currency
        The spec's currency symbol: money (:func:`is_money`) is written as money. ``None``
        writes plain numbers.
    """
    described = [e for e in effects if e.type in DESCRIPTIVE_TYPES]
    if not described:
        return ""
    parts = [_described(e, hdi_prob, currency) for e in described]
    kinds = sorted({e.type for e in described}, reverse=True)  # ratio, then quantile
    why = {
        "ratio": "a ratio can rise because its denominator falls",
        "quantile": "a quantile says nothing of the units beyond it",
    }
    names = {"ratio": "Ratios", "quantile": "quantiles"}
    lead = " and ".join(names[k] for k in kinds)
    reasons = "; ".join(why[k] for k in kinds)
    return f" {lead[0].upper()}{lead[1:]}, which describe but do not decide ({reasons}): {join_words(parts)}."


def _described(e: Effect, hdi_prob: float, currency: str | None) -> str:
    """One ratio or quantile: its levels, with a verb only where the posterior licenses one."""
    mass = f"{hdi_prob * 100:.0f} % interval"
    if e.relative_defined:
        low, high = pct(e.lift.lower, sign=True), pct(e.lift.upper, sign=True)
        change = f"{pct(e.lift.mean, sign=True)}; {mass} {low} to {high}"
    else:
        d = [ratio_change(e, x, currency) for x in (e.abs_lift.mean, e.abs_lift.lower, e.abs_lift.upper)]
        change = f"{d[0]}; {mass} {d[1]} to {d[2]}"
    control, arm = ratio_level(e, e.control_mean, currency), ratio_level(e, e.arm_mean, currency)
    match metric_claim(e):
        case "real lift" | "harm" | "guardrail harm":
            verb = "rose" if e.abs_lift.mean > 0 else "fell"
            return f"{e.label} {verb} from {control} to {arm} ({change})"
        case "no effect":
            return f"{e.label} stayed within the ROPE ({control} under the control, {arm} here; {change})"
        case _:
            return (
                f"{e.label} was {control} under the control and {arm} here: neither beyond nor within "
                f"the ROPE ({change})"
            )
