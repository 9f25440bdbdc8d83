"""The whole experiment definition, :class:`Spec`, and the checks that span its parts."""

from __future__ import annotations

import math
import unicodedata
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from channelab.errors import SpecError
from channelab.spec.base import FUNNEL_ORDER, Strict, suggest
from channelab.spec.core import (
    Arm,
    DataSource,
    Decision,
    Economics,
    Metric,
    ModelOptions,
    Priors,
    Sampler,
    Unit,
)
from channelab.spec.formula import parse
from channelab.spec.monitor import Monitoring
from channelab.spec.original import Original, OriginalArm, Replication
from channelab.spec.plan import Assignment, Matching, Plan


class Spec(Strict):
    """A validated experiment definition."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    title: str | None = None
    description: str = ""
    design: Literal["randomised", "matched"] = "randomised"
    engine: Literal["duckdb", "spark"] = "duckdb"
    unit: Unit = Unit()
    data: DataSource | None = None  # not needed to plan a replication
    arm_column: str
    control: str
    arms: dict[str, Arm]
    metrics: Annotated[list[Metric], Field(min_length=1)]
    covariates: list[str] = Field(default_factory=list)
    #: Numeric pre-period columns (measured before assignment) to adjust for: ANCOVA exactly for
    #: normal models (continuous, cell means), quantile strata for the others (see ModelOptions).
    adjust: list[str] = Field(default_factory=list)
    currency: str = "$"
    hdi_prob: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.94
    seed: int = 20261123
    sampler: Sampler = Sampler()
    decision: Decision = Decision()
    priors: Priors = Priors()
    model: ModelOptions = ModelOptions()
    plan: Plan = Plan()
    assignment: Assignment = Assignment()
    matching: Matching = Matching()
    #: The analysis date: units entered after it are not in the test yet, outcomes after it
    #: have not happened yet. By default the latest date in the data (``--as-of`` overrides).
    as_of: date | None = None
    monitor: Monitoring = Monitoring()
    economics: Economics = Economics()
    original: Original | None = None
    replication: Replication = Replication()
    source_path: Path | None = Field(default=None, exclude=True)

    @field_validator("arms", mode="before")
    @classmethod
    def _arms_may_be_bare(cls, v: Any) -> Any:
        if isinstance(v, list):  # allow a bare list of arm names
            return {str(a): {} for a in v}
        if isinstance(v, dict):
            return {str(k): ({} if a is None else a) for k, a in v.items()}
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[str] = _label_problems(self)
        if len(self.arms) < 2:
            problems.append(
                f"arms: got {len(self.arms)} arm(s), but expected the control and at least one treatment"
            )
        if self.control not in self.arms:
            problems.append(
                f"control: got {self.control!r}, but expected one of the arms {list(self.arms)}"
                + suggest(self.control, list(self.arms))
            )
        first: dict[str, int] = {}
        for i, m in enumerate(self.metrics):
            if m.name in first:
                problems.append(
                    f"metrics.{i}.name: {m.name!r} is already the name of metrics.{first[m.name]}; "
                    "give each metric its own name"
                )
            first.setdefault(m.name, i)
        if not any(m.decisive for m in self.metrics):
            problems.append(
                "metrics: no metric has role 'outcome' or 'revenue'; channelab judges arms on "
                "costly steps (meetings, purchases, money), so add at least one"
            )
        for i, m in enumerate(self.metrics):
            if m.type == "revenue" and m.role != "revenue":
                problems.append(
                    f"metrics.{i}.role: got {m.role!r} for metric {m.name!r} of type 'revenue', "
                    "but expected role 'revenue'"
                )
        used = {m.source_column: f"the column of metric {m.name!r}" for m in self.metrics}
        used[self.arm_column] = "the arm column"
        for c in dict.fromkeys(self.covariates):
            if c in used:
                problems.append(
                    f"covariates: {c!r} is also {used[c]}; a covariate must be measured before "
                    "assignment, so remove it from 'covariates'"
                )
        if self.model.lift_by is not None and self.model.lift_by not in self.covariates:
            problems.append(
                f"model.lift_by: got {self.model.lift_by!r}, but expected one of the covariates "
                f"{self.covariates}" + suggest(self.model.lift_by, self.covariates)
            )
        cluster = self.unit.randomised_by
        if cluster is not None and (cluster in self.covariates or cluster in used):
            problems.append(
                f"unit.randomised_by: {cluster!r} is also a covariate, metric or the arm column; "
                "it must be the column naming each unit's cluster (e.g. rep_id)"
            )
        if len(set(self.covariates)) != len(self.covariates):
            problems.append("covariates: a column is listed twice")
        problems += self._adjust_problems(used)
        for a in {
            **self.priors.arm_mu,
            **{k: v for m in self.metrics if m.priors for k, v in m.priors.arm_mu.items()},
        }:
            if a not in self.arms or a == self.control:
                problems.append(f"priors.arm_mu: {a!r} is not a treatment arm" + suggest(a, list(self.arms)))
        if self.design == "matched":
            if len(self.arms) != 2 and not self.matching.weighting:
                problems.append(
                    f"arms: matching pairs the treated with the untreated, so it needs exactly two "
                    f"arms (the control and one treatment), got {len(self.arms)}; to compare several "
                    "channels with the untreated, weight them (matching.method: entropy, ipw or overlap)"
                )
            if not self.matching_covariates:
                problems.append("matching.covariates: a matched design needs covariates to balance")
            problems += self.matching.problems()
            if self.matching.propensity is not None:
                allowed = self.matching_covariates
                for c in parse(self.matching.propensity).columns:
                    if c not in allowed:
                        problems.append(
                            f"matching.propensity: {c!r} is not a matching covariate; list it in "
                            "matching.covariates so its balance is checked" + suggest(c, allowed)
                        )
            if self.unit.randomised_by is not None:
                problems.append("unit.randomised_by: nothing was randomised in a matched design; remove it")
            if self.engine == "spark":
                problems.append(
                    "engine: matching runs in memory on the units; use engine: duckdb for a matched design"
                )
        if self.engine == "spark" and self.data is not None and self.data.resolved_format == "duckdb":
            problems.append("engine: Spark cannot read a DuckDB database; export the rows to Parquet")
        problems += self._data_problems()
        problems += self._denominator_problems()
        problems += self._time_problems(used)
        problems += self._money_problems()
        names = [m.name for m in self.metrics]
        for k in self.plan.baselines:
            if k not in names:
                problems.append(f"plan.baselines: {k!r} is not a metric" + suggest(k, names))
        for k in self.plan.r_squared:
            if k not in names:
                problems.append(f"plan.r_squared: {k!r} is not a metric" + suggest(k, names))
        if self.plan.r_squared and not self.adjust:
            problems.append(
                "plan.r_squared: it is the variance the adjust columns explain; list them in adjust"
            )
        if len(set(self.assignment.strata)) != len(self.assignment.strata):
            problems.append("assignment.strata: a column is listed twice")
        problems += self._original_problems(names)
        if problems:  # one line per problem, each starting with its key path
            raise ValueError("\n".join(problems))
        return self

    def _adjust_problems(self, used: dict[str, str]) -> list[str]:
        """What the pre-period columns to adjust for cannot be."""
        if not self.adjust:
            return []
        problems = []
        taken = {
            **dict.fromkeys(self.covariates, "a covariate (a stratum); list it in one place only"),
            **({self.unit.id: "the unit id"} if self.unit.id else {}),
            **({self.unit.randomised_by: "the cluster column"} if self.unit.randomised_by else {}),
            **{
                c: f"{what}; a pre-period column must be measured before assignment"
                for c, what in used.items()
            },
        }
        for i, c in enumerate(self.adjust):
            if c in taken:
                problems.append(f"adjust.{i}: {c!r} is also {taken[c]}")
        if len(set(self.adjust)) != len(self.adjust):
            problems.append("adjust: a column is listed twice")
        if self.input_kind in ("aggregated rows", "published summaries"):
            problems.append(
                f"adjust: {self.input_kind} hold no pre-period value per unit; adjusting needs one row "
                "per unit (remove adjust, or export unit rows)"
            )
        cells = self.model.adjust_bins ** len(self.adjust)
        if self.binned_adjustment and cells > MAX_ADJUST_STRATA:
            problems.append(
                f"adjust: {len(self.adjust)} columns x {self.model.adjust_bins} bins make {cells:,} "
                f"strata per arm, but at most {MAX_ADJUST_STRATA:,} are allowed; adjust for fewer "
                "columns or lower model.adjust_bins"
            )
        return problems

    def _money_problems(self) -> list[str]:
        """Values and costs that cannot be: money on engagement, a control cost out of place."""
        problems = []
        for i, m in enumerate(self.metrics):
            if m.value is not None and m.role == "engagement":
                problems.append(
                    f"metrics.{i}.value: {m.name!r} is engagement, which is worth nothing by itself; give "
                    "values to outcomes (a meeting) and guardrails (an unsubscribe)"
                )
            if m.value is not None and m.role == "revenue":
                problems.append(f"metrics.{i}.value: revenue counts at face value; remove the value")
            if m.value is not None and m.role == "outcome" and m.value < 0:
                problems.append(
                    f"metrics.{i}.value: got {m.value:g}, but an outcome's value is what one is worth "
                    "(≥ 0); a metric that costs money when it rises is a guardrail"
                )
            if m.worse is not None and m.role != "guardrail":
                problems.append(f"metrics.{i}.worse: only a guardrail has a direction in which it gets worse")
        control = self.arms.get(self.control)
        if control is not None and self.economics.costs_are == "incremental" and control.cost is not None:
            problems.append(
                f"arms.{self.control}.cost: costs are incremental (beyond business as usual), so the "
                "control costs nothing extra; to give every arm's full cost, the control's as the "
                "baseline, set economics.costs_are: total"
            )
        if self.economics.costs_are == "total":
            problems += [
                f"arms.{a}.cost: with economics.costs_are: total every arm needs its full cost, the "
                "control's (the baseline) too"
                for a, arm in self.arms.items()
                if arm.cost is None
            ]
        return problems

    def _time_problems(self, used: dict[str, str]) -> list[str]:
        """What the time columns (``unit.entered_at``, ``metrics[].at``, windows) cannot be."""
        entered = self.unit.entered_at
        problems = []
        for i, m in enumerate(self.metrics):
            if m.timed and entered is None:
                field = "at" if m.at is not None else "window_days"
                problems.append(
                    f"metrics.{i}.{field}: outcome dates and windows count from each unit's entry; "
                    "name its column in unit.entered_at"
                )
            if m.timed and self.input_kind != "unit rows":
                problems.append(
                    f"metrics.{i}: outcome dates and windows need one row per unit, not {self.input_kind}; "
                    "remove at and window_days (unit.entered_at may still date each row's period)"
                )
            if m.at is not None and (m.at in used or m.at == entered or m.at in self.covariates):
                problems.append(
                    f"metrics.{i}.at: {m.at!r} is also another column of the spec; it must be the "
                    "column of the date this metric's outcome happened"
                )
            if m.window_days is not None and (self.adjust or self.design == "matched"):
                problems.append(
                    f"metrics.{i}.window_days: outcome windows cannot yet be combined with "
                    f"{'adjust' if self.adjust else 'a matched design'} (its sums cover every unit, "
                    "mature or not); remove the window, or give a column of the value within it"
                )
        if entered is not None:
            if entered in used or entered in self.covariates or entered in self.adjust:
                problems.append(
                    f"unit.entered_at: {entered!r} is also a metric, covariate or the arm column; it "
                    "must be the column of each unit's entry date"
                )
            if self.input_kind == "published summaries":
                problems.append("unit.entered_at: a per-arm table has no dates; remove it")
        if self.as_of is not None and entered is None:
            problems.append("as_of: an analysis date needs unit.entered_at, the column of entry dates")
        return problems

    def _data_problems(self) -> list[str]:
        """What aggregated rows and published summaries cannot be combined with."""
        d = self.data
        if d is None:
            return []
        problems = []
        kind = "aggregated rows" if d.layout == "aggregated" else "published summaries"
        if d.layout == "aggregated" or d.summaries is not None:
            if self.unit.id is not None:
                problems.append(
                    f"unit.id: {kind} hold many units per row, so there is no unit id; remove it "
                    "(duplicate units cannot be checked, and the report says so)"
                )
            if self.design == "matched":
                problems.append(f"design: matching needs one row per unit, not {kind}")
        if d.summaries is None:
            return problems
        if self.covariates or self.unit.randomised_by:
            problems.append(
                "data.summaries: a per-arm table has no strata or clusters; remove covariates "
                "and unit.randomised_by"
            )
        if self.engine == "spark":
            problems.append("engine: published summaries need no engine; remove engine: spark")
        problems += self._summary_problems("data.summaries", d.summaries, every_metric=True)
        for i, m in enumerate(self.metrics):
            if m.type == "revenue" and m.revenue_likelihood == "lognormal_hurdle":
                problems.append(
                    f"metrics.{i}.revenue_likelihood: a mean and sd per arm cannot fit the lognormal "
                    "hurdle (it needs the amounts); use cell_means"
                )
        return problems

    def _denominator_problems(self) -> list[str]:
        problems: list[str] = []
        seen: dict[str, Metric] = {}
        for i, m in enumerate(self.metrics):
            if m.denominator is not None:
                where = f"metrics.{i}.denominator"
                earlier = seen.get(m.denominator)
                if m.type != "binary":
                    problems.append(
                        f"{where}: only a binary metric can be measured among the units of an earlier "
                        f"stage; {m.name!r} is {m.type}"
                    )
                elif earlier is None:
                    problems.append(
                        f"{where}: got {m.denominator!r}, but expected a metric listed before {m.name!r}"
                        + suggest(m.denominator, list(seen))
                    )
                elif earlier.type not in ("binary", "count"):
                    problems.append(
                        f"{where}: {m.denominator!r} is {earlier.type}; a denominator counts units "
                        "(binary, or a count whose sum is the units reaching that stage)"
                    )
                elif self.data is not None and self.data.summaries is not None:
                    problems.append(f"{where}: not available with published summaries")
            seen[m.name] = m
        return problems

    def _original_problems(self, names: list[str]) -> list[str]:
        o = self.original
        if o is None:
            return []
        problems = []
        for i, a in enumerate(o.contrast):
            if a not in o.arms:
                problems.append(
                    f"original.contrast.{i}: {a!r} has no published numbers under original.arms"
                    + suggest(a, list(o.arms))
                )
        problems += self._summary_problems("original.arms", o.arms, every_metric=False)
        primary = self.replication.primary
        if primary is not None and primary not in names:
            problems.append(f"replication.primary: {primary!r} is not a metric" + suggest(primary, names))
        return problems

    def _summary_problems(
        self, key: str, arms_given: dict[str, OriginalArm], *, every_metric: bool
    ) -> list[str]:
        """Problems of a per-arm table of published numbers (``original.arms``, ``data.summaries``)."""
        names = [m.name for m in self.metrics]
        arms = list(self.arms)
        problems = []
        if every_metric:
            problems += [
                f"{key}: arm {a!r} has no summaries; give its n and metrics"
                for a in arms
                if a not in arms_given
            ]
        for a, arm in arms_given.items():
            where = f"{key}.{a}"
            if a not in arms:
                problems.append(f"{where}: {a!r} is not an arm of this spec" + suggest(a, arms))
            if arm.n.value < 2:
                problems.append(f"{where}.n: got {arm.n.value:g}, but expected at least 2 participants")
            if every_metric:
                problems += [
                    f"{where}.metrics.{k}: missing; give the published (or an assumed) summary"
                    for k in names
                    if k not in arm.metrics
                ]
            for k, summary in arm.metrics.items():
                metric = next((m for m in self.metrics if m.name == k), None)
                if metric is None:
                    problems.append(f"{where}.metrics.{k}: not a metric of this spec" + suggest(k, names))
                elif metric.type == "binary":
                    p = summary.proportion
                    if p is None or not 0 < p.value < 1:
                        problems.append(
                            f"{where}.metrics.{k}.proportion: a binary metric needs the published "
                            "proportion, strictly between 0 and 1"
                        )
                elif summary.mean is None:
                    problems.append(
                        f"{where}.metrics.{k}.mean: a {metric.type} metric needs the published mean"
                    )
                elif summary.sd is None or summary.sd.value <= 0:
                    problems.append(
                        f"{where}.metrics.{k}.sd: a {metric.type} metric needs the sd (> 0); give the "
                        "published one or an assumed one, {value: 1.2, assumed: why}"
                    )
                elif metric.type != "continuous" and summary.mean.value < 0:
                    problems.append(f"{where}.metrics.{k}.mean: a {metric.type} cannot be negative")
        return problems

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
        return bool(self.adjust) and not all(m.adjusts_exactly for m in self.metrics)

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
        """The spec with the likelihoods of the named metrics replaced (data fallbacks)."""
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
        """``p`` resolved against the spec's own folder when relative."""
        if not p.is_absolute() and self.source_path is not None:
            p = (self.source_path.parent / p).resolve()
        return p

    @property
    def pools_arms(self) -> bool:
        """Whether arm effects are partially pooled (needs two or more treatments)."""
        return self.model.pool_arms and len(self.treatments) >= 2

    def priors_for(self, metric: Metric) -> Priors:
        """Priors in force for ``metric``: package defaults, then the spec's, then the metric's."""
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


# ---- loading ------------------------------------------------------------------------------


#: Most quantile strata per arm from the adjusted columns (model.adjust_bins ** len(adjust)).
MAX_ADJUST_STRATA = 1000

#: Longest arm or metric label (and title) that tables and figures can lay out.
MAX_LABEL = 80
MAX_TITLE = 160
MAX_DESCRIPTION = 4000


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
