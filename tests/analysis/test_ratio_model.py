"""The ratio family: Σ numerator / Σ denominator per arm from a bivariate normal of the units' pairs.

Checked against what it must equal: on a large randomised data set the posterior of the
difference of the arms' ratios is centred on the raw Σ x / Σ y difference and its 94 % interval
is the delta method's (computed here with numpy); with strata the estimand is the ratio of the
g-computed means, not the mean of the strata's ratios; a denominator whose mean per unit may be
zero stops the run; and over repeated data sets the interval covers the truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from channelab.analysis.gcomp import population_means
from channelab.analysis.model import Refitter
from channelab.analysis.ratio import check_denominator
from channelab.engine.aggregate import frame_cells
from channelab.errors import DataError
from channelab.spec import parse_spec
from helpers import spec_dict

PROB = 0.94
METRICS = [
    {"name": "meeting", "role": "outcome", "type": "binary"},
    {"name": "rpm", "role": "revenue", "type": "ratio", "numerator": "revenue", "denominator": "meetings"},
]
#: Priors that leave the likelihood to speak (the defaults barely move these data either).
WEAK = {"sigma_sd": 10.0, "arm_sd": 10.0, "intercept_sd": 10.0}


def simulate(
    n: int, seed: int, *, lift: float = 1.2, price: float = 1000.0, segments: int = 1
) -> pd.DataFrame:
    """Units with Poisson meetings (mean 1, ``lift`` under treatment), revenue per meeting ~ 2·``price``."""
    rng = np.random.default_rng(seed)
    arm = np.repeat(["control", "treatment"], n)
    meetings = rng.poisson(np.where(arm == "treatment", lift, 1.0))
    revenue = meetings * rng.gamma(2.0, price, 2 * n) + rng.normal(0.0, 100.0, 2 * n)
    return pd.DataFrame(
        {
            "unit_id": np.arange(2 * n),
            "arm": arm,
            "segment": rng.integers(0, segments, 2 * n).astype(str),
            "meeting": (meetings > 0).astype(int),
            "meetings": meetings,
            "revenue": revenue,
        }
    )


def spec(**overrides):
    body = {
        "covariates": [],
        "priors": WEAK,
        "sampler": {"draws": 500, "tune": 500, "chains": 4, "backend": "nutpie"},
    }
    return parse_spec(spec_dict("unused.csv", METRICS, **(body | overrides)))


def ratio_draws(rows: pd.DataFrame, s, seed: int = 1, refitter: Refitter | None = None):
    cells = frame_cells(rows, s)
    fit = (refitter or Refitter(cells, s)).fit(cells, seed=seed)
    return population_means(fit["posterior"].to_dataset(), cells, s)["rpm"]


def delta_method(rows: pd.DataFrame) -> tuple[float, float]:
    """The raw Σ x / Σ y difference (treatment − control) and its delta-method sd."""
    out = {}
    for arm, g in rows.groupby("arm"):
        x, y = g["revenue"].to_numpy(), g["meetings"].to_numpy(dtype=float)
        r = x.sum() / y.sum()
        cov = np.cov(x, y)
        var = (cov[0, 0] - 2 * r * cov[0, 1] + r**2 * cov[1, 1]) / (len(x) * y.mean() ** 2)
        out[arm] = (r, var)
    return out["treatment"][0] - out["control"][0], float(np.sqrt(out["treatment"][1] + out["control"][1]))


def test_large_data_give_the_raw_ratio_difference_and_the_delta_method_interval():
    rows = simulate(20_000, seed=11)
    mu = ratio_draws(rows, spec())
    diff = (mu.sel(arm="treatment") - mu.sel(arm="control")).to_numpy().ravel()
    raw, sd = delta_method(rows)
    assert abs(diff.mean() - raw) < 0.05 * diff.std()
    z = norm.ppf((1 + PROB) / 2)
    low, high = np.quantile(diff, [(1 - PROB) / 2, (1 + PROB) / 2])
    width = 2 * z * sd
    assert abs(low - (raw - z * sd)) < 0.05 * width
    assert abs(high - (raw + z * sd)) < 0.05 * width
    # each arm's posterior mean is its raw Σ x / Σ y (no covariates), within 4 Monte Carlo errors
    g = rows.groupby("arm")[["revenue", "meetings"]].sum()
    for arm in ("control", "treatment"):
        draws = mu.sel(arm=arm).to_numpy()
        assert abs(draws.mean() - g.loc[arm, "revenue"] / g.loc[arm, "meetings"]) < 0.1 * draws.std()


def test_with_strata_the_estimand_is_the_ratio_of_the_g_computed_means():
    """Segment 0 books few meetings worth much, segment 1 many worth little: the two answers differ 3x."""
    rng = np.random.default_rng(5)
    n = 3000
    segment = rng.integers(0, 2, 2 * n)
    meetings = rng.poisson(np.where(segment == 0, 0.3, 3.0))
    price = np.where(segment == 0, 5000.0, 500.0)
    rows = pd.DataFrame(
        {
            "unit_id": np.arange(2 * n),
            "arm": np.repeat(["control", "treatment"], n),  # no effect: the strata are additive
            "segment": segment.astype(str),
            "meeting": (meetings > 0).astype(int),
            "meetings": meetings,
            "revenue": meetings * rng.gamma(4.0, price / 4.0) + rng.normal(0, 10.0, 2 * n),
        }
    )
    mu = ratio_draws(rows, spec(covariates=["segment"]))
    pooled = rows["revenue"].sum() / rows["meetings"].sum()
    per_stratum = rows.groupby("segment")[["revenue", "meetings"]].sum()
    mean_of_ratios = float((per_stratum["revenue"] / per_stratum["meetings"]).mean())
    for arm in ("control", "treatment"):
        draws = mu.sel(arm=arm).to_numpy()
        assert abs(draws.mean() - pooled) < 3 * draws.std()
        assert abs(draws.mean() - mean_of_ratios) > 20 * draws.std()


def test_a_denominator_whose_mean_may_be_zero_stops_the_run_naming_the_arm():
    rows = simulate(200, seed=3)
    s = spec()
    cells = frame_cells(rows, s)
    rng = np.random.default_rng(0)
    clear = rng.normal([1.0, 1.2], 0.05, size=(2, 500, 2))[..., None]  # (chain, draw, arm, level)
    check_denominator(s.metrics[1], clear, cells, None)  # far from zero: nothing said
    sparse = clear.copy()
    sparse[..., 1, 0] = rng.normal(0.02, 0.01, size=(2, 500))  # treatment's mean 2 sds from 0
    units = int((rows["arm"] == "treatment").sum())
    with pytest.raises(
        DataError,
        match=rf"'rpm': the denominator 'meetings' is too sparse in arm 'treatment' to divide by: {units} units",  # noqa: E501
    ):
        check_denominator(s.metrics[1], sparse, cells, None)


@pytest.mark.slow
def test_the_interval_of_the_ratio_difference_covers_the_truth():
    """40 data sets of 400 units per arm; truth 2000 · (1 − 1) = 0 shift in price, meetings up 20 %.

    Revenue per meeting is 2,000 in both arms (the channel moves meetings, not their worth), so
    the true difference is 0 (the noise's mean is 0). 94 % intervals should cover it about 94 %
    of the time; with 40 sets, at least 34 (the binomial's 1st percentile is 33).
    """
    s = spec()
    refitter = Refitter(frame_cells(simulate(400, seed=0), s), s)
    covered = 0
    for k in range(40):
        mu = ratio_draws(simulate(400, seed=100 + k), s, seed=k, refitter=refitter)
        diff = (mu.sel(arm="treatment") - mu.sel(arm="control")).to_numpy().ravel()
        low, high = np.quantile(diff, [(1 - PROB) / 2, (1 + PROB) / 2])
        covered += low <= 0.0 <= high
    assert covered >= 34
