"""The report as a PDF, with fpdf2 (pure Python): the same document as the HTML file.

Text in DejaVu Sans (shipped with matplotlib; it covers Kazakh and Russian Cyrillic), figures
embedded as vectors from their SVG, the summary's findings linked to their evidence, the
sections in the PDF outline. No browser, no system package.

Examples
--------
>>> import tempfile, pathlib
>>> from saylau.report.document import Document, Paragraph, Section
>>> doc = Document("Сайлау", "kk", (Section("summary", "Қорытынды", (Paragraph("1 234,5"),)),))
>>> p = pathlib.Path(tempfile.mkdtemp()) / "r.pdf"
>>> write_pdf(doc, p).read_bytes()[:5]
b'%PDF-'
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.enums import WrapMode

from .document import Block, Document, Figure, FindingItem, Paragraph, SubHeading, Table

__all__ = ["write_pdf"]

_FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
_SIZE = re.compile(r'<svg[^>]*?width="([\d.]+)pt"[^>]*?height="([\d.]+)pt"')
_STRENGTH_RGB = {
    "alarm": (139, 0, 0),
    "nothing": (45, 90, 39),
    "screen": (31, 78, 121),
    "model": (91, 58, 130),
}


_FLIPPED = re.compile(
    r'<image xlink:href="data:image/png;base64,([^"]*)"([^>]*?) '
    r'transform="scale\(1 -1\) translate\(0 (-?[\d.]+)\)" '
    r'x="(-?[\d.]+)" y="(-?[\d.]+)" width="([\d.]+)" height="([\d.]+)"'
)


def _unflip(match: re.Match[str]) -> str:
    """A raster matplotlib stores upside down (``scale(1 -1)``), flipped back in the pixels.

    fpdf2 draws an ``<image>`` without its ``transform``: the colour grid of the fingerprint
    would land outside its axes. The same picture, without the transform, is drawn in place.
    """
    import base64

    from PIL import Image, ImageOps

    data, attrs, shift, x, y, w, h = match.groups()
    img = Image.open(io.BytesIO(base64.b64decode("".join(data.split()))))
    buf = io.BytesIO()
    ImageOps.flip(img).save(buf, format="PNG")
    new_y = -float(shift) - float(y) - float(h)
    return (
        f'<image xlink:href="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}"'
        f'{attrs} x="{x}" y="{new_y:g}" width="{w}" height="{h}"'
    )


_PATTERN = re.compile(r'<pattern id="([^"]+)".*?</pattern>', flags=re.DOTALL)
_COLOUR = re.compile(r'stroke(?:: |=")(#[0-9a-fA-F]{6})')
_BACKGROUND = re.compile(r'<rect[^>]*fill(?:: |=")(#[0-9a-fA-F]{6})')


def _solid_hatches(svg: str) -> str:
    """Hatched areas filled with their hatch colour (fpdf2 draws no ``<pattern>``).

    Without this a hatched bar would be drawn empty in the PDF; its colour still tells it
    apart, as in the HTML, where the hatching is drawn.
    """
    colours: dict[str, str] = {}
    for m in _PATTERN.finditer(svg):
        line = _COLOUR.search(m.group(0)) or _BACKGROUND.search(m.group(0))
        if line is not None:
            colours[m.group(1)] = line.group(1)
    for pid, colour in colours.items():
        svg = svg.replace(f"url(#{pid})", colour)
    return svg


def pdf_svg(svg: str) -> str:
    """The SVG as fpdf2 draws it right: rasters without their flip, hatches as solid colour."""
    return _solid_hatches(_FLIPPED.sub(_unflip, svg))


def _aspect(svg: str) -> float:
    m = _SIZE.search(svg[:2000])
    return float(m.group(2)) / float(m.group(1)) if m else 0.75


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("dejavu sans", size=8)
        self.set_text_color(100, 100, 100)
        self.cell(0, 8, str(self.page_no()), align="C")
        self.set_text_color(0, 0, 0)


def _pdf() -> _Pdf:
    pdf = _Pdf(format="A4")
    pdf.add_font("dejavu sans", "", str(_FONTS / "DejaVuSans.ttf"))
    pdf.add_font("dejavu sans", "B", str(_FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_font("dejavu sans", "I", str(_FONTS / "DejaVuSans-Oblique.ttf"))
    pdf.add_font("mono", "", str(_FONTS / "DejaVuSansMono.ttf"))
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_margins(15, 15, 15)
    return pdf


def _lines(pdf: _Pdf, width: float, text: str) -> int:
    """How many lines ``text`` takes in a cell of ``width`` with the current font."""
    lines = pdf.multi_cell(width, 3.6, text, dry_run=True, output="LINES", align="L")
    return len(lines) if isinstance(lines, list) else 1


def _figures(pdf: _Pdf, figs: list[Figure]) -> None:
    """One figure across the page, or a figure and its reference side by side."""
    gap = 4.0
    width = pdf.epw if len(figs) == 1 else (pdf.epw - gap) / 2
    heights = [width * _aspect(f.svg) for f in figs]
    pdf.set_font("dejavu sans", size=7.5)
    caption_h = max(_lines(pdf, width, f.caption) * 3.6 for f in figs)
    need = max(heights) + caption_h + 4
    if pdf.get_y() + need > pdf.h - pdf.b_margin:
        pdf.add_page()
    top = pdf.get_y()
    for k, (f, h) in enumerate(zip(figs, heights, strict=True)):
        x = pdf.l_margin + k * (width + gap)
        pdf.image(io.BytesIO(pdf_svg(f.svg).encode("utf-8")), x=x, y=top, w=width, h=h)
        pdf.set_xy(x, top + h + 1)
        pdf.set_text_color(80, 80, 80)
        pdf.multi_cell(width, 3.6, f.caption, align="L")
        pdf.set_text_color(0, 0, 0)
    pdf.set_xy(pdf.l_margin, top + need)


def _table(pdf: _Pdf, t: Table) -> None:
    numeric = t.numeric or (False,) * len(t.header)
    pdf.set_font("mono" if t.verbatim else "dejavu sans", size=7 if t.verbatim else 8)
    align = tuple("RIGHT" if n else "LEFT" for n in numeric)
    with pdf.table(
        text_align=align,
        line_height=4,
        first_row_as_headings=True,
        headings_style=_heading_style(),
        wrapmode=WrapMode.CHAR if t.verbatim else WrapMode.WORD,
        borders_layout="HORIZONTAL_LINES",
        padding=0.8,
    ) as table:
        table.row(t.header)
        for row in t.rows:
            table.row(row)
    if t.caption:
        pdf.set_font("dejavu sans", "I", 7.5)
        pdf.multi_cell(0, 3.8, t.caption)
    pdf.ln(2)


def _heading_style() -> object:
    from fpdf.fonts import FontFace

    return FontFace(family="dejavu sans", emphasis="BOLD", size_pt=8)


def _finding(pdf: _Pdf, b: FindingItem, link: int | None) -> None:
    r, g, bl = _STRENGTH_RGB[b.strength]
    pdf.set_draw_color(r, g, bl)
    pdf.set_line_width(1.2)
    top = pdf.get_y()
    pdf.set_x(pdf.l_margin + 3)
    pdf.set_font("dejavu sans", "B", 8.5)
    pdf.set_text_color(r, g, bl)
    label = b.strength_label.upper() + "  "
    pdf.multi_cell(pdf.epw - 3, 4.6, label, new_x="LEFT", new_y="NEXT", link=link if link else "")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("dejavu sans", size=9)
    pdf.set_x(pdf.l_margin + 3)
    pdf.multi_cell(pdf.epw - 3, 4.6, b.text, new_x="LMARGIN", new_y="NEXT")
    if pdf.get_y() > top:
        pdf.line(pdf.l_margin + 0.6, top, pdf.l_margin + 0.6, pdf.get_y())
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0, 0, 0)
    pdf.ln(1.5)


def _blocks(pdf: _Pdf, blocks: tuple[Block, ...], links: dict[str, int]) -> None:
    i = 0
    while i < len(blocks):
        b = blocks[i]
        if isinstance(b, Figure):
            figs = [b]
            nxt = blocks[i + 1] if i + 1 < len(blocks) else None
            if isinstance(nxt, Figure) and nxt.reference:
                figs.append(nxt)
                i += 1
            _figures(pdf, figs)
        elif isinstance(b, Paragraph):
            style = "I" if b.style in ("dropped",) else ""
            size = 8 if b.style in ("note", "reference") else 9.5
            pdf.set_font("dejavu sans", style, size)
            if b.style == "note":
                pdf.set_text_color(80, 80, 80)
            pdf.multi_cell(0, size * 0.5, b.text, new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(0, 0, 0)
            pdf.ln(1.5)
        elif isinstance(b, SubHeading):
            if pdf.get_y() > pdf.h - pdf.b_margin - 30:
                pdf.add_page()
            pdf.ln(2)
            if b.anchor and b.anchor in links:
                pdf.set_link(links[b.anchor], y=pdf.get_y())
            pdf.set_font("dejavu sans", "B", 11)
            pdf.multi_cell(0, 5.5, b.text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif isinstance(b, Table):
            _table(pdf, b)
        else:
            _finding(pdf, b, links.get(b.target))
        i += 1


def write_pdf(doc: Document, path: str | Path) -> Path:
    """Write the document as a PDF file; return its path."""
    # fpdf2 logs each SVG attribute it skips (a raster's transform); the figure is drawn anyway
    logging.getLogger("fpdf.svg").setLevel(logging.ERROR)
    pdf = _pdf()
    pdf.set_title(doc.title)
    pdf.set_lang(doc.lang)
    pdf.set_creator("saylau")
    pdf.add_page()
    targets = {s.key for s in doc.sections} | {
        b.anchor for s in doc.sections for b in s.blocks if isinstance(b, SubHeading) and b.anchor
    }
    links = {t: pdf.add_link() for t in targets}
    pdf.set_font("dejavu sans", "B", 17)
    pdf.multi_cell(0, 8, doc.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("dejavu sans", size=10)
    pdf.multi_cell(0, 5, doc.subtitle, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for n, s in enumerate(doc.sections):
        if n > 0:
            pdf.add_page()
        pdf.start_section(s.title)
        pdf.set_link(links[s.key], y=pdf.get_y())
        pdf.set_font("dejavu sans", "B", 14)
        pdf.multi_cell(0, 7, s.title, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        _blocks(pdf, s.blocks, links)
    out = Path(path)
    pdf.output(str(out))
    return out
