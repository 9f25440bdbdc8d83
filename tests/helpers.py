"""Shared test builders: paths, spec mappings, effects with known numbers, and mocked sampling.

Fast tests replace NUTS by prior draws (:func:`pymc.testing.mock_sample`) so that report,
JSON-contract and CLI tests exercise the whole flow in seconds; the slow tier samples for real.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
DATA = ROOT / "data"


@contextmanager
def mocked_sampling() -> Iterator[None]:
    """Inside the block, sampling returns prior draws with no divergences: no compile, no NUTS.

    Both samplers are replaced: ``pm.sample`` and channelab's nutpie path; a fit started ahead
    (a monitor's next look) is not started.
    """
    import numpy as np
    import pymc as pm
    import pytensor
    from pymc.testing import mock_sample

    from channelab.analysis import model as model_module

    def fake(**kwargs):
        # the prior draws are made by PyTensor's Python linker: compiling each model's forward
        # sampler with numba would cost more than drawing from it
        with pytensor.config.change_flags(mode="FAST_COMPILE"):
            return mock_sample(sample_stats={"diverging": lambda size: np.zeros(size, dtype=bool)}, **kwargs)

    def fake_nutpie(built, cfg, *, seed, progressbar=False):
        with built.model:
            return fake(draws=cfg.draws, chains=cfg.chains, random_seed=seed)

    original, original_nutpie = pm.sample, model_module.sample_nutpie
    original_prefetch = model_module.CellModel.prefetch
    pm.sample, model_module.sample_nutpie = fake, fake_nutpie
    model_module.CellModel.prefetch = lambda self, cfg, *, seed: None
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The effect of Potentials", category=UserWarning)
            yield
    finally:
        pm.sample, model_module.sample_nutpie = original, original_nutpie
        model_module.CellModel.prefetch = original_prefetch


def spec_dict(data_file: str, metrics: list[dict], **overrides) -> dict:
    """A minimal valid spec mapping for simulated data written by ``simulate_ab``."""
    spec = {
        "name": "sim",
        "unit": {"kind": "prospect", "id": "unit_id"},
        "data": {"path": data_file},
        "arm_column": "arm",
        "control": "control",
        "arms": {"control": {"channel": "control"}, "treatment": {"channel": "email"}},
        "metrics": metrics,
        "covariates": ["segment"],
        "seed": 7,
        "sampler": {"draws": 500, "tune": 500, "chains": 4, "backend": "nutpie"},
    }
    spec.update(overrides)
    return spec


def observational_spec(data_file: str = "x.csv", metric: str = "re78", **overrides) -> dict:
    """A ``design: matched`` spec mapping for :func:`~channelab.simulate.simulate_observational` data."""
    from channelab.simulate.observational import COVARIATES

    spec = {
        "name": "observational",
        "design": "matched",
        "unit": {"kind": "participant", "id": "unit_id"},
        "data": {"path": data_file},
        "arm_column": "program",
        "control": "none",
        "arms": {"none": {"channel": "control"}, "treated": {"channel": "email"}},
        "metrics": [{"name": metric, "type": "revenue", "role": "revenue"}],
        "matching": {"method": "entropy", "covariates": list(COVARIATES)},
        "seed": 5,
    }
    spec.update(overrides)
    return spec


def channels_spec(data_file: str = "x.csv", **overrides) -> dict:
    """A weighted three-arm spec mapping for :func:`~channelab.simulate.simulate_channels` data."""
    spec = observational_spec(
        data_file,
        unit={"kind": "account", "id": "unit_id"},
        arms={"none": {"channel": "control"}, "email": {"channel": "email"}, "social": {"channel": "social"}},
        metrics=[{"name": "y", "type": "continuous", "role": "outcome"}],
        matching={"method": "entropy", "covariates": ["x1", "x2"]},
    )
    spec.update(overrides)
    return spec


def make_effect(
    *,
    arm: str = "arm",
    metric: str = "meetings",
    label: str | None = None,
    role: str = "outcome",
    verdict: str = "inconclusive",
    mean: float = 0.2,
    half_width: float = 0.1,
    draws=None,
    rope: tuple[float, float] = (-0.05, 0.05),
    n: int = 1000,
    more_data_factor: float = 2.0,
    noise: tuple[float, float] | None = None,
    relative_defined: bool = True,
    conditional: bool = False,
):
    """An Effect with known numbers; probabilities come from ``draws`` when given.

    The noise band is ``±half_width`` unless ``noise`` is given; the difference (``abs_lift``)
    is the lift times a control mean of 0.1.
    """
    import numpy as np

    from channelab.analysis.results import Effect, Interval

    d = np.asarray(draws if draws is not None else [mean])
    return Effect(
        arm=arm,
        metric=metric,
        label=label or metric,
        role=role,  # type: ignore[arg-type]
        type="binary",
        n_arm=n,
        n_control=n,
        control_mean=0.1,
        arm_mean=0.1 * (1 + mean),
        lift=Interval(mean, mean - half_width, mean + half_width),
        abs_lift=Interval(0.1 * mean, 0.1 * (mean - half_width), 0.1 * (mean + half_width)),
        prob_positive=float(np.mean(d > 0)),
        prob_in_rope=float(np.mean((d >= rope[0]) & (d <= rope[1]))),
        prob_above_rope=float(np.mean(d > rope[1])),
        prob_below_rope=float(np.mean(d < rope[0])),
        rope=rope,
        noise=(-half_width, half_width) if noise is None else noise,
        mcse_lift=0.001,
        verdict=verdict,  # type: ignore[arg-type]
        more_data_factor=more_data_factor,
        relative_defined=relative_defined,
        abs_noise=(-0.1 * half_width, 0.1 * half_width),
        conditional=conditional,
    )


def needs_spark(test):
    """Spark tests start a JVM (tens of seconds): slow tier, skipped without the spark extra."""
    import importlib.util
    import shutil

    import pytest

    no_spark = pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None or shutil.which("java") is None,
        reason="Spark tests need the spark extra (pip install -e '.[spark]') and Java 17",
    )
    return pytest.mark.slow(no_spark(test))


def cell_statistics(cells_of_metric) -> dict:
    """Every per-cell statistic of one metric's typed cells by name; the frequency table as ``freq_*``."""
    import dataclasses

    from channelab.cells import Frequencies

    out = {}
    for f in dataclasses.fields(cells_of_metric):
        value = getattr(cells_of_metric, f.name)
        if isinstance(value, Frequencies):
            out |= {"freq_value": value.value, "freq_units": value.units}
        elif f.name != "metric":
            out[f.name] = value
    return out
