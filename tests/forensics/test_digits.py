"""Tests of the Election Forensics Toolkit digit and distribution tests."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from saylau._exceptions import EmptyInputError, SaylauInputError, UnknownNameError
from saylau.domain.table import ProtocolTable
from saylau.forensics.digits import (
    BENFORD_SECOND_DIGIT_MEAN,
    DigitTestsResult,
    digit_tests,
    digit_tests_arrays,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
RESULTS = Path(__file__).resolve().parents[1] / "results"


def _albania_table() -> ProtocolTable:
    path = DATA / "albania-2013" / "Albania2013.csv.gz"
    if not path.exists():
        pytest.skip(f"{path} not available")
    df = pl.read_csv(path, null_values="NA", infer_schema_length=None)
    choices = [c for c in df.columns if c.startswith("C0")]
    frame = df.select(
        pl.col("").cast(pl.Utf8).alias("station"),
        pl.col("Prefectures").alias("region"),
        pl.col("Communes").alias("commune"),
        pl.col("Registered").alias("voters_on_list"),
        pl.col("Ballots").alias("issued"),
        pl.col("Ballots").alias("valid"),
        pl.lit(0, dtype=pl.Int64).alias("invalid"),
        *choices,
    )
    return ProtocolTable.from_frame(
        frame, profile="plain", choices=choices, levels=["region", "commune"], source=str(path)
    )


@pytest.mark.realdata
def test_albania_2013_turnout_row_reproduces_eftoolkit_table() -> None:
    table = _albania_table()
    expected = json.loads((RESULTS / "albania_eftoolkit.json").read_text(encoding="utf-8"))
    res = digit_tests(table, by="region", choices=["C035"], resamples=200, rng=2013)
    for unit, values in expected["turnout"].items():
        row = res.row(unit, "turnout")
        for name, value in values.items():
            # the toolkit prints round(x, 3); ours must round to the same 3 decimals
            assert round(row.statistics[name].estimate, 3) == pytest.approx(value, abs=1e-9), (
                unit,
                name,
            )


@pytest.mark.realdata
def test_albania_array_form_agrees_with_table_form() -> None:
    table = _albania_table()
    frame = table.frame
    res_arr = digit_tests_arrays(
        {"turnout": frame["issued"].to_numpy()},
        denominators={"turnout": frame["voters_on_list"].to_numpy()},
        units=frame["region"].to_list(),
        by="region",
        resamples=0,
    )
    res_tab = digit_tests(table, choices=[], resamples=0)
    for unit in ("BERAT", "DIBER", "DURRES"):
        a = res_arr.row(unit, "turnout").statistics
        b = res_tab.row(unit, "turnout").statistics
        for name in a:
            assert a[name].estimate == pytest.approx(b[name].estimate, nan_ok=True)


def test_second_digit_mean_on_benford_counts() -> None:
    # Log-uniform over whole decades is exactly Benford-distributed in every leading digit;
    # flooring to an integer >= 10 keeps the two leading digits. Truth: 4.18739 (closed form).
    gen = np.random.default_rng(11)
    counts = np.floor(10 ** gen.uniform(1, 5, size=40_000)).astype(np.int64)
    res = digit_tests_arrays({"v": counts}, resamples=200, rng=3)
    s = res.row("national", "v").statistics["2BL"]
    # sd of the second digit under Benford is about 2.87: se = 2.87 / sqrt(40000) = 0.0144
    assert s.estimate == pytest.approx(BENFORD_SECOND_DIGIT_MEAN, abs=4 * 0.0144)
    assert s.interval[0] < BENFORD_SECOND_DIGIT_MEAN < s.interval[1]
    assert abs(BENFORD_SECOND_DIGIT_MEAN - 4.187) < 5e-4  # Hicken & Mebane table 1


def test_last_digit_and_05_shares_on_uniform_counts() -> None:
    gen = np.random.default_rng(12)
    counts = gen.integers(0, 10_000, size=50_000)
    res = digit_tests_arrays({"v": counts}, resamples=200, rng=4)
    st = res.row("national", "v").statistics
    # uniform last digit: mean 4.5, sd 2.87; share ending in 0/5: 0.2, sd 0.4
    assert st["LastC"].estimate == pytest.approx(4.5, abs=4 * 2.87 / math.sqrt(50_000))
    assert st["C05s"].estimate == pytest.approx(0.2, abs=4 * 0.4 / math.sqrt(50_000))
    # no share given: share-based statistics are undefined, as in the toolkit
    assert math.isnan(st["P05s"].estimate) and math.isnan(st["Skew"].estimate)


def test_p05s_on_uniform_shares_and_moments_against_scipy() -> None:
    gen = np.random.default_rng(13)
    n = 20_000
    registered = np.full(n, 1_000_000)
    issued = gen.integers(0, 1_000_001, size=n)  # share ~ uniform(0, 1)
    res = digit_tests_arrays({"turnout": issued}, denominators={"turnout": registered}, resamples=0)
    st = res.row("national", "turnout").statistics
    # round(100 u) ends in 0 or 5 with probability 19 * 0.01 + 2 * 0.005 = 0.2 (closed form)
    assert st["P05s"].estimate == pytest.approx(0.2, abs=4 * 0.4 / math.sqrt(n))
    share = issued / registered
    assert st["Skew"].estimate == pytest.approx(stats.skew(share), rel=1e-9)
    assert st["Kurt"].estimate == pytest.approx(stats.kurtosis(share, fisher=False), rel=1e-9)


def test_rounding_is_half_to_even_as_in_r() -> None:
    # 12.5% rounds to 12 (even), 17.5% to 18, 22.5% to 22; R's round() gives 12, 18, 22.
    res = digit_tests_arrays(
        {"t": [125, 175, 225, 250] * 10}, denominators={"t": [1000] * 40}, resamples=0
    )
    # 12, 18, 22, 25 -> only 25 ends in 0 or 5
    assert res.row("national", "t").statistics["P05s"].estimate == 0.25


def test_second_digit_matches_string_definition() -> None:
    gen = np.random.default_rng(14)
    counts = np.concatenate([gen.integers(0, 10**12, size=2000), np.arange(0, 200)])
    res = digit_tests_arrays({"v": counts}, resamples=0)
    expected = np.mean([int(str(c)[1]) for c in counts if c >= 10])
    assert res.row("national", "v").statistics["2BL"].estimate == pytest.approx(expected)
    assert res.row("national", "v").statistics["2BL"].nobs == int((counts >= 10).sum())


def test_rounded_counts_are_flagged_and_intervals_cover_truth() -> None:
    gen = np.random.default_rng(15)
    counts = 5 * gen.integers(2, 400, size=600)  # every count ends in 0 or 5
    res = digit_tests_arrays({"v": counts}, resamples=200, rng=5)
    assert ("national", "v", "C05s") in res.flagged
    # coverage of the 95% basic interval for LastC on uniform last digits (known truth 4.5)
    hits = 0
    reps = 200
    for i in range(reps):
        c = gen.integers(0, 1000, size=400)
        r = digit_tests_arrays({"v": c}, resamples=300, rng=i)
        lo, hi = r.row("national", "v").statistics["LastC"].interval
        hits += lo <= 4.5 <= hi
    # nominal 0.95: hits ~ Binomial(200, .95); the bound is 3 sd below the nominal rate
    assert hits / reps >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / reps)


def _small_table() -> ProtocolTable:
    n = 60
    gen = np.random.default_rng(7)
    reg = gen.integers(500, 3000, size=n)
    issued = (reg * gen.uniform(0.4, 0.8, size=n)).astype(np.int64)
    a = (issued * gen.uniform(0.3, 0.6, size=n)).astype(np.int64)
    against = (issued * 0.05).astype(np.int64)
    b = issued - a - against
    frame = pl.DataFrame(
        {
            "station": [str(i) for i in range(n)],
            "region": ["R1"] * 30 + ["R2"] * 30,
            "tik": ["T1", "T2"] * 30,
            "voters_on_list": reg,
            "issued": issued,
            "invalid": np.zeros(n, dtype=np.int64),
            "valid": issued,
            "A": a,
            "B": b,
            "Против всех": against,
        }
    )
    return ProtocolTable.from_frame(
        frame, profile="plain", choices=["A", "B", "Против всех"], levels=["region", "tik"]
    )


def test_table_contract_same_seed_order_pickle_and_against_all() -> None:
    t = _small_table()
    r1 = digit_tests(t, resamples=100, rng=9)
    r2 = digit_tests(t, resamples=100, rng=9)
    assert r1 == r2
    assert "Против всех" in r1.quantities  # Against all is a first-class choice
    assert pickle.loads(pickle.dumps(r1)) == r1
    shuffled = ProtocolTable.from_frame(
        t.frame.sample(fraction=1.0, shuffle=True, seed=1),
        profile="plain",
        choices=["A", "B", "Против всех"],
        levels=["region", "tik"],
    )
    r3 = digit_tests(shuffled, resamples=100, rng=9)
    for a, b in zip(r3.rows, r1.rows, strict=True):
        for name in a.statistics:
            sa, sb = a.statistics[name], b.statistics[name]
            assert sa.estimate == pytest.approx(sb.estimate, rel=1e-12, nan_ok=True)
            # rows are put in station order first, so even the bootstrap is the same
            assert sa.interval == pytest.approx(sb.interval, rel=1e-9, nan_ok=True)
    d = r1.to_dict()
    assert d["caveat"] and "weak" in d["caveat"]
    assert r1.to_frame().height == len(r1.rows) * 6
    assert isinstance(r1, DigitTestsResult)


def test_levels_and_bad_input() -> None:
    t = _small_table()
    by_tik = digit_tests(t, by="tik", resamples=0)
    assert by_tik.units == ("R1 / T1", "R1 / T2", "R2 / T1", "R2 / T2")
    assert digit_tests(t, by=None, resamples=0).units == ("national",)
    with pytest.raises(UnknownNameError):
        digit_tests(t, by="oblast")
    with pytest.raises(UnknownNameError):
        digit_tests(t, choices=["Nobody"])
    with pytest.raises(EmptyInputError):
        digit_tests_arrays({})
    with pytest.raises(SaylauInputError):
        digit_tests_arrays({"v": [1, -2, 3]}, resamples=0)
    with pytest.raises(SaylauInputError):
        digit_tests_arrays({"v": [1, 2]}, denominators={"v": [1, 2, 3]}, resamples=0)


def test_declared_rules_are_counted() -> None:
    res = digit_tests_arrays(
        {"t": [50, 120, 30, None, 40] * 10},
        denominators={"t": [100, 100, 0, 100, 0] * 10},
        resamples=0,
    )
    # 120/100 capped to 1 (10 stations) and 40/0 = inf capped too (10), 30/0 = inf (10);
    # missing count (10): share NaN
    assert res.adjustments["missing_count"] == 10
    assert res.adjustments["share_capped"] == 30
    assert res.adjustments["share_undefined"] == 10
    assert res.row("national", "t").statistics["C05s"].nobs == 40


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**15), min_size=30, max_size=60))
def test_digit_means_match_the_decimal_strings(counts: list[int]) -> None:
    res = digit_tests_arrays({"v": counts}, resamples=0)
    s = res.row("national", "v").statistics
    second = [int(str(c)[1]) for c in counts if c >= 10]
    if second:
        assert s["2BL"].estimate == pytest.approx(np.mean(second))
    else:
        assert math.isnan(s["2BL"].estimate)
    assert s["LastC"].estimate == pytest.approx(np.mean([c % 10 for c in counts]))
    assert s["C05s"].estimate == pytest.approx(np.mean([str(c)[-1] in "05" for c in counts]))
    assert res.departures["2BL"] == (0, 0)  # no resamples, no interval, no departure
