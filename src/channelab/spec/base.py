"""Vocabularies and the strict base model shared by every part of the spec."""

from __future__ import annotations

import difflib
from typing import Literal

from pydantic import BaseModel, ConfigDict

#: A metric's place in the funnel: engagement (a click), an outcome (a meeting), revenue, or a
#: guardrail (an unsubscribe, which must not get worse).
Role = Literal["engagement", "outcome", "revenue", "guardrail"]
#: What a metric measures per unit: yes/no, a count, money, or any number; or a ratio of two
#: columns' sums over the units (revenue per meeting).
MetricType = Literal["binary", "count", "revenue", "continuous", "ratio", "quantile"]
#: How an arm reaches its units.
Channel = Literal["control", "email", "phone", "social", "video", "in_person", "other"]
#: What a unit is, for the report's words.
UnitKind = Literal["prospect", "account", "rep", "customer", "contact", "participant", "visitor", "user"]

#: Funnel order used everywhere metrics are listed: engagement first, money last.
FUNNEL_ORDER: dict[str, int] = {"engagement": 0, "outcome": 1, "revenue": 2, "guardrail": 3}
#: Roles whose metrics decide a real lift: the costly steps and money.
DECISIVE_ROLES = ("outcome", "revenue")
#: Metric types that describe and never judge an arm, whatever their role: a ratio (revenue per
#: meeting can rise because meetings fall) and a quantile (the median deal).
DESCRIPTIVE_TYPES = ("ratio", "quantile")


class Strict(BaseModel):
    """Every spec model: unknown keys refused, values frozen, strings stripped, numbers finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False)


def suggest(word: str, options: list[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``options``, or nothing.

    Parameters
    ----------
    word
        What the spec says.
    options
        What it may say.
    """
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""
