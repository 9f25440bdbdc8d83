"""An original study to replicate: published or assumed numbers, and the replication settings."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from channelab.spec.base import Strict


class Reported(Strict):
    """One number from an original study: as published, or assumed (``assumed`` says why)."""

    value: float
    assumed: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_number(cls, v: Any) -> Any:
        return {"value": v} if isinstance(v, int | float) and not isinstance(v, bool) else v

    @property
    def published(self) -> bool:
        """Whether the number was published (not assumed)."""
        return self.assumed is None


class OriginalSummary(Strict):
    """An original arm's published summary of one metric: a proportion, or a mean and sd."""

    proportion: Reported | None = None
    mean: Reported | None = None
    sd: Reported | None = None


class OriginalArm(Strict):
    """One arm of the original study: its size and its summaries per metric of this spec."""

    n: Reported
    metrics: dict[str, OriginalSummary] = Field(default_factory=dict)


class Original(Strict):
    """The original study a replication is judged against (``channelab replicate``).

    ``contrast`` is its headline claim, ``[a, b]``: arm ``a`` does better than arm ``b`` on
    the outcome metrics. Every number is published unless it says ``assumed: why``.
    """

    citation: str
    study: str = ""
    contrast: tuple[str, str]
    arms: dict[str, OriginalArm]


class Replication(Strict):
    """How a replication is planned and judged.

    Verdict on each metric the original reports: ``replicated`` when the replication Bayes
    factor BF_r0 ≥ ``bf_threshold``; ``not replicated`` when BF_r0 ≤ 1/``bf_threshold`` or the
    contrast is inside the metric's ROPE with probability ≥ ``equivalence`` (sceptical prior);
    otherwise ``inconclusive``. ``primary`` names the metric whose verdict is the headline
    (default: the first outcome metric the original reports).
    """

    primary: str | None = None
    bf_threshold: Annotated[float, Field(gt=1)] = 10.0
    equivalence: Annotated[float, Field(gt=0.5, lt=1)] = 0.95
    powers: list[Annotated[float, Field(gt=0, lt=1)]] = Field(default_factory=lambda: [0.8, 0.9, 0.95])
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    assurance_sims: Annotated[int, Field(ge=100, le=100_000)] = 4000
