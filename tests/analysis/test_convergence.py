"""The convergence gate and what a run does when a fit fails it: refit within a stated budget."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from channelab.analysis.diagnostics import ESS_MIN, Diagnostics, diagnose, escalation, fit_until_converged
from channelab.spec import Sampler

CHAINS, DRAWS = 4, 1000


def _trace(params: dict[str, np.ndarray], divergences: int = 0) -> xr.DataTree:
    dims = ("chain", "draw")
    diverging = np.zeros((CHAINS, DRAWS), dtype=bool)
    diverging.flat[:divergences] = True
    return xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({k: (dims, v) for k, v in params.items()}),
            "sample_stats": xr.Dataset({"diverging": (dims, diverging)}),
        }
    )


def _stuck(rng: np.random.Generator) -> np.ndarray:
    """Draws whose chains sit at different levels: r_hat far above 1.01."""
    return rng.normal(size=(CHAINS, DRAWS)) + np.arange(CHAINS)[:, None]


def _reported(values: np.ndarray) -> dict[str, xr.DataArray]:
    return {"y: lift": xr.DataArray(values, dims=("chain", "draw"))}


def test_the_parameter_table_has_arvizs_summary_numbers_and_labels():
    from arviz_stats import summary

    rng = np.random.default_rng(3)
    dims = ("chain", "draw")
    post = xr.Dataset(
        {
            "a": (dims, rng.normal(size=(CHAINS, DRAWS))),
            "y:arm": ((*dims, "arm"), rng.gamma(2.0, size=(CHAINS, DRAWS, 3)) + np.arange(3)),
            "m": ((*dims, "s", "k"), _stuck(rng)[..., None, None] + rng.normal(size=(CHAINS, DRAWS, 2, 2))),
        },
        coords={"arm": ["control", "email", "social"], "s": ["x", "y"], "k": [0, 1]},
    )
    ours = diagnose(xr.DataTree.from_dict({"posterior": post, "sample_stats": xr.Dataset()}), 0.9).table
    theirs = summary(xr.DataTree.from_dict({"posterior": post}), ci_prob=0.9, ci_kind="hdi", round_to="none")
    assert list(ours.index) == list(theirs.index)
    assert list(ours.columns) == ["mean", "sd", "hdi90_lb", "hdi90_ub", "ess_bulk", "ess_tail", "r_hat"]
    np.testing.assert_allclose(ours.to_numpy(float), theirs[ours.columns].to_numpy(float), rtol=1e-12)


def test_well_mixed_chains_pass_and_stuck_chains_fail():
    rng = np.random.default_rng(1)
    good = diagnose(_trace({"a": rng.normal(size=(CHAINS, DRAWS))}), 0.94)
    assert good.converged
    assert good.rhat_max < 1.01
    assert good.ess_bulk_min > ESS_MIN
    bad = diagnose(_trace({"a": _stuck(rng)}), 0.94, var_names=["a"])
    assert not bad.converged
    assert "r_hat up to" in bad.problems[0]
    assert "for a" in bad.problems[0]


def test_a_slow_nuisance_spread_passes_when_the_reported_quantities_converged():
    rng = np.random.default_rng(2)
    trace = _trace({"lift": rng.normal(size=(CHAINS, DRAWS)), "cluster_sd": _stuck(rng)})
    reported = _reported(trace["posterior"]["lift"].to_numpy())
    d = diagnose(trace, 0.94, var_names=["lift", "cluster_sd"], reported=reported)
    assert d.converged
    assert d.rhat_max > 1.01
    assert "cluster_sd" in d.notes[0]
    assert "reported" in d.notes[0]
    # ... but not when a reported quantity is itself stuck,
    stuck = diagnose(trace, 0.94, var_names=["lift", "cluster_sd"], reported=_reported(_stuck(rng)))
    assert not stuck.converged
    assert not stuck.notes
    # ... nor when anything diverged: divergences say the sampler missed part of the posterior.
    diverged = _trace({"lift": rng.normal(size=(CHAINS, DRAWS)), "cluster_sd": _stuck(rng)}, divergences=3)
    d = diagnose(diverged, 0.94, var_names=["lift", "cluster_sd"], reported=reported)
    assert not d.converged
    assert "3 divergent transition(s)" in d.problems


def test_escalation_doubles_tuning_and_draws_and_raises_target_acceptance():
    cfg = Sampler(draws=1000, tune=500, target_accept=0.9)
    steps = escalation(cfg, seed=7, retries=2)
    assert [(s.draws, s.tune, s.target_accept, seed) for s, seed in steps] == [
        (1000, 500, 0.9, 7),
        (2000, 1000, 0.95, 8),
        (4000, 2000, 0.99, 9),
    ]
    assert escalation(cfg.model_copy(update={"target_accept": 0.97}), 7, 1)[1][0].target_accept == 0.97
    assert escalation(cfg, 7, 0) == [(cfg, 7)]


def _fake_judge(passes_from: int):
    calls: list[int] = []

    def judge(trace: xr.DataTree) -> Diagnostics:
        calls.append(1)
        problems = () if len(calls) > passes_from else ("r_hat up to 1.020 (> 1.01) for x",)
        return Diagnostics(1.0, 1000, 1000, 0, CHAINS, DRAWS, None, problems)  # type: ignore[arg-type]

    return judge


@pytest.mark.parametrize(
    ("passes_from", "retries", "fits", "converged"),
    [(0, 2, 1, True), (1, 2, 2, True), (2, 2, 3, True), (5, 2, 3, False), (1, 0, 1, False)],
)
def test_refits_stop_at_the_first_pass_and_never_exceed_the_budget(passes_from, retries, fits, converged):
    seen: list[tuple[int, int]] = []

    def draw(settings: Sampler, seed: int) -> xr.DataTree:
        seen.append((settings.draws, seed))
        return _trace({"a": np.zeros((CHAINS, DRAWS))})

    _, d = fit_until_converged(draw, _fake_judge(passes_from), Sampler(draws=1000), 11, retries=retries)
    assert len(seen) == len(d.attempts) == fits
    assert d.converged is converged
    assert d.refits == fits - 1
    assert [seed for _, seed in seen] == list(range(11, 11 + fits))
    if fits > 1:
        assert "refitted" in d.refit_sentence()
        assert d.attempts[0].problems
    else:
        assert d.refit_sentence() == ""


def test_the_sampler_retries_setting_is_bounded():
    with pytest.raises(ValueError, match="retries"):
        Sampler(retries=9)
