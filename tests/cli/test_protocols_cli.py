"""The validate, tabulate and demo commands, run as a user runs them (a real process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from saylau.cli import app
from tests.conftest import shared_file


def saylau(*args: str) -> Any:
    """Run a command in-process, through the same Typer app as the console script."""
    return CliRunner().invoke(app, list(args))


def saylau_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``python -m saylau`` process, as a user does."""
    return subprocess.run(
        [sys.executable, "-m", "saylau", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"},
        timeout=300,
    )


def test_demo_runs_and_writes_outputs(tmp_path: Path) -> None:
    p = saylau("demo", "--out", str(tmp_path / "out"))
    assert p.exit_code == 0, p.stderr
    assert "7,848 polling stations" in p.stdout
    assert "Against all" in p.stdout
    assert "Amanat 40" in p.stdout  # official 2023 seats (../shared/data/README.md)
    totals = json.loads((tmp_path / "out" / "totals.json").read_text(encoding="utf-8"))
    assert totals["outcome"]["valid_election"] is True
    assert (tmp_path / "out" / "tabulation-by-region.csv").stat().st_size > 500
    forensic = json.loads((tmp_path / "out" / "forensics.json").read_text(encoding="utf-8"))
    assert forensic["totals"]["stations"] == 7848
    # a blank figure of this size is about 10 kB (tests/report/test_forensics_plots.py)
    assert (tmp_path / "out" / "figures" / "fingerprint.png").stat().st_size > 20_000
    # the demo ends with the evidence report in the three languages, paths printed
    for lang in ("kk", "ru", "en"):
        for ext in ("html", "pdf"):
            path = (tmp_path / "out" / "report" / f"report-{lang}.{ext}").resolve()
            assert path.stat().st_size > 50_000
            assert str(path) in p.stdout.replace("\n", "")


def test_validate_json_and_exit_code(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text(
        "station,voters_on_list,issued,invalid,valid,Amanat,Барлығына қарсы\n"
        "1,100,60,2,58,50,8\n2,100,60,2,58,50,9\n3,100,-5,2,58,50,8\n",
        encoding="utf-8",
    )
    p = saylau("validate", str(f), "--json")
    assert p.exit_code == 1  # a strict relation failed
    out = json.loads(p.stdout)
    assert (out["ok"], out["failed"]) == (1, 1)
    assert out["violations"][0]["station"] == "2"
    assert out["violations"][0]["difference"] == -1
    assert out["rejected"][0]["row"] == 4 and out["rejected"][0]["field"] == "issued"
    # a row kept out alone also gives exit 1: a script must not read it as "all fine"
    f.write_text(
        "station,voters_on_list,issued,invalid,valid,Amanat,Барлығына қарсы\n"
        "1,100,60,2,58,50,8\n2,100,60,2,abc,50,8\n",
        encoding="utf-8",
    )
    p = saylau("validate", str(f))
    assert p.exit_code == 1 and "row 3, station 2, field valid" in p.stdout


def test_bad_input_is_one_line_and_nonzero(tmp_path: Path) -> None:
    f = tmp_path / "empty.csv"
    f.write_text("", encoding="utf-8")
    p = saylau("validate", str(f))
    assert p.exit_code == 2
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "empty.csv" in lines[0] and "empty" in lines[0]
    p = saylau("tabulate", str(f.with_name("missing.csv")))
    assert p.exit_code == 2 and "file not found" in p.stderr
    good = tmp_path / "g.csv"
    good.write_text(
        "station,voters_on_list,issued,invalid,valid,A\n1,5,4,0,4,4\n", encoding="utf-8"
    )
    p = saylau("validate", str(good), "--profile", "ru-1996")
    assert p.exit_code == 2 and "unknown protocol profile" in p.stderr


def test_module_entry_point_runs() -> None:
    p = saylau_process("--help")
    assert p.returncode == 0, p.stderr
    for cmd in ("validate", "tabulate", "seats", "forensics", "sample", "quickcount", "exitpoll"):
        assert cmd in p.stdout


def test_help_has_examples() -> None:
    commands = ("validate", "tabulate", "demo", "seats", "forensics", "sample", "quickcount")
    for cmd in (*commands, "exitpoll"):
        p = saylau(cmd, "--help")
        assert p.exit_code == 0 and "Example" in p.stdout, cmd


@pytest.mark.realdata
def test_tabulate_real_file_json() -> None:
    p = saylau(
        "tabulate",
        str(shared_file("russia", "2004.csv.zip")),
        "--level",
        "region",
        "--rules",
        "ru-president-2004",
        "--json",
    )
    assert p.exit_code == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["national"]["voters_on_list"] == 108_064_342  # ../shared/data/README.md
    assert out["outcome"]["valid_election"] is True
    assert "share:Против всех" in out["units"][0]
