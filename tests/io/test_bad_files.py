"""Bad and odd files, each through every command that reads it (issue 7, item 4): validate,
tabulate, forensics, sample (the file as its frame) and quickcount (as reports and frame).

Every case is a small file written here, with what a careful reader must do with it:

* ``read``: the file is read; every good row is processed (the station count in each
  command's ``--json`` equals the number of good rows written), and each kept-out row is
  named on one line of the terminal output (file, row, field) and in ``kept_out``;
* ``refused``: the file as a whole cannot be read; every command exits 2 with exactly one
  line on stderr naming the file (and the row and field where there is one).

No command may end in a Python traceback. The expected rows and fields are those the case
writes, counted by hand in each case (spreadsheet numbering: the header is row 1).
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from saylau import EmptyInputError
from saylau.cli import app

HEADER = ["station", "region", "voters_on_list", "issued", "invalid", "valid", "A", "B", "AA"]
AA = "Против всех"  # Against all


def good_rows(n: int = 8, start: int = 1) -> list[list[str]]:
    """Consistent protocols (valid = A + B + Against all; issued >= cast)."""
    rows = []
    for i in range(start, start + n):
        reg, invalid, a, b, aa = 900 + 37 * i, i % 3, 200 + 11 * i, 150 + 7 * i, 20 + i
        valid = a + b + aa
        issued = valid + invalid + 5
        rows.append([f"S{i}", "North" if i % 2 else "South", reg, issued, invalid, valid, a, b, aa])
    return [[str(c) for c in r] for r in rows]


def header(*, aa: str = AA) -> list[str]:
    return [*HEADER[:-1], aa]


def csv_text(rows: list[list[str]], *, sep: str = ",", head: list[str] | None = None) -> str:
    lines = [sep.join(head or header()), *(sep.join(r) for r in rows)]
    return "\n".join(lines) + "\n"


def with_cell(rows: list[list[str]], index: int, column: str, value: str) -> list[list[str]]:
    """A copy of ``rows`` with one cell changed (``index`` into ``rows``)."""
    out = [list(r) for r in rows]
    out[index][HEADER.index(column) if column != "AA" else len(HEADER) - 1] = value
    return out


Writer = Callable[[Path], Path]


def text_file(name: str, text: str, encoding: str = "utf-8") -> Writer:
    def write(d: Path) -> Path:
        p = d / name
        p.write_bytes(text.encode(encoding))
        return p

    return write


def bytes_file(name: str, data: bytes) -> Writer:
    def write(d: Path) -> Path:
        p = d / name
        p.write_bytes(data)
        return p

    return write


@dataclasses.dataclass(frozen=True)
class Case:
    """One file and what every command must do with it."""

    id: str
    write: Writer
    good: int = 0  # rows that must be processed as stations (read cases)
    kept: tuple[tuple[int, str], ...] = ()  # (row, field) of each kept-out row
    no_data: int = 0  # stations without any figure
    refused: str | None = None  # substring of the one error line (refused cases)
    where: tuple[str, ...] = ()  # further parts the error line must name ("row 1", "field x")


G = good_rows()


def _excel(name: str, rows: list[list[Any]] | None, head: list[str] | None) -> Writer:
    def write(d: Path) -> Path:
        import openpyxl

        p = d / name
        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        if head is not None:
            ws.append(head)
        for r in rows or []:
            ws.append(r)
        wb.save(p)
        return p

    return write


def _parquet(d: Path) -> Path:
    p = d / "good.parquet"
    frame = pl.DataFrame([dict(zip(header(), r, strict=True)) for r in G])
    frame.with_columns(pl.col(c).cast(pl.Int64) for c in header()[2:]).write_parquet(p)
    return p


def _gzip(d: Path) -> Path:
    p = d / "bad-row.csv.gz"
    p.write_bytes(gzip.compress(csv_text(with_cell(G, 2, "valid", "?")).encode()))
    return p


def _zip_two(d: Path) -> Path:
    p = d / "two.csv.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("a.csv", csv_text(G))
        zf.writestr("b.csv", csv_text(G))
    return p


def _zip_one_bad(d: Path) -> Path:
    p = d / "one.csv.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("results.csv", csv_text(with_cell(G, 0, "A", "-3")))
    return p


def _directory(d: Path) -> Path:
    p = d / "folder.csv"
    p.mkdir()
    return p


def _drop_column(rows: list[list[str]], column: str) -> tuple[list[str], list[list[str]]]:
    i = header().index(column)
    return [c for j, c in enumerate(header()) if j != i], [
        [c for j, c in enumerate(r) if j != i] for r in rows
    ]


NO_ISSUED_HEAD, NO_ISSUED_ROWS = _drop_column(G, "issued")
NO_LEVEL_HEAD, NO_LEVEL_ROWS = _drop_column(G, "region")
NO_VALID_HEAD, NO_VALID_ROWS = _drop_column(G, "valid")
RAGGED_LONG = [*G[:3], [*G[3], "99"], *G[4:]]
RAGGED_SHORT = [*G[:5], G[5][:4], *G[6:]]
KZ = [["Алматы-1", "Алматы", *G[0][2:]], ["Қарағанды-2", "Қарағанды", *G[1][2:]]]
KZ_BAD = [*KZ, ["Өскемен-3", "Шығыс Қазақстан", *with_cell(G, 2, "issued", "көп")[2][2:]]]
MANY_BAD = with_cell(with_cell(with_cell(G, 1, "issued", "-1"), 3, "B", "x"), 6, "AA", "1e30")

CASES: list[Case] = [
    # --- controls: good files in every container and dialect ------------------------------
    Case("good", text_file("good.csv", csv_text(G)), good=8),
    Case("bom", text_file("bom.csv", "\ufeff" + csv_text(G)), good=8),
    Case("cp1251", text_file("cp1251.csv", csv_text(G), "cp1251"), good=8),
    Case("semicolon", text_file("semi.csv", csv_text(G, sep=";")), good=8),
    Case("tab", text_file("tab.tsv.csv", csv_text(G, sep="\t")), good=8),
    Case("crlf", text_file("crlf.csv", csv_text(G).replace("\n", "\r\n")), good=8),
    Case(
        "quoted-comma",
        text_file(
            "quoted.csv",
            csv_text([['"Almaty, city"' if c == "North" else c for c in r] for r in G]),
        ),
        good=8,
    ),
    Case("parquet", _parquet, good=8),
    Case("utf16-with-bom", text_file("utf16.csv", csv_text(G), "utf-16"), good=8),
    Case("kazakh-names", text_file("kz.csv", csv_text(KZ)), good=2),
    Case(
        "spreadsheet-decimals",
        text_file("dec.csv", csv_text(with_cell(G, 0, "A", "211.0"))),
        good=8,
    ),
    Case(
        "spaces-in-numbers",
        text_file("sp.csv", csv_text(with_cell(G, 0, "voters_on_list", " 9 37 "))),
        good=8,
    ),
    Case(
        "scientific-whole",
        text_file("sci.csv", csv_text(with_cell(G, 0, "voters_on_list", "9.37e2"))),
        good=8,
    ),
    Case(
        "no-issued-line",
        text_file("noissued.csv", csv_text(NO_ISSUED_ROWS, head=NO_ISSUED_HEAD)),
        good=8,
    ),
    Case("no-level", text_file("nolevel.csv", csv_text(NO_LEVEL_ROWS, head=NO_LEVEL_HEAD)), good=8),
    # --- rows kept out: each named, the rest read --------------------------------------------
    Case(
        "negative",
        text_file("neg.csv", csv_text(with_cell(G, 2, "issued", "-5"))),
        good=7,
        kept=((4, "issued"),),
    ),
    Case(
        "negative-votes",
        text_file("negv.csv", csv_text(with_cell(G, 0, "B", "-1"))),
        good=7,
        kept=((2, "B"),),
    ),
    Case(
        "text-in-count",
        text_file("txt.csv", csv_text(with_cell(G, 4, "valid", "abc"))),
        good=7,
        kept=((6, "valid"),),
    ),
    Case(
        "fraction",
        text_file("frac.csv", csv_text(with_cell(G, 1, "invalid", "2.5"))),
        good=7,
        kept=((3, "invalid"),),
    ),
    Case(
        "huge-digits",
        text_file("huge.csv", csv_text(with_cell(G, 3, "voters_on_list", "99999999999999999999"))),
        good=7,
        kept=((5, "voters_on_list"),),
    ),
    Case(
        "huge-exponent",
        text_file("e30.csv", csv_text(with_cell(G, 5, "A", "1e30"))),
        good=7,
        kept=((7, "A"),),
    ),
    Case(
        "absurd-count",
        text_file("absurd.csv", csv_text(with_cell(G, 6, "issued", "12000000000"))),
        good=7,
        kept=((8, "issued"),),
    ),
    Case(
        "ragged-long",
        text_file("long.csv", csv_text(RAGGED_LONG)),
        good=7,
        kept=((5, "column 10"),),
    ),
    Case(
        "ragged-short",
        text_file("short.csv", csv_text(RAGGED_SHORT)),
        good=7,
        kept=((7, "invalid"),),
    ),
    Case(
        "ragged-semicolon",
        text_file("shorts.csv", csv_text(RAGGED_SHORT, sep=";")),
        good=7,
        kept=((7, "invalid"),),
    ),
    Case(
        "ragged-cp1251",
        text_file("short1251.csv", csv_text(RAGGED_SHORT), "cp1251"),
        good=7,
        kept=((7, "invalid"),),
    ),
    Case(
        "trailing-separators",
        text_file("trailsep.csv", csv_text([[*r, ""] for r in G], head=[*header(), ""])),
        good=8,
    ),
    Case(
        "trailing-separators-semicolon",
        text_file(
            "trailsep2.csv", csv_text([[*r, "", ""] for r in G], sep=";", head=[*header(), "", ""])
        ),
        good=8,
    ),
    Case("trailing-blank-lines", text_file("trail.csv", csv_text(G) + "\n\n\n"), good=8),
    Case(
        "blank-line-inside",
        text_file(
            "inside.csv",
            csv_text(G[:4])
            + "\n"
            + "\n".join(",".join(r) for r in with_cell(G, 6, "A", "x")[4:])
            + "\n",
        ),
        good=7,
        kept=((9, "A"),),
    ),
    Case(
        "separator-only-rows", text_file("seps.csv", csv_text(G) + ",,,,,,,,\n,,,,,,,,\n"), good=8
    ),
    Case(
        "station-without-data",
        text_file("nodata.csv", csv_text([*G, ["S99", "North", *[""] * 7]])),
        good=8,
        no_data=1,
    ),
    Case(
        "dashes-without-data",
        text_file("dash.csv", csv_text([*G, ["S98", "South", *["-"] * 7]])),
        good=8,
        no_data=1,
    ),
    Case(
        "duplicate-identical",
        text_file("dupi.csv", csv_text([*G, G[2]])),
        good=8,
        kept=((10, "station"),),
    ),
    Case(
        "duplicate-conflicting",
        text_file("dupc.csv", csv_text([*G, with_cell(G, 2, "A", "1")[2]])),
        good=7,
        kept=((4, "station"), (10, "station")),
    ),
    Case(
        "empty-station-id",
        text_file("noid.csv", csv_text([*G, ["", "North", *G[0][2:]]])),
        good=8,
        kept=((10, "station"),),
    ),
    Case("kazakh-bad-row", text_file("kzbad.csv", csv_text(KZ_BAD)), good=2, kept=((4, "issued"),)),
    Case(
        "many-bad-rows",
        text_file("many.csv", csv_text(MANY_BAD)),
        good=5,
        kept=((3, "issued"), (5, "B"), (8, AA)),
    ),
    Case("gzip-bad-row", _gzip, good=7, kept=((4, "valid"),)),
    Case("zip-bad-row", _zip_one_bad, good=7, kept=((2, "A"),)),
    Case(
        "excel-bad-row",
        _excel(
            "bad.xlsx",
            [
                *[[r[0], r[1], *map(int, r[2:])] for r in G[:3]],
                [],
                [G[3][0], G[3][1], "x", *map(int, G[3][3:])],
            ],
            header(),
        ),
        good=3,
        kept=((6, "voters_on_list"),),
    ),
    # --- files refused as a whole: one line, exit 2 ----------------------------------------
    Case("empty-file", text_file("empty.csv", ""), refused="empty"),
    Case(
        "figures-under-no-name",
        text_file(
            "noname.csv",
            csv_text([[*r, "" if i else "7"] for i, r in enumerate(G)], head=[*header(), ""]),
        ),
        refused="column without a name holds figures",
        where=("row 2", "field column 10"),
    ),
    Case("whitespace-only", text_file("white.csv", " \n\n \n"), refused="empty"),
    Case("header-only", text_file("head.csv", csv_text([])), refused="no data rows"),
    Case(
        "only-blank-rows",
        text_file("blanks.csv", csv_text([]) + ",,,,,,,,\n\n"),
        refused="no data rows",
    ),
    Case(
        "two-against-all",
        text_file("twoaa.csv", csv_text([[*r, r[-1]] for r in G], head=[*header(), "against_all"])),
        refused="both mean Against all",
        where=("row 1", "field against_all"),
    ),
    Case(
        "same-column-twice",
        text_file("twice.csv", csv_text([[*r, r[-2]] for r in G], head=[*header(), "B"])),
        refused="column name appears twice",
        where=("row 1", "field B"),
    ),
    Case(
        "no-valid-line",
        # a file without a valid-votes line is read (research files often lack it): the
        # relations that need it are reported as not checkable, never passed
        text_file("novalid.csv", csv_text(NO_VALID_ROWS, head=NO_VALID_HEAD)),
        good=len(G),
    ),
    Case(
        "no-choices",
        text_file("nochoice.csv", csv_text([r[:6] for r in G], head=header()[:6])),
        refused="no choice columns",
        where=("row 1",),
    ),
    Case(
        "unknown-header",
        text_file("unknown.csv", csv_text(G, head=["id", *header()[1:]])),
        refused="header not recognised",
        where=("row 1",),
    ),
    Case("binary-garbage", bytes_file("garbage.csv", bytes(range(256)) * 8), refused="encoding"),
    Case("excel-empty-sheet", _excel("empty.xlsx", None, None), refused="no columns"),
    Case("excel-header-only", _excel("head.xlsx", None, header()), refused="no data rows"),
    Case("zip-two-members", _zip_two, refused="exactly one data file"),
    Case(
        "corrupt-zip",
        bytes_file("broken.csv.zip", b"PK\x03\x04 not a zip"),
        refused="not a readable zip",
    ),
    Case(
        "corrupt-gzip",
        bytes_file("broken.csv.gz", b"\x1f\x8b not gzip"),
        refused="not a readable gzip",
    ),
    Case("directory", _directory, refused="is a directory"),
    Case("missing", lambda d: d / "missing.csv", refused="file not found"),
    # --- mappings with mistakes (--columns MAP.toml): to be added here when the `colmap`
    # --- branch lands; each case then passes its mapping in `args` to every command.
]

COMMANDS = ("validate", "tabulate", "forensics", "sample", "quickcount")


def _run(command: str, path: Path, tmp: Path) -> Result:
    args = {
        "validate": ["validate", str(path), "--json"],
        "tabulate": ["tabulate", str(path), "--json"],
        "forensics": ["forensics", str(path), "--json", "--resamples", "5"],
        "sample": [
            "sample",
            str(path),
            "--stations",
            "2",
            "--seed",
            "1",
            "--out",
            str(tmp / f"draw-{command}"),
            "--json",
        ],
        # the file as the observers' reports and as its own frame (every station reported)
        "quickcount": ["quickcount", str(path), "--frame", str(path), "--json"],
    }[command]
    return CliRunner().invoke(app, args)


def _stations(command: str, out: dict[str, Any]) -> int:
    if command == "validate":
        return int(out["stations"])
    if command == "tabulate":
        return int(out["national"]["stations"])
    if command == "forensics":
        return int(out["totals"]["stations"])
    if command == "quickcount":
        return int(out["stations_reported"])
    return int(out["frame_stations"])


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_file_through_every_command(case: Case, tmp_path: Path) -> None:
    path = case.write(tmp_path)
    for command in COMMANDS:
        res = _run(command, path, tmp_path)
        both = res.stdout + res.stderr
        assert "Traceback" not in both, (command, both)
        assert res.exception is None or isinstance(res.exception, SystemExit), (
            command,
            repr(res.exception),
        )
        if case.refused is not None:
            lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
            assert res.exit_code == 2, (command, res.exit_code, both)
            assert len(lines) == 1, (command, lines)
            assert lines[0].startswith("error:") and path.name in lines[0], (command, lines)
            assert case.refused in lines[0], (command, lines)
            for part in case.where:
                assert part in lines[0], (command, part, lines)
            assert res.stdout == "", (command, res.stdout)
            continue
        kept_any = bool(case.kept)
        expected_code = 1 if (command == "validate" and kept_any) else 0
        assert res.exit_code == expected_code, (command, res.exit_code, both)
        out = json.loads(res.stdout)
        # every good row is processed; rows without figures are counted apart
        assert _stations(command, out) == case.good, command
        assert out["kept_out_count"] == len(case.kept), (command, out["kept_out"])
        assert out["stations_without_data"] == case.no_data, command
        found = sorted((k["row"], k["field"]) for k in out["kept_out"])
        assert found == sorted(case.kept), command
        # each kept-out row named on one terminal line: file, row, field
        lines = res.stderr.splitlines()
        for row, field in case.kept:
            hits = [ln for ln in lines if f"row {row}," in ln and f"field {field}:" in ln]
            assert len(hits) == 1 and path.name in hits[0], (command, row, field, lines)
        if kept_any:
            assert any(f"{len(case.kept)} " in ln and "kept out" in ln for ln in lines), lines


def test_kept_out_rows_in_plain_text_output(tmp_path: Path) -> None:
    """Without --json the kept-out rows are part of the report on stdout."""
    path = text_file("many.csv", csv_text(MANY_BAD))(tmp_path)
    for command in ("validate", "tabulate", "forensics"):
        extra = ["--resamples", "5"] if command == "forensics" else []
        res = CliRunner().invoke(app, [command, str(path), *extra])
        assert "Traceback" not in res.stdout + res.stderr
        assert "3 rows kept out:" in res.stdout, (command, res.stdout)
        for row, field in ((3, "issued"), (5, "B"), (8, AA)):
            assert f"row {row}, station S{row - 1}, field {field}:" in res.stdout, command
    assert f"row 8, station S7, field {AA}: number too large for a count" in res.stdout


def test_optional_lines_are_optional_in_forensics(tmp_path: Path) -> None:
    """No ``issued`` line: turnout counts the ballots found, and says so; no commission level:
    the small-count test says it is not applicable instead of failing on a level name."""
    no_issued = text_file("noissued.csv", csv_text(NO_ISSUED_ROWS, head=NO_ISSUED_HEAD))(tmp_path)
    res = CliRunner().invoke(app, ["forensics", str(no_issued), "--json", "--resamples", "5"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["totals"]["turnout_basis"].startswith("cast")
    cast = sum(int(r[3]) + int(r[4]) for r in NO_ISSUED_ROWS)  # invalid + valid, as written
    registered = sum(int(r[2]) for r in NO_ISSUED_ROWS)
    assert out["totals"]["turnout"] == pytest.approx(cast / registered)
    for method in ("integer_peaks", "digits"):
        assert "issued" not in str(out[method].get("error", "")), method
    no_level = text_file("nolevel.csv", csv_text(NO_LEVEL_ROWS, head=NO_LEVEL_HEAD))(tmp_path)
    res = CliRunner().invoke(app, ["forensics", str(no_level), "--json", "--resamples", "5"])
    assert res.exit_code == 0, res.output
    assert "not applicable" in json.loads(res.stdout)["small_counts"]["error"]


# Corruptions of one data row and the field each must be reported under (None: no report).
CORRUPTIONS: dict[str, Callable[[list[str]], tuple[str, str | None]]] = {
    "negative": lambda r: (",".join([*r[:3], "-" + r[3], *r[4:]]), "issued"),
    "text": lambda r: (",".join([*r[:5], "n/a", *r[6:]]), "valid"),
    "huge": lambda r: (",".join([*r[:2], "1" + "0" * 25, *r[3:]]), "voters_on_list"),
    "too-many": lambda r: (",".join([*r, "5"]), "column 10"),
    "too-few": lambda r: (",".join(r[:6]), "A"),
    "blank": lambda r: ("", None),
    "separators": lambda r: ("," * 8, None),
}


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=12),
    hits=st.lists(
        st.tuples(st.integers(min_value=0, max_value=11), st.sampled_from(sorted(CORRUPTIONS))),
        max_size=5,
    ),
)
def test_every_good_row_read_and_every_bad_row_named(n: int, hits: list[tuple[int, str]]) -> None:
    """Invariant: whatever rows are spoiled, the others are read and each spoiled one is named
    by its spreadsheet row and field (blank lines are not stations and are not reported)."""
    from saylau.io import read_protocols

    rows = good_rows(n)
    lines = [",".join(r) for r in rows]
    expected: dict[int, str] = {}
    spoiled: set[int] = set()
    for index, kind in hits:
        i = index % n
        if i in spoiled:
            continue
        spoiled.add(i)
        lines[i], field = CORRUPTIONS[kind](rows[i])
        if field is not None:
            expected[i + 2] = field  # the header is row 1
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.csv"
        path.write_text(",".join(header()) + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
        if len(spoiled) == n and not expected:
            with pytest.raises(EmptyInputError):
                read_protocols(path)
            return
        t = read_protocols(path)
    assert t.stations == n - len(spoiled)
    assert sorted(t.frame.get_column("station").to_list()) == sorted(
        r[0] for i, r in enumerate(rows) if i not in spoiled
    )
    assert {p.row: p.field for p in t.rejected} == expected


def test_a_file_whose_every_row_is_kept_out(tmp_path: Path) -> None:
    """Nothing is left to read, yet each row is still named, and no command ends in a
    traceback: validate and tabulate report 0 stations, forensics and sample refuse."""
    path = text_file("allbad.csv", csv_text([G[0][:4], with_cell(G, 1, "valid", "x")[1]]))(tmp_path)
    expected_code = {"validate": 1, "tabulate": 0, "forensics": 2, "sample": 2, "quickcount": 2}
    for command in COMMANDS:
        res = _run(command, path, tmp_path)
        both = res.stdout + res.stderr
        assert "Traceback" not in both, (command, both)
        assert res.exception is None or isinstance(res.exception, SystemExit), command
        assert res.exit_code == expected_code[command], (command, both)
        if command in ("validate", "tabulate", "forensics"):
            assert "row 2, station S1, field invalid:" in both, (command, both)
            assert "row 3, station S2, field valid:" in both, (command, both)
        else:  # the frame is empty: one line saying so
            errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
            assert len(errors) == 1 and "no stations" in errors[0], (command, both)
