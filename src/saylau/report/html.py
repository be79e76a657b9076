"""The report as one self-contained HTML file: CSS inline, figures as SVG data URIs.

Nothing is fetched: no script, no font, no stylesheet, no image from anywhere but the file
itself (the browser test records every request). Names, hashes, file names and references
carry ``translate="no"``: they are the same in every language.

Examples
--------
>>> from saylau.report.document import Document, Paragraph, Section
>>> doc = Document("T", "kk", (Section("summary", "Сводка", (Paragraph("Бәрі <жақсы>"),)),))
>>> text = render_html(doc)
>>> '<html lang="kk">' in text, "&lt;жақсы&gt;" in text, "://" in text
(True, True, False)
"""

from __future__ import annotations

import base64
from html import escape

from .document import Block, Document, Figure, FindingItem, Paragraph, SubHeading, Table

__all__ = ["CSS", "render_html"]

#: The stylesheet: readable on a phone and printed; colours that survive grey printing and
#: colour blindness (the strength is always written out too, never a colour alone).
CSS = """
:root { --ink:#1b1b1b; --muted:#555; --rule:#c8c8c8; --alarm:#8b0000; --screen:#1f4e79;
  --nothing:#2d5a27; --model:#5b3a82; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Noto Sans", Arial, sans-serif; color: var(--ink);
  margin: 0 auto; max-width: 62rem; padding: 1rem 1.25rem 3rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin: .5rem 0; overflow-wrap: anywhere; }
h2 { font-size: 1.3rem; border-bottom: 2px solid var(--ink); margin-top: 2.2rem;
  overflow-wrap: anywhere; }
h3 { font-size: 1.08rem; margin: 1.6rem 0 .4rem; overflow-wrap: anywhere; }
p, li, td, th, figcaption, a { overflow-wrap: anywhere; }
p.subtitle { color: var(--muted); }
p.note { color: var(--muted); font-size: .92rem; }
p.dropped { color: var(--muted); font-style: italic; }
p.reference { font-size: .9rem; padding-left: 1.2rem; text-indent: -1.2rem; }
nav ol { padding-left: 1.2rem; columns: 2; }
.finding { border-left: 6px solid var(--screen); padding: .3rem .6rem; margin: .5rem 0;
  background: #f4f6f8; }
.finding .strength { font-weight: bold; text-transform: uppercase; font-size: .82rem;
  letter-spacing: .03em; margin-right: .4rem; }
.finding-alarm { border-left-color: var(--alarm); border-left-style: double;
  border-left-width: 8px; background: #fbf0f0; }
.finding-alarm .strength { color: var(--alarm); }
.finding-nothing { border-left-color: var(--nothing); }
.finding-nothing .strength { color: var(--nothing); }
.finding-model { border-left-color: var(--model); border-left-style: dashed; }
.finding-model .strength { color: var(--model); }
.finding-screen { border-left-style: dotted; }
.finding-screen .strength { color: var(--screen); }
.finding a { color: inherit; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0 1rem; font-size: .9rem; }
caption { caption-side: bottom; text-align: left; color: var(--muted); font-size: .85rem;
  padding-top: .3rem; }
th, td { border-bottom: 1px solid var(--rule); padding: .25rem .4rem; vertical-align: top;
  text-align: left; }
th { border-bottom: 2px solid var(--ink); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.verbatim td { font-family: "DejaVu Sans Mono", monospace; font-size: .8rem; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; align-items: start; }
@media (max-width: 48rem) { .pair { grid-template-columns: 1fr; } nav ol { columns: 1; } }
figure { margin: .8rem 0; min-width: 0; }
figure img { width: 100%; height: auto; display: block; border: 1px solid var(--rule); }
figure.reference img { border-style: dashed; }
figcaption { font-size: .85rem; color: var(--muted); margin-top: .3rem; }
@media print { body { max-width: none; } h2 { break-before: page; } figure, table, .finding
  { break-inside: avoid; } }
"""


def _attr(text: str) -> str:
    return escape(text, quote=True)


def _figure(f: Figure) -> str:
    uri = "data:image/svg+xml;base64," + base64.b64encode(f.svg.encode("utf-8")).decode("ascii")
    cls = "fig reference" if f.reference else "fig"
    return (
        f'<figure class="{cls}" data-kind="{_attr(f.kind)}"><img src="{uri}" '
        f'alt="{_attr(f.alt)}"><figcaption>{escape(f.caption)}</figcaption></figure>'
    )


def _table(t: Table) -> str:
    numeric = t.numeric or (False,) * len(t.header)
    cls = ' class="verbatim" translate="no"' if t.verbatim else ""
    out = [f"<table{cls}>"]
    if t.caption:
        out.append(f"<caption>{escape(t.caption)}</caption>")
    out.append(
        "<thead><tr>"
        + "".join(
            f'<th class="num">{escape(h)}</th>' if n else f"<th>{escape(h)}</th>"
            for h, n in zip(t.header, numeric, strict=False)
        )
        + "</tr></thead><tbody>"
    )
    for row in t.rows:
        cells = [
            f'<td class="num">{escape(c)}</td>' if n else f"<td>{escape(c)}</td>"
            for c, n in zip(row, numeric, strict=False)
        ]
        if t.names and cells and not numeric[0]:
            cells[0] = cells[0].replace("<td>", '<td translate="no">', 1)
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _block(b: Block) -> str:
    if isinstance(b, Paragraph):
        if b.style == "reference":
            return f'<p class="reference" translate="no">{escape(b.text)}</p>'
        cls = f' class="{b.style}"' if b.style else ""
        return f"<p{cls}>{escape(b.text)}</p>"
    if isinstance(b, SubHeading):
        anchor = f' id="{_attr(b.anchor)}"' if b.anchor else ""
        return f"<h3{anchor}>{escape(b.text)}</h3>"
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, FindingItem):
        return (
            f'<p class="finding finding-{b.strength}" data-strength="{b.strength}">'
            f'<a href="#{_attr(b.target)}"><span class="strength">{escape(b.strength_label)}'
            f"</span></a>{escape(b.text)}</p>"
        )
    return _figure(b)


def _blocks(blocks: tuple[Block, ...]) -> str:
    out: list[str] = []
    i = 0
    while i < len(blocks):
        b = blocks[i]
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        if isinstance(b, Figure) and isinstance(nxt, Figure) and nxt.reference:
            out.append(f'<div class="pair">{_figure(b)}{_figure(nxt)}</div>')
            i += 2
            continue
        out.append(_block(b))
        i += 1
    return "\n".join(out)


def render_html(doc: Document) -> str:
    """The document as one HTML page (UTF-8 text), with nothing to fetch."""
    toc = "".join(f'<li><a href="#{_attr(s.key)}">{escape(s.title)}</a></li>' for s in doc.sections)
    body = "\n".join(
        f'<section id="{_attr(s.key)}"><h2>{escape(s.title)}</h2>\n{_blocks(s.blocks)}</section>'
        for s in doc.sections
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{_attr(doc.lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">\n"
        f"<title>{escape(doc.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>{escape(doc.title)}</h1>"
        f'<p class="subtitle">{escape(doc.subtitle)}</p><nav><ol>{toc}</ol></nav></header>\n'
        f"<main>\n{body}\n</main>\n</body>\n</html>\n"
    )
