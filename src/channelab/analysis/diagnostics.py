"""Convergence gate: the posterior is used only if r_hat, ESS and divergences say it can be.

Thresholds follow Vehtari et al. (2021), "Rank-normalization, folding, and localization":
r_hat ≤ 1.01 and bulk ESS ≥ 400 for every parameter, and no divergent transitions.
"""

from __future__ import annotations

from dataclasses import dataclass

import arviz_stats as azs
import pandas as pd
import xarray as xr

RHAT_MAX = 1.01
ESS_MIN = 400


@dataclass(frozen=True)
class Diagnostics:
    """Sampler health over every free parameter, and whether the gate is passed."""

    rhat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    chains: int
    draws: int
    table: pd.DataFrame  # az.summary of the free parameters
    problems: tuple[str, ...]

    @property
    def converged(self) -> bool:
        """True when every threshold is met."""
        return not self.problems


def diagnose(posterior: xr.DataTree, var_names: list[str], hdi_prob: float) -> Diagnostics:
    """Summarise convergence of ``var_names`` and apply the gate."""
    table = azs.summary(posterior, var_names=var_names, ci_prob=hdi_prob, ci_kind="hdi")
    stats = posterior["sample_stats"].to_dataset()
    post = posterior["posterior"].to_dataset()
    divergences = int(stats["diverging"].sum()) if "diverging" in stats else 0
    rhat_max = float(table["r_hat"].max())
    ess_bulk = float(table["ess_bulk"].min())
    ess_tail = float(table["ess_tail"].min())
    problems = []
    if not rhat_max <= RHAT_MAX:
        worst = table["r_hat"].idxmax()
        problems.append(f"r_hat up to {rhat_max:.3f} (> {RHAT_MAX}) for {worst}")
    if not ess_bulk >= ESS_MIN:
        worst = table["ess_bulk"].idxmin()
        problems.append(f"bulk ESS down to {ess_bulk:.0f} (< {ESS_MIN}) for {worst}")
    if divergences:
        problems.append(f"{divergences} divergent transition(s)")
    return Diagnostics(
        rhat_max=rhat_max,
        ess_bulk_min=ess_bulk,
        ess_tail_min=ess_tail,
        divergences=divergences,
        chains=int(post.sizes["chain"]),
        draws=int(post.sizes["draw"]),
        table=table,
        problems=tuple(problems),
    )
