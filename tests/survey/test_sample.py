"""Sample design: allocation closed forms, inclusion probabilities by simulation, audit."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from saylau._exceptions import DataFormatError, SaylauInputError, UnknownNameError
from saylau.survey.frame import SamplingFrame
from saylau.survey.sample import (
    SampleDraw,
    allocate_sample,
    draw_sample,
    read_draw,
    redo_draw,
    write_assignment_sheets,
)


def make_frame(seed: int = 0) -> SamplingFrame:
    g = np.random.default_rng(seed)
    n = [30, 20, 10]
    regions = ["Алматы", "North/West", "South"]
    rows = []
    for r, k in zip(regions, n, strict=True):
        for i in range(k):
            rows.append(
                {
                    "station": f"{r[:2]}{i:03d}",
                    "registered": int(g.integers(100, 3000)),
                    "region": r,
                    "urban": "u" if i % 3 else "r",
                    "past:A": int(g.integers(0, 500)),
                    "past:valid": 600,
                }
            )
    return SamplingFrame.from_frame(pl.DataFrame(rows))


@pytest.fixture(scope="module")
def frame() -> SamplingFrame:
    return make_frame()


def test_allocation_closed_forms():
    pop = {"a": 500, "b": 300, "c": 200}
    # proportional: 50 · N_h / N = 25, 15, 10 exactly
    assert allocate_sample(50, {k: float(v) for k, v in pop.items()}, pop) == {
        "a": 25,
        "b": 15,
        "c": 10,
    }
    # largest remainders: 10 · (1/3 each) = 3.33 → 4, 3, 3 (first label wins the tie)
    assert allocate_sample(10, dict.fromkeys(pop, 1.0), pop) == {"a": 4, "b": 3, "c": 3}
    # a stratum capped at N_h = 3 and the rest re-allocated 9 → 6/3 by measure 2:1
    assert allocate_sample(12, {"a": 2.0, "b": 1.0, "c": 10.0}, {"a": 50, "b": 50, "c": 3}) == {
        "a": 6,
        "b": 3,
        "c": 3,
    }
    # minimum 2 per stratum
    assert allocate_sample(10, {"a": 100.0, "b": 1.0, "c": 0.0}, pop)["c"] == 2
    with pytest.raises(SaylauInputError, match="larger than the frame"):
        allocate_sample(1001, dict.fromkeys(pop, 1.0), pop)
    with pytest.raises(SaylauInputError, match="too small"):
        allocate_sample(5, dict.fromkeys(pop, 1.0), pop)


def test_neyman_allocation_closed_form(frame):
    draw = draw_sample(
        frame, n=20, strata=["region"], allocation="neyman", neyman_column="past:A", rng=1
    )
    df = frame.frame
    # S_h of the residual y − R x with R = Σy/Σx (x = past:valid, constant here)
    y = df.get_column("past:A").to_numpy().astype(float)
    x = df.get_column("past:valid").to_numpy().astype(float)
    e = y - y.sum() / x.sum() * x
    reg = df.get_column("region").to_numpy()
    m = {h: (reg == h).sum() * e[reg == h].std(ddof=1) for h in set(reg)}
    pop = {h: int((reg == h).sum()) for h in set(reg)}
    assert draw.sample_sizes() == allocate_sample(20, m, pop)


def test_srs_structure_and_probabilities(frame):
    d = draw_sample(frame, n=12, strata=["region"], rng=42)
    assert d.sample_sizes() == {"North/West": 4, "South": 2, "Алматы": 6}
    assert len(set(d.stations)) == 12
    reg = dict(zip(frame.frame["station"], frame.frame["region"], strict=True))
    assert all(reg[s] == h for s, h in zip(d.stations, d.stratum, strict=True))
    expected = {"Алматы": 6 / 30, "North/West": 4 / 20, "South": 2 / 10}
    np.testing.assert_allclose(d.prob, [expected[h] for h in d.stratum])


def test_srs_inclusion_frequencies_by_simulation(frame):
    # every station of a stratum is drawn with probability n_h / N_h (3,000 draws; the
    # binomial sd of a frequency near 0.2 is 0.0073, so 0.04 is over 5 sd)
    counts = dict.fromkeys(frame.frame["station"].to_list(), 0)
    g = np.random.default_rng(0)
    reps = 3000
    for _ in range(reps):
        for s in draw_sample(frame, n=12, strata=["region"], rng=g).stations:
            counts[s] += 1
    reg = dict(zip(frame.frame["station"], frame.frame["region"], strict=True))
    expected = {"Алматы": 0.2, "North/West": 0.2, "South": 0.2}
    for s, c in counts.items():
        assert abs(c / reps - expected[reg[s]]) < 0.04


def test_pps_probabilities_closed_form_and_simulation():
    sizes = np.array([5000, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100])
    fr = SamplingFrame.from_frame(
        pl.DataFrame(
            {
                "station": [f"s{i:02d}" for i in range(len(sizes))],
                "registered": sizes,
                "region": ["r"] * len(sizes),
            }
        )
    )
    d = draw_sample(fr, n=4, method="pps", rng=1)
    # s00 has 4·5000/11600 > 1: taken with certainty; the other 3 with π = 3 x_i / 6600
    assert "s00" in d.stations
    pos = d.stations.index("s00")
    assert d.certainty[pos] and d.prob[pos] == 1.0
    rest = sizes[1:].sum()
    for s, p, c in zip(d.stations, d.prob, d.certainty, strict=True):
        if not c:
            assert p == pytest.approx(3 * sizes[int(s[1:])] / rest)
    # Horvitz–Thompson estimate of the total size is exact under PPS: Σ x_i / π_i = X
    x_sel = np.array([sizes[int(s[1:])] for s in d.stations])
    assert float((x_sel / d.prob).sum()) == pytest.approx(float(sizes.sum()))
    # simulation: inclusion frequencies match π_i
    g = np.random.default_rng(7)
    reps = 3000
    hits = np.zeros(len(sizes))
    for _ in range(reps):
        for s in draw_sample(fr, n=4, method="pps", rng=g).stations:
            hits[int(s[1:])] += 1
    pi = np.r_[1.0, 3 * sizes[1:] / rest]
    # each frequency within 4 binomial sd of its inclusion probability (certainty: exactly 1)
    assert np.all(np.abs(hits / reps - pi) <= 4 * np.sqrt(pi * (1 - pi) / reps) + 1e-12)


def test_pps_with_sort_order_is_systematic(frame):
    d = draw_sample(frame, n=9, strata=["region"], method="pps", sort_by=["urban"], rng=3)
    assert sum(d.sample_sizes().values()) == 9
    assert d.sort_by == ("urban",)
    assert redo_draw(d, frame).stations == d.stations


def test_reproducible_and_order_free(frame):
    a = draw_sample(frame, n=12, strata=["region", "urban"], method="pps", rng=2024)
    b = draw_sample(frame, n=12, strata=["region", "urban"], method="pps", rng=2024)
    assert a.stations == b.stations and a.seed == 2024
    shuffled = SamplingFrame.from_frame(frame.frame.sample(fraction=1.0, shuffle=True, seed=1))
    c = draw_sample(shuffled, n=12, strata=["region", "urban"], method="pps", rng=2024)
    assert c.stations == a.stations
    assert redo_draw(a, shuffled).stations == a.stations
    other = draw_sample(frame, n=12, strata=["region", "urban"], method="pps", rng=2025)
    assert other.stations != a.stations


def test_seed_recorded_when_not_given(frame):
    d = draw_sample(frame, n=6, strata=["region"])
    assert isinstance(d.seed, int)
    assert redo_draw(d, frame).stations == d.stations
    g = np.random.default_rng(5)
    e = draw_sample(frame, n=6, strata=["region"], rng=g)
    assert draw_sample(frame, n=6, strata=["region"], rng=e.seed).stations == e.stations


def test_audit_detects_a_different_frame(frame):
    d = draw_sample(frame, n=6, strata=["region"], rng=1)
    changed = SamplingFrame.from_frame(
        frame.frame.with_columns(
            pl.when(pl.col("station") == "Ал000")
            .then(pl.col("registered") + 1)
            .otherwise(pl.col("registered"))
            .alias("registered")
        )
    )
    with pytest.raises(DataFormatError, match="frame differs"):
        redo_draw(d, changed)


def test_given_allocation_and_errors(frame):
    d = draw_sample(
        frame, n=4, strata=["region"], allocation={"Алматы": 3, "North/West": 0, "South": 1}, rng=1
    )
    assert d.sample_sizes() == {"North/West": 0, "South": 1, "Алматы": 3}
    assert d.allocation == "given"
    assert redo_draw(d, frame).stations == d.stations
    with pytest.raises(SaylauInputError, match="does not match"):
        draw_sample(frame, n=4, strata=["region"], allocation={"Алматы": 3}, rng=1)
    with pytest.raises(UnknownNameError):
        draw_sample(frame, n=4, strata=["nope"], rng=1)
    with pytest.raises(UnknownNameError):
        draw_sample(frame, n=4, method="cluster", rng=1)  # type: ignore[arg-type]
    with pytest.raises(UnknownNameError, match="Neyman"):
        draw_sample(frame, n=8, strata=["region"], allocation="neyman", rng=1)


def test_sheets_and_record_round_trip(frame, tmp_path):
    d = draw_sample(frame, n=12, strata=["region"], method="pps", rng=9)
    files = write_assignment_sheets(d, frame, tmp_path / "out")
    names = sorted(p.name for p in files)
    assert "draw.json" in names and "sample.csv" in names
    sheets = sorted(p.name for p in (tmp_path / "out" / "sheets").iterdir())
    assert sheets == ["North_West.csv", "South.csv", "Алматы.csv"]  # "/" is not a file name
    total = sum(pl.read_csv(p).height for p in (tmp_path / "out" / "sheets").iterdir())
    assert total == 12
    back = read_draw(tmp_path / "out" / "draw.json")
    assert isinstance(back, SampleDraw)
    assert back.stations == d.stations
    np.testing.assert_allclose(back.prob, d.prob)
    assert redo_draw(back, frame).stations == d.stations
    rec = json.loads((tmp_path / "out" / "draw.json").read_text(encoding="utf-8"))
    assert rec["seed"] == 9 and rec["format"] == "saylau-sample-draw/1"
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    with pytest.raises(DataFormatError, match="not a saylau sample-draw record"):
        read_draw(tmp_path / "bad.json")
