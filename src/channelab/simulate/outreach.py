"""Realistic B2B outreach cohorts under a :class:`Scenario`, with rep and week noise, and their truth."""

from __future__ import annotations

import difflib
import hashlib
import io
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, logit

from channelab.analysis.decisions import arm_verdict, guardrail_verdict, interval_verdict
from channelab.analysis.results import ArmVerdict, MetricVerdict
from channelab.analysis.wording import pct
from channelab.errors import ChannelabError
from channelab.files import commit, json_bytes
from channelab.provenance import stamp
from channelab.simulate.ab import SimMetric, draw_metric
from channelab.simulate.common import unit_ids
from channelab.simulate.guardrails import Unsubscribes
from channelab.simulate.scenarios import (
    ACCOUNT_COLUMNS,
    ACCOUNT_SIZES,
    BASE_METRICS,
    DEFAULT_N_PROSPECTS,
    OUTREACH_METRICS,
    PRE_PERIOD_COLUMNS,
    REP_WORKLOAD_SHAPE,
    SCENARIOS,
    SEGMENTS,
    WEEKS,
    PrePeriod,
    Randomisation,
    Scenario,
)
from channelab.simulate.timing import Arrival, entry_dates, iso, outcome_dates
from channelab.spec import Channel, DataSource, Metric, Role, Spec, parse_spec

_LEVEL_PART = {m: "engagement" for m, r in OUTREACH_METRICS.items() if r == "engagement"} | {
    "meetings": "meetings",
    "revenue": "deal",
}
#: ROPE used to read verdicts off a truth: the spec's default.
_TRUTH_ROPE = Metric(name="m", role="outcome", type="count").rope_interval


@dataclass(frozen=True)
class OutreachTruth:
    """What :func:`simulate_outreach` put into the data.

    The mean of a metric under arm a is the average, over every simulated prospect (with its
    own segments, rep and week), of the metric's expected value with the arm set to a; the
    lift of a treatment is its mean over the control's, minus 1. This is the g-computation
    estimand channelab reports. ``segment_lifts`` applies the same definition within each
    level of a column that has a segment-specific arm effect. ``verdicts`` are the arm
    verdicts this truth implies under the default ROPE of ±5 % (what an experiment large
    enough to leave no doubt would conclude; a real one may read ``inconclusive``).

    :meth:`to_dict` gives the stable layout of a truth file::

        scenario, description, seed, n, randomised_by, control   scalars
        arms            {label: channel}, control first
        metrics         {metric: role}, funnel order
        means           {arm: {metric: true mean per prospect}}
        lifts           {treatment: {metric: relative lift}}, 0.2 = +20 %
        segment_lifts   {column: {level: {treatment: {metric: relative lift}}}}
        verdicts        {treatment: arm verdict}
        explained       {pre-period column: {metric: R²}}, with a history only (PrePeriod):
                        the R² of a least-squares line on the column, among control prospects
        parameters      the generating parameters (Scenario.to_dict)
        provenance      {"channelab": version, "numpy": version}

    :func:`write_simulation` adds ``data``: the data file's name, format, rows and SHA-256.
    """

    scenario: str
    description: str
    seed: int
    n: int
    arms: dict[str, Channel]
    control: str
    randomised_by: Randomisation
    means: dict[str, dict[str, float]]
    lifts: dict[str, dict[str, float]]
    segment_lifts: dict[str, dict[str, dict[str, dict[str, float]]]]
    verdicts: dict[str, ArmVerdict]
    explained: dict[str, dict[str, float]] = field(default_factory=dict)
    parameters: dict[str, Any] = field(repr=False, default_factory=dict)
    provenance: dict[str, str] = field(repr=False, default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The truth as JSON-ready data, in the layout documented on the class."""
        return {
            "scenario": self.scenario,
            "description": self.description,
            "seed": self.seed,
            "n": self.n,
            "randomised_by": self.randomised_by,
            "control": self.control,
            "arms": self.arms,
            "metrics": dict(OUTREACH_METRICS) | ({"unsubscribes": "guardrail"} if self._guarded else {}),
            "means": self.means,
            "lifts": self.lifts,
            "segment_lifts": self.segment_lifts,
            "verdicts": self.verdicts,
            **({"explained": self.explained} if self.explained else {}),
            "parameters": self.parameters,
            "provenance": self.provenance,
        }

    @property
    def _guarded(self) -> bool:
        return any("unsubscribes" in by_metric for by_metric in self.means.values())

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON."""
        return json_bytes(self.to_dict()).decode()

    def verdict(self, arm: str, metrics: Collection[str] | None = None) -> ArmVerdict:
        """The verdict on ``arm`` that this truth implies, read over ``metrics`` only (default all)."""
        return _true_verdict({k: v for k, v in self.lifts[arm].items() if metrics is None or k in metrics})

    def summary(self, metric: str = "meetings") -> str:
        """One line: the true lift of every treatment on ``metric``."""
        lifts = ", ".join(f"{arm} {pct(by[metric], sign=True)}" for arm, by in self.lifts.items())
        return f"{self.scenario}: true lift in {metric.replace('_', ' ')}: {lifts}"


def simulate_outreach(
    scenario: str | Scenario,
    *,
    n_prospects: int = DEFAULT_N_PROSPECTS,
    seed: int,
    arrival: Arrival | None = None,
    unsubscribes: Unsubscribes | None = None,
) -> tuple[pd.DataFrame, OutreachTruth]:
    """Simulate a B2B outreach experiment; return its rows and its truth.

    Prospects come in accounts of 1 to 8 (:data:`ACCOUNT_SIZES`) that share industry, company
    size and region; each account belongs to one rep; each prospect has a seniority and a
    week of first touch. Every metric is drawn from its :class:`SimMetric` with link-scale
    predictor intercept + segment main effects (:data:`SEGMENTS`) + rep effect + week effect
    (engagement metrics) + arm effect (+ segment-specific arm effect). Arms are assigned by
    complete randomisation in equal shares: of the prospects, or of the reps when the
    scenario is randomised by rep; when the count does not divide evenly, the first arms in
    order get one more.

    Parameters
    ----------
    scenario
        A name in :data:`SCENARIOS` or a :class:`Scenario`.
    n_prospects
        Number of prospects (rows).
    seed
        Seed of ``numpy.random.default_rng``, the only source of randomness.
    arrival
        Put the test in time (:class:`~channelab.simulate.timing.Arrival`): weeks of entry run
        over ``arrival.weeks``, each prospect gets an ``entered_at`` date, and each prospect with
        meetings a ``meetings_at`` date (their booking, delayed by the arm's channel, within
        ``arrival.max_days`` of entry). Dates are ISO text, blank without a meeting.
    unsubscribes
        Add a guardrail (:class:`~channelab.simulate.guardrails.Unsubscribes`): an
        ``unsubscribes`` column (0/1 opt-outs, by channel), with its true means and lifts in
        the truth (role ``guardrail``); drawn from its own stream.

    Returns
    -------
    rows : pandas.DataFrame
        One row per prospect: ``prospect_id``, ``account_id``, ``rep_id``, ``industry``,
        ``company_size``, ``region``, ``seniority``, ``week``, ``arm``, then the metrics of
        :data:`OUTREACH_METRICS` (``revenue`` in dollars to the cent, 0 without a deal).
    truth : OutreachTruth
        True means, lifts and verdicts.

    Raises
    ------
    ChannelabError
        If the scenario is unknown or ``n_prospects`` is smaller than the number of arms.
    """
    sc = _resolve(scenario)
    if n_prospects < len(sc.arms):
        raise ChannelabError(
            f"n_prospects: got {n_prospects}, but expected at least one prospect per arm ({len(sc.arms)})"
        )
    rng = np.random.default_rng(seed)
    weeks = arrival.weeks if arrival is not None else WEEKS
    pop = _population(n_prospects, sc.n_reps, rng, weeks)
    by_rep = sc.randomised_by == "rep"
    arm_of_unit = rng.permutation(np.arange(sc.n_reps if by_rep else n_prospects) % len(sc.arms))
    arm = arm_of_unit[pop.rep] if by_rep else arm_of_unit
    eta, amount_eta = _predictors(sc, pop, rng, weeks)
    # a history draws from its own stream, so that scenarios without one keep their draws
    history_rng = np.random.default_rng([seed, 1])
    h = sc.pre_period
    propensity = history_rng.normal(0.0, h.propensity_sd, size=n_prospects) if h else np.zeros(n_prospects)
    if h is not None:
        loading = {"engagement": h.engagement_loading, "outcome": 1.0, "revenue": h.deal_loading}
        for name, role in OUTREACH_METRICS.items():
            eta[name] = eta[name] + loading[role] * propensity
    columns: dict[str, Any] = {
        "prospect_id": unit_ids("P", n_prospects),
        "account_id": _labels(unit_ids("A", int(pop.account[-1]) + 1), pop.account),
        "rep_id": _labels(unit_ids("R", sc.n_reps), pop.rep),
        **{c: _labels(list(SEGMENTS[c]), codes) for c, codes in pop.segments.items()},
        "week": pop.week,
        **dict.fromkeys(PRE_PERIOD_COLUMNS if sc.pre_period else ()),  # filled below, before the arm
        "arm": _labels(sc.labels, arm),
    }
    # expected value of every metric for every prospect under every arm: (metric, arm, prospect)
    expected = np.empty((len(OUTREACH_METRICS), len(sc.arms), n_prospects))
    for j, name in enumerate(OUTREACH_METRICS):
        m = sc.metrics[name]
        shift = eta[name] + _per_arm(m.effects, sc.labels)
        for s in sc.segment_lifts:
            if s.metric == name:
                in_level = pop.segments[s.column] == list(SEGMENTS[s.column]).index(s.level)
                shift[sc.labels.index(s.arm)] += s.effect * in_level
        amount_shift = amount_eta + _per_arm(m.amount_effects, sc.labels)
        columns[name], expected[j] = draw_metric(
            m, _calibrated(m, shift), amount_shift, arm, np.arange(n_prospects), rng
        )
    if arrival is not None:  # its own stream, so that the other columns keep their draws
        timing_rng = np.random.default_rng([seed, 2])
        entered = entry_dates(pop.week, arrival, timing_rng)
        channels = np.asarray([dict(sc.arms)[label] for label in sc.labels])[arm]
        met = outcome_dates(entered, columns["meetings"] > 0, channels, arrival, timing_rng)
        columns = _after(columns, "week", "entered_at", iso(entered).to_numpy())
        columns = _after(columns, "meetings", "meetings_at", iso(met).to_numpy())
    lifts = _lifts(expected, sc.labels)
    means = _by_arm(expected.mean(axis=2), sc.labels)
    if unsubscribes is not None:  # its own stream, so that the other columns keep their draws
        channel_of = dict(sc.arms)
        columns["unsubscribes"], _ = unsubscribes.draw(
            np.asarray([channel_of[label] for label in sc.labels])[arm], np.random.default_rng([seed, 3])
        )
        base = unsubscribes.probability(channel_of[sc.control])
        for label in sc.labels:
            means[label]["unsubscribes"] = unsubscribes.probability(channel_of[label])
            if label != sc.control:
                lifts[label]["unsubscribes"] = means[label]["unsubscribes"] / base - 1
    explained: dict[str, dict[str, float]] = {}
    if h is not None:
        meetings = expected[list(OUTREACH_METRICS).index("meetings"), 0]
        history = _history(h, propensity, meetings, history_rng)
        columns.update(history)
        control = arm == 0
        explained = {
            c: {k: _r_squared(x[control], columns[k][control]) for k in OUTREACH_METRICS}
            for c, x in history.items()
        }
    segment_lifts = {
        s.column: {
            level: _lifts(expected[..., pop.segments[s.column] == i], sc.labels)
            for i, level in enumerate(SEGMENTS[s.column])
            if np.any(pop.segments[s.column] == i)
        }
        for s in sc.segment_lifts
    }
    truth = OutreachTruth(
        scenario=sc.name,
        description=sc.description,
        seed=seed,
        n=n_prospects,
        arms=dict(sc.arms),
        control=sc.control,
        randomised_by=sc.randomised_by,
        means=means,
        lifts=lifts,
        segment_lifts=segment_lifts,
        verdicts={a: _true_verdict(by_metric) for a, by_metric in lifts.items()},
        explained=explained,
        parameters=sc.to_dict()
        | ({"arrival": arrival.to_dict()} if arrival is not None else {})
        | ({"unsubscribes": unsubscribes.to_dict()} if unsubscribes is not None else {}),
        provenance=stamp(seed=seed, timed=False).as_dict(),
    )
    return pd.DataFrame(columns), truth


def outreach_spec(
    scenario: str | Scenario,
    *,
    metrics: Sequence[str] = tuple(OUTREACH_METRICS),
    covariates: Sequence[str] = ("company_size",),
    cluster: bool | None = None,
    lift_by: str | None = None,
    adjust: Sequence[str] = (),
    sampler: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> Spec:
    """An experiment spec that analyses :func:`simulate_outreach` rows of ``scenario``.

    The arms are the scenario's, in equal planned shares; ``metrics`` (names from
    :data:`OUTREACH_METRICS`) keep their roles and types. ``cluster`` adds the rep random
    intercept (``unit.randomised_by: rep_id``); by default it follows the scenario's
    randomisation. ``adjust`` names pre-period columns (:data:`PRE_PERIOD_COLUMNS`, for a
    scenario with a history). The data path is a placeholder: pair the spec with a frame source.
    """
    sc = _resolve(scenario)
    if unknown := sorted(set(metrics) - set(OUTREACH_METRICS)):
        raise ChannelabError(f"metrics: got {unknown}, but expected some of {list(OUTREACH_METRICS)}")
    by_rep = sc.randomised_by == "rep" if cluster is None else cluster
    raw: dict[str, Any] = {
        "name": f"{sc.name}_simulated",
        "unit": {"kind": "prospect", "id": "prospect_id", "randomised_by": "rep_id" if by_rep else None},
        "data": {"path": f"{sc.name}.csv"},
        "arm_column": "arm",
        "control": sc.control,
        "arms": {label: {"channel": channel} for label, channel in sc.arms},
        "metrics": [
            {"name": name, "role": OUTREACH_METRICS[name], "type": BASE_METRICS[name].type}
            for name in OUTREACH_METRICS
            if name in metrics
        ],
        "covariates": list(covariates),
        "adjust": list(adjust),
        "seed": seed,
        "sampler": dict(sampler or {}),
        "model": {"lift_by": lift_by},
    }
    return parse_spec(raw)


class SimulationFiles(NamedTuple):
    """What :func:`write_simulation` wrote: the data file, the truth file, and the truth."""

    data: Path
    truth_path: Path
    truth: OutreachTruth


def write_simulation(
    scenario: str | Scenario,
    path: str | Path,
    *,
    n_prospects: int = DEFAULT_N_PROSPECTS,
    seed: int,
    format: Literal["csv", "parquet"] | None = None,
    arrival: Arrival | None = None,
    unsubscribes: Unsubscribes | None = None,
) -> SimulationFiles:
    """Simulate with :func:`simulate_outreach` and write the rows and the truth.

    The rows go to ``path`` (CSV, or Parquet for a ``.parquet``/``.pq`` suffix unless
    ``format`` says otherwise) and the truth, with the data file's SHA-256 under ``data``, to
    ``<stem>.truth.json`` beside it. Both are committed together (:func:`channelab.files.commit`)
    and overwrite earlier files of those names. The same arguments give byte-identical files.

    Returns
    -------
    SimulationFiles
        The two paths and the :class:`OutreachTruth`.
    """
    path = Path(path)
    fmt = DataSource(path=path, format=format).resolved_format
    rows, truth = simulate_outreach(
        scenario, n_prospects=n_prospects, seed=seed, arrival=arrival, unsubscribes=unsubscribes
    )
    if fmt == "parquet":
        buffer = io.BytesIO()
        rows.to_parquet(buffer, index=False)
        payload = buffer.getvalue()
    else:
        payload = rows.to_csv(index=False, lineterminator="\n").encode()
    data = {
        "file": path.name,
        "format": fmt,
        "rows": len(rows),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    truth_path = path.with_name(f"{path.stem}.truth.json")
    commit({path: payload, truth_path: json_bytes(truth.to_dict() | {"data": data})})
    return SimulationFiles(path, truth_path, truth)


def _resolve(scenario: str | Scenario) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    if scenario in SCENARIOS:
        return SCENARIOS[scenario]
    close = difflib.get_close_matches(scenario, list(SCENARIOS), n=1)
    raise ChannelabError(
        f"scenario: got {scenario!r}, but expected one of {', '.join(SCENARIOS)}"
        + (f"; did you mean {close[0]!r}?" if close else ".")
    )


@dataclass(frozen=True)
class _Population:
    """Who is in the cohort, as integer codes per prospect."""

    account: np.ndarray
    rep: np.ndarray
    segments: dict[str, np.ndarray]  # level index into SEGMENTS[column]
    week: np.ndarray  # 1 .. weeks (WEEKS unless the test is put in time)


def _after(columns: dict[str, Any], key: str, name: str, values: Any) -> dict[str, Any]:
    """``columns`` with ``name`` inserted right after ``key``."""
    out: dict[str, Any] = {}
    for k, v in columns.items():
        out[k] = v
        if k == key:
            out[name] = values
    return out


def _population(n: int, n_reps: int, rng: np.random.Generator, weeks: int = WEEKS) -> _Population:
    sizes = rng.choice(len(ACCOUNT_SIZES), size=n, p=ACCOUNT_SIZES) + 1
    n_accounts = int(np.searchsorted(np.cumsum(sizes), n)) + 1
    sizes = sizes[:n_accounts]
    sizes[-1] -= sizes.sum() - n  # the last account is cut to fit n prospects
    account = np.repeat(np.arange(n_accounts), sizes)
    workload = rng.gamma(REP_WORKLOAD_SHAPE, size=n_reps)
    rep = rng.choice(n_reps, size=n_accounts, p=workload / workload.sum())[account]
    segments = {}
    for column, levels in SEGMENTS.items():
        shares = np.array([lv.share for lv in levels.values()])
        on_account = column in ACCOUNT_COLUMNS
        codes = rng.choice(len(levels), size=n_accounts if on_account else n, p=shares / shares.sum())
        segments[column] = codes[account] if on_account else codes
    return _Population(account, rep, segments, rng.integers(1, weeks + 1, size=n))


def _predictors(
    sc: Scenario, pop: _Population, rng: np.random.Generator, weeks: int = WEEKS
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Link-scale predictor of every metric under control before calibration, and of amounts."""
    rep_effects = rng.normal(0.0, sc.rep_sd, size=(len(OUTREACH_METRICS), sc.n_reps))
    week_effects = rng.normal(0.0, sc.week_sd, size=(len(OUTREACH_METRICS), weeks))
    eta = {}
    for j, (name, role) in enumerate(OUTREACH_METRICS.items()):
        eta[name] = _segment_effects(pop, _LEVEL_PART[name]) + rep_effects[j, pop.rep]
        if role == "engagement":
            eta[name] += week_effects[j, pop.week - 1]
    # centred over deals (P(deal) ∝ exp(logit) for rare deals): the median deal is about `amount`
    amount = _segment_effects(pop, "amount")
    return eta, amount - np.average(amount, weights=np.exp(eta["revenue"]))


def _history(
    h: PrePeriod, propensity: np.ndarray, meetings_control: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The pre-period columns of :class:`PrePeriod`, given each prospect's propensity and meetings."""
    noise = rng.normal(0.0, h.engagement_noise, size=propensity.size)
    return {
        "prior_meetings": rng.poisson(h.periods * meetings_control),
        "prior_engagement": np.round(h.periods * 10 * np.exp(h.engagement_loading * propensity + noise), 2),
    }


def _r_squared(x: np.ndarray, y: np.ndarray) -> float:
    """R² of the least-squares line of ``y`` on ``x``."""
    r = np.corrcoef(x, y)[0, 1]
    return float(r * r) if np.isfinite(r) else 0.0


def _segment_effects(pop: _Population, part: str) -> np.ndarray:
    """Sum over segment columns of each prospect's level effect ``part`` (a field of Level)."""
    total = np.zeros(pop.week.size)
    for column, levels in SEGMENTS.items():
        total += np.array([getattr(lv, part) for lv in levels.values()])[pop.segments[column]]
    return total


def _per_arm(effects: Mapping[str, float], labels: tuple[str, ...]) -> np.ndarray:
    """Arm effects as a column, one row per arm (0 for arms without one)."""
    return np.array([effects.get(a, 0.0) for a in labels])[:, None]


def _calibrated(m: SimMetric, shift: np.ndarray) -> np.ndarray:
    """``shift`` (arm × prospect) moved so the population mean under control is ``m.base``."""
    control = shift[0]
    if m.type == "count":
        return shift - np.log(np.mean(np.exp(control)))
    if m.type == "revenue":
        gap = brentq(lambda c: float(np.mean(expit(logit(m.base) + control + c))) - m.base, -30.0, 30.0)
        return shift + gap
    raise ValueError(f"outreach metrics are counts or revenue, got {m.type!r}")


def _labels(
    values: Sequence[str] | pd.api.extensions.ExtensionArray, codes: np.ndarray
) -> pd.api.extensions.ExtensionArray:
    """String column of ``values[codes]`` (pandas' string dtype, built without Python loops)."""
    return pd.Series(values, dtype="str").array.take(codes)


def _by_arm(table: np.ndarray, labels: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """(metric, arm) array as ``{arm: {metric: value}}``."""
    return {
        a: {k: float(v) for k, v in zip(OUTREACH_METRICS, table[:, i], strict=True)}
        for i, a in enumerate(labels)
    }


def _lifts(expected: np.ndarray, labels: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Relative lifts ``{treatment: {metric: lift}}`` from expected values (metric, arm, prospect)."""
    means = expected.mean(axis=2)
    return _by_arm(means[:, 1:] / means[:, :1] - 1, labels[1:])


class _TrueEffect(NamedTuple):
    """A metric's known effect, as :func:`~channelab.analysis.decisions.arm_verdict` reads it."""

    role: Role
    verdict: MetricVerdict
    label: str
    prob_above_rope: float  # 1 or 0: the lift is known
    conditional: bool = False
    no_events: tuple[str, ...] = ()


def _true_verdict(lifts: Mapping[str, float]) -> ArmVerdict:
    """The arm verdict a lift known without error earns (the pipeline's rules, zero-width intervals)."""
    rope = _TRUTH_ROPE
    roles: dict[str, Role] = {**OUTREACH_METRICS, "unsubscribes": "guardrail"}
    effects = []
    for k, v in lifts.items():
        verdict = interval_verdict(v, v, rope)
        if roles[k] == "guardrail":
            verdict = guardrail_verdict(verdict, "up")
        effects.append(_TrueEffect(roles[k], verdict, k, float(v > rope[1])))
    return arm_verdict(effects, level=0.5)  # a known lift is decided at any level


# ---- observational data with selection ---------------------------------------------------------
