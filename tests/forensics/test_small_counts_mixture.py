"""The small-count test's default (mixture) null: exact, level kept under honest heterogeneity.

Sources of the expected numbers: exact enumeration of every station configuration (the
conditional law), simulations with a known truth (clean: rates drawn per station; planted: 1s
and 2s written in place of the counts), and the published pattern: A. Kireev's rule in
D. Kobak's notebook ``analysis/duma2021/duma2021.ipynb`` of the repository ``dkobak/elections``
(last cell, "Kireev anomaly"; commit 1ade09ea9a0ce998b8e301ff795772078813c0fc): every (region,
tik, party) of ``data/2021.csv.zip`` (= ``../shared/data/russia/2021.csv.zip``) with more than 20
stations at exactly 1 vote, more than 20 at exactly 2 and fewer than 10 at 0. The notebook
prints 11 pairs, kept in ``tests/results/kireev_2021.json``:

- Kabardino-Balkaria / Nalchik city / Greens (2);
- Bashkortostan / Dyurtyuli / Fair Russia (6); Sterlitamak city / Yabloko (7);
  Ufa Kalininsky / Green Alternative (12); Ufa Oktyabrsky / Party of Growth (8),
  Party of Freedom and Justice (9), Green Alternative (12), Rodina (13);
  Khaibullinsky / Fair Russia (6);
- Tatarstan / Laishevo / Rodina (13); Naberezhnye Chelny Central / Party of Freedom and
  Justice (9).
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import polars as pl
import pytest

from saylau._exceptions import SaylauInputError
from saylau.domain.table import ProtocolTable
from saylau.forensics._small_window import tarone_bonferroni, window_tails
from saylau.forensics.small_counts import small_counts
from tests.conftest import RESULTS
from tests.forensics.test_small_counts import _simulate


def _brute(counts: tuple[int, int, int, int], n: float) -> tuple[float, float]:
    """P(N1 + N2 >= observed) and the smallest attainable p-value, by enumerating every
    assignment of 0..3 votes to the M stations with the observed total, each weighted by the
    binomial's prod C(n, y_s) / n**y_s (the Poisson's 1 / y_s! when n is infinite)."""
    m = sum(counts)
    s = counts[1] + 2 * counts[2] + 3 * counts[3]
    obs = counts[1] + counts[2]

    def weight(y: int) -> float:
        if math.isinf(n):
            return 1.0 / math.factorial(y)
        return math.comb(int(n), y) / n**y

    law: dict[int, float] = {}
    for ys in itertools.product(range(4), repeat=m):
        if sum(ys) == s:
            k = sum(1 for y in ys if y in (1, 2))
            law[k] = law.get(k, 0.0) + math.prod(weight(y) for y in ys)
    total = sum(law.values())
    return sum(v for k, v in law.items() if k >= obs) / total, law[max(law)] / total


def test_window_law_is_the_enumerated_conditional_law() -> None:
    cases = [(1, 2, 2, 0), (0, 3, 2, 1), (2, 1, 1, 2), (0, 0, 4, 2), (3, 2, 0, 1), (1, 1, 1, 1)]
    for n in (math.inf, 40.0):
        got_p, got_min, expected, sd = window_tails(
            np.array(cases, dtype=np.int64), np.full(len(cases), min(n, 1e12))
        )
        for i, c in enumerate(cases):
            p, pmin = _brute(c, n)
            assert got_p[i] == pytest.approx(p, rel=1e-9)
            assert got_min[i] == pytest.approx(pmin, rel=1e-9)
        assert np.all(sd >= 0)
        assert np.all(expected.sum(axis=1) <= np.array([sum(c) for c in cases]) + 1e-9)


def _clean_counts(gen: np.random.Generator, scenario: str, cells: int, per: int) -> np.ndarray:
    """Stations at 0..3 votes of ``cells`` honest commissions: binomial counts, each station
    with its own rate drawn by the scenario (the truth is: no drawing)."""
    n = gen.integers(150, 2500, size=(cells, per))
    if scenario == "homogeneous":  # the least favourable case: one rate
        lam = np.broadcast_to(gen.uniform(0.5, 3.0, size=(cells, 1)), (cells, per))
    elif scenario == "bulk_and_outliers":  # 1-3 votes in most stations, dozens in a few
        lam = np.where(gen.random((cells, per)) < 0.1, 20.0, 2.0)
    elif scenario == "two_neighbourhoods":
        lam = np.where(gen.random((cells, per)) < 0.5, 0.7, 4.0)
    elif scenario == "equal_counts_any_size":  # rate inverse to size: the binomial null's trap
        lam = np.full((cells, per), 1.5)
    else:  # gamma spread
        lam = gen.gamma(1.5, 1.5, size=(cells, per))
    y = gen.binomial(n, np.minimum(lam / n, 1.0))
    return np.stack([(y == k).sum(axis=1) for k in range(4)], axis=1), n.min(axis=1)


@pytest.mark.parametrize(
    "scenario",
    ["homogeneous", "bulk_and_outliers", "two_neighbourhoods", "equal_counts_any_size", "gamma"],
)
def test_level_holds_under_honest_heterogeneity(scenario: str) -> None:
    # 3,000 honest commissions of 50 stations: the share of p-values below a level is at most
    # that level plus 3 binomial standard deviations (the discrete test is conservative)
    gen = np.random.default_rng(sum(map(ord, scenario)))
    counts, nmin = _clean_counts(gen, scenario, 3000, 50)
    p, _pmin, _e, _sd = window_tails(counts, nmin.astype(np.float64))
    for level in (0.01, 0.05, 0.2):
        band = level + 3 * math.sqrt(level * (1 - level) / p.size)
        assert (p <= level).mean() <= band, (scenario, level, (p <= level).mean())


def _table_from_counts(y: np.ndarray, valid: np.ndarray, per: int) -> ProtocolTable:
    """Commissions of ``per`` stations; "Small" gets ``y``, "Mid" about 40% of the rest."""
    cells = y.size // per
    mid = (valid - y) * 2 // 5
    frame = pl.DataFrame(
        {
            "station": [str(i) for i in range(y.size)],
            "tik": np.repeat([f"T{c:03d}" for c in range(cells)], per),
            "voters_on_list": valid * 2,
            "issued": valid,
            "invalid": np.zeros(y.size, dtype=np.int64),
            "valid": valid,
            "Big": valid - y - mid,
            "Mid": mid,
            "Small": y,
        }
    )
    return ProtocolTable.from_frame(
        frame, profile="plain", choices=["Big", "Mid", "Small"], levels=["tik"]
    )


def test_bulk_and_outliers_fool_the_beta_binomial_but_not_the_mixture_null() -> None:
    # known truth: honest stations, 90% with about 2 votes for Small, 10% with about 20 (its
    # candidate's home village); the beta law of the model-based null cannot fit both
    gen = np.random.default_rng(3)
    per, cells = 60, 40
    valid = gen.integers(300, 1500, size=per * cells)
    lam = np.where(gen.random(valid.size) < 0.1, 20.0, 2.0)
    table = _table_from_counts(gen.binomial(valid, lam / valid), valid, per)
    mixture = small_counts(table, choices=["Small"])
    beta = small_counts(table, choices=["Small"], null="betabinomial")
    assert not mixture.finding.alarm and not mixture.flagged
    assert beta.finding.alarm and len(beta.flagged) >= 10


def test_planted_pattern_is_found_and_clean_elections_are_flagged_at_the_level() -> None:
    gen = np.random.default_rng(2016)
    # 1s and 2s written in place of the counts of a party with ~1 vote per station: the truth
    truth = {3: "Micro", 11: "Micro", 17: "Micro", 38: "Micro"}
    res = small_counts(_simulate(gen, drawn=truth), by="tik")
    expected = {(f"R / T{c:02d}", party) for c, party in truth.items()}
    assert expected <= set(res.flagged) and len(set(res.flagged) - expected) <= 1
    assert res.finding.alarm and "Tarone" in res.finding.correction
    cell = res.cell("R / T03", "Micro")
    assert cell.statistic == 30 and cell.observed[0] == 0 and cell.at_three == 0
    assert cell.pvalue <= 1e-4 and cell.smallest_pvalue <= cell.pvalue
    # clean elections with over-dispersed support: the family alarm (level 1%) rings in at
    # most 1% of 40 runs plus 3 binomial sds (at most 1 run), a flagged list (FDR 5%: under the
    # global null the chance of any flag is at most 5%) in at most 5% plus 3 sds (7 runs)
    alarms = flags = 0
    for _ in range(40):
        r = small_counts(_simulate(gen, commissions=30, per=30, spread=0.02), by="tik")
        alarms += r.finding.alarm
        flags += bool(r.flagged)
    assert alarms <= 40 * 0.01 + 3 * math.sqrt(40 * 0.01 * 0.99)
    assert flags <= 40 * 0.05 + 3 * math.sqrt(40 * 0.05 * 0.95)


def test_tarone_counts_only_the_cells_that_can_reach_the_level() -> None:
    gen = np.random.default_rng(9)
    smallest = 10.0 ** -gen.uniform(0, 8, size=500)
    p = np.maximum(gen.uniform(size=500), smallest)
    fam_p, fam, k = tarone_bonferroni(p, smallest, 0.01)
    # K is the least K with #{smallest <= 0.01 / K} <= K, by brute force over every K
    reach = [int((smallest <= 0.01 / kk).sum()) for kk in range(1, 501)]
    assert k == next(kk for kk, r in enumerate(reach, start=1) if r <= kk)
    assert fam.sum() == reach[k - 1] <= k
    assert fam_p == pytest.approx(min(1.0, k * p[fam].min()))
    assert tarone_bonferroni([0.5], [0.5], 0.01)[0] == 1.0  # no cell can reach it


def test_declared_rules_of_the_mixture_null() -> None:
    gen = np.random.default_rng(1)
    valid = np.array([50, 500, 600, 700, 800, 900] * 5)
    y = gen.binomial(valid, 0.002)
    res = small_counts(_table_from_counts(y, valid, 6), choices=["Small"])
    assert res.excluded["below_min_valid"] == 5  # the stations with 50 valid ballots
    assert all(c.stations == 5 for c in res.cells)
    assert math.isnan(res.cells[0].pvalue_excess) and res.null == "mixture"
    with pytest.raises(SaylauInputError):
        small_counts(_table_from_counts(y, valid, 6), pattern="excess")
    with pytest.raises(SaylauInputError):
        small_counts(_table_from_counts(y, valid, 6), alpha=0.0)


def _published_pairs_found(res: object, pairs: list[list[str]]) -> list[tuple[str, str]]:
    found = []
    for region, tik, party in pairs:
        cells = [
            c
            for c in res.cells  # type: ignore[attr-defined]
            if c.unit.startswith(region + " / ")
            and c.unit.endswith(" / " + tik)
            and c.choice == party
        ]
        assert cells, (region, tik, party)
        if any(c.flagged for c in cells):
            found.append((tik, party))
    return found


@pytest.mark.realdata
def test_finds_kireevs_published_2021_pattern() -> None:
    """Of the 11 published pairs (module docstring), the default mixture null flags 5 (BH 5%)
    and raises the alarm: Nalchik / Greens, Dyurtyuli / Fair Russia, Ufa Kalininsky / Green
    Alternative, Ufa Oktyabrsky / Party of Growth, Laishevo / Rodina. The other 6 have 0-3
    vote stations that some honest spread of support between stations could give (e.g.
    Sterlitamak / Yabloko: 6 stations at 0, 24 at 1, 21 at 2, 16 at 3 among those with 100+
    valid ballots); the model-based beta-binomial null flags 10, the binomial 4, but neither is
    calibrated on honest heterogeneity."""
    from tests.conftest import shared_table

    pairs = json.loads((RESULTS / "kireev_2021.json").read_text(encoding="utf-8"))["pairs"]
    assert len(pairs) == 11
    table = shared_table("russia", "2021.csv.zip")
    res = small_counts(table)
    assert res.null == "mixture" and res.finding.alarm and res.pvalue < 1e-6
    assert len(_published_pairs_found(res, pairs)) >= 5
    # Kireev's counts hold on the file: more than 20 at 1 and at 2 votes, fewer than 10 at 0
    reg = table.level_values("region").astype(str)
    tik = table.level_values("tik").astype(str)
    for region, t, party in pairs:
        v = table.votes(table.choice(party))[(reg == region) & (tik == t)]
        assert (v == 1).sum() > 20 and (v == 2).sum() > 20 and (v == 0).sum() < 10
    assert len(_published_pairs_found(small_counts(table, null="betabinomial"), pairs)) >= 10
    binomial = small_counts(table, null="binomial", base="valid")
    assert len(_published_pairs_found(binomial, pairs)) == 4


@pytest.mark.realdata
def test_clean_polish_control_raises_no_alarm() -> None:
    from tests.conftest import shared_table

    res = small_counts(shared_table("poland-2020", "round1.csv.zip"))
    assert not res.finding.alarm and not res.flagged
    assert res.ntests > 20_000 and res.pvalue > 0.01


def test_two_stations_closed_form() -> None:
    # two stations with 2 votes between them: (1, 1) has Poisson weight 1, (0, 2) and (2, 0)
    # weight 1/2 each, so P(both at 1 or 2) = 1 / 2 (closed form); one station: a point mass
    p, pmin, _e, _sd = window_tails(np.array([[0, 2, 0, 0], [0, 0, 1, 0]]), np.full(2, 1e12))
    assert p[0] == pytest.approx(0.5, rel=1e-12) and pmin[0] == pytest.approx(0.5, rel=1e-12)
    assert p[1] == 1.0 and pmin[1] == 1.0


def test_readme_row_uses_the_words_of_the_output() -> None:
    from saylau.forensics.small_counts import MIXTURE_CAVEAT
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"| small counts | test | {MIXTURE_CAVEAT} |" in readme
