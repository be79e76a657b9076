"""The characters of an SMS: look-alike letters, words, PIN masking and the segment count.

An observer types on whatever keyboard the phone has: Latin, Russian or Kazakh Cyrillic, upper or
lower case, with any punctuation between the parts. Before a message is read every letter is
folded to the Latin capital it looks like (or stands for in the Latin Kazakh alphabet of 2021),
so ``р 12 1234 к1=400`` typed in Cyrillic reads as ``P 12 1234 K1=400``.

Examples
--------
>>> fold("Р")  # Cyrillic Er
'P'
>>> fold("қ1"), fold("Қ1"), fold("q1")  # Kazakh Qa, Latin Kazakh Q
('K1', 'K1', 'K1')
>>> [w.text for w in words("p ALA-1; 1234,  1 = 1500")]
['p', 'ALA-1', '1234', '1', '=', '1500']
>>> segments("P 12 1234 1=1500"), segments("П" * 71)
(1, 2)
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata

__all__ = [
    "FIELD_SEPARATORS",
    "JOINERS",
    "MAX_SEGMENTS",
    "Word",
    "fold",
    "mask_pin",
    "segments",
    "words",
]

#: Letters folded to the Latin capital they look like or stand for (applied after upper-casing).
#: Cyrillic look-alikes, the Kazakh letters, the Latin Kazakh letters with marks are handled by
#: Unicode decomposition (Á → A), and Latin Kazakh Q (= Қ) → K.
LOOKALIKES: dict[str, str] = {
    "А": "A",
    "В": "B",
    "Е": "E",
    "Ё": "E",
    "К": "K",
    "М": "M",
    "Н": "H",
    "О": "O",
    "Р": "P",
    "С": "C",
    "Т": "T",
    "Х": "X",
    "У": "Y",
    "І": "I",
    "Ї": "I",
    "Ј": "J",
    "Ѕ": "S",
    "Ә": "A",
    "Ғ": "G",
    "Қ": "K",
    "Ң": "H",
    "Ө": "O",
    "Ұ": "Y",
    "Ү": "Y",
    "Һ": "H",
    "Q": "K",
    "İ": "I",
    "Ş": "S",
    "Ç": "C",
}
#: Between the words of a message: spaces, line breaks, commas and semicolons.
FIELD_SEPARATORS = " \t\r\n,;"
#: Inside a word, between a code and its figure: ``= : - . / # №`` (``1=1500``, ``K1:400``).
JOINERS = "=:-./#№"
#: Longest message read: three concatenated SMS (459 GSM-7 characters or 201 UCS-2 ones).
MAX_SEGMENTS = 3

_SPLIT = re.compile("[" + re.escape(FIELD_SEPARATORS) + "]+")
_FIELD = re.compile("[^" + re.escape(FIELD_SEPARATORS) + "]+")
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


def fold(text: str) -> str:
    """Upper-case ``text`` and fold look-alike and Kazakh letters to Latin capitals.

    Digits in other forms (full-width, Arabic-Indic) become ASCII digits by NFKC; letters with
    marks lose them (Latin Kazakh Á Ó Ú Ǵ Ń → A O U G N).

    >>> fold("аВеКМНоРСТХ")
    'ABEKMHOPCTX'
    >>> fold("ӘҒҚҢӨҰҮҺІ әғқңөұүһі")
    'AGKHOYYHI AGKHOYYHI'
    >>> fold("１２")
    '12'
    """
    out = []
    for ch in unicodedata.normalize("NFKC", text).upper():
        ch = LOOKALIKES.get(ch, ch)
        if ch.isascii():
            out.append(ch)
            continue
        base = unicodedata.normalize("NFD", ch)[0]  # Á -> A, Ń -> N
        out.append(LOOKALIKES.get(base, base) if base.isascii() else ch)
    return "".join(out)


@dataclasses.dataclass(frozen=True)
class Word:
    """One word of a message: its text as typed, its 1-based position, and its folded parts.

    ``parts`` are the pieces between joiners, folded (``"к1=400"`` → ``("K1", "400")``); a word
    made of joiners only (a lone ``=``) has no parts.
    """

    text: str
    position: int
    start: int
    end: int
    parts: tuple[str, ...]

    @property
    def folded(self) -> str:
        """The parts run together: how a station or category code is compared."""
        return "".join(self.parts)


def words(text: str) -> list[Word]:
    """The words of ``text`` (split at spaces, commas, semicolons and line breaks)."""
    out = []
    for i, m in enumerate(_FIELD.finditer(text), start=1):
        raw = m.group()
        folded = fold(raw)
        parts = tuple(p for p in re.split("[" + re.escape(JOINERS) + "]+", folded) if p)
        out.append(Word(raw, i, m.start(), m.end(), parts))
    return out


def mask_pin(text: str, position: int = 3) -> str:
    """``text`` with the word at ``position`` (where the grammar puts the PIN) replaced by ``****``.

    Messages are stored with the PIN masked: the PIN is a secret kept only as an argon2 hash.

    >>> mask_pin("P 12, 4321 1=1500")
    'P 12, **** 1=1500'
    >>> mask_pin("P 12")
    'P 12'
    """
    for w in words(text):
        if w.position == position:
            return text[: w.start] + "****" + text[w.end :]
    return text


def segments(text: str) -> int:
    """How many SMS segments ``text`` takes (GSM 03.38: 160/153 septets, else UCS-2: 70/67).

    A character of the GSM extension table (``€ [ ] { } ~ ^ | \\``) takes two septets; a text
    with any character outside the GSM alphabet (Cyrillic, for one) is sent as UCS-2, counted
    in UTF-16 units.

    >>> segments("a" * 160), segments("a" * 161), segments("€" * 80), segments("ә" * 134)
    (1, 2, 1, 2)
    """
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text):
        units = sum(2 if c in _GSM_EXTENDED else 1 for c in text)
        single, multi = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)
