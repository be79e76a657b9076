"""Protocol profiles: the lines of a precinct protocol and the control relations between them.

A protocol is a set of named lines keyed by *meaning* (``voters_on_list``, ``valid``...); the
printed line number is kept as an attribute because it shifts between protocol layouts. Control
relations are data: each is a linear (in)equality between sums of lines, marked **strict** (an
equality the law requires) or **soft** (an inequality that is flagged, not fatal), as the
Russian GAS "Vybory" and ballot-scanner (KOIB) software distinguish them.

The special term ``CHOICES`` stands for the sum of the votes for every choice on the ballot,
Against all included where the ballot has it.

Examples
--------
>>> p = get_profile("ru-federal-2018")
>>> [line.number for line in p.lines][:3]
[1, 2, 3]
>>> [r.name for r in p.relations if r.strict]
['ballots_received_balance', 'boxes_equal_found', 'valid_equal_votes']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Literal

from .._exceptions import UnknownNameError

__all__ = [
    "CHOICES",
    "LINE_LABELS",
    "PROFILES",
    "ControlRelation",
    "Line",
    "ProtocolProfile",
    "get_profile",
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
    "valid_cards": "valid ballot cards taken out of the box (postal votes included)",
    CHOICES: "votes for all choices",
}

Term = tuple[int, str]


@dataclasses.dataclass(frozen=True)
class Line:
    """One numbered line of a protocol layout."""

    key: str
    number: int
    label: str = ""


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
    """

    name: str
    left: tuple[Term, ...]
    right: tuple[Term, ...]
    op: Literal["==", ">=", "<="]
    strict: bool
    source: str = ""

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
    """A protocol layout: its numbered lines and its control relations."""

    name: str
    title: str
    lines: tuple[Line, ...]
    relations: tuple[ControlRelation, ...]
    against_all_on_ballot: bool = False
    source: str = ""
    inferred: bool = False
    #: The line the commission divides by the voters on the list for its published turnout;
    #: ``None``: ballots issued (see :meth:`saylau.domain.table.ProtocolTable.turnout_ballots`).
    turnout_line: str | None = None

    @property
    def line_keys(self) -> tuple[str, ...]:
        return tuple(line.key for line in self.lines)

    @property
    def numbers(self) -> dict[str, int]:
        """Line key → printed line number."""
        return {line.key: line.number for line in self.lines}


def _lines(*keys: str) -> tuple[Line, ...]:
    return tuple(Line(k, i + 1, LINE_LABELS[k]) for i, k in enumerate(keys))


_RU_LAW = (
    "Federal Law No. 67-FZ of 12.06.2002 'On basic guarantees of electoral rights', art. 67-68; "
    "CEC of Russia instructions on the precinct protocol (control relations of GAS 'Vybory')"
)


def _ru_relations(*, absentee: bool) -> tuple[ControlRelation, ...]:
    issued = ((1, "issued_early"), (1, "issued_in_station"), (1, "issued_outside"))
    rel = [
        ControlRelation(
            "ballots_received_balance",
            ((1, "ballots_received"),),
            (*issued, (1, "cancelled"), (1, "lost"), (-1, "not_recorded")),
            "==",
            True,
            _RU_LAW + "; art. 68(9): line 2 = 3+4+5+6+lost-not recorded",
        ),
        ControlRelation(
            "boxes_equal_found",
            ((1, "in_mobile"), (1, "in_stationary")),
            ((1, "invalid"), (1, "valid")),
            "==",
            True,
            _RU_LAW + "; art. 68(9): ballots in boxes = invalid + valid",
        ),
        ControlRelation(
            "valid_equal_votes",
            ((1, "valid"),),
            ((1, CHOICES),),
            "==",
            True,
            _RU_LAW + "; art. 68(9): valid = Σ votes per choice (+ Against all)",
        ),
        ControlRelation(
            "list_covers_issued",
            ((1, "voters_on_list"),),
            issued,
            ">=",
            False,
            "CEC control relation: voters on the list ≥ ballots issued",
        ),
        ControlRelation(
            "issued_covers_found",
            issued,
            ((1, "in_mobile"), (1, "in_stationary")),
            ">=",
            False,
            "CEC control relation: ballots issued ≥ ballots found in boxes",
        ),
        ControlRelation(
            "outside_covers_mobile",
            ((1, "issued_early"), (1, "issued_outside")),
            ((1, "in_mobile"),),
            ">=",
            False,
            "CEC control relation: issued early + outside ≥ ballots in mobile boxes",
        ),
        ControlRelation(
            "station_covers_stationary",
            ((1, "issued_in_station"),),
            ((1, "in_stationary"),),
            ">=",
            False,
            "CEC control relation: issued in the station ≥ ballots in stationary boxes",
        ),
    ]
    if absentee:
        rel.append(
            ControlRelation(
                "absentee_balance",
                ((1, "absentee_received"),),
                ((1, "absentee_issued"), (1, "absentee_cancelled"), (1, "absentee_lost")),
                "==",
                True,
                _RU_LAW + "; art. 68(9): absentee certificates received = issued + cancelled "
                "+ lost",
            )
        )
    return tuple(rel)


_RU_2018 = ProtocolProfile(
    name="ru-federal-2018",
    title="Russia, federal elections, precinct protocol of 2018+ (12 lines, then choices)",
    lines=_lines(
        "voters_on_list",
        "ballots_received",
        "issued_early",
        "issued_in_station",
        "issued_outside",
        "cancelled",
        "in_mobile",
        "in_stationary",
        "invalid",
        "valid",
        "lost",
        "not_recorded",
    ),
    relations=_ru_relations(absentee=False),
    source=_RU_LAW,
)

_RU_2011 = ProtocolProfile(
    name="ru-federal-2011",
    title="Russia, federal elections, precinct protocol of 2011-2012 (18 lines with absentee "
    "certificates, then choices)",
    lines=_lines(
        "voters_on_list",
        "ballots_received",
        "issued_early",
        "issued_in_station",
        "issued_outside",
        "cancelled",
        "in_mobile",
        "in_stationary",
        "invalid",
        "valid",
        "absentee_received",
        "absentee_issued",
        "absentee_voted",
        "absentee_cancelled",
        "absentee_issued_by_tik",
        "absentee_lost",
        "lost",
        "not_recorded",
    ),
    relations=_ru_relations(absentee=True),
    source=_RU_LAW,
)

_RU_2004 = ProtocolProfile(
    name="ru-federal-2004",
    title="Russia, federal elections, precinct protocol of 2003-2004 (17 lines with absentee "
    "certificates, then choices and Against all)",
    lines=_lines(
        "voters_on_list",
        "ballots_received",
        "issued_early",
        "issued_in_station",
        "issued_outside",
        "cancelled",
        "in_mobile",
        "in_stationary",
        "invalid",
        "valid",
        "absentee_received",
        "absentee_issued",
        "absentee_voted",
        "absentee_cancelled",
        "absentee_issued_by_tik",
        "lost",
        "not_recorded",
    ),
    relations=_ru_relations(absentee=False),
    against_all_on_ballot=True,
    source=_RU_LAW + " (2002 wording, with the Against-all line of art. 63(7), repealed in 2006)",
)

_KZ_LAW = (
    "Constitutional Law of the Republic of Kazakhstan No. 2464 of 28.09.1995 'On elections', "
    "art. 43-44 (counting of votes, precinct protocol)"
)

_KZ = ProtocolProfile(
    name="kz",
    title="Kazakhstan, precinct protocol (voters, ballots received, issued, cancelled, in boxes, "
    "invalid, votes per choice, Against all)",
    lines=_lines(
        "voters_on_list",
        "ballots_received",
        "issued",
        "cancelled",
        "in_boxes",
        "invalid",
    ),
    relations=(
        ControlRelation(
            "ballots_received_balance",
            ((1, "ballots_received"),),
            ((1, "issued"), (1, "cancelled")),
            "==",
            True,
            _KZ_LAW + " (inferred: to be confirmed against the current official form)",
        ),
        ControlRelation(
            "boxes_equal_invalid_plus_votes",
            ((1, "in_boxes"),),
            ((1, "invalid"), (1, CHOICES)),
            "==",
            True,
            _KZ_LAW + "; Against all counted among the votes since the 2023 amendments "
            "(inferred: to be confirmed against the current official form)",
        ),
        ControlRelation(
            "list_covers_issued",
            ((1, "voters_on_list"),),
            ((1, "issued"),),
            ">=",
            False,
            _KZ_LAW + " (inferred)",
        ),
        ControlRelation(
            "issued_covers_boxes",
            ((1, "issued"),),
            ((1, "in_boxes"),),
            ">=",
            False,
            _KZ_LAW + " (inferred)",
        ),
    ),
    against_all_on_ballot=True,
    source=_KZ_LAW,
    inferred=True,
)

_PLAIN = ProtocolProfile(
    name="plain",
    title="Minimal protocol: voters on the list, ballots issued, invalid, valid, votes",
    lines=_lines("voters_on_list", "issued", "invalid", "valid"),
    relations=(
        ControlRelation(
            "valid_equal_votes",
            ((1, "valid"),),
            ((1, CHOICES),),
            "==",
            True,
            "arithmetic identity of any count",
        ),
        ControlRelation(
            "list_covers_issued",
            ((1, "voters_on_list"),),
            ((1, "issued"),),
            ">=",
            False,
            "arithmetic plausibility",
        ),
        ControlRelation(
            "issued_covers_found",
            ((1, "issued"),),
            ((1, "invalid"), (1, "valid")),
            ">=",
            False,
            "arithmetic plausibility",
        ),
    ),
    source="saylau's own minimal layout",
)

_PL_LAW = (
    "Polish Electoral Code (Kodeks wyborczy) of 5 Jan 2011, art. 75 and 232; PKW protocol form"
)

_PL = ProtocolProfile(
    name="pl-pkw",
    title="Poland, presidential election precinct protocol (PKW export)",
    lines=(
        Line("voters_on_list", 1, LINE_LABELS["voters_on_list"]),
        Line("ballots_received", 2, LINE_LABELS["ballots_received"]),
        Line("issued", 4, LINE_LABELS["issued"]),
        Line("postal_in_box", 10, LINE_LABELS["postal_in_box"]),
        Line("found", 11, LINE_LABELS["found"]),
        Line("valid_cards", 12, LINE_LABELS["valid_cards"]),
        Line("invalid", 13, "invalid ballots and invalid votes"),
        Line("valid", 14, "valid votes"),
    ),
    relations=(
        ControlRelation(
            "found_equal_invalid_plus_valid",
            ((1, "found"),),
            ((1, "invalid"), (1, "valid")),
            "==",
            True,
            _PL_LAW + ": cards taken out = invalid cards + invalid votes + valid votes",
        ),
        ControlRelation("valid_equal_votes", ((1, "valid"),), ((1, CHOICES),), "==", True, _PL_LAW),
        ControlRelation(
            "list_covers_issued",
            ((1, "voters_on_list"),),
            ((1, "issued"),),
            ">=",
            False,
            _PL_LAW,
        ),
        ControlRelation(
            "issued_covers_found",
            ((1, "issued"), (1, "postal_in_box")),
            ((1, "found"),),
            ">=",
            False,
            _PL_LAW + ": cards in the box ≤ cards issued + postal envelopes put in the box",
        ),
    ),
    source=_PL_LAW,
    # PKW: "frekwencja" = valid cards taken from the box (postal votes included) ÷ voters
    # entitled to vote; 2020 first round 64.51% (ballots issued at the station alone: 62.99%)
    turnout_line="valid_cards",
)

#: Every profile saylau ships, by name.
PROFILES: Mapping[str, ProtocolProfile] = {
    p.name: p for p in (_RU_2018, _RU_2011, _RU_2004, _KZ, _PL, _PLAIN)
}


def get_profile(name: str) -> ProtocolProfile:
    """Look a profile up by name; an unknown name lists the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownNameError(
            "unknown protocol profile",
            field="profile",
            expected=" | ".join(PROFILES),
            found=name,
        ) from None
