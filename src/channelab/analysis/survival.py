"""The time-to-event family: a piecewise-exponential hazard per interval since entry, from cell sums.

For a binary outcome with a date and a window of W days (``at``, ``window_days``), each unit is
followed from entry until its outcome, the window's end or the analysis date. In cell c and
interval k = [b_k, b_k+1) of days since entry (:attr:`channelab.cells.SurvivalCells.bounds`)::

    log λ[c, k] = η[c] + baseline[k] + period[arm(c), k]
    events[c, k] ~ Poisson(exposure[c, k] · λ[c, k])

η is the usual linear predictor (intercept, arm, covariates, clusters; :mod:`.predictor`) on the
log-hazard scale. The Poisson kernel Σ events·log λ − exposure·λ is the row-level
piecewise-exponential log-likelihood summed over units, so the cells lose nothing.

- ``baseline`` (baseline[0] = 0) is a random walk over intervals with steps ~ N(0, 1): a
  smoothing prior that lets the hazard rise or fall with time.
- ``period`` (``hazards: varying``, the default) lets each treatment's log hazard ratio change
  from interval to interval: a random walk per treatment, centred over the intervals so that
  ``:arm`` stays the average log hazard ratio, with steps ~ N(0, ``priors.hazard_step_sd``) (2:
  wide, as channels differ in speed by several times). With ``hazards: proportional`` it is 0.

The estimand is the share of units with the outcome within the window,
P(T ≤ W) = 1 − exp(−Σ_k width_k λ_k), the quantity the windowed analysis estimates from mature
units only; the hazard ratio e^arm is secondary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast, override

import lazy_loader
import numpy as np
import xarray as xr

from channelab.analysis.family_base import (
    Family,
    GroupEstimates,
    Tensor,
    Tensors,
    by_group,
    tensor_sum,
)
from channelab.cells import SurvivalCells
from channelab.spec import Priors

if TYPE_CHECKING:
    import pymc as pm
    import pytensor.tensor as pt
else:  # imported on first use: a run whose models are all compiled builds no graph
    pm = lazy_loader.load("pymc")
    pt = lazy_loader.load("pytensor.tensor", suppress_warning=True)  # pytensor: loaded anyway

__all__ = ["Survival", "cumulative_hazard_weights"]


def _concatenate(*args: Any, **kwargs: Any) -> Tensor:
    """``pt.concatenate``, whose signature PyTensor leaves untyped."""
    return cast("Callable[..., Tensor]", pt.concatenate)(*args, **kwargs)


def _cumsum(*args: Any, **kwargs: Any) -> Tensor:
    """``pt.cumsum``, whose signature PyTensor leaves untyped."""
    return cast("Callable[..., Tensor]", pt.cumsum)(*args, **kwargs)


#: Prior sd of the baseline's step from one interval to the next (log hazard): a hazard may
#: double or halve between intervals without strain.
BASELINE_STEP_SD = 1.0


class Survival(Family[SurvivalCells]):
    """Piecewise-exponential time to event from (events, days at risk) per cell and interval. Log link."""

    @override
    def data(self, name: str, s: SurvivalCells, n: np.ndarray) -> dict[str, np.ndarray]:
        out = {
            f"{name}:events": s.events.astype(np.float64),
            f"{name}:exposure": s.exposure.astype(np.float64),
            f"{name}:centre": np.asarray(
                np.log(max(s.events.sum(), 0.5) / max(s.exposure.sum(), 1.0)), dtype=np.float64
            ),
        }
        if s.metric.hazards == "varying":
            out[f"{name}:varying"] = np.ones(1)  # its presence shapes the graph (and the compiled key)
        return out

    @override
    def add_likelihood(self, name: str, d: Tensors, eta: Tensors, priors: Priors) -> None:
        k = _intervals(d[f"{name}:events"])
        baseline = _random_walk(f"{name}:baseline", k, BASELINE_STEP_SD)
        log_rate: Tensor = eta[""][:, None] + baseline[None, :]
        if f"{name}:varying" in d:
            treatments = pm.modelcontext(None).dim_lengths["treatment"]  # symbolic: any number of arms
            period = _random_walk(f"{name}:period", k, priors.hazard_step_sd, treatments)
            period = period - tensor_sum(period, axis=-1, keepdims=True) / k  # :arm: the average
            full = _concatenate([pt.zeros((1, k)), period], axis=0)  # the control has none
            log_rate = log_rate + full[d["arm_idx"]]
        kernel: Tensor = d[f"{name}:events"] * log_rate - d[f"{name}:exposure"] * pt.exp(log_rate)
        pm.Potential(f"{name}:loglik", tensor_sum(kernel))

    @override
    def mean(
        self, name: str, s: SurvivalCells, n: np.ndarray, eta: dict[str, np.ndarray], post: xr.Dataset
    ) -> np.ndarray:
        """P(outcome within the window) per arm and stratum: 1 − exp(−e^η Σ_k width_k e^(base + period))."""
        weights = cumulative_hazard_weights(name, post, s.widths)  # (chain, draw, arm, 1)
        return np.asarray(-np.expm1(-np.exp(eta[""]) * weights))

    @override
    def group_estimates(
        self, s: SurvivalCells, n: np.ndarray, group: np.ndarray, n_groups: int
    ) -> dict[str, GroupEstimates]:
        events = np.maximum(by_group(s.events.sum(axis=1), group, n_groups), 0.5)
        days = by_group(s.exposure.sum(axis=1), group, n_groups)
        with np.errstate(divide="ignore", invalid="ignore"):
            est = np.where(days > 0, np.log(events / days), np.nan)
        return {"": (est, np.where(days > 0, 1 / np.sqrt(events), np.nan))}


def cumulative_hazard_weights(name: str, post: xr.Dataset, widths: np.ndarray) -> np.ndarray:
    """Per arm, Σ_k widths[k] · e^(baseline[k] + period[arm, k]): a cumulative hazard at η = 0.

    The cumulative hazard over ``widths`` (days of each interval counted) of a unit whose η is 0.

    Parameters
    ----------
    name
        The metric's name.
    post
        Posterior draws with ``{name}:baseline_step`` (chain, draw, interval − 1) and, with
        varying hazards, ``{name}:period_step`` (chain, draw, treatment, interval − 1).
    widths
        Days of each interval to count: the whole window (:attr:`SurvivalCells.widths`), or up to
        a day (:meth:`SurvivalCells.followed`).

    Returns
    -------
    numpy.ndarray
        Dims (chain, draw, arm, 1): the last axis broadcasts over strata.
    """
    baseline = _walk(post, f"{name}:baseline_step", len(widths))  # (chain, draw, 1, interval)
    chains, draws, _, k = baseline.shape
    arms = 1 + (post[f"{name}:arm"].shape[-1] if f"{name}:arm" in post else 0)
    period = np.zeros((chains, draws, arms, k))
    if f"{name}:period_step" in post:
        walks = _walk(post, f"{name}:period_step", k)
        period[:, :, 1:, :] = walks - walks.mean(axis=-1, keepdims=True)
    weights = np.exp(baseline + period) @ np.asarray(widths, dtype=np.float64)
    return np.asarray(weights[..., None])


def _walk(post: xr.Dataset, steps: str, k: int) -> np.ndarray:
    """A random walk from 0 over ``k`` intervals rebuilt from its step draws: (chain, draw, row, k)."""
    if steps not in post:  # one interval: no steps
        return np.zeros((post.sizes["chain"], post.sizes["draw"], 1, k))
    x = post[steps].to_numpy()
    x = x.reshape((*x.shape[:2], -1, x.shape[-1]))  # a single walk gets a row axis
    return np.concatenate([np.zeros((*x.shape[:-1], 1)), np.cumsum(x, axis=-1)], axis=-1)


def _intervals(events: Tensor) -> int:
    """The number of intervals: the columns of the events container (fixed for a compiled structure)."""
    value = events.get_value() if hasattr(events, "get_value") else events.eval()
    return int(np.shape(value)[1])


def _random_walk(prefix: str, k: int, step_sd: float, rows: Tensor | None = None) -> Tensor:
    """A random walk over ``k`` intervals from 0 with steps ~ Normal(0, ``step_sd``).

    The scale is fixed, not learned: a learned scale makes a funnel with the steps wherever the
    data pin each interval's hazard (dozens of divergences on a 2,000-unit test), and a fixed
    one is still the smoothing prior a random walk is for. With ``rows``, one walk per row (dims
    row × interval).
    """
    lead = () if rows is None else (rows,)
    if k == 1:
        return pt.zeros((*lead, 1))
    steps: Tensor = pm.Normal(f"{prefix}_step", 0.0, step_sd, shape=(*lead, k - 1))
    walk: Tensor = _cumsum(steps, axis=-1)
    return _concatenate([pt.zeros((*lead, 1)), walk], axis=-1)
