"""`saylau exitpoll`: JSON output, the comparison with --official, and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from saylau.cli import app
from saylau.survey.compare import NO_TALLY_FALSE_ALARM
from saylau.survey.exitpoll import estimate_exitpoll, interviews_from_frame
from saylau.survey.exitpoll_sim import simulate_exitpoll

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    path = tmp_path_factory.mktemp("exitpoll")
    sim = simulate_exitpoll(n_stations=300, n_sampled=24, fabricated=0.08, rng=21)
    sim.frame.write_csv(path / "frame.csv")
    records = sim.interviews.data.select("station", "band", pl.col("answer").alias("choice"))
    records.write_csv(path / "interviews.csv")
    pl.DataFrame({"choice": list(sim.official), "votes": list(sim.official.values())}).write_csv(
        path / "official.csv"
    )
    return path, sim


def test_json_estimates_match_the_library(files):
    path, sim = files
    result = runner.invoke(
        app,
        ["exitpoll", str(path / "interviews.csv"), "--frame", str(path / "frame.csv"), "--json"],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    est = estimate_exitpoll(
        interviews_from_frame(
            sim.interviews.data.select("station", "band", pl.col("answer").alias("choice"))
        ),
        sim.frame,
    )
    got = {r["choice"]: r for r in out["choices"]}
    for i, c in enumerate(est.choices):
        assert got[c]["estimate"] == pytest.approx(est.estimate[i], rel=1e-12)
        assert got[c]["std_err"] == pytest.approx(est.std_err[i], rel=1e-9)
        assert got[c]["ci_low"] < got[c]["estimate"] < got[c]["ci_high"]
        assert got[c]["deff"] == pytest.approx(est.deff[i], rel=1e-9)
    assert out["stations_sampled"] == 24
    assert out["stations_reported"] == 24
    assert out["comparison"] is None


def test_official_adds_the_comparison(files):
    path, sim = files
    result = runner.invoke(
        app,
        [
            "exitpoll",
            str(path / "interviews.csv"),
            "--frame",
            str(path / "frame.csv"),
            "--official",
            str(path / "official.csv"),
            "--json",
            "--ci",
            "logit",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [r["choice"] for r in out["choices"]] == list(sim.choices)  # order of --official
    comp = out["comparison"]
    assert {r["choice"] for r in comp["rows"]} == set(sim.choices)
    # the default national test: Bonferroni t over every choice (Korn & Graubard 1990)
    assert comp["joint"]["df_num"] == len(sim.choices)
    assert comp["joint"]["method"].startswith("Bonferroni t")
    assert "refuse" in comp["caveat"]
    assert comp["finding"]["level"] == 0.05 and "refuse" in " ".join(comp["finding"]["caveats"])
    assert out["choices"][0]["ci_method"] == "logit"


def test_text_output(files):
    path, _ = files
    result = runner.invoke(
        app,
        [
            "exitpoll",
            str(path / "interviews.csv"),
            "--frame",
            str(path / "frame.csv"),
            "--official",
            str(path / "official.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    # the finding with its level and caveat on the terminal, as in the JSON
    assert "national test: Bonferroni t" in text
    # no tally in these files: the national comparison is a screen quoting its measured rate
    assert "national: screen (never an alarm)" in text
    rate, polls, _ = NO_TALLY_FALSE_ALARM
    assert f"false alarm in {rate:.3f} of {polls} polls" in text
    assert "refuse" in text


def test_bad_input_is_one_line_and_exit_2(files, tmp_path):
    path, _ = files
    bad = tmp_path / "bad.csv"
    bad.write_text("station,choice,phone\n1,A,+77010000000\n", encoding="utf-8")
    result = runner.invoke(app, ["exitpoll", str(bad), "--frame", str(path / "frame.csv")])
    assert result.exit_code == 2
    assert "phone" in result.output and "Traceback" not in result.output
    ghost = tmp_path / "ghost.csv"
    ghost.write_text("station,band,choice\nnowhere,am,A\n", encoding="utf-8")
    result = runner.invoke(app, ["exitpoll", str(ghost), "--frame", str(path / "frame.csv")])
    assert result.exit_code == 2
    assert "no interview with a codable choice" in result.output


def test_sample_draw_file_is_used(files, tmp_path):
    """A draw record of `saylau sample` (survey A's SampleDraw) gives stations and π."""
    from saylau.survey import sample as sample_mod

    path, sim = files
    sampled = sim.frame.filter(pl.col("sampled"))
    draw = sample_mod.SampleDraw(
        method="srs",
        allocation="given",
        seed=1,
        strata_columns=("stratum",),
        sort_by=(),
        n=sampled.height,
        min_per_stratum=2,
        neyman_column=None,
        given=None,
        frame_fingerprint="x",
        frame_stations=sim.frame.height,
        population={},
        allocated={},
        stations=tuple(sampled["station"]),
        stratum=tuple(sampled["stratum"]),
        prob=sampled["prob"].to_numpy(),
        certainty=np.zeros(sampled.height, dtype=bool),
    )
    (tmp_path / "draw.json").write_text(json.dumps(draw.to_record()), encoding="utf-8")
    sim.frame.drop("prob", "sampled").write_csv(tmp_path / "frame.csv")
    args = [
        "exitpoll",
        str(path / "interviews.csv"),
        "--frame",
        str(tmp_path / "frame.csv"),
        "--json",
    ]
    with_draw = runner.invoke(app, [*args, "--sample", str(tmp_path / "draw.json")])
    plain = runner.invoke(
        app,
        ["exitpoll", str(path / "interviews.csv"), "--frame", str(path / "frame.csv"), "--json"],
    )
    assert with_draw.exit_code == 0, with_draw.output
    a, b = json.loads(with_draw.stdout), json.loads(plain.stdout)
    assert [r["estimate"] for r in a["choices"]] == pytest.approx(
        [r["estimate"] for r in b["choices"]], rel=1e-12
    )


def test_official_per_station_and_per_stratum(files, tmp_path):
    path, sim = files
    rows = [(s, c, v) for s, fig in sim.official_by_station.items() for c, v in fig.items()]
    pl.DataFrame(rows, schema=["station", "choice", "votes"], orient="row").write_csv(
        tmp_path / "stations.csv"
    )
    rows = [(h, c, v) for h, fig in sim.official_by_stratum.items() for c, v in fig.items()]
    pl.DataFrame(rows, schema=["stratum", "choice", "votes"], orient="row").write_csv(
        tmp_path / "strata.csv"
    )
    result = runner.invoke(
        app,
        [
            "exitpoll", str(path / "interviews.csv"), "--frame", str(path / "frame.csv"),
            "--official", str(path / "official.csv"),
            "--official-stations", str(tmp_path / "stations.csv"),
            "--official-strata", str(tmp_path / "strata.csv"), "--strata", "stratum", "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    comp = json.loads(result.stdout)["comparison"]
    assert comp["stations_compared"] == 24
    assert set(comp["strata_joint"]) == set(sim.official_by_stratum)
    assert {r["stratum"] for r in comp["strata"]} == set(sim.official_by_stratum)
    lonely = runner.invoke(
        app,
        ["exitpoll", str(path / "interviews.csv"), "--frame", str(path / "frame.csv"),
         "--official-stations", str(tmp_path / "stations.csv")],
    )  # fmt: skip
    assert lonely.exit_code == 2 and "need --official" in lonely.output


def test_df_and_interval_options(files):
    path, _ = files
    base = ["exitpoll", str(path / "interviews.csv"), "--frame", str(path / "frame.csv"), "--json"]
    result = runner.invoke(app, [*base, "--df", "satterthwaite"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["df"] <= out["n_psu"] - out["n_strata"]
    bad = runner.invoke(app, [*base, "--ci", "bootstrap"])
    assert bad.exit_code == 2 and "wald | wilson | logit" in bad.output
