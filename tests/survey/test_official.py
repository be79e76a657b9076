"""Official results: one reader (national, per stratum, per station, precinct file), one concept
used by both survey commands; expected values are the files' own figures written here."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from saylau._exceptions import DataFormatError
from saylau.cli import app
from saylau.io.votes import read_votes_csv
from saylau.survey.official import OfficialResults, read_official

runner = CliRunner()


def test_national_table_with_shares_and_the_seat_reader_rules(tmp_path: Path):
    p = tmp_path / "o.csv"
    p.write_text("party;share\nAmanat;53,9%\nПротив всех;3,9\n", encoding="utf-8")
    off = read_official(p)
    assert off.totals == {"Amanat": 53.9, "Против всех": 3.9} and off.level is None
    # the same reader as seat allocation: duplicate names and two Against-all lines refused
    p.write_text("choice,votes\nA,10\n a ,3\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="row 3, field choice: duplicate choice"):
        read_official(p)
    with pytest.raises(DataFormatError, match="row 3, field choice: duplicate choice"):
        read_votes_csv(p)
    p.write_text("choice,votes\nПротив всех,1\nAgainst all,2\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="two Against-all rows"):
        read_official(p)


def test_per_stratum_and_per_station_tables(tmp_path: Path):
    p = tmp_path / "strata.csv"
    p.write_text("stratum,choice,votes\nN,A,30\nN,B,10\nS,A,5\nS,B,15\n", encoding="utf-8")
    off = read_official(p)
    assert off.level == "stratum" and off.totals == {"A": 35.0, "B": 25.0}
    assert off.stratum_totals(["region"]) == {
        "N": {"A": 30.0, "B": 10.0},
        "S": {"A": 5.0, "B": 15.0},
    }
    p2 = tmp_path / "stations.csv"
    p2.write_text("station,choice,votes\n7,A,3\n7,B,1\n", encoding="utf-8")
    both = off.combine(read_official(p2))
    assert both.totals == off.totals and both.station_figures() == {"7": {"A": 3.0, "B": 1.0}}
    p2.write_text("station,choice,votes\n7,A,3\n,B,1\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="row 3, field station: empty station"):
        read_official(p2)


def test_precinct_file_keeps_empty_cells_missing(tmp_path: Path):
    p = tmp_path / "results.csv"
    p.write_text(
        "station,region,voters_on_list,invalid,valid,A,B\n1,N,100,0,60,40,20\n"
        "2,N,100,0,30,,30\n3,S,90,0,60,10,50\n",
        encoding="utf-8",
    )
    off = read_official(p)
    assert off.level == "station"
    assert off.totals == {"A": 50.0, "B": 100.0}  # the empty cell adds nothing
    assert off.station_figures(["2"]) == {"2": {"A": None, "B": 30.0}}
    assert off.stratum_totals(["region"])["N"] == {"A": 40.0, "B": 50.0}
    pairs = off.station_pairs({"2": {"A": 5, "B": 30}})
    assert pairs == {"2": ({"A": 5.0, "B": 30.0}, {"A": None, "B": 30.0})}


def test_from_totals_refuses_nothing():
    with pytest.raises(DataFormatError, match="empty"):
        OfficialResults.from_totals({})


def test_quickcount_takes_a_choice_votes_file_too(tmp_path: Path):
    """Both commands read --official with the same reader: the quick count with a national
    choice,votes file gives the national comparison (no per-station part)."""
    rows = [
        {"station": str(i), "region": "NS"[i % 2], "voters_on_list": 1000, "issued": 600,
         "invalid": 0, "valid": 600, "A": 300 + 7 * (i % 5), "B": 300 - 7 * (i % 5)}
        for i in range(40)
    ]  # fmt: skip
    pop = pl.DataFrame(rows)
    results = tmp_path / "results.csv"
    pop.write_csv(results)
    reports = tmp_path / "reports.csv"
    pop.head(20).write_csv(reports)
    official = tmp_path / "official.csv"
    official.write_text(f"choice,votes\nA,{pop['A'].sum()}\nB,{pop['B'].sum()}\n", encoding="utf-8")
    r = runner.invoke(
        app,
        ["quickcount", str(reports), "--frame", str(results), "--strata", "region",
         "--official", str(official), "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    comp = json.loads(r.stdout)["comparison"]
    assert comp["stations_compared"] == 0 and comp["finding"]["alarm"] is False
    assert comp["finding"]["calibration"].endswith("survey_false_alarms.json")
