"""The HTML twin of every report: one self-contained, accessible page with the PDF's content.

Fast tests read pages written from mocked-sampling runs with :mod:`html.parser`; the browser
tests render them in headless Chromium at phone width (skipped, with the reason, when no
``chromium`` is on PATH; CI installs Debian's).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from channelab.reporting.html import analysis_twin, twin
from channelab.reporting.html.convert import flowables_html, svg_markup
from channelab.reporting.pdf import layout, leadership
from channelab.reporting.pdf.analysis import analysis_pdf
from channelab.reporting.pdf.layout import fmt_prob
from helpers import EXPERIMENTS, mocked_sampling

REPORTS = Path(__file__).resolve().parents[2] / "reports"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium or chromium-browser on PATH (CI installs Debian's chromium)"
)


class _Page(HTMLParser):
    """What a test needs of a page: text, headings, tables, figures and every fetched resource."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []
        self.headings: list[tuple[str, str]] = []
        self.fetched: list[str] = []
        self.scripts = 0
        self.svgs: list[dict[str, str | None]] = []
        self.svg_titles: list[str] = []
        self.header_cells: list[str | None] = []
        self.rows: list[list[str]] = []
        self._open: list[str] = []
        self._heading: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(text)
        self.text = " ".join(" ".join(self.words).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.fetched += [v for k, v in a.items() if k in ("src", "href", "xlink:href") and v]
        self.scripts += tag == "script"
        if tag == "svg" and "svg" not in self._open:
            self.svgs.append(a)
        if tag in ("h1", "h2", "h3"):
            self._heading = []
        if tag == "tr":
            self.rows.append([])
        if tag in ("th", "td"):
            self._cell = []
            if tag == "th":
                self.header_cells.append(a.get("scope"))
        if tag not in ("br", "meta", "path", "use", "rect", "circle", "line", "polyline", "polygon"):
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append((tag, " ".join("".join(self._heading).split())))
            self._heading = None
        if tag in ("th", "td") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        if tag in self._open:
            while self._open and self._open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        inside = self._open[-1] if self._open else ""
        if inside == "title" and "svg" in self._open:
            self.svg_titles.append(data.strip())
        if "svg" in self._open or inside in ("style", "title"):
            return
        self.words.append(data)
        for part in (self._heading, self._cell):
            if part is not None:
                part.append(data)


def _dash(text: str) -> str:
    """PDF text is WinAnsi: its builders write a minus sign as an en dash."""
    return text.replace("\u2212", "\u2013")


def assert_self_contained_and_accessible(page: _Page, raw: str) -> None:
    """One document that fetches nothing and needs no script, with headings and text for figures."""
    assert raw.startswith("<!DOCTYPE html>")
    assert raw.count("<html") == 1
    assert "</html>" in raw
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in raw
    fetched = [u for u in page.fetched if not u.startswith(("#", "data:image/png;base64,"))]
    assert not fetched, fetched[:5]  # in-page references and inline rasters only
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", raw)
    assert page.scripts == 0
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", raw)
    assert [level for level, _ in page.headings].count("h1") == 1
    assert page.headings[0][0] == "h1"
    assert any(level == "h2" for level, _ in page.headings)
    assert page.svgs, "no inline figure"
    assert all(svg.get("role") == "img" and (svg.get("aria-label") or "").strip() for svg in page.svgs)
    assert len(page.svg_titles) >= len(page.svgs)
    assert all(page.svg_titles)
    assert page.header_cells
    assert all(scope in ("col", "row") for scope in page.header_cells)
    assert "<table" not in raw.replace('<div class="table-wrap"><table', "")  # every table scrolls alone


@pytest.fixture(scope="module")
def analysis_page(hillstrom_mock_run) -> tuple[str, _Page]:
    raw = hillstrom_mock_run.html.read_text(encoding="utf-8")
    return raw, _Page(raw)


def test_a_run_writes_an_html_twin_beside_the_pdf_and_json(hillstrom_mock_run, analysis_page):
    raw, page = analysis_page
    assert hillstrom_mock_run.html == hillstrom_mock_run.pdf.with_suffix(".html")
    assert hillstrom_mock_run.html.parent == hillstrom_mock_run.json.parent
    assert_self_contained_and_accessible(page, raw)
    assert page.headings[0] == ("h1", hillstrom_mock_run.analysis.spec.display_title)


def test_the_page_says_every_verdict_and_headline_number_of_the_json(hillstrom_mock_run, analysis_page):
    _, page = analysis_page
    doc = json.loads(hillstrom_mock_run.json.read_text())
    text = page.text
    assert f"{doc['n_units']:,}" in text
    assert "What each arm did" in [h for _, h in page.headings]
    for arm in doc["arms"]:
        assert arm["arm"] in text
        assert arm["verdict"].upper() in text
        assert _dash(" ".join(arm["summary"].split())) in text
    for e in doc["effects"]:  # one row of the effects table per arm and metric, with its numbers
        row = next(r for r in page.rows if r[:3] == [e["arm"], e["label"], e["role"]])
        assert e["verdict"] in row
        assert fmt_prob(e["lift"]["prob_positive"]) in row
        assert fmt_prob(e["lift"]["prob_in_rope"]) in row


def test_the_appendix_carries_the_full_trace_plots(hillstrom_mock_run, analysis_page):
    _, page = analysis_page
    arms = [a for a in hillstrom_mock_run.analysis.spec.treatments]
    traces = [s["aria-label"] or "" for s in page.svgs if "trace" in (s["aria-label"] or "")]
    assert traces, [s["aria-label"] for s in page.svgs]
    assert all(arm in traces[-1] for arm in arms)
    assert sum("Trace and rank plots" in h for _, h in page.headings) == 1


def test_recording_leaves_the_pdf_and_the_pdf_modules_untouched(hillstrom_mock_run):
    analysis = hillstrom_mock_run.analysis
    both = analysis_twin(analysis)
    assert both.pdf == analysis_pdf(analysis) == hillstrom_mock_run.pdf.read_bytes()
    assert both.html == hillstrom_mock_run.html.read_bytes()  # deterministic, like the PDF
    assert leadership.figure_flowable is layout.figure_flowable


def test_a_builder_that_lays_out_nothing_is_refused():
    with pytest.raises(RuntimeError, match="did not lay out"):
        twin(lambda: b"%PDF")


def test_pdf_markup_becomes_html_tag_for_tag():
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph

    p = Paragraph('<font color="#1a7f37"><b>real lift</b></font> a &amp; b<br/>next', ParagraphStyle("body"))
    assert flowables_html([p], {}) == [
        '<p class="body"><span style="color:#1a7f37"><strong>real lift</strong></span> a &amp; b<br>next</p>'
    ]


def test_a_figure_is_inline_svg_that_scales_with_its_caption():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 2))
    ax = fig.subplots()
    ax.set_title("lift by week", loc="left")
    ax.set_xlabel("week")
    markup = svg_markup(fig, 3, caption="How to read it.")
    opening = markup[markup.index("<svg") : markup.index(">", markup.index("<svg"))]
    assert 'aria-label="Figure 3: lift by week: week"' in opening
    assert " width=" not in opening
    assert "viewBox" in opening
    assert "<title>Figure 3: lift by week: week</title>" in markup
    assert markup.endswith("<figcaption>How to read it.</figcaption></figure>")


def _copy(tmp_path: Path, name: str, **changes: dict) -> Path:
    raw = yaml.safe_load((EXPERIMENTS / f"{name}.yaml").read_text())
    for key, value in changes.items():
        raw.setdefault(key, {}).update(value)
    raw["data"]["path"] = str((EXPERIMENTS / raw["data"]["path"]).resolve())
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="module")
def other_pages(tmp_path_factory) -> dict[str, Path]:
    """The design, replication plan and monitor reports, written once (mocked sampling)."""
    from channelab.app import design_experiment, monitor_experiment, plan_replication

    tmp = tmp_path_factory.mktemp("html_others")
    designed = design_experiment(_copy(tmp, "social_selling_pilot"), out_dir=tmp, sims=0, seed=5)
    planned = plan_replication(
        _copy(tmp, "ubc_slacktivism_study1", replication={"assurance_sims": 100}), out_dir=tmp, seed=6
    )
    with mocked_sampling():
        monitored = monitor_experiment(_copy(tmp, "social_selling_monitor"), out_dir=tmp)
    return {"design": designed.html, "plan": planned.html, "monitor": monitored.html}


@pytest.mark.slow  # designs, plans and monitors for real commands: about 20 s
@pytest.mark.parametrize("kind", ["design", "plan", "monitor"])
def test_every_report_has_an_html_twin(other_pages, kind):
    path = other_pages[kind]
    assert path.name.endswith(f".{kind}.html")
    assert path.with_suffix(".pdf").exists()
    assert path.with_suffix(".json").exists()
    raw = path.read_text(encoding="utf-8")
    assert_self_contained_and_accessible(_Page(raw), raw)


@pytest.mark.slow  # shares the real design, plan and monitor runs above
def test_the_monitor_page_says_whether_to_stop(other_pages):
    page = _Page(other_pages["monitor"].read_text(encoding="utf-8"))
    doc = json.loads(other_pages["monitor"].with_suffix(".json").read_text())
    assert ("Stop" if doc["stop"] else "Keep going") in page.text
    for arm in doc["decisions"]:
        assert arm in page.text


# --- in a browser, at phone width ---------------------------------------------------------------

#: Headless Chromium will not open a window narrower than 500 px, so the copy measured is held
#: to a phone's 390 CSS px by its root element; the script reports how wide the body's content
#: runs (anything wider than the body, outside a scrolling box of its own) against the body.
PHONE = 390
_NARROW = f"<style>html{{width:{PHONE}px}}</style></head>"
_MEASURE = (
    "<script>document.title = document.body.scrollWidth + 'x' + "
    "document.documentElement.getBoundingClientRect().width;</script></body>"
)


def _chromium(*args: str) -> str:
    command = [CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _check_in_browser(path: Path, tmp_path: Path) -> None:
    """The rendered DOM keeps the verdicts' text, and at 390 px the page never scrolls sideways."""
    dom = _chromium("--dump-dom", path.resolve().as_uri())
    assert "<svg" in dom
    assert "<h1>" in dom
    measured = tmp_path / f"measured-{path.name}"
    page = path.read_text(encoding="utf-8")
    measured.write_text(page.replace("</head>", _NARROW, 1).replace("</body>", _MEASURE, 1))
    dom = _chromium(
        "--virtual-time-budget=2000",
        "--run-all-compositor-stages-before-draw",
        f"--window-size={PHONE},800",
        "--dump-dom",
        measured.resolve().as_uri(),
    )
    found = re.search(r"<title>(\d+)x(\d+(?:\.\d+)?)</title>", dom)
    assert found, dom[:500]
    scroll, inner = int(found[1]), float(found[2])
    assert inner == PHONE, dom[:500]
    assert scroll <= inner, f"{path.name}: the page is {scroll} px wide on a {inner} px screen"
    shot = tmp_path / f"{path.stem}.png"
    _chromium(f"--window-size={PHONE},2000", f"--screenshot={shot}", path.resolve().as_uri())
    assert shot.stat().st_size > 1000


@pytest.mark.slow  # a headless browser per page
@needs_chromium
def test_a_fresh_report_reads_on_a_phone(hillstrom_mock_run, other_pages, tmp_path):
    for path in [hillstrom_mock_run.html, *other_pages.values()]:
        _check_in_browser(path, tmp_path)


@pytest.mark.slow  # a headless browser per page
@needs_chromium
@pytest.mark.parametrize("name", sorted(p.name for p in REPORTS.glob("*.html")) or ["(none)"])
def test_the_committed_example_reads_on_a_phone(name, tmp_path):
    if name == "(none)":
        pytest.skip("no committed reports/*.html yet (the lead regenerates the examples)")
    _check_in_browser(REPORTS / name, tmp_path)
