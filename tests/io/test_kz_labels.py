"""Kazakhstan files headed with the law's own wording, in Kazakh or in Russian.

Labels: art. 43 of the Constitutional Law "On elections" as gathered in ../shared/kz-protocol.md
(Russian and Kazakh texts of the public mirror quyse/kz-laws). Party names: the 2023 Mazhilis
ballot (../shared/data/README.md). The figures are made up to satisfy the inferred relations
(received = issued + cancelled; in boxes = invalid + Σ votes, Against all included).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from saylau.domain.checks import validate
from saylau.io import read_protocols

KK = [
    "Облыс",
    "Учаске №",
    "Учаскедегі сайлаушылардың жалпы саны",
    "Бюллетеньдер алған сайлаушылар саны",
    "Дауыс беруге қатысқан сайлаушылардың жалпы саны",
    "Жарамсыз деп танылған бюллетеньдер саны",
    "Учаскелік сайлау комиссиясы алған бюллетеньдер саны",
    "Жойылған бюллетеньдер саны",
    "AMANAT",
    "Ақ жол",
    "Барлығына қарсы",
]
RU = [
    "Область",
    "№ участка",
    "1. Общее число избирателей на участке",
    "2. Число избирателей, получивших бюллетени",
    "4. Общее число избирателей, принявших участие в голосовании",
    "6. Число бюллетеней, признанных недействительными",
    "7. Число бюллетеней, полученных участковой избирательной комиссией",
    "8. Число погашенных бюллетеней",
    "AMANAT",
    "Ақ жол",
    "Против всех",
]
ROWS = [
    ["Ақмола", "101", "1000", "700", "690", "10", "900", "200", "500", "100", "80"],
    ["Қостанай", "202", "600", "650", "640", "0", "700", "50", "500", "90", "50"],
]
KEYS = ["voters_on_list", "issued", "in_boxes", "invalid", "ballots_received", "cancelled"]


@pytest.mark.parametrize("header", [KK, RU], ids=["kazakh", "russian"])
def test_kz_file_reads_by_the_laws_labels(tmp_path: Path, header: list[str]) -> None:
    path = tmp_path / "kz.csv"
    path.write_text("\n".join(";".join(r) for r in (header, *ROWS)) + "\n", encoding="utf-8")
    t = read_protocols(path)
    assert t.profile.name == "kz"
    assert t.levels == ("region",)
    assert t.frame.get_column("station").to_list() == ["101", "202"]
    assert [c.name for c in t.choices] == header[8:]
    assert t.against_all is not None and t.against_all.name == header[10]
    for key, col in zip(KEYS, range(2, 8), strict=True):
        assert t.line(key).tolist() == [int(ROWS[0][col]), int(ROWS[1][col])]
    assert any("6 of 6 lines found" in n for n in t.notes)
    r = validate(t)
    # station 202: received 700 != issued 650 + cancelled 50 is fine (= 700); in boxes 640 =
    # 0 + 640 votes; issued 650 > 600 on the list: the one soft failure
    assert r.failed == 0 and r.soft_failed == 1
    assert [v.relation for v in r.violations] == ["list_covers_issued"]


def test_a_protocol_like_kazakh_column_that_matches_no_line_is_a_note(tmp_path: Path) -> None:
    header = [*KK[:8], "Сайлаушылардың тізімге қосымша енгізілген саны", *KK[8:]]
    rows = [[*r[:8], "3", *r[8:]] for r in ROWS]
    path = tmp_path / "kz.csv"
    path.write_text("\n".join(",".join(r) for r in (header, *rows)) + "\n", encoding="utf-8")
    t = read_protocols(path)
    assert [c.name for c in t.choices] == KK[8:]
    assert any("тізімге" in n and "not taken as a choice" in n for n in t.notes)


def test_a_corrected_profile_file_reads_its_own_new_wording(tmp_path: Path) -> None:
    # After a change of law the form may word a line differently: the network edits the
    # profile file only, and files headed with the new wording read through --profile PATH.
    from saylau.domain.profiles import PROFILE_DIR

    new = "Число бюллетеней, выданных избирателям"  # a hypothetical new wording of line 2
    text = (PROFILE_DIR / "kz.toml").read_text(encoding="utf-8")
    text = text.replace('ru = "Число избирателей, получивших бюллетени"', f'ru = "{new}"')
    toml = tmp_path / "kz-2026.toml"
    toml.write_text(text.replace('version = "2007.2"', 'version = "2026.1"'), encoding="utf-8")
    header = [*RU[:3], new, *RU[4:]]
    path = tmp_path / "kz.csv"
    path.write_text("\n".join(";".join(r) for r in (header, *ROWS)) + "\n", encoding="utf-8")
    t = read_protocols(path, profile=str(toml))
    assert t.profile.version == "2026.1"
    assert t.line("issued").tolist() == [700, 650]
    assert [c.name for c in t.choices] == RU[8:]


def test_per_member_issued_counts_are_an_optional_line(tmp_path: Path) -> None:
    # art. 43 p. 4-1: the ballots issued by each commission member; one column per member
    text = (
        "station,voters_on_list,ballots_received,issued,issued_by_member_1,issued_by_member_2,"
        "cancelled,in_boxes,invalid,AMANAT,Барлығына қарсы\n"
        "1,1000,900,700,400,300,200,690,10,600,80\n"
        "2,800,700,500,,,200,490,0,450,40\n"
    )
    path = tmp_path / "kz.csv"
    path.write_text(text, encoding="utf-8")
    t = read_protocols(path)
    assert t.profile.name == "kz"
    assert t.frame.get_column("issued_by_member").to_list() == [700, None]
    assert [c.name for c in t.choices] == ["AMANAT", "Барлығына қарсы"]
    assert validate(t).failed == 0
