"""What ``learn`` reads: registries, report folders, reports and summary tables, each test once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from channelab.engine.registry import open_registry
from channelab.errors import DataError, SpecError
from channelab.pipeline.learn import programme_of, read_programme, studies_of
from channelab.simulate.programme import SOCIAL_PROGRAMME, simulate_programme

REPORTS = Path(__file__).resolve().parents[2] / "reports"


def _registry(path: Path, seed: int = 3) -> int:
    programme = simulate_programme(SOCIAL_PROGRAMME, seed=seed)
    with open_registry(path, create=True) as store:
        store.add(programme.records, programme.covariances)
    return len(programme.records)


def test_sources_of_every_kind_are_read_and_a_test_read_twice_counts_once(tmp_path: Path) -> None:
    n = _registry(tmp_path / "a.duckdb")
    shutil.copy(tmp_path / "a.duckdb", tmp_path / "b.duckdb")  # the same tests again
    folder = tmp_path / "reports"
    folder.mkdir()
    shutil.copy(REPORTS / "social_selling_pilot.json", folder)
    shutil.copy(REPORTS / "social_selling_pilot.design.json", folder)  # not a run report: left out
    records = read_programme([tmp_path / "a.duckdb", tmp_path / "b.duckdb", folder])
    from_report = len(records.records) - n
    assert from_report > 0
    assert records.duplicates == n
    assert any("counted once" in note for note in records.notes)
    assert any("not run reports were left out" in note for note in records.notes)
    assert len(records.covariances) == len(
        {(c.spec_hash, c.arm, c.metric_a, c.metric_b) for c in records.covariances}
    )


def test_the_fingerprint_depends_on_the_records_not_on_their_order(tmp_path: Path) -> None:
    _registry(tmp_path / "a.duckdb", seed=3)
    _registry(tmp_path / "b.duckdb", seed=4)
    ab = read_programme([tmp_path / "a.duckdb", tmp_path / "b.duckdb"]).fingerprint
    ba = read_programme([tmp_path / "b.duckdb", tmp_path / "a.duckdb"]).fingerprint
    assert ab == ba
    assert ab != read_programme([tmp_path / "a.duckdb"]).fingerprint


def test_studies_are_labelled_by_experiment_and_tie_a_tests_metrics_together(tmp_path: Path) -> None:
    _registry(tmp_path / "a.duckdb")
    studies = studies_of(read_programme([tmp_path / "a.duckdb"]).records)
    by_key: dict[str, set[str]] = {}
    for s in studies:
        by_key.setdefault(s.key, set()).add(s.metric)
    assert all(metrics == {"profile_views", "meetings"} for metrics in by_key.values())
    assert all(s.label.startswith(("social test", "email test")) for s in studies)


def test_a_programme_file_names_its_sources_relative_to_itself(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "p.yaml").write_text("name: prog\nsources: [data/a.duckdb]\nseed: 5\n")
    programme = programme_of(tmp_path / "p.yaml")
    assert programme.sources == ["data/a.duckdb"]
    assert programme.resolve_path(Path(programme.sources[0])) == (tmp_path / "data" / "a.duckdb").resolve()
    assert programme.seed == 5
    assert programme_of(tmp_path / "p.yaml", seed=9).seed == 9
    assert programme_of(tmp_path / "data").name == "data"


def test_a_registry_without_records_or_a_programme_without_sources_is_refused(tmp_path: Path) -> None:
    with open_registry(tmp_path / "empty.duckdb", create=True):
        pass
    with pytest.raises(DataError, match="no records to learn from"):
        read_programme([tmp_path / "empty.duckdb"])
    (tmp_path / "p.yaml").write_text("name: prog\nsources: []\n")
    with pytest.raises(SpecError, match="sources"):
        programme_of(tmp_path / "p.yaml")


def test_the_same_data_under_two_experiment_files_counts_once(tmp_path: Path) -> None:
    from dataclasses import replace

    programme = simulate_programme(SOCIAL_PROGRAMME, seed=3)
    renamed = [replace(r, spec_hash="f" * 64) for r in programme.records[:2]]  # another spec, same data
    with open_registry(tmp_path / "a.duckdb", create=True) as store:
        store.add([*programme.records, *renamed], programme.covariances)
    records = read_programme([tmp_path / "a.duckdb"])
    assert len(records.records) == len(programme.records)
    assert any("under another experiment file" in note for note in records.notes)
