"""`saylau sample` and `saylau quickcount` end to end on small files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import polars as pl
from typer.testing import CliRunner

from saylau.cli import app

runner = CliRunner()

CHOICES = ["A", "B", "Против всех"]


def population(seed: int = 0) -> pl.DataFrame:
    g = np.random.default_rng(seed)
    rows = []
    for r in range(3):
        for i in range(40):
            reg = int(g.integers(400, 2000))
            issued = int(reg * g.uniform(0.4, 0.8))
            invalid = int(g.integers(0, 10))
            votes = g.multinomial(issued - invalid, [0.5 + 0.1 * r, 0.42 - 0.1 * r, 0.08])
            rows.append(
                {
                    "station": f"{r}-{i:02d}",
                    "region": f"R{r}",
                    "voters_on_list": reg,
                    "issued": issued,
                    "invalid": invalid,
                    "valid": int(votes.sum()),
                    **{c: int(v) for c, v in zip(CHOICES, votes, strict=True)},
                }
            )
    return pl.DataFrame(rows)


def test_sample_then_quickcount_json(tmp_path: Path):
    pop = population()
    results = tmp_path / "results.csv"
    pop.write_csv(results)
    out = tmp_path / "qc"
    r = runner.invoke(
        app,
        [
            "sample",
            str(results),
            "--stations",
            "30",
            "--strata",
            "region",
            "--seed",
            "5",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["stations_sampled"] == 30 and info["seed"] == 5 and info["strata"] == 3
    assert sorted(p.name for p in (out / "sheets").iterdir()) == ["R0.csv", "R1.csv", "R2.csv"]
    sampled = pl.read_csv(out / "sample.csv", schema_overrides={"station": pl.Utf8})
    reports = pop.filter(pl.col("station").is_in(sampled["station"].to_list()))
    # one sampled station has not reported yet; one report comes from outside the sample
    missing = reports["station"][0]
    outsider = pop.filter(~pl.col("station").is_in(sampled["station"].to_list())).head(1)
    rep = pl.concat([reports.filter(pl.col("station") != missing), outsider])
    rep_path = tmp_path / "reports.csv"
    rep.write_csv(rep_path)
    r = runner.invoke(
        app,
        [
            "quickcount",
            str(rep_path),
            "--frame",
            str(results),
            "--sample",
            str(out / "draw.json"),
            "--official",
            str(results),
            "--seats",
            "50",
            "--threshold",
            "0.05",
            "--draws",
            "500",
            "--progress",
            "3",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["stations_sampled"] == 30 and d["stations_reported"] == 29
    assert [c["choice"] for c in d["choices"]] == CHOICES
    for c in d["choices"]:
        assert c["ci_low"] < c["estimate"] < c["ci_high"] and c["std_err"] > 0
    assert d["excluded"][0]["reason"] == "station not in the sample"
    assert sum(d["not_reported"].values()) == 1
    assert "comparison" in d and d["comparison"]["stations_compared"] == 30
    # the observer copies are the official protocols: no station finding
    assert d["comparison"]["stations"] == []
    assert [s["choice"] for s in d["seats"]] == CHOICES
    assert d["seats"][2]["seats"] == 0  # Against all never gets a seat
    assert 0 < d["turnout"]["estimate"] < 1
    assert set(d["threshold_probability"]) == set(CHOICES)
    assert [p["reports"] for p in d["progress"]][:: len(CHOICES)] == [10, 20, 30]


def test_quickcount_table_output_and_errors(tmp_path: Path):
    pop = population(1)
    results = tmp_path / "results.csv"
    pop.write_csv(results)
    rep = tmp_path / "reports.csv"
    pop.filter(pl.col("region") != "R2").head(20).write_csv(rep)
    r = runner.invoke(app, ["quickcount", str(rep), "--frame", str(results), "--strata", "region"])
    assert r.exit_code == 2
    assert "strata have no report" in r.output
    r = runner.invoke(
        app,
        [
            "quickcount",
            str(rep),
            "--frame",
            str(results),
            "--strata",
            "region",
            "--empty",
            "collapse",
            "--interval",
            "wilson",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "quick count: 20 stations reported" in r.stdout
    r = runner.invoke(app, ["quickcount", str(rep), "--frame", str(results), "--interval", "bogus"])
    assert r.exit_code == 2 and "--interval" in r.output
    r = runner.invoke(app, ["sample", str(results), "--stations", "1000", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "larger than the frame" in r.output


def test_quickcount_terminal_shows_what_the_json_has(tmp_path: Path):
    """The comparison with its findings and caveats, the threshold probabilities, the seat
    projection and the progress all reach the terminal, not only --json."""
    pop = population(3)
    results = tmp_path / "results.csv"
    pop.write_csv(results)
    rep = tmp_path / "reports.csv"
    pl.concat([pop.filter(pl.col("region") == f"R{r}").head(8) for r in range(3)]).write_csv(rep)
    r = runner.invoke(
        app,
        ["quickcount", str(rep), "--frame", str(results), "--strata", "region",
         "--official", str(results), "--seats", "20", "--threshold", "0.05", "--draws", "300",
         "--progress", "2"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    assert "against the official result" in text
    # the rendering, whatever the finding (the statistics are tested in test_survey_alarms)
    assert re.search(r"national: (ALARM|no alarm) at 0\.05", text)
    assert re.search(r"per stratum: (ALARM|no alarm) at 0\.05 \(Holm over 3 strata", text)
    assert "stations: 24 copies compared, 0 differences" in text
    assert "stations that reported" in text  # the differential non-response caveat
    assert "probability of passing the 0.05 threshold" in text
    assert "seat projection" in text and "progress" in text
