"""Quantile metrics: the values the engine hands over, the Bayesian bootstrap's posterior, the effects.

Known truths: the per-arm values equal pandas' (with ``among: positive``, the positive ones);
the raw quantile is numpy's inverse-CDF quantile; the Bayesian bootstrap of a large sample
centres on the sample quantile with the spread of the sampling distribution (the asymptotic
sd √(q(1 − q)) / (√n f(Q)) of a normal sample's quantile); equal values share one weight
exactly; and an effect's observed levels are the arms' raw quantiles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from channelab.analysis.gcomp import population_means
from channelab.analysis.quantiles import ValueTable, arm_tables, quantile_draws, quantile_means, raw_quantile
from channelab.engine.aggregate import frame_cells
from channelab.errors import DataError

OUTCOME = {"name": "y", "role": "outcome", "type": "continuous"}


def _rows(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.where(np.arange(n) % 2 == 0, "control", "treatment")
    deal = rng.random(n) < 0.4
    amount = np.where(
        deal, np.round(rng.lognormal(7.5, 1.0, n) * np.where(arm == "treatment", 1.3, 1.0), 2), 0.0
    )
    return pd.DataFrame(
        {
            "unit_id": np.arange(n),
            "arm": arm,
            "segment": np.where(rng.random(n) < 0.5, "smb", "enterprise"),
            "y": rng.normal(size=n),
            "revenue": amount,
        }
    )


def _spec(write_experiment, rows, among="positive", q=0.5, **overrides):
    median = {"name": "median_deal", "role": "revenue", "type": "quantile", "column": "revenue", "q": q}
    return write_experiment(rows, [OUTCOME, {**median, "among": among}], **overrides)


@pytest.mark.parametrize("among", ["positive", "all"])
def test_the_engine_hands_over_each_arms_values_exactly(write_experiment, among):
    rows = _rows()
    spec = _spec(write_experiment, rows, among=among)
    cells = frame_cells(rows, spec)
    counted = rows[rows["revenue"] > 0] if among == "positive" else rows
    for arm, row in zip(cells.arms, arm_tables(cells, spec.metrics[1]), strict=True):
        values = counted.loc[counted["arm"] == arm, "revenue"].to_numpy()
        expected = ValueTable.of(values)
        np.testing.assert_allclose(row[0].values, expected.values)
        np.testing.assert_allclose(row[0].counts, expected.counts)
    np.testing.assert_allclose(
        cells.per_arm(cells.units("median_deal")), counted.groupby("arm").size().to_numpy()
    )


def test_the_values_split_by_level_add_up_to_the_arms(write_experiment):
    rows = _rows()
    spec = _spec(write_experiment, rows)
    cells = frame_cells(rows, spec)
    whole, split = arm_tables(cells, spec.metrics[1]), arm_tables(cells, spec.metrics[1], by="segment")
    for arm in range(2):
        assert sum(t.n for t in split[arm]) == whole[arm][0].n


@pytest.mark.parametrize("q", [0.1, 0.5, 0.73, 0.9])
def test_the_raw_quantile_is_numpys_inverse_cdf(q):
    x = np.random.default_rng(1).integers(0, 40, 333).astype(float)  # many ties
    assert raw_quantile(ValueTable.of(x), q) == np.quantile(x, q, method="inverted_cdf")


def test_the_bayesian_bootstrap_of_a_large_sample_is_the_bootstrap_of_its_quantile():
    """Centred on the sample quantile, as spread as Efron's bootstrap, near the asymptotic sd."""
    n, q = 20_000, 0.8
    x = np.random.default_rng(5).normal(size=n)
    draws = quantile_draws(ValueTable.of(x), q, 4000, np.random.default_rng(6))
    rng = np.random.default_rng(7)
    efron = np.array([np.quantile(rng.choice(x, n), q, method="inverted_cdf") for _ in range(4000)])
    asymptotic = np.sqrt(q * (1 - q) / n) / stats.norm.pdf(stats.norm.ppf(q))
    assert abs(draws.mean() - raw_quantile(ValueTable.of(x), q)) < 0.15 * asymptotic
    assert draws.std() == pytest.approx(efron.std(), rel=0.06)  # Monte Carlo error ~2 % each
    assert draws.std() == pytest.approx(asymptotic, rel=0.3)  # a quantile's bootstrap sd is noisy


def test_equal_values_share_one_weight_exactly():
    """Ties as a frequency table give the same draws' distribution as the values one by one."""
    x = np.repeat([1.0, 2.0, 3.0, 10.0], [30, 50, 15, 5])
    tied = quantile_draws(ValueTable.of(x), 0.5, 20_000, np.random.default_rng(2))
    single = quantile_draws(ValueTable(x, np.ones_like(x)), 0.5, 20_000, np.random.default_rng(3))
    for value in (1.0, 2.0, 3.0):
        assert np.mean(tied == value) == pytest.approx(np.mean(single == value), abs=0.015)


def test_draws_come_from_the_specs_seed_and_an_empty_arm_is_refused(write_experiment):
    rows = _rows()
    spec = _spec(write_experiment, rows)
    cells = frame_cells(rows, spec)
    a = quantile_means(spec.metrics[1], cells, (2, 50), seed=11)
    np.testing.assert_array_equal(a, quantile_means(spec.metrics[1], cells, (2, 50), seed=11))
    assert not np.array_equal(a, quantile_means(spec.metrics[1], cells, (2, 50), seed=12))
    rows.loc[rows["arm"] == "treatment", "revenue"] = 0.0
    cells = frame_cells(rows, spec)
    with pytest.raises(
        DataError, match=r"'median_deal': arm 'treatment' has no value above 0 in column 'revenue'"
    ):
        quantile_means(spec.metrics[1], cells, (2, 50), seed=11)


def test_population_means_give_the_quantile_draws_beside_the_models(write_experiment):
    """A quantile's draws join the others' under population_means, shaped (chain, draw, arm)."""
    import xarray as xr

    rows = _rows()
    spec = _spec(write_experiment, rows)
    cells = frame_cells(rows, spec)
    posterior = xr.Dataset(coords={"chain": [0, 1], "draw": np.arange(300)})
    means = population_means(posterior, cells, spec.model_copy(update={"metrics": [spec.metrics[1]]}))
    drawn = means["median_deal"]
    assert drawn.dims == ("chain", "draw", "arm")
    assert drawn.shape == (2, 300, 2)
    raw = [raw_quantile(t[0], 0.5) for t in arm_tables(cells, spec.metrics[1])]
    spread = drawn.std(("chain", "draw")).to_numpy()
    assert np.all(np.abs(drawn.mean(("chain", "draw")).to_numpy() - raw) < spread)
