"""The stopping rule: interval widths at each look, readings of lift draws, arm decisions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.stats import norm

from channelab.analysis.monitor import Reading, arm_decision, look_z, planned_looks, read_lift
from channelab.spec import parse_spec


def test_obrien_fleming_widths_fall_to_the_usual_interval_at_the_last_look():
    z = norm.ppf(0.97)
    widths = [look_z(k, 16, 0.94, "obrien_fleming") for k in range(1, 17)]
    assert widths[-1] == pytest.approx(z)
    assert widths[0] == pytest.approx(4 * z)  # z / sqrt(1/16)
    assert all(a > b for a, b in itertools.pairwise(widths))
    assert look_z(20, 16, 0.94, "obrien_fleming") == pytest.approx(z)  # looks past the plan: the usual rule
    assert [look_z(k, 16, 0.94, "none") for k in (1, 8, 16)] == pytest.approx([z, z, z])


def test_a_reading_is_the_normal_interval_of_log_lift():
    rng = np.random.default_rng(1)
    log_lift = rng.normal(0.2, 0.05, 40_000)
    r = read_lift(np.expm1(log_lift), (-0.05, 0.05), 2.0, arm="B", metric="m", role="outcome")
    assert r.lower == pytest.approx(math.expm1(0.2 - 2 * 0.05), abs=2e-3)
    assert r.upper == pytest.approx(math.expm1(0.2 + 2 * 0.05), abs=2e-3)
    assert r.verdict == "real lift"
    # the same draws read at an early look's wider interval are not yet decisive
    early = read_lift(np.expm1(log_lift), (-0.05, 0.05), 5.0, arm="B", metric="m", role="outcome")
    assert early.lower < 0.05 < early.upper
    assert early.verdict == "inconclusive"


def _r(verdict: str, role: str = "outcome") -> Reading:
    return Reading("B", "m", role, 0.0, -1.0, 1.0, verdict)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("verdicts", "decision"),
    [
        ([_r("real lift")], "real lift"),
        ([_r("harm")], "harm"),
        ([_r("no effect"), _r("no effect")], "no effect"),
        ([_r("no effect"), _r("inconclusive")], None),
        ([_r("real lift"), _r("harm")], None),
        ([_r("real lift", "engagement"), _r("inconclusive")], None),  # engagement never decides
        ([_r("real lift", "engagement")], None),
    ],
)
def test_an_arm_is_decided_by_its_outcomes_only(verdicts, decision):
    assert arm_decision(verdicts) == decision


def test_planned_looks_count_entry_and_the_longest_window():
    raw = {
        "name": "x",
        "unit": {"entered_at": "entered_at"},
        "data": {"path": "x.csv"},
        "arm_column": "arm",
        "control": "A",
        "arms": ["A", "B"],
        "metrics": [{"name": "m", "role": "outcome", "type": "binary", "at": "m_at", "window_days": 28}],
        "plan": {"n": 30_000, "units_per_week": 2_500},
    }
    assert planned_looks(parse_spec(raw)) == 12 + 4
    assert planned_looks(parse_spec({**raw, "monitor": {"looks": 9}})) == 9
    assert planned_looks(parse_spec({**raw, "monitor": {"every": 14}})) == 6 + 2
    assert planned_looks(parse_spec({**raw, "plan": {}})) is None
