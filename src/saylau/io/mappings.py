"""Column mappings: from the headers of real files to saylau's protocol lines.

A :class:`ColumnMapping` says, for one family of files, which columns are hierarchy levels, which
are protocol lines (several columns may add up to one line) and which are choices. Mappings are
recognised from the header; :func:`detect_mapping` picks the first that fits.

Shipped mappings:

``ru-cec``
    Russian CEC precinct files of every federal election 2003-2024 and the 2020 constitutional
    vote: line labels matched by meaning (:func:`ru_line_key`), so that the changes of wording
    between years do not matter; the layout (17 lines of 2003-2004, 18 of 2007-2016, 12 of
    2018+, the 4 lines of the 2020 vote) is detected from the lines found and reported in the
    notes. A header that reads like a protocol line but matches none is listed in the notes,
    never taken as a choice.
``kz-labels``
    Kazakh files headed with the law's wording of the ``kz`` profile's lines, in Kazakh or
    Russian (the labels are read from the profile file, so a corrected profile reads files
    headed with its new wording).
``pl-pkw``
    Poland's electoral commission export of 2020 (Polish labels, ``;``-separated).
``normalised``
    saylau's own plain format: ``station``, optional level columns, line keys, one column per
    choice (see the README).

Examples
--------
>>> m = detect_mapping(["region", "tik", "uik", "Число избирателей, внесенных в список",
...                     "Число недействительных избирательных бюллетеней",
...                     "Число действительных избирательных бюллетеней", "Путин", "Против всех",
...                     "url"])
>>> m.name, m.lines["invalid"], m.choices
('ru-cec', ('Число недействительных избирательных бюллетеней',), ('Путин', 'Против всех'))
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence

from .._exceptions import DataFormatError
from ..domain.profiles import LINE_LABELS, ProtocolProfile, get_profile
from .columnmap import ColumnMapping

__all__ = ["LEVEL_COLUMNS", "ColumnMapping", "detect_mapping", "looks_like_line", "ru_line_key"]

#: Column names read as hierarchy levels in normalised files, top-down.
LEVEL_COLUMNS = ("region", "oik", "territory", "district", "tik", "commune", "uik", "precinct")


_NUMBERING = re.compile(r"^(?:(?:строка|стр\.?|line|жол)\s*)?№?\s*\d+(?:\.\d+)*\s*[.):\-]?\s+")
_QUOTES = str.maketrans({c: " " for c in "\"'«»“”„()"})


def _norm(label: str) -> str:
    """Casefold, ё→е, quotes and numbering prefixes ("1.", "Строка 1") dropped, spaces collapsed."""
    text = unicodedata.normalize("NFC", label).casefold().replace("ё", "е").translate(_QUOTES)
    text = re.sub(r"\s+", " ", text).strip(" .,;:")
    return _NUMBERING.sub("", text).strip()


def looks_like_line(label: str) -> bool:
    """Whether a header reads like a protocol line rather than a choice.

    A header that starts with "Число"/"Общее число"/"Количество", or names ballots, voters,
    participants or absentee certificates (Russian or Kazakh) is a line: if no line matches it, it
    is listed in the notes, never taken as a choice.

    >>> looks_like_line("Число бюллетеней без отметок"), looks_like_line("Путин В.В.")
    (True, False)
    """
    s = _norm(label)
    if s.startswith(("число ", "общее число", "количество ")):
        return True
    stems = ("бюллетен", "открепительн", "участников голосования", "сайлаушы", "саны")
    return any(t in s for t in stems) or re.search(r"\bизбирател(ей|ям|и)\b", s) is not None


def _ru_ballot_line(s: str) -> str | None:
    rules: Sequence[tuple[Callable[[str], bool], str]] = (
        (lambda t: "не учтен" in t or "неучтен" in t or "актам об избытке" in t, "not_recorded"),
        (lambda t: "утрачен" in t or "утрат" in t, "lost"),
        (lambda t: "получен" in t, "ballots_received"),
        (lambda t: "досрочно" in t, "issued_early"),
        (lambda t: "выдан" in t and "вне помещ" in t, "issued_outside"),
        (
            lambda t: (
                "выдан" in t
                and any(
                    w in t for w in ("в помещ", "в день голосования", "на избирательн", "в уик")
                )
            ),
            "issued_in_station",
        ),
        (lambda t: "выдан" in t, "issued"),
        (lambda t: "погашен" in t, "cancelled"),
        (lambda t: "переносн" in t, "in_mobile"),
        (lambda t: "стационарн" in t, "in_stationary"),
        (lambda t: "недействительн" in t, "invalid"),
        (lambda t: "действительн" in t, "valid"),
        (lambda t: "в ящиках" in t or "содержащихся" in t, "in_boxes"),
    )
    for test, key in rules:
        if test(s):
            return key
    return None


def ru_line_key(label: str) -> str | None:
    """The line key a Russian CEC protocol label means, whatever the year's wording.

    Tolerant of singular and plural ("в список"/"в списки"), "внесенных"/"включенных",
    "избирателей"/"участников голосования", the "на момент окончания голосования" suffix,
    "избирательных бюллетеней"/"бюллетеней", doubled spaces, ё/е, case, numbering prefixes and
    the CEC site's cut-off captions ("...бюллетене"). None when the label is no known line.

    >>> ru_line_key("1. Число участников голосования, включенных в список участников "
    ...             "голосования на момент окончания голосования")
    'voters_on_list'
    >>> ru_line_key("Число избирательных бюллетеней, выданных  досрочно")
    'issued_early'
    >>> ru_line_key("Число бюллетеней, выданных участникам голосования")
    'issued'
    """
    s = _norm(label)
    if not s.startswith("число"):
        return None
    if "открепительн" in s:
        if "утрачен" in s:
            return "absentee_lost"
        if "проголосовавш" in s:
            return "absentee_voted"
        if "получен" in s:
            return "absentee_received"
        if "погашен" in s or "неиспользован" in s:
            return "absentee_cancelled"
        if "выдан" in s and ("тик" in s.split() or "территориальн" in s):
            return "absentee_issued_by_tik"
        if "выдан" in s:
            return "absentee_issued"
        return None
    if re.match(r"число (избирателей|участников)", s) and re.search(
        r"(внесен|включен)\w* в спис", s
    ):
        return "voters_on_list"
    if "бюллетен" not in s:
        return None
    return _ru_ballot_line(s)


#: Russian and Kazakh names of hierarchy columns → saylau's level names.
_LEVEL_NAMES = {
    "region": "region",
    "reg": "region",
    "регион": "region",
    "субъект федерации": "region",
    "субъект рф": "region",
    "oik": "oik",
    "оик": "oik",
    "tik": "tik",
    "тик": "tik",
    "uik": "uik",
    "уик": "uik",
    "№ уик": "uik",
    "облыс": "region",
    "область": "region",
    "district": "district",
    "аудан": "district",
    "район": "district",
}
_SERVICE = ("url", "level", "station", "коиб", "кэг", "ссылка")


def _levels(columns: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in columns:
        level = _LEVEL_NAMES.get(_norm(c))
        if level and level not in out:
            out[level] = c
    return out


def _ru_profile(lines: Mapping[str, object], columns: Sequence[str]) -> str:
    if "absentee_lost" in lines:
        return "ru-federal-2011"
    if any(k.startswith("absentee_") for k in lines):
        return "ru-federal-2004"
    participants = any("участников голосования" in _norm(c) for c in columns)
    if participants or "in_boxes" in lines or ("issued" in lines and "valid" not in lines):
        return "ru-vote-2020"
    return "ru-federal-2018"


def _layout_notes(
    profile: str | ProtocolProfile, lines: Mapping[str, object], family: str
) -> list[str]:
    prof = get_profile(profile) if isinstance(profile, str) else profile
    found = [k for k in prof.required_keys if k in lines]
    notes = [
        f"layout: {family} read as profile {prof.name} ({prof.title}); "
        f"{len(found)} of {len(prof.required_keys)} lines found"
    ]
    absent = [k for k in prof.required_keys if k not in lines]
    if absent:
        notes.append(f"lines of profile {prof.name} absent from the file: {', '.join(absent)}")
    extra = [k for k in lines if k not in prof.line_keys]
    if extra:
        notes.append(f"lines read but not in profile {prof.name}: {', '.join(extra)}")
    return notes


def _unplaced_note(col: str, why: str) -> str:
    return f"column {col!r} {why}; not read (not taken as a choice)"


def _ru_cec(columns: Sequence[str]) -> ColumnMapping | None:
    if not any(ru_line_key(c) == "voters_on_list" for c in columns):
        return None
    levels = _levels(columns)
    lines: dict[str, tuple[str, ...]] = {}
    choices: list[str] = []
    ignored: list[str] = []
    notes: list[str] = []
    level_cols = set(levels.values())
    for col in columns:
        if col in level_cols:
            continue
        if any(_norm(col).startswith(t) for t in _SERVICE):
            ignored.append(col)
            continue
        key = ru_line_key(col)
        if key is not None and key not in lines:
            lines[key] = (col,)
        elif key is not None:
            notes.append(
                _unplaced_note(col, f"reads as line {key}, already column {lines[key][0]!r}")
            )
        elif looks_like_line(col):
            notes.append(_unplaced_note(col, "looks like a protocol line but matches none"))
        else:
            choices.append(col)
    profile = _ru_profile(lines, columns)
    notes[:0] = _layout_notes(profile, lines, "Russian CEC precinct file")
    station = tuple(levels.values()) or (columns[0],)
    return ColumnMapping(
        "ru-cec",
        levels,
        lines,
        tuple(choices),
        station,
        tuple(ignored),
        profile=profile,
        notes=tuple(notes),
    )


_STATION_NAMES = (
    "station",
    "участок",
    "№ участка",
    "номер участка",
    "избирательный участок",
    "учаске",
    "учаске №",
    "№ учаске",
    "сайлау учаскесі",
    "учаскенің нөмірі",
)


def _match_profile_line(col: str, labels: Sequence[tuple[str, str]]) -> str | None:
    s = _norm(col)
    for key, label in labels:
        if s == label or (len(label) > 12 and s.startswith(label)):
            return key
    return None


def _by_profile_labels(prof: ProtocolProfile, columns: Sequence[str]) -> ColumnMapping | None:
    """A file headed with the official wording (any language) of a profile's lines."""
    name = prof.name
    labels = [(ln.key, _norm(text)) for ln in prof.lines for _, text in ln.labels]
    matched = {c: _match_profile_line(c, labels) for c in columns}
    keys = {k for k in matched.values() if k}
    if "voters_on_list" not in keys or len(keys) < 3:
        return None
    levels = _levels(columns)
    station = tuple(c for c in columns if _norm(c) in _STATION_NAMES)[:1]
    level_cols = set(levels.values()) | set(station)
    lines: dict[str, tuple[str, ...]] = {}
    choices: list[str] = []
    ignored: list[str] = []
    notes: list[str] = []
    for col in columns:
        key = matched[col]
        if col in level_cols:
            continue
        if key is None and any(_norm(col).startswith(t) for t in _SERVICE):
            ignored.append(col)
        elif key is not None and key not in lines:
            lines[key] = (col,)
        elif key is not None:
            notes.append(
                _unplaced_note(col, f"reads as line {key}, already column {lines[key][0]!r}")
            )
        elif looks_like_line(col):
            notes.append(_unplaced_note(col, f"looks like a line of {name} but matches none"))
        else:
            choices.append(col)
    notes[:0] = _layout_notes(prof, lines, f"file headed with the {name} profile's labels")
    return ColumnMapping(
        f"{name}-labels",
        levels,
        lines,
        tuple(choices),
        station or tuple(levels.values()) or (columns[0],),
        tuple(ignored),
        profile=name,
        notes=tuple(notes),
    )


def _kz_labels(columns: Sequence[str]) -> ColumnMapping | None:
    return _by_profile_labels(get_profile("kz"), columns)


_PL_LINES = {
    "voters_on_list": ("Liczba wyborców uprawnionych do głosowania",),
    "ballots_received": ("Komisje obwodowe otrzymały kart do głosowania",),
    "issued": ("Liczba wyborców, którym wydano karty do głosowania",),
    "postal_in_box": ("Liczba kopert na kartę do głosowania wrzuconych do urny",),
    "found": ("Liczba kart wyjętych z urny",),
    "valid_cards": ("Liczba kart ważnych",),
    "invalid": ("Liczba kart nieważnych", "Liczba głosów nieważnych"),
    "valid": ("Liczba głosów ważnych oddanych łącznie na wszystkich kandydatów",),
}
_PL_LEVELS = {"region": "Województwo", "district": "Powiat", "commune": "Gmina"}


def _pl_pkw(columns: Sequence[str]) -> ColumnMapping | None:
    if "Liczba wyborców uprawnionych do głosowania" not in columns:
        return None
    # valid cards (the commission's turnout) are optional: older exports may lack the column
    lines = {k: v for k, v in _PL_LINES.items() if k != "valid_cards" or v[0] in columns}
    missing = [c for cols in lines.values() for c in cols if c not in columns]
    if missing:
        raise DataFormatError(
            "Polish PKW file lacks a protocol column", field=missing[0], expected="a column"
        )
    last = columns.index(_PL_LINES["valid"][0])
    choices = tuple(columns[last + 1 :])
    used = {c for cols in lines.values() for c in cols} | set(_PL_LEVELS.values())
    station = tuple(c for c in ("Kod TERYT", "Numer obwodu") if c in columns)
    ignored = tuple(c for c in columns[:last] if c not in used and c not in station)
    levels = {k: v for k, v in _PL_LEVELS.items() if v in columns}
    return ColumnMapping("pl-pkw", levels, lines, choices, station, ignored, profile="pl-pkw")


def _normalised(columns: Sequence[str]) -> ColumnMapping | None:
    if "station" not in columns:
        return None
    known = set(LINE_LABELS)
    levels = {c: c for c in LEVEL_COLUMNS if c in columns}
    lines: dict[str, tuple[str, ...]] = {c: (c,) for c in columns if c in known}
    # one column per commission member (issued_by_member_1, _2...): summed into one line
    members = tuple(c for c in columns if re.fullmatch(r"issued_by_member_\d+", c))
    if members and "issued_by_member" not in lines:
        lines["issued_by_member"] = members
    rest = [
        c
        for c in columns
        if c not in known and c not in levels and c != "station" and c not in members
    ]
    choices = tuple(c for c in rest if not looks_like_line(c))
    notes = tuple(
        _unplaced_note(c, "looks like a protocol line but is no line key")
        for c in rest
        if looks_like_line(c)
    )
    if "issued_early" in lines:
        profile = "ru-federal-2011" if "absentee_lost" in lines else "ru-federal-2018"
    elif "in_boxes" in lines:
        profile = "kz"
    else:
        profile = "plain"
    return ColumnMapping(
        "normalised", levels, lines, choices, ("station",), (), profile=profile, notes=notes
    )


_DETECTORS = (_ru_cec, _kz_labels, _pl_pkw, _normalised)


def detect_mapping(
    columns: Sequence[str], *, file: str | None = None, profile: ProtocolProfile | None = None
) -> ColumnMapping:
    """The first shipped mapping whose header fits ``columns``.

    With ``profile`` (e.g. a corrected profile file), a header in that profile's own wording is
    tried first, so that new labels need no code.

    Raises
    ------
    DataFormatError
        No mapping recognises the header.
    """
    by_labels = None
    if profile is not None and any(line.labels for line in profile.lines):
        by_labels = _by_profile_labels(profile, columns)
    for detect in _DETECTORS:
        try:
            found = detect(columns)
        except DataFormatError as exc:
            raise DataFormatError(
                exc.message, file=file, field=exc.field, expected=exc.expected
            ) from None
        if found is not None:
            # the given profile's own wording wins when it places more lines
            if by_labels is not None and len(by_labels.lines) > len(found.lines):
                return by_labels
            return found
    if by_labels is not None:
        return by_labels
    raise DataFormatError(
        "header not recognised as any known precinct format",
        file=file,
        row=1,
        expected="a Russian CEC header ('Число избирателей...'), a Polish PKW header, or the "
        "normalised format with a 'station' column",
        found=", ".join(list(columns)[:5]),
    )
