"""A stakeholder digest of a programme: the tests concluded in a date range, for an e-mail or a chat.

:func:`digest_text` writes Markdown that reads as plain text: a title, how many tests concluded
between two dates, one line per test (its arms' verdicts on the decisive metrics, the arms
launched), what the programme has learned and links to the tests' reports. :func:`digest_html`
is the same content as one small self-contained page (:func:`~channelab.reporting.html.page.document`:
inline style, no script, nothing fetched).

What the programme has learned is only ever the sentences a ``learn`` report printed
(:func:`learned_sentences` reads them from its JSON), copied as they are: the digest makes no
claim of its own. A test is the records of one spec hash and data fingerprint, named by their
``experiment``; its date is its records' latest ``last_date`` (else the date of ``created``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from channelab.analysis.learning.wording import metric_words
from channelab.engine.registry import Record
from channelab.errors import DataError, first_few, shown
from channelab.limits import MAX_DIGEST_TESTS
from channelab.reporting.html.page import document
from channelab.spec import DECISIVE_ROLES

__all__ = [
    "ConcludedTest",
    "concluded_tests",
    "digest_html",
    "digest_text",
    "learned_sentences",
    "record_date",
    "records_span",
]

_NO_LEARNING = "Run `channelab learn` for what the programme has learned."
#: Markup characters; ``_`` only at a word's edge (CommonMark never reads ``a_b`` as emphasis).
_MARKDOWN = re.compile(r"([\\`*\[\]<>]|(?<![^\W_])_|_(?![^\W_]))")
_SPACES = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")


@dataclass(frozen=True, slots=True)
class ConcludedTest:
    """One test of the digest: its name, the date it concluded and its records.

    Attributes
    ----------
    experiment
        The test's name (its records' ``experiment``).
    concluded
        The latest date of its records (:func:`record_date`).
    records
        Its records, in the registry's order.
    """

    experiment: str
    concluded: date
    records: tuple[Record, ...]

    @property
    def reports(self) -> tuple[str, ...]:
        """The report paths its records name, each once, in order."""
        return tuple(dict.fromkeys(r.report for r in self.records if r.report))

    @property
    def launched(self) -> tuple[str, ...]:
        """The arms marked as launched, each once, in order."""
        return tuple(dict.fromkeys(r.arm for r in self.records if r.launched))


def record_date(record: Record) -> date:
    """The date a record concluded: its ``last_date``, else the date part of ``created``.

    Parameters
    ----------
    record
        A registry record (checked: ``created`` is ISO 8601).
    """
    return record.last_date or datetime.fromisoformat(record.created).date()


def _grouped(records: Iterable[Record]) -> list[ConcludedTest]:
    tests: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        tests.setdefault((r.spec_hash, r.data_fingerprint), []).append(r)
    out = [ConcludedTest(rs[0].experiment, max(map(record_date, rs)), tuple(rs)) for rs in tests.values()]
    return sorted(out, key=lambda t: (t.concluded, t.experiment))


def concluded_tests(records: Iterable[Record], *, since: date, until: date) -> list[ConcludedTest]:
    """The tests that concluded from ``since`` to ``until`` (both included), by date then name.

    Parameters
    ----------
    records
        Registry records.
    since, until
        The first and last day of the range.
    """
    return [t for t in _grouped(records) if since <= t.concluded <= until]


def records_span(records: Iterable[Record]) -> tuple[date, date, int] | None:
    """The first and last date tests concluded on, and the number of tests; None when no record.

    Parameters
    ----------
    records
        Registry records.
    """
    tests = _grouped(records)
    return (tests[0].concluded, tests[-1].concluded, len(tests)) if tests else None


def learned_sentences(report: object, where: str) -> tuple[str, ...]:
    """The sentences a ``learn`` JSON report printed, checked to be one.

    Parameters
    ----------
    report
        The parsed JSON (``learn_json``'s output).
    where
        The file, for messages.

    Raises
    ------
    DataError
        It is not a learn report, or its ``sentences`` are not a list of texts.
    """
    if not isinstance(report, dict) or report.get("kind") != "learn":
        said = (
            f"its kind is {shown(report.get('kind'))}"
            if isinstance(report, dict)
            else "the JSON is not an object"
        )
        raise DataError(
            f"{where}: not a learn report ({said}, not 'learn'). Give the NAME.learn.json that "
            "channelab learn wrote, or leave out --learned."
        )
    sentences = report.get("sentences")
    if not isinstance(sentences, list) or not all(
        isinstance(s, dict) and isinstance(s.get("text"), str) and s["text"].strip() for s in sentences
    ):
        raise DataError(
            f"{where}: the learn report's sentences are {shown(sentences)}, not a list of "
            "{text, claim, condition}; give the NAME.learn.json that channelab learn wrote, unchanged."
        )
    return tuple(s["text"] for s in sentences)


def _plain(text: str) -> str:
    """Text on one line: control characters and runs of white space as one space."""
    return _SPACES.sub(" ", text).strip()


def _md(text: str) -> str:
    """Text on one line, with the characters Markdown would read as markup escaped."""
    return _MARKDOWN.sub(r"\\\1", _plain(text))


def _arm_verdicts(records: Sequence[Record]) -> list[tuple[str, str]]:
    """Per arm: its label and its verdicts on the decisive metrics (every metric if none decides)."""
    decisive = [r for r in records if r.role in DECISIVE_ROLES] or list(records)
    arms: dict[str, list[str]] = {}
    for r in decisive:
        role = "" if r.role in DECISIVE_ROLES else f" ({r.role})"
        arms.setdefault(r.arm, []).append(f"{_plain(metric_words(r.metric))}{role} {r.verdict}")
    return [(arm, ", ".join(said)) for arm, said in arms.items()]


def _launched(test: ConcludedTest) -> str:
    return ", ".join(_plain(a) for a in test.launched) or "none"


def _test_line(test: ConcludedTest) -> str:
    """One test in one plain line: name, date, each arm's verdicts and the arms launched."""
    arms = "; ".join(f"{_plain(arm)} — {said}" for arm, said in _arm_verdicts(test.records))
    return f"{_plain(test.experiment)} ({test.concluded}): {arms}; launched: {_launched(test)}"


def _headline(tests: Sequence[ConcludedTest], since: date, until: date) -> str:
    noun = "test" if len(tests) == 1 else "tests"
    return f"{len(tests):,} {noun} concluded between {since} and {until} (both included)."


def _more(tests: Sequence[ConcludedTest]) -> str | None:
    extra = len(tests) - MAX_DIGEST_TESTS
    if extra <= 0:
        return None
    return (
        f"… and {extra:,} more test(s), not listed here (a digest lists at most {MAX_DIGEST_TESTS:,}); "
        "narrow the date range to see them."
    )


def _href(path: str) -> str:
    """A report path as a link target: never a URL (``:`` escaped, no ``//host`` form)."""
    return quote(re.sub(r"^/+", "/", _plain(path)), safe="/")


def digest_text(
    records: Iterable[Record],
    *,
    since: date,
    until: date,
    learned: Mapping[str, Any] | None = None,
    title: str,
) -> str:
    """The digest as Markdown that also reads as plain text.

    Parameters
    ----------
    records
        Registry records (any dates; only tests concluded in the range are listed).
    since, until
        The first and last day of the range, both included.
    learned
        A ``learn`` JSON report (parsed), whose sentences say what the programme has learned;
        None to point to ``channelab learn`` instead.
    title
        The first line.

    Returns
    -------
    str
        The digest, ending in a newline.
    """
    tests = concluded_tests(records, since=since, until=until)
    lines = [f"# {_md(title)}", "", _headline(tests, since, until), "", "## Tests", ""]
    lines += [f"- {_md(_test_line(t))}" for t in tests[:MAX_DIGEST_TESTS]] or ["- None."]
    lines += [f"- {more}" for more in [_more(tests)] if more]
    lines += ["", "## What the programme has learned", ""]
    if learned is None:
        lines.append(_NO_LEARNING)
    else:
        lines += [f"- {_md(s)}" for s in learned_sentences(learned, "the learn report")]
        lines += ["", f"({_md(_as_printed(learned))})"]
    lines += ["", "## Reports", ""]
    listed = tests[:MAX_DIGEST_TESTS]
    for t in (t for t in listed if t.reports):
        lines.append(f"- {_md(t.experiment)}: {', '.join(f'[{_md(p)}]({_href(p)})' for p in t.reports)}")
    lines += [f"- {_md(said)}" for said in [_unreported(listed)] if said]
    return "\n".join(lines) + "\n"


def _unreported(tests: Sequence[ConcludedTest]) -> str | None:
    """The tests without a report path, in one sentence (simulated, or from published summaries)."""
    names = [_plain(t.experiment) for t in tests if not t.reports]
    if not names:
        return None
    return f"No report on file for {len(names):,} test(s): {first_few(names)}."


def _as_printed(learned: Mapping[str, Any]) -> str:
    name = learned.get("name")
    named = f" {_plain(name)!r}" if isinstance(name, str) and name.strip() else ""
    return f"Copied from the learn report{named}, as it printed them."


def _links_html(test: ConcludedTest) -> str:
    esc = html.escape
    links = [f'<a href="{esc(_href(p))}">{esc(_plain(p))}</a>' for p in test.reports]
    return ", ".join(links) or "no report on file"


def _cells(test: ConcludedTest) -> list[str]:
    esc = html.escape
    verdicts = "<br>".join(f"{esc(_plain(arm))} — {esc(said)}" for arm, said in _arm_verdicts(test.records))
    return [
        esc(_plain(test.experiment)),
        str(test.concluded),
        verdicts,
        esc(_launched(test)),
        _links_html(test),
    ]


def _table(tests: Sequence[ConcludedTest]) -> list[str]:
    head = "".join(f"<th>{h}</th>" for h in ("Test", "Concluded", "Verdicts", "Launched", "Report"))
    rows = ["<tr>" + "".join(f"<td>{c}</td>" for c in _cells(t)) + "</tr>" for t in tests[:MAX_DIGEST_TESTS]]
    return [
        '<div class="table-wrap"><table>',
        f"<thead><tr>{head}</tr></thead>",
        "<tbody>",
        *rows,
        "</tbody></table></div>",
    ]


def _reports_html(tests: Sequence[ConcludedTest]) -> list[str]:
    esc = html.escape
    listed = tests[:MAX_DIGEST_TESTS]
    items = [f"<li>{esc(_plain(t.experiment))}: {_links_html(t)}</li>" for t in listed if t.reports]
    items += [f"<li>{esc(said)}</li>" for said in [_unreported(listed)] if said]
    return ["<ul>", *items, "</ul>"] if items else ["<p>None.</p>"]


def _learned_html(learned: Mapping[str, Any] | None) -> list[str]:
    esc = html.escape
    if learned is None:
        return ["<p>Run <code>channelab learn</code> for what the programme has learned.</p>"]
    sentences = learned_sentences(learned, "the learn report")
    return [
        "<ul>",
        *(f"<li>{esc(_plain(s))}</li>" for s in sentences),
        "</ul>",
        f'<p class="small">{esc(_as_printed(learned))}</p>',
    ]


def digest_html(
    records: Iterable[Record],
    *,
    since: date,
    until: date,
    learned: Mapping[str, Any] | None = None,
    title: str,
) -> str:
    """The digest as one small self-contained HTML page (headings, a table of tests, no script).

    Parameters
    ----------
    records, since, until, learned, title
        As for :func:`digest_text`.

    Returns
    -------
    str
        The HTML document.
    """
    tests = concluded_tests(records, since=since, until=until)
    esc = html.escape
    body = [f"<h1>{esc(_plain(title))}</h1>", f'<p class="lead">{esc(_headline(tests, since, until))}</p>']
    body += ["<h2>Tests</h2>", *(_table(tests) if tests else ["<p>None.</p>"])]
    body += [f"<p>{esc(more)}</p>" for more in [_more(tests)] if more]
    body += ["<h2>What the programme has learned</h2>", *_learned_html(learned), "<h2>Reports</h2>"]
    body += _reports_html(tests)
    return document(
        body,
        title=_plain(title),
        subject=_headline(tests, since, until),
        creator="channelab digest",
        footer=f"channelab  ·  digest  ·  {since} to {until}",
    )
