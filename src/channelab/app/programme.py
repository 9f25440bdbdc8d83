"""Commands on a programme of experiments: the registry (add, import, mark), ``learn``.

A run adds its records only after its report is committed, in one transaction, so a killed run
adds nothing or everything. The registry a spec names lives inside ``--out`` (a spec writes
nowhere else); ``--registry PATH`` names one anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from channelab.engine.registry import Added, RecordSource, open_registry
from channelab.engine.registry.imports import records_from_report, records_from_summaries
from channelab.errors import DataError, SpecError, shown
from channelab.files import check_outputs, commit, json_bytes
from channelab.pipeline.read import StepCallback
from channelab.pipeline.records import run_records
from channelab.spec import Spec

if TYPE_CHECKING:  # a run that records its effects loads no learning code
    from channelab.pipeline.learn import Learning
    from channelab.pipeline.run import Analysis

__all__ = [
    "Digest",
    "Imported",
    "Learnt",
    "digest_programme",
    "import_records",
    "learn_from",
    "mark_launched",
    "record_run",
    "registry_counts",
    "registry_for",
]


#: An output stem (``--name``): a plain file name, so the outputs stay inside ``--out``.
_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,159}")


def _stem(name: str | None) -> str | None:
    """``--name`` checked: letters, digits, ``_``, ``-`` and ``.``, starting with a letter or digit."""
    if name is not None and not _STEM.fullmatch(name):
        raise SpecError(
            f"--name: got {shown(name)}; expected a plain name of letters, digits, '_', '-' and '.' "
            "(no folders: the outputs go to --out)."
        )
    return name


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


def record_run(
    analysis: Analysis,
    registry: Path,
    *,
    source: RecordSource,
    inputs: Sequence[Path],
    report: str | Path | None = None,
) -> Added:
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
    report
        The JSON report the run wrote, kept on each record as written (the digest links to it).

    Returns
    -------
    Added
        What was written, and the duplicates counted once.
    """
    records, covariances = run_records(
        analysis, source=source, report=None if report is None else str(report)
    )
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
    sentences
        Page 1's sentences, each printed under its licensing condition.
    """

    learning: Learning
    pdf: Path
    json: Path
    html: Path
    priors: Path
    sentences: tuple[str, ...] = ()


def learn_from(
    source: str | Path,
    *,
    out_dir: str | Path = "reports",
    seed: int | None = None,
    name: str | None = None,
    on_step: StepCallback | None = None,
) -> Learnt:
    """Learn from a programme; write ``OUT/NAME.learn.{pdf,json,html}`` and ``OUT/NAME.priors.json``.

    Parameters
    ----------
    source
        A programme file (``.yaml``), or one registry, folder of run reports, report or table.
    out_dir
        The output folder.
    seed
        Overrides the programme's seed.
    name
        The outputs' stem (default: the programme's name, or the source's).
    on_step
        Called with a short description of each step as it starts.

    Returns
    -------
    Learnt
        The results and the paths written (PDF, JSON, HTML and the learned priors, together).
    """
    from channelab.pipeline.learn import learn_programme, programme_of
    from channelab.reporting.html import twin
    from channelab.reporting.json_report import learn_json, learned_priors_json
    from channelab.reporting.pdf import learn_pdf

    programme = programme_of(source, seed=seed)
    stem, out = _stem(name) or programme.name, Path(out_dir)
    paths = [out / f"{stem}.learn.{ext}" for ext in ("pdf", "json", "html")] + [out / f"{stem}.priors.json"]
    inputs = [Path(source), *(programme.resolve_path(Path(s)) for s in programme.sources)]
    check_outputs(paths, inputs=inputs)  # a bad --out fails now, not after the fit
    learning = learn_programme(programme, on_step=on_step)  # read once, above
    if name is not None:
        learning = replace(learning, name=name)
    if on_step:
        on_step("Drawing figures and writing the PDF, JSON, HTML and learned priors")
    report = twin(learn_pdf, learning)
    payload = learn_json(learning)
    files = {
        paths[0]: report.pdf,
        paths[1]: json_bytes(payload),
        paths[2]: report.html,
        paths[3]: json_bytes(learned_priors_json(learning)),
    }
    commit(files, inputs=inputs)
    sentences = tuple(s["text"] for s in payload["sentences"])
    return Learnt(learning, paths[0], paths[1], paths[2], paths[3], sentences)


class Digest(NamedTuple):
    """What ``digest`` wrote.

    Attributes
    ----------
    text
        The digest as Markdown (also plain text).
    markdown, html
        The files written: ``NAME.digest.md`` and ``NAME.digest.html``.
    tests
        Tests listed (concluded in the range).
    """

    text: str
    markdown: Path
    html: Path
    tests: int


def _learned_report(path: Path) -> dict[str, object]:
    """A ``learn`` JSON report, read within its bound and checked to be one."""
    import json

    from channelab.engine.registry.imported import read_bounded
    from channelab.limits import MAX_REPORT_BYTES
    from channelab.reporting.digest import learned_sentences

    text = read_bounded(path, MAX_REPORT_BYTES, "a learn report (NAME.learn.json)")
    try:
        report = json.loads(text)
    except (ValueError, RecursionError):
        raise DataError(
            f"{path}: not a learn report: not valid JSON. Give the NAME.learn.json that channelab learn "
            "wrote, or leave out --learned."
        ) from None
    learned_sentences(report, str(path))
    return report


def digest_programme(
    registry: str | Path,
    *,
    since: date,
    until: date,
    out_dir: str | Path = "reports",
    name: str | None = None,
    learned: str | Path | None = None,
) -> Digest:
    """Write a stakeholder digest of the tests concluded in a date range: ``OUT/NAME.digest.{md,html}``.

    Parameters
    ----------
    registry
        An existing registry of results.
    since, until
        The first and last day of the range, both included.
    out_dir
        The output folder.
    name
        The outputs' stem (default: the registry's stem).
    learned
        A ``learn`` JSON report whose sentences say what the programme has learned.

    Returns
    -------
    Digest
        The Markdown text and the paths written (both together).

    Raises
    ------
    SpecError
        ``since`` is after ``until``.
    DataError
        The registry is not one, no test concluded in the range (the range the registry covers is
        said), or ``learned`` is not a learn report.
    """
    from channelab.errors import SpecError
    from channelab.reporting.digest import concluded_tests, digest_html, digest_text, records_span

    if since > until:
        raise SpecError(f"digest: --from {since} is after --to {until}; give the earlier date first.")
    source = Path(registry)
    stem = _stem(name) or source.stem
    out = Path(out_dir)
    paths = (out / f"{stem}.digest.md", out / f"{stem}.digest.html")
    inputs = [source] + ([Path(learned)] if learned is not None else [])
    with open_registry(source, create=False) as store:
        records = store.records()
    if not (tests := concluded_tests(records, since=since, until=until)):
        raise DataError(_nothing_between(source, since, until, records_span(records)))
    report = _learned_report(Path(learned)) if learned is not None else None
    title = f"{stem}: tests concluded {since} to {until}"
    text = digest_text(records, since=since, until=until, learned=report, title=title)
    page = digest_html(records, since=since, until=until, learned=report, title=title)
    commit({paths[0]: text.encode("utf-8"), paths[1]: page.encode("utf-8")}, inputs=inputs)
    return Digest(text, *paths, len(tests))


def _nothing_between(source: Path, since: date, until: date, span: tuple[date, date, int] | None) -> str:
    if span is None:
        return f"{source}: the registry holds no test yet; nothing to digest. Add runs or import reports."
    first, last, tests = span
    return (
        f"{source}: no test concluded between {since} and {until}; the registry's {tests:,} test(s) "
        f"concluded between {first} and {last}. Give a range that overlaps those dates."
    )
