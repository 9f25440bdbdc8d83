"""Learning across a programme: read its records (a registry or a folder of reports), pool them.

:func:`read_programme` gathers the records and within-test covariances, each test counted once;
:func:`learn_programme` turns them into studies and fits the programme model
(:func:`~channelab.analysis.learning.learn`). Nothing here writes: :mod:`channelab.app` does.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from channelab.analysis.learning import Learned, Study, learn
from channelab.analysis.learning.programme import Covariances
from channelab.analysis.sampler import resolve_backend
from channelab.engine.registry import Covariance, Record, open_registry
from channelab.engine.registry.imports import records_from_report, records_from_summaries
from channelab.engine.registry.records import first_of_each
from channelab.errors import DataError, first_few
from channelab.limits import MAX_REPORT_BYTES
from channelab.pipeline.read import StepCallback, no_steps
from channelab.provenance import Provenance, stamp
from channelab.spec import Programme, load_programme

__all__ = ["Learning", "Programme", "learn_programme", "read_programme", "studies_of"]


@dataclass(frozen=True, slots=True)
class ProgrammeRecords:
    """The records of a programme of tests, as read.

    Attributes
    ----------
    sources
        What was read: registries, report folders, reports and summary tables.
    records, covariances
        Each test's records and within-test covariances, each counted once.
    duplicates
        Records read more than once (the same test, arm and metric) and counted once.
    notes
        What the reader should know about the reading, in sentences.
    named
        The sources as the programme file names them (relative to it), for the report.
    """

    sources: tuple[Path, ...]
    records: tuple[Record, ...]
    covariances: tuple[Covariance, ...]
    duplicates: int = 0
    notes: tuple[str, ...] = ()
    named: tuple[str, ...] = ()

    @property
    def fingerprint(self) -> str:
        """A SHA-256 of the records and covariances read: the same programme, the same hash."""
        items: list[Record | Covariance] = [*self.records, *self.covariances]
        rows = sorted(json.dumps({k: str(v) for k, v in asdict(r).items() if k != "created"}) for r in items)
        return hashlib.sha256("\n".join(rows).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Learning:
    """What ``learn`` found, with what it read and who made it.

    Attributes
    ----------
    name
        The name of the outputs.
    programme
        The records read.
    learned
        The programme model's results.
    provenance
        Versions, seed and the programme's fingerprint.
    title, description
        The programme file's title and description (empty when learning from a bare source).
    """

    name: str
    programme: ProgrammeRecords
    learned: Learned
    provenance: Provenance
    title: str = ""
    description: str = ""

    @property
    def display_title(self) -> str:
        """The title, or the name with spaces."""
        return self.title or self.name.replace("_", " ")


def _from_reports(folder: Path) -> tuple[list[Record], list[Covariance], list[str]]:
    records: list[Record] = []
    covariances: list[Covariance] = []
    notes: list[str] = []
    skipped = []
    for path in sorted(folder.glob("*.json")):
        if not _is_run_report(path):
            skipped.append(path.name)
            continue
        imported = records_from_report(path)
        records += imported.records
        covariances += imported.covariances
        notes += imported.notes
    if skipped:
        notes.append(
            f"{len(skipped)} JSON file(s) that are not run reports were left out: {first_few(skipped, 5)}."
        )
    return records, covariances, notes


def _is_run_report(path: Path) -> bool:
    """Whether a JSON file looks like a run report (it has effects and arms); others are left out."""
    try:
        if path.stat().st_size > MAX_REPORT_BYTES:
            return True  # the importer refuses it, saying why
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return True  # let the importer say what is wrong with it
    return isinstance(document, dict) and "effects" in document and "arms" in document


def _read_one(path: Path) -> tuple[list[Record], list[Covariance], list[str]]:
    """One source's records, covariances and notes, by what it is."""
    if path.is_dir():
        return _from_reports(path)
    suffix = path.suffix.lower()
    if suffix in (".json", ".csv"):
        got = records_from_report(path) if suffix == ".json" else records_from_summaries(path)
        return got.records, got.covariances, [f"{path.name}: {note}" for note in got.notes]
    with open_registry(path, create=False) as registry:
        return registry.records(), registry.covariances(), []


def read_programme(sources: Sequence[str | Path]) -> ProgrammeRecords:
    """The records of a programme from registries, folders of run reports, reports and summary tables.

    Parameters
    ----------
    sources
        Registries (``*.duckdb``), folders holding run reports, run reports (``.json``) and tables
        of published summaries (``.csv``).

    Returns
    -------
    ProgrammeRecords
        The records and covariances, a test read twice counted once.

    Raises
    ------
    DataError
        A source is missing or not what it seems, or there are no records at all.
    """
    paths = tuple(Path(s) for s in sources)
    records: list[Record] = []
    covariances: list[Covariance] = []
    notes: list[str] = []
    for path in paths:
        got = _read_one(path)
        records += got[0]
        covariances += got[1]
        notes += got[2]
    if not records:
        raise DataError(
            f"{first_few([str(p) for p in paths], 3)}: no records to learn from. Add tests' results with "
            "`channelab run SPEC --registry PATH`, or import reports and published summaries with "
            "`channelab registry import`."
        )
    unique = first_of_each(records)
    if duplicates := len(records) - len(unique):
        notes.append(
            f"{duplicates} record(s) of tests read twice (same spec hash and data) were counted once."
        )
    same_units: dict[tuple[str, str, str], Record] = {}
    for r in unique:  # the same data analysed by two experiment files is one test's evidence
        same_units.setdefault((r.data_fingerprint, r.arm, r.metric), r)
    if again := len(unique) - len(same_units):
        duplicates += again
        notes.append(
            f"{again} record(s) of the same data, arm and metric under another experiment file were "
            "counted once (the first read)."
        )
        unique = list(same_units.values())
    return ProgrammeRecords(paths, tuple(unique), tuple(first_of_each(covariances)), duplicates, tuple(notes))


def _label(r: Record, arms: dict[tuple[str, str], set[str]]) -> str:
    several = len(arms[r.spec_hash, r.data_fingerprint]) > 1
    return f"{r.experiment}: {r.arm}" if several else r.experiment


def studies_of(records: Sequence[Record]) -> list[Study]:
    """The programme model's studies: one per record, labelled by its experiment (and arm).

    Parameters
    ----------
    records : sequence of Record
        The programme's records.

    Returns
    -------
    list of Study
        In the records' order; ``key`` ties the metrics of one test's arm together.
    """
    arms: dict[tuple[str, str], set[str]] = {}
    for r in records:
        arms.setdefault((r.spec_hash, r.data_fingerprint), set()).add(r.arm)
    return [
        Study(
            label=_label(r, arms),
            channel=r.channel,
            metric=r.metric,
            role=r.role,
            loglift=r.loglift_mean,
            loglift_se=r.loglift_sd,
            diff=r.diff_mean,
            diff_se=r.diff_sd,
            control_mean=r.control_mean,
            launched=r.launched,
            key=f"{r.spec_hash}|{r.data_fingerprint}|{r.arm}",
        )
        for r in records
    ]


def _covariance_map(covariances: Sequence[Covariance]) -> Covariances:
    out: dict[tuple[str, str, str], tuple[float, float | None]] = {}
    for c in covariances:
        a, b = sorted((c.metric_a, c.metric_b))
        out[f"{c.spec_hash}|{c.data_fingerprint}|{c.arm}", a, b] = (c.cov_diff, c.cov_loglift)
    return out


def programme_of(source: str | Path, *, seed: int | None = None) -> Programme:
    """The programme to learn: a programme file as written, or a bare source with the defaults.

    Parameters
    ----------
    source
        A programme file (``.yaml``), or one registry, folder of run reports, report or table.
    seed
        Overrides the programme's seed (``--seed``).

    Returns
    -------
    Programme
        Its sources as named (:meth:`~channelab.spec.Programme.resolve_path` finds them), and the
        seed in force.
    """
    path = Path(source)
    if path.suffix.lower() in (".yaml", ".yml"):
        programme = load_programme(path)
    else:
        name = path.resolve().name if path.is_dir() else path.stem
        programme = Programme(name=_safe_name(name), sources=[str(path)])
    return programme if seed is None else programme.model_copy(update={"seed": seed})


def _safe_name(name: str) -> str:
    """A source's name made a valid output stem (letters, digits, ``_``, ``-``, ``.``)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).lstrip("._-")
    return cleaned or "programme"


def learn_programme(
    source: str | Path | Programme, *, seed: int | None = None, on_step: StepCallback | None = None
) -> Learning:
    """Read a programme's records and pool them (:func:`~channelab.analysis.learning.learn`).

    Parameters
    ----------
    source
        A programme file (``.yaml``), or one registry, folder of run reports, report or table;
        or a programme already read (:func:`programme_of`).
    seed
        Overrides the programme's seed (for a source that is not yet a programme).
    on_step
        Called with a short description of each step as it starts.

    Returns
    -------
    Learning
        The records read, the results and the provenance.
    """
    step = on_step or no_steps
    programme = source if isinstance(source, Programme) else programme_of(source, seed=seed)
    step("Reading the programme's records")
    records = read_programme([programme.resolve_path(Path(s)) for s in programme.sources])
    records = replace(records, named=tuple(programme.sources))
    step(f"Fitting the programme model to {len(records.records):,} records")
    learned = learn(
        studies_of(records.records),
        seed=programme.seed,
        hdi_prob=programme.hdi_prob,
        sampler=programme.sampler,
        priors=programme.priors,
        covariances=_covariance_map(records.covariances),
    )
    data = {"sources": len(records.sources), "records": len(records.records), "sha256": records.fingerprint}
    provenance = stamp(
        None, seed=programme.seed, sampler=resolve_backend(programme.sampler.backend), data=data
    )
    return Learning(
        programme.name, records, learned, provenance, programme.title or "", programme.description.strip()
    )
