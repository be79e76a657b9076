"""Reading one SMS report: the grammar, the typed result and the typed error.

A message is a sequence of words separated by spaces, commas, semicolons or line breaks::

    <kind> <station> <PIN> <item> <item> ...

``kind``
    ``P`` protocol copy, ``I`` (or Cyrillic ``И``) incident, ``X`` exit-poll tally, ``HC`` head
    count (voters seen entering).
``station``
    The polling station's code as the service knows it, compared without case, look-alike
    letters or joiners (``ala-1``, ``ALA1`` and ``АLА-1`` with Cyrillic А all name ``ALA-1``).
``PIN``
    The observer's PIN, 4 to 8 digits. It is never stored in clear and never echoed.
items
    ``code=figure``: the joiner may be any of ``= : - . / # №`` or a space (``4=1190``,
    ``4:1190``, ``4 1190``); a figure is a whole number, or ``?`` where the paper is not legible.
    Protocol (``P``): line numbers of the paper form and choices ``K1``, ``K2``... by ballot
    position (see :class:`~saylau.sms.codebook.Codebook`), then optionally incidents ``I <code>``.
    Incident (``I``): one category code, then free text (kept as typed).
    Exit-poll tally (``X``): ``K1=45 K2=30 ... K0=7`` (``K0``: refused to answer).
    Head count (``HC``): ``<time>=<count>`` with the time as ``1000``, ``10:00`` or ``10`` and
    ``C`` for the close; the count is of voters seen entering since the opening, followed by
    ``/<figure>`` where the commission announced its own (``1200=310/290``).

Letters are read in either script and either case (:func:`saylau.sms.text.fold`). A message
longer than three concatenated SMS (:data:`~saylau.sms.text.MAX_SEGMENTS`) is refused unread.
The first word that cannot be read is named in a :class:`SmsError` with its position.

Examples
--------
>>> from saylau.domain.profiles import get_profile
>>> book = Codebook.build(get_profile("plain"), ["A", "B"], categories=["VOTE.STUFFING"])
>>> r = parse("р 12 4321 1=1000 2:640 3 10 4-630 к1=400 K2 230 i stuffing", book)
>>> r.kind, r.station, r.figures["valid"], r.figures["B"], r.incidents
('protocol', '12', 630, 230, ('VOTE.STUFFING',))
>>> try:
...     parse("P 12 4321 1=1000 2=64O", book)
... except SmsError as e:
...     print(e.reason, e.position, e.token)
bad_value 5 2=64O
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Literal

from .._exceptions import DataFormatError
from .codebook import CHOICE_PREFIX, REFUSED, Codebook
from .text import MAX_SEGMENTS, Word, fold, segments, words

__all__ = ["KINDS", "SmsError", "SmsHeader", "SmsReport", "parse", "parse_header"]

Kind = Literal["protocol", "incident", "tally", "headcount"]
#: The first word of a message (folded) and the kind of report it starts.
KINDS: dict[str, Kind] = {
    "P": "protocol",
    "I": "incident",
    "И": "incident",
    "X": "tally",
    "HC": "headcount",
}
_PIN = re.compile(r"^\d{4,8}$")
_NUMBER = re.compile(r"^\d{1,10}$")
_HC_TIME = re.compile(r"(CL|C|\d{1,2}[:.]\d{2}|\d{3,4}|\d{1,2})(.*)")
_HC_REST = re.compile(r"(?:[=:\-.#№]+(\d{1,10})(?:/(\d{1,10}))?)?")


class SmsError(DataFormatError):
    """A message that cannot be read: ``reason`` (a stable code), the word's ``position`` and
    ``token`` (as typed; None where it would repeat the PIN).

    Reasons: ``empty``, ``too_long``, ``unknown_kind``, ``missing_station``, ``bad_pin``,
    ``unknown_code``, ``missing_value``, ``bad_value``, ``repeated_code``, ``unknown_category``,
    ``no_figures``, ``bad_time``.
    """

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        position: int | None = None,
        token: str | None = None,
        expected: str | None = None,
    ) -> None:
        self.reason = reason
        self.position = position
        self.token = token
        super().__init__(
            message,
            field=None if position is None else f"word {position}",
            expected=expected,
            found=token,
        )


@dataclasses.dataclass(frozen=True)
class SmsHeader:
    """The first three words: kind, station (folded and as typed) and the PIN."""

    kind: Kind
    station: str
    station_text: str
    pin: str = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class SmsReport:
    """A message read in full.

    ``figures`` maps line keys and choice names to numbers (None: not legible) for a protocol,
    choice names (and ``"refused"``) to counts for a tally, ``"HH:MM"`` to counts for a head
    count; ``incidents`` holds category codes; ``note`` the free text of an incident;
    ``official`` the commission's announced figure by checkpoint, where a head count gives one.
    """

    header: SmsHeader
    figures: Mapping[str, int | None]
    codes: Mapping[str, str]
    incidents: tuple[str, ...] = ()
    note: str = ""
    official: Mapping[str, int] = dataclasses.field(default_factory=dict)

    @property
    def kind(self) -> Kind:
        return self.header.kind

    @property
    def station(self) -> str:
        return self.header.station


def _check_length(text: str) -> None:
    if not text.strip():
        raise SmsError("empty", "empty message")
    n = segments(text)
    if n > MAX_SEGMENTS:
        raise SmsError(
            "too_long",
            "message too long",
            expected=f"<= {MAX_SEGMENTS} SMS",
            token=f"{n} SMS",
        )


def parse_header(text: str) -> tuple[SmsHeader, list[Word]]:
    """Read kind, station and PIN; answer the header and the words after it.

    >>> h, rest = parse_header("hc ala-1 0000 10=12")
    >>> h.kind, h.station, [w.text for w in rest]
    ('headcount', 'ALA1', ['10=12'])
    """
    _check_length(text)
    ws = words(text)
    first = ws[0]
    kind = KINDS.get(first.folded)
    if kind is None:
        raise SmsError(
            "unknown_kind",
            "unknown report kind",
            position=1,
            token=first.text,
            expected="P | I | X | HC",
        )
    if len(ws) < 2 or not ws[1].parts:
        raise SmsError("missing_station", "station missing", position=2, expected="station code")
    if len(ws) < 3 or not _PIN.match(ws[2].folded) or len(ws[2].parts) != 1:
        raise SmsError("bad_pin", "PIN missing or not 4 to 8 digits", position=3)
    return SmsHeader(kind, ws[1].folded, ws[1].text, ws[2].folded), ws[3:]


def parse(text: str, book: Codebook) -> SmsReport:
    """Read one message with the election's codes; raise :class:`SmsError` on the first word
    that cannot be read."""
    header, rest = parse_header(text)
    if header.kind == "incident":
        return _incident(text, header, rest, book)
    if header.kind == "headcount":
        return _headcount(header, [w for w in rest if w.parts])
    figures: dict[str, int | None] = {}
    codes: dict[str, str] = {}
    incidents: list[str] = []
    i = 0
    rest = [w for w in rest if w.parts]  # a lone "=" between code and figure is a joiner
    while i < len(rest):
        w = rest[i]
        if header.kind == "protocol" and w.parts[0] in ("I", "И"):
            token = "".join(w.parts[1:])
            if not token and i + 1 < len(rest):
                i += 1
                token = rest[i].folded
            code, candidates = book.category(token)
            if code is None:
                raise SmsError(
                    "unknown_category",
                    "unknown incident category",
                    position=rest[i].position,
                    token=rest[i].text,
                    expected=" | ".join(candidates) if candidates else "a category code",
                )
            incidents.append(code)
            i += 1
            continue
        if incidents:  # figures come before incidents
            raise SmsError(
                "unknown_code", "unreadable after the incidents", position=w.position, token=w.text
            )
        code, value = _split(header.kind, w)
        key = _key(header.kind, code, book, w)
        value_word = w
        if value is None:
            nxt = rest[i + 1] if i + 1 < len(rest) else None
            if nxt is None or len(nxt.parts) != 1 or not _value_like(nxt.parts[0]):
                raise SmsError(
                    "missing_value",
                    "code without its figure",
                    position=w.position,
                    token=w.text,
                    expected=f"{w.text}=<figure>",
                )
            value_word, value = nxt, nxt.parts[0]
            i += 1
        i += 1
        if key in figures:
            raise SmsError(
                "repeated_code", "the same code twice", position=w.position, token=w.text
            )
        figures[key] = _value(value, value_word)
        codes[key] = code
    if not figures and not incidents:
        raise SmsError("no_figures", "no figures in the message", position=len(words(text)) + 1)
    return SmsReport(header, figures, codes, tuple(incidents))


def _value_like(part: str) -> bool:
    return bool(_NUMBER.match(part)) or part == "?"


def _split(kind: Kind, w: Word) -> tuple[str, str | None]:
    """A word's code and its figure (None when the figure is the next word)."""
    parts = w.parts
    if len(parts) > 2:
        raise SmsError(
            "bad_value",
            "figure is not a whole number",
            position=w.position,
            token=w.text,
            expected="digits or ?",
        )
    return parts[0], parts[1] if len(parts) == 2 else None


def _value(value: str, w: Word) -> int | None:
    if value == "?":
        return None
    if not _NUMBER.match(value):
        raise SmsError(
            "bad_value",
            "figure is not a whole number",
            position=w.position,
            token=w.text,
            expected="digits or ?",
        )
    return int(value)


def _key(kind: Kind, code: str, book: Codebook, w: Word) -> str:
    if kind == "tally":
        if code == f"{CHOICE_PREFIX}0":
            return REFUSED
        key = book.key_of(code) if code.startswith(CHOICE_PREFIX) else None
    else:
        key = book.key_of(code)
    if key is None:
        expected = "K1..K" + str(len(book.choices))
        if kind == "protocol":
            expected = ", ".join(c for c, _ in book.lines) + ", " + expected
        raise SmsError(
            "unknown_code", "unknown code", position=w.position, token=w.text, expected=expected
        )
    return key


def _incident(text: str, header: SmsHeader, rest: list[Word], book: Codebook) -> SmsReport:
    if not rest:
        raise SmsError(
            "unknown_category", "incident category missing", position=4, expected="a category code"
        )
    w = rest[0]
    code, candidates = book.category(w.folded)
    if code is None:
        raise SmsError(
            "unknown_category",
            "unknown incident category",
            position=w.position,
            token=w.text,
            expected=" | ".join(candidates) if candidates else "a category code",
        )
    note = text[w.end :].strip(" \t\r\n,;")
    return SmsReport(header, {}, {}, (code,), note)


def _checkpoint(code: str, w: Word) -> str:
    if code in ("C", "CL"):
        return "close"
    digits = code.replace(":", "").replace(".", "")
    hour, minute = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "00")
    if int(hour) > 23 or int(minute) > 59:
        raise SmsError(
            "bad_time",
            "not a time of day",
            position=w.position,
            token=w.text,
            expected="HHMM=count, HH:MM=count or C=count (close)",
        )
    return f"{int(hour):02d}:{minute}"


def _headcount(header: SmsHeader, rest: list[Word]) -> SmsReport:
    """``<time>=<count>[/<official>]`` words: voters seen entering since the opening by each
    checkpoint, and the commission's announced figure after a slash where there is one."""
    counts: dict[str, int | None] = {}
    codes: dict[str, str] = {}
    official: dict[str, int] = {}
    i = 0
    while i < len(rest):
        w = rest[i]
        m = _HC_TIME.fullmatch(fold(w.text).strip())
        tail = _HC_REST.fullmatch(m.group(2)) if m is not None else None
        if m is None or tail is None:
            raise SmsError(
                "bad_time",
                "not a checkpoint and count",
                position=w.position,
                token=w.text,
                expected="HHMM=count, HH:MM=count or C=count (close)",
            )
        checkpoint = _checkpoint(m.group(1), w)
        count, announced = tail.group(1), tail.group(2)
        if count is None:  # "1000 345": the figure is the next word
            nxt = rest[i + 1] if i + 1 < len(rest) else None
            if nxt is None or not re.fullmatch(r"\d{1,10}(/\d{1,10})?", fold(nxt.text).strip()):
                raise SmsError(
                    "missing_value",
                    "code without its figure",
                    position=w.position,
                    token=w.text,
                    expected=f"{w.text}=<count>",
                )
            count, _, announced = fold(nxt.text).strip().partition("/")
            i += 1
        i += 1
        if checkpoint in counts:
            raise SmsError(
                "repeated_code", "the same checkpoint twice", position=w.position, token=w.text
            )
        counts[checkpoint] = int(count)
        codes[checkpoint] = m.group(1)
        if announced:
            official[checkpoint] = int(announced)
    if not counts:
        raise SmsError("no_figures", "no figures in the message", position=4)
    return SmsReport(header, counts, codes, official=official)
