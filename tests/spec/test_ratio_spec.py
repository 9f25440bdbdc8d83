"""A ratio metric in the spec: Σ numerator / Σ denominator of two columns, never decisive, checked."""

from __future__ import annotations

import pytest

from channelab.errors import SpecError
from channelab.spec import parse_spec
from helpers import spec_dict

OUTCOME = {"name": "meeting", "role": "outcome", "type": "binary"}
RATIO = {"name": "rpm", "role": "revenue", "type": "ratio", "numerator": "revenue", "denominator": "meetings"}


def _spec(*metrics: dict, **overrides):
    return parse_spec(spec_dict("x.csv", list(metrics), **overrides))


def test_a_ratio_reads_two_columns_and_its_own_likelihood():
    m = _spec(OUTCOME, RATIO).metrics[1]
    assert m.data_columns == ("revenue", "meetings")
    assert m.source_column == "revenue"
    assert m.stage is None  # its denominator is a column, not an earlier stage
    assert m.likelihood.key == "ratio"
    assert m.likelihood.family == "ratio_normal"
    assert not m.likelihood.exact_adjustment  # adjusted through quantile strata


def test_a_ratio_never_decides_even_as_revenue():
    assert not _spec(OUTCOME, RATIO).metrics[1].decisive
    with pytest.raises(SpecError, match=r"metrics: no metric has role 'outcome' or 'revenue'"):
        _spec(RATIO)


def test_a_binary_denominator_still_names_an_earlier_stage():
    click = {"name": "click", "role": "engagement", "type": "binary"}
    share = {**OUTCOME, "denominator": "click"}
    m = _spec(click, share).metrics[1]
    assert m.stage == "click"
    assert m.data_columns == ("meeting",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"numerator": None}, r"metrics\.1\.numerator: ratio metric 'rpm' needs numerator: the data column"),
        (
            {"denominator": None},
            r"metrics\.1\.denominator: ratio metric 'rpm' needs denominator: the data column",
        ),
        (
            {"denominator": "revenue"},
            r"metrics\.1\.denominator: ratio metric 'rpm' divides 'revenue' by itself",
        ),
        ({"value": 100.0}, r"metrics\.1\.value: ratio metric 'rpm' cannot have value"),
        ({"window_days": 30}, r"metrics\.1\.window_days: ratio metric 'rpm' cannot have window_days"),
        ({"at": "booked_on"}, r"metrics\.1\.at: ratio metric 'rpm' cannot have at"),
        ({"time_model": "window"}, r"metrics\.1\.time_model: ratio metric 'rpm' cannot have time_model"),
        (
            {"revenue_likelihood": "lognormal_hurdle"},
            r"metrics\.1\.revenue_likelihood: ratio metric 'rpm' cannot",
        ),
        ({"count_likelihood": "poisson"}, r"metrics\.1\.count_likelihood: ratio metric 'rpm' cannot"),
        ({"column": "revenue"}, r"metrics\.1\.column: ratio metric 'rpm' cannot have column"),
    ],
)
def test_a_malformed_ratio_is_refused_naming_the_metric_and_field(change, message):
    metric = {k: v for k, v in {**RATIO, **change}.items() if v is not None}
    with pytest.raises(SpecError, match=message):
        _spec(OUTCOME, metric)


def test_numerator_on_another_type_is_refused():
    with pytest.raises(SpecError, match=r"metrics\.0\.numerator: only a metric of type 'ratio' has one"):
        _spec({**OUTCOME, "numerator": "revenue"})


def test_published_summaries_cannot_give_a_ratio():
    summaries = {
        "path": None,
        "summaries": {
            "control": {
                "n": 100,
                "metrics": {"meeting": {"proportion": 0.1}, "rpm": {"mean": 1.0, "sd": 1.0}},
            },
            "treatment": {
                "n": 100,
                "metrics": {"meeting": {"proportion": 0.1}, "rpm": {"mean": 1.0, "sd": 1.0}},
            },
        },
    }
    with pytest.raises(
        SpecError, match=r"metrics\.1\.type: ratio metric 'rpm' needs unit or aggregated rows"
    ):
        _spec(OUTCOME, RATIO, data=summaries, covariates=[])


@pytest.mark.parametrize(
    ("change", "overrides", "message"),
    [
        (
            {"numerator": "arm"},
            {},
            r"metrics\.1\.numerator: ratio metric 'rpm' reads 'arm', which is the arm column",
        ),
        (
            {"denominator": "segment"},
            {},
            r"metrics\.1\.denominator: ratio metric 'rpm' reads 'segment', which is a covariate",
        ),
        (
            {"denominator": "unit_id"},
            {},
            r"metrics\.1\.denominator: ratio metric 'rpm' reads 'unit_id', which is the unit id \(unit\.id\)",
        ),
        (
            {},
            {"unit": {"kind": "prospect", "id": "unit_id", "randomised_by": "meetings"}},
            r"metrics\.1\.denominator: ratio metric 'rpm' reads 'meetings', which is the cluster column",
        ),
        (
            {},
            {"unit": {"kind": "prospect", "id": "unit_id", "entered_at": "revenue"}},
            r"metrics\.1\.numerator: ratio metric 'rpm' reads 'revenue', which is the column of entry dates",
        ),
        (
            {},
            {"adjust": ["meetings"]},
            r"metrics\.1\.denominator: ratio metric 'rpm' reads 'meetings', which is a pre-period column",
        ),
    ],
)
def test_a_ratio_column_that_is_another_roles_column_is_refused_once(change, overrides, message):
    with pytest.raises(SpecError, match=message) as refused:
        _spec(OUTCOME, {**RATIO, **change}, **overrides)
    lines = [line for line in str(refused.value).splitlines() if line.strip().startswith("- ")]
    assert len(lines) == 1, lines  # one line per clash, from the ratio's side


def test_a_ratio_column_that_is_another_metrics_date_is_refused():
    dated = {**OUTCOME, "at": "meetings", "window_days": 30}
    with pytest.raises(
        SpecError,
        match=r"metrics\.1\.denominator: ratio metric 'rpm' reads 'meetings', which is the outcome date",
    ):
        _spec(dated, RATIO, unit={"kind": "prospect", "id": "unit_id", "entered_at": "entered"})


def test_a_ratio_may_read_other_metrics_columns():
    revenue = {"name": "revenue", "role": "revenue", "type": "revenue"}
    meetings = {"name": "meetings", "role": "outcome", "type": "count"}
    spec = _spec(OUTCOME, revenue, meetings, RATIO)  # revenue per meeting beside revenue and meetings
    assert spec.metrics[3].data_columns == ("revenue", "meetings")
