"""Take-all (certainty) stations: outliers in size are drawn with certainty, add no variance to
the quick count, and a missing one is said, never papered over.

The population: one region of 40 ordinary stations (400-1,999 voters) and one electronic-voting
pseudo-station of 100,000 voters that votes differently (as in Russia 2021); a second region
of 30 ordinary stations. The expected variance is Cochran's (1977, §6.11 and §5.3) combined
ratio estimator written out here in NumPy: the take-all station enters the estimate with weight
1 and no residual, the ordinary stations with N_h / n_h and the finite-population correction.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
from typer.testing import CliRunner

from saylau.cli import app
from saylau.domain.table import ProtocolTable
from saylau.survey.frame import frame_from_table
from saylau.survey.quickcount import quick_count
from saylau.survey.sample import TAKE_ALL, draw_sample, redo_draw

CHOICES = ["A", "B", "Against all"]


def _population() -> pl.DataFrame:
    g = np.random.default_rng(8)
    rows = []
    for r, n in (("N", 40), ("S", 30)):
        for i in range(n):
            reg = int(g.integers(400, 2000))
            votes = g.multinomial(int(reg * 0.6), [0.55, 0.38, 0.07])
            rows.append({"station": f"{r}{i:02d}", "region": r, "voters_on_list": reg,
                         **dict(zip(CHOICES, votes.tolist(), strict=True))})  # fmt: skip
    rows.append({"station": "N-EV", "region": "N", "voters_on_list": 100_000,
                 "A": 30_000, "B": 20_000, "Against all": 10_000})  # fmt: skip
    return pl.DataFrame(rows)


def _table(df: pl.DataFrame) -> ProtocolTable:
    return ProtocolTable.from_frame(df, profile="plain", choices=CHOICES, levels=["region"])


def test_the_outlier_is_taken_with_certainty_and_the_rule_is_recorded() -> None:
    table = _table(_population())
    frame = frame_from_table(table, strata=["region"], past=False)
    draw = draw_sample(frame, n=15, strata=["region"], rng=3)
    i = draw.stations.index("N-EV")
    assert draw.stratum[i] == "N" + TAKE_ALL and draw.prob[i] == 1.0 and draw.certainty[i]
    assert len(draw.stations) == 15 and draw.allocated["N" + TAKE_ALL] == 1
    assert "20 times the median registered voters" in draw.take_all_rule
    assert redo_draw(draw, frame).stations == draw.stations
    off = draw_sample(frame, n=15, strata=["region"], rng=3, take_all=None)
    assert not any(TAKE_ALL in h for h in off.stratum)
    assert off.take_all_rule.startswith("no take-all")


def test_certainty_station_adds_no_variance_and_a_missing_one_is_said() -> None:
    df = _population()
    table = _table(df)
    frame = frame_from_table(table, strata=["region"], past=False)
    draw = draw_sample(frame, n=21, strata=["region"], rng=5)
    reports = table.filter(table.frame["station"].is_in(list(draw.stations)))
    qc = quick_count(reports, frame=frame, sample=draw)
    assert qc.take_all == ("N-EV",) and qc.warnings == ()
    # Cochran's combined ratio estimator by hand
    sel = df.filter(pl.col("station").is_in(list(draw.stations)))
    y = sel.select(CHOICES).to_numpy().astype(float)
    x = y.sum(axis=1)
    pop_n = {"N": 40, "S": 30}
    ids_regions = sel.select("station", "region").iter_rows()
    strata = [("N" + TAKE_ALL if s == "N-EV" else r) for s, r in ids_regions]
    n_h = {h: strata.count(h) for h in set(strata)}
    w = np.array([1.0 if TAKE_ALL in h else pop_n[h] / n_h[h] for h in strata])
    x_hat = w @ x
    est = (w @ y) / x_hat
    u = w[:, None] * (y - x[:, None] * est[None, :]) / x_hat
    var = np.zeros(len(CHOICES))
    for h in ("N", "S"):
        m = np.array([s == h for s in strata])
        f = (1 - n_h[h] / pop_n[h]) * n_h[h] / (n_h[h] - 1)
        var += f * ((u[m] - u[m].mean(axis=0)) ** 2).sum(axis=0)
    np.testing.assert_allclose(qc.shares.estimate, est, rtol=1e-12)
    np.testing.assert_allclose(np.diag(qc.shares.cov), var, rtol=1e-9)
    assert qc.shares.n_psu == 20  # the take-all station is no primary sampling unit
    assert "certainty units" in qc.rules["take_all"]
    # the pseudo-station does not report: said, in the result
    partial = reports.filter(reports.frame["station"] != "N-EV")
    qc2 = quick_count(partial, frame=frame, sample=draw, empty="collapse")
    assert len(qc2.warnings) == 1
    assert qc2.warnings[0].startswith(
        "a take-all station has not reported: the estimate for its stratum is incomplete"
    )
    assert "N-EV" in qc2.warnings[0]


def test_cli_states_the_rule_and_the_warning(tmp_path: Path) -> None:
    runner = CliRunner()
    df = _population()
    results = tmp_path / "results.csv"
    df.write_csv(results)
    out = tmp_path / "s"
    r = runner.invoke(app, ["sample", str(results), "--stations", "21", "--strata", "region",
                            "--seed", "5", "--out", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "take-all: stations with more than 20 times the median" in r.output
    r = runner.invoke(app, ["sample", str(results), "--stations", "21", "--strata", "region",
                            "--seed", "5", "--out", str(tmp_path / "t"), "--take-all", "0",
                            "--json"])  # fmt: skip
    assert json.loads(r.stdout)["take_all"]["stations"] == 0
    sampled = pl.read_csv(out / "sample.csv", schema_overrides={"station": pl.Utf8})
    rep = df.filter(pl.col("station").is_in(sampled["station"].to_list()))
    rep = rep.filter(pl.col("station") != "N-EV")
    rep.write_csv(tmp_path / "rep.csv")
    args = ["quickcount", str(tmp_path / "rep.csv"), "--frame", str(results), "--sample",
            str(out / "draw.json"), "--empty", "collapse"]  # fmt: skip
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "a take-all station has not reported" in " ".join(r.output.split())
    r = runner.invoke(app, [*args, "--json"])
    assert json.loads(r.stdout)["warnings"][0].startswith("a take-all station has not")
