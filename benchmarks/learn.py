"""Does the programme model (``channelab learn``) deliver what it claims? Simulated programmes, known truth.

Every programme is drawn by :func:`channelab.simulate.programme.simulate_programme` (records as a
registry holds them, within-test covariances, the truth of every test) and pooled by
:func:`channelab.analysis.learning.learn`, exactly as ``channelab learn`` pools a registry
(:func:`channelab.pipeline.learn.studies_of`). The world (``WORLD``), each programme 125 tests,
units per arm uniform in 1,000-10,000, control rates profile views 5-30 %, meetings 1-5 %, the
programme launching the arms whose meetings verdict is ``real lift``:

=======  =======  ==========  =======  ================  ========  =====
channel  μ views  μ meetings  τ views  τ meetings resid  slope β   tests
=======  =======  ==========  =======  ================  ========  =====
email    +20 %    +6 %        0.15     0.06              0.5       25
social   +80 %    +10 %       0.25     0.08              0.3       40
ads      +30 %    −0.18 %     0.20     0.06              0 (null)  60
=======  =======  ==========  =======  ================  ========  =====

(τ of meetings is √(β² τ_views² + resid²): 0.096, 0.111, 0.060; on log(1 + lift). The μ column
is μ on that scale; ``learn`` reports the mean lift across tests, e^(μ + τ²/2) − 1, which is
exactly 0 for ads' meetings: the null world of the claims.)

Measured (94 % intervals; binomial Monte Carlo standard errors; a coverage passes when its
target range meets coverage ± 2 SE):

1. coverage of the mean lift ``ChannelMetric.mu`` (truth e^(μ + τ²/2) − 1, per channel ×
   metric) and of every test's shrunken effect (truth: the test's true lift) — target 92-96 %;
   τ's coverage per group, beside the ratio of τ to the tests' median standard error (τ is
   weakly identified where that ratio is small);
2. the winner's curse: over the launched winners of the channels with a real outcome effect,
   the bias of the naive sum of their reported lifts and of the shrunken sum
   (``Impact.naive``, ``Impact.shrunken.mean``) against the true sum — target |bias of the
   shrunken| ≤ 5 % of the truth;
3. coverage of the link's slope (truth: the simulator's β per channel) — target 92-96 %;
4. false rates of the learn report's directional sentences at the house's claim level
   (:func:`~channelab.analysis.learning.wording.learned_claim_level`, 0.97 for 94 % intervals):
   "raised meetings on average" for ``ads`` (true mean lift 0) and "bigger engagement gains also had
   bigger outcome gains" for ``ads`` (true slope = 0) — target at most 1 − level (3 %), judged
   as rate − 2 SE ≤ 3 %;
5. scaling: wall time and peak RSS of :func:`channelab.pipeline.learn.learn_programme` (house
   sampler, 4 × 1,000) on a DuckDB registry of 100, 1,000 and 10,000 records (two channels of the
   world; each size in its own subprocess after a warm-up that fills the compile cache) —
   target 10,000 records in under 60 s within 2 GB;
6. learned priors: per past programme (one channel: email, meetings μ +10 %, τ 0.11, views
   +20 %, τ 0.15, β 0.5; 30 tests) learn the prediction for the next test, then simulate new
   tests of that channel (true log lifts drawn from the same population, meetings 3 % in
   control, 3,000 units per arm) and analyse each with channelab's per-test model
   (:class:`~channelab.analysis.model.Refitter`, house sampler 4 × 1,000) twice: default priors,
   and the learned prior set by :func:`~channelab.analysis.learning.prior.start_from` at the
   control's level. Target: lower MSE of the posterior-mean lift with the learned prior (paired
   difference < 0 by 2 SE), at coverage 92-96 %. The learned coverage varies a lot between past
   programmes (it depends on how well 30 tests pinned τ), so it is also computed in closed form
   (normal likelihood of each new test, :func:`closed_form`) for the predictions learned by
   ``learn`` from ``--closed`` more past programmes, and by quadrature of the same model
   (:func:`quadrature_prediction`, no MCMC; checked against ``learn`` on those programmes) from
   ``--exact`` of them; that last, most precise estimate is the one judged.

Sections 1-4 fit with ``--chains`` × ``--draws`` (default 2 × 500, with as many tuning steps);
``--check K`` refits the first K programmes with the house's 4 × 1,000 and prints both coverages.

    python benchmarks/learn.py [--programmes N] [--check K] [--past P] [--new M] [--closed C]
                               [--exact E] [--sections 1,5,6] [--seed S] [--out DIR] [--quick]

The defaults (200 programmes, check 40, scaling, 12 past programmes × 60 new tests, closed form
over 200 learned and 4,000 by quadrature) take about 8.5 minutes on 2 cores; ``--quick`` (40
programmes, check 10, 2 × 40 new tests, closed form over 40 and 1,000) about 2. ``--out`` writes
every judged interval as CSV.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from channelab.analysis.effects import compute_effects
from channelab.analysis.learning import ProgrammePriors, learn
from channelab.analysis.learning.prior import start_from
from channelab.analysis.learning.wording import learned_claim_level
from channelab.analysis.model import Refitter
from channelab.design.assurance import simulated_cells
from channelab.engine.registry import open_registry
from channelab.pipeline.learn import learn_programme, studies_of
from channelab.simulate.programme import ENGAGEMENT_METRIC, OUTCOME_METRIC, ChannelTruth, simulate_programme
from channelab.spec import Baseline, Sampler, Spec

HDI = 0.94
LEVEL = learned_claim_level(HDI)
COVERAGE_TARGET = (0.92, 0.96)
IMPACT_BIAS_MAX = 0.05
SCALE_SECONDS_MAX, SCALE_BYTES_MAX = 60.0, 2 * 1024**3
N_PER_ARM = (1000, 10_000)
WORLD = (
    ChannelTruth("email", math.log(1.20), math.log(1.06), 0.15, 0.06, 0.5, tests=25),
    ChannelTruth("social", math.log(1.80), math.log(1.10), 0.25, 0.08, 0.3, tests=40),
    ChannelTruth("ads", math.log(1.30), -(0.06**2) / 2, 0.20, 0.06, 0.0, tests=60),
)
NULL_CHANNEL = "ads"
#: Learned priors: the past programme, and the new tests (control rate, units per arm).
PAST = ChannelTruth("email", math.log(1.20), math.log(1.10), 0.15, 0.08, 0.5, tests=30)
NEW_RATE, NEW_N = 0.03, 3000


def covariance_map(programme) -> dict:
    """Within-test covariances keyed as ``learn`` reads them (as ``learn_programme`` builds them)."""
    out = {}
    for c in programme.covariances:
        a, b = sorted((c.metric_a, c.metric_b))
        out[f"{c.spec_hash}|{c.data_fingerprint}|{c.arm}", a, b] = (c.cov_diff, c.cov_loglift)
    return out


def _truth_of(c: ChannelTruth, metric: str) -> tuple[float, float]:
    """The channel's (μ, τ) on ``metric``, log-lift scale."""  # its mean lift: e^(μ + τ²/2) − 1
    return (
        (c.mu_engagement, c.tau_engagement) if metric == ENGAGEMENT_METRIC else (c.mu_outcome, c.tau_outcome)
    )


def _group_rows(g, programme, c: ChannelTruth, rep: int) -> list[dict]:
    mu, tau = _truth_of(c, g.metric)
    recs = [r for r in programme.records if r.channel == g.channel and r.metric == g.metric]
    se = float(np.median([r.loglift_sd for r in recs]))
    base = {"rep": rep, "group": f"{g.channel}/{g.metric}"}
    rows = [
        {
            **base,
            "kind": "mu",
            "truth": math.expm1(mu + tau**2 / 2),  # ChannelMetric.mu: the mean lift across tests
            "lo": g.mu.lower,
            "hi": g.mu.upper,
            "p": g.prob_positive,
        },
        {**base, "kind": "tau", "truth": tau, "lo": g.tau.lower, "hi": g.tau.upper, "ratio": tau / se},
    ]
    true_sum = 0.0
    for rec, e in zip(recs, g.effects, strict=True):
        true = math.expm1(programme.truth[(rec.spec_hash, rec.arm, rec.metric)].loglift)
        rows.append({**base, "kind": "effect", "truth": true, "lo": e.shrunken.lower, "hi": e.shrunken.upper})
        true_sum += true * e.launched
    if g.impact is not None:
        imp = g.impact
        rows.append(
            {**base, "kind": "impact", "truth": true_sum, "naive": imp.naive, "shrunk": imp.shrunken.mean,
             "lo": imp.shrunken.lower, "hi": imp.shrunken.upper, "launched": imp.launched}
        )  # fmt: skip
    return rows


def fit_programme(rep: int, seed: int, sampler: Sampler) -> list[dict]:
    """Simulate programme ``rep``, pool it, and judge every interval against the truth."""
    programme = simulate_programme(WORLD, seed=seed + rep, n_per_arm=N_PER_ARM)
    learned = learn(
        studies_of(programme.records), seed=seed + rep, sampler=sampler, covariances=covariance_map(programme)
    )
    truths = {c.channel: c for c in WORLD}
    rows = [r for g in learned.groups for r in _group_rows(g, programme, truths[g.channel], rep)]
    for link in learned.links:
        rows.append(
            {"rep": rep, "group": f"{link.channel}/link", "kind": "slope",
             "truth": truths[link.channel].slope, "lo": link.slope.lower, "hi": link.slope.upper,
             "p": link.prob_slope_positive}
        )  # fmt: skip
    gate = not learned.diagnostics.problems
    rows.append({"rep": rep, "group": "all", "kind": "gate", "truth": float(gate), "lo": 0.0, "hi": 1.0})
    return rows


def run_programmes(n: int, seed: int, sampler: Sampler, label: str) -> pd.DataFrame:
    start, rows = time.perf_counter(), []
    for rep in range(n):
        rows += fit_programme(rep, seed, sampler)
        if (rep + 1) % 10 == 0 or rep + 1 == n:
            print(
                f"  {label}: {rep + 1}/{n} programmes, {time.perf_counter() - start:.0f} s", file=sys.stderr
            )
    frame = pd.DataFrame(rows)
    frame["covered"] = (frame["lo"] <= frame["truth"]) & (frame["truth"] <= frame["hi"])
    return frame


def binom(k: float, n: int) -> tuple[float, float]:
    p = k / n if n else math.nan
    return p, math.sqrt(p * (1 - p) / n) if n else math.nan


def covers(p: float, se: float) -> bool:
    return p + 2 * se >= COVERAGE_TARGET[0] and p - 2 * se <= COVERAGE_TARGET[1]


def coverage_table(frame: pd.DataFrame, kinds: tuple[str, ...]) -> pd.DataFrame:
    rows = []
    for (kind, group), part in frame[frame["kind"].isin(kinds)].groupby(["kind", "group"], sort=False):
        p, se = binom(part["covered"].sum(), len(part))
        extra = f"τ/se {part['ratio'].median():.2f}" if kind == "tau" else ""
        flag = "" if kind == "tau" or covers(p, se) else "outside 92-96 %"
        rows.append(
            {"kind": kind, "group": group, "n": len(part), "coverage": p, "se": se, "note": extra or flag}
        )
    return pd.DataFrame(rows)


def pooled(frame: pd.DataFrame, kind: str) -> tuple[float, float, int, float]:
    """Coverage of ``kind`` over all groups: rate, binomial SE, count, SE clustered by programme."""
    part = frame[frame["kind"] == kind]
    p, se = binom(part["covered"].sum(), len(part))
    per = part.groupby("rep")["covered"].agg(["sum", "count"])
    resid = per["sum"] - p * per["count"]  # ratio estimator, clustered by programme
    cl = math.sqrt((resid**2).sum()) / per["count"].sum() if len(per) > 1 else math.nan
    return p, se, len(part), cl


def impact_table(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    part = frame[frame["kind"] == "impact"]
    rows = []
    for group, g in [*part.groupby("group"), ("real channels, meetings", _real(part))]:
        t = g["truth"].sum()
        dn, ds = g["naive"] - g["truth"], g["shrunk"] - g["truth"]
        rows.append(
            {"group": group, "programmes": len(g), "launched": int(g["launched"].sum()), "true sum": t,
             "naive bias": dn.sum() / t if t else math.nan, "naive se": _ratio_se(dn, t),
             "shrunken bias": ds.sum() / t if t else math.nan, "shrunken se": _ratio_se(ds, t),
             "shrunken cover": g["covered"].mean()}
        )  # fmt: skip
    table = pd.DataFrame(rows)
    return table, table.iloc[-1].to_dict()


def _ratio_se(d: pd.Series, total: float) -> float:
    """SE of Σd / total, the programmes independent (d one value per programme)."""
    return d.std(ddof=1) * math.sqrt(len(d)) / abs(total) if len(d) > 1 and total else math.nan


def _real(part: pd.DataFrame) -> pd.DataFrame:
    real = {f"{c.channel}/{OUTCOME_METRIC}" for c in WORLD if c.mu_outcome > 0}
    return part[part["group"].isin(real)]


def claims(frame: pd.DataFrame) -> list[tuple[str, float, float, int]]:
    out = []
    for kind, group, words in (
        ("mu", f"{NULL_CHANNEL}/{OUTCOME_METRIC}", f"'{NULL_CHANNEL} raised meetings' (mean lift 0)"),
        (
            "slope",
            f"{NULL_CHANNEL}/link",
            f"'{NULL_CHANNEL}: bigger views gains, bigger meetings gains' (β = 0)",
        ),
    ):
        part = frame[(frame["kind"] == kind) & (frame["group"] == group)]
        p, se = binom(int((part["p"] >= LEVEL).sum()), len(part))
        out.append((words, p, se, len(part)))
    return out


# --- 5. scaling --------------------------------------------------------------------------------


def build_registry(path: Path, records: int, seed: int) -> None:
    tests = max(1, records // 4)  # two channels, two records per test
    channels = [replace(c, tests=tests) for c in WORLD[:2]]
    programme = simulate_programme(channels, seed=seed, n_per_arm=N_PER_ARM)
    with open_registry(path, create=True) as registry:
        registry.add(programme.records, programme.covariances)


def peak_rss() -> int:
    """Peak resident memory of this process in bytes.

    VmHWM on Linux (unlike ru_maxrss, not inherited from the parent across fork and exec), else
    ru_maxrss.
    """
    try:
        text = Path("/proc/self/status").read_text()
        return int(next(line.split()[1] for line in text.splitlines() if line.startswith("VmHWM:"))) * 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def scale_child(path: str) -> None:
    """In a fresh process: learn from the registry; print seconds and peak RSS as JSON."""
    base = peak_rss()
    start = time.perf_counter()
    learned = learn_programme(path, seed=1)
    seconds = time.perf_counter() - start
    peak = peak_rss()
    gate = not learned.learned.diagnostics.problems
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak": peak,
                "base": base,
                "records": len(learned.programme.records),
                "gate": gate,
            }
        )
    )


def run_scale(sizes: tuple[int, ...], seed: int) -> pd.DataFrame:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, size in enumerate((sizes[0], *sizes)):  # the first is a warm-up (compile cache)
            path = Path(tmp) / f"r{i}.duckdb"
            build_registry(path, size, seed)
            out = subprocess.run(
                [sys.executable, __file__, "--scale-child", str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row["warm-up"] = i == 0
            rows.append(row)
            print(f"  scaling: {row['records']:,} records, {row['seconds']:.1f} s", file=sys.stderr)
    frame = pd.DataFrame(rows)
    ref = frame[~frame["warm-up"]].iloc[0]
    frame["time ratio"] = frame["seconds"] / ref["seconds"]
    frame["memory ratio"] = frame["peak"] / ref["peak"]
    return frame


# --- 6. learned priors --------------------------------------------------------------------------


def next_spec() -> Spec:
    return Spec.model_validate(
        {"name": "next", "unit": {"kind": "prospect", "id": "unit_id"}, "data": {"path": "x.csv"},
         "arm_column": "arm", "control": "control",
         "arms": {"control": {"channel": "control"}, "email": {"channel": "email"}},
         "metrics": [{"name": OUTCOME_METRIC, "type": "binary", "role": "outcome"}], "seed": 3}
    )  # fmt: skip


def _posterior_lift(refitter: Refitter, spec: Spec, cells, seed: int):
    post = refitter.fit(cells, seed=seed)
    return compute_effects(post["posterior"].to_dataset(), cells, spec, seed=seed).effects[0].lift


def prior_rows(past: int, new: int, seed: int, sampler: Sampler) -> pd.DataFrame:
    spec, rows = next_spec(), []
    metric, base = spec.metrics[0], Baseline(mean=NEW_RATE)
    tau = PAST.tau_outcome
    for p in range(past):
        programme = simulate_programme([PAST], seed=seed + 10_000 + p, n_per_arm=N_PER_ARM)
        learned = learn(
            studies_of(programme.records),
            seed=seed + p,
            sampler=sampler,
            covariances=covariance_map(programme),
        )
        g = next(g for g in learned.groups if g.metric == OUTCOME_METRIC)
        mean, sd = g.prediction_scale
        entries = {("email", OUTCOME_METRIC): {"scale": "loglift", "mean": mean, "sd": sd, "tests": g.tests}}
        probe = simulated_cells(spec, metric, base, 0.0, [NEW_N, NEW_N], seed + p)  # the control's level
        taught, _ = start_from(spec, probe, entries, path="learned", name="past")
        fits = {"default": (Refitter(probe, spec), spec), "learned": (Refitter(probe, taught), taught)}
        rng = np.random.default_rng(seed + 20_000 + p)
        for k in range(new):
            true = math.expm1(rng.normal(PAST.mu_outcome, tau))
            cells = simulated_cells(spec, metric, base, true, [NEW_N, NEW_N], int(rng.integers(2**31)))
            for which, (refitter, one) in fits.items():
                lift = _posterior_lift(refitter, one, cells, seed + k)
                rows.append(
                    {"past": p, "prior": which, "truth": true, "mean": lift.mean, "lo": lift.lower,
                     "hi": lift.upper, "pred_mean": mean, "pred_sd": sd}
                )  # fmt: skip
        print(f"  learned priors: {p + 1}/{past} past programmes", file=sys.stderr)
    frame = pd.DataFrame(rows)
    frame["covered"] = (frame["lo"] <= frame["truth"]) & (frame["truth"] <= frame["hi"])
    frame["sq"] = (frame["mean"] - frame["truth"]) ** 2
    return frame


def closed_form(mean: float, sd: float) -> tuple[float, float]:
    """Coverage and MSE (log lift) of a new test's posterior from the prior N(mean, sd), in closed form.

    The new test's likelihood taken as normal: its log lift measured with the sampling sd ``se`` of
    a test of :data:`NEW_N` units per arm at :data:`NEW_RATE`, its true log lift ~ N(μ, τ) of the
    channel's truth; the posterior mean w·y + (1 − w)·mean, w = sd² / (sd² + se²), misses the
    truth by N((1 − w)(μ − mean), (1 − w)² τ² + w² se²), its 94 % interval ± 1.881 √w se.
    """
    mu, tau = PAST.mu_outcome, PAST.tau_outcome
    p1 = NEW_RATE * math.exp(mu)
    se = math.sqrt((1 - p1) / (NEW_N * p1) + (1 - NEW_RATE) / (NEW_N * NEW_RATE))
    w = sd**2 / (sd**2 + se**2)
    bias, spread, half = (1 - w) * (mu - mean), math.hypot((1 - w) * tau, w * se), 1.881 * math.sqrt(w) * se
    cover = norm.cdf((half - bias) / spread) - norm.cdf((-half - bias) / spread)
    return float(cover), bias**2 + spread**2


def quadrature_prediction(programme) -> tuple[float, float]:
    """The programme model's prediction for the next test of meetings, without MCMC.

    The model of :mod:`channelab.analysis.learning.hierarchy` with its default priors (μ normal,
    τ log-normal), μ integrated analytically and log τ on a fine grid (±6 prior sds): the mean and
    sd of the predictive distribution, as ``ChannelMetric.prediction_scale`` estimates them from
    draws.
    """
    priors = ProgrammePriors()
    recs = [r for r in programme.records if r.metric == OUTCOME_METRIC]
    y, s = (np.array([getattr(r, f) for r in recs]) for f in ("loglift_mean", "loglift_sd"))
    centre, width = math.log(priors.tau_median), priors.tau_log_sd
    log_tau = np.linspace(centre - 6 * width, centre + 6 * width, 4000)
    tau = np.exp(log_tau)
    v = s[None, :] ** 2 + tau[:, None] ** 2
    precision = (1 / v).sum(axis=1) + 1 / priors.mu_sd**2
    m = (y / v).sum(axis=1) / precision
    log_post = -0.5 * (np.log(v).sum(axis=1) + (y**2 / v).sum(axis=1) - m**2 * precision + np.log(precision))
    log_post -= (log_tau - centre) ** 2 / (2 * width**2)  # the prior's density on the log τ grid
    w = np.exp(log_post - log_post.max())
    w /= w.sum()
    mean = float(w @ m)
    return mean, math.sqrt(float(w @ (1 / precision + tau**2 + m**2)) - mean**2)


def prior_closed_rows(past: int, exact: int, seed: int, sampler: Sampler) -> pd.DataFrame:
    """Per past programme, the learned prior's coverage and MSE in closed form.

    The first ``past`` programmes are learned by ``learn`` (MCMC) and by quadrature, the next up
    to ``exact`` by quadrature alone.
    """
    rows = []
    for p in range(max(past, exact)):
        programme = simulate_programme([PAST], seed=seed + 30_000 + p, n_per_arm=N_PER_ARM)
        row = {"past": p, "how": "quadrature"}
        row["pred_mean"], row["pred_sd"] = quadrature_prediction(programme)
        row["coverage"], row["MSE"] = closed_form(row["pred_mean"], row["pred_sd"])
        rows.append(row)
        if p < past:
            studies = studies_of(programme.records)
            learned = learn(studies, seed=seed + p, sampler=sampler, covariances=covariance_map(programme))
            mean, sd = next(g for g in learned.groups if g.metric == OUTCOME_METRIC).prediction_scale
            rows.append({"past": p, "how": "learn", "pred_mean": mean, "pred_sd": sd})
            rows[-1]["coverage"], rows[-1]["MSE"] = closed_form(mean, sd)
    return pd.DataFrame(rows)


def prior_table(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    rows = []
    for which, g in frame.groupby("prior"):
        p, se = binom(g["covered"].sum(), len(g))
        rows.append(
            {"prior": which, "tests": len(g), "MSE": g["sq"].mean(),
             "MSE se": g["sq"].std(ddof=1) / math.sqrt(len(g)),
             "coverage": p, "cov se": se, "mean width": (g["hi"] - g["lo"]).mean()}
        )  # fmt: skip
    d = (
        frame[frame["prior"] == "learned"]["sq"].to_numpy()
        - frame[frame["prior"] == "default"]["sq"].to_numpy()
    )
    by_past = frame[frame["prior"] == "learned"].groupby("past")["covered"].mean()
    clustered = by_past.std(ddof=1) / math.sqrt(len(by_past)) if len(by_past) > 1 else math.nan
    return pd.DataFrame(rows), {
        "diff": d.mean(),
        "diff se": d.std(ddof=1) / math.sqrt(len(d)),
        "cov clustered": clustered,
    }


# --- printing ----------------------------------------------------------------------------------


def save(frame: pd.DataFrame, folder: Path | None, name: str) -> None:
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        frame.to_csv(folder / name, index=False)


def mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_check(fast: pd.DataFrame, full: pd.DataFrame, k: int, sampler: Sampler) -> None:
    print(f"\nSampler check: the first {k} programmes, {sampler.chains} × {sampler.draws} against 4 × 1,000")
    for kind in ("mu", "tau", "effect", "slope", "impact"):
        a, b = pooled(fast[fast["rep"] < k], kind), pooled(full, kind)
        print(f"  {kind:<7} {a[0]:.3f} ± {a[1]:.3f}   vs   {b[0]:.3f} ± {b[1]:.3f}   (n = {a[2]})")


def report_programmes(frame: pd.DataFrame, n: int) -> list[tuple[str, bool, str]]:
    lines = []
    print(f"\n1/3. Coverage of the 94 % intervals over {n} programmes (per group; ± binomial SE)")
    print(coverage_table(frame, ("mu", "effect", "slope", "tau")).to_string(index=False, float_format="%.3f"))
    for kind, what in (("mu", "μ"), ("effect", "each test's true effect"), ("slope", "the link's slope")):
        p, se, k, cl = pooled(frame, kind)
        text = f"{p:.3f} ± {se:.3f} (n = {k}; SE clustered by programme {cl:.3f})"
        print(f"  pooled {what}: {text}")
        lines.append((f"coverage of {what} 92-96 %", covers(p, max(se, cl)), text))
    gate = frame[frame["kind"] == "gate"]["truth"].mean()
    print(f"  convergence gate passed: {gate:.3f} of programmes (after refits)")
    table, real = impact_table(frame)
    print("\n2. Winner's curse: launched winners' summed lift, bias as a share of the true sum (± SE)")
    print(table.to_string(index=False, float_format="%.3f"))
    text = (
        f"shrunken {real['shrunken bias']:+.3f} ± {real['shrunken se']:.3f}, naive {real['naive bias']:+.3f}"
    )
    lines.append(
        ("|bias| of the shrunken launched impact ≤ 5 %", abs(real["shrunken bias"]) <= IMPACT_BIAS_MAX, text)
    )
    print(f"\n4. False directional claims at the claim level {LEVEL:.3f} (target ≤ {1 - LEVEL:.3f})")
    for words, p, se, k in claims(frame):
        print(f"  {words}: {p:.3f} ± {se:.3f} of {k} programmes")
        lines.append((f"false rate {words}", p - 2 * se <= 1 - LEVEL, f"{p:.3f} ± {se:.3f}"))
    return lines


def report_scale(frame: pd.DataFrame) -> list[tuple[str, bool, str]]:
    print("\n5. Scaling of learn_programme (house sampler 4 × 1,000; one subprocess per size)")
    shown = frame.assign(MB=frame["peak"] / 1e6, base_MB=frame["base"] / 1e6)
    cols = ["records", "warm-up", "seconds", "time ratio", "MB", "base_MB", "memory ratio", "gate"]
    print(shown[cols].to_string(index=False, float_format="%.2f"))
    big = frame[~frame["warm-up"]].iloc[-1]
    ok = big["seconds"] < SCALE_SECONDS_MAX and big["peak"] < SCALE_BYTES_MAX
    text = f"{int(big['records']):,} records: {big['seconds']:.1f} s, {big['peak'] / 1e6:.0f} MB"
    return [("learn on 10,000 records < 60 s within 2 GB", ok, text)]


def report_priors(frame: pd.DataFrame, closed: pd.DataFrame, new: int) -> list[tuple[str, bool, str]]:
    table, diff = prior_table(frame)
    past = frame["past"].nunique()
    print(f"\n6. Learned priors: {past} past programmes × {new} new tests, each analysed twice")
    print(table.to_string(index=False, float_format="%.4f"))
    preds = frame.groupby("past")[["pred_mean", "pred_sd"]].first()
    print(f"  predictions (log lift; truth mean {PAST.mu_outcome:.3f}, sd {PAST.tau_outcome:.3f}):")
    print("  " + ", ".join(f"{m:+.3f} ± {s:.3f}" for m, s in preds.to_numpy()))
    print(f"  MSE learned − default: {diff['diff']:+.5f} ± {diff['diff se']:.5f} (paired)")
    learned = table.set_index("prior").loc["learned"]
    print(f"  learned coverage, SE clustered by past programme: ± {diff['cov clustered']:.3f}")
    print("  closed form (normal likelihood of each new test), learned prior from more past programmes:")
    learned_on = closed.loc[closed["how"] == "learn", "past"]
    parts = [
        ("learn (MCMC)", closed[closed["how"] == "learn"]),
        (
            "quadrature, the same programmes",
            closed[(closed["how"] == "quadrature") & closed["past"].isin(learned_on)],
        ),
        ("quadrature", closed[closed["how"] == "quadrature"]),
    ]
    for how, g in parts:
        if g.empty:
            continue
        cover, cover_se = g["coverage"].mean(), g["coverage"].std(ddof=1) / math.sqrt(len(g))
        print(
            f"    {how}, {len(g)}: coverage {cover:.3f} ± {cover_se:.3f}, MSE (log lift) "
            f"{g['MSE'].mean():.4f} (flat prior {closed_form(0.0, 1e3)[1]:.4f}); prediction sd "
            f"{g['pred_sd'].mean():.3f} (truth τ {PAST.tau_outcome:.3f}), below 0.08 in "
            f"{(g['pred_sd'] < 0.08).mean():.2f}"
        )  # the last (quadrature over the most programmes) is the one judged
    ok_mse = diff["diff"] + 2 * diff["diff se"] < 0
    text = f"MSE {diff['diff']:+.5f} ± {diff['diff se']:.5f} (default {table['MSE'].iloc[0]:.4f})"
    same = f"fits {learned['coverage']:.3f} ± {diff['cov clustered']:.3f}; "
    same += f"closed form {cover:.3f} ± {cover_se:.3f}"
    return [
        ("learned prior: lower MSE than the default", ok_mse, text),
        ("learned prior: coverage 92-96 % (closed form)", covers(cover, cover_se), same),
    ]


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programmes", type=int, default=200)
    parser.add_argument("--check", type=int, default=40, help="programmes refitted with 4 × 1,000")
    parser.add_argument("--past", type=int, default=12)
    parser.add_argument("--new", type=int, default=60)
    parser.add_argument("--closed", type=int, default=200, help="past programmes learned for the closed form")
    parser.add_argument("--exact", type=int, default=4000, help="past programmes by quadrature (closed form)")
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20_261_207)
    parser.add_argument("--sections", default="1,5,6", help="1 (sections 1-4), 5, 6")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, help="write every judged interval as CSV to this folder")
    parser.add_argument("--scale-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.programmes, args.check, args.past, args.new, args.closed, args.exact = 40, 10, 2, 40, 40, 1000
    return args


def main() -> None:
    args = parse()
    if args.scale_child:
        return scale_child(args.scale_child)
    sections, start, lines = set(args.sections.split(",")), time.perf_counter(), []
    sampler = Sampler(draws=args.draws, tune=args.draws, chains=args.chains)
    print(
        f"channelab learn benchmark: seed {args.seed}, sampler {args.chains} × {args.draws}, "
        f"claim level {LEVEL:.3f}"
    )
    if "1" in sections:
        frame = run_programmes(args.programmes, args.seed, sampler, "programmes")
        save(frame, args.out, "programmes.csv")
        lines += report_programmes(frame, args.programmes)
        if args.check:
            print_check(frame, run_programmes(args.check, args.seed, Sampler(), "check"), args.check, sampler)
    if "5" in sections:
        lines += report_scale(run_scale((100, 1000, 10_000), args.seed))
    if "6" in sections:
        priors = prior_rows(args.past, args.new, args.seed, sampler)
        closed = prior_closed_rows(args.closed, args.exact, args.seed, sampler)
        save(priors, args.out, "priors.csv")
        save(closed, args.out, "priors_closed_form.csv")
        lines += report_priors(priors, closed, args.new)
    print(f"\nSummary ({time.perf_counter() - start:.0f} s)")
    for what, ok, text in lines:
        print(f"  {mark(ok)}  {what}: {text}")


if __name__ == "__main__":
    main()
