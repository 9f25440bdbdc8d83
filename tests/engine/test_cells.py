"""Cells are exact sufficient statistics: equal to pandas aggregates, whatever the row order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from channelab.engine.aggregate import build_cells
from channelab.engine.rows import open_source
from channelab.simulate.ab import SimMetric, simulate_ab
from helpers import cell_statistics

METRICS = {
    "clicked": SimMetric("binary", 0.3, {"treatment": 0.2}),
    "replies": SimMetric("count", 1.2, {"treatment": 0.1}),
    "revenue": SimMetric("revenue", 0.2, {"treatment": 0.3}, amount=80),
    "score": SimMetric("continuous", 5.0, {"treatment": 0.5}),
}
SPEC_METRICS = [
    {"name": "clicked", "type": "binary", "role": "engagement"},
    {"name": "replies", "type": "count", "role": "engagement"},
    {"name": "revenue", "type": "revenue", "role": "revenue", "revenue_likelihood": "lognormal_hurdle"},
    {"name": "score", "type": "continuous", "role": "outcome"},
]


def _cells(write_experiment, rows):
    spec = write_experiment(rows, SPEC_METRICS)
    return build_cells(open_source(spec), spec)


def test_cells_equal_pandas_aggregates(write_experiment):
    rows, _ = simulate_ab(n_per_arm=700, metrics=METRICS, seed=3)
    cells = _cells(write_experiment, rows)
    assert cells.n_units == len(rows)
    for i in range(cells.n_cells):
        arm, seg = cells.arms[cells.arm_idx[i]], cells.levels["segment"][cells.level_idx["segment"][i]]
        sub = rows[(rows["arm"] == arm) & (rows["segment"] == seg)]
        assert cells.n[i] == len(sub)
        for name, stats in cells.metrics.items():
            y = sub[name].to_numpy(dtype=float)
            assert stats.total[i] == pytest.approx(y.sum(), rel=1e-12)
            assert stats.sum_sq[i] == pytest.approx((y**2).sum(), rel=1e-12)
        rev = cells.metrics["revenue"]
        pos = sub["revenue"].to_numpy()[sub["revenue"].to_numpy() > 0]
        assert rev.n_pos[i] == len(pos)
        assert rev.sum_log[i] == pytest.approx(np.log(pos).sum(), rel=1e-12)
        assert rev.sum_log_sq[i] == pytest.approx((np.log(pos) ** 2).sum(), rel=1e-12)
        cnt = cells.metrics["replies"]
        table = dict(
            zip(
                cnt.frequencies.value[cnt.frequencies.cell == i],
                cnt.frequencies.units[cnt.frequencies.cell == i],
                strict=True,
            )
        )
        assert table == sub["replies"].value_counts().to_dict()


def test_cells_do_not_depend_on_row_order(write_experiment):
    rows, _ = simulate_ab(n_per_arm=500, metrics=METRICS, seed=4)
    a = _cells(write_experiment, rows)
    b = _cells(write_experiment, rows.sample(frac=1.0, random_state=np.random.default_rng(9)))
    np.testing.assert_array_equal(a.n, b.n)
    for name in a.metrics:
        np.testing.assert_allclose(a.metrics[name].total, b.metrics[name].total, rtol=1e-13)
    np.testing.assert_array_equal(
        a.metrics["replies"].frequencies.units, b.metrics["replies"].frequencies.units
    )


def test_strata_weights_are_the_experiments_own_mix(write_experiment):
    rows, _ = simulate_ab(n_per_arm=400, metrics=METRICS, seed=5)
    cells = _cells(write_experiment, rows)
    strata = cells.strata()
    shares = rows["segment"].value_counts(normalize=True)
    assert strata.weights.sum() == pytest.approx(1.0)
    for level, w in zip(strata.level_idx["segment"], strata.weights, strict=True):
        assert w == pytest.approx(shares[cells.levels["segment"][level]])


def test_integer_weights_equal_repeated_rows(write_experiment, tmp_path):
    from channelab.engine.source import frame_source

    rows, _ = simulate_ab(n_per_arm=300, metrics=METRICS, seed=5)
    weights = np.random.default_rng(1).integers(0, 4, len(rows))  # 0 drops a row
    spec = write_experiment(rows, SPEC_METRICS)
    weighted = build_cells(frame_source(rows.assign(w=weights)), spec, weight="w")
    repeated = build_cells(frame_source(rows.loc[rows.index.repeat(weights)].reset_index(drop=True)), spec)
    np.testing.assert_allclose(weighted.n, repeated.n)
    for name, stats in weighted.metrics.items():
        other = repeated.metrics[name]
        stats_stats, other_stats = cell_statistics(stats), cell_statistics(other)
        assert stats_stats.keys() == other_stats.keys()
        for field in stats_stats:
            a, b = stats_stats[field], other_stats[field]
            if a is None:
                assert b is None
            else:
                np.testing.assert_allclose(a, b, rtol=1e-12, err_msg=f"{name}.{field}")


@pytest.mark.parametrize("adjust", [[], ["x1", "x2"]])
def test_sampling_weights_give_each_cell_mean_the_sandwich_variance(write_experiment, adjust):
    """A cohort's weights: the residual sum of squares the model sees is Σ w² e², e from the cell's WLS."""
    from channelab.engine.source import frame_source

    rng = np.random.default_rng(4)
    n = 900
    rows = pd.DataFrame(
        {
            "unit_id": np.arange(n),
            "arm": np.where(np.arange(n) % 2 == 0, "control", "treatment"),
            "segment": rng.choice(["a", "b"], n),
            "x1": rng.gamma(2.0, 2.0, n),
            "x2": rng.normal(0, 1, n),
        }
    )
    rows["y"] = np.round(5 + 1.5 * rows["x1"] - rows["x2"] + rng.normal(0, 1 + rows["x1"], n), 4)
    w = rng.gamma(0.7, 1.0, n)  # unequal weights, heavier where the spread differs
    spec = write_experiment(rows, [{"name": "y", "role": "outcome", "type": "continuous"}], adjust=adjust)
    cells = build_cells(frame_source(rows.assign(w=w)), spec, weight="w", weights="sampling")
    frequency = build_cells(frame_source(rows.assign(w=w)), spec, weight="w")
    y = cells.metrics["y"]
    np.testing.assert_allclose(y.total, frequency.metrics["y"].total)  # means are unchanged
    for c in range(len(cells.n)):
        arm, seg = cells.arms[cells.arm_idx[c]], cells.levels["segment"][cells.level_idx["segment"][c]]
        mask = ((rows["arm"] == arm) & (rows["segment"] == seg)).to_numpy()
        wc, yc = w[mask], rows["y"].to_numpy()[mask]
        x = np.column_stack([np.ones(mask.sum()), rows.loc[mask, adjust].to_numpy()])
        beta = np.linalg.lstsq(x * np.sqrt(wc)[:, None], yc * np.sqrt(wc), rcond=None)[0]
        e = yc - x @ beta
        centred = y.sum_sq[c] - y.total[c] ** 2 / cells.n[c]
        if adjust:
            sx = cells.pre_period.sum_x[c]
            sxx = cells.pre_period.sum_xx[c] - np.outer(sx, sx) / cells.n[c]
            sxy = y.sum_xy[c] - sx * y.total[c] / cells.n[c]
            centred -= sxy @ np.linalg.solve(sxx, sxy)
        assert centred == pytest.approx(np.sum(wc**2 * e**2), rel=1e-8)
