"""Report fixtures: one election with every kind of input, its reports in kk, ru and en.

The election is the bundled sample (Russia 2004, five regions, with Against all). The other
inputs are built here with a known truth:

* observer copies of 300 stations equal to the official protocols, except 5 stations whose
  copies give the leader 50 votes fewer and the first other candidate 50 more (so the
  official result "moves" 5 x 50 = 250 votes from that candidate to the leader);
* a quick count: a stratified sample of 300 stations (``saylau.survey.draw_sample``, seed 3)
  whose reports are the official protocols (an honest count);
* an exit poll simulated on the sample election (``simulate_exitpoll_on``, seed 2), with its
  own frame and the interviewers' tally of voters approached;
* four incident reports (two confirmed, one unverified, one rejected);
* observers' head counts at 40 stations (14 counted by two observers), each count the ballots
  issued in the station with a counting error of 0.5 per square-root voter, except 3 stations
  where the observers saw 20% fewer voters than the protocol's ballots (known padding).

The reports are written once per session into ``SAYLAU_REPORT_OUTPUT`` (default
``tests/_output/report``), where the browser and PDF tests leave their screenshots.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from saylau.io import read_protocols, sample_path
from saylau.report import ReportData, ReportResult, prepare_report, write_report

OUTPUT = Path(
    os.environ.get("SAYLAU_REPORT_OUTPUT")
    or Path(__file__).resolve().parents[1] / "_output" / "report"
)
MOVED = 50
ALTERED = 5


@dataclass(frozen=True)
class Inputs:
    official: Path
    copies: Path
    quick_count: Path
    quick_count_sample: Path
    exit_poll: Path
    exit_poll_frame: Path
    exit_poll_tally: Path
    incidents: Path
    head_counts: Path
    padded: tuple[str, ...]
    leader: str
    other: str


@pytest.fixture(scope="session")
def output_folder() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT


@pytest.fixture(scope="session")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    from saylau.survey import draw_sample, frame_from_table, simulate_exitpoll_on

    folder = tmp_path_factory.mktemp("inputs")
    table = read_protocols(sample_path())
    frame = table.frame
    lead = table.leader().id
    other = next(c.id for c in table.choices if c.id != lead and not c.against_all)
    copies = frame.sample(300, seed=1)
    first = pl.int_range(pl.len()) < ALTERED
    copies = copies.with_columns(
        pl.when(first).then(pl.col(lead) - MOVED).otherwise(pl.col(lead)).alias(lead),
        pl.when(first).then(pl.col(other) + MOVED).otherwise(pl.col(other)).alias(other),
    )
    copies.write_csv(folder / "copies.csv")
    draw = draw_sample(frame_from_table(table), n=300, strata=["region"], rng=3)
    (folder / "qc-draw.json").write_text(
        json.dumps(draw.to_record(), ensure_ascii=False), encoding="utf-8"
    )
    frame.filter(pl.col("station").is_in(list(draw.stations))).write_csv(folder / "qc.csv")
    sim = simulate_exitpoll_on(table, n_sampled=60, per_station=30, rng=2)
    sim.interviews.data.select("station", "band", pl.col("answer").alias("choice")).write_csv(
        folder / "exitpoll.csv"
    )
    sim.frame.write_csv(folder / "exitpoll-frame.csv")  # its own frame: stratum, prob, sampled
    assert sim.tally is not None
    sim.tally.write_csv(folder / "exitpoll-tally.csv")  # voters approached per station, band
    pl.DataFrame(
        {
            "code": ["VOTE.STUFFING", "VOTE.STUFFING", "COUNT.HIDDEN", "PROTOCOL.COPY"],
            "region": [
                "Республика Татарстан (Татарстан)",
                "Республика Татарстан (Татарстан)",
                "Город Москва",
                "",
            ],
            "status": ["confirmed", "", "rejected", "confirmed"],
        }
    ).write_csv(folder / "incidents.csv")
    import numpy as np

    from saylau.turnout._common import issued_seen

    seen, _rule = issued_seen(table)
    rng = np.random.default_rng(4)
    ids = frame.get_column("station").cast(pl.Utf8).to_numpy()
    counted = rng.choice(np.flatnonzero(seen > 200), size=40, replace=False)
    padded = counted[:3]
    rows: dict[str, list[Any]] = {"station": [], "observer": [], "checkpoint": [], "count": []}
    for k, i in enumerate(counted):
        truth = seen[i] * (0.8 if i in padded else 1.0)
        for obs in ("a", "b") if k >= 26 else ("a",):
            n = max(round(truth + rng.normal(0.0, 0.5 * np.sqrt(truth))), 0)
            for cp, share in (("12:00", 0.4), ("close", 1.0)):
                rows["station"].append(str(ids[i]))
                rows["observer"].append(f"{ids[i]}-{obs}")
                rows["checkpoint"].append(cp)
                rows["count"].append(round(n * share))
    pl.DataFrame(rows).write_csv(folder / "head-counts.csv")
    return Inputs(
        official=sample_path(),
        copies=folder / "copies.csv",
        quick_count=folder / "qc.csv",
        quick_count_sample=folder / "qc-draw.json",
        exit_poll=folder / "exitpoll.csv",
        exit_poll_frame=folder / "exitpoll-frame.csv",
        exit_poll_tally=folder / "exitpoll-tally.csv",
        incidents=folder / "incidents.csv",
        head_counts=folder / "head-counts.csv",
        padded=tuple(str(ids[i]) for i in padded),
        leader=table.leader().name,
        other=next(c.name for c in table.choices if c.id == other),
    )


@pytest.fixture(scope="session")
def full_data(inputs: Inputs) -> ReportData:
    return prepare_report(
        inputs.official,
        copies=inputs.copies,
        quick_count=inputs.quick_count,
        quick_count_sample=inputs.quick_count_sample,
        exit_poll=inputs.exit_poll,
        exit_poll_frame=inputs.exit_poll_frame,
        exit_poll_strata=["stratum"],
        exit_poll_tally=inputs.exit_poll_tally,
        incidents=inputs.incidents,
        head_counts=inputs.head_counts,
        strata=["region"],
        seed=0,
        resamples=200,
    )


@pytest.fixture(scope="session")
def full_reports(full_data: ReportData, output_folder: Path) -> dict[str, ReportResult]:
    return {
        lang: write_report(full_data, out=output_folder, lang=lang, stem="full")
        for lang in ("kk", "ru", "en")
    }
