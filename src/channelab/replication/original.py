"""The original study as the spec states it: its numbers, published or assumed, and their moments."""

from __future__ import annotations

import math

from channelab.errors import SpecError
from channelab.spec import Metric, Original, Spec


def reported_numbers(spec: Spec) -> tuple[tuple[str, str, float, str | None], ...]:
    """Every number of the original: (arm, quantity, value, why it is assumed or None)."""
    out: list[tuple[str, str, float, str | None]] = []
    for arm, oa in original_study(spec).arms.items():
        out.append((arm, "n", oa.n.value, oa.n.assumed))
        for name, summary in oa.metrics.items():
            for field, r in (("proportion", summary.proportion), ("mean", summary.mean), ("sd", summary.sd)):
                if r is not None:
                    out.append((arm, f"{name} {field}", r.value, r.assumed))
    return tuple(out)


def original_study(spec: Spec) -> Original:
    """The spec's original study; refuses a spec without one, saying what to add."""
    if spec.original is None:
        raise SpecError(
            f"{spec.source_path or spec.name}: no 'original:' block, so there is nothing to replicate; "
            "describe the original study's arms and published numbers "
            "(see experiments/ubc_slacktivism_study1.yaml)."
        )
    return spec.original


def original_moments(metric: Metric, spec: Spec, arm: str) -> tuple[float, float, float]:
    """The original arm's n, mean and sd of ``metric`` (the sd implied by p for binary).

    The spec guarantees a proportion (binary) or a mean (otherwise) for every metric it lists.
    """
    oa = original_study(spec).arms[arm]
    n, s = oa.n.value, oa.metrics[metric.name]
    if metric.type == "binary" and s.proportion is not None:
        p = s.proportion.value
        return n, p, math.sqrt(p * (1 - p))
    if s.mean is None or s.sd is None:
        raise SpecError(
            f"original.arms.{arm}.metrics.{metric.name}.sd: the replication Bayes factor of a "
            f"{metric.type} metric needs the original's mean and sd; give them, or assumed ones "
            "({value: ..., assumed: why})."
        )
    return n, s.mean.value, s.sd.value
