"""Rule sets: what makes an election valid and who wins, under a named law.

A :class:`RuleSet` is plain data: the minimum turnout, the share base, the decision rule
(majority, plurality, proportional), the Against-all rule, and for party lists the house size,
threshold and its base, the seat method and the tie-break rule. Each cites its legal source.

Share bases (``share_base`` / ``threshold_base``):

``"valid"``
    valid ballots, Against all included (Kazakhstan's 2023 Mazhilis count);
``"valid_excl_against_all"``
    votes for contenders only;
``"cast"``
    ballots found in boxes, valid + invalid ("voters who took part").

Examples
--------
>>> r = get_rules("kz-mazhilis-2023")
>>> r.seats, r.threshold, r.threshold_base, r.against_all
(69, Fraction(1, 20), 'valid', 'counts_wins_nothing')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from fractions import Fraction
from typing import Literal

from .._exceptions import UnknownNameError

__all__ = ["RULES", "Base", "RuleSet", "SeatMethod", "get_rules"]

Base = Literal["valid", "valid_excl_against_all", "cast"]
SeatMethod = Literal["hare", "droop", "dhondt", "sainte-lague", "modified-sainte-lague"]


@dataclasses.dataclass(frozen=True)
class RuleSet:
    """Validity and outcome rules of one kind of election under one law.

    Parameters
    ----------
    name, title, source : str
        Identifier, description and the legal text it comes from.
    decision : {"majority", "plurality", "proportional"}
    min_turnout : Fraction or None
        Election fails below this turnout (ballots cast ÷ voters on the list).
    majority_base : Base
        Base of the absolute majority for ``decision="majority"``.
    against_all : {"absent", "fails_if_beats_leader", "counts_wins_nothing"}
        ``fails_if_beats_leader``: the election fails when Against all gets more votes than the
        leader (Russia before 2006); ``counts_wins_nothing``: counted in turnout and the
        threshold base, never wins (Kazakhstan 2023).
    share_base : Base
        Base of the published shares.
    seats, threshold, threshold_base, inclusive_threshold, seat_method, tie_break
        Proportional allocation: house (list) size, threshold as a fraction and its base,
        whether a party *at* the threshold passes ("not less than"), the method and the
        declared tie-break rule (``"registration_order"``: the list registered earlier wins).
    district_seats : int
        Further seats filled by plurality in single-member districts (not allocated here).
    min_parties : int
        At least this many lists take part in the allocation: when fewer pass the threshold,
        the next lists by votes are admitted (Kazakhstan's 2009 amendment: a second party).
    """

    name: str
    title: str
    source: str
    decision: Literal["majority", "plurality", "proportional"]
    min_turnout: Fraction | None = None
    majority_base: Base = "cast"
    against_all: Literal["absent", "fails_if_beats_leader", "counts_wins_nothing"] = "absent"
    share_base: Base = "valid"
    seats: int | None = None
    threshold: Fraction | None = None
    threshold_base: Base = "valid"
    inclusive_threshold: bool = True
    seat_method: SeatMethod = "hare"
    tie_break: Literal["registration_order", "more_votes", "lot"] = "registration_order"
    district_seats: int = 0
    min_parties: int = 1


_KZ_ELECTIONS = "Constitutional Law of the Republic of Kazakhstan 'On elections' (1995)"

RULES: Mapping[str, RuleSet] = {
    r.name: r
    for r in (
        RuleSet(
            name="kz-mazhilis-2012",
            title="Kazakhstan, Mazhilis party lists 2007-2021: 98 seats, 7% threshold, Hare "
            "quota and largest remainders",
            source=_KZ_ELECTIONS + ", art. 97-1 (2007-2021 wording): parties with not less than "
            "7% of the votes; quota = votes of passing parties ÷ 98; largest remainders; "
            "if only one party passes, the runner-up is admitted (2009 amendment, IPU PARLINE)",
            decision="proportional",
            share_base="valid",
            seats=98,
            threshold=Fraction(7, 100),
            threshold_base="valid",
            seat_method="hare",
            min_parties=2,
        ),
        RuleSet(
            name="kz-mazhilis-2023",
            title="Kazakhstan, Mazhilis 2023: 69 party-list seats, 5% threshold with Against all "
            "in the base, Hare quota and largest remainders; 29 single-member districts",
            source=_KZ_ELECTIONS + ", art. 97-1 as amended 5 Nov 2022; CEC resolution on the "
            "results of 19 March 2023 (Against all counted in the base, wins no seat)",
            decision="proportional",
            against_all="counts_wins_nothing",
            share_base="valid",
            seats=69,
            threshold=Fraction(5, 100),
            threshold_base="valid",
            seat_method="hare",
            district_seats=29,
        ),
        RuleSet(
            name="kz-mazhilis-2023-district",
            title="Kazakhstan, Mazhilis 2023 single-member district: plurality, Against all "
            "counted, wins nothing",
            source=_KZ_ELECTIONS + ", art. 97 as amended 5 Nov 2022",
            decision="plurality",
            against_all="counts_wins_nothing",
            share_base="valid",
        ),
        RuleSet(
            name="kz-president",
            title="Kazakhstan, presidential election: more than half of the voters who took part, "
            "turnout over 50%; Against all (since 2022) counted, wins nothing",
            source=_KZ_ELECTIONS + ", art. 61-62",
            decision="majority",
            min_turnout=Fraction(1, 2),
            majority_base="cast",
            against_all="counts_wins_nothing",
            share_base="cast",
        ),
        RuleSet(
            name="ru-president-2004",
            title="Russia, presidential election 2004: turnout over 50%, majority of voters who "
            "took part; failed if Against all beats the leader",
            source="Federal Law No. 19-FZ of 10.01.2003 'On the election of the President', "
            "art. 76(1), 76(2), 77 (Against all repealed by Law No. 107-FZ of 12.07.2006)",
            decision="majority",
            min_turnout=Fraction(1, 2),
            majority_base="cast",
            against_all="fails_if_beats_leader",
            share_base="cast",
        ),
        RuleSet(
            name="ru-president-2012",
            title="Russia, presidential election 2008+: majority of voters who took part, no "
            "minimum turnout, no Against all",
            source="Federal Law No. 19-FZ of 10.01.2003, art. 76 as amended in 2006",
            decision="majority",
            majority_base="cast",
            share_base="cast",
        ),
        RuleSet(
            name="ru-duma-2011",
            title="Russia, State Duma 2007-2011: 450 list seats, 7% threshold, Hare quota and "
            "largest remainders",
            source="Federal Law No. 51-FZ of 18.05.2005 'On the election of deputies of the "
            "State Duma', art. 82-83",
            decision="proportional",
            share_base="cast",
            seats=450,
            threshold=Fraction(7, 100),
            threshold_base="cast",
            seat_method="hare",
        ),
        RuleSet(
            name="ru-duma-2021",
            title="Russia, State Duma 2016+: 225 list seats, 5% threshold, Hare quota and "
            "largest remainders",
            source="Federal Law No. 20-FZ of 22.02.2014 'On the election of deputies of the "
            "State Duma', art. 88-89",
            decision="proportional",
            share_base="cast",
            seats=225,
            threshold=Fraction(5, 100),
            threshold_base="cast",
            seat_method="hare",
            district_seats=225,
        ),
    )
}


def get_rules(name: str) -> RuleSet:
    """Look a rule set up by name; an unknown name lists the known ones."""
    try:
        return RULES[name]
    except KeyError:
        raise UnknownNameError(
            "unknown rule set", field="rules", expected=" | ".join(RULES), found=name
        ) from None
