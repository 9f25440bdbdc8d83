"""A run's effects as registry records: one per arm and metric, and the within-arm covariances.

The key of a record is the experiment file's hash, the data's fingerprint, the arm and the
metric, so the same test run twice (or run, then its report imported) is counted once. A
conditional share (a metric measured among an earlier stage) explains but never decides, so it
is not recorded; its outcome per unit is.
"""

from __future__ import annotations

import hashlib

from channelab.analysis.results import Effect
from channelab.engine.registry import Covariance, Record, RecordSource, pooled_channel
from channelab.engine.registry.imports import data_fingerprint
from channelab.pipeline.run import Analysis
from channelab.replication.labs_results import LabsResult

__all__ = ["run_records"]


def _spec_hash(analysis: Analysis) -> str:
    return (
        analysis.provenance.spec_sha256
        or hashlib.sha256(analysis.spec.model_dump_json().encode()).hexdigest()
    )


def _record(
    analysis: Analysis, e: Effect, keys: tuple[str, str], source: RecordSource, report: str | None
) -> Record:
    spec = analysis.spec
    return Record(
        spec_hash=keys[0],
        data_fingerprint=keys[1],
        experiment=spec.title or spec.name,
        first_date=None,
        last_date=spec.as_of,
        arm=e.arm,
        channel=pooled_channel(e.arm, spec.arms[e.arm].channel),
        metric=e.metric,
        role=e.role,
        metric_type=e.type,
        control_mean=e.control_mean,
        diff_mean=e.abs_lift.mean,
        diff_sd=e.diff_sd,
        loglift_mean=e.loglift_mean,
        loglift_sd=e.loglift_sd,
        n_arm=e.n_arm,
        n_control=e.n_control,
        verdict=e.verdict,
        source=source,
        report=report,
    )


def run_records(
    analysis: Analysis, *, source: RecordSource = "run", report: str | None = None
) -> tuple[list[Record], list[Covariance]]:
    """The records and covariances one analysis adds to a registry.

    Parameters
    ----------
    analysis : Analysis
        A finished run (or replication).
    source : {"run", "replicate"}
        What made it.
    report : str, optional
        The path of the JSON report the run wrote, kept on each record (for the digest's links).

    Returns
    -------
    tuple of (list of Record, list of Covariance)
        One record per treatment arm and metric that decides (conditional shares left out), and
        one covariance per arm and pair of recorded metrics that the data could give. A many-lab
        replication gives one record per lab and metric instead (its contrast, on the difference
        scale), so that ``learn`` pools the labs as the replication did. A run that started
        from learned priors (``priors.from``) is recorded with its effects under the default
        priors: its own evidence, not the programme's again.
    """
    if analysis.labs is not None:  # the labs are the records; their stacked rows would count twice
        return _lab_records(analysis, analysis.labs, report), []
    keys = (_spec_hash(analysis), data_fingerprint(analysis.provenance.data))
    # a run that started from learned priors is recorded under the default ones: the registry
    # must hold each test's own evidence, or the programme would count what it taught twice
    learned = analysis.learned
    result = learned.default_effects if learned and learned.default_effects else analysis.effects
    effects = [e for e in result.effects if not e.conditional]
    records = [_record(analysis, e, keys, source, report) for e in effects]
    recorded = {(e.arm, e.metric) for e in effects}
    covariances = [
        Covariance(keys[0], keys[1], arm.arm, c.metric_a, c.metric_b, c.diff, c.loglift)
        for arm in result.arms
        for c in arm.covariances
        if c.diff is not None and {(arm.arm, c.metric_a), (arm.arm, c.metric_b)} <= recorded
    ]
    return records, covariances


def _lab_fingerprint(labs: LabsResult, i: int, name: str) -> str:
    """A lab's data fingerprint, with its name: two labs are two records even on equal files."""
    data = dict(labs.data[i]) if i < len(labs.data) else {}
    content = data.pop("sha256", None)  # the file's hash stays in, beside the lab's name
    return data_fingerprint({"lab": name, "content": content, "data": data})


def _lab_records(analysis: Analysis, labs: LabsResult, report: str | None) -> list[Record]:
    """One record per lab and metric of a many-lab replication: the original's contrast, a − b."""
    spec, a = analysis.spec, labs.contrast[0]
    roles = {m.name: m for m in spec.metrics}
    return [
        Record(
            spec_hash=_spec_hash(analysis),
            data_fingerprint=_lab_fingerprint(labs, i, lab.lab),
            experiment=f"{spec.title or spec.name}: {lab.lab}",
            first_date=None,
            last_date=spec.as_of,
            arm=a,
            channel=pooled_channel(a, spec.arms[a].channel),
            metric=m.metric,
            role=roles[m.metric].role,
            metric_type=roles[m.metric].type,
            control_mean=lab.means[1],
            diff_mean=lab.observed.mean,
            diff_sd=lab.se,
            loglift_mean=None,  # labs pool on the difference, as the replication does
            loglift_sd=None,
            n_arm=lab.n[0],
            n_control=lab.n[1],
            verdict="not judged",
            source="replicate",
            report=report,
        )
        for m in labs.metrics
        for i, lab in enumerate(m.labs)
    ]
