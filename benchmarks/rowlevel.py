"""The row-level PyMC baseline shared by the benchmarks: channelab's binary model, row by row.

The same priors, centring and parameters as channelab's cell model (intercept, arm effects,
zero-sum covariate effects), with one Bernoulli term per row instead of one Binomial per cell.
"""

from __future__ import annotations

import os

import arviz_stats as azs
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from channelab.spec import Spec


def row_model(rows: pd.DataFrame, spec: Spec, metrics: list[str]) -> pm.Model:
    """The model of the binary ``metrics`` with a Bernoulli likelihood per row."""
    arms = spec.arm_order
    arm_idx = rows[spec.arm_column].astype(str).map({a: i for i, a in enumerate(arms)}).to_numpy()
    levels = {c: sorted(rows[c].astype(str).unique()) for c in spec.covariates}
    index = {
        c: rows[c].astype(str).map({v: i for i, v in enumerate(lv)}).to_numpy() for c, lv in levels.items()
    }
    with pm.Model(coords={"treatment": arms[1:], **levels}) as model:
        for name in metrics:
            metric = next(m for m in spec.metrics if m.name == name)
            priors = spec.priors_for(metric)
            y = rows[metric.source_column].to_numpy()
            centre = float(np.log(y.mean() / (1 - y.mean())))
            intercept = pm.Normal(f"{name}:intercept", centre, priors.intercept_sd)
            arm = pm.Normal(f"{name}:arm", 0.0, priors.arm_sd, dims="treatment")
            eta = intercept + pt.concatenate([pt.zeros(1), arm])[arm_idx]
            for c in levels:
                eta = eta + pm.ZeroSumNormal(f"{name}:{c}", sigma=priors.covariate_sd, dims=c)[index[c]]
            pm.Bernoulli(f"{name}:obs", logit_p=eta, observed=y)
    return model


def fit_rows(
    model: pm.Model,
    spec: Spec,
    backend: str,
    *,
    seed: int,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
):
    """Sample ``model`` with the spec's sampler settings (or shorter ones, for extrapolation)."""
    chains = chains or spec.sampler.chains
    with model:
        return pm.sample(
            draws=draws or spec.sampler.draws,
            tune=tune or spec.sampler.tune,
            chains=chains,
            cores=min(chains, os.cpu_count() or 1),  # as channelab's own fit
            target_accept=spec.sampler.target_accept,
            random_seed=seed,
            nuts_sampler=backend,
            progressbar=False,
            compute_convergence_checks=False,
        )


def max_mean_gap(a, b) -> float:
    """Largest |difference of posterior means| over the parameters both fits share, in combined MCSEs."""
    worst = 0.0
    for var in a["posterior"].data_vars:
        if var not in b["posterior"].data_vars:
            continue
        x, y = a["posterior"][var], b["posterior"][var]
        se = np.sqrt(azs.mcse(x).to_numpy() ** 2 + azs.mcse(y).to_numpy() ** 2)
        gap = np.abs((x.mean(("chain", "draw")) - y.mean(("chain", "draw"))).to_numpy()) / se
        worst = max(worst, float(np.max(gap)))
    return worst
