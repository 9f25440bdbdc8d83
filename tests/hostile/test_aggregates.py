"""Hostile aggregates, labels and adjustments: impossible sums, empty arms, floods, outcome copies.

The second round's family of the data's values: aggregated rows whose statistics no units
could have (no spread in any row, sums on rows of 0 units, hurdle statistics implying a
negative variance), arms and funnel stages with no units, a count denominator that counts
events, too many clusters, messages that list every value of the data, and an ``adjust``
column that is a copy of the outcome. Every case runs through :func:`harness.run_case`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from harness import RUN, VALIDATE, Case, csv_text, rows, run_case, spec, to_yaml

KEYS = ["arm", "segment", "week"]


def aggregated(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`rows` as exact arm × segment × week rows: units and every metric's statistics."""
    r = rows(240) if frame is None else frame
    r = r.assign(week=np.arange(len(r)) % 3 + 1, clicked=(r["visits"] > 0).astype(int))
    logs = np.log(r["spend"].where(r["spend"] > 0, 1.0))
    r = r.assign(
        visits_sum_sq=r["visits"] ** 2.0,
        spend_sum_sq=r["spend"] ** 2,
        score_sum_sq=r["score"] ** 2,
        spend_n_pos=(r["spend"] > 0).astype(float),
        spend_sum_log=logs,
        spend_sum_log_sq=logs**2,
        units=1,
    )
    columns = ["units", "visits", "bought", "spend", "score", "clicked"]
    columns += ["visits_sum_sq", "spend_sum_sq", "score_sum_sq", "spend_n_pos", "spend_sum_log"]
    columns += ["spend_sum_log_sq"]
    out = r.groupby(KEYS)[columns].sum().reset_index()
    rounded = {"spend": 2, "spend_sum_sq": 4, "score": 3, "score_sum_sq": 6}
    return out.round(rounded | {"spend_sum_log": 6, "spend_sum_log_sq": 6})


def agg_spec(*, hurdle: bool = False, funnel: str | None = None, **changes) -> dict:
    """The experiment on ``agg.csv``: a count, a binary, revenue and a score; ``funnel``: bought among it."""
    metrics = [
        {"name": "clicked", "type": "binary", "role": "engagement"},
        {"name": "visits", "type": "count", "role": "engagement"},
        {"name": "bought", "type": "binary", "role": "outcome"},
        {"name": "spend", "type": "revenue", "role": "revenue"},
        {"name": "score", "type": "continuous", "role": "outcome"},
    ]
    if hurdle:
        metrics[3]["revenue_likelihood"] = "lognormal_hurdle"
    if funnel:
        metrics[2]["denominator"] = funnel
    base = spec(data={"path": "agg.csv", "layout": "aggregated"}, unit={"kind": "prospect"}, metrics=metrics)
    return base | changes


def agg_case(frame: pd.DataFrame, code: int, match: str, *, argv=VALIDATE, **kw) -> Case:
    """A case on the aggregated rows ``frame``, with ``kw`` passed to :func:`agg_spec`."""
    absent = kw.pop("absent", None)
    return Case({"exp.yaml": to_yaml(agg_spec(**kw)), "agg.csv": csv_text(frame)}, argv, code, match, absent)


def edited(**columns) -> pd.DataFrame:
    """The aggregated rows with some cells replaced: ``column=[(row, value), ...]`` or a function."""
    frame = aggregated()
    for col, change in columns.items():
        if callable(change):
            frame[col] = change(frame)
        else:
            for i, value in change:
                frame.loc[i, col] = value
    return frame


def _no_spread(frame: pd.DataFrame) -> pd.Series:
    """Σ y² as the export mistake writes it: (Σ y)² / units, as if no unit differed from the mean."""
    return frame["spend"] ** 2 / frame["units"]


def _two_visits_of_no_units() -> pd.DataFrame:
    """Row 1 counts 0 units but 2 visits (by one unit: Σ y² = 4); every other sum there is 0."""
    frame = aggregated()
    frame.loc[0, [c for c in frame.columns if c not in KEYS]] = 0
    frame.loc[0, ["visits", "visits_sum_sq"]] = [2, 4]
    return frame


def _email(frame: pd.DataFrame, **values: float) -> pd.DataFrame:
    """The rows of arm 'email' with ``values`` set."""
    frame = frame.copy()
    for col, v in values.items():
        frame.loc[frame["arm"] == "email", col] = v
    return frame


def _empty_email() -> pd.DataFrame:
    """Arm 'email' with rows but no units (and no sums)."""
    frame = aggregated()
    return _email(frame, **{c: 0 for c in frame.columns if c not in KEYS})


def _no_clicks_in_email() -> pd.DataFrame:
    """Arm 'email' where nobody clicked (nor bought): its share of clickers who bought has no units."""
    return _email(aggregated(), clicked=0, bought=0)


def _unit_rows_no_clicks_in_email() -> str:
    frame = rows(240).assign(clicked=lambda d: (d["visits"] > 0).astype(int))
    frame.loc[(frame["clicked"] == 0) | (frame["arm"] == "email"), "bought"] = 0
    frame.loc[frame["arm"] == "email", "clicked"] = 0
    return csv_text(frame)


def _clickers_as_visits() -> pd.DataFrame:
    """The count 'visits' holding the units who visited (clickers), as a denominator should."""
    frame = aggregated()
    return frame.assign(visits=frame["clicked"], visits_sum_sq=frame["clicked"], bought=0)


def _unknown_labels(n: int) -> str:
    frame = rows(n + 200)
    frame.loc[200:, "arm"] = [f"arm_{i:06d}" for i in range(n)]
    return csv_text(frame)


def _one_cluster_per_unit(n: int) -> str:
    return csv_text(rows(n))


def _wide(n: int) -> str:
    extra = pd.DataFrame(0, index=range(120), columns=[f"extra_{i:05d}" for i in range(n)])
    return csv_text(pd.concat([rows(), extra], axis=1))


def _copy_of_spend() -> str:
    frame = rows(240)
    return csv_text(frame.assign(spend_last_quarter=frame["spend"] * 1.5 + 2))


CASES: dict[str, Case] = {
    # ---- units that are not numbers (item 12: a conversion error before the NaN check) -------
    "aggregate-units-nan": agg_case(
        edited(units=lambda f: f["units"].astype(object).where(f.index != 3, "NaN")),
        2,
        r"column 'units': the units column is NaN, infinite or too large in 1 row\(s\), e\.g\. row 4",
    ),
    "aggregate-units-infinite": agg_case(
        edited(units=lambda f: f["units"].astype(object).where(f.index != 3, "inf")),
        2,
        r"the units column is NaN, infinite or too large in 1 row\(s\), e\.g\. row 4 \(inf\)",
    ),
    # ---- statistics no units could have ------------------------------------------------------
    "aggregate-no-spread-in-any-row": agg_case(
        edited(spend_sum_sq=_no_spread),
        2,
        r"column 'spend_sum_sq': the Σ y² of metric 'spend' equals \(Σ y\)² / units in every row of "
        r"arm\(s\) 'control', 'email' \(12 row\(s\) of 2 or more units, e\.g\. row 1, row 2, row 3\)",
    ),
    "aggregate-no-spread-in-one-arm": agg_case(
        edited(
            score_sum_sq=lambda f: f["score_sum_sq"].where(
                f["arm"] == "control", f["score"] ** 2 / f["units"]
            )
        ),
        2,
        r"the Σ y² of metric 'score' equals \(Σ y\)² / units in every row of arm\(s\) 'email' \(6 row\(s\)",
    ),
    "aggregate-sums-on-a-row-of-no-units": agg_case(
        _two_visits_of_no_units(),
        2,
        r"column 'visits': the statistics of metric 'visits' are not 0 on a row of 0 units in 1 row\(s\), "
        r"e\.g\. row 1 \(2\)",
    ),
    "aggregate-count-sum-sq-above-square": agg_case(
        edited(visits_sum_sq=[(4, 1e6)]),
        2,
        r"the Σ y² of metric 'visits' is above \(Σ y\)² in 1 row\(s\), e\.g\. row 5",
    ),
    "aggregate-count-sum-sq-below-sum": agg_case(
        edited(visits=[(4, 30)], visits_sum_sq=[(4, 29)]),
        2,
        r"the Σ y² of metric 'visits' is below Σ y in 1 row\(s\), e\.g\. row 5",
    ),
    "aggregate-hurdle-negative-log-variance": agg_case(
        edited(spend_sum_log_sq=[(1, 1.0)]),
        2,
        r"the Σ \(log y\)² of metric 'spend' is below \(Σ log y\)² / the positive amounts \(a negative "
        r"variance\) in 1 row\(s\), e\.g\. row 2",
        hurdle=True,
    ),
    "aggregate-hurdle-logs-above-the-sum": agg_case(
        edited(spend_sum_log=lambda f: f["spend_sum_log"] + 5 * (f.index == 2)),
        2,
        r"the Σ log y of metric 'spend' is above what amounts with that sum can have .* e\.g\. row 3",
        hurdle=True,
    ),
    "aggregate-hurdle-no-positive-amounts-but-a-sum": agg_case(
        edited(spend_n_pos=[(3, 0)], spend_sum_log=[(3, 0)], spend_sum_log_sq=[(3, 0)]),
        2,
        r"the count of positive amounts of metric 'spend' is 0 where the sum is not, or the reverse "
        r"in 1 row\(s\), e\.g\. row 4",
        hurdle=True,
    ),
    # ---- arms and funnel stages with no units -------------------------------------------------
    "aggregate-arm-of-no-units": agg_case(
        _empty_email(), 2, r"arm\(s\) \['email'\] have rows in column 'arm' but 0 units in column 'units'"
    ),
    "aggregate-funnel-stage-of-no-units": agg_case(
        _no_clicks_in_email(),
        2,
        r"arm 'email' \(column 'arm'\) has too few units counted for metric\(s\) 'bought' \(0 who reached "
        r"'clicked'; 2 needed\)",
        funnel="clicked",
    ),
    "rows-funnel-stage-of-no-units": Case(
        {
            "exp.yaml": to_yaml(
                spec(
                    metrics=[
                        {"name": "clicked", "type": "binary", "role": "engagement"},
                        {"name": "bought", "type": "binary", "role": "outcome", "denominator": "clicked"},
                    ]
                )
            ),
            "rows.csv": _unit_rows_no_clicks_in_email(),
        },
        VALIDATE,
        2,
        r"'bought' \(0 who reached 'clicked'; 2 needed\)",
    ),
    # ---- a count as a share's denominator --------------------------------------------------------
    "aggregate-count-denominator-counts-events": agg_case(
        aggregated(),
        2,
        r"column 'visits': the sum of metric 'visits' \(count\), the denominator of a share, is above "
        r"'units' in \d+ row\(s\).* not events \(clicks\)",
        funnel="visits",
    ),
    "aggregate-count-denominator-says-what-it-divides-by": agg_case(
        _clickers_as_visits(),
        0,
        r"metric 'bought' is a share of 'visits' \(a count\): on aggregated rows it divides 'bought' by "
        r"the sum of 'visits', read as the units who reached that stage",
        funnel="visits",
    ),
    # ---- floods: every list of values from the data is bounded -----------------------------------
    "unknown-arm-labels-flood": Case(
        {"exp.yaml": to_yaml(spec()), "rows.csv": _unknown_labels(20_000)},
        VALIDATE,
        2,
        r"has arm label\(s\) the spec does not list: 'arm_000000' \(1 row\(s\)\), "
        r"'arm_000001' \(1 row\(s\)\), 'arm_000002' \(1 row\(s\)\) and 19,997 more\.",
        absent="arm_000003",
    ),
    "missing-column-among-thousands": Case(
        {"exp.yaml": to_yaml(spec(covariates=["region"])), "rows.csv": _wide(3_000)},
        VALIDATE,
        2,
        r"uses column\(s\) 'region' that the file does not have\. "
        r"Its columns are: id, arm, .* and 2,977 more",
        absent="extra_02999",
    ),
    # ---- work that grows without limit -----------------------------------------------------------
    "clusters-beyond-the-cap": Case(
        {
            "exp.yaml": to_yaml(spec(unit={"kind": "prospect", "randomised_by": "id"})),
            "rows.csv": _one_cluster_per_unit(10_001),
        },
        VALIDATE,
        2,
        r"column 'id' \(unit\.randomised_by\) has 10,001 distinct clusters; the model gives each cluster a "
        r"parameter and takes at most 10,000",
    ),
    # ---- adjusting for the outcome itself -------------------------------------------------------
    "adjust-for-a-copy-of-the-outcome": Case(
        {"exp.yaml": to_yaml(spec(adjust=["spend_last_quarter"])), "rows.csv": _copy_of_spend()},
        VALIDATE,
        2,
        r"pre-period column 'spend_last_quarter' \(adjust\) predicts metric 'spend' \(column 'spend'\) "
        r"almost exactly within the arms \(R² 100\.00%\)",
    ),
    "adjust-for-a-copy-of-the-outcome-run": Case(
        {"exp.yaml": to_yaml(spec(adjust=["spend_last_quarter"])), "rows.csv": _copy_of_spend()},
        RUN,
        2,
        r"R² 100\.00%",
        not_created=("out/hostile.json",),
        fit=True,  # refused before the fit; should that regress, the fit draws from the prior
    ),
}


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=pytest.mark.slow) if case.fit else name for name, case in CASES.items()]
)
def test_hostile_aggregate(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    run_case(CASES[name], tmp_path, monkeypatch)


# ---- what stays allowed ------------------------------------------------------------------------


@pytest.mark.parametrize("hurdle", [False, True])
def test_exact_aggregates_pass_every_feasibility_rule(tmp_path, monkeypatch, hurdle):
    """Statistics summed from real units pass, logs and money rounded as exports round them."""
    run_case(agg_case(aggregated(), 0, "OK: the spec and data pass", hurdle=hurdle), tmp_path, monkeypatch)


def test_one_row_without_spread_among_rows_with_spread_passes(tmp_path, monkeypatch):
    """A row whose units all scored alike can be real: only an arm with no spread in any row is refused."""
    frame = edited(score_sum_sq=lambda f: f["score_sum_sq"].where(f.index != 7, f["score"] ** 2 / f["units"]))
    run_case(agg_case(frame, 0, "OK: the spec and data pass"), tmp_path, monkeypatch)


def test_rows_of_zeros_have_no_spread_by_necessity(tmp_path, monkeypatch):
    """Revenue of 0 in every row of an arm has no spread, and that is no export mistake."""
    frame = _email(aggregated(), spend=0, spend_sum_sq=0, spend_n_pos=0, spend_sum_log=0, spend_sum_log_sq=0)
    run_case(agg_case(frame, 0, "OK: the spec and data pass"), tmp_path, monkeypatch)


def test_a_fixed_price_gives_zero_log_spread_and_passes(tmp_path, monkeypatch):
    """Every buyer paying 49.99: the hurdle's logs have no spread, which is real, not a mistake."""
    frame = aggregated()
    k = frame["spend_n_pos"]
    frame = frame.assign(
        spend=(49.99 * k).round(2),
        spend_sum_sq=(49.99**2 * k).round(4),
        spend_sum_log=(np.log(49.99) * k).round(6),
        spend_sum_log_sq=(np.log(49.99) ** 2 * k).round(6),
    )
    run_case(agg_case(frame, 0, "OK: the spec and data pass", hurdle=True), tmp_path, monkeypatch)


def test_an_adjust_column_that_predicts_much_but_not_all_passes(tmp_path, monkeypatch):
    """A real pre-period value explains part of the outcome (here R² about 0.9): no refusal."""
    frame = rows(240)
    noise = np.random.default_rng(0).normal(0, frame["spend"].std() / 3, len(frame))
    text = csv_text(frame.assign(spend_last_quarter=frame["spend"] + noise))
    case = Case(
        {"exp.yaml": to_yaml(spec(adjust=["spend_last_quarter"])), "rows.csv": text},
        VALIDATE,
        0,
        "OK: the spec",
    )
    run_case(case, tmp_path, monkeypatch)
