"""Column mappings: from the headers of real files to saylau's protocol lines.

A :class:`ColumnMapping` says, for one family of files, which columns are hierarchy levels, which
are protocol lines (several columns may add up to one line) and which are choices. Mappings are
recognised from the header; :func:`detect_mapping` picks the first that fits.

Shipped mappings:

``ru-cec``
    Russian CEC precinct files (``../shared/data/russia``): Russian line labels of 2003-2021,
    matched by meaning, so that the changes of wording between years do not matter.
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

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence

from .._exceptions import DataFormatError
from ..domain.profiles import LINE_LABELS

__all__ = ["LEVEL_COLUMNS", "ColumnMapping", "detect_mapping"]

#: Column names read as hierarchy levels in normalised files, top-down.
LEVEL_COLUMNS = ("region", "oik", "territory", "district", "tik", "commune", "uik", "precinct")


@dataclasses.dataclass(frozen=True)
class ColumnMapping:
    """How the columns of one file map to saylau's table.

    Parameters
    ----------
    name : str
    levels : mapping of level name → source column, top-down
    lines : mapping of line key → source columns (summed)
    choices : source columns holding votes per choice, in ballot order
    station : source columns whose values, joined by " / ", make the station id
    ignored : source columns deliberately not read (listed in the table's notes)
    profile : default protocol profile name
    """

    name: str
    levels: Mapping[str, str]
    lines: Mapping[str, tuple[str, ...]]
    choices: tuple[str, ...]
    station: tuple[str, ...]
    ignored: tuple[str, ...] = ()
    profile: str = "plain"


def _norm(label: str) -> str:
    return re.sub(r"\s+", " ", label.replace("ё", "е").casefold()).strip()


def _ru_line(label: str) -> str | None:
    s = _norm(label)
    if not s.startswith("число"):
        return None
    if "открепительн" in s:
        if "утрачен" in s:
            return "absentee_lost"
        if "проголосовавших" in s:
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
    if s.startswith("число избирателей") and " в список" in s:
        return "voters_on_list"
    if "бюллетен" not in s:
        return None
    rules: Sequence[tuple[Callable[[str], bool], str]] = (
        (lambda t: "не учтен" in t, "not_recorded"),
        (lambda t: "утрачен" in t, "lost"),
        (lambda t: "получен" in t, "ballots_received"),
        (lambda t: "досрочно" in t, "issued_early"),
        (lambda t: "выдан" in t and "вне помещения" in t, "issued_outside"),
        (lambda t: "выдан" in t, "issued_in_station"),
        (lambda t: "погашен" in t, "cancelled"),
        (lambda t: "переносн" in t, "in_mobile"),
        (lambda t: "стационарн" in t, "in_stationary"),
        (lambda t: "недействительн" in t, "invalid"),
        (lambda t: "действительн" in t, "valid"),
    )
    for test, key in rules:
        if test(s):
            return key
    return None


def _ru_cec(columns: Sequence[str]) -> ColumnMapping | None:
    if not any(_norm(c).startswith("число избирателей") for c in columns):
        return None
    levels = {c: c for c in ("region", "oik", "tik", "uik") if c in columns}
    lines: dict[str, tuple[str, ...]] = {}
    choices: list[str] = []
    ignored: list[str] = []
    for col in columns:
        if col in levels:
            continue
        if col in ("url", "level", "station") or _norm(col).startswith("число"):
            key = _ru_line(col) if col not in ("url", "level", "station") else None
            if key is None or key in lines:
                ignored.append(col)
            else:
                lines[key] = (col,)
            continue
        choices.append(col)
    if "absentee_lost" in lines:
        profile = "ru-federal-2011"
    elif "absentee_received" in lines:
        profile = "ru-federal-2004"
    else:
        profile = "ru-federal-2018"
    station = tuple(levels) or (columns[0],)
    return ColumnMapping(
        "ru-cec", levels, lines, tuple(choices), station, tuple(ignored), profile=profile
    )


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
    lines = {c: (c,) for c in columns if c in known}
    choices = tuple(c for c in columns if c not in known and c not in levels and c != "station")
    if "issued_early" in lines:
        profile = "ru-federal-2011" if "absentee_lost" in lines else "ru-federal-2018"
    elif "in_boxes" in lines:
        profile = "kz"
    else:
        profile = "plain"
    return ColumnMapping("normalised", levels, lines, choices, ("station",), (), profile=profile)


_DETECTORS = (_ru_cec, _pl_pkw, _normalised)


def detect_mapping(columns: Sequence[str], *, file: str | None = None) -> ColumnMapping:
    """The first shipped mapping whose header fits ``columns``.

    Raises
    ------
    DataFormatError
        No mapping recognises the header.
    """
    for detect in _DETECTORS:
        try:
            found = detect(columns)
        except DataFormatError as exc:
            raise DataFormatError(
                exc.message, file=file, field=exc.field, expected=exc.expected
            ) from None
        if found is not None:
            return found
    raise DataFormatError(
        "header not recognised as any known precinct format",
        file=file,
        row=1,
        expected="a Russian CEC header ('Число избирателей...'), a Polish PKW header, or the "
        "normalised format with a 'station' column",
        found=", ".join(list(columns)[:5]),
    )
