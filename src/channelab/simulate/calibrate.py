"""Calibration: checks that the intervals and verdicts mean what they say.

:func:`calibrate` simulates many experiments of one scenario with
:func:`~channelab.simulate.simulate_outreach`, fits every one with a single compiled model
(:class:`~channelab.analysis.model.Refitter`) and sets each lift interval and verdict beside the truth
that made the data. A calibrated model covers the true lift with its 94 % intervals about
94 % of the time, calls ``real lift`` rarely when nothing works, and says ``engagement only``
when a channel moves engagement alone.

The design (arms, covariate levels, reps) is the scenario's and stays fixed; the prospects,
their segments, the assignment and the outcomes are drawn afresh for every fit. A fit whose
cells have another number of pre-period strata (ties in a count) gets its own compiled model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from channelab.analysis.diagnostics import Diagnostics
from channelab.analysis.effects import compute_effects
from channelab.analysis.fitting import converged_fit
from channelab.analysis.model import Refitter
from channelab.analysis.results import Effects
from channelab.cells import Cells
from channelab.engine.aggregate import frame_cells
from channelab.simulate.outreach import simulate_outreach
from channelab.simulate.outreach_truth import OutreachTruth
from channelab.simulate.scenarios import Scenario
from channelab.spec import Sampler, Spec

#: Receives (fits done, fits asked) after every fit.
_FitCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class Calibration:
    """Every interval and verdict of a calibration run, beside the truth.

    Attributes
    ----------
    scenario, label
        The scenario's name, and the name of this configuration in printed tables.
    spec
        The analysis every simulated experiment was fitted with.
    n_prospects
        Prospects in each simulated experiment.
    compile_seconds
        Time spent compiling models (once per design).
    lifts
        One row per fit × treatment × metric, and per level of ``model.lift_by`` when the
        scenario has segment-specific truths (``level`` is empty for the overall lift). Columns:
        fit, arm, metric, role, level, true_lift, mean, lower, upper, covered, verdict, and the
        change per unit's abs_mean, abs_lower, abs_upper (NaN for per-level lifts).
    arms
        One row per fit × treatment: fit, arm, verdict, true_verdict.
    fits
        One row per fit: fit, data_seed, sampler_seed, seconds (fitting, without compiling),
        divergences, rhat_max, ess_bulk_min, converged (after any refits), converged_first (the
        first fit alone), refits.
    """

    scenario: str
    label: str
    spec: Spec
    n_prospects: int
    compile_seconds: float
    lifts: pd.DataFrame
    arms: pd.DataFrame
    fits: pd.DataFrame

    @property
    def n_fits(self) -> int:
        """Number of simulated experiments fitted."""
        return len(self.fits)

    def coverage(self, *, segments: bool = False) -> float:
        """Share of intervals that contain the true lift; ``segments``: of the per-level lifts."""
        return float(self._intervals(segments)["covered"].mean())

    def coverage_by(self, column: str, *, segments: bool = False) -> pd.Series:
        """:meth:`coverage` per value of a column of :attr:`lifts` (``metric``, ``role``, ``arm``)."""
        return self._intervals(segments).groupby(column, sort=False)["covered"].mean()

    def _intervals(self, segments: bool) -> pd.DataFrame:
        return self.lifts[(self.lifts["level"] != "") == segments]

    def verdict_rate(self, verdict: str, *, arms: list[str] | None = None) -> float:
        """Share of (fit, arm) pairs whose arm verdict is ``verdict``, over ``arms`` (default all)."""
        rows = self.arms if arms is None else self.arms[self.arms["arm"].isin(arms)]
        return float((rows["verdict"] == verdict).mean())

    def any_arm_rate(self, verdict: str) -> float:
        """Share of fits in which at least one arm gets ``verdict`` (the family-wise rate)."""
        return float(self.arms.assign(hit=self.arms["verdict"] == verdict).groupby("fit")["hit"].any().mean())

    def verdict_table(self) -> pd.DataFrame:
        """Per treatment: its true verdict and the share of fits giving each verdict."""
        arms = self.arms
        table = pd.crosstab([arms["arm"], arms["true_verdict"]], arms["verdict"], normalize="index")
        order = [a for a in self.spec.treatments if a in table.index.get_level_values("arm")]
        return table.reindex(order, level="arm")


def calibrate(
    scenario: str | Scenario,
    spec: Spec,
    *,
    fits: int,
    n_prospects: int,
    seed: int,
    draws: int | None = None,
    tune: int | None = None,
    label: str | None = None,
    on_fit: _FitCallback | None = None,
) -> Calibration:
    """Simulate ``fits`` experiments of ``scenario``, fit each with ``spec``'s model, and score them.

    Parameters
    ----------
    scenario
        A name in :data:`~channelab.simulate.SCENARIOS` or a :class:`~channelab.simulate.Scenario`.
    spec
        The analysis, e.g. from :func:`~channelab.simulate.outreach_spec`; its data path is unused.
    fits, n_prospects
        Number of simulated experiments, and prospects in each.
    seed
        Seeds every simulation and every fit (through ``numpy.random.SeedSequence``); the same
        arguments give the same numbers.
    draws, tune
        Per chain; default to the spec's sampler settings. A fit that fails the convergence
        gate is refitted as a run would be (``sampler.retries``).
    label
        Name of this configuration in printed tables (default: the scenario's name).
    on_fit
        Called after every fit, for progress.

    Returns
    -------
    Calibration
        Every interval and verdict beside the truth, and every fit's diagnostics.

    Raises
    ------
    ValueError
        If ``fits`` is below 1.
    """
    if fits < 1:
        raise ValueError(f"fits: got {fits}, but expected at least 1")
    children = np.random.SeedSequence(seed).spawn(fits)
    seeds = [tuple(int(x) for x in child.generate_state(2)) for child in children]
    settings = spec.sampler.model_copy(
        update={"draws": draws or spec.sampler.draws, "tune": tune or spec.sampler.tune}
    )
    models = _Models(spec)
    scores = _Scores()
    for i, (data_seed, sampler_seed) in enumerate(seeds):
        rows, truth = simulate_outreach(scenario, n_prospects=n_prospects, seed=data_seed)
        cells = frame_cells(rows, spec, name="<simulated>")
        refitter = models.for_cells(cells)
        t = time.perf_counter()
        posterior, diagnostics = converged_fit(
            partial(_refit, refitter, cells), cells, spec, seed=sampler_seed, settings=settings
        )
        effects = compute_effects(posterior["posterior"].to_dataset(), cells, spec, seed=spec.seed)
        seconds = time.perf_counter() - t
        scores.add(i, effects, truth, spec)
        scores.fits.append(_fit_record(i, (data_seed, sampler_seed), seconds, diagnostics))
        if on_fit is not None:
            on_fit(i + 1, fits)
    name = scenario if isinstance(scenario, str) else scenario.name  # a registry key is its name
    return Calibration(
        scenario=name,
        label=label or name,
        spec=spec,
        n_prospects=n_prospects,
        compile_seconds=models.seconds,
        lifts=pd.DataFrame(scores.lifts),
        arms=pd.DataFrame(scores.arms),
        fits=pd.DataFrame(scores.fits),
    )


@dataclass
class _Models:
    """One compiled model per design (pre-period strata may number differently), and the compile time."""

    spec: Spec
    by_design: dict[str, Refitter] = field(default_factory=dict)
    seconds: float = 0.0

    def for_cells(self, cells: Cells) -> Refitter:
        """The model of the design of ``cells``, compiled on first use."""
        key = repr((cells.arms, cells.levels, cells.clusters))
        if key not in self.by_design:
            t0 = time.perf_counter()
            self.by_design[key] = Refitter(cells, self.spec)
            self.by_design[key].compile()
            self.seconds += time.perf_counter() - t0
        return self.by_design[key]


@dataclass
class _Scores:
    """The records of :class:`Calibration`'s three tables, filled fit by fit."""

    lifts: list[dict[str, Any]] = field(default_factory=list)
    arms: list[dict[str, Any]] = field(default_factory=list)
    fits: list[dict[str, Any]] = field(default_factory=list)

    def add(self, fit: int, effects: Effects, truth: OutreachTruth, spec: Spec) -> None:
        """Score one fit's lifts and arm verdicts against the truth that made its data."""
        metrics = [m.name for m in spec.metrics]
        self.lifts += _score_lifts(fit, effects, truth, spec)
        self.arms += [
            {"fit": fit, "arm": a.arm, "verdict": a.verdict, "true_verdict": truth.verdict(a.arm, metrics)}
            for a in effects.arms
        ]


def _fit_record(fit: int, seeds: tuple[int, ...], seconds: float, diagnostics: Diagnostics) -> dict[str, Any]:
    """One row of :attr:`Calibration.fits`."""
    return {
        "fit": fit,
        "data_seed": seeds[0],
        "sampler_seed": seeds[1],
        "seconds": seconds,
        "divergences": diagnostics.divergences,
        "rhat_max": diagnostics.rhat_max,
        "ess_bulk_min": diagnostics.ess_bulk_min,
        "converged": diagnostics.converged,
        "converged_first": not diagnostics.attempts[0].problems,
        "refits": diagnostics.refits,
    }


def _refit(refitter: Refitter, cells: Cells, settings: Sampler, seed: int) -> xr.DataTree:
    return refitter.fit(cells, seed=seed, settings=settings)


def _score_lifts(fit: int, effects: Effects, truth: OutreachTruth, spec: Spec) -> list[dict[str, Any]]:
    """One record per estimated lift, with the true lift and whether the interval covers it."""

    def record(
        arm: str, metric: str, role: str, level: str, true: float, iv: Any, verdict: str, change: Any = None
    ) -> dict:
        return {
            "fit": fit,
            "arm": arm,
            "metric": metric,
            "role": role,
            "level": level,
            "true_lift": true,
            "mean": iv.mean,
            "lower": iv.lower,
            "upper": iv.upper,
            "covered": bool(iv.lower <= true <= iv.upper),
            "verdict": verdict,
            "abs_mean": np.nan if change is None else change.mean,
            "abs_lower": np.nan if change is None else change.lower,
            "abs_upper": np.nan if change is None else change.upper,
        }

    out = [
        record(e.arm, e.metric, e.role, "", truth.lifts[e.arm][e.metric], e.lift, e.verdict, e.abs_lift)
        for e in effects.effects
    ]
    by_level = truth.segment_lifts.get(spec.model.lift_by or "", {})
    out += [
        record(g.arm, g.metric, g.role, g.level, by_level[g.level][g.arm][g.metric], g.lift, g.verdict)
        for g in effects.segments
        if g.level in by_level
    ]
    return out
