"""``--columns`` and the reading options on every command that reads precinct files, and
``saylau columns FILE``: run as a user runs them.

Expected figures: hand sums of the illustrative english-headers.csv (see
tests/io/test_columnmap.py), the bundled Russia 2004 sample's own protocols, and
../shared/data/README.md.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from saylau.io import sample_path
from tests.cli.test_protocols_cli import saylau
from tests.conftest import shared_file
from tests.io.test_columnmap import BASE, HEADER, MISTAKES

EXAMPLES = Path(str(resources.files("saylau") / "data" / "examples"))
ENGLISH = EXAMPLES / "english-headers.csv"
ENGLISH_MAP = EXAMPLES / "english-headers.toml"
RESEARCH = EXAMPLES / "research-novgorod-2004.csv"
RESEARCH_MAP = EXAMPLES / "research-novgorod-2004.toml"

#: Commands that read precinct files and the reading options each must take.
READING_COMMANDS = ("validate", "tabulate", "forensics", "sample", "quickcount")


def test_every_reading_command_takes_the_reading_options() -> None:
    for cmd in READING_COMMANDS:
        p = saylau(cmd, "--help")
        assert p.exit_code == 0, cmd
        for opt in ("--columns", "--encoding", "--sheet", "--skip-rows"):
            assert opt in p.stdout, (cmd, opt)
    assert "--frame-columns" in saylau("exitpoll", "--help").stdout
    qc = saylau("quickcount", "--help").stdout
    assert "--frame-columns" in qc and "--official-columns" in qc


def test_readme_english_example_through_the_cli() -> None:
    p = saylau("tabulate", str(ENGLISH), "--columns", str(ENGLISH_MAP), "--level", "region")
    assert p.exit_code == 0, p.stderr
    p = saylau("tabulate", str(ENGLISH), "--columns", str(ENGLISH_MAP), "--json")
    out = json.loads(p.stdout)
    nat = out["national"]
    # hand sums of the file: registered 5,350; Party A 1,650 of 3,235 valid votes
    assert nat["voters_on_list"] == 5350 and nat["valid"] == 3235
    assert nat["Party A"] == 1650 and nat["Other parties"] == 220
    assert nat["share:Party A"] == pytest.approx(1650 / 3235)
    p = saylau("validate", str(ENGLISH), "--columns", str(ENGLISH_MAP), "--json")
    assert p.exit_code == 0 and json.loads(p.stdout)["ok"] == 6


def test_readme_research_example_through_the_cli() -> None:
    p = saylau("tabulate", str(RESEARCH), "--columns", str(RESEARCH_MAP), "--json")
    assert p.exit_code == 0, p.stderr
    out = json.loads(p.stdout)
    nat = out["national"]
    # the JSON says how the file was read, as the terminal does: a header-less mapping's
    # numbered stations and the turnout basis are in the reader's notes
    reading = out["reading"]
    assert reading["source"].endswith("research-novgorod-2004.csv")
    assert reading["encoding"] == "utf-8" and reading["notes"]
    assert any("numbered by their row" in n for n in reading["notes"]), reading["notes"]
    assert any("turnout counts the ballots found" in n for n in reading["notes"])
    putin = "Путин Владимир Владимирович"
    # the same stations in the bundled CEC protocols (Novgorod oblast, 2004)
    sample = saylau("tabulate", str(sample_path()), "--level", "region", "--json")
    novgorod = next(
        u for u in json.loads(sample.stdout)["units"] if u["unit"] == "Новгородская область"
    )
    assert nat[putin] == novgorod[putin] and nat["stations"] == novgorod["stations"] == 569
    assert nat["others"] == novgorod["valid"] - novgorod[putin]


def test_columns_command_writes_a_mapping_that_reads_the_same(tmp_path: Path) -> None:
    p = saylau("columns", str(sample_path()))
    assert p.exit_code == 0, p.stderr
    assert p.stdout.startswith("# saylau column mapping") and "[lines]" in p.stdout
    mapfile = tmp_path / "map.toml"
    mapfile.write_text(p.stdout, encoding="utf-8")
    alone = json.loads(saylau("validate", str(sample_path()), "--json").stdout)
    mapped = json.loads(
        saylau("validate", str(sample_path()), "--columns", str(mapfile), "--json").stdout
    )
    assert mapped["stations"] == alone["stations"] == 7848  # sample's README: 7,848 stations
    assert mapped["by_relation"] == alone["by_relation"]
    # a file saylau does not recognise: one line, exit 2
    p = saylau("columns", str(ENGLISH))
    assert p.exit_code == 2 and "header not recognised" in p.stderr


def test_mapping_mistake_is_one_line_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        ENGLISH_MAP.read_text(encoding="utf-8").replace('"Valid votes"', '"Valid"'),
        encoding="utf-8",
    )
    for cmd in ("validate", "tabulate", "forensics"):
        p = saylau(cmd, str(ENGLISH), "--columns", str(bad))
        assert p.exit_code == 2, cmd
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "Traceback" not in p.stderr, cmd
        assert "bad.toml" in lines[0] and "lines.valid" in lines[0] and "'Valid'" in lines[0]
    p = saylau("validate", str(ENGLISH), "--columns", str(tmp_path / "none.toml"))
    assert p.exit_code == 2 and "mapping file not found" in p.stderr
    assert "Traceback" not in p.stderr


def test_encoding_and_skip_rows_options(tmp_path: Path) -> None:
    data = tmp_path / "r.csv"
    data.write_bytes(
        "Итоги голосования\nУИК;Избиратели;Действительные;Единство;Против всех\n"
        "1;100;60;40;20\n2;80;50;30;20\n".encode("cp1251")
    )
    mapfile = tmp_path / "m.toml"
    mapfile.write_text(
        'station = "УИК"\n[lines]\nvoters_on_list = "Избиратели"\nvalid = "Действительные"\n',
        encoding="utf-8",
    )
    args = ("--columns", str(mapfile), "--encoding", "cp1251", "--skip-rows", "1", "--json")
    p = saylau("tabulate", str(data), *args)
    assert p.exit_code == 0, p.stderr
    nat = json.loads(p.stdout)["national"]
    assert nat["Против всех"] == 40 and nat["Единство"] == 70
    # without --skip-rows the title line is the header: the mapping's columns are missing
    p = saylau("tabulate", str(data), "--columns", str(mapfile), "--encoding", "cp1251")
    assert p.exit_code == 2 and "column not in the file" in p.stderr
    p = saylau("tabulate", str(data), *args[:-1], "--skip-rows", "-1")
    assert p.exit_code == 2  # refused by the option parser


def test_sample_and_quickcount_through_mappings(tmp_path: Path) -> None:
    out = tmp_path / "draw"
    p = saylau(
        "sample",
        str(ENGLISH),
        "--columns",
        str(ENGLISH_MAP),
        "--stations",
        "4",
        "--strata",
        "region",
        "--seed",
        "3",
        "--out",
        str(out),
        "--json",
    )
    assert p.exit_code == 0, p.stderr
    assert json.loads(p.stdout)["frame_stations"] == 6
    # every station reported: a census, whose estimate is the file's own share
    p = saylau(
        "quickcount",
        str(ENGLISH),
        "--columns",
        str(ENGLISH_MAP),
        "--frame",
        str(ENGLISH),
        "--frame-columns",
        str(ENGLISH_MAP),
        "--strata",
        "region",
        "--json",
    )
    assert p.exit_code == 0, p.stderr
    rows = {r["choice"]: r for r in json.loads(p.stdout)["choices"]}
    assert rows["Party A"]["estimate"] == pytest.approx(1650 / 3235)
    assert rows["Other parties"]["estimate"] == pytest.approx(220 / 3235)


@pytest.mark.realdata
def test_moscow_observer_copies_validate_by_shipped_name() -> None:
    path = shared_file("moscow-2011-observers", "result_412_GN.csv")
    p = saylau("validate", str(path), "--columns", "moscow-2011-observers", "--json")
    out = json.loads(p.stdout)
    assert out["stations"] == 97  # ../shared/data/README.md
    assert p.exit_code == 1 and out["failed"] > 0  # some transcriptions fail (README: 12)


def _commands(data: Path, mapfile: Path, good: Path, out: Path) -> dict[str, list[str]]:
    """Every command that reads a precinct file, reading ``data`` through ``mapfile``."""
    d, m = str(data), str(mapfile)
    return {
        "validate": ["validate", d, "--columns", m],
        "tabulate": ["tabulate", d, "--columns", m],
        "forensics": ["forensics", d, "--columns", m],
        "sample": ["sample", d, "--columns", m, "--stations", "1", "--out", str(out)],
        "quickcount": ["quickcount", d, "--columns", m, "--frame", d, "--frame-columns", str(good)],
        "quickcount --frame": [
            "quickcount",
            d,
            "--columns",
            str(good),
            "--frame",
            d,
            "--frame-columns",
            m,
        ],
    }


@pytest.mark.parametrize(
    ("toml", "key", "column", "words"),
    [m[1:] for m in MISTAKES],
    ids=[m[0] for m in MISTAKES],
)
def test_every_mapping_mistake_through_every_reading_command(
    tmp_path: Path, toml: str, key: str, column: object, words: str
) -> None:
    data = tmp_path / "p.csv"
    data.write_text(HEADER, encoding="utf-8")
    good = tmp_path / "good.toml"
    good.write_text(BASE, encoding="utf-8")
    mapfile = tmp_path / "map.toml"
    mapfile.write_text(toml, encoding="utf-8")
    for name, args in _commands(data, mapfile, good, tmp_path / "draw").items():
        p = saylau(*args)
        assert p.exit_code == 2, (name, p.stdout, p.stderr)
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "Traceback" not in p.stderr, name
        assert f"map.toml, field {key}: " in lines[0] and words in lines[0], name
    # the same file through the good mapping is read by every command
    for name, args in _commands(data, good, good, tmp_path / "draw2").items():
        p = saylau(*args)
        assert p.exit_code == 0, (name, p.stdout, p.stderr)
