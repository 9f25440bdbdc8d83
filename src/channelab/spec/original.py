"""An original study to replicate, the replication settings, and what they cannot be."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Protocol

from pydantic import Field

from channelab.spec.base import Strict, suggest
from channelab.spec.core import Metric
from channelab.spec.labs import Lab, labs_problems
from channelab.spec.summaries import OriginalArm, table_problems


class Original(Strict):
    """The original study a replication is judged against (``channelab replicate``).

    Every number is published unless it says ``assumed: why``.

    Attributes
    ----------
    citation
        The study's reference, as it is to be cited.
    study
        Which study of the paper, and where it ran.
    contrast
        Its headline claim, ``[a, b]``: arm ``a`` does better than arm ``b`` on the outcome
        metrics.
    arms
        Per arm label, its published size and summaries per metric.
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
    otherwise ``inconclusive``.

    Attributes
    ----------
    primary
        The metric whose verdict is the headline (default: the first outcome metric the
        original reports).
    bf_threshold
        The replication Bayes factor that counts as evidence either way.
    equivalence
        The probability inside the ROPE that counts as no effect.
    powers
        The powers a replication plan sizes each arm for (``channelab replicate --plan``).
    alpha
        The significance level of the plan's two-sided test.
    assurance_sims
        Simulated replications per planned size when the plan measures how often the verdict
        would be ``replicated``.
    labs
        A many-lab replication: two or more labs, each with its unit rows (``data:``, in the
        spec's data format) or its published per-arm table (``summaries:``). ``channelab
        replicate`` estimates the original's contrast in each lab, pools the labs with a
        hierarchical model (mean effect, spread between labs τ, the range a new lab would find)
        and judges the replication on the pooled evidence.
    """

    primary: str | None = None
    bf_threshold: Annotated[float, Field(gt=1)] = 10.0
    equivalence: Annotated[float, Field(gt=0.5, lt=1)] = 0.95
    powers: list[Annotated[float, Field(gt=0, lt=1)]] = Field(default_factory=lambda: [0.8, 0.9, 0.95])
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    assurance_sims: Annotated[int, Field(ge=100, le=100_000)] = 4000
    labs: list[Lab] | None = None


class _Replicated(Protocol):
    """What :func:`original_problems` reads of the spec."""

    @property
    def original(self) -> Original | None: ...
    @property
    def replication(self) -> Replication: ...
    @property
    def metrics(self) -> Sequence[Metric]: ...
    @property
    def arms(self) -> Mapping[str, object]: ...


def original_problems(spec: _Replicated) -> list[str]:
    """What the original study and the replication settings cannot be, one line each.

    Parameters
    ----------
    spec
        The experiment definition being validated.
    """
    o = spec.original
    labs = labs_problems(
        spec.replication.labs, has_original=o is not None, metrics=spec.metrics, arms=list(spec.arms)
    )
    if o is None:
        return labs
    problems = [
        f"original.contrast.{i}: {a!r} has no published numbers under original.arms"
        + suggest(a, list(o.arms))
        for i, a in enumerate(o.contrast)
        if a not in o.arms
    ]
    problems += table_problems("original.arms", o.arms, spec.metrics, list(spec.arms), every_metric=False)
    names = [m.name for m in spec.metrics]
    primary = spec.replication.primary
    if primary is not None and primary not in names:
        problems.append(f"replication.primary: {primary!r} is not a metric" + suggest(primary, names))
    return problems + labs
