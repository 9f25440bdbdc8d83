"""The likelihood table agrees with the spec's choices, the cell statistics and the model's families."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from channelab.cells import CELLS, MetricCells
from channelab.likelihoods import LIKELIHOODS, Likelihood, fitted, likelihood
from channelab.spec.core import Metric


def _choices(field: str) -> tuple[str, ...]:
    return typing.get_args(Metric.model_fields[field].annotation)


def test_every_choice_the_spec_offers_has_a_row_and_every_row_is_a_choice():
    offered = {"binary", "continuous"}
    offered |= {f"count:{c}" for c in _choices("count_likelihood")}
    offered |= {f"revenue:{c}" for c in _choices("revenue_likelihood")}
    offered |= {f"binary:{c}" for c in _choices("binary_likelihood") if c != "binomial"}  # binomial: "binary"
    offered.add("binary:survival")  # time_model: survival (window is binary's own row)
    offered.add("ratio")  # type: ratio, no choice
    offered.add("quantile")  # type: quantile, drawn outside the model
    assert offered == set(LIKELIHOODS)


@pytest.mark.parametrize("row", LIKELIHOODS.values(), ids=lambda r: r.key)
def test_each_family_has_typed_cell_statistics_with_the_fields_it_needs(row: Likelihood):
    kind = CELLS[row.family]
    assert issubclass(kind, MetricCells)
    fields = {f.name for f in dataclasses.fields(kind)}
    assert set(row.statistics) <= fields, f"{row.key}: {set(row.statistics) - fields} missing in {kind}"


@pytest.mark.parametrize("row", LIKELIHOODS.values(), ids=lambda r: r.key)
def test_each_family_has_a_pymc_likelihood(row: Likelihood):
    from channelab.analysis.families import FAMILIES

    modelled = {r.family for r in LIKELIHOODS.values() if r.modelled}
    assert (row.family in FAMILIES) == row.modelled  # a quantile's posterior is drawn apart
    assert set(FAMILIES) == modelled <= set(CELLS)


def test_a_metric_reads_its_row():
    nb = Metric(name="replies", role="outcome", type="count")
    assert nb.likelihood is LIKELIHOODS["count:negative_binomial"]
    means = Metric(name="revenue", role="revenue", type="revenue")
    assert means.likelihood.family == "normal"
    assert means.likelihood.exact_adjustment
    assert likelihood("binary", "binomial") is LIKELIHOODS["binary"]  # the binomial is binary's own row
    assert likelihood("binary", "cell_means").exact_adjustment  # the linear probability model


@pytest.mark.parametrize(
    ("key", "present", "expected"),
    [
        ("count:negative_binomial", {"total", "frequencies"}, "count:negative_binomial"),
        ("count:negative_binomial", {"total", "sum_sq"}, "count:cell_means"),  # aggregated rows with Σ y²
        ("count:negative_binomial", {"total"}, "count:poisson"),  # aggregated rows without
        ("revenue:lognormal_hurdle", {"total", "sum_sq", "n_pos", "sum_log", "sum_log_sq"}, None),
        ("revenue:lognormal_hurdle", {"total", "sum_sq"}, "revenue:cell_means"),
        ("revenue:lognormal_hurdle", {"total"}, "revenue:cell_means"),  # none fits: the least demanding
        ("continuous", {"total"}, "continuous"),  # no fallback: its missing Σ y² is reported
    ],
)
def test_the_fitted_likelihood_is_the_first_whose_statistics_the_data_have(key, present, expected):
    row = LIKELIHOODS[key]
    assert fitted(row, present).key == (expected or key)
