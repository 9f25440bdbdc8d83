"""The experiment definition: a YAML file parsed once into a strict, typed :class:`Spec`.

Nothing downstream reads YAML or dictionaries: every stage takes the :class:`Spec`.
Unknown keys are rejected with a suggestion, and every problem is reported on one line
with its key path, e.g. ``metrics.1.role: got 'outcom', but expected one of ...``.

Modules: ``base`` (vocabularies, the strict model), ``core`` (metrics, unit, model, sampler,
decision, priors), ``arms`` (arms, costs, economics), ``summaries`` (per-arm tables of
published numbers), ``data`` (the data source), ``plan`` (power, assurance, assignment,
matching settings), ``monitor`` (looks and the stopping rule), ``original`` (a study to
replicate), ``columns``, ``adjustment`` and ``timing`` (the other columns named, pre-period
columns, dates), ``formula`` (the propensity formula), ``schema`` (:class:`Spec`),
``loader`` (YAML in).

Checks that span the parts (a control among the arms, a covariate that is not a metric, ...)
live beside the model of their feature, one function per feature that returns the spec's
problems as lines; :class:`Spec` runs them in a fixed order (``schema._CHECKS``) and reports
every problem at once. A new feature adds its check there, not a branch to another.

Dependency rule: the bottom layer. Imports only :mod:`channelab.errors`,
:mod:`channelab.likelihoods`, pydantic and PyYAML; only ``loader`` reads YAML.

May import: errors, limits, files, likelihoods. (Checked by ``tests/test_layers.py``.)
"""

from channelab.spec.arms import Arm, Cost, Economics, pooled_channel
from channelab.spec.base import DECISIVE_ROLES, DESCRIPTIVE_TYPES, FUNNEL_ORDER, Channel, MetricType, Role
from channelab.spec.core import Decision, Metric, ModelOptions, Priors, Sampler, Unit
from channelab.spec.data import DataSource
from channelab.spec.loader import load_programme, load_spec, parse_spec
from channelab.spec.monitor import Monitoring
from channelab.spec.original import Original, Replication
from channelab.spec.plan import Baseline, Matching, Plan
from channelab.spec.programme import PriorEntries, Programme, ProgrammePriors
from channelab.spec.schema import Spec

__all__ = [
    "DECISIVE_ROLES",
    "DESCRIPTIVE_TYPES",
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
    "PriorEntries",
    "Priors",
    "Programme",
    "ProgrammePriors",
    "Replication",
    "Role",
    "Sampler",
    "Spec",
    "Unit",
    "load_programme",
    "load_spec",
    "parse_spec",
    "pooled_channel",
]
