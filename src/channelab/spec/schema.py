"""The whole experiment definition, :class:`Spec`, and the order in which its checks run.

Each part of the spec is checked beside its model (:mod:`~channelab.spec.core`,
:mod:`~channelab.spec.arms`, :mod:`~channelab.spec.plan`, ...), by a function that takes the
spec and returns its problems, one line each, led by the key path. :data:`_CHECKS` lists
them in the order their problems are reported; a new feature adds its check there.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from channelab.errors import SpecError, shown
from channelab.limits import MAX_ARMS, MAX_DESCRIPTION, MAX_LABEL, MAX_METRICS, MAX_SEED, MAX_TITLE
from channelab.spec.adjustment import adjust_problems, with_linear_adjustment
from channelab.spec.arms import Arm, Economics, arm_problems, money_problems
from channelab.spec.base import FUNNEL_ORDER, Strict
from channelab.spec.columns import column_problems
from channelab.spec.core import (
    Decision,
    Metric,
    ModelOptions,
    Priors,
    Sampler,
    Unit,
    funnel_problems,
    metric_problems,
    prior_problems,
)
from channelab.spec.data import DataSource, data_problems, summaries_problems
from channelab.spec.monitor import Monitoring
from channelab.spec.original import Original, Replication, original_problems
from channelab.spec.plan import (
    Assignment,
    Matching,
    Plan,
    assignment_problems,
    matching_problems,
    plan_problems,
)
from channelab.spec.quantiles import quantile_problems
from channelab.spec.timing import parse_day, timing_problems


class Spec(Strict):
    """A validated experiment definition.

    Attributes
    ----------
    name
        The experiment's name (letters, digits, ``_``, ``.`` and ``-``), which names its outputs.
    title
        Its title in reports (default: the name with spaces).
    description
        What the test is about, in a paragraph.
    design
        ``randomised``, or ``matched``: an observational comparison made by matching or
        weighting (see :class:`~channelab.spec.plan.Matching`).
    engine
        What reads the data rows: ``duckdb``, or ``spark`` for a Spark cluster.
    unit
        The analysed unit and its columns (:class:`~channelab.spec.core.Unit`).
    data
        Where the data live (:class:`~channelab.spec.data.DataSource`); not needed to plan a
        replication.
    arm_column
        The column of arm labels.
    control
        The control arm's label.
    arms
        Per arm label, its channel, planned share and cost; a bare list of labels is allowed.
        At most 50 arms; quote labels YAML would read otherwise (``'no'``, ``'yes'``, ``'0'``).
    metrics
        What is measured per unit, in the spec's order (:class:`~channelab.spec.core.Metric`);
        at most 50.
    covariates
        Columns measured before assignment whose levels are strata of the model (and, by
        default, what a matched design balances).
    adjust
        Numeric pre-period columns (measured before assignment) to adjust for: ANCOVA exactly
        for normal models (continuous, cell means), quantile strata for the others (see
        :class:`~channelab.spec.core.ModelOptions`).
    currency
        The symbol money is printed with.
    hdi_prob
        The mass of every interval reported (0.94 by default).
    seed
        The random seed of sampling and simulation, from 0 to 2^32 − 1.
    sampler
        MCMC settings.
    decision
        How a verdict is read off the posterior.
    priors
        Priors for every metric (a metric's own ``priors`` override them).
    model
        Structure of the model beyond intercept, arm and covariate effects.
    plan
        Inputs of ``channelab design``.
    assignment
        How ``channelab assign`` randomises.
    matching
        How a matched design builds its comparison group.
    as_of
        The analysis date: units entered after it are not in the test yet, outcomes after it
        have not happened yet, written YYYY-MM-DD, from 1970-01-01 to 2100-12-31. By default
        the latest date in the data (``--as-of`` overrides).
    monitor
        Looks at a running test and the stopping rule.
    economics
        How arms' costs are read.
    original
        The original study a replication is judged against.
    replication
        How a replication is planned and judged.
    registry
        A registry of results (``channelab learn``) that ``run`` and ``replicate`` add this
        test's effects to: a file name such as ``programme.duckdb``, inside the output folder
        (``--out``), since a spec writes nowhere else. ``--registry PATH`` names one anywhere.
    source_path
        The YAML file the spec was read from (set by :func:`~channelab.spec.load_spec`, never
        read from the file itself).
    """

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    title: str | None = None
    description: str = ""
    design: Literal["randomised", "matched"] = "randomised"
    engine: Literal["duckdb", "spark"] = "duckdb"
    unit: Unit = Unit()
    data: DataSource | None = None
    arm_column: str
    control: str
    arms: dict[str, Arm]
    metrics: Annotated[list[Metric], Field(min_length=1, max_length=MAX_METRICS)]
    covariates: list[str] = Field(default_factory=list)
    adjust: list[str] = Field(default_factory=list)
    currency: str = "$"
    hdi_prob: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.94
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 20261123
    sampler: Sampler = Sampler()
    decision: Decision = Decision()
    priors: Priors = Priors()
    model: ModelOptions = ModelOptions()
    plan: Plan = Plan()
    assignment: Assignment = Assignment()
    matching: Matching = Matching()
    as_of: date | None = None
    monitor: Monitoring = Monitoring()
    economics: Economics = Economics()
    original: Original | None = None
    replication: Replication = Replication()
    registry: Annotated[str, Field(max_length=MAX_TITLE)] | None = None
    source_path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _linear_adjustment(cls, data: Any) -> Any:
        return with_linear_adjustment(data)

    @field_validator("arms", mode="before")
    @classmethod
    def _arms_may_be_bare(cls, v: Any) -> Any:
        if isinstance(v, (list, dict)):
            _check_arm_labels(list(v))
        if isinstance(v, list):  # allow a bare list of arm names
            return {str(a): {} for a in v}
        if isinstance(v, dict):
            return {str(k): ({} if a is None else a) for k, a in v.items()}
        return v

    @field_validator("registry")
    @classmethod
    def _registry_inside_out(cls, v: str | None) -> str | None:
        if v is not None and not _REGISTRY_NAME.fullmatch(v):
            raise ValueError(
                f"got {shown(v)}; expected a file name ending in .duckdb inside the output folder, such "
                "as programme.duckdb or registry/programme.duckdb (no '..', not absolute: a spec writes "
                "only under --out; pass --registry PATH to use one elsewhere)"
            )
        return v

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of_day(cls, v: Any) -> date | None:
        return parse_day(v)  # YYYY-MM-DD within the plausible range; a ValueError says why not

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = [line for check in _CHECKS for line in check(self)]
        if problems:  # one line per problem, each starting with its key path
            raise ValueError("\n".join(problems))
        return self

    # ---- derived views -------------------------------------------------------------------

    @property
    def matching_covariates(self) -> list[str]:
        """Covariates balanced by matching: ``matching.covariates``, or the spec's covariates."""
        return (
            list(self.matching.covariates) if self.matching.covariates is not None else list(self.covariates)
        )

    @property
    def replicated_metrics(self) -> list[Metric]:
        """Metrics the original reports for both arms of its contrast, in funnel order."""
        if self.original is None:
            return []
        a, b = (self.original.arms[x].metrics for x in self.original.contrast)
        return [m for m in self.metrics_in_funnel_order if m.name in a and m.name in b]

    @property
    def primary_metric(self) -> Metric | None:
        """The metric whose replication verdict is the headline (see :class:`Replication`)."""
        metrics = self.replicated_metrics
        chosen = [m for m in metrics if m.name == self.replication.primary] or [
            m for m in metrics if m.role == "outcome"
        ]
        return next(iter(chosen or metrics), None)

    @property
    def binned_adjustment(self) -> bool:
        """Whether some metric is adjusted through quantile strata of the ``adjust`` columns."""
        return bool(self.adjust) and not all(
            m.likelihood.exact_adjustment for m in self.metrics if m.likelihood.modelled
        )

    @property
    def target_arms(self) -> tuple[str, ...]:
        """The arms whose units' mix every arm is compared on; empty for the mix of all units.

        The treated arms for an effect on the treated of an observational design; otherwise
        every arm is compared on the mix of all the (weighted) units.
        """
        if self.design == "matched" and self.matching.estimand_code == "ATT":
            return tuple(self.treatments)
        return ()

    @property
    def costed(self) -> bool:
        """Whether the spec gives money: an arm's cost or a metric's value (economics are computed)."""
        return any(a.cost is not None for a in self.arms.values()) or any(
            m.value is not None for m in self.metrics
        )

    @property
    def timed(self) -> bool:
        """Whether the data say when each unit entered (analyses as of a date, windows, monitoring)."""
        return self.unit.entered_at is not None

    @property
    def treatments(self) -> list[str]:
        """Arm labels other than the control, in the order the spec lists them."""
        return [a for a in self.arms if a != self.control]

    @property
    def arm_order(self) -> list[str]:
        """Control first, then treatments."""
        return [self.control, *self.treatments]

    @property
    def metrics_in_funnel_order(self) -> list[Metric]:
        """Metrics sorted engagement → outcome → revenue, keeping the spec's order within a role."""
        return sorted(self.metrics, key=lambda m: FUNNEL_ORDER[m.role])

    @property
    def data_path(self) -> Path:
        """Absolute path of the data file, resolved against the spec's own folder."""
        if self.data is None or self.data.path is None:
            raise SpecError(f"{self.source_path or 'the spec'}: it names no data file (data.path)")
        return self.resolve_path(self.data.path)

    def with_likelihoods(self, likelihoods: dict[str, str]) -> Spec:
        """The spec with the likelihoods of the named metrics replaced (data fallbacks).

        Parameters
        ----------
        likelihoods
            Per metric name, the likelihood to fit instead (a ``count_likelihood`` or
            ``revenue_likelihood`` value, by the metric's type).
        """
        metrics = [
            m.model_copy(update={f"{m.type}_likelihood": likelihoods[m.name]}) if m.name in likelihoods else m
            for m in self.metrics
        ]
        return self.model_copy(update={"metrics": metrics})

    @property
    def input_kind(self) -> Literal["unit rows", "aggregated rows", "published summaries", "none"]:
        """What the data are: one row per unit, aggregated rows, or a paper's per-arm table."""
        if self.data is None:
            return "none"
        if self.data.summaries is not None:
            return "published summaries"
        return "aggregated rows" if self.data.layout == "aggregated" else "unit rows"

    @property
    def shares_known(self) -> bool:
        """Whether every arm has a planned share (none is ``unknown``)."""
        return all(a.share != "unknown" for a in self.arms.values())

    def resolve_path(self, p: Path) -> Path:
        """``p`` resolved against the spec's own folder when relative.

        Parameters
        ----------
        p
            A path named in the spec.
        """
        if not p.is_absolute() and self.source_path is not None:
            p = (self.source_path.parent / p).resolve()
        return p

    @property
    def pools_arms(self) -> bool:
        """Whether arm effects are partially pooled (needs two or more treatments)."""
        return self.model.pool_arms and len(self.treatments) >= 2

    def priors_for(self, metric: Metric) -> Priors:
        """Priors in force for ``metric``: package defaults, then the spec's, then the metric's.

        Parameters
        ----------
        metric
            One of the spec's metrics.
        """
        return self.priors.merged(metric.priors)

    def planned_shares(self) -> dict[str, float]:
        """Planned allocation of units to arms, normalised to sum to one.

        Raises :class:`SpecError` when a share is ``unknown`` (see :attr:`shares_known`).
        """
        shares = {k: a.share for k, a in self.arms.items()}
        known = {k: v for k, v in shares.items() if v != "unknown"}
        if len(known) < len(shares):
            unknown = [k for k in shares if k not in known]
            raise SpecError(
                f"{self.source_path or 'the spec'}: arms {unknown} have share: unknown; planning and "
                "assigning need each arm's planned share (e.g. share: 1)"
            )
        total = math.fsum(known.values())
        return {k: v / total for k, v in known.items()}

    @property
    def display_title(self) -> str:
        """Human title for reports."""
        return self.title or self.name.replace("_", " ")


#: A registry the spec names: a relative path of plain names inside ``--out``, ending in .duckdb.
_REGISTRY_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*\.duckdb")


def _check_arm_labels(labels: list[Any]) -> None:
    """Refuse more arms than a test can have, and labels YAML read as booleans or null."""
    if len(labels) > MAX_ARMS:
        raise ValueError(
            f"got {len(labels):,} arms, but expected at most {MAX_ARMS}; each arm is compared "
            "with the control, so list the channels tested, not units or campaigns"
        )
    odd = [a for a in labels if isinstance(a, bool) or a is None]
    if odd:
        raise ValueError(
            f"got {odd[0]!r} as an arm label: YAML reads an unquoted yes, no, on, off, true, false "
            "or null as a boolean or nothing; quote the label (e.g. 'no':)"
        )


def _label_problems(spec: Spec) -> list[str]:
    """Labels that reports cannot print: too long, or holding control characters."""
    texts = [(f"arms.{_short_label(a)}", a, MAX_LABEL) for a in spec.arms]
    texts += [(f"metrics.{i}.label", m.label, MAX_LABEL) for i, m in enumerate(spec.metrics) if m.label]
    texts += [("title", spec.title, MAX_TITLE)] if spec.title else []
    out = []
    for where, text, limit in texts:
        if len(text) > limit:
            out.append(
                f"{where}: got {len(text):,} characters, but expected at most {limit}; shorten the label"
            )
        if any(unicodedata.category(ch).startswith("C") for ch in text):
            out.append(f"{where}: holds a control character (tab, newline, ...); use plain text")
    if len(spec.description) > MAX_DESCRIPTION:
        out.append(
            f"description: got {len(spec.description):,} characters, but expected at most {MAX_DESCRIPTION}"
        )
    return out


def _short_label(text: str) -> str:
    return text if len(text) <= 30 else text[:27] + "..."


#: The checks of the spec, one per feature, in the order their problems are reported: each
#: takes the spec and returns its problems, one line each, led by the key path.
_CHECKS: tuple[Callable[[Spec], list[str]], ...] = (
    _label_problems,  # labels reports cannot print
    arm_problems,  # arms: at least two, the control among them
    metric_problems,  # metrics: names, a decisive metric, revenue's role
    column_problems,  # covariates, model.lift_by, unit.randomised_by
    adjust_problems,  # adjust: pre-period columns
    prior_problems,  # priors.arm_mu
    matching_problems,  # design: matched
    data_problems,  # data: the source, aggregated rows
    summaries_problems,  # data.summaries: a published per-arm table
    funnel_problems,  # metrics[].denominator
    quantile_problems,  # metrics[].type: quantile, q, among
    timing_problems,  # unit.entered_at, metrics[].at and window_days, as_of
    money_problems,  # metrics[].value and worse, arms' costs, economics
    plan_problems,  # plan.baselines, plan.r_squared
    assignment_problems,  # assignment.strata
    original_problems,  # original, replication
)
