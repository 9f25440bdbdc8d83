"""Replicating an original study: the statistics, the original's numbers, the judgement, the plan.

Modules: ``stats`` (replication Bayes factors, sample sizes, small telescopes, assurance),
``original`` (the spec's original study, published or assumed numbers), ``judge`` (a
replication's verdict from its cells), ``plan`` (``channelab replicate --plan``), ``labs`` (a
many-lab replication judged on the pooled evidence; ``labs_results`` and ``labs_words`` hold its
results and its sentences).

Dependency rule: imports :mod:`channelab.spec`, :mod:`channelab.cells`, :mod:`channelab.provenance`
and the base modules; never the model, the engine, plotting or reporting.

May import: errors, limits, files, spec, provenance, cells. (Checked by ``tests/test_layers.py``.)
"""

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from channelab.replication.judge import ArmContrast, Estimate, MetricReplication, ReplicationResult, judge
    from channelab.replication.labs import LabsResult, judge_labs
    from channelab.replication.plan import ReplicationPlan, plan
    from channelab.replication.stats import (
        ReplicationAssurance,
        binomial_replication_bf,
        normal_replication_bf,
    )

__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "judge": ["ArmContrast", "Estimate", "MetricReplication", "ReplicationResult", "judge"],
        "labs": ["LabsResult", "judge_labs"],
        "plan": ["ReplicationPlan", "plan"],
        "stats": ["ReplicationAssurance", "binomial_replication_bf", "normal_replication_bf"],
    },
)
__all__ = [
    "ArmContrast",
    "Estimate",
    "LabsResult",
    "MetricReplication",
    "ReplicationAssurance",
    "ReplicationPlan",
    "ReplicationResult",
    "binomial_replication_bf",
    "judge",
    "judge_labs",
    "normal_replication_bf",
    "plan",
]
