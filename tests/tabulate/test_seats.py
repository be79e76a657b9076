"""Seat allocation: official Kazakh results, textbook examples, thresholds, ties and bad input.

Every expected number has its source next to it: the CEC figures in
tests/results/kz_mazhilis.json, worked examples of the Wikipedia articles on the methods (checked
by hand in the comments), or a closed form.
"""

from __future__ import annotations

import json
import pickle
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from saylau._exceptions import (
    DataFormatError,
    EmptyInputError,
    SaylauInputError,
    SaylauWarning,
    UnknownNameError,
)
from saylau.tabulate.rules import get_rules
from saylau.tabulate.seats import (
    METHODS,
    SeatAllocation,
    allocate,
    allocate_by_rules,
    normalize_method,
    parse_threshold,
)

RESULTS = Path(__file__).resolve().parents[1] / "results" / "kz_mazhilis.json"
ELECTIONS = json.loads(RESULTS.read_text(encoding="utf-8"))["elections"]
AA = "Против всех"


@pytest.mark.parametrize("election", ELECTIONS, ids=lambda e: str(e["year"]))
def test_official_mazhilis_seats_by_rules(election: dict[str, Any]) -> None:
    result = allocate_by_rules(election["votes"], election["rules"])
    assert result.seats == election["official_seats"]
    assert result.ties == []
    assert sum(result.seats.values()) == election["seats"]


@pytest.mark.parametrize("election", ELECTIONS, ids=lambda e: str(e["year"]))
def test_official_mazhilis_seats_explicit(election: dict[str, Any]) -> None:
    result = allocate(
        election["votes"], seats=election["seats"], method="hare", threshold=election["threshold"]
    )
    assert result.seats == election["official_seats"]


@pytest.mark.parametrize("election", ELECTIONS, ids=lambda e: str(e["year"]))
def test_official_percentages_use_the_valid_base(election: dict[str, Any]) -> None:
    # The CEC's published percentages (2 decimals) come out of our threshold base "valid",
    # Against all included in 2023: the base the rule sets declare is the one the CEC used.
    result = allocate_by_rules(election["votes"], election["rules"])
    for choice, pct in election["official_percent"].items():
        assert round(float(result.shares[choice]) * 100, 2) == pytest.approx(pct, abs=1e-9)


def test_2023_against_all_is_in_the_base_and_decides_nothing_else() -> None:
    votes = ELECTIONS[0]["votes"]
    result = allocate_by_rules(votes, "kz-mazhilis-2023")
    assert result.against_all == AA
    assert result.base_votes == sum(votes.values())
    assert AA not in result.passed
    # Hare quota = votes of the six passing parties / 69 (law: art. 97-1)
    passing = sum(v for k, v in votes.items() if k not in {AA, "Baytaq"})
    assert result.quota == Fraction(passing, 69)
    # OSDP is 5.20% with Against all in the base (data README); without it, 5.41%
    assert result.shares["OSDP"] > Fraction(5, 100)


def test_2021_counterfactual_thresholds_published_by_qazaq_stan() -> None:
    # qazaq-stan.press, "Skolko mandatov poluchat proshedshie v Mazhilis partii" (Jan 2021):
    # with a 5% threshold Nur Otan 72, Ak Zhol 11, NPK 9, Auyl 6; with 3% 70, 11, 9, 5, Adal 3.
    votes = ELECTIONS[1]["votes"]
    at5 = allocate(votes, seats=98, threshold="5%").seats
    assert at5 == {"Nur Otan": 72, "Ak Zhol": 11, "People's Party": 9, "Auyl": 6, "Adal": 0}
    at3 = allocate(votes, seats=98, threshold="3%").seats
    assert at3 == {"Nur Otan": 70, "Ak Zhol": 11, "People's Party": 9, "Auyl": 5, "Adal": 3}


# Wikipedia, "D'Hondt method" and "Sainte-Laguë method", worked example: 230,000 votes, 8 seats.
WIKI_DIVISOR = {"A": 100_000, "B": 80_000, "C": 30_000, "D": 20_000}


def test_dhondt_wikipedia_example() -> None:
    # quotients: A 100k 50k 33.3k 25k; B 80k 40k 26.7k; C 30k; D 20k -> 8th seat at 25k
    result = allocate(WIKI_DIVISOR, seats=8, method="dhondt")
    assert result.seats == {"A": 4, "B": 3, "C": 1, "D": 0}
    assert result.quota == Fraction(25_000)


def test_sainte_lague_wikipedia_example() -> None:
    # quotients /1,/3,/5: A 100k 33.3k 20k; B 80k 26.7k 16k; C 30k 10k; D 20k. Top 8:
    # 100k 80k 33.3k 30k 26.7k 20k 20k 16k (B's third); next is A's 100k/7 = 14.3k
    result = allocate(WIKI_DIVISOR, seats=8, method="sainte-lague")
    assert result.seats == {"A": 3, "B": 3, "C": 1, "D": 1}
    assert result.quota == Fraction(16_000)
    assert result.ties == []


def test_modified_sainte_lague_first_divisor_is_1_4() -> None:
    # divisors 1.4, 3, 5, 7: A 71429 33333 20000 14286; B 57143 26667 16000; C 21429 10000;
    # D 14286. Top 8: 71429 57143 33333 26667 21429 20000 16000, then A's 100000/7 and D's
    # 20000/1.4 are both exactly 100000/7: a tie for the 8th seat.
    with pytest.warns(SaylauWarning, match="tie decided a seat"):
        result = allocate(WIKI_DIVISOR, seats=8, method="modified-sainte-lague")
    assert result.seats == {"A": 4, "B": 3, "C": 1, "D": 0}
    assert len(result.ties) == 1 and "A, D" in result.ties[0]
    # registered order D before A: the tie goes to D
    with pytest.warns(SaylauWarning):
        flipped = allocate(
            WIKI_DIVISOR, seats=8, method="modified-sainte-lague", tie_order=["D", "C", "B", "A"]
        )
    assert flipped.seats == {"A": 3, "B": 3, "C": 1, "D": 1}


# Wikipedia, "Largest remainder method", worked example: 100,000 votes, 10 seats.
WIKI_LR = {"A": 47_000, "B": 16_000, "C": 15_800, "D": 12_000, "E": 6_100, "F": 3_100}


def test_hare_wikipedia_example() -> None:
    # quota 10,000: 4.70 1.60 1.58 1.20 0.61 0.31 -> 7 full seats, remainders to A, E, B
    result = allocate(WIKI_LR, seats=10, method="hare")
    assert result.seats == {"A": 5, "B": 2, "C": 1, "D": 1, "E": 1, "F": 0}
    assert result.quota == 10_000


def test_droop_wikipedia_example() -> None:
    # quota floor(100000/11)+1 = 9,091: 5.17 1.76 1.74 1.32 0.67 0.34 -> 8 full, B and C
    result = allocate(WIKI_LR, seats=10, method="droop")
    assert result.seats == {"A": 5, "B": 2, "C": 2, "D": 1, "E": 0, "F": 0}
    assert result.quota == 9_091


def test_threshold_exactly_at_the_bar() -> None:
    votes = {"A": 650, "B": 300, "C": 50}  # C has exactly 5% of 1000
    assert "C" in allocate(votes, seats=20, threshold="5%").passed
    assert "C" not in allocate(votes, seats=20, threshold=0.05, inclusive_threshold=False).passed
    # one vote less is below the bar whatever the rule
    assert "C" not in allocate({**votes, "C": 49}, seats=20, threshold=Fraction(1, 20)).passed


def test_threshold_bases() -> None:
    # P has 52/1050 = 4.95% of all valid votes, 52/1000 = 5.2% of party votes, 52/1100 with cast
    votes = {"A": 600, "B": 348, "P": 52, "against_all": 50}
    valid = allocate(votes, seats=10, threshold="5%")
    excl = allocate(votes, seats=10, threshold="5%", threshold_base="valid_excl_against_all")
    assert "P" not in valid.passed and "P" in excl.passed
    assert valid.base_votes == 1050 and excl.base_votes == 1000
    cast = allocate(votes, seats=10, threshold="4.7%", threshold_base="cast", cast=1100)
    assert cast.base_votes == 1100 and "P" in cast.passed  # 52/1100 = 4.73%
    assert valid.seats["against_all"] == 0 and excl.seats["against_all"] == 0


def test_against_all_never_wins_even_when_first() -> None:
    votes = {"Против всех": 900, "A": 60, "B": 40}
    for method in METHODS:
        result = allocate(votes, seats=5, method=method)
        assert result.seats["Против всех"] == 0
        assert sum(result.seats.values()) == 5


def test_against_all_given_explicitly_and_detected() -> None:
    votes = {"A": 500, "None of them": 400, "B": 100}
    auto = allocate(votes, seats=10)
    assert auto.against_all is None and auto.seats["None of them"] == 4
    explicit = allocate(votes, seats=10, against_all="None of them")
    assert explicit.seats == {"A": 8, "None of them": 0, "B": 2}  # 500:100 of 10, Hare exact
    with pytest.raises(UnknownNameError):
        allocate(votes, seats=10, against_all="nobody")
    with pytest.warns(SaylauWarning, match="looks like Against all"):
        odd = allocate({**votes, "against_all": 120}, seats=10, against_all="None of them")
    # Hare 10 seats over 720: A 6.94, B 1.39, "against_all" 1.67 -> 7, 1, 2
    assert odd.seats["against_all"] == 2
    with pytest.raises(SaylauInputError, match="several choices mean Against all"):
        allocate({"A": 1, "against_all": 2, "Против всех": 3}, seats=2)


def test_remainder_tie_reported_and_broken_by_registration_order() -> None:
    votes = {"A": 150, "B": 150}  # 3 seats: 1.5 quota each, one remainder seat for two equal
    with pytest.warns(SaylauWarning, match="tie decided a seat"):
        first = allocate(votes, seats=3)
    assert first.seats == {"A": 2, "B": 1}
    assert "registration order in favour of A" in first.ties[0]
    with pytest.warns(SaylauWarning):
        second = allocate(votes, seats=3, tie_order=["B", "A"])
    assert second.seats == {"A": 1, "B": 2}


def test_tie_break_more_votes_and_lot() -> None:
    votes = {"A": 30, "B": 50}  # D'Hondt 3 seats: B 50, A 30, B 25, A 15/B 16.7 -> no tie
    assert allocate(votes, seats=3, method="dhondt").seats == {"A": 1, "B": 2}
    tie = {"A": 20, "B": 40}  # D'Hondt 2 seats: 40, then A 20 = B 20 -> a quotient tie
    with pytest.warns(SaylauWarning):
        by_rank = allocate(tie, seats=2, method="dhondt")
    with pytest.warns(SaylauWarning):
        by_votes = allocate(tie, seats=2, method="dhondt", tie_break="more_votes")
    with pytest.warns(SaylauWarning, match="lot"):
        by_lot = allocate(tie, seats=2, method="dhondt", tie_break="lot")
    assert by_rank.seats == {"A": 1, "B": 1}
    assert by_votes.seats == {"A": 0, "B": 2}
    assert by_lot.seats == by_rank.seats and by_lot.ties


def test_min_parties_admits_the_runner_up() -> None:
    # IPU PARLINE: if only one party passes 7%, the runner-up is admitted too (Kazakhstan 2009+)
    votes = {"Big": 880, "Second": 45, "Third": 40, "Fourth": 35}
    alone = allocate(votes, seats=98, threshold="7%")
    assert alone.seats["Big"] == 98 and alone.passed == ["Big"]
    two = allocate(votes, seats=98, threshold="7%", min_parties=2)
    assert two.passed == ["Big", "Second"] and two.admitted == ["Second"]
    # Hare among 925 votes: 880*98/925 = 93.23, 45*98/925 = 4.77 -> 93 + 5
    assert two.seats == {"Big": 93, "Second": 5, "Third": 0, "Fourth": 0}


def test_no_party_passes_is_a_clear_error() -> None:
    with pytest.raises(SaylauInputError, match="no party passed the threshold"):
        allocate({"A": 30, "B": 30, "C": 40}, seats=10, threshold="50%")
    with pytest.raises(SaylauInputError):
        allocate({"A": 0, "B": 0}, seats=10)
    with pytest.raises(EmptyInputError):
        allocate({"against_all": 10}, seats=10)
    with pytest.raises(EmptyInputError):
        allocate({}, seats=10)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"votes": {"A": -1, "B": 3}}, DataFormatError),
        ({"votes": {"A": 1.5, "B": 3}}, DataFormatError),
        ({"votes": {"A": True, "B": 3}}, DataFormatError),
        ({"votes": {"A": "12", "B": 3}}, DataFormatError),
        ({"votes": {"": 1, "B": 3}}, DataFormatError),
        ({"seats": 0}, SaylauInputError),
        ({"seats": 2.5}, SaylauInputError),
        ({"method": "borda"}, UnknownNameError),
        ({"threshold": "7"}, SaylauInputError),
        ({"threshold": "seven"}, SaylauInputError),
        ({"threshold": float("nan")}, SaylauInputError),
        ({"threshold_base": "registered"}, UnknownNameError),
        ({"threshold_base": "cast"}, SaylauInputError),
        ({"threshold_base": "cast", "cast": 3}, SaylauInputError),
        ({"tie_order": ["Z"]}, UnknownNameError),
        ({"tie_order": ["A", "A"]}, SaylauInputError),
        ({"tie_break": "coin"}, UnknownNameError),
    ],
)
def test_bad_input_raises(kwargs: dict[str, Any], error: type[Exception]) -> None:
    args = {"votes": {"A": 10, "B": 3}, "seats": 5, **kwargs}
    with pytest.raises(error):
        allocate(args.pop("votes"), **args)


def test_integral_floats_and_numpy_counts_accepted() -> None:
    import numpy as np

    result = allocate({"A": 60.0, "B": np.int64(40)}, seats=5)  # type: ignore[dict-item]
    assert result.seats == {"A": 3, "B": 2} and result.votes == {"A": 60, "B": 40}


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("D'Hondt", "dhondt"),
        ("d’hondt", "dhondt"),
        ("Jefferson", "dhondt"),
        ("largest-remainder-hare", "hare"),
        ("largest_remainder", "hare"),
        ("Hamilton", "hare"),
        ("LR Droop", "droop"),
        ("Sainte-Laguë", "sainte-lague"),
        ("webster", "sainte-lague"),
        ("modified Sainte-Lague", "modified-sainte-lague"),
    ],
)
def test_method_aliases(alias: str, name: str) -> None:
    assert normalize_method(alias) == name


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5%", Fraction(1, 20)),
        (" 7 % ", Fraction(7, 100)),
        ("0.05", Fraction(1, 20)),
        ("5,5%", Fraction(11, 200)),
        (0.07, Fraction(7, 100)),
        (Fraction(1, 3), Fraction(1, 3)),
        ("1/3", Fraction(1, 3)),
        (0, Fraction(0)),
        (None, None),
    ],
)
def test_parse_threshold(text: object, value: Fraction | None) -> None:
    assert parse_threshold(text) == value  # type: ignore[arg-type]


def test_result_is_frozen_jsonable_and_pickles() -> None:
    result = allocate(WIKI_LR, seats=10, threshold="5%")
    assert isinstance(result, SeatAllocation)
    with pytest.raises(AttributeError):
        result.method = "dhondt"  # type: ignore[misc]
    data = json.loads(json.dumps(result.to_dict()))
    # F (3.1%) is out: quota (100000 - 3100) / 10
    assert data["seats"]["A"] == 5 and data["quota"] == pytest.approx(9_690)
    assert pickle.loads(pickle.dumps(result)) == result
    assert "SeatAllocation" in result.summary()


def test_inputs_are_not_mutated() -> None:
    votes = {"B": 10, "A": 20}
    order = ["A", "B"]
    allocate(votes, seats=3, tie_order=order)
    assert votes == {"B": 10, "A": 20} and list(votes) == ["B", "A"] and order == ["A", "B"]


def test_allocate_by_rules_checks() -> None:
    with pytest.raises(SaylauInputError, match="proportional"):
        allocate_by_rules({"A": 1, "B": 2}, "kz-president")
    with pytest.raises(UnknownNameError):
        allocate_by_rules({"A": 1, "B": 2}, "kz-mazhilis-1999")
    # a RuleSet object works as well as its name
    votes = ELECTIONS[2]["votes"]
    assert (
        allocate_by_rules(votes, get_rules("kz-mazhilis-2012")).seats
        == (ELECTIONS[2]["official_seats"])
    )
    with pytest.warns(SaylauWarning, match="no Against-all line"):
        allocate_by_rules({**votes, "against_all": 5}, "kz-mazhilis-2012")


def test_droop_with_too_few_votes_warns_and_still_fills_the_house() -> None:
    with pytest.warns(SaylauWarning, match="more seats than parties"):
        result = allocate({"A": 5, "B": 3}, seats=10, method="droop")
    assert sum(result.seats.values()) == 10


def test_no_warning_in_ordinary_cases() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in METHODS:
            allocate(WIKI_LR, seats=10, method=method, threshold="5%")
