"""Realistic B2B outreach cohorts under a :class:`Scenario`, with rep and week noise, and their truth."""

from __future__ import annotations

import difflib
import hashlib
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, logit

from channelab.errors import ChannelabError
from channelab.files import check_outputs, commit, json_bytes
from channelab.provenance import stamp
from channelab.simulate.ab import SimMetric, draw_metric
from channelab.simulate.common import unit_ids
from channelab.simulate.effort import Effort, add_rep_hours
from channelab.simulate.guardrails import Unsubscribes
from channelab.simulate.outreach_time import add_booked_truth, put_in_time
from channelab.simulate.outreach_truth import OutreachTruth
from channelab.simulate.population import (
    Population,
    draw_history,
    draw_population,
    predictors,
    with_propensity,
)
from channelab.simulate.scenarios import (
    BASE_METRICS,
    DEFAULT_N_PROSPECTS,
    OUTREACH_METRICS,
    PRE_PERIOD_COLUMNS,
    SCENARIOS,
    SEGMENTS,
    WEEKS,
    PrePeriod,
    Scenario,
)
from channelab.simulate.timing import Arrival
from channelab.spec import DataSource, Spec, parse_spec


def simulate_outreach(
    scenario: str | Scenario,
    *,
    n_prospects: int = DEFAULT_N_PROSPECTS,
    seed: int,
    arrival: Arrival | None = None,
    unsubscribes: Unsubscribes | None = None,
    effort: Effort | None = None,
) -> tuple[pd.DataFrame, OutreachTruth]:
    """Simulate a B2B outreach experiment; return its rows and its truth.

    Prospects come in accounts of 1 to 8 that share industry, company size and region; each
    account belongs to one rep; each prospect has a seniority and a week of first touch
    (:mod:`~channelab.simulate.population`). Every metric is drawn from its :class:`SimMetric` with link-scale
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
        ``arrival.max_days`` of entry). Dates are ISO text, blank without a meeting. A 0/1
        ``booked`` column (meetings > 0, dated by ``meetings_at``) is added, with its true
        means and lifts in the truth (role ``outcome``; :mod:`~channelab.simulate.outreach_time`).
    unsubscribes
        Add a guardrail (:class:`~channelab.simulate.guardrails.Unsubscribes`): an
        ``unsubscribes`` column (0/1 opt-outs, by channel), with its true means and lifts in
        the truth (role ``guardrail``); drawn from its own stream.
    effort
        Add a ``rep_hours`` column (:class:`~channelab.simulate.effort.Effort`; truth role ``effort``).

    Returns
    -------
    rows : pandas.DataFrame
        One row per prospect: ``prospect_id``, ``account_id``, ``rep_id``, ``industry``,
        ``company_size``, ``region``, ``seniority``, ``week``, ``arm``, then the metrics of
        :data:`OUTREACH_METRICS` (``revenue`` in dollars to the cent, 0 without a deal); with a
        history, :data:`PRE_PERIOD_COLUMNS` before ``arm``; in time, ``entered_at`` after
        ``week``, and ``meetings_at`` then ``booked`` after ``meetings``; with the guardrail,
        ``unsubscribes``, then with the effort ``rep_hours``, last.
    truth : OutreachTruth
        True means, lifts and verdicts.

    Raises
    ------
    ChannelabError
        If the scenario is unknown or ``n_prospects`` is smaller than the number of arms.
    """
    sc = _resolve(scenario)
    _check_size(sc, n_prospects)
    rng = np.random.default_rng(seed)
    weeks = arrival.weeks if arrival is not None else WEEKS
    pop = draw_population(n_prospects, sc.n_reps, rng, weeks)
    arm = _assigned_arms(sc, pop, rng)
    eta, amount_eta = predictors(sc, pop, rng, weeks)
    # a history draws from its own stream, so that scenarios without one keep their draws
    history_rng = np.random.default_rng([seed, 1])
    eta, propensity = with_propensity(sc.pre_period, eta, n_prospects, history_rng)
    drawn, expected = _draw_metrics(sc, pop, arm, eta, amount_eta, rng)
    columns = _unit_columns(sc, pop, arm) | drawn
    means, lifts = _by_arm(expected.mean(axis=2), sc.labels), _lifts(expected, sc.labels)
    if arrival is not None:  # its own stream, so that the other columns keep their draws
        columns = put_in_time(columns, sc, pop, arm, arrival, np.random.default_rng([seed, 2]))
        add_booked_truth(sc, expected, means, lifts)
    _add_unsubscribes_and_hours(sc, seed, arm, columns, (means, lifts), unsubscribes, effort)
    columns, explained = _add_history(sc.pre_period, propensity, expected, columns, arm, history_rng)
    parameters = _parameters(sc, arrival, unsubscribes, effort)
    truth = _truth(sc, seed, pop, expected, means, lifts, explained, parameters)
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

    The arms are the scenario's, in equal planned shares. The data path is a placeholder
    (``<scenario>.csv``): pair the spec with a frame source.

    Parameters
    ----------
    scenario
        A name in :data:`SCENARIOS` or a :class:`Scenario`.
    metrics
        Names from :data:`OUTREACH_METRICS` to analyse; they keep their roles and types.
    covariates
        Segment columns the model adjusts for.
    cluster
        Add the rep random intercept (``unit.randomised_by: rep_id``); by default, when the
        scenario is randomised by rep.
    lift_by
        A segment column to report lifts per level of (``model.lift_by``).
    adjust
        Pre-period columns (:data:`PRE_PERIOD_COLUMNS`, for a scenario with a history).
    sampler
        Settings of the spec's ``sampler`` block.
    seed
        The spec's seed.

    Returns
    -------
    Spec
        The parsed, validated spec.

    Raises
    ------
    ChannelabError
        If the scenario or a metric is unknown, or the spec does not validate.
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
    """What :func:`write_simulation` wrote.

    Attributes
    ----------
    data
        The data file (CSV or Parquet).
    truth_path
        The truth file, ``<stem>.truth.json`` beside the data.
    truth
        The truth it holds.
    """

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
    effort: Effort | None = None,
) -> SimulationFiles:
    """Simulate with :func:`simulate_outreach` and write the rows and the truth.

    The rows go to ``path`` (CSV, or Parquet for a ``.parquet``/``.pq`` suffix unless
    ``format`` says otherwise) and the truth, with the data file's SHA-256 under ``data``, to
    ``<stem>.truth.json`` beside it. Both are committed together (:func:`channelab.files.commit`)
    and overwrite earlier files of those names. The same arguments give byte-identical files.

    Parameters
    ----------
    scenario, n_prospects, seed, arrival, unsubscribes, effort
        As in :func:`simulate_outreach`.
    path
        The data file.
    format
        ``csv`` or ``parquet``; by default read from the suffix of ``path``.

    Returns
    -------
    SimulationFiles
        The two paths and the :class:`OutreachTruth`.
    """
    path = Path(path)
    fmt = DataSource(path=path, format=format).resolved_format
    truth_path = path.with_name(f"{path.stem}.truth.json")
    check_outputs([path, truth_path])  # a bad --out fails before the simulation, not after
    rows, truth = simulate_outreach(
        scenario,
        n_prospects=n_prospects,
        seed=seed,
        arrival=arrival,
        unsubscribes=unsubscribes,
        effort=effort,
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


def _check_size(sc: Scenario, n_prospects: int) -> None:
    if n_prospects < len(sc.arms):
        raise ChannelabError(
            f"n_prospects: got {n_prospects}, but expected at least one prospect per arm ({len(sc.arms)})"
        )


def _assigned_arms(sc: Scenario, pop: Population, rng: np.random.Generator) -> np.ndarray:
    """Arm index of every prospect: complete randomisation of the prospects, or of the reps."""
    by_rep = sc.randomised_by == "rep"
    arm_of_unit = rng.permutation(np.arange(sc.n_reps if by_rep else pop.week.size) % len(sc.arms))
    return arm_of_unit[pop.rep] if by_rep else arm_of_unit


def _unit_columns(sc: Scenario, pop: Population, arm: np.ndarray) -> dict[str, Any]:
    """The columns before the metrics: ids, segments, week, places for the history, and the arm."""
    return {
        "prospect_id": unit_ids("P", pop.week.size),
        "account_id": _labels(unit_ids("A", int(pop.account[-1]) + 1), pop.account),
        "rep_id": _labels(unit_ids("R", sc.n_reps), pop.rep),
        **{c: _labels(list(SEGMENTS[c]), codes) for c, codes in pop.segments.items()},
        "week": pop.week,
        **dict.fromkeys(PRE_PERIOD_COLUMNS if sc.pre_period else ()),  # filled last, before the arm
        "arm": _labels(sc.labels, arm),
    }


def _draw_metrics(
    sc: Scenario,
    pop: Population,
    arm: np.ndarray,
    eta: dict[str, np.ndarray],
    amount_eta: np.ndarray,
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every metric's column, and the expected value of every metric for every prospect under every arm.

    The expected values are an array (metric, arm, prospect), metrics in :data:`OUTREACH_METRICS` order.
    """
    n = pop.week.size
    columns = {}
    expected = np.empty((len(OUTREACH_METRICS), len(sc.arms), n))
    for j, name in enumerate(OUTREACH_METRICS):
        m = sc.metrics[name]
        shift = eta[name] + _per_arm(m.effects, sc.labels)
        for s in sc.segment_lifts:
            if s.metric == name:
                in_level = pop.segments[s.column] == list(SEGMENTS[s.column]).index(s.level)
                shift[sc.labels.index(s.arm)] += s.effect * in_level
        amount_shift = amount_eta + _per_arm(m.amount_effects, sc.labels)
        columns[name], expected[j] = draw_metric(
            m, _calibrated(m, shift), amount_shift, arm, np.arange(n), rng
        )
    return columns, expected


def _add_unsubscribes_and_hours(
    sc: Scenario,
    seed: int,
    arm: np.ndarray,
    columns: dict[str, Any],
    truth: tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]],
    unsubscribes: Unsubscribes | None,
    effort: Effort | None,
) -> None:
    """Add the opt-outs and the rep hours when asked: their columns and their true means and lifts (in place).

    Each is drawn from its own stream (``[seed, 3]``, ``[seed, 4]``), so the other columns keep their draws.
    """
    means, lifts = truth
    channel_of = dict(sc.arms)
    if unsubscribes is not None:
        draws = np.random.default_rng([seed, 3])
        columns["unsubscribes"], _ = unsubscribes.draw(np.asarray(list(channel_of.values()))[arm], draws)
        base = unsubscribes.probability(channel_of[sc.control])
        for label in sc.labels:
            means[label]["unsubscribes"] = unsubscribes.probability(channel_of[label])
            if label != sc.control:
                lifts[label]["unsubscribes"] = means[label]["unsubscribes"] / base - 1
    if effort is not None:
        hours = np.random.default_rng([seed, 4])
        columns["rep_hours"] = add_rep_hours(
            effort, channel_of, sc.control, arm, columns["meetings"], truth, hours
        )


def _add_history(
    h: PrePeriod | None,
    propensity: np.ndarray,
    expected: np.ndarray,
    columns: dict[str, Any],
    arm: np.ndarray,
    rng: np.random.Generator,
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """``columns`` with the pre-period columns filled in, and each metric's R² on them among controls.

    Without a history (``h`` is None): ``columns`` unchanged and no R².
    """
    if h is None:
        return columns, {}
    meetings = expected[list(OUTREACH_METRICS).index("meetings"), 0]
    history = draw_history(h, propensity, meetings, rng)
    filled = columns | history  # into the places kept for them, before the arm
    return filled, _explained(history, filled, control=arm == 0)


def _explained(
    history: dict[str, np.ndarray], columns: dict[str, Any], *, control: np.ndarray
) -> dict[str, dict[str, float]]:
    """R² of each metric on each pre-period column, among the ``control`` prospects."""
    return {
        c: {k: _r_squared(x[control], columns[k][control]) for k in OUTREACH_METRICS}
        for c, x in history.items()
    }


def _segment_lifts(
    sc: Scenario, pop: Population, expected: np.ndarray
) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """True lifts within each level of every column with a segment-specific arm effect."""
    return {
        s.column: {
            level: _lifts(expected[..., pop.segments[s.column] == i], sc.labels)
            for i, level in enumerate(SEGMENTS[s.column])
            if np.any(pop.segments[s.column] == i)
        }
        for s in sc.segment_lifts
    }


def _truth(
    sc: Scenario,
    seed: int,
    pop: Population,
    expected: np.ndarray,
    means: dict[str, dict[str, float]],
    lifts: dict[str, dict[str, float]],
    explained: dict[str, dict[str, float]],
    parameters: dict[str, Any],
) -> OutreachTruth:
    """The truth of ``sc`` simulated with ``seed``: the means and lifts, and those within segments."""
    return OutreachTruth(
        scenario=sc.name,
        description=sc.description,
        seed=seed,
        n=pop.week.size,
        arms=dict(sc.arms),
        control=sc.control,
        randomised_by=sc.randomised_by,
        means=means,
        lifts=lifts,
        segment_lifts=_segment_lifts(sc, pop, expected),
        explained=explained,
        parameters=parameters,
        provenance=stamp(seed=seed, timed=False).as_dict(),
    )


def _parameters(
    sc: Scenario, arrival: Arrival | None, unsubscribes: Unsubscribes | None, effort: Effort | None
) -> dict[str, Any]:
    """The generating parameters: the scenario's, with the timing, the guardrail and the effort when given."""
    added = {"arrival": arrival, "unsubscribes": unsubscribes, "effort": effort}
    return sc.to_dict() | {k: v.to_dict() for k, v in added.items() if v is not None}


def _r_squared(x: np.ndarray, y: np.ndarray) -> float:
    """R² of the least-squares line of ``y`` on ``x``."""
    r = np.corrcoef(x, y)[0, 1]
    return float(r * r) if np.isfinite(r) else 0.0


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
