"""The PDF report of ``learn``: what a programme of tests taught, page 1 first.

Page 1 answers a leader in plain sentences, one paragraph per channel (outcomes first,
engagement beside them, then the engagement → outcome link, the next test's prediction and the
launched winners with the winner's curse removed), each sentence licensed by its posterior
condition (:mod:`channelab.analysis.learning.wording`). Then the table of channels and metrics,
a forest plot per channel and deciding metric, the links, the winners' impact, the sampler's
checks, the sentences' licences, and the records read with the provenance.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Paragraph, Spacer

from channelab.analysis.learning.wording import (
    CONTRACT,
    LearnedWords,
    fmt_effect,
    learned_words,
    metric_words,
)
from channelab.limits import MAX_FOREST_ROWS
from channelab.reporting.json_report.learn import metric_kinds, programme_origin, source_kind, tests_read
from channelab.reporting.pdf.layout import (
    RED,
    boxed,
    esc,
    figure_flowable,
    fmt_pass,
    fmt_prob,
    grid_table,
    literal_text,
    para,
    provenance_block,
    render,
    styles,
)
from channelab.reporting.pdf.leadership import glossary_box
from channelab.reporting.plots.learn import (
    PANELS_PER_FIGURE,
    forest_figure,
    glance_figure,
    link_figure,
    link_points,
)
from channelab.reporting.plots.style import interval_label
from channelab.spec import DECISIVE_ROLES

if TYPE_CHECKING:
    from channelab.analysis.diagnostics import Diagnostics
    from channelab.analysis.learning import ChannelMetric, Learned
    from channelab.analysis.results import Interval
    from channelab.pipeline.learn import Learning
    from channelab.spec import MetricType

__all__ = ["learn_pdf"]

_PALE_RED = colors.HexColor("#fde8e7")
#: After page 1, the details start on a new page unless page 1 ran over and left this much room.
_PAGE_ONE_BREAK = 15 * cm


@literal_text
def learn_pdf(learning: Learning) -> bytes:
    """The PDF report of ``learn`` (nothing is fitted or recomputed here).

    Parameters
    ----------
    learning
        ``learn``'s result (:func:`channelab.pipeline.learn.learn_programme`).

    Returns
    -------
    bytes
        The PDF.
    """
    st = styles()
    st["sentence"] = ParagraphStyle("sentence", parent=st["body"], leftIndent=8, spaceAfter=3)
    kinds = metric_kinds(learning.programme)
    words = learned_words(learning.learned, kinds=kinds)
    story = [
        *_first_page(learning, words, st),
        CondPageBreak(_PAGE_ONE_BREAK),
        *_channels_section(learning.learned, kinds, st),
        *_forest_section(learning.learned, kinds, st),
        *_link_section(learning, kinds, st),
        *_impact_section(learning.learned, kinds, st),
        *_checks_section(learning.learned, st),
        *_licences_section(words, st),
        *_records_section(learning, st),
        *provenance_block(replace(learning.provenance, data={}), st),
    ]
    return render(
        story,
        title=f"{learning.display_title}: what the programme's tests taught",
        subject=learning.description
        or "channelab learn: pooled effects, prediction for the next test, engagement-outcome links",
        creator=f"channelab {learning.provenance.channelab}",
        footer=f"channelab  ·  learn  ·  {learning.name}",
    )


def _caption(words: LearnedWords, hdi_prob: float) -> str:
    return (
        "How to read it: a channel's mean effect is what its tests do on average, with its "
        f"{interval_label(hdi_prob)}; the between-test spread says how much tests differ, and the "
        "prediction interval is where the next test's true effect should fall. A direction "
        f"('raised', 'lowered', a link) is said only when its probability reaches {words.level * 100:.0f} %. "
        "Each test's shrunken effect pulls its reported effect toward the channel's mean as far as its "
        "noise warrants; winners are launched for their large reported effects, so their reports tend to "
        "overstate them (the winner's curse)."
    )


def _first_page(learning: Learning, words: LearnedWords, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    programme, learned = learning.programme, learning.learned
    tests = tests_read(programme)
    channels = len(words.channels)
    meta = (
        f"{len(programme.records):,} records  ·  {channels} {'channel' if channels == 1 else 'channels'}  ·  "
        f"{interval_label(learned.hdi_prob)}s  ·  made {learning.provenance.created or 'now'}"
    )
    caption = _caption(words, learned.hdi_prob)
    texts = [s.text for s in words.sentences] + [caption]
    out: list[Flowable] = [
        para(
            learning.title  # a programme file's own title says it
            or f"What {tests:,} {'test' if tests == 1 else 'tests'} taught us: {learning.display_title}",
            st["title"],
        ),
        para(meta, st["meta"]),
        *([para(learning.description, st["body"])] if learning.description else []),
        Spacer(1, 0.15 * cm),
        Paragraph(f"<b>{esc(programme_origin(programme))}</b>", st["body"]),
        *(para(note, st["small"]) for note in programme.notes),
        Spacer(1, 0.2 * cm),
        *glossary_box(texts, st),
    ]
    for s in words.general:
        if s.claim == "not converged":
            warning = Paragraph(f"<b>{esc(s.text)}</b>", st["body"])
            out += [boxed(warning, background=_PALE_RED, edge=RED), Spacer(1, 0.2 * cm)]
    out.append(para("Each channel", st["h1"]))
    for channel, said in words.channels:
        out.append(para(channel, st["h2"]))
        out += [para(s.text, st["sentence"]) for s in said]
    out += [para(s.text, st["body"]) for s in words.general if s.claim != "not converged"]
    glance = glance_figure(_ordered(learned), hdi_prob=learned.hdi_prob)
    note = para(caption, st["small"])
    out += [Spacer(1, 0.3 * cm), note if glance is None else figure_flowable(glance, caption=note)]
    return out


def _effect(x: float, g: ChannelMetric, kinds: dict[str, MetricType]) -> str:
    return fmt_effect(x, g.scale, kinds.get(g.metric))


def _with_interval(iv: Interval, g: ChannelMetric, kinds: dict[str, MetricType]) -> str:
    return f"{_effect(iv.mean, g, kinds)} ({_effect(iv.lower, g, kinds)} to {_effect(iv.upper, g, kinds)})"


def _tau(g: ChannelMetric, kinds: dict[str, MetricType]) -> str:
    if g.scale == "loglift":
        return f"{g.tau.mean:.2f} ({g.tau.lower:.2f} to {g.tau.upper:.2f})"
    kind = kinds.get(g.metric)
    parts = (fmt_effect(x, "diff", kind, sign=False) for x in (g.tau.mean, g.tau.lower, g.tau.upper))
    mean, lo, hi = parts
    return f"{mean} ({lo} to {hi})"


def _ordered(learned: Learned) -> list[ChannelMetric]:
    rank = {"outcome": 0, "revenue": 1, "engagement": 2}
    return sorted(learned.groups, key=lambda g: (g.channel, rank.get(g.role, 3), g.metric))


def _channels_section(
    learned: Learned, kinds: dict[str, MetricType], st: dict[str, ParagraphStyle]
) -> list[Flowable]:
    label = interval_label(learned.hdi_prob)
    rows = [
        [
            "Channel",
            "Metric",
            "Tests",
            f"Mean effect μ ({label})",
            "Spread between tests",
            "Next test",
            "P(μ > 0)",
        ]
    ]
    for g in _ordered(learned):
        rows.append(
            [
                g.channel,
                f"{metric_words(g.metric)} ({g.role})",
                f"{g.tests:,}" + (" (spread from the prior)" if g.one_test else ""),
                _with_interval(g.mu, g, kinds),
                _tau(g, kinds),
                f"{_effect(g.prediction.lower, g, kinds)} to {_effect(g.prediction.upper, g, kinds)}",
                fmt_prob(g.prob_positive),
            ]
        )
    return [
        para("What each channel does", st["h1"]),
        para(
            "Per channel and metric: the mean effect μ across its tests, the spread of true effects "
            "between tests, and the prediction interval for the next test's true effect. Relative lifts "
            "are in percent; the spread of a relative lift is the sd of log(1 + lift) between tests (0.15: "
            "tests differ by about ±15 %), of a difference in the metric's units. A metric measured in one "
            "test only takes its spread from the prior.",
            st["body"],
        ),
        Spacer(1, 0.2 * cm),
        grid_table(rows, [2.0, 3.0, 1.4, 3.6, 2.4, 3.0, 1.6], st),
    ]


def _forest_groups(learned: Learned) -> list[ChannelMetric]:
    """Each channel's deciding metrics (all its metrics where it has none)."""
    out: list[ChannelMetric] = []
    for channel in dict.fromkeys(g.channel for g in learned.groups):
        own = [g for g in _ordered(learned) if g.channel == channel]
        out += [g for g in own if g.role in DECISIVE_ROLES] or own
    return out


def _forest_section(
    learned: Learned, kinds: dict[str, MetricType], st: dict[str, ParagraphStyle]
) -> list[Flowable]:
    groups = _forest_groups(learned)
    capped = [g for g in groups if len(g.effects) > MAX_FOREST_ROWS]
    note = (
        " Where a channel has more tests than fit, the largest reported effects are drawn and every test "
        "is in the JSON report."
        if capped
        else ""
    )
    caption = para(
        f"Each row is a past test: its effect as reported (open circle) and shrunken toward the channel's "
        f"mean (dot, {interval_label(learned.hdi_prob)}); launched arms in amber. At the bottom, the "
        f"channel's mean effect μ and the prediction interval for the next test.{note}",
        st["small"],
    )
    figures = [forest_figure(g, hdi_prob=learned.hdi_prob, kind=kinds.get(g.metric)) for g in groups]
    out: list[Flowable] = [para("Each past test, pooled", st["h1"])]
    out += [figure_flowable(fig) for fig in figures[:-1]]
    if figures:
        out.append(figure_flowable(figures[-1], caption=caption))
    return out


def _link_rows(learned: Learned) -> list[list[str]]:
    label = interval_label(learned.hdi_prob)
    rows = [
        [
            "Channel",
            "Engagement → outcome",
            "Tests (covariance known)",
            f"Slope ({label})",
            "R²",
            "P(slope > 0)",
        ]
    ]
    for k in learned.links:
        rows.append(
            [
                k.channel,
                f"{metric_words(k.engagement)} → {metric_words(k.outcome)}",
                f"{k.tests:,} ({k.cov_known:,})",
                f"{k.slope.mean:+.2f} ({k.slope.lower:+.2f} to {k.slope.upper:+.2f})",
                f"{k.r2.mean:.2f} ({k.r2.lower:.2f} to {k.r2.upper:.2f})",
                fmt_prob(k.prob_slope_positive),
            ]
        )
    return rows


def _link_section(
    learning: Learning, kinds: dict[str, MetricType], st: dict[str, ParagraphStyle]
) -> list[Flowable]:
    learned = learning.learned
    heading = para("Does a bigger engagement gain come with a bigger outcome gain?", st["h1"])
    if not learned.links:
        return [
            heading,
            para(
                "No link is estimated: no channel measured engagement and an outcome together in "
                "enough tests.",
                st["body"],
            ),
        ]
    intro = para(
        "Across a channel's tests, the slope of the true outcome effects on the true engagement effects, "
        "allowing for each test's noise and for the correlation of its two estimates (measured on the "
        "same units). A slope near zero with a narrow interval means engagement gains tell little about "
        "outcome gains; a wide interval means the tests cannot yet tell. R² is the share of the spread "
        "of outcome effects that engagement effects explain.",
        st["body"],
    )
    groups = {(g.channel, g.metric): g for g in learned.groups}
    points = [link_points(k, learning.programme.records, groups) for k in learned.links]
    figures = [
        figure_flowable(
            link_figure(points[i : i + PANELS_PER_FIGURE], hdi_prob=learned.hdi_prob, kinds=kinds)
        )
        for i in range(0, len(points), PANELS_PER_FIGURE)
    ]
    table = grid_table(_link_rows(learned), [2.0, 4.0, 2.4, 3.4, 2.8, 2.0], st)
    # the heading and its explanation stay with the first figure
    return [KeepTogether([heading, intro, figures[0]]), *figures[1:], Spacer(1, 0.2 * cm), table]


def _impact_section(
    learned: Learned, kinds: dict[str, MetricType], st: dict[str, ParagraphStyle]
) -> list[Flowable]:
    out: list[Flowable] = [para("Launched winners, with the winner's curse removed", st["h1"])]
    launched = [g for g in _ordered(learned) if g.impact is not None]
    if not launched:
        return [
            *out,
            para(
                "No arm is marked launched, so there is no winners' impact to correct "
                "(mark launched arms with channelab registry mark --launched).",
                st["body"],
            ),
        ]
    label = interval_label(learned.hdi_prob)
    rows = [["Channel", "Metric", "Launched", "Reported, summed", f"Winner's curse removed ({label})"]]
    rows += [
        [
            g.channel,
            metric_words(g.metric),
            f"{imp.launched:,}",
            _effect(imp.naive, g, kinds),
            _with_interval(imp.shrunken, g, kinds),
        ]
        for g in launched
        if (imp := g.impact) is not None
    ]
    return [
        *out,
        para(
            "The launched arms' effects summed two ways: as each test reported it (what a programme that "
            "believes every winner would claim) and as shrunken by the channel's other tests.",
            st["body"],
        ),
        Spacer(1, 0.2 * cm),
        grid_table(rows, [2.4, 3.2, 1.8, 3.2, 5.0], st),
    ]


def _check_row(name: str, d: Diagnostics) -> list[str]:
    return [
        name,
        f"{d.rhat_max:.3f}",
        f"{d.ess_bulk_min:,.0f}",
        f"{d.ess_tail_min:,.0f}",
        f"{d.divergences:,}",
        f"{d.chains} × {d.draws:,}",
        fmt_pass(d.converged),
    ]


def _checks_section(learned: Learned, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    rows = [["Fit", "r_hat max", "ESS bulk min", "ESS tail min", "Divergences", "Chains × draws", "Gate"]]
    rows.append(_check_row("programme model (means and spreads)", learned.diagnostics))
    rows += [
        _check_row(
            f"link: {k.channel}, {metric_words(k.engagement)} → {metric_words(k.outcome)}", k.diagnostics
        )
        for k in learned.links
    ]
    problems = [*learned.diagnostics.problems, *(p for k in learned.links for p in k.diagnostics.problems)]
    out: list[Flowable] = [
        para("Did the sampler converge?", st["h1"]),
        para(
            "Every fit must pass the house's gate (r_hat at most 1.01, enough effective draws, no divergent "
            "transitions) before its numbers are read.",
            st["body"],
        ),
        Spacer(1, 0.2 * cm),
        grid_table(rows, [5.0, 1.6, 1.8, 1.8, 1.8, 2.2, 1.2], st),
    ]
    out += [para(f"Problem: {p}", st["small"]) for p in problems]
    return out


def _licences_section(words: LearnedWords, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    rows = [["Sentence on page 1", "Kind", "Condition that held"]]
    rows += [[s.text, s.claim, s.condition] for s in words.sentences]
    kinds = sorted({s.claim for s in words.sentences})
    rule = "; ".join(f"{k}: {CONTRACT[k]}" for k in kinds)
    return [
        para("What licenses each sentence", st["h1"]),
        para(
            f"A claim of direction needs probability {words.level * 100:.0f} % or more; below that the "
            f"sentence states the interval and claims nothing. The rules used here: {rule}.",
            st["small"],
        ),
        Spacer(1, 0.2 * cm),
        grid_table(rows, [9.0, 2.6, 5.0], st),
    ]


def _records_section(learning: Learning, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    data = learning.provenance.data
    p = learning.programme
    rows = [
        ["Item", "Value"],
        *(
            [f"source {i}" if len(p.sources) > 1 else "source", f"{name} ({source_kind(q)})"]
            for i, (q, name) in enumerate(zip(p.sources, p.named or map(str, p.sources), strict=True), 1)
        ),
        ["records", f"{len(p.records):,} ({p.duplicates:,} duplicates counted once)"],
        ["covariances", f"{len(p.covariances):,}"],
        ["records sha256", str(data.get("sha256", p.fingerprint))],
    ]
    return [KeepTogether([para("Records read", st["h1"]), grid_table(rows, [3.4, 14.0], st)])]
