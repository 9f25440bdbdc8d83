"""The stakeholder digest (``channelab digest``): tests in a date range, their verdicts, what was learned.

Registries are built from a simulated programme and from hand-made records; the learn report is
a hand-written learn JSON (the digest copies its sentences, it never computes one).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from channelab.app.programme import digest_programme
from channelab.cli import app
from channelab.engine.registry import Record, open_registry, records_from_report
from channelab.errors import DataError, SpecError
from channelab.limits import MAX_REPORT_PATH
from channelab.reporting import digest as digest_module
from channelab.reporting.digest import (
    concluded_tests,
    digest_html,
    digest_text,
    learned_sentences,
    record_date,
    records_span,
)
from channelab.simulate.programme import SOCIAL_PROGRAMME, simulate_programme

runner = CliRunner()
REPORTS = Path(__file__).resolve().parents[2] / "reports"
LEARNED = {
    "kind": "learn",
    "name": "outreach",
    "sentences": [
        {
            "text": "Across 14 tests, social touches raised profile views by +180 % on average "
            "(94 % interval +150 % to +210 %).",
            "claim": "mean rose",
            "condition": "P(μ > 0) = 1.000 ≥ 0.97",
        },
        {
            "text": "The next social test is predicted to move meetings by −4 % to +6 % "
            "(94 % prediction interval).",
            "claim": "next test",
            "condition": "always",
        },
    ],
}


def rec(experiment: str, arm: str, metric: str, role: str, verdict: str, **changes) -> Record:
    base = Record(
        spec_hash=f"hash-{experiment}",
        data_fingerprint="data",
        experiment=experiment,
        first_date=date(2026, 1, 5),
        last_date=date(2026, 3, 31),
        arm=arm,
        channel=arm.lower(),
        metric=metric,
        role=role,  # type: ignore[arg-type]
        metric_type="binary",
        control_mean=0.05,
        diff_mean=0.01,
        diff_sd=0.004,
        loglift_mean=0.18,
        loglift_sd=0.07,
        n_arm=1200,
        n_control=1180,
        verdict=verdict,  # type: ignore[arg-type]
        created="2026-04-01T09:00:00+00:00",
    )
    return replace(base, **changes)


def pilot() -> list[Record]:
    """A test of two arms, the second launched, with a report; metrics of every role."""
    report = {"report": "reports/social selling (pilot).json"}
    return [
        rec("Social selling pilot", "Social", "meetings", "outcome", "inconclusive", **report),
        rec("Social selling pilot", "Social", "revenue", "revenue", "no effect", **report),
        rec("Social selling pilot", "Social", "profile_views", "engagement", "real lift", **report),
        rec("Social selling pilot", "Phone", "meetings", "outcome", "real lift", launched=True, **report),
        rec("Social selling pilot", "Phone", "revenue", "revenue", "inconclusive", launched=True, **report),
        rec("Social selling pilot", "Phone", "unsubscribes", "guardrail", "harm", launched=True, **report),
    ]


@pytest.fixture(scope="module")
def simulated() -> list[Record]:
    return list(simulate_programme(SOCIAL_PROGRAMME, seed=7).records)


def _section(text: str, heading: str) -> list[str]:
    """The lines of one ``## heading`` section, blank lines left out."""
    part = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in part.splitlines() if line.strip()]


# ---- the registry keeps each record's report ---------------------------------------------------


def test_the_report_path_is_stored_and_read_back_and_bounded(tmp_path: Path) -> None:
    records = [*pilot(), rec("Old test", "Email", "meetings", "outcome", "harm")]
    with open_registry(tmp_path / "r.duckdb", create=True) as store:
        store.add(records)
        back = {(r.experiment, r.arm, r.metric): r.report for r in store.records()}
    assert back["Social selling pilot", "Phone", "meetings"] == "reports/social selling (pilot).json"
    assert back["Old test", "Email", "meetings"] is None
    with (
        open_registry(tmp_path / "s.duckdb", create=True) as store,
        pytest.raises(DataError, match="report is 4097 characters long; at most 4096 are kept"),
    ):
        store.add([replace(records[0], report="x" * (MAX_REPORT_PATH + 1))])


def test_an_imported_json_report_keeps_its_path() -> None:
    path = REPORTS / "social_selling_pilot.json"
    assert {r.report for r in records_from_report(path).records} == {str(path)}


def test_a_run_keeps_the_path_of_its_json_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from channelab.app.programme import record_run
    from channelab.pipeline.run import analyse
    from channelab.spec import load_spec
    from helpers import mocked_sampling

    monkeypatch.chdir(tmp_path)
    ids = range(1, 81)
    lines = ["id,arm,bought", *(f"{i},{'email' if i % 2 else 'control'},{int(i % 7 == 0)}" for i in ids)]
    Path("rows.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    experiment = {
        "name": "tiny",
        "unit": {"kind": "prospect", "id": "id"},
        "data": {"path": "rows.csv"},
        "arm_column": "arm",
        "control": "control",
        "arms": {"control": {}, "email": {}},
        "metrics": [{"name": "bought", "type": "binary", "role": "outcome"}],
        "seed": 3,
        "sampler": {"draws": 200, "tune": 100, "chains": 2},
    }
    with mocked_sampling():
        Path("tiny.yaml").write_text(json.dumps(experiment), encoding="utf-8")  # JSON is YAML
        analysis = analyse(load_spec("tiny.yaml"))
    added = record_run(analysis, Path("reg.duckdb"), source="run", inputs=[], report=Path("out/tiny.json"))
    assert added.added == 1
    with open_registry("reg.duckdb", create=False) as store:
        assert [r.report for r in store.records()] == ["out/tiny.json"]


# ---- dates and the range -----------------------------------------------------------------------


def test_a_records_date_is_its_last_date_else_the_day_it_was_created() -> None:
    assert record_date(rec("A", "B", "m", "outcome", "harm")) == date(2026, 3, 31)
    assert record_date(rec("A", "B", "m", "outcome", "harm", last_date=None)) == date(2026, 4, 1)


def test_the_range_includes_both_ends(simulated: list[Record]) -> None:
    everything = concluded_tests(simulated, since=date(2000, 1, 1), until=date(2100, 1, 1))
    days = sorted({t.concluded for t in everything})
    day, one = days[len(days) // 2], timedelta(days=1)
    on_the_day = {t.experiment for t in everything if t.concluded == day}
    assert {t.experiment for t in concluded_tests(simulated, since=day, until=day)} == on_the_day
    assert not on_the_day & {
        t.experiment for t in concluded_tests(simulated, since=day + one, until=days[-1])
    }
    assert not on_the_day & {t.experiment for t in concluded_tests(simulated, since=days[0], until=day - one)}
    inside = concluded_tests(simulated, since=days[1], until=days[-2])
    assert {t.concluded for t in inside} == set(days[1:-1])
    assert records_span(simulated) == (days[0], days[-1], 26)
    assert len(everything) == 26


def test_one_line_per_test_named_by_experiment(simulated: list[Record]) -> None:
    since, until = date(2025, 3, 1), date(2025, 8, 31)
    tests = concluded_tests(simulated, since=since, until=until)
    text = digest_text(simulated, since=since, until=until, title="Outreach")
    lines = _section(text, "Tests")
    assert len(lines) == len(tests) > 3
    for line, test in zip(lines, tests, strict=True):
        assert line.startswith(f"- {test.experiment} ({test.concluded}): ")
    assert f"{len(tests)} tests concluded between 2025-03-01 and 2025-08-31" in text
    assert text.splitlines()[0] == "# Outreach"
    outside = {r.experiment for r in simulated} - {t.experiment for t in tests}
    assert outside
    assert not any(name in text for name in outside)


# ---- the lines: verdicts, launched arms, links -------------------------------------------------


def test_each_arms_verdicts_on_the_decisive_metrics_in_words_and_the_launched_arms() -> None:
    text = digest_text(pilot(), since=date(2026, 3, 31), until=date(2026, 3, 31), title="Q1")
    (line,) = _section(text, "Tests")
    assert line == (
        "- Social selling pilot (2026-03-31): Social — meetings inconclusive, revenue no effect; "
        "Phone — meetings real lift, revenue inconclusive; launched: Phone"
    )
    assert "1 test concluded" in text
    unlaunched = [replace(r, launched=False) for r in pilot()]
    assert _section(
        digest_text(unlaunched, since=date(2026, 1, 1), until=date(2026, 12, 31), title="Q1"), "Tests"
    )[0].endswith("launched: none")


def test_a_test_without_a_decisive_metric_gives_its_other_metrics_with_their_role() -> None:
    records = [rec("Awareness", "Video", "profile_views", "engagement", "real lift")]
    (line,) = _section(
        digest_text(records, since=date(2026, 3, 31), until=date(2026, 3, 31), title="t"), "Tests"
    )
    assert line.endswith("Video — profile views (engagement) real lift; launched: none")


def test_links_to_the_reports_as_stored(simulated: list[Record]) -> None:
    records = [*pilot(), *simulated]
    since, until = date(2025, 1, 1), date(2026, 12, 31)
    text = digest_text(records, since=since, until=until, title="t")
    links = _section(text, "Reports")
    assert links[0] == (
        "- Social selling pilot: [reports/social selling (pilot).json]"
        "(reports/social%20selling%20%28pilot%29.json)"
    )
    assert re.fullmatch(r"- No report on file for 26 test\(s\): .+ and 23 more\.", links[1])
    page = digest_html(records, since=since, until=until, title="t")
    assert page.count('href="reports/social%20selling%20%28pilot%29.json"') == 2  # the table and the list


@pytest.mark.parametrize(
    ("stored", "href"),
    [
        ("https://evil.example/x.json", "https%3A//evil.example/x.json"),
        ("//evil.example/x.json", "/evil.example/x.json"),
        ("javascript:alert(1)", "javascript%3Aalert%281%29"),
        ("/srv/reports/a b.json", "/srv/reports/a%20b.json"),
    ],
)
def test_a_stored_path_never_links_outside_the_files(stored: str, href: str) -> None:
    records = [rec("T", "A", "m", "outcome", "harm", report=stored)]
    kw = {"since": date(2026, 3, 31), "until": date(2026, 3, 31), "title": "t"}
    assert f"]({href})" in digest_text(records, **kw)
    assert f'href="{href}"' in digest_html(records, **kw)


# ---- what the programme has learned: only the learn report's sentences -------------------------


def test_without_a_learn_report_the_digest_claims_nothing(simulated: list[Record]) -> None:
    kw = {"since": date(2025, 1, 1), "until": date(2026, 12, 31), "title": "t"}
    text = digest_text(simulated, **kw)
    assert _section(text, "What the programme has learned") == [
        "Run `channelab learn` for what the programme has learned."
    ]
    page = digest_html(simulated, **kw)
    assert "Run <code>channelab learn</code> for what the programme has learned." in page
    for said in (text, page):
        assert not re.search(r"on average|predicted|interval|raised|lowered", said)


def test_the_learn_reports_sentences_are_copied_verbatim(simulated: list[Record]) -> None:
    kw = {"since": date(2025, 1, 1), "until": date(2026, 12, 31), "title": "t", "learned": LEARNED}
    text = digest_text(simulated, **kw)
    learned = _section(text, "What the programme has learned")
    assert learned[:2] == [f"- {s['text']}" for s in LEARNED["sentences"]]
    assert learned[2] == "(Copied from the learn report 'outreach', as it printed them.)"
    page = _Page.parse(digest_html(simulated, **kw))
    for s in LEARNED["sentences"]:
        assert s["text"] in page.items


@pytest.mark.parametrize(
    ("report", "match"),
    [
        ({"kind": "analysis"}, "not a learn report \\(its kind is 'analysis'"),
        ([1, 2], "not a learn report \\(the JSON is not an object"),
        ({"kind": "learn", "sentences": [{"claim": "x"}]}, "sentences are .* not a list of"),
    ],
)
def test_something_other_than_a_learn_report_is_refused(report: object, match: str) -> None:
    with pytest.raises(DataError, match=match):
        learned_sentences(report, "x.json")


# ---- the HTML page -----------------------------------------------------------------------------

_VOID = {"meta", "br", "link", "img", "hr", "input"}


class _Page(HTMLParser):
    """Checks nesting; collects tags, attributes, list items and table rows."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.items: list[str] = []
        self.rows = 0
        self._text: list[str] | None = None

    @classmethod
    def parse(cls, page: str) -> _Page:
        parser = cls()
        parser.feed(page)
        parser.close()
        assert parser.stack == [], parser.stack
        return parser

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        self.rows += tag == "tr"
        if tag == "li":
            self._text = []
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1:] == [tag], (self.stack, tag)
        self.stack.pop()
        if tag == "li" and self._text is not None:
            self.items.append("".join(self._text))
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def test_the_html_is_well_formed_self_contained_and_holds_a_table_of_tests(simulated: list[Record]) -> None:
    hostile = rec('<script>alert(1)</script> [win](https://evil.example) "x"', "A\nB", "m", "outcome", "harm")
    hostile = replace(hostile, report="https://evil.example/x.json", launched=True)
    records = [*simulated, hostile]
    since, until = date(2025, 1, 1), date(2026, 12, 31)
    page = _Page.parse(digest_html(records, since=since, until=until, title="Outreach <Q1>", learned=LEARNED))
    assert "script" not in page.tags
    assert {"h1", "h2", "table", "thead", "tbody"} <= set(page.tags)
    assert page.rows == 1 + 27  # the header and one row per test
    for name, value in page.attrs:
        assert name not in ("src", "srcset", "style", "onclick")
        assert not re.search(r"^\s*[a-z][a-z0-9+.-]*:", value or "", re.I) or name == "content", (name, value)
    text = digest_text(records, since=since, until=until, title="t")
    (line,) = [li for li in _section(text, "Tests") if "alert" in li]
    hostile_line = r'- \<script\>alert(1)\</script\> \[win\](https://evil.example) "x" (2026-03-31): '
    assert line == hostile_line + "A B — m harm; launched: A B"
    assert "A B —" in line  # a line break in a label never breaks the one line per test


def test_a_long_range_lists_at_most_the_bound_and_counts_the_rest(
    simulated: list[Record], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(digest_module, "MAX_DIGEST_TESTS", 5)
    text = digest_text(simulated, since=date(2025, 1, 1), until=date(2026, 12, 31), title="t")
    lines = _section(text, "Tests")
    assert len(lines) == 6
    assert lines[-1].startswith("- … and 21 more test(s), not listed here (a digest lists at most 5)")


# ---- the command -------------------------------------------------------------------------------


@pytest.fixture
def registry(tmp_path: Path, simulated: list[Record]) -> Path:
    path = tmp_path / "programme.duckdb"
    with open_registry(path, create=True) as store:
        store.add([*simulated, *pilot()])
    return path


def test_the_command_prints_the_digest_and_writes_both_files(registry: Path, tmp_path: Path) -> None:
    learned = tmp_path / "outreach.learn.json"
    learned.write_text(json.dumps(LEARNED), encoding="utf-8")
    out = tmp_path / "out"
    argv = ["digest", str(registry), "--from", "2026-03-31", "--to", "2026-03-31", "--out", str(out)]
    result = runner.invoke(app, [*argv, "--learned", str(learned), "--name", "q1"])
    assert result.exit_code == 0, result.output
    md, page = out / "q1.digest.md", out / "q1.digest.html"
    assert md.read_text(encoding="utf-8") in result.output
    assert "1 test concluded between 2026-03-31 and 2026-03-31" in result.output
    assert str(md) in result.output
    assert str(page) in result.output
    _Page.parse(page.read_text(encoding="utf-8"))
    again = digest_programme(registry, since=date(2026, 3, 31), until=date(2026, 3, 31), out_dir=out)
    assert again.markdown == out / "programme.digest.md"
    assert again.tests == 1


def _refused(argv: list[str], match: str, out: Path) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert re.search(match, " ".join(result.output.split())), result.output
    assert not out.exists() or not any(out.iterdir())


_EXPECTED = "expected a valid date written YYYY-MM-DD"
_NONE_IN_2024 = (
    r"no test concluded between 2024-01-01 and 2024-12-31; the registry's 27 test\(s\) concluded between "
    r"2025-\d\d-\d\d and 2026-03-31\. Give a range that overlaps"
)


@pytest.mark.parametrize(
    ("since", "until", "match"),
    [
        ("2026-04-01", "2026-03-01", r"--from 2026-04-01 is after --to 2026-03-01"),
        ("2026-13-01", "2026-12-31", rf"digest --from: got '2026-13-01', but {_EXPECTED}"),
        ("2026-01-01", "31/12/2026", rf"digest --to: got '31/12/2026', but {_EXPECTED}"),
        ("2024-01-01", "2024-12-31", _NONE_IN_2024),
    ],
)
def test_bad_ranges_are_refused(registry: Path, tmp_path: Path, since: str, until: str, match: str) -> None:
    out = tmp_path / "out"
    _refused(["digest", str(registry), "--from", since, "--to", until, "--out", str(out)], match, out)


def test_a_file_that_is_not_a_registry_and_an_empty_registry_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    csv = tmp_path / "results.csv"
    csv.write_text("arm,metric\nA,m\n", encoding="utf-8")
    dates = ["--from", "2026-01-01", "--to", "2026-12-31", "--out", str(out)]
    _refused(["digest", str(csv), *dates], r"results\.csv: not a channelab registry", out)
    empty = tmp_path / "empty.duckdb"
    open_registry(empty, create=True).close()
    _refused(["digest", str(empty), *dates], r"empty\.duckdb: the registry holds no test yet", out)
    _refused(["digest", str(tmp_path / "none.duckdb"), *dates], r"none\.duckdb: no registry here", out)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", r"not a learn report: not valid JSON"),
        (json.dumps({"kind": "learn", "sentences": "many"}), r"the learn report's sentences are 'many'"),
        (None, r"x\.learn\.json: not a learn report \(its kind is None, not 'learn'\)"),  # a run report
    ],
)
def test_a_learned_file_that_is_not_a_learn_report_is_refused(
    registry: Path, tmp_path: Path, content: str | None, match: str
) -> None:
    learned = tmp_path / "x.learn.json"
    learned.write_text(
        content
        if content is not None
        else (REPORTS / "social_selling_pilot.json").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    argv = ["digest", str(registry), "--from", "2026-01-01", "--to", "2026-12-31", "--out", str(out)]
    _refused([*argv, "--learned", str(learned)], match, out)


def test_from_after_to_is_a_spec_error_in_the_app(registry: Path, tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="is after"):
        digest_programme(registry, since=date(2026, 2, 1), until=date(2026, 1, 1), out_dir=tmp_path)
