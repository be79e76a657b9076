"""Protocol profiles: the lines of a precinct protocol and the control relations between them.

A protocol is a set of named lines keyed by *meaning* (``voters_on_list``, ``valid``...); the
printed line number is kept as an attribute because it shifts between protocol layouts. Control
relations are data: each is a linear (in)equality between sums of lines, marked **strict** (an
equality the law requires) or **soft** (an inequality that is flagged, not fatal), as the
Russian GAS "Vybory" and ballot-scanner (KOIB) software distinguish them, and marked **stated**
(written in the law or the commission's instructions) or **inferred** (arithmetic saylau assumes
until the official text is found), each with its source.

Profiles are versioned data files, one TOML file per profile in ``saylau/data/profiles/``: a
network can correct one after a change of law and load it with :func:`load_profile` (or pass
its path wherever a profile name is accepted) without a change of code. A profile file holds
``name``, ``version``, ``title``, ``source``, ``against_all_on_ballot``, ``inferred``, then
``[[lines]]`` (``key``, ``number``, optional ``label``, ``ru``, ``kk``... labels,
``optional``) and ``[[relations]]`` (``name``, ``left``, ``right``, ``op``, ``strict``,
``basis``, ``source``; a term is a line key, ``-key`` to subtract it, ``@choices`` for Σ votes).

The special term ``CHOICES`` stands for the sum of the votes for every choice on the ballot,
Against all included where the ballot has it.

Examples
--------
>>> p = get_profile("ru-federal-2018")
>>> [line.number for line in p.lines][:3]
[1, 2, 3]
>>> [r.name for r in p.relations if r.strict]
['ballots_received_balance', 'boxes_equal_found', 'valid_equal_votes']
>>> kz = get_profile("kz")
>>> kz.line("in_boxes").label_in("kk")
'Дауыс беруге қатысқан сайлаушылардың жалпы саны'
>>> sorted({r.basis for r in kz.relations})
['inferred', 'stated']
"""

from __future__ import annotations

import dataclasses
import functools
import tomllib
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from .._exceptions import DataFormatError, UnknownNameError

__all__ = [
    "CHOICES",
    "LINE_LABELS",
    "PROFILES",
    "ControlRelation",
    "Line",
    "ProtocolProfile",
    "get_profile",
    "load_profile",
]

#: Term standing for Σ votes per choice (Against all included where it is on the ballot).
CHOICES = "@choices"

#: English labels of every line key saylau knows (the Kazakh and Russian ones live in report/).
LINE_LABELS: Mapping[str, str] = {
    "voters_on_list": "voters on the list",
    "ballots_received": "ballots received",
    "issued_early": "ballots issued early",
    "issued_in_station": "ballots issued in the station",
    "issued_outside": "ballots issued outside the station",
    "issued": "ballots issued",
    "cancelled": "ballots cancelled",
    "in_mobile": "ballots in mobile boxes",
    "in_stationary": "ballots in stationary boxes",
    "in_boxes": "ballots in boxes",
    "invalid": "invalid ballots",
    "valid": "valid ballots",
    "lost": "ballots lost",
    "not_recorded": "ballots not recorded on receipt",
    "absentee_received": "absentee certificates received",
    "absentee_issued": "absentee certificates issued",
    "absentee_voted": "voters with absentee certificates",
    "absentee_cancelled": "absentee certificates cancelled",
    "absentee_issued_by_tik": "absentee certificates issued by the territorial commission",
    "absentee_lost": "absentee certificates lost",
    "postal_in_box": "postal ballot envelopes put in the box",
    "found": "ballots taken out of the box",
    "issued_by_member": "ballots issued by each commission member",
    "outside_requests": "written requests to vote outside the station",
    "valid_cards": "valid ballot cards taken out of the box (postal votes included)",
    CHOICES: "votes for all choices",
}

Term = tuple[int, str]


@dataclasses.dataclass(frozen=True)
class Line:
    """One line of a protocol layout.

    Parameters
    ----------
    key : str
        The line's meaning (see :data:`LINE_LABELS`).
    number : int or None
        The printed line number (or the position in the law's list); None for a line the form
        does not number.
    label : str
        English label.
    labels : tuple of (language, label)
        The line's wording on the official form, e.g. ``("ru", "Число ...")``, ``("kk", ...)``.
    optional : bool
        A line the form may leave out (e.g. per-member counts); never required in a file.
    """

    key: str
    number: int | None
    label: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    optional: bool = False

    def label_in(self, language: str) -> str:
        """The label in a language (``en``, ``ru``, ``kk``...), English when there is none."""
        return dict(self.labels).get(language, self.label)


@dataclasses.dataclass(frozen=True)
class ControlRelation:
    """``Σ coef·line (left) OP Σ coef·line (right)``, strict or soft.

    Parameters
    ----------
    name : str
        Stable identifier used in reports and JSON.
    left, right : tuple of (coefficient, line key)
        The two sides; the key ``CHOICES`` stands for all votes per choice.
    op : {"==", ">=", "<="}
    strict : bool
        True for an equality the law requires (a failed protocol), False for a flagged check.
    source : str
        Legal text or instruction the relation comes from.
    basis : {"stated", "inferred"}
        Whether the source states the relation, or saylau infers it (to be confirmed).
    """

    name: str
    left: tuple[Term, ...]
    right: tuple[Term, ...]
    op: Literal["==", ">=", "<="]
    strict: bool
    source: str = ""
    basis: Literal["stated", "inferred"] = "stated"

    @property
    def lines(self) -> tuple[str, ...]:
        """Every line key the relation involves, left to right."""
        return tuple(k for _, k in self.left) + tuple(k for _, k in self.right)

    def formula(self, numbers: Mapping[str, int]) -> str:
        """The relation in printed line numbers, as on the paper form.

        >>> r = ControlRelation("x", ((1, "in_boxes"),), ((1, "invalid"), (1, CHOICES)), "==", True)
        >>> r.formula({"in_boxes": 5, "invalid": 6})
        '5 = 6 + Σ votes'
        """

        def side(terms: tuple[Term, ...]) -> str:
            out = []
            for i, (coef, key) in enumerate(terms):
                label = "Σ votes" if key == CHOICES else str(numbers.get(key, key))
                sign = "−" if coef < 0 else "+"
                out.append(label if i == 0 and coef > 0 else f"{sign} {label}")
            return " ".join(out)

        op = {"==": "=", ">=": "≥", "<=": "≤"}[self.op]
        return f"{side(self.left)} {op} {side(self.right)}"

    def describe(self, numbers: Mapping[str, int] | None = None) -> str:
        """The relation as text, with printed line numbers when given.

        >>> r = ControlRelation("x", ((1, "valid"),), ((1, CHOICES),), "==", True)
        >>> r.describe({"valid": 10})
        'valid (line 10) == votes for all choices'
        """

        def side(terms: tuple[Term, ...]) -> str:
            out = []
            for i, (coef, key) in enumerate(terms):
                label = key if key != CHOICES else LINE_LABELS[CHOICES]
                if numbers and key in numbers:
                    label += f" (line {numbers[key]})"
                sign = "-" if coef < 0 else "+"
                out.append(label if i == 0 and coef > 0 else f"{sign} {label}")
            return " ".join(out)

        return f"{side(self.left)} {self.op} {side(self.right)}"


@dataclasses.dataclass(frozen=True)
class ProtocolProfile:
    """A protocol layout: its numbered lines and its control relations.

    ``version`` and ``source`` say which text of the law the profile follows; ``inferred`` is
    true while some relation is only inferred; ``against_all_note`` says how Against all is
    counted where the ballot has it; ``path`` is the file the profile was loaded from.
    """

    name: str
    title: str
    lines: tuple[Line, ...]
    relations: tuple[ControlRelation, ...]
    against_all_on_ballot: bool = False
    source: str = ""
    inferred: bool = False
    version: str = ""
    against_all_note: str = ""
    path: str | None = None
    #: The line the commission divides by the voters on the list for its published turnout;
    #: ``None``: ballots issued (see :meth:`saylau.domain.table.ProtocolTable.turnout_ballots`).
    turnout_line: str | None = None

    @property
    def line_keys(self) -> tuple[str, ...]:
        """Every line key, in the form's order (optional lines included)."""
        return tuple(line.key for line in self.lines)

    @property
    def required_keys(self) -> tuple[str, ...]:
        """Line keys that are not optional."""
        return tuple(line.key for line in self.lines if not line.optional)

    @property
    def numbers(self) -> dict[str, int]:
        """Line key → printed line number (lines the form does not number are left out)."""
        return {line.key: line.number for line in self.lines if line.number is not None}

    def line(self, key: str) -> Line:
        """The line with this key."""
        for line in self.lines:
            if line.key == key:
                return line
        raise UnknownNameError(
            "line not in this profile", field=key, expected=" | ".join(self.line_keys)
        )


_OPS = ("==", ">=", "<=")
_BASES = ("stated", "inferred")


def _err(path: str, field: str, message: str, expected: str, found: object) -> DataFormatError:
    return DataFormatError(message, file=path, field=field, expected=expected, found=repr(found))


def _terms(raw: object, path: str, field: str, keys: set[str]) -> tuple[Term, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(t, str) for t in raw):
        raise _err(path, field, "relation side must be a list of line keys", '["key", ...]', raw)
    out = []
    for term in raw:
        coef, key = (-1, term[1:]) if term.startswith("-") else (1, term)
        if key != CHOICES and key not in keys:
            raise _err(
                path, field, "relation names a line the profile lacks", " | ".join(keys), key
            )
        out.append((coef, key))
    return tuple(out)


def _profile_from_dict(data: Mapping[str, Any], path: str) -> ProtocolProfile:
    for key, kind in (("name", str), ("title", str), ("source", str)):
        if not isinstance(data.get(key), kind):
            raise _err(path, key, "profile field missing or not text", "a string", data.get(key))
    lines: list[Line] = []
    for i, raw in enumerate(data.get("lines", [])):
        field = f"lines[{i}]"
        key = raw.get("key")
        if not isinstance(key, str) or not key:
            raise _err(path, field + ".key", "line without a key", "a line key", key)
        number = raw.get("number")
        if number is not None and (not isinstance(number, int) or isinstance(number, bool)):
            raise _err(path, field + ".number", "line number not a whole number", "int", number)
        label = raw.get("label") or LINE_LABELS.get(key)
        if not label:
            raise _err(path, field + ".label", "a new line key needs an English label", "text", key)
        labels = tuple(
            (lang, text)
            for lang, text in raw.items()
            if lang not in ("key", "number", "label", "optional") and isinstance(text, str)
        )
        lines.append(Line(key, number, label, labels, bool(raw.get("optional", False))))
    if not lines:
        raise _err(path, "lines", "profile has no lines", "[[lines]] tables", None)
    keys = {line.key for line in lines}
    if len(keys) != len(lines):
        dup = next(k for k in keys if sum(line.key == k for line in lines) > 1)
        raise _err(path, "lines", "line key given twice", "unique keys", dup)
    relations = []
    for i, raw in enumerate(data.get("relations", [])):
        field = f"relations[{i}]"
        op, basis = raw.get("op"), raw.get("basis", "stated")
        if op not in _OPS:
            raise _err(path, field + ".op", "unknown operator", " | ".join(_OPS), op)
        if basis not in _BASES:
            raise _err(path, field + ".basis", "unknown basis", " | ".join(_BASES), basis)
        if not raw.get("source"):
            raise _err(path, field + ".source", "relation without a source", "text", None)
        relations.append(
            ControlRelation(
                str(raw.get("name", f"relation_{i}")),
                _terms(raw.get("left"), path, field + ".left", keys),
                _terms(raw.get("right"), path, field + ".right", keys),
                op,
                bool(raw.get("strict", False)),
                str(raw["source"]),
                basis,
            )
        )
    return ProtocolProfile(
        name=data["name"],
        title=data["title"],
        lines=tuple(lines),
        relations=tuple(relations),
        against_all_on_ballot=bool(data.get("against_all_on_ballot", False)),
        source=data["source"],
        inferred=bool(data.get("inferred", False)),
        version=str(data.get("version", "")),
        against_all_note=str(data.get("against_all_note", "")),
        path=path,
        turnout_line=_turnout_line(data.get("turnout_line"), path, keys),
    )


def _turnout_line(value: object, path: str, keys: set[str]) -> str | None:
    """The line the commission's published turnout divides by the list (None: ballots issued)."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in keys:
        raise _err(
            path, "turnout_line", "not a line of this profile", " | ".join(sorted(keys)), value
        )
    return value


def load_profile(path: str | Path) -> ProtocolProfile:
    """Load a profile from a TOML file (a corrected or new one; see the module docstring).

    Raises
    ------
    DataFormatError
        The file is missing, not TOML, or a field is wrong (named in the message).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "kz-2026.toml"
    >>> text = (PROFILE_DIR / "kz.toml").read_text(encoding="utf-8")
    >>> _ = p.write_text(text.replace('version = "2007.2"', 'version = "2026.1"'), "utf-8")
    >>> load_profile(p).version
    '2026.1'
    """
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataFormatError("profile file not found", file=str(p)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"profile file is not valid TOML ({exc})", file=str(p)) from None
    return _profile_from_dict(data, str(p))


#: Folder of the profiles saylau ships (one TOML file each).
PROFILE_DIR = Path(str(resources.files("saylau") / "data" / "profiles"))


@functools.cache
def _shipped() -> dict[str, ProtocolProfile]:
    found = (load_profile(f) for f in sorted(PROFILE_DIR.glob("*.toml")))
    return {p.name: p for p in found}


class _Profiles(Mapping[str, ProtocolProfile]):
    """Read-only view of the shipped profiles, loaded from their files on first use."""

    def __getitem__(self, name: str) -> ProtocolProfile:
        return _shipped()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_shipped())

    def __len__(self) -> int:
        return len(_shipped())


#: Every profile saylau ships, by name.
PROFILES: Mapping[str, ProtocolProfile] = _Profiles()


def get_profile(name: str) -> ProtocolProfile:
    """Look a profile up by name, or load it from a ``.toml`` path; an unknown name lists the
    known ones."""
    if name.lower().endswith(".toml"):
        return load_profile(name)
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownNameError(
            "unknown protocol profile",
            field="profile",
            expected=" | ".join(PROFILES) + " | a profile file (.toml)",
            found=name,
        ) from None
