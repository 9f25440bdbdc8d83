"""Did randomisation work? The sample-ratio test and the balance of the pre-period columns.

Both compare the arms with what the planned allocation leaves up to chance: arm sizes with the
planned shares (a chi-square test), and each pre-period column's arm means with each other (a
one-way ANOVA F test). A p-value below :data:`SRM_ALPHA` is a warning (assignment or logging may
be broken), carried into the report; it never stops the run.
"""

from __future__ import annotations

import numpy as np
from scipy.special import chdtrc, fdtrc  # the chi-square and F tails (scipy.stats is slow to import)

from channelab.engine.checks.base import Balance, Balanced, CheckReport, Finding, SampleRatio
from channelab.engine.source import ROWS, Source, number, quote
from channelab.spec import Spec

#: Sample-ratio mismatch is flagged below this chi-square p-value.
SRM_ALPHA = 0.001


def sample_ratio(source: Source, spec: Spec, so_far: CheckReport) -> SampleRatio:
    """Chi-square test of the observed arm sizes (``so_far.arm_counts``) against the planned allocation."""
    counts = so_far.arm_counts
    if spec.design == "matched":
        return SampleRatio(
            float("nan"),
            (
                Finding(
                    "sample_ratio", "info", "no sample-ratio test: a matched design has no planned allocation"
                ),
            ),
        )
    if not spec.shares_known:
        return SampleRatio(
            float("nan"),
            (Finding("sample_ratio", "info", "sample ratio not checked: the planned shares are unknown"),),
        )
    if len(counts) != len(spec.arms):
        return SampleRatio(float("nan"))
    shares = spec.planned_shares()
    observed = [counts[a] for a in spec.arms]
    total = sum(observed)
    expected = [shares[a] * total for a in spec.arms]
    statistic = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))
    p = float(chdtrc(len(observed) - 1, statistic))  # Pearson's chi-square goodness of fit
    detail = ", ".join(f"{a} {counts[a]} vs {e:.0f}" for a, e in zip(spec.arms, expected, strict=True))
    if p < SRM_ALPHA:
        mismatch = Finding(
            "sample_ratio",
            "warning",
            f"sample-ratio mismatch: arm sizes differ from the planned allocation more than chance "
            f"allows (chi-square p = {p:.2g}; observed vs expected: {detail}). Assignment or logging "
            "may be broken; treat the effects with caution.",
            total,
        )
        return SampleRatio(p, (mismatch,))
    return SampleRatio(
        p,
        (
            Finding(
                "sample_ratio", "info", f"arm sizes match the planned allocation (chi-square p = {p:.2g})"
            ),
        ),
    )


def pre_period_balance(source: Source, spec: Spec, so_far: CheckReport) -> Balanced:
    """Each ``adjust`` column per arm (mean, sd), and a warning where the arms differ beyond chance.

    A pre-period column is measured before assignment, so randomisation leaves its arm means
    alike up to chance; an F test p-value below :data:`SRM_ALPHA` is a red flag (assignment
    broken, or the column measured after it). A matched design is balanced by matching instead.
    Not run after an error (it would only repeat it).
    """
    if not spec.adjust or so_far.errors:
        return Balanced()
    arm = quote(spec.arm_column)
    stats_sql = ", ".join(f"avg({number(c)}), coalesce(var_samp({number(c)}), 0)" for c in spec.adjust)
    rows = {
        str(r[0]): r[1:]
        for r in source.fetchall(
            f"SELECT CAST({arm} AS VARCHAR), count(*), {stats_sql} FROM {ROWS} GROUP BY 1"
        )
    }
    arms = [a for a in spec.arm_order if a in rows]
    n = np.array([rows[a][0] for a in arms], dtype=np.float64)
    out, findings = [], []
    for i, col in enumerate(spec.adjust):
        mean = np.array([rows[a][1 + 2 * i] for a in arms], dtype=np.float64)
        var = np.array([rows[a][2 + 2 * i] for a in arms], dtype=np.float64)
        balance, flat = _balance(col, arms, n, mean, var)
        out.append(balance)
        findings += _balance_warning(balance, spec, flat=flat)
    return Balanced(tuple(out), tuple(findings))


def _balance(
    column: str, arms: list[str], n: np.ndarray, mean: np.ndarray, var: np.ndarray
) -> tuple[Balance, bool]:
    """A column's balance from its per-arm sizes, means and variances; and whether it is flat.

    Flat: its pooled within-arm variation is not positive, so no F test can be made.
    """
    grand = n @ mean / n.sum()
    between, within = n @ (mean - grand) ** 2, (n - 1) @ var
    dof = (len(arms) - 1, n.sum() - len(arms))
    p = float(fdtrc(*dof, between / dof[0] / (within / dof[1]))) if within > 0 and dof[1] > 0 else 1.0
    smd = {
        a: float((mean[j] - mean[0]) / np.sqrt((var[j] + var[0]) / 2)) if var[j] + var[0] > 0 else 0.0
        for j, a in enumerate(arms)
        if j
    }
    balance = Balance(
        column,
        dict(zip(arms, mean.tolist(), strict=True)),
        dict(zip(arms, np.sqrt(var).tolist(), strict=True)),
        smd,
        p,
    )
    return balance, bool(within <= 0)


def _balance_warning(balance: Balance, spec: Spec, *, flat: bool) -> list[Finding]:
    """A warning if the column does not vary, or (randomised designs) its arms differ beyond chance."""
    col, p, smd = balance.column, balance.p_value, balance.smd
    if flat:
        return [
            Finding(
                "pre_period_balance",
                "warning",
                f"pre-period column {col!r} (adjust) does not vary within any arm; adjusting for it "
                "changes nothing. Remove it from adjust",
            )
        ]
    if p < SRM_ALPHA and spec.design == "randomised":
        worst = max(smd, key=lambda a: abs(smd[a]))
        return [
            Finding(
                "pre_period_balance",
                "warning",
                f"pre-period column {col!r} differs across the arms more than randomisation allows "
                f"(F test p = {p:.2g}; {worst} vs {spec.control}: standardised difference "
                f"{smd[worst]:+.2f}). Assignment may be broken, or the column was measured after "
                "assignment; treat the effects with caution.",
            )
        ]
    return []
