"""Page-1 words for a leader: where the data came from, and a glossary of the terms left on the page.

The verdict sentences themselves are built in :mod:`channelab.analysis.wording`, next to the
claims that license them (:mod:`channelab.analysis.claims`); this module holds what only the
rendered page needs, shared by every renderer of page 1 (PDF and HTML):

- :func:`origin_line`: one visible sentence saying whether the data are simulated, published
  or observed (``data.origin`` in the spec, :attr:`DataSource.resolved_origin`);
- :data:`GLOSSARY` and :func:`glossary_entries`: every technical term that can reach page 1
  (from the design line, the replication verdict, the adjustment sentence, the figure
  caption), each with a one-line plain-English explanation. A renderer lists the entries for
  the terms its page uses in a small box near the top, so a term is explained on the page
  where it first appears.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from channelab.spec import Spec
    from channelab.spec.data import Origin

__all__ = ["GLOSSARY", "data_origin", "glossary_entries", "origin_line"]

#: Term as printed -> (regular expression finding it in page text, one-line explanation).
GLOSSARY: dict[str, tuple[str, str]] = {
    "ROPE": (
        r"\bROPE\b",
        "the band of changes too small to matter, set per metric in the experiment file "
        "(region of practical equivalence).",
    ),
    "hazard ratio": (
        r"[Hh]azard ratio",
        "how many times as often, day for day, an arm's units take the step as the control's (1: as often).",
    ),
    "inside their window": (
        r"inside their window",
        "units whose outcome window is still open; each counts for the days it has been followed.",
    ),
    "94 % interval": (
        r"\b\d+ % interval\b",
        "the range that holds the true change with that probability, given the data and the model.",
    ),
    "BF_r0": (
        r"\bBF_r0\b|Bayes factor",
        "how many times better the original effect predicts the new data than no effect does "
        "(10 or more: replicated).",
    ),
    "ATT": (
        r"\bATT\b|effect on the treated",
        "the effect on the treated: the change among the units that got the treatment, not among everyone.",
    ),
    "effective untreated": (
        r"effective untreated",
        "how many untreated units the weighted comparison group is worth; weighting lets a few "
        "units count for many.",
    ),
    "entropy balancing": (
        r"[Ee]ntropy balancing|\(entropy\)",
        "weights on the untreated units chosen so their profile matches the participants'.",
    ),
    "doubly robust": (
        r"doubly robust",
        "weighting and a regression together: the estimate holds if either one is right.",
    ),
    "pre-period": (
        r"pre-period",
        "measured before the test began, so the treatment cannot have changed it.",
    ),
    "estimand": (
        r"\bestimand\b",
        "what a lift is averaged over: every unit in the test, or only the treated ones.",
    ),
    "P(best)": (
        r"P\(best\)",
        "the probability that an arm has the highest net value of all arms.",
    ),
    "power": (
        r"\bpower\b",
        "how often a test of this size detects a true lift of the target size.",
    ),
    "alpha": (
        r"\balpha\b",
        "the false-alarm rate allowed when the true lift is zero (0.05: one test in twenty).",
    ),
    "Bonferroni": (
        r"Bonferroni",
        "alpha split evenly over the comparisons, so that several arms do not raise false alarms.",
    ),
    "MDE": (
        r"\bMDE\b",
        "minimum detectable effect: the smallest lift the planned test detects with that power.",
    ),
    "overdispersion": (
        r"overdispersion",
        "how much more counts vary than a Poisson's (0: not at all).",
    ),
    "log-sd": (
        r"log-sd",
        "the spread of the amounts on the log scale (1: a typical deal is 2.7x above or below the median).",
    ),
    "d33": (
        r"\bd33\b",
        "the difference the original study had only a 33 % chance to detect.",
    ),
    "Cohen's h / d": (
        r"Cohen's [hd]",
        "the difference in standard units (h for shares, d for means): 0.2 small, 0.5 medium, 0.8 large.",
    ),
    "decisive": (
        r"Decisive if",
        "how often the replication's Bayes factor reaches its threshold, if the effect is real or null.",
    ),
    "assurance": (
        r"[Aa]ssurance",
        "how often channelab's own verdict would say real lift, from simulated tests of this design.",
    ),
    "prediction interval": (
        r"prediction interval",
        "where the next test's true effect should fall: the channel's mean effect widened by how much "
        "tests differ.",
    ),
    "between-test spread": (
        r"between-test spread|spread between tests",
        "how much the true effect of one channel differs from test to test (audience, season, message).",
    ),
    "shrunken effect": (
        r"shrunken",
        "a test's effect pulled toward its channel's mean, more so for a noisy test: a better guess "
        "than its own report.",
    ),
    "winner's curse": (
        r"winner's curse",
        "tests picked as winners for their large results overstate their effects on average, as part of "
        "each result was luck.",
    ),
    "slope (link)": (
        r"\(slope [+\u2212-]",
        "how far a test's outcome gain moves with its engagement gain; 0: engagement gains say "
        "nothing about outcome gains.",
    ),
    "within-test correlation": (
        r"within-test correlation",
        "how one test's two estimates move together by chance, as both come from the same units.",
    ),
}

_ORIGIN_WORDS: dict[str, str] = {
    "simulated": (
        "These data are simulated: channelab's simulator made them with known true effects, to "
        "show how the method reads such a test. They say nothing about real {unit}s."
    ),
    "published": (
        "These data are published: the numbers come from a paper's per-arm results, not from our own records."
    ),
    "observed": "These data are observed: recorded from real {unit}s.",
}


def data_origin(spec: Spec) -> Origin:
    """Where ``spec``'s data came from (``data.origin``, or its default).

    Parameters
    ----------
    spec
        The experiment definition; without a ``data`` block (data handed over in memory) the
        data count as observed.

    Returns
    -------
    str
        ``simulated``, ``published`` or ``observed``.
    """
    return "observed" if spec.data is None else spec.data.resolved_origin


def origin_line(spec: Spec) -> str:
    """The visible page-1 sentence saying where the data came from: ``These data are simulated: ...``.

    Parameters
    ----------
    spec
        The experiment definition.

    Returns
    -------
    str
        One or two plain sentences, naming the unit.
    """
    return _ORIGIN_WORDS[data_origin(spec)].format(unit=spec.unit.kind)


def glossary_entries(texts: Iterable[str]) -> list[tuple[str, str]]:
    """The glossary entries for the terms that occur in ``texts``, in :data:`GLOSSARY`'s order.

    Parameters
    ----------
    texts
        The words of a page (plain text or reportlab markup).

    Returns
    -------
    list of tuple of (str, str)
        ``(term, explanation)`` for each term found.
    """
    joined = "\n".join(texts)
    return [(term, words) for term, (pattern, words) in GLOSSARY.items() if re.search(pattern, joined)]
