"""A published per-arm table (``data.summaries``): what can be said of it before fitting.

Its values were checked when the spec was read; what cannot be checked, and which numbers are
assumed rather than published, become notes in the report. The negative binomial needs each
unit's count, which no table holds: such a count metric is fitted as cell means.
"""

from __future__ import annotations

from channelab.engine.checks.aggregates import fallback_note
from channelab.engine.checks.base import ArmCounts, CheckReport, Fallbacks, Finding, Found
from channelab.likelihoods import fitted
from channelab.spec import DataSource, Spec


def published_counts(data: DataSource, spec: Spec, so_far: CheckReport) -> ArmCounts:
    """Each arm's published size, as its count of units."""
    table = data.summaries
    assert table is not None
    return ArmCounts({a: round(table[a].n.value) for a in spec.arm_order})


def published_note(data: DataSource, spec: Spec, so_far: CheckReport) -> Found:
    """A note of what a published table holds, and what it leaves unchecked."""
    return Found(
        (
            Finding(
                "published_summaries",
                "info",
                "from published summaries: per-arm sizes, proportions, means and sds, as the paper "
                "gives them; duplicates, arm labels, single values and the sample ratio cannot be checked",
            ),
        )
    )


def assumed_values(data: DataSource, spec: Spec, so_far: CheckReport) -> Found:
    """A warning listing every number of the table that is assumed rather than published."""
    table = data.summaries
    assert table is not None
    assumed = [
        f"{a} {what}: {r.value:g} ({r.assumed})"
        for a in spec.arm_order
        for what, r in [
            ("n", table[a].n),
            *[
                (f"{k} {field}", getattr(summary, field))
                for k, summary in table[a].metrics.items()
                for field in ("proportion", "mean", "sd")
            ],
        ]
        if r is not None and r.assumed is not None
    ]
    if not assumed:
        return Found()
    return Found(
        (Finding("assumed_values", "warning", "assumed, not published: " + "; ".join(assumed), len(assumed)),)
    )


def cell_means(data: DataSource, spec: Spec, so_far: CheckReport) -> Fallbacks:
    """Likelihoods a per-arm table cannot support (it gives Σ y and Σ y²), what replaces each, with a note."""
    used: dict[str, str] = {}
    notes: list[Finding] = []
    for m in spec.metrics:
        replacement = fitted(m.likelihood, _PUBLISHED_STATISTICS)
        if replacement is not m.likelihood and replacement.variant is not None:
            used[m.name] = replacement.variant
            notes.append(
                Finding(
                    "likelihood",
                    "info",
                    fallback_note(m, replacement, _PUBLISHED_STATISTICS, source="published summaries"),
                )
            )
    return Fallbacks(used, tuple(notes))


#: What a per-arm table of sizes, proportions, means and sds gives of each metric.
_PUBLISHED_STATISTICS = ("total", "sum_sq")
