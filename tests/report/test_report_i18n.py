"""Every message of the reports is translated, and no English leaks into a kk or ru report.

The messages are extracted with Babel from the modules of ``saylau.report`` (``_``, ``N_``,
``loc.gettext``); each must have a Kazakh, Russian and English translation with the same
``{placeholders}``. The leak check reads the visible text of the Kazakh and Russian HTML
reports (what a reader sees, without the parts marked ``translate="no"``: file names, hashes,
option values, references) and looks for runs of Latin words.
"""

from __future__ import annotations

import io
import re
import string
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import saylau.report
from saylau.report import ReportResult
from saylau.web import i18n

REPORT = Path(saylau.report.__file__).parent
LOCALE = Path(i18n.__file__).parent / "locale"


def report_messages() -> dict[str, str]:
    found: dict[str, str] = {}
    for filename, lineno, message, _c, _ctx in extract_from_dir(
        str(REPORT), [("**.py", "python")], keywords={"_": None, "N_": None, "gettext": None}
    ):
        if isinstance(message, str):
            found.setdefault(message, f"{filename}:{lineno}")
    return found


def _fields(text: str) -> set[str]:
    return {f for _lit, f, _spec, _conv in string.Formatter().parse(text) if f}


def test_extraction_finds_the_reports_messages() -> None:
    found = report_messages()
    assert "Summary" in found  # a section title (N_ in sections.py)
    assert "What it cannot show: {text}" in found  # a loc.gettext call
    assert len(found) > 100


@pytest.mark.parametrize("code", ["kk", "ru", "en"])
def test_every_report_message_is_translated(code: str) -> None:
    path = LOCALE / code / "LC_MESSAGES" / "messages.po"
    cat = read_po(io.BytesIO(path.read_bytes()), locale=code)
    missing, wrong = [], []
    for msgid, where in sorted(report_messages().items()):
        msg = cat.get(msgid)
        if msg is None or msg.fuzzy or not isinstance(msg.string, str) or not msg.string.strip():
            missing.append(f"{msgid!r} ({where})")
        elif _fields(msg.string) != _fields(msgid):
            wrong.append(f"{msgid!r}: {msg.string!r}")
    assert not missing, f"{code}: {len(missing)} without translation:\n" + "\n".join(missing)
    assert not wrong, f"{code}: placeholders differ:\n" + "\n".join(wrong)


class _Visible(HTMLParser):
    """The text a reader sees: no style, no title, nothing marked translate="no"."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        hidden = tag in ("style", "title", "head") or ("translate", "no") in attrs
        if tag in ("meta", "img", "br"):
            return
        self.stack.append(hidden or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("meta", "img", "br") and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


#: Words that stay in Latin letters in any language: saylau's name and command, the letter p
#: of p-values, the z of a z-score, ratios' × and the options the summary cites.
ALLOWED = {"saylau", "validate", "p", "z", "copies", "quick", "count", "exit", "poll",
           "incidents", "reference", "no", "SHA"}  # fmt: skip
LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z'’]+(?:[ ,;:]+[A-Za-z][A-Za-z'’]+){2,}")


def _leaks(html: str) -> list[str]:
    parser = _Visible()
    parser.feed(html)
    text = " ".join(parser.parts)
    text = re.sub(r"\S*\w[./\\_]\w\S*", " ", text)  # file names, paths, identifiers
    return [
        run
        for run in LATIN_RUN.findall(text)
        if not all(w.strip("'’") in ALLOWED for w in re.split(r"[ ,;:]+", run))
    ]


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_no_english_in_kazakh_and_russian_reports(
    full_reports: dict[str, ReportResult], lang: str
) -> None:
    html = full_reports[lang].html.read_text(encoding="utf-8")
    assert _leaks(html) == []


def test_the_leak_check_finds_english() -> None:
    html = '<p>Бәрі дұрыс. The method could not run.</p><p translate="no">Holm, Scand J Stat</p>'
    assert _leaks(html) == ["The method could not run"]
    # a name written in Latin Kazakh (a commission, a party) is data, not a leak
    names = '<table><tr><td translate="no">Astana qalasy uchaskelik komissiya</td></tr></table>'
    assert _leaks(names) == []


def test_kazakh_report_is_kazakh(full_reports: dict[str, ReportResult]) -> None:
    html = full_reports["kk"].html.read_text(encoding="utf-8")
    assert '<html lang="kk">' in html
    assert set("әғқңөұүі") <= set(html.lower())
