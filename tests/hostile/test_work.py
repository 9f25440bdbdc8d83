"""Hostile inputs, round 2: work without bound (design matrices, looks).

A propensity formula that interacts many-level categories or splines, or a monitor that looks
every day for years, is refused with a message naming the count and the bound before any of
the work starts (no matrix built, no look aggregated or sampled).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml
from harness import Case, csv_text, rows, run_case, spec, to_yaml

from channelab.design.monitor import bounded_looks, operating_characteristics
from channelab.errors import SpecError
from channelab.limits import MAX_DESIGN_COLUMNS, MAX_LOOKS
from channelab.spec import parse_spec


def _categories(n_levels: int = 40) -> str:
    """The clean rows with four text columns of ``n_levels`` levels each and one more number."""
    frame = rows(200)
    i = np.arange(len(frame))
    for k, step in enumerate((1, 3, 7, 11), start=1):
        frame[f"c{k}"] = [f"L{(j * step) % n_levels}" for j in i]
    frame["who"] = [f"u{j}" for j in i]
    frame["age"] = np.round(np.random.default_rng(2).normal(40, 9, len(frame)), 1)
    return csv_text(frame)


def _matched(propensity: str | None, covariates: list[str], **matching) -> str:
    block = {"covariates": covariates, **matching}
    if propensity is not None:
        block["propensity"] = propensity
    return to_yaml(spec(design="matched", covariates=[], matching=block))


def _dated(days_apart: int = 9, n: int = 120) -> str:
    """The clean rows with an entry date every ``days_apart`` days (120 rows: about three years)."""
    frame = rows(n)
    start = date(2023, 1, 2)
    frame["entered"] = [(start + timedelta(days=days_apart * j)).isoformat() for j in range(n)]
    return csv_text(frame)


def _monitored(**monitor) -> str:
    metrics = [
        {"name": "visits", "type": "count", "role": "engagement"},
        {"name": "bought", "type": "binary", "role": "outcome", "window_days": 7},
    ]
    return to_yaml(
        spec(
            unit={"kind": "prospect", "id": "id", "entered_at": "entered"},
            metrics=metrics,
            covariates=[],
            monitor={"looks": 10, **monitor},
        )
    )


def _planned_daily() -> str:
    """A design whose plan enters 300,000 units at 1,000 a week, looked at every day."""
    return to_yaml(
        {
            "name": "planned",
            "data": {"path": "units.csv"},
            "unit": {"kind": "prospect", "entered_at": "entered"},
            "arm_column": "arm",
            "control": "control",
            "arms": {"control": {"channel": "control"}, "email": {"channel": "email"}},
            "metrics": [{"name": "bought", "role": "outcome", "type": "binary", "window_days": 28}],
            "plan": {
                "n": 300_000,
                "target_lift": 0.2,
                "units_per_week": 1000,
                "baselines": {"bought": {"mean": 0.08}},
                "assurance": {"sims": 0},
            },
            "monitor": {"every": "day"},
        }
    )


FOUR_CATEGORIES = "c1:c2:c3:c4"
CASES: dict[str, Case] = {
    # ---- design matrices: counted from the terms and the data's levels, before building ----
    "propensity-four-40-level-categories-interacted": Case(
        {"exp.yaml": _matched(FOUR_CATEGORIES, ["c1", "c2", "c3", "c4"]), "rows.csv": _categories()},
        ["validate", "exp.yaml"],
        2,
        r"matching\.propensity 'c1:c2:c3:c4' would make 2,313,441 design columns.*"
        r"c1:c2:c3:c4 makes 2,313,441 \(39 × 39 × 39 × 39\).*"
        rf"at most {MAX_DESIGN_COLUMNS:,}",
    ),
    "propensity-four-10-column-splines-interacted": Case(
        {
            "exp.yaml": _matched(
                "spline(score, 10):spline(age, 10):spline(visits, 10):spline(spend, 10)",
                ["score", "age", "visits", "spend"],
            ),
            "rows.csv": _categories(),
        },
        ["validate", "exp.yaml"],
        2,
        r"matching\.propensity.*makes 10,000 columns.*at most 1,000",
    ),
    "propensity-a-power-of-5000-digits": Case(  # Python's integer-digit limit, not a message
        {"exp.yaml": _matched("score^" + "9" * 5000, ["score"]), "rows.csv": _categories()},
        ["validate", "exp.yaml"],
        2,
        r"term 1 'score\^9+'\.\.\. is not a column, a power \(x\^2\)",
        absent="9" * 100,
    ),
    "propensity-more-columns-than-units": Case(
        {
            "exp.yaml": _matched(
                "spline(score, 10):spline(age, 10) + spline(score, 10):c1", ["score", "age", "c1"]
            ),
            "rows.csv": _categories(),
        },
        ["validate", "exp.yaml"],
        2,
        r"would make 490 design columns.*more than the 200 units",
    ),
    "propensity-default-terms-of-a-category-with-a-level-per-unit": Case(
        {"exp.yaml": _matched(None, ["c1", "who"]), "rows.csv": _categories()},
        ["validate", "exp.yaml"],
        2,
        r"matching\.covariates \(the propensity's default terms\) 'c1 \+ who' would make 238 design columns.*"
        r"who makes 199.*more than the 200 units",
    ),
    "propensity-too-wide-to-fit-on-many-units": Case(
        {
            "exp.yaml": _matched(
                "spline(score, 10):spline(spend, 10):spline(visits, 3)", ["score", "spend", "visits"]
            ),
            "rows.csv": csv_text(rows(20_000)),
        },
        ["validate", "exp.yaml"],
        2,
        r"would make 300 design columns for 20,000 units.*20,000 units allow at most 223 columns",
    ),
    # ---- looks: counted from the dates, before any look is aggregated or sampled ----------
    "monitor-every-day-for-three-years": Case(
        {"exp.yaml": _monitored(), "rows.csv": _dated()},
        ["monitor", "exp.yaml", "--every", "1", "--out", "out"],
        2,
        rf"a look every day from .* makes 1,071 looks, but at most {MAX_LOOKS} .*--every 6",
    ),
    "monitor-spec-every-day-for-three-years": Case(
        {"exp.yaml": _monitored(every="day"), "rows.csv": _dated()},
        ["monitor", "exp.yaml", "--out", "out"],
        2,
        r"makes 1,071 looks.*monitor\.every",
    ),
    "design-plans-a-look-a-day-for-six-years": Case(
        {"exp.yaml": _planned_daily()},
        ["design", "exp.yaml", "--out", "out"],
        2,
        rf"plans 2,128 looks.*at most {MAX_LOOKS}",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_unbounded_work_is_refused_first(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    run_case(CASES[name], tmp_path, monkeypatch)


def test_a_design_plans_at_most_the_bounded_looks_and_says_how_often_to_look():
    raw = yaml.safe_load(_planned_daily())
    with pytest.raises(SpecError, match=r"plans 2,128 looks.*monitor\.every: 11 or more"):
        bounded_looks(parse_spec(raw))
    assert bounded_looks(parse_spec({**raw, "monitor": {"every": 11}})) == 194  # 191 entering, 3 waiting
    assert bounded_looks(parse_spec({**raw, "monitor": {"every": 1, "looks": 20}})) == 20
    with pytest.raises(SpecError, match="plans 2,128 looks"):  # refused before any test is simulated
        operating_characteristics(parse_spec(raw), {}, lifts=[0.0], sims=1, seed=1)
