"""What a programme of tests taught, in plain sentences, each with the posterior condition that licenses it.

Every generator returns a :class:`Sentence`: its text, the kind of claim it makes (a key of
:data:`CONTRACT`) and the condition that held, with its numbers. ``level`` is the probability a
one-sided claim needs (:func:`learned_claim_level`: the house's claim level for the interval
mass, 0.97 for a 94 % interval). Sentences are pure functions of
:class:`~channelab.analysis.learning.programme.Learned`; a direction is never stated without
its licence, and an unclear link is never worded as an absence ("did not"): the data not
showing a link is not evidence that there is none.

Values on the ``loglift`` scale are relative lifts (fractions, printed as percentages); on the
``diff`` scale absolute differences, in percentage points for a binary metric and in the
metric's own units otherwise (``kinds`` maps a metric to its type where known).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from channelab.analysis.decisions import claim_level
from channelab.analysis.learning.programme import MIN_LINK_TESTS, ChannelMetric, Learned, Link
from channelab.analysis.learning.studies import Scale
from channelab.analysis.results import Interval
from channelab.analysis.wording import amount, join_words, pct
from channelab.spec import DECISIVE_ROLES, Decision, MetricType

__all__ = [
    "CONTRACT",
    "LearnedClaim",
    "LearnedWords",
    "Sentence",
    "channel_sentences",
    "convergence_sentence",
    "correlation_sentence",
    "fmt_effect",
    "impact_sentence",
    "learned_claim_level",
    "learned_words",
    "link_sentence",
    "mean_sentence",
    "metric_words",
    "missing_links_sentence",
    "one_test_sentence",
    "prediction_sentence",
]

LearnedClaim = Literal[
    "mean rose",
    "mean fell",
    "mean unsettled",
    "one test",
    "next test",
    "winners' impact",
    "link rising",
    "link falling",
    "link unclear",
    "correlation taken as zero",
    "link not estimated",
    "not converged",
]

#: What licenses each kind of sentence (the posterior condition, or the fact it reports).
CONTRACT: dict[LearnedClaim, str] = {
    "mean rose": "P(μ > 0) ≥ level: 'raised <metric> on average'",
    "mean fell": "P(μ < 0) ≥ level: 'lowered <metric> on average'",
    "mean unsettled": (
        "neither P(μ > 0) nor P(μ < 0) reaches level: 'changed <metric> by … on average', the "
        "interval stated, no direction claimed"
    ),
    "one test": (
        "a single test measured the channel and metric: the spread between tests (tau) is its prior, so "
        "the prediction for the next test is wide (a statement of ignorance, never a claim)"
    ),
    "next test": (
        "always: the equal-tailed interval of μ + tau·z over the posterior draws (the prediction interval)"
    ),
    "winners' impact": (
        "at least one launched arm: the naive sum of their reported effects beside the sum of their "
        "shrunken effects and its equal-tailed interval (no direction claimed)"
    ),
    "link rising": "P(slope > 0) ≥ level: 'also had bigger <outcome> gains'",
    "link falling": "P(slope < 0) ≥ level: 'had smaller <outcome> gains'",
    "link unclear": (
        "neither P(slope > 0) nor P(slope < 0) reaches level: 'showed no clear link', the slope and its "
        "interval stated; never 'did not' (absence of evidence is not evidence of absence)"
    ),
    "correlation taken as zero": (
        "cov_known < tests: the tests without a recorded within-test covariance are named by count"
    ),
    "link not estimated": (
        f"a channel measured engagement and an outcome together in fewer than {MIN_LINK_TESTS} tests"
    ),
    "not converged": "the programme model's or a link's convergence gate failed",
}


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of a report on a programme, and what licenses it.

    Attributes
    ----------
    text
        The sentence, ready to print.
    claim
        Its kind (a key of :data:`CONTRACT`).
    condition
        The condition that held, with its numbers (e.g. ``P(μ > 0) = 0.998 ≥ 0.97``).
    """

    text: str
    claim: LearnedClaim
    condition: str


@dataclass(frozen=True, slots=True)
class LearnedWords:
    """Page 1's sentences: a paragraph per channel, and the sentences said once.

    Attributes
    ----------
    channels
        Per channel, in the groups' order: the channel and its sentences.
    general
        Sentences about the whole programme (convergence, links not estimated).
    level
        The claim level the sentences were licensed at.
    """

    channels: tuple[tuple[str, tuple[Sentence, ...]], ...]
    general: tuple[Sentence, ...]
    level: float

    @property
    def sentences(self) -> tuple[Sentence, ...]:
        """Every sentence: the general ones first, then each channel's."""
        return (*self.general, *(s for _, said in self.channels for s in said))


def learned_claim_level(hdi_prob: float) -> float:
    """The probability a one-sided claim needs: the house's level for the interval mass.

    Parameters
    ----------
    hdi_prob
        The interval mass (0.94 gives 0.97).
    """
    return claim_level(Decision(), hdi_prob)


def metric_words(metric: str) -> str:
    """A metric's name as words: ``profile_views`` -> ``profile views``.

    Parameters
    ----------
    metric
        The metric's name as recorded.
    """
    return metric.replace("_", " ")


def fmt_effect(x: float, scale: Scale, kind: MetricType | None = None, *, sign: bool = True) -> str:
    """An effect in words: a relative lift in percent, a difference in points or the metric's units.

    Parameters
    ----------
    x
        The effect: a fraction on the ``loglift`` scale, a difference on ``diff``.
    scale
        The group's scale.
    kind
        The metric's type, where known (a binary difference is printed in percentage points).
    sign
        Whether to show a sign.
    """
    if scale == "loglift":
        return pct(x, sign=sign)
    if kind == "binary":
        text = f"{abs(100 * x):.2f} pp"
        return (("+" if x >= 0 else "−") + text) if sign else text
    return amount(x) if sign else amount(abs(x)).lstrip("+")


def _interval(iv: Interval, scale: Scale, kind: MetricType | None, prob: float) -> str:
    lo, hi = (fmt_effect(x, scale, kind) for x in (iv.lower, iv.upper))
    return f"{prob * 100:.0f} % interval {lo} to {hi}"


def _capital(text: str) -> str:
    """``text`` with its first letter upper case (a sentence may begin with a channel's name)."""
    return text[:1].upper() + text[1:]


def _direction(p_up: float, level: float, what: str) -> tuple[int, str]:
    """+1 or −1 where P(what > 0) or P(what < 0) reaches ``level``, else 0; and the condition that held."""
    up, down = f"{p_up:.3f}", f"{1.0 - p_up:.3f}"
    if p_up >= level:
        return 1, f"P({what} > 0) = {up} ≥ {level:.3f}"
    if 1.0 - p_up >= level:
        return -1, f"P({what} < 0) = {down} ≥ {level:.3f}"
    return 0, f"P({what} > 0) = {up} and P({what} < 0) = {down}, both < {level:.3f}"


def mean_sentence(
    g: ChannelMetric, *, level: float, hdi_prob: float, kind: MetricType | None = None
) -> Sentence:
    """What the channel does to the metric on average, directional only when licensed.

    Conditions: "raised <metric> by X on average" only when P(μ > 0) ≥ ``level``; "lowered …"
    only when P(μ < 0) ≥ ``level``; otherwise "changed <metric> by X on average (interval); the
    interval includes no change" (or, where the interval excludes zero but the probability
    falls short, that the direction is not settled at the claim level).

    Parameters
    ----------
    g
        The channel and metric.
    level
        The probability a direction needs.
    hdi_prob
        The interval mass.
    kind
        The metric's type, where known.
    """
    sign, condition = _direction(g.prob_positive, level, "μ")
    head = f"Across {g.tests:,} {'test' if g.tests == 1 else 'tests'}, {g.channel}"
    metric, iv = metric_words(g.metric), _interval(g.mu, g.scale, kind, hdi_prob)
    if sign:
        claim: LearnedClaim = "mean rose" if sign > 0 else "mean fell"
        size = fmt_effect(abs(g.mu.mean), g.scale, kind, sign=False)
        said = f"{'raised' if sign > 0 else 'lowered'} {metric} by {size}"
        return Sentence(f"{head} {said} on average ({iv}).", claim, condition)
    hedge = (
        "the interval includes no change"
        if g.mu.lower <= 0 <= g.mu.upper
        else f"its direction is not settled at the {level * 100:.0f} % level a claim needs"
    )
    change = fmt_effect(g.mu.mean, g.scale, kind)
    return Sentence(
        f"{head} changed {metric} by {change} on average ({iv}); {hedge}.", "mean unsettled", condition
    )


def one_test_sentence(g: ChannelMetric) -> Sentence | None:
    """For a channel and metric measured once: the spread between tests comes from the prior.

    Condition: ``g.tests == 1`` (None otherwise). A statement of ignorance, not a claim.

    Parameters
    ----------
    g
        The channel and metric.
    """
    if not g.one_test:
        return None
    return Sentence(
        f"{_capital(g.channel)} has one test only of {metric_words(g.metric)}: how much tests differ comes "
        "from the prior, so the prediction for the next test is wide.",
        "one test",
        "tests = 1",
    )


def prediction_sentence(g: ChannelMetric, *, hdi_prob: float, kind: MetricType | None = None) -> Sentence:
    """Where the next test of the channel is predicted to move the metric (the prediction interval).

    Condition: always; the interval is the equal-tailed interval of μ + tau·z over the draws
    (tau the spread between tests, z standard normal), so it holds the next test's true effect
    with probability ``hdi_prob`` under the model.

    Parameters
    ----------
    g
        The channel and metric.
    hdi_prob
        The interval mass.
    kind
        The metric's type, where known.
    """
    lo, hi = fmt_effect(g.prediction.lower, g.scale, kind), fmt_effect(g.prediction.upper, g.scale, kind)
    return Sentence(
        f"The next {g.channel} test is predicted to move {metric_words(g.metric)} between {lo} and {hi} "
        f"({hdi_prob * 100:.0f} % prediction interval).",
        "next test",
        f"equal-tailed {hdi_prob * 100:.0f} % interval of μ + tau·z: {lo} to {hi}",
    )


def impact_sentence(g: ChannelMetric, *, hdi_prob: float, kind: MetricType | None = None) -> Sentence | None:
    """The launched winners' reported effect beside their effect with the winner's curse removed.

    Condition: some arm of the channel was launched (None otherwise). Both sums are stated;
    no direction is claimed.

    Parameters
    ----------
    g
        The channel and metric.
    hdi_prob
        The interval mass.
    kind
        The metric's type, where known.
    """
    if g.impact is None:
        return None
    imp, metric = g.impact, metric_words(g.metric)
    naive, shrunk = fmt_effect(imp.naive, g.scale, kind), fmt_effect(imp.shrunken.mean, g.scale, kind)
    iv = _interval(imp.shrunken, g.scale, kind, hdi_prob)
    if imp.launched == 1:
        text = (
            f"The one launched {g.channel} winner reported {naive} on {metric}; with the winner's curse "
            f"removed its effect is {shrunk} ({iv})."
        )
    else:
        each = (
            fmt_effect(imp.naive / imp.launched, g.scale, kind),
            fmt_effect(imp.shrunken.mean / imp.launched, g.scale, kind),
        )
        text = (
            f"The {imp.launched:,} launched {g.channel} winners reported a combined {naive} on {metric}; "
            f"with the winner's curse removed their combined effect is {shrunk} ({iv}); per winner, "
            f"{each[0]} reported and {each[1]} with the curse removed."
        )
    return Sentence(text, "winners' impact", f"launched = {imp.launched} ≥ 1")


def _slope(x: float) -> str:
    return f"{x:+.2f}".replace("-", "−")


def link_sentence(link: Link, *, level: float, hdi_prob: float) -> Sentence:
    """Whether tests with bigger engagement gains also had bigger outcome gains.

    Conditions: "also had bigger <outcome> gains" only when P(slope > 0) ≥ ``level``; "had
    smaller <outcome> gains" only when P(slope < 0) ≥ ``level``; otherwise "showed no clear
    link" with the slope and its interval. Never "did not": an unclear link is absence of
    evidence, not evidence of absence.

    Parameters
    ----------
    link
        The channel's engagement → outcome link.
    level
        The probability a direction needs.
    hdi_prob
        The interval mass.
    """
    sign, condition = _direction(link.prob_slope_positive, level, "slope")
    eng, out = metric_words(link.engagement), metric_words(link.outcome)
    iv = f"slope {_slope(link.slope.mean)}, {hdi_prob * 100:.0f} % interval {_slope(link.slope.lower)} to "
    iv += _slope(link.slope.upper)
    head = f"Among {link.tests:,} {link.channel} tests, those with bigger gains in {eng}"
    if sign > 0:
        return Sentence(f"{head} also had bigger gains in {out} ({iv}).", "link rising", condition)
    if sign < 0:
        return Sentence(f"{head} had smaller gains in {out} ({iv}).", "link falling", condition)
    return Sentence(f"{head} showed no clear link to {out} ({iv}).", "link unclear", condition)


def correlation_sentence(link: Link) -> Sentence | None:
    """How many of a link's tests had their within-test correlation taken as zero.

    Condition: ``link.cov_known < link.tests`` (None otherwise).

    Parameters
    ----------
    link
        The channel's engagement → outcome link.
    """
    missing = link.tests - link.cov_known
    if missing <= 0:
        return None
    eng, out = metric_words(link.engagement), metric_words(link.outcome)
    share = "all" if missing == link.tests else f"{missing:,} of the"
    return Sentence(
        f"For {share} {link.tests:,} {link.channel} tests of {eng} and {out}, the within-test correlation "
        "of the two estimates was not recorded and was taken as zero.",
        "correlation taken as zero",
        f"cov_known = {link.cov_known} < tests = {link.tests}",
    )


def missing_links_sentence(learned: Learned) -> Sentence | None:
    """One sentence naming the channels whose engagement → outcome link could not be estimated.

    Condition: a channel has an engagement metric and an outcome or revenue metric but no link
    of that pair (fewer than :data:`~.programme.MIN_LINK_TESTS` tests measured both); None when
    there is no such channel.

    Parameters
    ----------
    learned
        The programme's results.
    """
    linked = {(k.channel, k.engagement, k.outcome) for k in learned.links}
    missing = sorted(
        {
            e.channel
            for e in learned.groups
            for o in learned.groups
            if e.role == "engagement"
            and o.role in DECISIVE_ROLES
            and o.channel == e.channel
            and (e.channel, e.metric, o.metric) not in linked
        }
    )
    if not missing:
        return None
    return Sentence(
        f"No engagement → outcome link is estimated for {join_words(missing, sep=', ')}: fewer than "
        f"{MIN_LINK_TESTS} tests measured both.",
        "link not estimated",
        f"paired tests < {MIN_LINK_TESTS} for {', '.join(missing)}",
    )


def convergence_sentence(learned: Learned) -> Sentence | None:
    """A warning when the programme model or a link did not converge (None when all did).

    Condition: a convergence gate failed (its problems are named).

    Parameters
    ----------
    learned
        The programme's results.
    """
    problems = list(learned.diagnostics.problems)
    for k in learned.links:
        problems += [f"link {k.channel} {k.engagement} → {k.outcome}: {p}" for p in k.diagnostics.problems]
    if not problems:
        return None
    return Sentence(
        "The sampler did not converge, so every number in this report is unreliable until it does: "
        f"{'; '.join(problems)}.",
        "not converged",
        f"{len(problems)} convergence problem(s)",
    )


def _ordered(groups: Sequence[ChannelMetric]) -> list[ChannelMetric]:
    """Outcome and revenue metrics first, then engagement, then the rest; by name within each."""
    rank = {"outcome": 0, "revenue": 1, "engagement": 2}
    return sorted(groups, key=lambda g: (rank.get(g.role, 3), g.metric))


def channel_sentences(
    learned: Learned, channel: str, *, level: float, kinds: Mapping[str, MetricType] | None = None
) -> tuple[Sentence, ...]:
    """One channel's paragraph: its means, links, predictions and launched winners, in that order.

    Means come decisive metrics first, engagement beside them, each followed by its one-test
    note where it has one; predictions and winners' impact are for the decisive metrics (for
    every metric when the channel has none).

    Parameters
    ----------
    learned
        The programme's results.
    channel
        The channel.
    level
        The probability a direction needs.
    kinds
        Metric types by metric name, where known.
    """
    kinds, prob = kinds or {}, learned.hdi_prob
    groups = _ordered([g for g in learned.groups if g.channel == channel])
    decisive = [g for g in groups if g.role in DECISIVE_ROLES] or groups
    said: list[Sentence | None] = []
    for g in groups:
        said += [mean_sentence(g, level=level, hdi_prob=prob, kind=kinds.get(g.metric)), one_test_sentence(g)]
    for k in (k for k in learned.links if k.channel == channel):
        said += [link_sentence(k, level=level, hdi_prob=prob), correlation_sentence(k)]
    said += [prediction_sentence(g, hdi_prob=prob, kind=kinds.get(g.metric)) for g in decisive]
    said += [impact_sentence(g, hdi_prob=prob, kind=kinds.get(g.metric)) for g in decisive]
    return tuple(s for s in said if s is not None)


def learned_words(learned: Learned, *, kinds: Mapping[str, MetricType] | None = None) -> LearnedWords:
    """Every page-1 sentence of a programme: the general ones, then a paragraph per channel.

    Parameters
    ----------
    learned
        The programme's results.
    kinds
        Metric types by metric name, where known (differences of binary metrics in points).
    """
    level = learned_claim_level(learned.hdi_prob)
    channels = list(dict.fromkeys(g.channel for g in learned.groups))
    general = tuple(
        s for s in (convergence_sentence(learned), missing_links_sentence(learned)) if s is not None
    )
    return LearnedWords(
        tuple((c, channel_sentences(learned, c, level=level, kinds=kinds)) for c in channels), general, level
    )
