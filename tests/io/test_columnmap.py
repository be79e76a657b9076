"""Column-mapping files: any file read by what its columns mean, mistakes named by key and column.

Expected figures come from the files themselves by hand arithmetic (the illustrative English
example), from the bundled Russian 2004 sample (the CEC's protocols, for the research file cut
from it), from ../shared/data/README.md (station counts, the Moscow observers' 97 copies and
12 transcriptions failing a strict relation) and from EFToolkit's published Albania table
(tests/results/albania_eftoolkit.json).
"""

from __future__ import annotations

import dataclasses
import json
from importlib import resources
from pathlib import Path

import pytest

from saylau import ColumnMapping, DataFormatError, EncodingError, validate
from saylau._exceptions import ColumnMappingError
from saylau.io import mapping_for_file, read_options, read_protocols, sample_path
from saylau.io.columnmap import MAPPINGS
from tests.conftest import RESULTS, shared_file

DATA = Path(str(resources.files("saylau") / "data"))
EXAMPLES = DATA / "examples"
MAPPING_DIR = DATA / "mappings"


def write(tmp_path: Path, text: str, name: str = "p.csv", encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


# ---------------------------------------------------------------- the README's two examples
def test_english_headers_example() -> None:
    t = read_protocols(EXAMPLES / "english-headers.csv", columns=EXAMPLES / "english-headers.toml")
    assert t.stations == 6 and t.levels == ("region", "district")
    assert t.frame.get_column("station").to_list()[:2] == ["N / 1", "N / 2"]
    # column sums of english-headers.csv, by hand: Party A 400+250+150+500+230+120, Party B
    # 200+180+200+300+150+60, Against all 60+40+30+80+50+15; Other parties = valid - the three
    # per row: 55+30+30+55+40+10
    assert t.totals() == {
        "Party A": 1650,
        "Party B": 1090,
        "Against all": 275,
        "Other parties": 220,
    }
    assert t.against_all is not None and t.against_all.name == "Against all"
    # issued = early + on the day: 30+700, 10+500, 0+420, 50+900, 20+460, 0+210
    assert t.issued().tolist() == [730, 510, 420, 950, 480, 210]
    assert t.registered().sum() == 5350  # 1200+900+650+1500+800+300
    assert t.profile.name == "plain" and t.rejected == ()
    assert "columns not read: Total votes, Station name" in t.notes
    report = validate(t)
    assert (report.ok, report.failed) == (6, 0)


def test_research_example_matches_the_protocols_it_was_cut_from() -> None:
    t = read_protocols(
        EXAMPLES / "research-novgorod-2004.csv",
        columns=EXAMPLES / "research-novgorod-2004.toml",
    )
    source = read_protocols(sample_path())
    novgorod = source.filter(source.frame.get_column("region") == "Новгородская область")
    putin = "Путин Владимир Владимирович"
    assert t.stations == novgorod.stations == 569
    assert t.totals()[putin] == int(novgorod.votes(putin).sum())
    others = int(novgorod.valid().sum() - novgorod.votes(putin).sum())
    assert t.totals()["others"] == others
    assert int(t.registered().sum()) == int(novgorod.registered().sum())
    # no station column: numbered by row; no issued line: turnout from ballots found
    assert t.frame.get_column("station").to_list()[:2] == ["2", "3"]
    assert any("numbered by their row" in n for n in t.notes)
    assert any("turnout counts the ballots found" in n for n in t.notes)
    assert t.issued().tolist() == t.cast().tolist()


# ---------------------------------------------------------------- written out, read back
def test_written_mapping_reads_the_same_table(tmp_path: Path) -> None:
    path = sample_path()  # a Russian CEC file of 2004, recognised by its header
    m = mapping_for_file(path)
    toml = tmp_path / "map.toml"
    toml.write_text(m.to_toml(comment="written by the test"), encoding="utf-8")
    back = ColumnMapping.read(toml)
    assert dataclasses.replace(back, source=None) == m
    alone, mapped = read_protocols(path), read_protocols(path, columns=toml)
    assert mapped.frame.equals(alone.frame)
    assert mapped.choices == alone.choices and mapped.profile == alone.profile
    assert mapped.levels == alone.levels and mapped.rejected == alone.rejected


def test_no_mapping_is_written_for_a_header_saylau_does_not_know() -> None:
    with pytest.raises(DataFormatError, match="header not recognised"):
        mapping_for_file(EXAMPLES / "english-headers.csv")


def test_normalised_file_round_trip_with_kazakh_names(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "station,region,voters_on_list,issued,invalid,valid,Amanat,Ақ жол,Барлығына қарсы\n"
        "1,Алматы,100,60,2,58,40,10,8\n2,Шымкент,90,50,1,49,30,9,10\n",
    )
    m = mapping_for_file(p)
    again = ColumnMapping.from_toml(m.to_toml())
    t = read_protocols(p, columns=again)
    assert t.frame.equals(read_protocols(p).frame)
    assert t.against_all is not None and t.against_all.name == "Барлығына қарсы"


@pytest.mark.realdata
@pytest.mark.parametrize("year", [2011, 2021])
def test_russian_files_round_trip(year: int) -> None:
    path = shared_file("russia", f"{year}.csv.zip")
    m = ColumnMapping.from_toml(mapping_for_file(path).to_toml(), file="written.toml")
    mapped, alone = read_protocols(path, columns=m), read_protocols(path)
    assert mapped.frame.equals(alone.frame) and mapped.profile == alone.profile
    # ../shared/data/README.md: 95,225 stations in 2011, 96,325 in 2021
    assert mapped.stations == {2011: 95_225, 2021: 96_325}[year]


@pytest.mark.realdata
def test_polish_export_round_trip(tmp_path: Path) -> None:
    path = shared_file("poland-2020", "round1.csv.zip")
    m = mapping_for_file(path)
    assert m.lines["invalid"] == ("Liczba kart nieważnych", "Liczba głosów nieważnych")
    mapped = read_protocols(path, columns=ColumnMapping.from_toml(m.to_toml()))
    alone = read_protocols(path)
    assert (
        mapped.frame.equals(alone.frame) and mapped.stations == 27_225
    )  # shared README: 27,229 rows, 4 without figures


# ---------------------------------------------------------------- positions, rows, cells
def test_headerless_file_by_position_with_skipped_title(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "Results of the count, 2026\n"
        "7;North;1000;600;10;590;400;190\n"
        "8;South;500;300;0;300;100;200\n",
    )
    by_int = ColumnMapping.from_toml(
        """
        header = false
        skip_rows = 1
        station = 1
        [levels]
        region = 2
        [lines]
        voters_on_list = 3
        issued = 4
        invalid = 5
        valid = 6
        [choices.columns]
        "Ақ жол" = 7
        "Барлығына қарсы" = 8
        """
    )
    t = read_protocols(p, columns=by_int)
    assert t.frame.get_column("station").to_list() == ["7", "8"]
    assert t.totals() == {"Ақ жол": 500, "Барлығына қарсы": 390}
    assert t.against_all is not None
    by_name = dataclasses.replace(by_int, station=("1",), lines={**by_int.lines, "valid": ("6",)})
    assert read_protocols(p, columns=by_name).frame.equals(t.frame)
    # a bad cell still names its spreadsheet row (title = row 1, first record = row 2)
    bad = write(tmp_path, p.read_text() + "9;East;x;1;0;1;1;0\n", name="bad.csv")
    rejected = read_protocols(bad, columns=by_int).rejected
    assert [(r.row, r.field, r.found) for r in rejected] == [(4, "3", "x")]


def test_missing_value_marker_and_without_it(tmp_path: Path) -> None:
    text = "id,reg,valid,A,B\n1,100,50,NA,50\n2,100,40,30,10\n"
    m = ColumnMapping.from_toml(
        'station = "id"\n[lines]\nvoters_on_list = "reg"\nvalid = "valid"\n'
    )
    p = write(tmp_path, text)
    kept_out = read_protocols(p, columns=m)
    assert [(r.row, r.field, r.found) for r in kept_out.rejected] == [(2, "A", "NA")]
    with_na = read_protocols(p, columns=dataclasses.replace(m, missing=("NA",)))
    assert with_na.stations == 2 and with_na.rejected == ()
    assert with_na.frame.get_column("A").to_list() == [None, 30]


def test_negative_others_row_is_kept_out_and_listed(tmp_path: Path) -> None:
    p = write(tmp_path, "reg,ballots,leader\n100,60,50\n100,40,45\n")
    m = ColumnMapping.from_toml(
        '[lines]\nvoters_on_list = "reg"\nvalid = "ballots"\n'
        '[choices]\ncolumns = ["leader"]\nothers = "rest"\n'
    )
    t = read_protocols(p, columns=m)
    assert t.totals() == {"leader": 50, "rest": 10}
    (bad,) = t.rejected
    assert (bad.row, bad.station, bad.field, bad.found) == (3, "3", "rest", "-5")


def test_encoding_option_and_mapping_encoding(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "УИК;Избиратели;Действительные;Единство;Против всех\n1;100;60;40;20\n",
        encoding="cp1251",
    )
    toml = tmp_path / "m.toml"
    toml.write_text(
        'station = "УИК"\nencoding = "cp1251"\n[lines]\nvoters_on_list = "Избиратели"\n'
        'valid = "Действительные"\n',
        encoding="utf-8",
    )
    t = read_protocols(p, columns=toml)
    assert t.against_all is not None and t.totals()["Против всех"] == 20
    # an explicit encoding wins over the mapping's: UTF-8 cannot decode these bytes
    with pytest.raises(EncodingError) as exc:
        read_protocols(p, columns=toml, encoding="utf-8")
    assert "p.csv" in str(exc.value)


def test_excel_sheet_and_skip_rows(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    first = wb.active
    assert first is not None
    first.title = "Cover"
    first.append(["nothing here"])
    ws = wb.create_sheet("Results")
    ws.append(["Official results, district 4"])
    ws.append(["Station", "Registered", "Valid", "Party A", "Party B"])
    ws.append(["1", 100, 60, 40, 20])
    ws.append(["2", 200, 150, 50, 100])
    path = tmp_path / "r.xlsx"
    wb.save(path)
    m = ColumnMapping.from_toml(
        'station = "Station"\nsheet = "Results"\nskip_rows = 1\n'
        '[lines]\nvoters_on_list = "Registered"\nvalid = "Valid"\n'
    )
    t = read_protocols(path, columns=m)
    assert t.totals() == {"Party A": 90, "Party B": 120}
    assert t.frame.get_column("station").to_list() == ["1", "2"]
    with pytest.raises(DataFormatError, match="no such sheet"):
        read_protocols(path, columns=m, sheet="Nope")


def test_read_options_merge_explicit_over_mapping() -> None:
    m = ColumnMapping("x", {}, {"voters_on_list": ("r",)}, None, (), sheet="S", skip_rows=3)
    o = read_options(m, skip_rows=0, sheet=None, encoding="cp1251")
    assert (o.skip_rows, o.sheet, o.encoding, o.mapping) == (0, "S", "cp1251", m)
    assert read_options(None, skip_rows=None) == read_options()
    with pytest.raises(ColumnMappingError, match="--skip-rows"):
        read_options(None, skip_rows=-1)


# ---------------------------------------------------------------- mistakes: key and column
HEADER = "id,Registered,Issued,Invalid,Valid,Party A,Party B,Total\n1,100,60,2,58,40,18,60\n"
BASE = """station = "id"
[lines]
voters_on_list = "Registered"
issued = "Issued"
invalid = "Invalid"
valid = "Valid"
[choices]
ignore = ["Total"]
"""

MISTAKES = [
    # (what, TOML, key named, column named, words of the message)
    (
        "missing column",
        BASE.replace('valid = "Valid"', 'valid = "Valid votes"'),
        "lines.valid",
        "Valid votes",
        "not in the file",
    ),
    (
        "column twice",
        BASE.replace('issued = "Issued"', 'issued = "Valid"'),
        "lines.valid",
        "Valid",
        "mapped twice",
    ),
    (
        "station as a line",
        BASE.replace('station = "id"', 'station = "Issued"'),
        "lines.issued",
        "Issued",
        "mapped twice",
    ),
    (
        "choice also ignored",
        BASE + 'columns = ["Party A", "Total"]\n',
        "choices.columns",
        "Total",
        "mapped twice",
    ),
    (
        "line required by the profile",
        'profile = "plain"\n' + BASE.replace('invalid = "Invalid"\n', ""),
        "lines.invalid",
        None,
        "required by profile plain",
    ),
    (
        "registered unmapped",
        BASE.replace('voters_on_list = "Registered"\n', ""),
        "lines.voters_on_list",
        None,
        "required",
    ),
    (
        "others without valid",
        BASE.replace('valid = "Valid"\n', "") + 'others = "Rest"\n',
        "lines.valid",
        None,
        "required",
    ),
    (
        "position past the end",
        BASE.replace('station = "id"', "station = 9"),
        "station",
        9,
        "outside the file",
    ),
    ("position zero", BASE.replace('station = "id"', "station = 0"), "station", 0, "start at 1"),
    (
        "unknown line key",
        BASE.replace("issued =", "ballots_issued ="),
        "lines.ballots_issued",
        None,
        "unknown protocol line key",
    ),
    ("unknown top key", "stations = 1\n" + BASE, "stations", None, "unknown key"),
    ("unknown choices key", BASE + 'other = "x"\n', "choices.other", None, "unknown key"),
    (
        "unknown profile",
        'profile = "ru-1996"\n' + BASE,
        "profile",
        "ru-1996",
        "unknown protocol profile",
    ),
    (
        "others named as a column",
        BASE + 'columns = ["Party A"]\nothers = "Party A"\n',
        "choices.others",
        "Party A",
        "name of a choice column",
    ),
    ("no choices left", BASE + "columns = []\n", "choices.columns", None, "empty list"),
    (
        "a float for a column",
        BASE.replace('station = "id"', "station = 1.5"),
        "station",
        1.5,
        "header name or a position",
    ),
    (
        "level named like a line",
        BASE.replace("[lines]", '[levels]\nvalid = "Party B"\n[lines]'),
        "levels.valid",
        "Party B",
        "cannot be named like a protocol line",
    ),
    (
        "choice named like the station",
        BASE + '[choices.columns]\nstation = "Party A"\n',
        "choices.columns",
        "station",
        "cannot be named like a protocol line",
    ),
    ("header not a boolean", 'header = "no"\n' + BASE, "header", "no", "must be a bool"),
]


@pytest.mark.parametrize(
    ("toml", "key", "column", "words"),
    [m[1:] for m in MISTAKES],
    ids=[m[0] for m in MISTAKES],
)
def test_mapping_mistakes_name_key_and_column(
    tmp_path: Path, toml: str, key: str, column: object, words: str
) -> None:
    data = write(tmp_path, HEADER)
    mapfile = tmp_path / "map.toml"
    mapfile.write_text(toml, encoding="utf-8")
    with pytest.raises(ColumnMappingError) as exc:
        read_protocols(data, columns=mapfile)
    err = exc.value
    assert (err.key, err.column) == (key, column)
    text = str(err)
    assert "\n" not in text and words in text
    assert text.startswith(f"{mapfile}, field {key}: ")
    if column is not None:
        assert repr(column) in text
    assert isinstance(err, ValueError)  # a user-input error, one line in the CLI


def test_not_toml_and_not_found(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("station = [\n", encoding="utf-8")
    with pytest.raises(ColumnMappingError, match="not valid TOML") as exc:
        ColumnMapping.read(bad)
    assert exc.value.file == str(bad)
    with pytest.raises(ColumnMappingError, match="mapping file not found"):
        ColumnMapping.read(tmp_path / "none.toml")


def test_recognised_header_problems_point_at_row_one(tmp_path: Path) -> None:
    p = write(tmp_path, "station,voters_on_list,issued,invalid,valid\n1,5,4,0,4\n")
    with pytest.raises(ColumnMappingError, match="no choice columns") as exc:
        read_protocols(p)
    assert exc.value.row == 1 and exc.value.file == str(p)


def test_profile_detected_from_the_mapped_lines(tmp_path: Path) -> None:
    lines = {"voters_on_list": ("a",), "issued_early": ("b",), "in_boxes": ("c",)}
    m = ColumnMapping("x", {}, lines, None, ())
    cols = ["a", "b", "c", "A"]
    # no shipped profile has both issued_early and in_boxes: plain
    assert m.resolve(cols).profile == "plain"
    ru = dataclasses.replace(m, lines={"voters_on_list": ("a",), "issued_early": ("b",)})
    assert ru.resolve(cols).profile == "ru-federal-2018"  # the 12-line layout, the smallest
    # "in boxes" alone is also the 2020 vote's line; with ballots cancelled it is Kazakhstan's
    vote = dataclasses.replace(m, lines={"voters_on_list": ("a",), "in_boxes": ("c",)})
    assert vote.resolve(cols).profile == "ru-vote-2020"
    kz = dataclasses.replace(
        m, lines={"voters_on_list": ("a",), "in_boxes": ("c",), "cancelled": ("b",)}
    )
    assert kz.resolve(cols).profile == "kz"


def test_shipped_mappings_are_valid_files() -> None:
    for name in MAPPINGS:
        m = ColumnMapping.read(name)
        assert m.source == str(MAPPING_DIR / f"{name}.toml")
        assert ColumnMapping.from_toml(m.to_toml()) == m


# ---------------------------------------------------------------- real files as they stand
@pytest.mark.realdata
def test_albania_2013_through_its_mapping_reproduces_eftoolkit() -> None:
    from saylau.forensics.digits import digit_tests

    path = shared_file("albania-2013", "Albania2013.csv.gz")
    t = read_protocols(path, columns="albania-2013")
    assert t.stations == 5508 and t.rejected == ()  # ../shared/data/README.md
    assert t.levels == ("region", "commune") and len(t.choices) == 66
    expected = json.loads((RESULTS / "albania_eftoolkit.json").read_text(encoding="utf-8"))
    res = digit_tests(t, by="region", choices=["C035"], resamples=200, rng=2013)
    for unit, values in expected["turnout"].items():
        row = res.row(unit, "turnout")
        for name, value in values.items():
            assert round(row.statistics[name].estimate, 3) == pytest.approx(value, abs=1e-9)


@pytest.mark.realdata
def test_moscow_observer_copies_through_a_positional_mapping() -> None:
    gn = read_protocols(
        shared_file("moscow-2011-observers", "result_412_GN.csv"),
        columns=MAPPING_DIR / "moscow-2011-observers.toml",
    )
    official = read_protocols(
        shared_file("moscow-2011-observers", "result_412_OF.csv"), columns="moscow-2011-observers"
    )
    # ../shared/data/README.md: 97 copies, 3,374 official; all 97 match an official station
    assert gn.stations == 97 and official.stations == 3374
    assert gn.profile.name == "ru-federal-2011" and gn.rejected == ()
    joined = gn.frame.join(official.frame, on="station", how="inner")
    assert joined.height == 97
    assert validate(official).failed == 0  # COLUMNS.md: the relations hold for all official rows
    # README: 12 transcriptions fail a strict relation, counting the three relations COLUMNS.md
    # names (7+8=9+10, 10=sum of the parties, 2=3+4+5+6+17-18) with empty cells as 0
    named = {"boxes_equal_found", "valid_equal_votes", "ballots_received_balance"}
    filled = dataclasses.replace(gn, frame=gn.frame.fill_null(0))
    failing = {v.station for v in validate(filled).violations if v.relation in named}
    assert len(failing) == 12
    assert [c.name for c in gn.choices][-2] == "ЕДИНАЯ РОССИЯ"  # ballot order of 2011
