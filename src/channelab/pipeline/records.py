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
        one covariance per arm and pair of recorded metrics that the data could give.
    """
    keys = (_spec_hash(analysis), data_fingerprint(analysis.provenance.data))
    effects = [e for e in analysis.effects.effects if not e.conditional]
    records = [_record(analysis, e, keys, source, report) for e in effects]
    recorded = {(e.arm, e.metric) for e in effects}
    covariances = [
        Covariance(keys[0], keys[1], arm.arm, c.metric_a, c.metric_b, c.diff, c.loglift)
        for arm in analysis.effects.arms
        for c in arm.covariances
        if c.diff is not None and {(arm.arm, c.metric_a), (arm.arm, c.metric_b)} <= recorded
    ]
    return records, covariances
