"""Learning across a programme: read its records (a registry or a folder of reports), pool them.

:func:`read_programme` gathers the records and within-test covariances, each test counted once;
:func:`learn_programme` turns them into studies and fits the programme model
(:func:`~channelab.analysis.learning.learn`). Nothing here writes: :mod:`channelab.app` does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from channelab.analysis.learning import Learned, ProgrammePriors, Study, learn
from channelab.analysis.learning.programme import Covariances
from channelab.engine.registry import Covariance, Record, open_registry
from channelab.engine.registry.imports import records_from_report
from channelab.engine.registry.records import first_of_each
from channelab.errors import DataError, first_few
from channelab.limits import MAX_REPORT_BYTES
from channelab.pipeline.read import StepCallback, no_steps
from channelab.provenance import Provenance, stamp
from channelab.spec import Sampler

__all__ = ["Learning", "Programme", "learn_programme", "read_programme", "studies_of"]


@dataclass(frozen=True, slots=True)
class Programme:
    """The records of a programme of tests, as read.

    Attributes
    ----------
    source
        The registry file or the folder of reports.
    records, covariances
        Each test's records and within-test covariances, each counted once.
    duplicates
        Records read more than once (the same test, arm and metric) and counted once.
    notes
        What the reader should know about the reading, in sentences.
    """

    source: Path
    records: tuple[Record, ...]
    covariances: tuple[Covariance, ...]
    duplicates: int = 0
    notes: tuple[str, ...] = ()

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
    """

    name: str
    programme: Programme
    learned: Learned
    provenance: Provenance


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


def read_programme(source: str | Path) -> Programme:
    """The records of a programme: a registry file, or a folder of channelab run reports (JSON).

    Parameters
    ----------
    source
        A registry (``*.duckdb``) or a folder holding run reports.

    Returns
    -------
    Programme
        The records and covariances, duplicates counted once.

    Raises
    ------
    DataError
        The source is missing, not a registry, or holds no records.
    """
    source = Path(source)
    notes: list[str] = []
    if source.is_dir():
        records, covariances, notes = _from_reports(source)
    else:
        with open_registry(source, create=False) as registry:
            records, covariances = registry.records(), registry.covariances()
    if not records:
        raise DataError(
            f"{source}: no records to learn from. Add tests' results with `channelab run SPEC --registry "
            "PATH`, or import reports and published summaries with `channelab registry import`."
        )
    unique = first_of_each(records)
    duplicates = len(records) - len(unique)
    if duplicates:
        notes.append(
            f"{duplicates} record(s) of tests read twice (same spec hash and data) were counted once."
        )
    return Programme(source, tuple(unique), tuple(first_of_each(covariances)), duplicates, tuple(notes))


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


def learn_programme(
    source: str | Path,
    *,
    seed: int,
    hdi_prob: float = 0.94,
    sampler: Sampler | None = None,
    priors: ProgrammePriors | None = None,
    on_step: StepCallback | None = None,
) -> Learning:
    """Read a programme's records and pool them (:func:`~channelab.analysis.learning.learn`).

    Parameters
    ----------
    source
        A registry file or a folder of run reports.
    seed
        Seeds the sampler and every draw.
    hdi_prob
        The interval mass.
    sampler
        Sampler settings (default: the house's).
    priors
        Priors of the channels' means and spreads.
    on_step
        Called with a short description of each step as it starts.

    Returns
    -------
    Learning
        The records read, the results and the provenance.
    """
    step = on_step or no_steps
    step("Reading the programme's records")
    programme = read_programme(source)
    step(f"Fitting the programme model to {len(programme.records):,} records")
    learned = learn(
        studies_of(programme.records),
        seed=seed,
        hdi_prob=hdi_prob,
        sampler=sampler,
        priors=priors,
        covariances=_covariance_map(programme.covariances),
    )
    data = {"path": str(Path(source)), "records": len(programme.records), "sha256": programme.fingerprint}
    name = Path(source).stem if not Path(source).is_dir() else Path(source).resolve().name
    return Learning(name, programme, learned, stamp(None, seed=seed, sampler="nutpie", data=data))
