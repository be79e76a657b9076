"""Sample-size planner: closed forms (tests/results/survey_closed_forms.json) and a simulation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from saylau._exceptions import SaylauInputError
from saylau.domain.table import ProtocolTable
from saylau.survey.planning import (
    design_effect_from_table,
    margin_of_error,
    plan_exit_poll,
    plan_quick_count,
    skip_interval,
    voters_needed,
)

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "results" / "survey_closed_forms.json").read_text(
        encoding="utf-8"
    )
)


def test_ndi_example_exact_formula_not_the_rounded_figure():
    ref = REF["ndi_peru_2001"]
    inp = ref["inputs"]
    plan = voters_needed(inp["moe"], p=inp["p"], z=inp["z"], population=inp["population"])
    assert plan.voters_exact == pytest.approx(ref["exact"], rel=1e-12)
    assert plan.voters == 160718  # rounded up
    assert plan.voters != ref["handbook_printed"]
    # the printed figure comes from the handbook's rounded intermediate terms
    assert int(0.25 / 0.000001532) == ref["handbook_printed"]


def test_familiar_1068():
    ref = REF["srs_3_points_95"]
    plan = voters_needed(ref["inputs"]["moe"], confidence=ref["inputs"]["confidence"])
    assert plan.voters_exact == pytest.approx(ref["exact"], rel=1e-9)
    assert plan.voters == ref["voters"]
    assert plan.moe_achieved <= 0.03


def test_quick_count_with_rho_and_fpc():
    ref = REF["quick_count_rho"]
    plan = plan_quick_count(**ref["inputs"])
    assert plan.deff == pytest.approx(ref["deff"])
    assert plan.stations_exact == pytest.approx(ref["stations_exact"], rel=1e-9)
    assert plan.stations == ref["stations"]
    assert plan.moe_achieved <= ref["inputs"]["moe"]
    ref2 = REF["quick_count_fpc"]
    plan2 = plan_quick_count(**ref2["inputs"])
    assert plan2.stations_exact == pytest.approx(ref2["stations_exact"], rel=1e-9)
    assert plan2.stations == ref2["stations"]
    # a measured design effect overrides rho
    plan3 = plan_quick_count(moe=0.01, voters_per_station=500, deff=10.98, rho=0.5)
    assert plan3.stations == ref["stations"]


def test_exit_poll_and_skip_interval():
    ref = REF["exit_poll"]
    plan = plan_exit_poll(**ref["inputs"])
    assert plan.deff == pytest.approx(ref["deff"])
    assert plan.stations == ref["stations"]
    assert plan.voters == ref["interviews"]
    assert plan.contacts == ref["contacts"]
    sk = REF["skip_interval"]
    s = skip_interval(**sk["inputs"])
    assert s.k == sk["k"]
    assert s.expected_interviews == pytest.approx(sk["expected_interviews"])
    # a tiny station: approach everyone
    assert skip_interval(registered=50, expected_turnout=0.5, interviews=100).k == 1


def test_margin_of_error_inverts_the_sample_size():
    for e in (0.005, 0.01, 0.02):
        n = voters_needed(e).voters_exact
        assert margin_of_error(n) == pytest.approx(e, rel=1e-9)
    # deff multiplies the variance
    assert margin_of_error(1000, deff=4) == pytest.approx(2 * margin_of_error(1000))


def test_bad_planning_input():
    with pytest.raises(SaylauInputError, match="margin of error"):
        voters_needed(3)
    with pytest.raises(SaylauInputError, match="design effect or the intra-station"):
        plan_quick_count(moe=0.01, voters_per_station=500)
    with pytest.raises(SaylauInputError, match="rho"):
        plan_quick_count(moe=0.01, voters_per_station=500, rho=2.0)
    with pytest.raises(SaylauInputError, match="turnout"):
        skip_interval(registered=100, expected_turnout=0, interviews=10)


def test_design_effect_from_past_results_recovers_known_rho():
    # simulation with known truth: station shares p_i ~ Beta(a, b) and y_i ~ Bin(m, p_i)
    # give an intra-station correlation rho = 1/(a + b + 1) and deff = 1 + (m − 1) rho
    g = np.random.default_rng(0)
    a, b, m, stations = 39.6, 59.4, 400, 20_000  # mean 0.4, rho = 0.01
    rho = 1 / (a + b + 1)
    p = g.beta(a, b, size=stations)
    y = g.binomial(m, p)
    t = ProtocolTable.from_frame(
        pl.DataFrame(
            {
                "station": [str(i) for i in range(stations)],
                "voters_on_list": [1000] * stations,
                "invalid": [0] * stations,
                "valid": [m] * stations,
                "A": y,
                "B": m - y,
            }
        ),
        profile="plain",
        choices=["A", "B"],
    )
    de = design_effect_from_table(t, "A")
    assert de.p == pytest.approx(0.4, abs=0.005)
    # deff = 4.99; the estimate's sampling error over 20,000 stations is about 1%
    assert de.deff == pytest.approx(1 + (m - 1) * rho, rel=0.05)
    assert de.rho == pytest.approx(rho, rel=0.07)
