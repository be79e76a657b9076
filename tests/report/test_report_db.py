"""``saylau report --db``: the report read from the observer service's database (SQLite).

The election is set up as an admin does (``saylau init``, ``load``, ``import-official``) with
the six stations of tests/_service.py; the report then reads the official protocols from the
database, and says that no copy and no incident has been submitted yet.
"""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from saylau.cli import app
from tests._service import CHOICES, COMMISSIONS, STATIONS, protocol

runner = CliRunner()


def test_report_from_the_service_database(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'e.db'}"
    assert (
        runner.invoke(app, ["init", "--db", db, "--username", "admin", "--generate"]).exit_code == 0
    )
    for name, content in (
        ("commissions", COMMISSIONS),
        ("stations", STATIONS),
        ("choices", CHOICES),
    ):
        f = tmp_path / f"{name}.csv"
        f.write_text(content, encoding="utf-8")
        assert runner.invoke(app, ["load", name, str(f), "--db", db]).exit_code == 0
    assert runner.invoke(app, ["load", "profile", "kz", "--db", db]).exit_code == 0
    r = runner.invoke(app, ["report", "--db", db, "--out", str(tmp_path / "r0"), "--no-pdf"])
    assert r.exit_code == 2 and "no official results imported yet" in r.output
    keys = list(protocol())
    votes = {"ALA-1": (400, 150, 40), "ALA-2": (300, 200, 30), "ALA-3": (250, 120, 20),
             "AST-1": (500, 90, 60), "AST-2": (300, 100, 10), "AST-3": (350, 140, 25)}  # fmt: skip
    off = tmp_path / "official.csv"
    off.write_text(
        "station," + ",".join(keys) + "\n"
        + "".join(s + "," + ",".join(str(v) for v in protocol(*abc).values()) + "\n"
                  for s, abc in votes.items()),
        encoding="utf-8",
    )  # fmt: skip
    assert runner.invoke(app, ["import-official", str(off), "--db", db]).exit_code == 0
    r = runner.invoke(
        app,
        ["report", "--db", db, "--out", str(tmp_path / "r"), "--no-pdf", "--lang", "kk",
         "--no-reference", "--resamples", "20"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "left out: copies" in r.output and "left out: incidents" in r.output
    html = (tmp_path / "r" / "report-kk.html").read_text(encoding="utf-8")
    # Amanat's official votes: 400 + 300 + 250 + 500 + 300 + 350 = 2,100 (the file above)
    assert re.search(r"<td translate=\"no\">Amanat</td><td class=\"num\">2\u00a0100</td>", html)
