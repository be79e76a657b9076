"""The report as a document: sections of headings, paragraphs, tables, figures and findings.

The content is built once, already translated and formatted (:mod:`saylau.report.sections`),
and rendered twice: as one self-contained HTML file (:mod:`saylau.report.html`) and as a PDF
(:mod:`saylau.report.pdf`), so that both say the same thing.

Examples
--------
>>> s = Section(key="summary", title="Summary", blocks=(Paragraph("No alarm."),))
>>> Document(title="t", lang="en", sections=(s,)).section("summary").blocks[0].text
'No alarm.'
"""

from __future__ import annotations

import dataclasses

__all__ = [
    "STRENGTHS",
    "Block",
    "Document",
    "Figure",
    "FindingItem",
    "Paragraph",
    "Section",
    "SubHeading",
    "Table",
]

#: The strength of a headline finding: a calibrated alarm, a screen (never an alarm), a
#: model-based estimate, or a calibrated test that found nothing.
STRENGTHS = ("alarm", "screen", "model", "nothing")


@dataclasses.dataclass(frozen=True)
class Paragraph:
    """A paragraph; ``style`` is ``""``, ``"note"`` (smaller) or ``"dropped"`` (why absent)."""

    text: str
    style: str = ""


@dataclasses.dataclass(frozen=True)
class SubHeading:
    """A heading inside a section; ``anchor`` is the target of the summary's links."""

    text: str
    anchor: str = ""


@dataclasses.dataclass(frozen=True)
class Table:
    """A table of text cells; ``numeric`` marks the columns aligned to the right."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()
    caption: str = ""
    #: Cells are names, hashes or option values (not translated, broken anywhere to fit).
    verbatim: bool = False
    #: The first column holds names (choices, units, stations), written as the data has them.
    names: bool = True


@dataclasses.dataclass(frozen=True)
class Figure:
    """One figure as SVG text, with its caption (data source and n) and alternative text."""

    kind: str
    svg: str
    caption: str
    alt: str
    reference: bool = False


@dataclasses.dataclass(frozen=True)
class FindingItem:
    """A headline finding: its strength, the sentence, and the anchor of its evidence."""

    strength: str
    strength_label: str
    text: str
    target: str

    def __post_init__(self) -> None:
        if self.strength not in STRENGTHS:
            raise ValueError(f"strength must be one of {STRENGTHS}, found {self.strength!r}")


Block = Paragraph | SubHeading | Table | Figure | FindingItem


@dataclasses.dataclass(frozen=True)
class Section:
    """One section of the report: a key (its anchor), its title and its blocks."""

    key: str
    title: str
    blocks: tuple[Block, ...]


@dataclasses.dataclass(frozen=True)
class Document:
    """The whole report: title, language, sections, and the lines saying what was left out."""

    title: str
    lang: str
    sections: tuple[Section, ...]
    subtitle: str = ""
    dropped: tuple[str, ...] = ()

    def section(self, key: str) -> Section:
        """The section with this key."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    @property
    def figures(self) -> tuple[Figure, ...]:
        """Every figure of the document, in order."""
        return tuple(b for s in self.sections for b in s.blocks if isinstance(b, Figure))
