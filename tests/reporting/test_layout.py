"""Pages without defects: the layout check, its failure on a broken PDF, and the reports it passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from channelab.reporting.pdf.layout import GridTable, _sanitise, grid_table, styles
from helpers import EXPERIMENTS, ROOT, mocked_sampling
from layout_check import layout_defects

#: Example experiments rendered with mocked sampling for the fast tier: a replication, a
#: published-means analysis (page 1 near full) and aggregated data with model fallbacks.
_FAST_EXAMPLES = ["ubc_slacktivism_study1", "ubc_study1_published", "crm_weekly_aggregated"]


def _broken_pdf(path: Path) -> None:
    """Four pages: a lone heading, a near-empty page, split words, overlaps, text off the page."""
    c = Canvas(str(path), pagesize=A4)
    w, h = A4
    c.setFont("Helvetica", 9.5)
    for i in range(40):  # a full page of body text ...
        c.drawString(60, h - 70 - 16 * i, f"Line {i} of the verdict: inconclusive, worth $1,082.39 per unit.")
    c.setFont("Helvetica-Bold", 13.5)
    c.drawString(60, 80, "Appendix B. Sampler diagnostics")  # ... ending in a heading
    c.showPage()
    c.setFont("Helvetica", 9.5)
    c.drawString(60, h - 70, "A page with one line on it.")  # nearly empty, not the last page
    c.showPage()
    c.setFont("Helvetica", 7.5)
    for i in range(30):
        c.drawString(60, h - 70 - 24 * i, "filler text of a full page")
    c.drawString(300, h - 300, "The verdict is inconclusi")
    c.drawString(300, h - 309.5, "ve and the gain $1,082.3")
    c.drawString(300, h - 319, "9 per unit.")
    c.drawString(w - 40, h - 400, "off the page")
    c.drawString(300, h - 440, "inconclusive")  # too wide for its cell: runs into the next one
    c.drawString(330, h - 440, "+3.1 %")
    c.drawString(60, h - 420, "from ? y and ?y2 as the sum")
    c.showPage()
    c.setFont("Helvetica", 9.5)
    c.drawString(60, h - 70, "The last page may be short.")
    c.showPage()
    c.save()


def test_layout_check_fails_on_a_broken_pdf(tmp_path: Path):
    path = tmp_path / "broken.pdf"
    _broken_pdf(path)
    defects = layout_defects(path)
    text = "\n".join(defects)
    assert "page 1: heading 'Appendix B. Sampler diagnostics' is the last block" in text
    assert "page 2: content fills less than a tenth of the page" in text
    assert "'inconclusi' / 've' is one word or number broken" in text
    assert "'$1,082.3' / '9' is one word or number broken" in text
    assert "page 3: text outside the page or its margins" in text
    assert sum("character missing from the font" in d for d in defects) == 2
    assert not any(d.startswith("page 4") for d in defects)  # a short last page is fine
    assert "page 3: text drawn over text" in text
    assert len(defects) == 8


def test_layout_check_passes_a_clean_pdf_and_stacked_numbers(tmp_path: Path):
    """Numbers one per table row, a real question mark and a short last page are not defects."""
    path = tmp_path / "clean.pdf"
    st = styles()
    rows = [["Arm", "Units", "Verdict"], *([f"arm {i}", f"{1000 + i:,}", "inconclusive"] for i in range(60))]
    story = [
        Paragraph("Did it work?", st["h1"]),
        Paragraph("Does social selling book meetings, or does it only collect likes?", st["body"]),
        Spacer(1, 10),
        grid_table(rows, [3.0, 2.0, 2.0], st),
    ]
    SimpleDocTemplate(str(path), pagesize=A4).build(story)
    assert layout_defects(path) == []


def _split_rows(n_rows: int, room: float) -> list[int]:
    """Body rows of each part when a table of ``n_rows`` is split into ``room`` points."""
    st = styles()
    table = grid_table([["a", "b"], *([str(i), "x"] for i in range(n_rows))], [1.0, 1.0], st)
    table.wrap(400, 10_000)
    return [len(part._cellvalues) - 1 for part in table.split(400, room)]


@pytest.mark.parametrize(
    ("n_rows", "room_rows", "expected"), [(4, 2, []), (10, 2, []), (10, 9, [7, 3]), (10, 6, [6, 4])]
)
def test_grid_table_leaves_no_lone_row_on_either_page(n_rows: int, room_rows: int, expected: list[int]):
    row = 13.5  # one line of 7.5 pt text at 9.5 pt leading, plus 2 + 2 points of padding
    assert _split_rows(n_rows, row * (room_rows + 1) + 1) == expected


def test_grid_table_splits_anywhere_on_a_fresh_page():
    """A table taller than a page must split somewhere, even into a short head."""
    st = styles()
    table = grid_table([["a"], *(["x"] for _ in range(200))], [1.0], st)
    assert isinstance(table, GridTable)
    table.wrap(400, 10_000)
    from channelab.reporting.pdf.layout import _FRAME_HEIGHT

    assert len(table.split(400, _FRAME_HEIGHT)) == 2


def test_sigma_and_greek_are_spelled_out_not_question_marks():
    assert _sanitise("from \u03a3 y and \u03a3 y\u00b2") == "from sum of y and sum of y\u00b2"
    assert "?" not in _sanitise("\u03c3 \u03bc \u0394")


def test_cells_never_break_inside_a_word():
    assert styles()["cell"].splitLongWords == 0
    assert styles()["h1"].keepWithNext
    assert styles()["h2"].keepWithNext


@pytest.fixture(scope="module")
def fresh_reports(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Mocked-sampling reports of a few examples and a replication plan, from the current renderer."""
    from channelab.app import plan_replication, run_experiment

    out = tmp_path_factory.mktemp("layout_reports")
    with mocked_sampling():
        pdfs = [run_experiment(EXPERIMENTS / f"{name}.yaml", out_dir=out).pdf for name in _FAST_EXAMPLES]
    return [*pdfs, plan_replication(EXPERIMENTS / "ubc_slacktivism_study1.yaml", out_dir=out).pdf]


@pytest.mark.slow  # four example reports rendered: about 20 s
def test_fresh_example_reports_have_no_layout_defects(fresh_reports: list[Path]):
    defects = {p.name: layout_defects(p) for p in fresh_reports}
    assert defects == {p.name: [] for p in fresh_reports}


@pytest.mark.slow
def test_fresh_reports_have_no_trace_plots_in_the_appendix(fresh_reports: list[Path]):
    import pdfplumber

    with pdfplumber.open(fresh_reports[0]) as pdf:
        text = "\n".join(page.extract_text() for page in pdf.pages)
    assert "Trace and rank plots of the arm effects" not in text
    assert "rank-normalised" in text
    assert "ESS tail" in text


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted((ROOT / "reports").glob("*.pdf")), ids=lambda p: p.name)
def test_committed_reports_have_no_layout_defects(path: Path):
    assert layout_defects(path) == []


def test_money_has_one_format_in_tables_and_text():
    from channelab.analysis.wording import money
    from channelab.reporting.pdf.layout import fmt_change, fmt_level

    assert fmt_level(1082.39, "revenue", "$") == money(1082.39, "$") == "$1,082"
    assert fmt_change(-3.456, "revenue", "$") == "\u2212$3.46"
    assert fmt_change(12.0, "revenue", "\u20ac") == "+\u20ac12"
    assert fmt_change(0.0123, "binary", "$", decimals=1) == "+1.2 pp"
