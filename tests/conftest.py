"""Shared fixtures. Seeds are local; files are written only under tmp_path."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
DATA = ROOT / "data"


@pytest.fixture(scope="session")
def hillstrom_run(tmp_path_factory: pytest.TempPathFactory):
    """The flagship experiment run once per session: (analysis, pdf path, json path)."""
    from channelab.app import run_experiment

    out = tmp_path_factory.mktemp("reports")
    return run_experiment(EXPERIMENTS / "hillstrom_email.yaml", out_dir=out)


@pytest.fixture
def experiment_copy(tmp_path: Path):
    """Copy an experiment and its data into tmp_path so a test may edit them freely."""

    def _copy(name: str = "hillstrom_email") -> Path:
        (tmp_path / "experiments").mkdir(exist_ok=True)
        (tmp_path / "data").mkdir(exist_ok=True)
        spec = tmp_path / "experiments" / f"{name}.yaml"
        shutil.copy(EXPERIMENTS / f"{name}.yaml", spec)
        for f in DATA.glob("*.csv"):
            shutil.copy(f, tmp_path / "data" / f.name)
        return spec

    return _copy


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
        "sampler": {"draws": 500, "tune": 500, "chains": 4, "backend": "pymc"},
    }
    spec.update(overrides)
    return spec


@pytest.fixture
def write_experiment(tmp_path: Path):
    """Write rows and a spec into tmp_path; return the loaded Spec."""
    import pandas as pd
    import yaml

    from channelab.spec.loader import load_spec

    def _write(rows: pd.DataFrame, metrics: list[dict], **overrides):
        rows.to_csv(tmp_path / "rows.csv", index=False)
        path = tmp_path / "exp.yaml"
        path.write_text(yaml.safe_dump(spec_dict("rows.csv", metrics, **overrides)))
        return load_spec(path)

    return _write


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
):
    """An Effect with known numbers; probabilities come from ``draws`` when given."""
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
        noise=(-half_width, half_width),
        mcse_lift=0.001,
        verdict=verdict,  # type: ignore[arg-type]
        more_data_factor=more_data_factor,
    )
