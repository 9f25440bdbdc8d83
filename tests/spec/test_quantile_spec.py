"""A quantile metric in the spec: the q-quantile of a column per arm, never decisive, checked."""

from __future__ import annotations

import pytest

from channelab.errors import SpecError
from channelab.spec import parse_spec
from helpers import spec_dict

OUTCOME = {"name": "meeting", "role": "outcome", "type": "binary"}
MEDIAN = {"name": "median_deal", "role": "revenue", "type": "quantile", "column": "revenue", "q": 0.5}


def _spec(*metrics: dict, **overrides):
    return parse_spec(spec_dict("x.csv", list(metrics), **overrides))


def test_a_quantile_reads_its_column_outside_the_joint_model_and_never_decides():
    m = _spec(OUTCOME, {**MEDIAN, "among": "positive"}).metrics[1]
    assert (m.source_column, m.q, m.among) == ("revenue", 0.5, "positive")
    assert m.likelihood.key == "quantile"
    assert not m.likelihood.modelled
    assert not m.decisive
    with pytest.raises(SpecError, match=r"metrics: no metric has role 'outcome' or 'revenue'"):
        _spec(MEDIAN)


def test_a_quantile_does_not_make_the_adjustment_binned():
    spec = _spec({**OUTCOME, "type": "continuous"}, MEDIAN, adjust=["last_year"])
    assert not spec.binned_adjustment


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"q": None}, r"metrics\.1\.q: quantile metric 'median_deal' needs its level q, in \(0, 1\)"),
        ({"q": 1.0}, r"metrics\.1\.q: .*less than 1"),
        ({"q": 0.0}, r"metrics\.1\.q: .*greater than 0"),
        ({"value": 10.0}, r"metrics\.1\.value: quantile metric 'median_deal' cannot have value"),
        ({"window_days": 30}, r"metrics\.1\.window_days: quantile metric 'median_deal' cannot have"),
        ({"denominator": "meeting"}, r"metrics\.1\.denominator: quantile metric 'median_deal' cannot have"),
        ({"among": "some"}, r"metrics\.1\.among: .*'all' or 'positive'"),
    ],
)
def test_a_quantile_metric_that_cannot_be_is_refused(change, message):
    metric = {k: v for k, v in {**MEDIAN, **change}.items() if v is not None}
    with pytest.raises(SpecError, match=message):
        _spec(OUTCOME, metric)


def test_q_and_among_belong_to_quantiles_only():
    with pytest.raises(SpecError, match=r"metrics\.0\.q: only a metric of type 'quantile' has one"):
        _spec({**OUTCOME, "q": 0.5})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"unit": {"kind": "prospect", "randomised_by": "rep_id"}},
            r"treats units as independent, but clusters \('rep_id'\) were randomised",
        ),
        (
            {"data": {"path": "x.csv", "layout": "aggregated", "units": "n"}, "unit": {"kind": "prospect"}},
            r"needs one row per unit; aggregated rows hold no values",
        ),
    ],
)
def test_a_quantile_needs_independent_units_in_unit_rows(overrides, message):
    with pytest.raises(SpecError, match=rf"metrics\.1\.type: quantile metric 'median_deal' {message}"):
        _spec(OUTCOME, MEDIAN, **overrides)
