"""The experiment definition: a YAML file parsed once into a strict, typed :class:`Spec`.

Nothing downstream reads YAML or dictionaries: every stage takes the :class:`Spec`.
Unknown keys are rejected with a suggestion, and every problem is reported on one line
with its key path, e.g. ``metrics.1.role: got 'outcom', but expected one of ...``.

Modules: ``base`` (vocabularies, the strict model), ``core`` (metrics, arms, data, model,
sampler, decision, priors), ``plan`` (power, assurance, assignment, matching settings),
``monitor`` (looks and the stopping rule), ``original`` (a study to replicate), ``schema``
(:class:`Spec`), ``loader`` (YAML in).

Dependency rule: the bottom layer. Imports only :mod:`channelab.errors`, pydantic and PyYAML;
only ``loader`` reads YAML.

May import: errors, files. (Checked by ``tests/test_layers.py``.)
"""

from channelab.spec.base import DECISIVE_ROLES, FUNNEL_ORDER, Channel, MetricType, Role
from channelab.spec.core import (
    Arm,
    Cost,
    DataSource,
    Decision,
    Economics,
    Metric,
    ModelOptions,
    Priors,
    Sampler,
    Unit,
)
from channelab.spec.loader import load_spec, parse_spec
from channelab.spec.monitor import Monitoring
from channelab.spec.original import Original, Replication
from channelab.spec.plan import Baseline, Matching, Plan
from channelab.spec.schema import Spec

__all__ = [
    "DECISIVE_ROLES",
    "FUNNEL_ORDER",
    "Arm",
    "Baseline",
    "Channel",
    "Cost",
    "DataSource",
    "Decision",
    "Economics",
    "Matching",
    "Metric",
    "MetricType",
    "ModelOptions",
    "Monitoring",
    "Original",
    "Plan",
    "Priors",
    "Replication",
    "Role",
    "Sampler",
    "Spec",
    "Unit",
    "load_spec",
    "parse_spec",
]
