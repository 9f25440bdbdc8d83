"""The HTML document around a report's body: metadata, a small inline style sheet, the footer.

One file with everything inline: no stylesheet, font, image or script is fetched. The style
sheet keeps the text to a readable measure, lets figures scale to the screen and puts each
table in its own horizontally scrolling box, so on a phone the page itself never scrolls
sideways.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["STYLE", "document"]

#: The whole style sheet: system fonts, a readable measure, scrolling tables, scaling figures.
STYLE = """
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;padding:1rem;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,
sans-serif;color:#1b1b1b;background:#fff;overflow-wrap:anywhere}
main,footer{max-width:52rem;margin:0 auto}
h1{font-size:1.6rem;line-height:1.25;margin:.2rem 0 .6rem}
h2{font-size:1.25rem;margin:1.6rem 0 .5rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
h3{font-size:1.05rem;margin:1.2rem 0 .4rem}
p{margin:.4rem 0 .7rem}
.lead{font-size:1.1rem}
.meta,.small{color:#555;font-size:.9rem}
.verdict{display:flex;flex-wrap:wrap;gap:.4rem .8rem;align-items:flex-start;margin:.5rem 0 .9rem;
border-left:4px solid #888;padding:.3rem 0 .3rem .7rem}
.verdict .badge{font-weight:700;letter-spacing:.02em;min-width:8rem}
.verdict .said{flex:1 1 16rem;min-width:0}
.banner{background:#b42318;color:#fff;padding:.7rem 1rem;margin:.6rem 0}
.box{background:#fff6e0;border:1px solid #d99a00;padding:.7rem 1rem;margin:.6rem 0}
.table-wrap{max-width:100%;overflow-x:auto;margin:.5rem 0 1rem;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;font-size:.85rem;overflow-wrap:normal}
th,td{border:1px solid #ccc;padding:.3rem .45rem;text-align:left;vertical-align:top}
thead th{background:#f2f4f7}
tbody th{font-weight:600}
figure.chart{margin:1rem 0}
figure.chart svg{display:block;width:100%;height:auto;max-width:100%}
figcaption{color:#555;font-size:.9rem;margin-top:.3rem}
footer{color:#666;font-size:.8rem;border-top:1px solid #ddd;margin-top:2rem;padding-top:.5rem}
""".strip()


def document(body: Sequence[str], *, title: str, subject: str, creator: str, footer: str) -> str:
    """One self-contained HTML page holding ``body``.

    Parameters
    ----------
    body
        The page's HTML fragments, in order (its first heading should be the ``h1``).
    title, subject, creator, footer
        The document's title, description, generator and footer line (the PDF's own).

    Returns
    -------
    str
        The HTML document.
    """
    esc = html.escape
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title)}</title>",
            f'<meta name="description" content="{esc(" ".join(subject.split()))}">',
            f'<meta name="generator" content="{esc(creator)}">',
            f"<style>\n{STYLE}\n</style>",
            "</head>",
            "<body>",
            "<main>",
            *body,
            "</main>",
            f"<footer><p>{esc(footer)}</p></footer>",
            "</body>",
            "</html>",
            "",
        ]
    )
