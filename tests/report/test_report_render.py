"""The reports as people open them: Chromium for the HTML, poppler for the PDF.

Each language's HTML is loaded into Debian's Chromium (Playwright, no browser download) from
its text, so that any request the page makes is recorded: only ``data:`` and ``about:`` URLs
are allowed. Every figure must load with a non-zero size, and no text may overflow its box on
a desktop or a phone screen. The PDF is rendered to PNG with ``pdftoppm`` (pages must not be
blank) and its text read with ``pdftotext`` (the section titles in that language).
Screenshots of a few pages of each language stay in the output folder
(``SAYLAU_REPORT_OUTPUT``, default ``tests/_output/report``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from saylau.report import ReportResult

#: Section titles as a Kazakh, Russian and English reader sees them (written here, not read
#: from the catalogue, so that a wrong catalogue entry fails).
TITLES = {
    "kk": ("Қорытынды", "Хаттамаларды тексеру", "Әдістер және деректердің шығу тегі"),
    "ru": ("Сводка", "Проверка протоколов", "Методы и происхождение данных"),
    "en": ("Summary", "Protocol checks", "Methods and provenance"),
}
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}

_OVERFLOW_JS = """() => {
  const bad = [];
  for (const el of document.querySelectorAll(
      'p, td, th, h1, h2, h3, li, figcaption, caption, a, span')) {
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).display !== 'inline') {
      bad.push(el.tagName + ': ' + el.textContent.slice(0, 60));
    }
  }
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1) bad.push('page wider than the screen');
  return bad;
}"""

_FIGURES_JS = """() => Array.from(document.querySelectorAll('figure img')).map(img => ({
  kind: img.closest('figure').dataset.kind, complete: img.complete,
  w: img.naturalWidth, h: img.naturalHeight, shown: img.getBoundingClientRect().width,
  src: img.getAttribute("src").slice(0, 25), alt: img.alt}))"""


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_html_in_chromium(
    chromium: Any, full_reports: dict[str, ReportResult], output_folder: Path, lang: str
) -> None:
    res = full_reports[lang]
    html = res.html.read_text(encoding="utf-8")
    for name, viewport in VIEWPORTS.items():
        page = chromium.new_page(viewport=viewport)
        requests: list[str] = []
        page.on("request", lambda r, seen=requests: seen.append(r.url))
        page.set_content(html, wait_until="load")
        figures = page.evaluate(_FIGURES_JS)
        assert len(figures) == res.figures >= 6, figures
        for f in figures:
            assert f["complete"] and f["w"] > 100 and f["h"] > 100 and f["shown"] > 100, f
            assert f["src"] == "data:image/svg+xml;base64", f
            assert f["alt"]
        assert page.evaluate(_OVERFLOW_JS) == [], name
        assert all(u.startswith(("data:", "about:")) for u in requests), requests
        page.screenshot(path=str(output_folder / f"{lang}-{name}-top.png"))
        if name == "desktop":
            for section in ("forensics", "methods"):
                page.locator(f"#{section}").scroll_into_view_if_needed()
                page.screenshot(path=str(output_folder / f"{lang}-{name}-{section}.png"))
            # the summary's findings link to their evidence
            targets = page.evaluate(
                "() => Array.from(document.querySelectorAll('.finding a'))"
                ".map(a => a.getAttribute('href').slice(1))"
            )
            assert targets and all(
                page.evaluate(f"() => !!document.getElementById({t!r})") for t in targets
            )
        page.close()


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: install Debian's poppler-utils", pytrace=False)
    return path


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_pdf_pages_and_text(
    full_reports: dict[str, ReportResult], output_folder: Path, lang: str
) -> None:
    pdf = full_reports[lang].pdf
    assert pdf is not None
    text = subprocess.run(
        [_tool("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    for title in TITLES[lang]:
        assert title in text, title
    prefix = output_folder / f"{lang}-pdf"
    for old in output_folder.glob(f"{lang}-pdf-*.png"):
        old.unlink()
    subprocess.run(
        [_tool("pdftoppm"), "-r", "40", "-png", str(pdf), str(prefix)], check=True, timeout=120
    )
    pages = sorted(output_folder.glob(f"{lang}-pdf-*.png"))
    assert len(pages) >= 6
    for page in pages:
        ink = np.asarray(Image.open(page).convert("L")) < 200
        # a last page may hold only a reference or two: blank means nothing above the footer
        body = ink[: int(ink.shape[0] * 0.9)]
        assert body.any(axis=1).sum() >= 3, f"{page.name} is blank"  # one line of text at least
