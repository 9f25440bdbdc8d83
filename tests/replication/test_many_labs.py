"""A many-lab replication (``replication.labs``): pooling against known truths, the licences of
its words, the per-lab estimate against the single-lab replication, and hostile specs.

The pooled model's tests fit it for real (a few seconds); the licence and ROPE-share tests feed
:func:`~channelab.replication.labs.judge_labs` hand-made draws, so their answers are exact.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, stats

from channelab.pipeline.labs import pool_labs
from channelab.pipeline.read import no_steps, read, read_labs
from channelab.replication.judge import Estimate, judge
from channelab.replication.labs import LabEstimate, PooledDraws, judge_labs, spread_verdict
from channelab.replication.stats import normal_replication_bf
from channelab.spec import Spec
from channelab.spec.loader import parse_spec

sys.path.insert(0, str(Path(__file__).parents[1] / "hostile"))
from harness import CLEAN, VALIDATE, Case, rows, run_case, spec, to_yaml

# ---- a spec of published summaries: labs with known estimates and standard errors -------------

#: Per-arm n of every simulated lab, and the original study's numbers (a − b = 1.0, se ≈ 0.2).
N, ORIGINAL_MEAN, ORIGINAL_SD = 200, 1.0, 1.0


def _original() -> dict:
    return {
        "citation": "A. Author (2020). An original study.",
        "contrast": ["treated", "control"],
        "arms": {
            "treated": {"n": 50, "metrics": {"score": {"mean": 10 + ORIGINAL_MEAN, "sd": ORIGINAL_SD}}},
            "control": {"n": 50, "metrics": {"score": {"mean": 10.0, "sd": ORIGINAL_SD}}},
        },
    }


def _table(diff: float, se: float, n: int = N) -> dict:
    """A lab's per-arm table whose difference is ``diff`` with standard error ``se``."""
    sd = se * math.sqrt(n / 2)
    return {
        "treated": {"n": n, "metrics": {"score": {"mean": 10.0 + diff, "sd": sd}}},
        "control": {"n": n, "metrics": {"score": {"mean": 10.0, "sd": sd}}},
    }


def _summaries_spec(estimates: list[float], ses: list[float], **replication) -> Spec:
    labs = [
        {"name": f"Lab {i + 1}", "summaries": _table(d, s)}
        for i, (d, s) in enumerate(zip(estimates, ses, strict=True))
    ]
    raw = {
        "name": "labs",
        "unit": {"kind": "participant"},
        "data": {"summaries": _table(estimates[0], ses[0])},
        "arm_column": "arm",
        "control": "control",
        "arms": {"control": {"channel": "control"}, "treated": {"channel": "other"}},
        "metrics": [{"name": "score", "type": "continuous", "role": "outcome"}],
        "original": _original(),
        "replication": {"labs": labs, **replication},
        "seed": 11,
        "sampler": {"draws": 1000, "tune": 1000, "chains": 4},
    }
    return parse_spec(raw)


def _pooled(estimates: list[float], ses: list[float]):
    s = _summaries_spec(estimates, ses)
    return pool_labs(read_labs(s, step=no_steps), s, step=no_steps).get("score"), s


@pytest.mark.slow
def test_pooled_intervals_cover_a_known_mean_and_spread():
    rng = np.random.default_rng(2)
    mu, tau, k = 0.6, 0.3, 14
    ses = rng.uniform(0.08, 0.2, k)
    truth = mu + tau * rng.standard_normal(k)
    m, _ = _pooled(list(truth + ses * rng.standard_normal(k)), list(ses))
    assert m.mu.lower < mu < m.mu.upper
    assert m.tau.lower < tau < m.tau.upper
    assert m.prediction.lower < mu < m.prediction.upper
    covered = [lab.shrunken.lower < t < lab.shrunken.upper for lab, t in zip(m.labs, truth, strict=True)]
    assert sum(covered) >= k - 2  # 94 % intervals: about one miss in 14 is expected


@pytest.mark.slow
def test_with_no_spread_the_pooled_mean_is_the_inverse_variance_weighted_mean():
    ses = np.array([0.05, 0.08, 0.12, 0.2, 0.3, 0.06, 0.1, 0.15])
    rng = np.random.default_rng(5)
    y = 1.0 + ses * rng.standard_normal(ses.size)  # τ = 0: every lab's truth is 1.0
    m, _ = _pooled(list(y), list(ses))
    w = 1 / ses**2
    ivw, ivw_se = float(np.sum(w * y) / w.sum()), float(1 / math.sqrt(w.sum()))
    # within Monte Carlo error (4,000 draws) and the little τ the prior leaves
    assert abs(m.mu.mean - ivw) < 0.15 * ivw_se, (m.mu.mean, ivw, ivw_se)
    # wider than the fixed-effect se: the pooled sd also carries the uncertainty about τ
    assert ivw_se <= m.mu_sd < 1.5 * ivw_se
    assert m.spread != "labs disagree"


# ---- the per-lab estimate is the single-lab replication's ----------------------------------


def _rows_spec(tmp_path: Path, labs: list[dict]) -> Spec:
    raw = spec(
        original={
            "citation": "An original study.",
            "contrast": ["email", "control"],
            "arms": {
                "email": {
                    "n": 40,
                    "metrics": {"bought": {"proportion": 0.45}, "spend": {"mean": 9, "sd": 20}},
                },
                "control": {
                    "n": 40,
                    "metrics": {"bought": {"proportion": 0.25}, "spend": {"mean": 5, "sd": 15}},
                },
            },
        },
        replication={"labs": labs},
    )
    (tmp_path / "exp.yaml").write_text(to_yaml(raw), encoding="utf-8")
    return parse_spec(raw, source=tmp_path / "exp.yaml")


def test_each_lab_estimate_is_what_a_single_lab_replication_reports(tmp_path: Path):
    from channelab.replication.labs import lab_estimates

    for i, seed in enumerate((1, 2)):
        (tmp_path / f"lab{i}.csv").write_text(rows(seed=seed).to_csv(index=False), encoding="utf-8")
    s = _rows_spec(tmp_path, [{"name": "A", "data": "lab0.csv"}, {"name": "B", "data": "lab1.csv"}])
    labs = read_labs(s, step=no_steps)
    for i, lab in enumerate(labs):
        single = s.model_copy(update={"data": s.data.model_copy(update={"path": tmp_path / f"lab{i}.csv"})})
        alone = judge(read(single, step=no_steps).cells, single)
        for e in lab_estimates(lab.name, lab.cells, s):
            reported = alone.get(e.metric).replication
            z = stats.norm.ppf(0.5 + s.hdi_prob / 2)
            assert e.estimate == pytest.approx(reported.mean, abs=1e-12)
            assert e.se == pytest.approx((reported.upper - reported.mean) / z, rel=1e-9)


# ---- the licences of the words, with hand-made draws -----------------------------------------

SE_O = ORIGINAL_SD * math.sqrt(2 / 50)


def _draws(mu_mean: float, mu_sd: float, theta: np.ndarray, tau: tuple[float, float] = (0.1, 0.2)):
    """Draws whose μ has exactly ``mu_mean`` and ``mu_sd``; τ uniform over ``tau``."""
    s = theta.shape[0]
    z = stats.norm.ppf((np.arange(s) + 0.5) / s)
    mu = mu_mean + mu_sd * (z - z.mean()) / z.std()
    spread = np.linspace(*tau, s)
    return PooledDraws(mu, spread, theta, mu + spread * z[::-1])


def _judged(mu_mean: float, mu_sd: float, theta: np.ndarray, tau=(0.1, 0.2), **replication):
    k = theta.shape[1]
    s = _summaries_spec([1.0] * k, [0.2] * k, **replication)
    estimates = [LabEstimate(f"Lab {i + 1}", "score", (N, N), (11.0, 10.0), 1.0, 0.2) for i in range(k)]
    return judge_labs({"score": estimates}, {"score": _draws(mu_mean, mu_sd, theta, tau)}, s, converged=True)


def _mean_at_bf(log_bf: float, sd: float) -> float:
    """The pooled mean whose BF_r0 (normal approximation, pooled sd ``sd``) is exp(log_bf)."""
    return optimize.brentq(lambda m: normal_replication_bf(ORIGINAL_MEAN, SE_O, m, sd) - log_bf, 0.0, 1.0)


@pytest.mark.parametrize(
    ("nudge", "words"), [(+1e-3, "replicated across labs"), (-1e-3, "inconclusive across labs")]
)
def test_replicated_across_labs_only_from_the_threshold(nudge: float, words: str):
    sd = 0.1
    mean = _mean_at_bf(math.log(10) + nudge, sd)
    result = _judged(mean, sd, np.full((4000, 3), mean))
    assert result.head.verdict_words == words
    assert math.log(result.head.judged.bf_r0) == pytest.approx(math.log(10) + nudge, abs=2e-4)
    assert ("replicated across labs" in result.sentence) == (nudge > 0)


def test_not_replicated_across_labs_when_the_pooled_bf_favours_no_effect():
    sd = 0.05
    mean = _mean_at_bf(-math.log(10) - 1e-3, sd)
    result = _judged(mean, sd, np.full((4000, 3), mean))
    assert result.head.verdict_words == "not replicated across labs"
    assert "did not replicate across labs" in result.sentence


@pytest.mark.parametrize(
    ("tau", "spread"),
    [
        ((0.501, 0.9), "labs disagree"),
        ((0.499, 0.9), "spread uncertain"),
        ((0.01, 0.499), "spread uncertain"),  # below the half-width, but two labs may still differ by more
        ((0.01, 0.5 / (math.sqrt(2) * 1.8808) - 1e-3), "labs agree"),
        ((0.01, 0.5 / (math.sqrt(2) * 1.8808) + 1e-3), "spread uncertain"),
    ],
)
def test_labs_disagree_only_when_the_whole_interval_of_tau_is_above_the_rope(tau, spread):
    assert spread_verdict(Estimate(0.6, *tau, 0.94), 0.5) == spread


def test_spread_verdict_of_the_pooled_result_uses_the_rope_at_the_control_mean():
    # ROPE ±5 % of the control's 10.0: half-width 0.5 as a difference
    theta = np.full((4000, 3), 1.0)
    assert _judged(1.0, 0.1, theta, tau=(0.6, 0.9)).head.spread == "labs disagree"
    assert _judged(1.0, 0.1, theta, tau=(0.4, 0.9)).head.spread == "spread uncertain"
    assert _judged(1.0, 0.1, theta, tau=(0.01, 0.3)).head.spread == "spread uncertain"  # √2·1.88·0.3 > 0.5
    assert _judged(1.0, 0.1, theta, tau=(0.01, 0.15)).head.spread == "labs agree"
    assert _judged(1.0, 0.1, theta, tau=(0.6, 0.9)).head.rope == pytest.approx((-0.5, 0.5))


def test_share_beyond_the_rope_in_extreme_cases():
    far = np.full((4000, 4), 3.0)  # every lab far beyond the ROPE (±0.5) in the original's direction
    m = _judged(3.0, 0.1, far).head
    assert (m.beyond_rope.mean, m.beyond_rope.lower, m.beyond_rope.upper) == (1.0, 1.0, 1.0)
    assert m.opposite_rope.mean == 0.0
    split = np.tile([3.0, -3.0, 0.0, 0.2], (4000, 1))  # one each way, two inside the ROPE
    m = _judged(0.5, 0.1, split).head
    assert m.beyond_rope.mean == pytest.approx(0.25)
    assert m.opposite_rope.mean == pytest.approx(0.25)


# ---- hostile specs: each a clear message naming the field, exit 2 ----------------------------

ORIGINAL = {
    "citation": "An original study.",
    "contrast": ["email", "control"],
    "arms": {
        "email": {"n": 40, "metrics": {"bought": {"proportion": 0.45}}},
        "control": {"n": 40, "metrics": {"bought": {"proportion": 0.25}}},
    },
}
TWO = [{"name": "A", "data": "a.csv"}, {"name": "B", "data": "b.csv"}]
FILES = {"rows.csv": CLEAN, "a.csv": CLEAN, "b.csv": CLEAN}


def _case(labs: list, match: str, *, original: dict | None = ORIGINAL, files: dict | None = None) -> Case:
    changes = {"replication": {"labs": labs}} | ({"original": original} if original else {})
    return Case(
        {"exp.yaml": to_yaml(spec(**changes)), **(FILES if files is None else files)}, VALIDATE, 2, match
    )


CASES: dict[str, Case] = {
    "labs-file-missing": _case(
        [*TWO, {"name": "C", "data": "c.csv"}], r"replication\.labs\.2 \('C'\)\.data: .*c\.csv: no such file"
    ),
    "labs-duplicate-names": _case(
        [*TWO, {"name": "a", "data": "a.csv"}], r"replication\.labs\.2\.name: 'a' names another lab too"
    ),
    "labs-without-original": _case(TWO, r"replication\.labs: .*no 'original:' block", original=None),
    "labs-only-one": _case(TWO[:1], r"replication\.labs: got 1 lab, but pooling labs needs between 2"),
    "labs-none": _case([], r"replication\.labs: got 0 labs"),
    "labs-both-sources": _case(
        [{"name": "A", "data": "a.csv", "summaries": {}}, TWO[1]],
        r"replication\.labs\.0: give exactly one of data",
    ),
    "labs-summaries-missing-an-arm": _case(
        [
            {"name": "A", "summaries": {"email": {"n": 40, "metrics": {}}}},
            TWO[1],
        ],
        r"replication\.labs\.0\.summaries: arm 'control' has no summaries",
    ),
    "labs-bad-rows-name-the-lab": _case(
        TWO,
        r"replication\.labs\.1 \('B'\): .*b\.csv",
        files={**FILES, "b.csv": CLEAN.replace(",email,", ",emial,", 1)},
    ),
    "labs-blank-name": _case(
        [{"name": " ", "data": "a.csv"}, TWO[1]], r"replication\.labs\.0\.name: is blank"
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_labs(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    run_case(CASES[name], tmp_path, monkeypatch)


def test_too_many_labs_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("channelab.spec.labs.MAX_LABS", 3)
    labs = [{"name": n, "data": "a.csv"} for n in "ABCD"]
    run_case(
        _case(labs, r"replication\.labs: got 4 labs, but pooling labs needs between 2 and 3"),
        tmp_path,
        monkeypatch,
    )


# ---- the worked example's simulator -------------------------------------------------------------


def test_the_many_labs_simulator_is_seeded_and_its_truth_is_what_it_simulated():
    from channelab.simulate.ubc_labs import simulate_many_labs

    first, truth = simulate_many_labs(3, mu=0.5, tau=0.4, n_per_arm=(40, 60), seed=4)
    again, _ = simulate_many_labs(3, mu=0.5, tau=0.4, n_per_arm=(40, 60), seed=4)
    assert all(first[k].equals(again[k]) for k in first)
    ids = np.concatenate([frame["participant_id"].to_numpy() for frame in first.values()])
    assert len(set(ids)) == ids.size  # the labs' rows stack without clashing ids
    for lab in truth.labs:
        assert lab.bounded or lab.effect_donation == pytest.approx(lab.strength * 0.52)
        assert len(first[lab.name]) == 3 * lab.n_per_arm
    assert truth.mu_donation == pytest.approx(0.26)


@pytest.mark.slow
def test_replicate_with_labs_writes_the_labs_block_and_its_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import json

    from harness import RUN

    files = {**FILES, "c.csv": rows(seed=9).to_csv(index=False)}
    labs = [*TWO, {"name": "C", "data": "c.csv"}]
    case = Case(
        {"exp.yaml": to_yaml(spec(original=ORIGINAL, replication={"labs": labs})), **files},
        ["replicate", *RUN[1:]],
        0,
        r"Across labs: (replicated|not replicated|inconclusive) across labs",
        fit=True,
    )
    run_case(case, tmp_path, monkeypatch)
    block = json.loads((tmp_path / "out" / "hostile.json").read_text())["replication"]["labs"]
    assert block["primary"] == "bought"
    (bought,) = block["metrics"]
    assert [lab["name"] for lab in bought["labs"]] == ["A", "B", "C"]
    assert {"mu", "tau", "prediction", "share_beyond_rope", "bf_r0", "verdict"} <= set(bought["pooled"])
    assert bought["labs"][0]["n"] == [60, 60]
    assert [(d["name"], d["path"], d["rows"]) for d in block["data"]] == [
        ("A", "a.csv", 120),
        ("B", "b.csv", 120),
        ("C", "c.csv", 120),
    ]
    assert (tmp_path / "out" / "hostile.pdf").stat().st_size > 0


@pytest.mark.slow
def test_a_many_lab_replication_adds_one_record_per_lab_that_learn_pools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from harness import RUN

    from channelab.engine.registry import open_registry
    from channelab.pipeline.learn import read_programme, studies_of

    files = {**FILES, "c.csv": rows(seed=9).to_csv(index=False)}
    labs = [*TWO, {"name": "C", "data": "c.csv"}]
    case = Case(
        {"exp.yaml": to_yaml(spec(original=ORIGINAL, replication={"labs": labs})), **files},
        ["replicate", *RUN[1:], "--registry", "out/labs.duckdb"],
        0,
        r"Registry: .*3 record\(s\) added",
        fit=True,
    )
    run_case(case, tmp_path, monkeypatch)
    with open_registry(tmp_path / "out" / "labs.duckdb", create=False) as store:
        records = store.records()
    assert sorted(r.experiment.rsplit(": ", 1)[1] for r in records) == ["A", "B", "C"]
    assert {(r.metric, r.source, r.loglift_mean) for r in records} == {("bought", "replicate", None)}
    block = json.loads((tmp_path / "out" / "hostile.json").read_text())["replication"]["labs"]
    observed = {lab["name"]: lab for lab in block["metrics"][0]["labs"]}
    for r in records:  # the lab's own difference, as the replication reported it
        lab = observed[r.experiment.rsplit(": ", 1)[1]]
        assert r.n_arm == lab["n"][0]
    (group,) = {s.channel for s in studies_of(read_programme([tmp_path / "out" / "labs.duckdb"]).records)}
    assert group == "email"  # one group: learn pools the three labs as the replication did
