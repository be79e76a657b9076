"""Do the quick count's 95% intervals cover the truth? Real elections as known populations.

The complete precinct results are a population whose national shares are known exactly. We
draw stratified (by region) simple random samples of stations from them, over and over, and
count how often the 95% interval of each choice's share holds the true share. Honest margins
cover 95% of the time: with 1,000 draws the Monte Carlo standard deviation of a coverage rate is
0.7 points, so 93–97% is the ±3 sd band (the issue's acceptance band). "No material bias": the
mean estimate is within 0.15 of the estimate's standard deviation of the truth. A bias that
size would lower a 95% coverage by only 0.3 points, and it is 4.7 Monte Carlo standard errors
of the mean over 1,000 draws (sd/√1000 = 0.032 sd), so chance alone does not trip it. The
estimated standard errors must also match the spread of the estimates within 12% for every
share of 1% or more (below that the spread of a skewed small share is itself noisy; coverage
is still checked).

Truth (shares of the votes for all choices, Against all included) is the full file's sum, a
known total; the check against published figures is that Putin 2004 is 71.31% of valid +
invalid ballots (../shared/data/README.md) and Duda 2020 is 43.50% of valid votes (the PKW's
round1-official-result.txt).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from saylau.domain.table import ProtocolTable
from saylau.io import read_protocols
from saylau.survey.coverage import coverage_study
from saylau.survey.planning import design_effect_from_table

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

pytestmark = pytest.mark.realdata


def load(*parts: str) -> ProtocolTable:
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not available")
    return read_protocols(path)


@pytest.fixture(scope="module")
def russia2004() -> ProtocolTable:
    return load("russia", "2004.csv.zip")


def check(cov, *, low: float = 0.93, high: float = 0.97) -> None:
    for c, rate, bias, sd in zip(
        cov.choices, cov.coverage, cov.bias, cov.empirical_sd, strict=True
    ):
        assert low <= rate <= high, f"{c}: coverage {rate:.3f}"
        assert abs(bias) < 0.15 * sd, f"{c}: bias {bias:.2e} vs sd {sd:.2e}"
    big = cov.truth >= 0.01
    assert np.all(np.abs(cov.se_ratio[big] - 1) < 0.12), cov.se_ratio


def test_truth_matches_published_figures(russia2004):
    cov = coverage_study(russia2004, n=500, draws=10, denominator="cast", rng=0)
    putin = cov.choices.index("Путин Владимир Владимирович")
    assert round(100 * cov.truth[putin], 2) == 71.31
    assert "Против всех" in cov.choices


@pytest.mark.parametrize("n", [500, 1000, 2000])
def test_russia_2004_against_all_included(russia2004, n):
    cov = coverage_study(russia2004, n=n, strata=["region"], draws=1000, rng=2004 + n)
    assert cov.n == n and cov.strata == 91 and cov.draws == 1000
    check(cov)


def test_russia_2004_small_shares_logit_interval(russia2004):
    # Against all is 3.5%: the logit interval is also honest for it
    cov = coverage_study(russia2004, n=1000, strata=["region"], draws=1000, interval="logit", rng=7)
    aa = cov.choices.index("Против всех")
    assert 0.93 <= cov.coverage[aa] <= 0.97
    check(cov)


def test_poland_2020_clean_election():
    t = load("poland-2020", "round1.csv.zip")
    cov = coverage_study(t, n=1000, strata=["region"], draws=1000, rng=2020)
    duda = cov.choices.index("Andrzej Sebastian DUDA")
    assert round(100 * cov.truth[duda], 2) == 43.50
    check(cov)


def test_russia_2011_election_with_anomalies():
    t = load("russia", "2011.csv.zip")
    cov = coverage_study(t, n=1500, strata=["region"], draws=1000, rng=2011)
    check(cov)


def test_planner_design_effect_predicts_the_spread(russia2004):
    # the planner's design effect, measured on the full file with regions as strata, predicts
    # the standard deviation of a 1,000-station quick count: sqrt(deff p(1-p) / (n m̄) (1-f))
    n = 1000
    cov = coverage_study(russia2004, n=n, strata=["region"], draws=1000, rng=99)
    for name in ("Путин Владимир Владимирович", "Против всех"):
        de = design_effect_from_table(russia2004, name, strata=["region"])
        k = cov.choices.index(name)
        predicted = np.sqrt(
            de.deff * de.p * (1 - de.p) / (n * de.mean_ballots) * (1 - n / de.stations)
        )
        assert de.p == pytest.approx(cov.truth[k], rel=1e-3)
        # Monte Carlo sd of an sd over 1,000 draws is about 2.2%
        assert cov.empirical_sd[k] == pytest.approx(predicted, rel=0.1)
