"""``saylau seats``: official Mazhilis seats through the CLI, file formats, and bad files.

Expected seats: the CEC figures in tests/results/kz_mazhilis.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from saylau.cli import app

RESULTS = Path(__file__).resolve().parents[1] / "results" / "kz_mazhilis.json"
ELECTIONS = json.loads(RESULTS.read_text(encoding="utf-8"))["elections"]


def run(*args: str) -> Any:
    """Invoke ``saylau seats ARGS`` in-process."""
    return CliRunner().invoke(app, ["seats", *args])


def write(tmp_path: Path, text: str, *, name: str = "votes.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def csv_of(votes: dict[str, int]) -> str:
    return "choice,votes\n" + "".join(f'"{k}",{v}\n' for k, v in votes.items())


@pytest.mark.parametrize("election", ELECTIONS, ids=lambda e: str(e["year"]))
@pytest.mark.parametrize("how", ["rules", "options"])
def test_official_mazhilis_seats_through_cli(
    tmp_path: Path, election: dict[str, Any], how: str
) -> None:
    path = write(tmp_path, csv_of(election["votes"]))
    if how == "rules":
        opts = ["--rules", election["rules"]]
    else:
        opts = ["--seats", str(election["seats"]), "--threshold", election["threshold"]]
        opts += ["--method", "hare"]
    result = run(str(path), *opts, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["seats"] == election["official_seats"]
    assert set(data) >= {"seats", "passed", "quota", "ties"}
    assert data["ties"] == []
    assert isinstance(data["quota"], float)
    assert data["passed"] == [k for k, v in election["official_seats"].items() if v > 0]


def test_console_script_subprocess(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("saylau")  # installed by `pip install -e .`
    assert exe.exists(), "the saylau console script is not installed next to python"
    election = ELECTIONS[0]
    path = write(tmp_path, csv_of(election["votes"]))
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [str(exe), "seats", str(path), "--rules", "kz-mazhilis-2023", "--json"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["seats"] == election["official_seats"]


def test_bom_semicolons_kazakh_against_all_and_grouped_thousands(tmp_path: Path) -> None:
    text = "\ufeffChoice;Votes\nAmanat;3 431 510\nAuyl;693938\nРеспублика;547154\n"
    text += "Ақ жол;535139\nҚХП;432920\nЖСДП;331058\nBaytaq;146431\nБАРЛЫҒЫНА ҚАРСЫ;248291\n"
    path = write(tmp_path, text)
    result = run(str(path), "--rules", "kz-mazhilis-2023", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["seats"]["БАРЛЫҒЫНА ҚАРСЫ"] == 0
    assert data["against_all"] == "БАРЛЫҒЫНА ҚАРСЫ"
    assert list(data["seats"].values()) == [40, 8, 6, 6, 5, 4, 0, 0]


def test_table_output(tmp_path: Path) -> None:
    path = write(tmp_path, csv_of(ELECTIONS[0]["votes"]))
    result = run(str(path), "--rules", "kz-mazhilis-2023")
    assert result.exit_code == 0, result.output
    assert "Amanat" in result.stdout and "40" in result.stdout
    assert "Против всех (Against all)" in result.stdout
    assert "quota" in result.stdout


def test_explicit_options_override_rules(tmp_path: Path) -> None:
    # 2023 votes under 7%: People's Party (6.80%) and OSDP (5.20%) drop out
    path = write(tmp_path, csv_of(ELECTIONS[0]["votes"]))
    result = run(str(path), "--rules", "kz-mazhilis-2023", "--threshold", "7%", "--json")
    data = json.loads(result.stdout)
    assert data["passed"] == ["Amanat", "Auyl", "Respublica", "Ak Zhol"]
    assert sum(data["seats"].values()) == 69 and data["threshold"] == pytest.approx(0.07)
    dh = json.loads(
        run(str(path), "--rules", "kz-mazhilis-2023", "--method", "dhondt", "--json").stdout
    )
    assert dh["method"] == "dhondt" and sum(dh["seats"].values()) == 69


def test_ties_reported_with_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "choice,votes\nFirst,150\nSecond,150\n")
    result = run(str(path), "--seats", "3", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["seats"] == {"First": 2, "Second": 1}
    assert len(data["ties"]) == 1 and "First" in data["ties"][0]
    assert "tie decided a seat" in result.stderr


@pytest.mark.parametrize(
    ("content", "args", "needles"),
    [
        ("party_name,count_x\nA,1\n", [], ["row 1", "field header", "choice,votes"]),
        ("choice,votes\nA,12\nB,1.5\n", [], ["row 3", "field votes", "1.5"]),
        ("choice,votes\nA,12\nB,-3\n", [], ["row 3", "field votes", "negative"]),
        ("choice,votes\nA,12\nB,\n", [], ["row 3", "field votes"]),
        ("choice,votes\nA,12\nB,5\na ,7\n", [], ["row 4", "field choice", "duplicate"]),
        ("choice,votes\nagainst_all,1\nA,3\nПротив всех,2\n", [], ["row 4", "Against-all"]),
        ("", [], ["empty"]),
        ("choice,votes\n", [], ["no rows"]),
        ("choice,votes\nA,12\n", ["--method", "borda"], ["method", "borda"]),
        ("choice,votes\nA,12\n", ["--rules", "kz-mazhilis-1999"], ["rules", "kz-mazhilis-1999"]),
        ("choice,votes\nA,12\n", ["--threshold", "7"], ["threshold"]),
        ("choice,votes\nA,12\n", ["--rules", "kz-president"], ["proportional"]),
        ("choice,votes\nA,12\n", ["--base", "registered"], ["base"]),
    ],
)
def test_bad_files_one_line_exit_2(
    tmp_path: Path, content: str, args: list[str], needles: list[str]
) -> None:
    path = write(tmp_path, content)
    extra = [] if "--rules" in args else ["--seats", "5"]
    result = run(str(path), *extra, *args)
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error:")
    for needle in needles:
        assert needle in err
    if not args:
        assert path.name in err


def test_no_seats_and_no_rules(tmp_path: Path) -> None:
    path = write(tmp_path, "choice,votes\nA,12\n")
    result = run(str(path))
    assert result.exit_code == 2 and "--seats" in result.stderr


def test_cp1251_is_detected_like_protocol_files(tmp_path: Path) -> None:
    path = write(tmp_path, "choice,votes\nПротив всех,5\nA,7\nБ,3\n", encoding="cp1251")
    result = run(str(path), "--seats", "3", "--json")
    assert result.exit_code == 0, result.output
    seats = json.loads(result.stdout)["seats"]
    # by hand: Hare quota (7 + 3) / 3 = 10/3; A 2.1 -> 2, Б 0.9 -> 0 plus the largest remainder
    assert seats == {"Против всех": 0, "A": 2, "Б": 1}


def test_missing_file(tmp_path: Path) -> None:
    result = run(str(tmp_path / "nope.csv"), "--seats", "3")
    assert result.exit_code == 2 and "nope.csv" in result.stderr


def test_help_shows_an_example() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "saylau seats" in result.stdout and "--rules" in result.stdout
