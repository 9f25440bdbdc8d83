"""Convergence gate: the posterior is used only if r_hat, ESS and divergences say it can be.

Thresholds follow Vehtari et al. (2021), "Rank-normalization, folding, and localization":
r_hat ≤ 1.01 and bulk ESS ≥ 400 for every parameter, and no divergent transitions.

When a fit fails the gate, :func:`fit_until_converged` does what a careful analyst would
before giving up, within a stated budget (:func:`escalation`): it refits with longer tuning,
more draws and a higher target acceptance (smaller steps, which removes most divergences in
the funnels of weakly identified spreads). A fit whose only failures are in parameters the
reported quantities barely depend on (a cluster or segment spread mixing slowly) passes when
the reported quantities themselves (every arm's population mean and lift) meet the thresholds
and nothing diverged; the diagnostics then carry a note saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import xarray as xr
from arviz_base import rcParams
from arviz_stats.base import array_stats
from arviz_stats.sampling_diagnostics import ess, rhat

from channelab.spec import Sampler

RHAT_MAX = 1.01
ESS_MIN = 400
#: Refits allowed after a failed gate (the spec's ``sampler.retries`` by default).
_RETRIES = 2

# arviz-stats is untyped upstream: its functions as this module calls them.
_rhat: Callable[[xr.DataArray], xr.DataArray] = rhat
_ess: Callable[..., xr.DataArray] = ess
_array_ess: Callable[..., np.ndarray] = array_stats.ess
_array_rhat: Callable[..., np.ndarray] = array_stats.rhat
_array_hdi: Callable[..., np.ndarray] = array_stats.hdi


@dataclass(frozen=True)
class Attempt:
    """One fit of the posterior: its sampler settings and seed, and why it failed the gate if it did.

    Attributes
    ----------
    draws, tune : int
        Draws and tuning steps per chain.
    target_accept : float
        The sampler's target acceptance.
    seed : int
        The fit's seed.
    problems : tuple of str
        Why it failed the gate (empty when it passed).
    """

    draws: int
    tune: int
    target_accept: float
    seed: int
    problems: tuple[str, ...]

    def describe(self) -> str:
        """E.g. ``1,000 draws after 1,000 tuning steps, target acceptance 0.90``."""
        return (
            f"{self.draws:,} draws after {self.tune:,} tuning steps, "
            f"target acceptance {self.target_accept:.2f}"
        )


@dataclass(frozen=True)
class Diagnostics:
    """Sampler health over every free parameter, and whether the gate is passed.

    Attributes
    ----------
    rhat_max : float
        The largest r_hat over the parameters.
    ess_bulk_min, ess_tail_min : float
        The smallest bulk and tail effective sample sizes.
    divergences : int
        Divergent transitions, over every chain.
    chains, draws : int
        Chains, and draws per chain.
    table : pandas.DataFrame
        One row per parameter element: ``mean``, ``sd``, the HDI's ends (``hdi94_lb``,
        ``hdi94_ub`` at 94 %), ``ess_bulk``, ``ess_tail`` and ``r_hat``, with ArviZ's column
        names and numbers (:func:`parameter_table`).
    problems : tuple of str
        Why the gate failed (empty when it passed).
    notes : tuple of str
        Why a fit with slowly mixing nuisance parameters was accepted.
    attempts : tuple of Attempt
        Every fit run (the last is the one reported).
    """

    rhat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    chains: int
    draws: int
    table: pd.DataFrame = field(repr=False, compare=False)
    problems: tuple[str, ...]
    notes: tuple[str, ...] = ()
    attempts: tuple[Attempt, ...] = ()

    @property
    def converged(self) -> bool:
        """True when the gate is passed."""
        return not self.problems

    @property
    def refits(self) -> int:
        """How many refits were run after the first fit."""
        return max(len(self.attempts) - 1, 0)

    def refit_sentence(self) -> str:
        """What was done when the first fit failed the gate (empty when it passed)."""
        if not self.refits:
            return ""
        first, last = self.attempts[0], self.attempts[-1]
        outcome = "reports that fit" if self.converged else "reports the last fit, which still failed"
        return (
            f"The first fit ({first.describe()}) failed the gate ({'; '.join(first.problems)}); "
            f"channelab refitted {self.refits} time{'s' if self.refits > 1 else ''}, the last with "
            f"{last.describe()} (seed {last.seed}), and {outcome}."
        )


def diagnose(
    posterior: xr.DataTree,
    hdi_prob: float,
    *,
    var_names: list[str] | None = None,
    reported: Mapping[str, xr.DataArray] | None = None,
) -> Diagnostics:
    """Summarise convergence of ``var_names`` (default: every parameter in the posterior) and apply the gate.

    When every parameter-level failure is r_hat or ESS (not divergences) and the ``reported``
    quantities pass the same thresholds, the fit passes with a note instead of a problem.

    Parameters
    ----------
    posterior : xarray.DataTree
        A fit, with ``posterior`` and ``sample_stats`` groups.
    hdi_prob : float
        The interval mass of the summary table's HDIs.
    var_names : list of str, optional
        The parameters to check; by default every variable of the posterior.
    reported : mapping of str to xarray.DataArray, optional
        The quantities the report states, each with ``chain`` and ``draw`` dims.

    Returns
    -------
    Diagnostics
        The summary and the gate's verdict (``attempts`` left empty).
    """
    names = var_names or [str(v) for v in posterior["posterior"].data_vars]
    stats = posterior["sample_stats"].to_dataset()
    post = posterior["posterior"].to_dataset()
    table = parameter_table(post[names], hdi_prob)
    divergences = int(stats["diverging"].sum()) if "diverging" in stats else 0
    rhat_max = float(table["r_hat"].max())
    ess_bulk = float(table["ess_bulk"].min())
    mixing = _mixing_problems(table["r_hat"], table["ess_bulk"])
    notes: tuple[str, ...] = ()
    if mixing and not divergences and reported:
        r_hat, ess = _reported_mixing(reported)
        if r_hat <= RHAT_MAX and ess >= ESS_MIN:
            notes = (
                f"{'; '.join(mixing)}: parameters the reported quantities barely depend on mixed slowly, "
                f"but every reported population mean and lift has r_hat ≤ {r_hat:.3f} and bulk ESS ≥ "
                f"{ess:,.0f}, so they are used",
            )
            mixing = []
    problems = [*mixing, *([f"{divergences} divergent transition(s)"] if divergences else [])]
    return Diagnostics(
        rhat_max=rhat_max,
        ess_bulk_min=ess_bulk,
        ess_tail_min=float(table["ess_tail"].min()),
        divergences=divergences,
        chains=int(post.sizes["chain"]),
        draws=int(post.sizes["draw"]),
        table=table,
        problems=tuple(problems),
        notes=notes,
    )


def parameter_table(post: xr.Dataset, hdi_prob: float) -> pd.DataFrame:
    """Mean, sd, HDI, rank-normalised r_hat and bulk and tail ESS of every parameter element.

    The numbers of ArviZ's ``summary(..., ci_kind="hdi")`` (its Monte Carlo errors left out),
    computed on one array of every element instead of a pass per variable and statistic.

    Parameters
    ----------
    post : xarray.Dataset
        Draws with ``chain`` and ``draw`` dims.
    hdi_prob : float
        The HDI's mass.

    Returns
    -------
    pandas.DataFrame
        One row per element, labelled ``name[coord, ...]`` as ArviZ labels them.
    """
    labels: list[str] = []
    columns = []
    for name, da in post.data_vars.items():
        extra = [d for d in da.dims if d not in ("chain", "draw")]
        values = da.transpose(*extra, "chain", "draw").to_numpy()
        columns.append(values.reshape(-1, *values.shape[-2:]))
        labels += _element_labels(str(name), [post[d].to_numpy() for d in extra])
    x = np.concatenate(columns)
    pooled = x.reshape(len(x), -1)
    hdi = _array_hdi(pooled, hdi_prob)
    mass = f"hdi{round(hdi_prob * 100):d}"
    return pd.DataFrame(
        {
            "mean": pooled.mean(axis=-1),
            "sd": pooled.std(axis=-1, ddof=1),
            f"{mass}_lb": hdi[:, 0],
            f"{mass}_ub": hdi[:, 1],
            "ess_bulk": _array_ess(x, method="bulk"),
            "ess_tail": _array_ess(x, method="tail", prob=rcParams["stats.ci_prob"]),
            "r_hat": _array_rhat(x, method="rank"),
        },
        index=labels,
    )


def _element_labels(name: str, coords: list[np.ndarray]) -> list[str]:
    """``name[a, b]`` for every element of a variable with these coordinates (``name`` if scalar)."""
    if not coords:
        return [name]
    grid = np.meshgrid(*coords, indexing="ij")
    return [
        f"{name}[{', '.join(str(c) for c in combo)}]"
        for combo in zip(*(g.ravel() for g in grid), strict=True)
    ]


def _mixing_problems(r_hat: pd.Series, ess_bulk: pd.Series) -> list[str]:
    """The r_hat and bulk-ESS failures among the rows of a summary, each naming the worst parameter."""
    out = []
    if not r_hat.max() <= RHAT_MAX:
        out.append(f"r_hat up to {r_hat.max():.3f} (> {RHAT_MAX}) for {r_hat.idxmax()}")
    if not ess_bulk.min() >= ESS_MIN:
        out.append(f"bulk ESS down to {ess_bulk.min():.0f} (< {ESS_MIN}) for {ess_bulk.idxmin()}")
    return out


def _reported_mixing(reported: Mapping[str, xr.DataArray]) -> tuple[float, float]:
    """Largest r_hat and smallest bulk ESS over every element of the reported quantities."""
    r_hat = max(float(np.nanmax(_rhat(q).to_numpy())) for q in reported.values())
    ess = min(float(np.nanmin(_ess(q, method="bulk").to_numpy())) for q in reported.values())
    return r_hat, ess


def escalation(cfg: Sampler, seed: int, retries: int) -> list[tuple[Sampler, int]]:
    """The settings and seed of the first fit and of each refit allowed after a failed gate.

    Refit k (1, 2, ...) runs 2^k times the spec's tuning steps and draws, with a target
    acceptance of at least 0.95 (then 0.99), and seed + k, so refits are as reproducible as
    the first fit. The budget with two refits: at most 1 + 2 + 4 = 7 times the first fit's
    iterations, on the model already compiled.

    Parameters
    ----------
    cfg : Sampler
        The first fit's sampler settings.
    seed : int
        The first fit's seed.
    retries : int
        Refits allowed after a failed gate.

    Returns
    -------
    list of tuple of (Sampler, int)
        The settings and seed of the first fit, then of each refit.
    """
    steps = [(cfg, seed)]
    for k in range(1, retries + 1):
        factor = 2**k
        steps.append(
            (
                cfg.model_copy(
                    update={
                        "draws": cfg.draws * factor,
                        "tune": cfg.tune * factor,
                        "target_accept": max(cfg.target_accept, 0.95 if k == 1 else 0.99),
                    }
                ),
                seed + k,
            )
        )
    return steps


def fit_until_converged(
    draw: Callable[[Sampler, int], xr.DataTree],
    judge: Callable[[xr.DataTree], Diagnostics],
    cfg: Sampler,
    seed: int,
    *,
    retries: int = _RETRIES,
) -> tuple[xr.DataTree, Diagnostics]:
    """Fit with ``draw(settings, seed)`` and refit along :func:`escalation` until ``judge`` passes.

    Parameters
    ----------
    draw : callable
        Fits the posterior with the given sampler settings and seed.
    judge : callable
        Applies the gate to a posterior.
    cfg : Sampler
        The first fit's sampler settings.
    seed : int
        The first fit's seed.
    retries : int, default 2
        Refits allowed after a failed gate.

    Returns
    -------
    tuple of (xarray.DataTree, Diagnostics)
        The last posterior and its diagnostics, whose ``attempts`` record every fit.
    """
    attempts: list[Attempt] = []
    for settings, run_seed in escalation(cfg, seed, retries):
        posterior = draw(settings, run_seed)
        diagnostics = judge(posterior)
        attempts.append(
            Attempt(settings.draws, settings.tune, settings.target_accept, run_seed, diagnostics.problems)
        )
        if diagnostics.converged:
            break
    return posterior, replace(diagnostics, attempts=tuple(attempts))
