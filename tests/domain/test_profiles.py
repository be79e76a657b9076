"""Profiles: the relations the issue names, with their line numbers per layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from saylau import DataFormatError, UnknownNameError, get_profile
from saylau.domain.profiles import (
    CHOICES,
    PROFILE_DIR,
    PROFILES,
    ControlRelation,
    ProtocolProfile,
    load_profile,
)


def _rel_of(p: ProtocolProfile, name: str) -> ControlRelation:
    return next(r for r in p.relations if r.name == name)


def _rel(profile: str, name: str) -> ControlRelation:
    return _rel_of(get_profile(profile), name)


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


def test_kazakhstan_profile_follows_the_law_and_marks_what_is_inferred() -> None:
    # Source of every expected value here: ../shared/kz-protocol.md (art. 43 of the
    # Constitutional Law "On elections", wording of Law No. 268 of 19.06.2007).
    p = get_profile("kz")
    assert p.inferred and p.against_all_on_ballot
    assert "2021" in p.against_all_note and "248,291" in p.against_all_note
    # the eight figures in the law's order; position 5 is the votes per choice
    numbered = [(line.number, line.key) for line in p.lines if line.number is not None]
    assert numbered == [
        (1, "voters_on_list"),
        (2, "issued"),
        (3, "issued_by_member"),
        (4, "in_boxes"),
        (6, "invalid"),
        (7, "ballots_received"),
        (8, "cancelled"),
    ]
    assert p.line("issued_by_member").optional
    assert p.line("issued_by_member").label_in("kk") == (
        "Комиссияның әрбір мүшесі берген бюллетеньдер саны"
    )
    assert p.line("cancelled").label_in("ru") == "Число погашенных бюллетеней"
    assert p.line("voters_on_list").label_in("kk") == "Учаскедегі сайлаушылардың жалпы саны"
    assert set(p.required_keys) == {
        "voters_on_list",
        "issued",
        "in_boxes",
        "invalid",
        "ballots_received",
        "cancelled",
    }
    # stated in the law: the mobile-box rule (p. 3-1); everything else inferred
    assert _rel("kz", "mobile_box_within_requests").basis == "stated"
    assert "3-1" in _rel("kz", "mobile_box_within_requests").source
    for name in (
        "ballots_received_balance",
        "boxes_equal_invalid_plus_votes",
        "list_covers_issued",
        "issued_covers_boxes",
    ):
        assert _rel("kz", name).basis == "inferred" and "inferred" in _rel("kz", name).source
    boxes = _rel("kz", "boxes_equal_invalid_plus_votes")
    assert boxes.strict and (1, CHOICES) in boxes.right
    assert not _rel("kz", "list_covers_issued").strict


def test_profiles_are_versioned_files_with_a_legal_source() -> None:
    for p in PROFILES.values():
        assert p.version and p.source and p.path is not None
        assert p.path.endswith(f"{p.name}.toml")


def test_a_corrected_profile_loads_from_a_path_without_code(tmp_path: Path) -> None:
    # A network after a change of law (e.g. the 2026 constitution): a new line, a relation
    # now stated in the new text, a new version. Nothing in saylau's code changes.
    text = (PROFILE_DIR / "kz.toml").read_text(encoding="utf-8")
    text = text.replace('version = "2007.2"', 'version = "2026.1"')
    text += (
        '\n[[lines]]\nkey = "valid"\nnumber = 9\nru = "Число действительных бюллетеней"\n'
        '\n[[relations]]\nname = "valid_equal_votes"\nleft = ["valid"]\nright = ["@choices"]\n'
        'op = "=="\nstrict = true\nbasis = "stated"\nsource = "new law, art. X"\n'
    )
    path = tmp_path / "kz-2026.toml"
    path.write_text(text, encoding="utf-8")
    p = load_profile(path)
    assert (p.name, p.version, p.path) == ("kz", "2026.1", str(path))
    assert p.numbers["valid"] == 9 and _rel_of(p, "valid_equal_votes").basis == "stated"
    # the same file through get_profile (what --profile PATH.toml does)
    assert get_profile(str(path)).version == "2026.1"


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (('op = ">="', 'op = "=>"'), "op"),
        (('basis = "inferred"', 'basis = "guessed"'), "basis"),
        (('right = ["issued"]', 'right = ["issued_total"]'), "right"),
        (('key = "cancelled"', 'key = "issued"'), "lines"),
    ],
)
def test_a_wrong_profile_file_names_the_field(
    tmp_path: Path, edit: tuple[str, str], field: str
) -> None:
    text = (PROFILE_DIR / "kz.toml").read_text(encoding="utf-8").replace(*edit, 1)
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"bad\.toml") as exc:
        load_profile(path)
    assert exc.value.field is not None and field in exc.value.field


def test_missing_or_broken_profile_file(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="profile file not found"):
        load_profile(tmp_path / "none.toml")
    (tmp_path / "x.toml").write_text("name = [", encoding="utf-8")
    with pytest.raises(DataFormatError, match="not valid TOML"):
        load_profile(tmp_path / "x.toml")


def test_2020_vote_profile() -> None:
    # Source: the CEC summary table of the 2020 vote (4 lines, then ДА / НЕТ), as loaded by
    # dkobak/elections significance2020/referendum2020.ipynb
    p = get_profile("ru-vote-2020")
    assert p.line_keys == ("voters_on_list", "issued", "in_boxes", "invalid")
    assert "участников голосования" in p.line("voters_on_list").label_in("ru")
    assert _rel("ru-vote-2020", "boxes_equal_invalid_plus_votes").formula(p.numbers) == (
        "3 = 4 + Σ votes"
    )


def test_every_relation_cites_a_source() -> None:
    for p in PROFILES.values():
        for r in p.relations:
            assert r.source, (p.name, r.name)


def test_unknown_profile_lists_known_ones() -> None:
    with pytest.raises(UnknownNameError, match="ru-federal-2018") as exc:
        get_profile("ru-1996")
    assert exc.value.found == "ru-1996"
