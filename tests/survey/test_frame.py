"""Sampling frames: building, reading with row-precise errors, fingerprints."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from saylau._exceptions import DataFormatError, EmptyInputError, UnknownNameError
from saylau.domain.table import ProtocolTable
from saylau.survey.frame import SamplingFrame, frame_from_table, open_frame, read_frame

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def write(tmp_path: Path, text: str, name: str = "frame.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_read_frame_good_file(tmp_path):
    p = write(
        tmp_path,
        "station;region;urban;registered;past:A\n001;Алматы;u;1500;700\n002;Алматы;r;900;300\n",
    )
    fr = read_frame(p)
    assert fr.stations == 2
    assert fr.strata_columns() == ("region", "urban")
    assert fr.past_columns() == ("past:A",)
    assert fr.registered().tolist() == [1500, 900]
    assert fr.station_ids().tolist() == ["001", "002"]  # ids stay text: leading zeros kept
    assert fr.stratum_labels(["region", "urban"]).tolist() == ["Алматы | u", "Алматы | r"]


@pytest.mark.parametrize(
    ("text", "row", "field", "message"),
    [
        ("station,registered\n1,100\n2,-5\n", 3, "registered", "not a whole number"),
        ("station,registered\n1,100\n2,\n", 3, "registered", "not a whole number"),
        ("station,registered\n1,100\n2,1.5\n", 3, "registered", "not a whole number"),
        ("station,registered\n1,100\n2,5\n1,7\n", 4, "station", "more than once"),
        ("station,registered\n1,100\n ,5\n", 3, "station", "empty station id"),
        ("station,region\n1,N\n", 1, "registered", "lacks a required column"),
        ("station,registered,past:A\n1,100,x\n", 2, "past:A", "not a whole number"),
    ],
)
def test_read_frame_errors_name_row_and_field(tmp_path, text, row, field, message):
    with pytest.raises(DataFormatError, match=message) as exc:
        read_frame(write(tmp_path, text))
    assert exc.value.row == row
    assert exc.value.field == field
    assert exc.value.file is not None and exc.value.file.endswith("frame.csv")


def test_read_frame_empty_file(tmp_path):
    with pytest.raises(EmptyInputError):
        read_frame(write(tmp_path, "station,registered\n"))


def test_from_frame_checks():
    with pytest.raises(DataFormatError, match="more than once"):
        SamplingFrame.from_frame(pl.DataFrame({"station": ["a", "a"], "registered": [1, 2]}))
    with pytest.raises(DataFormatError, match="whole numbers"):
        SamplingFrame.from_frame(pl.DataFrame({"station": ["a"], "registered": [1.5]}))
    fr = SamplingFrame.from_frame(pl.DataFrame({"station": ["a"], "registered": [1]}))
    with pytest.raises(UnknownNameError):
        fr.column("region")
    assert fr.stratum_labels([]).tolist() == ["all"]


def test_fingerprint_ignores_row_order():
    df = pl.DataFrame({"station": ["a", "b", "c"], "registered": [1, 2, 3], "r": ["x", "y", "x"]})
    a = SamplingFrame.from_frame(df)
    b = SamplingFrame.from_frame(df.reverse())
    c = SamplingFrame.from_frame(df.with_columns(pl.Series("registered", [1, 2, 4])))
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_frame_from_table_and_open_frame(tmp_path):
    t = ProtocolTable.from_frame(
        pl.DataFrame(
            {
                "station": ["1", "2"],
                "region": ["N", "S"],
                "voters_on_list": [100, 200],
                "invalid": [1, 2],
                "valid": [50, 90],
                "X": [30, 40],
                "Против всех": [20, 50],
            }
        ),
        profile="plain",
        choices=["X", "Против всех"],
        levels=["region"],
    )
    fr = frame_from_table(t)
    assert fr.frame.get_column("past:cast").to_list() == [51, 92]
    assert fr.frame.get_column("past:Против всех").to_list() == [20, 50]
    with pytest.raises(UnknownNameError):
        frame_from_table(t, strata=["nope"])
    # a results file in saylau's normalised layout opens as a frame too
    p = write(
        tmp_path,
        "station,region,voters_on_list,issued,invalid,valid,X,Против всех\n"
        "1,N,100,60,1,50,30,20\n2,S,200,100,2,90,40,50\n",
        name="results.csv",
    )
    fr2 = open_frame(p)
    assert fr2.registered().tolist() == [100, 200]
    assert fr2.strata_columns() == ("region",)
    p2 = write(tmp_path, "station,registered,region\n1,100,N\n", name="f.csv")
    assert open_frame(p2).stations == 1


@pytest.mark.realdata
def test_frame_from_the_2004_results_file():
    path = DATA / "russia" / "2004.csv.zip"
    if not path.exists():
        pytest.skip(f"{path} not available")
    fr = open_frame(path)
    # README of ../shared/data: 95,779 stations, 108,064,342 voters on the lists
    assert fr.stations == 95_779
    assert int(fr.registered().sum()) == 108_064_342
    assert fr.strata_columns()[:1] == ("region",)
