"""Shared fixtures. Seeds are local; files are written only under tmp_path."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

from helpers import DATA, EXPERIMENTS, mocked_sampling, spec_dict


def pytest_configure(config: pytest.Config) -> None:
    """The fast tier (``-m "not slow"``) never samples: its graphs are compiled in PyTensor's
    FAST_COMPILE mode (no rewrites, the Python linker), as each is evaluated only a few times.

    Set before PyTensor is first imported (test modules import it lazily); an explicit
    ``PYTENSOR_FLAGS`` wins.
    """
    if config.option.markexpr.replace(" ", "") == "notslow":
        os.environ.setdefault("PYTENSOR_FLAGS", "mode=FAST_COMPILE")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The files with the most slow tests first, each file's tests in their own order.

    ``make test`` hands whole files to two workers in this order (pytest-xdist's ``loadfile``
    with ``--no-loadscope-reorder``): the long files start first and the short ones fill in at
    the end, so the two workers finish together instead of one running a long file alone.
    """
    slow = Counter(item.path for item in items if item.get_closest_marker("slow"))
    items.sort(key=lambda item: -slow[item.path])  # stable: a file's tests stay together, in order


@pytest.fixture(scope="session")
def hillstrom_run(tmp_path_factory: pytest.TempPathFactory):
    """The flagship experiment run once per session, sampled for real: (analysis, pdf, json)."""
    from channelab.app import run_experiment

    out = tmp_path_factory.mktemp("reports")
    return run_experiment(EXPERIMENTS / "hillstrom_email.yaml", out_dir=out)


@pytest.fixture(scope="session")
def hillstrom_mock_run(tmp_path_factory: pytest.TempPathFactory):
    """The flagship experiment with prior draws in place of NUTS (fast tier): (analysis, pdf, json)."""
    from channelab.app import run_experiment

    out = tmp_path_factory.mktemp("mock_reports")
    with mocked_sampling():
        return run_experiment(EXPERIMENTS / "hillstrom_email.yaml", out_dir=out)


@pytest.fixture
def mock_sampling():
    """Prior draws in place of NUTS for the duration of one test."""
    with mocked_sampling():
        yield


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
