"""Profiles: the relations the issue names, with their line numbers per layout."""

from __future__ import annotations

import pytest

from saylau import UnknownNameError, get_profile
from saylau.domain.profiles import CHOICES, PROFILES


def _rel(profile: str, name: str):  # type: ignore[no-untyped-def]
    return next(r for r in get_profile(profile).relations if r.name == name)


def test_russian_2018_layout_has_12_lines_and_the_named_relations() -> None:
    p = get_profile("ru-federal-2018")
    assert len(p.lines) == 12
    assert p.numbers["lost"] == 11 and p.numbers["not_recorded"] == 12
    assert _rel("ru-federal-2018", "ballots_received_balance").formula(p.numbers) == (
        "2 = 3 + 4 + 5 + 6 + 11 − 12"
    )
    assert _rel("ru-federal-2018", "boxes_equal_found").formula(p.numbers) == "7 + 8 = 9 + 10"
    strict = {r.name for r in p.relations if r.strict}
    soft = {r.name for r in p.relations if not r.strict}
    assert strict == {"ballots_received_balance", "boxes_equal_found", "valid_equal_votes"}
    assert soft == {
        "list_covers_issued",
        "issued_covers_found",
        "outside_covers_mobile",
        "station_covers_stationary",
    }


def test_line_numbers_shift_between_layouts() -> None:
    # 2011-2012 layout: lost and not recorded are lines 17 and 18 (after the absentee lines)
    p = get_profile("ru-federal-2011")
    assert len(p.lines) == 18
    assert p.numbers["lost"] == 17 and p.numbers["not_recorded"] == 18
    assert _rel("ru-federal-2011", "ballots_received_balance").formula(p.numbers) == (
        "2 = 3 + 4 + 5 + 6 + 17 − 18"
    )


def test_kazakhstan_profile_is_marked_inferred() -> None:
    p = get_profile("kz")
    assert p.inferred and p.against_all_on_ballot
    boxes = _rel("kz", "boxes_equal_invalid_plus_votes")
    assert boxes.strict and (1, CHOICES) in boxes.right
    assert all("inferred" in r.source for r in p.relations)
    assert not _rel("kz", "list_covers_issued").strict


def test_every_relation_cites_a_source() -> None:
    for p in PROFILES.values():
        for r in p.relations:
            assert r.source, (p.name, r.name)


def test_unknown_profile_lists_known_ones() -> None:
    with pytest.raises(UnknownNameError, match="ru-federal-2018") as exc:
        get_profile("ru-1996")
    assert exc.value.found == "ru-1996"
