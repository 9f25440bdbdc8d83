"""An effort cost in the spec: per_hour with hours, a numeric metric; bad input a clear message, exit 2."""

from __future__ import annotations

import re

import pytest
import yaml
from typer.testing import CliRunner

from channelab.cli import app
from channelab.errors import SpecError
from channelab.limits import MAX_MONEY
from channelab.spec import parse_spec


def raw(phone_cost: dict, **extra) -> dict:
    return {
        "name": "effort",
        "data": {"path": "rows.csv"},
        "arm_column": "arm",
        "control": "Control",
        "arms": {"Control": {"channel": "control"}, "Phone": {"channel": "phone", "cost": phone_cost}},
        "metrics": [
            {"name": "meetings", "role": "outcome", "type": "binary"},
            {"name": "rep_hours", "role": "guardrail", "type": "continuous", "worse": "up"},
            {"name": "touches", "role": "engagement", "type": "count"},
            {"name": "revenue", "role": "revenue", "type": "revenue"},
        ],
        **extra,
    }


@pytest.mark.parametrize("hours", ["rep_hours", "touches"])
def test_per_hour_with_a_continuous_or_count_metric_is_accepted_beside_the_other_costs(hours):
    spec = parse_spec(raw({"per_hour": 60, "hours": hours, "per_touch": 8, "touches": 3, "fixed": 100}))
    cost = spec.arms["Phone"].cost
    assert cost is not None
    assert (cost.per_hour, cost.hours, cost.variable, cost.fixed) == (60, hours, 24, 100)
    assert spec.costed


@pytest.mark.parametrize(
    ("cost", "message"),
    [
        ({"per_hour": 60}, r"arms\.Phone\.cost\.per_hour: a cost per hour needs hours: the metric whose"),
        ({"hours": "rep_hours"}, r"arms\.Phone\.cost\.hours: effort 'rep_hours' needs per_hour"),
        (
            {"per_hour": 60, "hours": "rep_hour"},
            r"arms\.Phone\.cost\.hours: got 'rep_hour', but expected one of the metrics "
            r"\['meetings', 'rep_hours', 'touches', 'revenue'\]; did you mean 'rep_hours'\?",
        ),
        (
            {"per_hour": 60, "hours": "meetings"},
            r"arms\.Phone\.cost\.hours: 'meetings' is binary, but effort is hours or touches per unit: "
            r"name a metric of type continuous or count",
        ),
        ({"per_hour": 60, "hours": "revenue"}, r"arms\.Phone\.cost\.hours: 'revenue' is revenue, but effort"),
        (
            {"per_hour": -1, "hours": "rep_hours"},
            r"arms\.Phone\.cost\.per_hour: got -1.*greater than or equal to 0",
        ),
        (
            {"per_hour": MAX_MONEY * 10, "hours": "rep_hours"},
            r"arms\.Phone\.cost\.per_hour: got .*less than or equal",
        ),
        ({"per_hour": 60, "hours": 3}, r"arms\.Phone\.cost\.hours: got 3"),
    ],
)
def test_a_bad_effort_cost_names_the_field_and_what_to_do(cost, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(raw(cost))


def test_the_control_has_no_effort_cost_when_costs_are_incremental_and_the_message_says_why():
    spec = raw({"per_hour": 60, "hours": "rep_hours"})
    spec["arms"]["Control"]["cost"] = {"per_hour": 60, "hours": "rep_hours"}
    with pytest.raises(SpecError, match=re.escape("already counts only its effort beyond the control's")):
        parse_spec(spec)
    spec["economics"] = {"costs_are": "total"}
    assert parse_spec(spec).arms["Control"].cost is not None


def test_a_bad_effort_cost_exits_2_without_a_traceback(tmp_path):
    (tmp_path / "rows.csv").write_text("arm,meetings,rep_hours,touches,revenue\nControl,0,0.5,1,0\n")
    path = tmp_path / "effort.yaml"
    path.write_text(yaml.safe_dump(raw({"per_hour": 60, "hours": "meetings"})))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "'meetings' is binary, but effort is hours or touches" in " ".join(result.output.split())
    assert "Traceback" not in result.output
