"""Readers: every format, every kind of bad input named by file, row and field."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import polars as pl
import pytest

from saylau import DataFormatError, EmptyInputError, EncodingError, UnknownNameError
from saylau.domain.checks import validate
from saylau.io import read_protocols, sample_path
from saylau.tabulate.aggregate import tabulate

HEADER = "station,region,voters_on_list,issued,invalid,valid,Amanat,Ақ жол,Барлығына қарсы\n"
ROWS = [
    "1,Алматы,100,60,2,58,40,10,8\n",
    "2,Алматы,120,70,0,70,50,15,5\n",
    "3,Шымкент,90,50,1,49,30,9,10\n",
]


def write(tmp_path: Path, text: str, name: str = "p.csv", encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_normalised_csv_with_kazakh_names(tmp_path: Path) -> None:
    t = read_protocols(write(tmp_path, HEADER + "".join(ROWS)))
    assert t.stations == 3 and t.levels == ("region",)
    assert [c.name for c in t.choices] == ["Amanat", "Ақ жол", "Барлығына қарсы"]
    assert t.against_all is not None and t.against_all.name == "Барлығына қарсы"
    assert t.totals() == {"Amanat": 120, "Ақ жол": 34, "Барлығына қарсы": 23}
    assert t.profile.name == "plain" and t.rejected == ()


@pytest.mark.parametrize("kind", ["zip", "gz", "parquet", "xlsx", "semicolon", "bom"])
def test_same_table_from_every_container(tmp_path: Path, kind: str) -> None:
    text = HEADER + "".join(ROWS)
    if kind == "zip":
        p = tmp_path / "p.csv.zip"
        with zipfile.ZipFile(p, "w") as zf:
            zf.writestr("inner.csv", text.encode())
    elif kind == "gz":
        p = tmp_path / "p.csv.gz"
        p.write_bytes(gzip.compress(text.encode()))
    elif kind == "parquet":
        p = tmp_path / "p.parquet"
        pl.read_csv(io.StringIO(text)).write_parquet(p)
    elif kind == "xlsx":
        p = tmp_path / "p.xlsx"
        pl.read_csv(io.StringIO(text)).write_excel(p)
    elif kind == "semicolon":
        p = write(tmp_path, text.replace(",", ";"))
    else:
        p = write(tmp_path, "\ufeff" + text)
    t = read_protocols(p)
    assert t.stations == 3
    assert t.totals()["Ақ жол"] == 34
    assert t.registered().tolist() == [100, 120, 90]


def test_cp1251_is_detected_and_said(tmp_path: Path) -> None:
    t = read_protocols(
        write(
            tmp_path,
            HEADER.replace("Ақ жол", "Ак жол").replace("Барлығына қарсы", "Против всех")
            + "".join(ROWS),
            encoding="cp1251",
        )
    )
    assert t.against_all is not None and t.against_all.name == "Против всех"
    assert any("cp1251" in n for n in t.notes)


def test_undecodable_file_names_the_byte(tmp_path: Path) -> None:
    p = tmp_path / "bin.csv"
    p.write_bytes(b"station,valid,A\n1,\xff\xfe\x00\x81\x8d,3\n" + bytes(range(128, 256)) * 4)
    # byte 18 is the first that is not UTF-8 (the \xff after "station,valid,A\n1,")
    with pytest.raises(EncodingError, match=r"bin\.csv, field byte 18"):
        read_protocols(p)


@pytest.mark.parametrize(
    ("cell", "message"),
    [("-4", "negative count"), ("12.5", "not a whole number"), ("abc", "not a whole number")],
)
def test_bad_count_keeps_row_out_and_names_it(tmp_path: Path, cell: str, message: str) -> None:
    rows = [*ROWS]
    rows[1] = f"2,Алматы,120,70,0,70,{cell},15,5\n"
    t = read_protocols(write(tmp_path, HEADER + "".join(rows)))
    assert t.stations == 2  # the rest of the file is processed
    (bad,) = t.rejected
    assert (bad.row, bad.station, bad.field, bad.message, bad.found) == (
        3,
        "2",
        "Amanat",
        message,
        cell,
    )
    assert "p.csv, row 3, station 2, field Amanat" in str(bad)


def test_spreadsheet_whole_numbers_are_accepted(tmp_path: Path) -> None:
    rows = [*ROWS]
    rows[0] = "1,Алматы,100.0,60,2,58,40,10,8\n"
    t = read_protocols(write(tmp_path, HEADER + "".join(rows)))
    assert t.stations == 3 and t.registered()[0] == 100


def test_duplicate_station_ids(tmp_path: Path) -> None:
    same = ROWS[0]
    different = "1,Алматы,100,60,2,58,41,9,8\n"
    t = read_protocols(write(tmp_path, HEADER + "".join(ROWS) + same))
    assert t.stations == 3 and len(t.rejected) == 1
    assert "identical copy" in t.rejected[0].message and t.rejected[0].row == 5
    t = read_protocols(write(tmp_path, HEADER + "".join(ROWS) + different))
    assert t.stations == 2
    assert {p.row for p in t.rejected} == {2, 5}
    assert all("different figures" in p.message for p in t.rejected)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(EmptyInputError, match=r"p\.csv"):
        read_protocols(write(tmp_path, ""))
    with pytest.raises(EmptyInputError, match="no data rows"):
        read_protocols(write(tmp_path, HEADER))


def test_missing_choice_columns(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no choice columns") as exc:
        read_protocols(write(tmp_path, "station,voters_on_list,issued,invalid,valid\n1,5,4,0,4\n"))
    assert exc.value.row == 1


def test_unknown_header_and_profile(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="header not recognised"):
        read_protocols(write(tmp_path, "a,b\n1,2\n"))
    with pytest.raises(UnknownNameError, match="unknown protocol profile"):
        read_protocols(write(tmp_path, HEADER + ROWS[0]), profile="nope")


def test_missing_file() -> None:
    with pytest.raises(DataFormatError, match="file not found"):
        read_protocols("/nonexistent/x.csv")


def test_totals_that_do_not_add_up_are_flagged_not_dropped(tmp_path: Path) -> None:
    rows = [*ROWS]
    rows[2] = "3,Шымкент,90,50,1,49,30,9,11\n"  # votes sum to 50, valid says 49
    t = read_protocols(write(tmp_path, HEADER + "".join(rows)))
    r = validate(t)
    assert t.stations == 3 and r.failed == 1
    assert r.violations[0].station == "3" and r.violations[0].difference == -1


def test_bundled_sample_is_real_and_has_against_all() -> None:
    t = read_protocols(sample_path())
    assert t.profile.name == "ru-federal-2004"
    assert t.against_all is not None
    assert t.stations == 7848
    assert validate(t).failed == 0


def test_kazakhstan_profile_is_detected_and_checked(tmp_path: Path) -> None:
    text = (
        "station,region,voters_on_list,ballots_received,issued,cancelled,in_boxes,invalid,"
        "Amanat,Auyl,Барлығына қарсы\n"
        "1,Ақмола,1000,900,700,200,690,10,500,100,80\n"  # 690 = 10 + 680: ok
        "2,Ақмола,1000,900,700,200,720,10,500,100,80\n"  # more in boxes than issued: both fail
        "3,Қостанай,600,700,650,40,640,0,500,90,50\n"  # received 700 != 650 + 40
    )
    t = read_protocols(write(tmp_path, text))
    assert t.profile.name == "kz"
    r = validate(t)
    assert r.status_frame().get_column("status").to_list() == ["ok", "failed", "failed"]
    names = {(v.station, v.relation) for v in r.violations}
    assert ("2", "boxes_equal_invalid_plus_votes") in names
    assert ("2", "issued_covers_boxes") in names
    assert ("3", "ballots_received_balance") in names
    assert ("3", "list_covers_issued") in names
    tab = tabulate(t, level="region", rules="kz-mazhilis-2023-district")
    assert tab.national["valid"] == 680 + 680 + 640  # no valid line: Σ votes per station
    assert tab.outcome is not None and tab.outcome.winner == "Amanat"
