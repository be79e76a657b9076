"""``saylau turnout``: the three commands end to end on files written from simulated elections.

Expected values come from the simulations' truth (padded stations, the draw's stations) and
from the library functions called on the same files (the CLI must only render them).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from saylau.cli import app
from saylau.io import read_protocols
from saylau.survey.sample import write_assignment_sheets
from saylau.turnout.simulate import simulate_head_counts, simulate_observer_experiment


def run(*args: str) -> object:
    return CliRunner().invoke(app, ["turnout", *args])


def test_excess_command(tmp_path: Path) -> None:
    sim = simulate_head_counts(stations=300, counted=120, padded=6, rng=3)
    prot = tmp_path / "protocols.csv"
    sim.table.frame.write_csv(prot)
    counts = tmp_path / "counts.csv"
    sim.counts.frame.select(
        "station", "observer", "checkpoint", pl.col("count").cast(pl.Utf8), "official"
    ).write_csv(counts)
    assert read_protocols(prot).has_line("issued_in_station")
    res = run("excess", str(prot), str(counts), "--json")
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    out = json.loads(res.output)  # type: ignore[attr-defined]
    assert set(out["flagged"]) <= set(sim.padded) and out["finding"]["alarm"] is True
    text = run("excess", str(prot), str(counts))
    assert "ALARM" in text.output and "Holm over 120 counted stations" in text.output  # type: ignore[attr-defined]
    bad = tmp_path / "bad.csv"
    bad.write_text("uik,time\n1,10:00\n", encoding="utf-8")
    err = run("excess", str(prot), str(bad))
    assert err.exit_code == 2 and "count" in err.output  # type: ignore[attr-defined]


def test_observed_command_randomised_and_observational(tmp_path: Path) -> None:
    exp = simulate_observer_experiment(stations=500, observed=100, stuffing=0.1, rng=5)
    prot = tmp_path / "official.csv"
    exp.table.frame.write_csv(prot)
    write_assignment_sheets(exp.draw, exp.frame, tmp_path / "sample")  # type: ignore[arg-type]
    frame = tmp_path / "frame.csv"
    exp.frame.frame.select("station", "registered", "region").write_csv(frame)
    res = run(
        "observed",
        str(prot),
        "--draw",
        str(tmp_path / "sample" / "draw.json"),
        "--frame",
        str(frame),
    )
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    assert "design-based" in res.output and "same stations" in res.output  # type: ignore[attr-defined]
    ids = tmp_path / "observed.txt"
    ids.write_text("station\n" + "\n".join(exp.observed) + "\n", encoding="utf-8")
    prev = tmp_path / "previous.csv"
    exp.previous.frame.write_csv(prev)
    obs = run("observed", str(prot), "--observed", str(ids), "--previous", str(prev), "--json")
    assert obs.exit_code == 0, obs.output  # type: ignore[attr-defined]
    out = json.loads(obs.output)  # type: ignore[attr-defined]
    assert out["design"] == "observational" and out["finding"]["alarm"] is False


def test_lists_command(tmp_path: Path) -> None:
    exp = simulate_observer_experiment(stations=500, observed=50, stuffing=0.0, rng=8)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    exp.previous.frame.write_csv(a)
    exp.table.frame.write_csv(b)
    res = run("lists", str(a), str(b), "--control", str(b), "--json")
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    out = json.loads(res.output)  # type: ignore[attr-defined]
    assert out["matches"]["a.csv → b.csv"]["share_a"] == 1.0
    assert out["finding"]["false_alarm_rate"] is not None
