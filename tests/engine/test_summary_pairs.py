"""Published summaries with ``pair`` and ``pair_mean``: the within-test covariance of two metrics.

A simulated programme written as published summaries and imported again gives, per test, the
plug-in closed form of its records (observed proportions) and covariances ((p_ab - p_a p_b) / n
summed over the arms); the simulator's own records use Jeffreys Beta posteriors, so they agree
with the import only up to that prior's small pull (checked loosely). Each impossible or
ambiguous pair is refused through ``channelab registry import`` (exit 2, the file, line and
column named, no registry written). A file without the columns imports as before.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from channelab.cli import app
from channelab.engine.registry import Added, open_registry, records_from_summaries
from channelab.engine.registry.records import Record
from channelab.simulate import SOCIAL_PROGRAMME, Programme, programme_summaries, simulate_programme
from channelab.simulate.programme import ENGAGEMENT_METRIC, OUTCOME_METRIC, Observed

HEADER = "experiment,arm,metric,role,type,n,control,mean,sd,pair,pair_mean"
#: One study: control A and treatment B, two binary metrics; the pair is on the views rows.
BASE = [
    "S,A,views,engagement,binary,400,A,0.2,,meetings,0.03",  # line 2
    "S,A,meetings,outcome,binary,400,A,0.05,,,",  # line 3
    "S,B,views,engagement,binary,400,A,0.4,,meetings,0.04",  # line 4
    "S,B,meetings,outcome,binary,400,A,0.06,,,",  # line 5
]
EFFECT_HEADER = f"{HEADER},effect,se,scale"
CONTINUOUS = [  # C = pair_mean - mean_a mean_b is 10 and 9.1, far beyond sd_a sd_b = 2
    "S,A,time,engagement,continuous,100,A,10,2,spend,30",
    "S,A,spend,revenue,continuous,100,A,2,1,,",
    "S,B,time,engagement,continuous,100,A,11,2,spend,32.2",
    "S,B,spend,revenue,continuous,100,A,2.1,1,,",
]


def _with(lines: list[str], line: int, old: str, new: str) -> list[str]:
    """``lines`` with ``old`` replaced by ``new`` on file line ``line`` (the header is line 1)."""
    out = list(lines)
    assert old in out[line - 2], (old, out[line - 2])
    out[line - 2] = out[line - 2].replace(old, new)
    return out


def _csv(tmp_path: Path, lines: list[str], header: str = HEADER, name: str = "summaries.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


# --- refusals, each through the command line ------------------------------------------------

CASES: dict[str, tuple[list[str], str, str]] = {  # (rows, header, message)
    "same-pair-twice-with-different-values": (
        [*BASE[:3], "S,B,meetings,outcome,binary,400,A,0.06,,views,0.05"],
        HEADER,
        r"line 5, column 'pair_mean': 0.05, but line 4 gives 0.04 for the same pair 'meetings' x 'views' "
        r"on arm 'B'",
    ),
    "pair-on-the-treatment-arm-only": (
        _with(BASE, 2, "meetings,0.03", ","),
        HEADER,
        r"line 4, column 'pair': the pair 'meetings' x 'views' of study 'S' is given on arm 'B' but not "
        r"on the control arm 'A'; give 'pair' and 'pair_mean' on the control arm's row",
    ),
    "pair-on-the-control-arm-only": (
        _with(BASE, 4, "meetings,0.04", ","),
        HEADER,
        r"line 2, column 'pair': the pair 'meetings' x 'views' of study 'S' is given on the control arm "
        r"only; give it on the treatment arms' rows too",
    ),
    "pair-names-an-unknown-metric": (
        _with(BASE, 4, "meetings,0.04", "meeting,0.04"),
        HEADER,
        r"line 4, column 'pair': 'meeting' is not a metric of study 'S'; did you mean 'meetings'\?",
    ),
    "pair-names-its-own-metric": (
        _with(BASE, 4, "meetings,0.04", "views,0.04"),
        HEADER,
        r"line 4, column 'pair': names the row's own metric 'views'; did you mean 'meetings'\?",
    ),
    "share-with-both-above-the-frechet-bound": (
        _with(BASE, 4, "meetings,0.04", "meetings,0.07"),
        HEADER,
        r"line 4, column 'pair_mean': 0.07 is impossible for the share with both of two binary metrics "
        r"\(Fréchet bounds\) with means 0.06 \('meetings'\) and 0.4 \('views'\) on arm 'B': it must be "
        r"from 0 to 0.06",
    ),
    "share-with-both-below-the-frechet-bound": (
        _with(_with(BASE, 4, "0.4,,meetings,0.04", "0.9,,meetings,0.1"), 5, "0.06", "0.3"),
        HEADER,
        r"line 4, column 'pair_mean': 0.1 is impossible .* it must be from 0.2 to 0.3",
    ),
    "binary-times-count-above-the-count's-mean": (
        [
            "S,A,views,engagement,binary,400,A,0.2,,calls,0.6",
            "S,A,calls,engagement,count,400,A,0.5,1,,",
            "S,B,views,engagement,binary,400,A,0.3,,calls,0.2",
            "S,B,calls,engagement,count,400,A,0.6,1,,",
        ],
        HEADER,
        r"line 2, column 'pair_mean': 0.6 is impossible for a binary metric times a count .* "
        r"it must be from 0 to 0.5",
    ),
    "a-correlation-beyond-one": (
        CONTINUOUS,
        HEADER,
        r"line 4, column 'pair_mean': with line 2's 'pair_mean', the covariance of arm 'B''s two "
        r"differences \('spend', 'time'\) is 0.191, a correlation of 4.775 .* cannot come from one set "
        r"of units",
    ),
    "pair-without-pair-mean": (
        _with(BASE, 4, "meetings,0.04", "meetings,"),
        HEADER,
        r"line 4, column 'pair_mean': empty, but 'pair' names 'meetings'",
    ),
    "pair-mean-without-pair": (
        _with(BASE, 4, "meetings,0.04", ",0.04"),
        HEADER,
        r"line 4, column 'pair': empty, but 'pair_mean' is given",
    ),
    "pair-on-a-row-that-gives-an-effect": (
        [
            *(f"{line},,," for line in BASE[:2]),
            "S,B,views,engagement,binary,400,A,,,meetings,0.04,0.2,0.03,diff",
            f"{BASE[3]},,,",
        ],
        EFFECT_HEADER,
        r"line 4, column 'pair': given on a row that gives an effect; a pair needs the arm's means",
    ),
    "the-other-metric-given-as-an-effect": (
        [*(f"{line},,," for line in BASE[:3]), "S,B,meetings,outcome,binary,400,A,,,,,0.01,0.015,diff"],
        EFFECT_HEADER,
        r"line 5, column 'effect': an effect, but line 4 pairs metric 'meetings' with another on this arm",
    ),
    "the-arm-has-no-row-of-the-other-metric": (
        [*BASE, "S,C,views,engagement,binary,400,A,0.3,,meetings,0.02"],
        HEADER,
        r"line 6, column 'pair': arm 'C' of study 'S' has no row of metric 'meetings'; a pair needs the "
        r"arm's means of both metrics",
    ),
    "the-two-metrics-over-different-n": (
        _with(BASE, 5, "400", "390"),
        HEADER,
        r"line 4, column 'pair': metric 'meetings' has n 390 \(line 5\) but 'views' has n 400 \(line 4\) "
        r"on arm 'B'; a pair needs both metrics measured on the same units",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_an_impossible_pair_is_refused_and_nothing_is_written(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    lines, header, match = CASES[name]
    path = _csv(tmp_path, lines, header)
    before = path.read_bytes()
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["registry", "import", path.name, "--registry", "out/reg.duckdb"])
    said = " ".join(result.output.split())
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in said
    assert result.exit_code == 2, said
    assert "summaries.csv" in said
    assert re.search(match, said), said
    assert "Nothing was imported" in said
    assert not (tmp_path / "out" / "reg.duckdb").exists()
    assert path.read_bytes() == before


# --- what a pair gives -----------------------------------------------------------------------


def test_a_pair_gives_the_closed_form_covariances_of_the_differences_and_log_lifts(tmp_path: Path):
    imported = records_from_summaries(_csv(tmp_path, BASE))
    views, meetings = imported.records
    (cov,) = imported.covariances
    c_a, c_b = 0.03 - 0.2 * 0.05, 0.04 - 0.4 * 0.06
    assert (cov.arm, cov.metric_a, cov.metric_b) == ("B", "meetings", "views")
    assert (cov.spec_hash, cov.data_fingerprint) == (views.spec_hash, views.data_fingerprint)
    assert cov.cov_diff == pytest.approx(c_a / 400 + c_b / 400, rel=1e-12)
    assert cov.cov_loglift == pytest.approx(c_a / (400 * 0.2 * 0.05) + c_b / (400 * 0.4 * 0.06), rel=1e-12)
    assert abs(cov.cov_diff / (views.diff_sd * meetings.diff_sd)) <= 1
    assert imported.notes == []
    with open_registry(tmp_path / "reg.duckdb", create=True) as reg:
        assert reg.add(imported.records, imported.covariances) == Added(2, 0, 1, 0)


def test_the_pair_may_be_given_on_both_metrics_rows_with_the_same_value(tmp_path: Path):
    lines = [*BASE[:3], "S,B,meetings,outcome,binary,400,A,0.06,,views,0.040"]
    assert (
        records_from_summaries(_csv(tmp_path, lines)).covariances
        == records_from_summaries(_csv(tmp_path, BASE, name="b.csv")).covariances
    )


def test_a_zero_mean_leaves_the_log_lift_covariance_out(tmp_path: Path):
    lines = _with(_with(BASE, 3, "0.05", "0"), 2, "meetings,0.03", "meetings,0")
    imported = records_from_summaries(_csv(tmp_path, lines))
    (cov,) = imported.covariances
    assert cov.cov_loglift is None
    assert cov.cov_diff == pytest.approx((0 - 0) / 400 + (0.04 - 0.4 * 0.06) / 400, rel=1e-12)


def test_a_treatment_arm_without_the_pair_is_said_and_has_no_covariance(tmp_path: Path):
    lines = [*BASE, "S,C,views,engagement,binary,400,A,0.3,,,", "S,C,meetings,outcome,binary,400,A,0.05,,,"]
    imported = records_from_summaries(_csv(tmp_path, lines))
    assert [c.arm for c in imported.covariances] == ["B"]
    assert imported.notes == [
        "the pair 'meetings' x 'views' of study 'S' is not given on arm(s) 'C': their effects on the two "
        "metrics are taken as uncorrelated."
    ]


def test_a_file_without_the_columns_imports_as_before_and_the_pair_does_not_change_the_key(tmp_path: Path):
    old_header = "experiment,arm,metric,role,type,n,control,mean,sd"
    old = [line.rsplit(",", 2)[0] for line in BASE]
    before = records_from_summaries(_csv(tmp_path, old, old_header, "old.csv"))
    after = records_from_summaries(_csv(tmp_path, BASE))
    assert before.covariances == []
    assert before.notes == after.notes == []

    def same(r: Record) -> tuple:
        return tuple(getattr(r, f) for f in Record.__slots__ if f != "created")  # type: ignore[attr-defined]

    assert [same(r) for r in before.records] == [same(r) for r in after.records]
    with open_registry(tmp_path / "reg.duckdb", create=True) as reg:
        assert reg.add(before.records) == Added(2, 0)
        assert reg.add(after.records, after.covariances) == Added(0, 2, 1, 0)  # only the covariance is new


# --- the simulated programme, published and imported again -----------------------------------


def _plug_in(programme: Programme) -> dict[tuple[str, str], tuple[float | None, ...]]:
    """Per (spec hash, metric): diff, its sd, log ratio, its sd from the observed proportions."""
    out: dict[tuple[str, str], tuple[float | None, ...]] = {}
    for t in programme.tables:
        n = t.n_per_arm
        for m, metric in enumerate((ENGAGEMENT_METRIC, OUTCOME_METRIC)):
            p_c, p_t = ((cells[0] + cells[1 + m]) / n for cells in (t.control, t.treated))
            v_t, v_c = p_t * (1 - p_t), p_c * (1 - p_c)
            diff = (p_t - p_c, math.sqrt(v_t / n + v_c / n))
            if min(p_t, p_c) > 0:
                out[(t.spec_hash, metric)] = (
                    *diff,
                    math.log(p_t / p_c),
                    math.sqrt(v_t / (n * p_t**2) + v_c / (n * p_c**2)),
                )
            else:
                out[(t.spec_hash, metric)] = (*diff, None, None)
    return out


def _closed_form_covariance(t: Observed) -> tuple[float, float | None]:
    """(p_ab - p_a p_b) / n summed over the arms, and over n p_a p_b (None if a share is 0).

    ``a`` is the outcome (meetings), ``b`` the engagement (the pair in sorted order).
    """
    diff, ratio = 0.0, 0.0
    n = t.n_per_arm
    for cells in (t.treated, t.control):
        p_a, p_b = (cells[0] + cells[2]) / n, (cells[0] + cells[1]) / n
        unit = cells[0] / n - p_a * p_b
        diff += unit / n
        ratio = ratio + unit / (n * p_a * p_b) if ratio is not None and p_a * p_b > 0 else None
    return diff, ratio


@pytest.mark.parametrize("seed", [3, 11])
def test_a_simulated_programme_round_trips_through_its_published_summaries(seed: int, tmp_path: Path):
    programme = simulate_programme(SOCIAL_PROGRAMME, seed=seed)
    path = tmp_path / "programme.csv"
    programme_summaries(programme).to_csv(path, index=False)
    imported = records_from_summaries(path)
    assert len(imported.records) == len(programme.records)
    assert len(imported.covariances) == len(programme.tables)
    simulated = {(r.experiment, r.metric): r for r in programme.records}
    by_hash = {r.spec_hash: r.experiment for r in programme.records}
    plug_in = {(by_hash[h], m): v for (h, m), v in _plug_in(programme).items()}
    imported_hash = {r.experiment: r.spec_hash for r in imported.records}
    for got in imported.records:
        sim = simulated[(got.experiment, got.metric)]
        for name in (
            "arm",
            "channel",
            "metric",
            "role",
            "metric_type",
            "n_arm",
            "n_control",
            "launched",
            "last_date",
            "control_mean",
        ):
            assert getattr(got, name) == getattr(sim, name), name
        want = plug_in[(got.experiment, got.metric)]
        assert got.diff_mean == pytest.approx(want[0], rel=1e-9, abs=1e-15)
        assert got.diff_sd == pytest.approx(want[1], rel=1e-9)
        assert (got.loglift_mean is None) == (want[2] is None)
        if want[2] is not None:
            assert got.loglift_mean == pytest.approx(want[2], rel=1e-9, abs=1e-15)
            assert got.loglift_sd == pytest.approx(want[3], rel=1e-9)
        # the simulator's Jeffreys posteriors differ from the plug-in by the prior's small pull
        assert abs(got.diff_mean - sim.diff_mean) < 0.05 * sim.diff_sd
        assert got.diff_sd == pytest.approx(sim.diff_sd, rel=0.05)
    for cov, sim_cov, table in zip(
        imported.covariances, programme.covariances, programme.tables, strict=True
    ):
        assert cov.arm == table.arm  # one covariance per test, in the order of the tests
        assert cov.spec_hash == imported_hash[by_hash[table.spec_hash]]
        assert (
            (cov.metric_a, cov.metric_b)
            == (sim_cov.metric_a, sim_cov.metric_b)
            == ("meetings", "profile_views")
        )
        diff, ratio = _closed_form_covariance(table)
        assert cov.cov_diff == diff  # exactly: the same arithmetic on the same shares
        assert cov.cov_loglift == ratio
        # the simulator's phi coefficient of the smoothed table times posterior sds: close
        assert cov.cov_diff == pytest.approx(sim_cov.cov_diff, rel=0.15)
    with open_registry(tmp_path / "reg.duckdb", create=True) as reg:
        added = reg.add(imported.records, imported.covariances)
    assert (added.added, added.covariances) == (len(programme.records), len(programme.tables))
    assert np.isfinite([c.cov_diff for c in imported.covariances]).all()
