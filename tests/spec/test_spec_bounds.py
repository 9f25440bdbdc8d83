"""The experiment file's bounds: what is accepted right at each bound, and how YAML is read.

The refusals past each bound are the hostile cases of ``tests/hostile/test_bounds.py``; these
tests pin the other side (the bound itself is allowed) and the loader's reading of numbers,
dates and long keys.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from channelab.errors import SpecError
from channelab.limits import MAX_ARMS, MAX_MONEY, MAX_SEED
from channelab.spec import load_spec, parse_spec
from channelab.spec.timing import FIRST_DAY, LAST_DAY, parse_day

BASE = {
    "name": "bounds",
    "data": {"path": "rows.csv"},
    "arm_column": "arm",
    "control": "control",
    "arms": ["control", "email"],
    "metrics": [{"name": "bought", "type": "binary", "role": "outcome"}],
}


def load(tmp_path: Path, text: str):
    path = tmp_path / "exp.yaml"
    path.write_text(text, encoding="utf-8")
    return load_spec(path)


YAML = (
    "name: bounds\ndata: {path: rows.csv}\narm_column: arm\ncontrol: control\narms: [control, email]\n"
    "metrics: [{name: bought, type: binary, role: outcome}]\n"
)


def test_scientific_notation_without_a_dot_is_a_number_as_in_yaml_1_2(tmp_path):
    spec = load(tmp_path, YAML + "priors: {arm_sd: 25e-1, intercept_sd: 1E1}\nseed: 1_000\n")
    assert spec.priors.arm_sd == 2.5
    assert spec.priors.intercept_sd == 10.0
    assert spec.seed == 1000


def test_a_date_is_read_as_text_and_parsed_by_the_schema(tmp_path):
    text = (
        YAML.replace("bought", "bought, at: bought_at") + "unit: {entered_at: entered}\nas_of: 2026-03-31\n"
    )
    assert load(tmp_path, text).as_of == date(2026, 3, 31)
    assert (
        load(tmp_path, YAML.replace("name: bounds", "name: bounds\ntitle: 2026-03-31")).title == "2026-03-31"
    )


@pytest.mark.parametrize("day", [FIRST_DAY, LAST_DAY, "1970-01-01", "2100-12-31", " 2026-02-28 "])
def test_the_first_and_last_plausible_days_are_dates(day):
    assert parse_day(day) in (FIRST_DAY, LAST_DAY, date(2026, 2, 28))


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("1969-12-31", "between 1970-01-01 and 2100-12-31"),
        (date(2101, 1, 1), "between 1970-01-01 and 2100-12-31"),
        (datetime(2026, 3, 1, 10, 30), "YYYY-MM-DD"),
        ("2026-3-1", "YYYY-MM-DD"),
        ("2026-02-29", "day is out of range"),
        (20260301, "YYYY-MM-DD"),
        ("x" * 500, r"got 'xxx.*\.\.\., but"),
    ],
)
def test_what_is_not_a_plausible_day(value, match):
    with pytest.raises(ValueError, match=match):
        parse_day(value)


@pytest.mark.parametrize(("worse", "value"), [("up", -50), ("up", 0), ("down", 50), ("down", 0), (None, -50)])
def test_a_guardrail_priced_in_the_direction_it_gets_worse_is_accepted(worse, value):
    guardrail = {"name": "unsubscribed", "type": "binary", "role": "guardrail", "value": value}
    spec = parse_spec(BASE | {"metrics": [*BASE["metrics"], guardrail | ({"worse": worse} if worse else {})]})
    assert spec.metrics[1].value == value


def test_money_seeds_and_arms_at_their_bounds_are_accepted():
    cost = {"per_unit": MAX_MONEY, "fixed": MAX_MONEY}
    arms = {"control": {}, **{f"arm{i}": {"cost": cost} for i in range(1, MAX_ARMS)}}
    outcome = {"name": "bought", "type": "binary", "role": "outcome", "value": MAX_MONEY}
    spec = parse_spec(BASE | {"arms": arms, "metrics": [outcome], "seed": MAX_SEED})
    assert len(spec.arms) == MAX_ARMS
    assert parse_spec(BASE | {"seed": 0}).seed == 0
    with pytest.raises(SpecError, match=f"got {MAX_ARMS + 1} arms, but expected at most {MAX_ARMS}"):
        parse_spec(BASE | {"arms": [*arms, "one_more"]})


def test_a_bound_is_printed_as_people_read_it():
    with pytest.raises(SpecError, match=r"seed: got -1, but expected a value greater than or equal to 0$"):
        parse_spec(BASE | {"seed": -1})
    with pytest.raises(SpecError, match=r"less than or equal to 4,294,967,295"):
        parse_spec(BASE | {"seed": MAX_SEED + 1})


def test_a_short_key_missing_its_colon_is_still_a_yaml_error(tmp_path):
    with pytest.raises(SpecError, match="not valid YAML at line 3, column 1: could not find expected ':'"):
        load(tmp_path, "name: x\ncontrol\narms: [a, b]\n")
