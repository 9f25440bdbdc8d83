"""Commands on a programme of experiments: the registry (add, import, mark), ``learn``.

A run adds its records only after its report is committed, in one transaction, so a killed run
adds nothing or everything. The registry a spec names lives inside ``--out`` (a spec writes
nowhere else); ``--registry PATH`` names one anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from channelab.engine.registry import Added, RecordSource, open_registry
from channelab.engine.registry.imports import records_from_report, records_from_summaries
from channelab.errors import DataError
from channelab.files import check_outputs, commit, json_bytes
from channelab.pipeline.learn import Learning, learn_programme
from channelab.pipeline.read import StepCallback
from channelab.pipeline.records import run_records
from channelab.pipeline.run import Analysis
from channelab.spec import Spec

__all__ = [
    "Imported",
    "Learnt",
    "import_records",
    "learn_from",
    "mark_launched",
    "record_run",
    "registry_counts",
    "registry_for",
]


def registry_for(spec: Spec, out_dir: str | Path, registry: str | Path | None) -> Path | None:
    """The registry a run adds to: ``--registry`` if given, else the spec's, inside ``out_dir``.

    An existing registry is opened now, so that one of another version or not a registry at
    all is refused before the fit, not after it.

    Parameters
    ----------
    spec
        The experiment (its ``registry`` key).
    out_dir
        The output folder.
    registry
        The ``--registry`` option, if given.

    Returns
    -------
    Path or None
        The registry, or None when the run adds to none.
    """
    path = (
        Path(registry) if registry is not None else (Path(out_dir) / spec.registry if spec.registry else None)
    )
    if path is not None and path.exists():
        with open_registry(path, create=False):
            pass
    return path


def record_run(analysis: Analysis, registry: Path, *, source: RecordSource, inputs: Sequence[Path]) -> Added:
    """Add one run's records and covariances to ``registry`` (created if new), in one transaction.

    Parameters
    ----------
    analysis
        The finished run.
    registry
        The registry file.
    source
        ``run`` or ``replicate``.
    inputs
        Paths the run read, which the registry may not be.

    Returns
    -------
    Added
        What was written, and the duplicates counted once.
    """
    records, covariances = run_records(analysis, source=source)
    with open_registry(registry, create=True, inputs=inputs) as store:
        return store.add(records, covariances, origin=analysis.spec.name)


class Imported(NamedTuple):
    """What ``registry import`` added.

    Attributes
    ----------
    added
        Records and covariances written, and duplicates.
    notes
        What the reader should know (sds approximated from intervals, ...).
    """

    added: Added
    notes: tuple[str, ...]


def import_records(paths: Sequence[str | Path], registry: str | Path) -> Imported:
    """Import run reports (``.json``) and published summaries (``.csv``) into ``registry``.

    Every file is read and checked first; then everything is added in one transaction.

    Parameters
    ----------
    paths
        Run reports and summary tables.
    registry
        The registry file (created if new).

    Returns
    -------
    Imported
        What was added, and notes.
    """
    records, covariances, notes = [], [], []
    for path in map(Path, paths):
        if path.suffix.lower() == ".json":
            got = records_from_report(path)
        elif path.suffix.lower() == ".csv":
            got = records_from_summaries(path)
        else:
            raise DataError(
                f"{path}: cannot import a {path.suffix or 'nameless'} file; give channelab run reports "
                "(.json) or tables of published summaries (.csv)."
            )
        records += got.records
        covariances += got.covariances
        notes += [f"{path.name}: {note}" for note in got.notes]
    with open_registry(registry, create=True, inputs=[Path(p) for p in paths]) as store:
        added = store.add(records, covariances, origin=", ".join(Path(p).name for p in paths))
    return Imported(added, tuple(notes))


def registry_counts(registry: str | Path) -> dict[tuple[str, str], tuple[int, int]]:
    """Per (channel, metric) of a registry: its records and how many of their arms were launched.

    Parameters
    ----------
    registry
        An existing registry.
    """
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    with open_registry(registry, create=False) as store:
        for r in store.records():
            n, launched = counts.get((r.channel, r.metric), (0, 0))
            counts[r.channel, r.metric] = (n + 1, launched + r.launched)
    return dict(sorted(counts.items()))


def mark_launched(registry: str | Path, spec_hash: str, arm: str) -> int:
    """Mark one test's arm as launched in ``registry``; the number of records marked.

    Parameters
    ----------
    registry
        An existing registry.
    spec_hash
        The test's experiment-file hash (its report's ``provenance.spec_sha256``; the first
        characters are enough when they name one test).
    arm
        The arm that was launched.
    """
    with open_registry(registry, create=False, write=True) as store:
        return store.mark_launched(spec_hash, arm)


class Learnt(NamedTuple):
    """What ``learn`` computed and wrote.

    Attributes
    ----------
    learning
        The results.
    pdf, json, html
        The report's files.
    priors
        The learned-priors file that ``run`` and ``design`` read (``priors.from``).
    """

    learning: Learning
    pdf: Path
    json: Path
    html: Path
    priors: Path


def learn_from(
    source: str | Path,
    *,
    out_dir: str | Path = "reports",
    seed: int,
    name: str | None = None,
    on_step: StepCallback | None = None,
) -> Learnt:
    """Learn from a programme (a registry or a folder of reports); write ``OUT/NAME.learn.*``.

    Parameters
    ----------
    source
        A registry file or a folder of run reports.
    out_dir
        The output folder.
    seed
        Seeds the sampler and every draw.
    name
        The outputs' stem (default: the registry's stem or the folder's name).
    on_step
        Called with a short description of each step as it starts.

    Returns
    -------
    Learnt
        The results and the paths written (PDF, JSON, HTML and the learned priors, together).
    """
    from channelab.reporting.html import twin
    from channelab.reporting.json_report import learn_json, learned_priors_json
    from channelab.reporting.pdf import learn_pdf

    out = Path(out_dir)
    stem = name or (Path(source).resolve().name if Path(source).is_dir() else Path(source).stem)
    paths = [out / f"{stem}.learn.{ext}" for ext in ("pdf", "json", "html")] + [out / f"{stem}.priors.json"]
    inputs = [Path(source)]
    check_outputs(paths, inputs=inputs)
    learning = learn_programme(source, seed=seed, on_step=on_step)
    if on_step:
        on_step("Drawing figures and writing the PDF, JSON, HTML and learned priors")
    report = twin(learn_pdf, learning)
    files = {
        paths[0]: report.pdf,
        paths[1]: json_bytes(learn_json(learning)),
        paths[2]: report.html,
        paths[3]: json_bytes(learned_priors_json(learning)),
    }
    commit(files, inputs=inputs)
    return Learnt(learning, *paths)
