"""Covariates: strata with few, short levels, none standing in for the arm or the cluster."""

from __future__ import annotations

from channelab.engine.checks.base import CheckReport, Finding, Found
from channelab.engine.source import ROWS, Source, quote
from channelab.limits import MAX_COVARIATE_LEVELS, MAX_LEVEL_LENGTH
from channelab.spec import Spec


def covariate_levels(source: Source, spec: Spec, so_far: CheckReport) -> Found:
    """Covariates with a level too long to print, or too many levels to be strata."""
    out = []
    for cov in spec.covariates:
        ((n, longest),) = source.fetchall(
            f"SELECT count(DISTINCT {quote(cov)}), max(length(CAST({quote(cov)} AS VARCHAR))) FROM {ROWS}"
        )
        if (longest or 0) > MAX_LEVEL_LENGTH:
            out.append(
                Finding(
                    "covariate_levels",
                    "error",
                    f"covariate {cov!r} has a level of {longest:,} characters; reports print levels as "
                    f"labels (at most {MAX_LEVEL_LENGTH}). Recode it into short level names.",
                )
            )
        if n > MAX_COVARIATE_LEVELS:
            out.append(
                Finding(
                    "covariate_levels",
                    "error",
                    f"covariate {cov!r} has {n} distinct values; covariates are strata (at most "
                    f"{MAX_COVARIATE_LEVELS} levels). Bin it (e.g. into quintiles) in a new column.",
                )
            )
    return Found(tuple(out))


def confounded_covariates(source: Source, spec: Spec, so_far: CheckReport) -> Found:
    """Covariates that stand in for the arm (or the cluster): their effect cannot be told apart.

    A covariate whose every level holds units of one arm only separates the arms; adjusting for
    it leaves nothing to estimate the arm effect from. One whose levels and clusters pair off one
    to one is the cluster under another name.
    """
    out = []
    for cov in spec.covariates:
        out += _separating(source, spec, cov)
        cluster = spec.unit.randomised_by
        if cluster and cluster != cov:
            out += _cluster_alias(source, cov, cluster)
    return Found(tuple(out))


def _separating(source: Source, spec: Spec, cov: str) -> list[Finding]:
    """An error if each level of ``cov`` holds units of one arm only (and it has several levels)."""
    c, arm = quote(cov), quote(spec.arm_column)
    ((levels, shared),) = source.fetchall(
        f"SELECT count(*), count(*) FILTER (WHERE k > 1) FROM "
        f"(SELECT {c}, count(DISTINCT {arm}) AS k FROM {ROWS} GROUP BY {c})"
    )
    if levels > 1 and shared == 0:
        return [
            Finding(
                "confounded_covariate",
                "error",
                f"covariate {cov!r} separates the arms: each of its {levels} levels holds units of one "
                "arm only, so its effect cannot be told apart from the arm's. Remove it from covariates "
                "(it is the treatment under another name, or it was measured after assignment).",
            )
        ]
    return []


def _cluster_alias(source: Source, cov: str, cluster: str) -> list[Finding]:
    """An error if the levels of ``cov`` and the clusters pair off one to one."""
    c, k = quote(cov), quote(cluster)
    ((pairs, n_cov, n_cluster),) = source.fetchall(
        f"SELECT count(*), count(DISTINCT {c}), count(DISTINCT {k}) "
        f"FROM (SELECT DISTINCT {c}, {k} FROM {ROWS})"
    )
    if n_cov > 1 and pairs == n_cov == n_cluster:
        return [
            Finding(
                "confounded_covariate",
                "error",
                f"covariate {cov!r} pairs one to one with the clusters of {cluster!r} (unit."
                "randomised_by): it is the cluster under another name. Remove it from covariates; "
                "the cluster term already adjusts for it.",
            )
        ]
    return []
