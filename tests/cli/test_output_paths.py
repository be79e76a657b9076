"""Output folders given on the command line (issue 7, item 6): a path that is a file is one
clear error line, never a traceback; an existing draw is never overwritten without --force."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from saylau.cli import app
from saylau.io import sample_path

GOOD = "station,region,voters_on_list,issued,invalid,valid,A,B\n" + "".join(
    f"{i},{'NS'[i % 2]},1000,{600 + i},4,{596 + i},{300 + i},296\n" for i in range(12)
)


def _one_error_line(res: object, *parts: str) -> None:
    out = res.stdout + res.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in out
    assert res.exit_code == 2, out  # type: ignore[attr-defined]
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    for part in parts:
        assert part in lines[0], (part, lines[0])


def test_sample_out_that_is_a_file(tmp_path: Path) -> None:
    results = tmp_path / "r.csv"
    results.write_text(GOOD, encoding="utf-8")
    taken = tmp_path / "taken"
    taken.write_text("not a folder", encoding="utf-8")
    res = CliRunner().invoke(
        app, ["sample", str(results), "--stations", "3", "--seed", "1", "--out", str(taken)]
    )
    _one_error_line(res, "taken", "--out", "existing file")
    inside = taken / "draw"  # a parent that is a file
    res = CliRunner().invoke(
        app, ["sample", str(results), "--stations", "3", "--seed", "1", "--out", str(inside)]
    )
    _one_error_line(res, "--out", "is a file")


def test_existing_draw_is_kept_without_force(tmp_path: Path) -> None:
    results = tmp_path / "r.csv"
    results.write_text(GOOD, encoding="utf-8")
    out = tmp_path / "draw"
    args = ["sample", str(results), "--stations", "3", "--out", str(out), "--json"]
    first = CliRunner().invoke(app, [*args, "--seed", "1"])
    assert first.exit_code == 0, first.output
    record = (out / "draw.json").read_text(encoding="utf-8")
    again = CliRunner().invoke(app, [*args, "--seed", "2"])
    _one_error_line(again, "draw.json", "--force")
    assert (out / "draw.json").read_text(encoding="utf-8") == record  # untouched
    forced = CliRunner().invoke(app, [*args, "--seed", "2", "--force"])
    assert forced.exit_code == 0, forced.output
    assert json.loads(forced.stdout)["seed"] == 2
    assert json.loads((out / "draw.json").read_text(encoding="utf-8"))["seed"] == 2


def test_forensics_plots_that_is_a_file(tmp_path: Path) -> None:
    taken = tmp_path / "plots.png"
    taken.write_bytes(b"\x89PNG")
    res = CliRunner().invoke(
        app, ["forensics", str(sample_path()), "--resamples", "5", "--plots", str(taken)]
    )
    _one_error_line(res, "plots.png", "--plots")


def test_demo_out_that_is_a_file(tmp_path: Path) -> None:
    taken = tmp_path / "out"
    taken.write_text("x", encoding="utf-8")
    res = CliRunner().invoke(app, ["demo", "--out", str(taken)])
    _one_error_line(res, "out", "--out", "existing file")
