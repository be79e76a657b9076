"""Election fingerprint: exact KDE, Kobak's baseline (published values), Klimek's fraud model.

Sources of the expected numbers: SciPy's ``gaussian_kde`` (computed in the tests), the
published baselines in ``tests/results/fingerprint_published.json`` (with their sources), and
simulations with a known truth (``simulate_klimek``, ``simulate_election``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import gaussian_kde

from saylau._exceptions import EmptyInputError, SaylauInputError, UnknownNameError
from saylau.forensics.fingerprint import (
    CAVEAT,
    KlimekFraudModel,
    fingerprint,
    fingerprint_baseline,
    simulate_klimek,
)
from saylau.forensics.kde import gaussian_kde_grid
from saylau.forensics.simulate import FraudSpec, simulate_election

RESULTS = Path(__file__).resolve().parents[1] / "results" / "fingerprint_published.json"
PUBLISHED = json.loads(RESULTS.read_text(encoding="utf-8"))
GRID = np.arange(1000) * 0.001


# ------------------------------------------------------------------------------ exact KDE
@pytest.mark.parametrize(
    ("n", "sd", "seed"),
    [(500, 0.1, 0), (3000, 0.01, 1), (200, 1e-4, 2), (5000, 0.3, 3), (10, 0.5, 4), (2, 0.2, 5)],
)
def test_kde_equals_scipy(n: int, sd: float, seed: int) -> None:
    g = np.random.default_rng(seed)
    x = np.concatenate([g.normal(0.5, sd, n), [2.0, -1.5]])  # outliers off the grid
    ref = gaussian_kde(x)(GRID)
    ours = gaussian_kde_grid(x)
    assert np.max(np.abs(ours - ref)) <= 1e-12 * ref.max()


def test_kde_equals_scipy_on_turnout_like_data() -> None:
    # a mixture with a spike at 100% and a long tail, like real turnout
    g = np.random.default_rng(7)
    x = np.concatenate([g.beta(8, 6, 20000), np.ones(800), g.uniform(0.9, 1.0, 1500)])
    ref = gaussian_kde(x)(GRID)
    assert np.max(np.abs(gaussian_kde_grid(x) - ref)) <= 1e-12 * ref.max()


def test_kde_rejects_bad_data() -> None:
    with pytest.raises(SaylauInputError):
        gaussian_kde_grid([0.5])
    with pytest.raises(SaylauInputError):
        gaussian_kde_grid([0.5, np.nan, 0.3])
    with pytest.raises(SaylauInputError):
        gaussian_kde_grid([0.5, 0.5, 0.5])


# ------------------------------------------------------------------------------ baseline
def test_baseline_of_gaussian_blob() -> None:
    # closed form: for N(mu, s) data the mode is mu, the RMS below the mode is s, and the
    # fourth root of E[(v - mu)^2 | v > mu] is sqrt(s)
    # (modes well above the 0.3 floor, so that the density there is not a sparse tail)
    g = np.random.default_rng(11)
    t, v = g.normal(0.55, 0.1, 200_000), g.normal(0.47, 0.09, 200_000)
    tau, nu, s_tau, s_nu, theta = fingerprint_baseline(t, v)
    assert tau == pytest.approx(0.55, abs=0.01) and nu == pytest.approx(0.47, abs=0.01)
    assert s_nu == pytest.approx(0.09, rel=0.05)
    assert s_tau == pytest.approx(0.1, rel=0.05)
    assert theta == pytest.approx(np.sqrt(0.09), rel=0.05)


def test_baseline_takes_first_peak_above_floor() -> None:
    # two modes: 0.2 (below the 0.3 floor) and 0.7; a third, higher one at 0.9 comes later
    g = np.random.default_rng(12)
    x = np.concatenate(
        [g.normal(0.2, 0.02, 5000), g.normal(0.7, 0.02, 3000), g.normal(0.9, 0.02, 9000)]
    )
    tau = fingerprint_baseline(x, x)[0]
    assert tau == pytest.approx(0.7, abs=0.005)


@pytest.mark.realdata
@pytest.mark.parametrize("year", ["2011", "2012"])
def test_published_baseline_russia(year: str) -> None:
    from tests.conftest import shared_table

    table = shared_table("russia", f"{year}.csv.zip")
    ref = PUBLISHED["russia"][year]
    tol = PUBLISHED["tolerance"]
    res = fingerprint(table, leader=ref["leader"], fit=False)
    for key in ("tau", "nu", "sigma_tau", "sigma_nu", "theta"):
        assert getattr(res, key) == pytest.approx(ref[key], abs=tol[key]), key
    assert res.f_i is None and res.caveat == CAVEAT
    assert res.nobs + res.excluded["no_ballots_cast"] == table.stations - res.excluded["empty"]


# ------------------------------------------------------------------------------ fraud model
def test_model_generator_constants() -> None:
    # extreme fraud: x = 1 - |N(0, 0.075)| (EFToolkit's port of Klimek's code), so with every
    # station manipulated the leader share is >= 1 - x**alpha of the others ~ near 1
    reg = np.full(4000, 1000)
    t, _v = simulate_klimek(
        reg, tau=0.5, nu=0.5, sigma_tau=0.05, sigma_nu=0.05, theta=0.4, f_e=1.0, alpha=1.0, rng=0
    )
    # stuffed = floor(x * non-voters): turnout = t0 + x (1 - t0); E|N(0, s)| = s sqrt(2/pi)
    expected_x = 1 - PUBLISHED["klimek_extreme_sd"] * np.sqrt(2 / np.pi)
    assert np.mean(t) == pytest.approx(0.5 + expected_x * 0.5, abs=0.003)
    with pytest.raises(SaylauInputError):
        simulate_klimek(
            reg, tau=0.5, nu=0.5, sigma_tau=0.05, sigma_nu=0.05, theta=0.4, f_i=0.7, f_e=0.5
        )


@pytest.mark.parametrize(
    ("f_i", "f_e", "alpha", "seed"), [(0.2, 0.05, 1.0, 0), (0.4, 0.02, 2.0, 1), (0.0, 0.0, 1.0, 2)]
)
def test_fit_recovers_truth_of_the_model(f_i: float, f_e: float, alpha: float, seed: int) -> None:
    # data from the model itself, baseline known: the fit must find the injected shares
    # within three bootstrap standard errors plus one lattice step
    g = np.random.default_rng(seed)
    reg = np.rint(g.lognormal(np.log(1200), 0.5, 8000)).astype(np.int64) + 50
    base = (0.55, 0.45, 0.07, 0.07, 0.45)
    t, v = simulate_klimek(
        reg,
        tau=base[0],
        nu=base[1],
        sigma_tau=base[2],
        sigma_nu=base[3],
        theta=base[4],
        f_i=f_i,
        f_e=f_e,
        alpha=alpha,
        rng=seed,
    )
    model = KlimekFraudModel(rng=100 + seed).fit(reg, t, v, baseline=base)
    boot = model.bootstrap(30, rng=seed)
    se = boot.std(axis=0, ddof=1)
    assert abs(model.f_i_ - f_i) <= 3 * se[0] + model.f_step
    assert abs(model.f_e_ - f_e) <= 3 * se[1] + model.f_step
    assert model.alpha_profile_.shape == (len(model.alphas),)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_recovers_extreme_fraud_in_simulated_election(seed: int) -> None:
    sim = simulate_election(
        stations=8000, regions=1, fraud=FraudSpec(kind="extreme", share=0.04), rng=seed
    )
    res = fingerprint(sim.table, bootstrap=30, rng=seed)
    assert res.f_e is not None and res.f_e_se is not None
    assert abs(res.f_e - sim.truth.f_e) <= 3 * res.f_e_se + 0.01
    assert res.f_e_ci is not None and res.f_e_ci[0] <= res.f_e_ci[1]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_clean_simulated_election_has_no_extreme_fraud(seed: int) -> None:
    sim = simulate_election(stations=8000, regions=4, rng=seed)
    res = fingerprint(sim.table, bootstrap=0, rng=seed)
    assert res.f_e == 0.0
    assert res.f_i is not None and res.f_i < 0.2  # heterogeneity alone gives a small f_i


@pytest.mark.realdata
def test_poland_fit_near_zero() -> None:
    from tests.conftest import shared_table

    table = shared_table("poland-2020", "round1.csv.zip")
    res = fingerprint(table, leader="DUDA Andrzej Sebastian", bootstrap=10, rng=1)
    assert res.f_e is not None and res.f_e <= 0.01
    assert res.f_i is not None and res.f_i <= 0.1
    assert res.leader == "Andrzej Sebastian DUDA"


# ------------------------------------------------------------------------------ contract
def test_result_is_json_ready_and_deterministic() -> None:
    sim = simulate_election(stations=1500, fraud=FraudSpec(kind="incremental", share=0.2), rng=8)
    a = fingerprint(sim.table, bootstrap=5, rng=3)
    b = fingerprint(sim.table, bootstrap=5, rng=3)
    da, db = a.to_dict(), b.to_dict()
    assert json.dumps(da) == json.dumps(db)
    for key in ("tau", "nu", "sigma_tau", "sigma_nu", "theta", "f_i", "f_e", "alpha"):
        assert isinstance(da[key], float)
    assert np.asarray(da["hist2d"]).sum() == a.n_fit
    assert "model-based" in da["caveat"]


def test_result_ignores_row_order() -> None:
    sim = simulate_election(stations=1000, fraud=FraudSpec(kind="extreme", share=0.05), rng=9)
    perm = np.random.default_rng(0).permutation(1000)
    shuffled = sim.table.filter(np.ones(1000, dtype=bool))
    shuffled = type(shuffled)(**{**shuffled.__dict__, "frame": shuffled.frame[perm]})
    a = fingerprint(sim.table, bootstrap=3, rng=1)
    b = fingerprint(shuffled, bootstrap=3, rng=1)
    assert (a.tau, a.nu) == (b.tau, b.nu)
    assert a.sigma_nu == pytest.approx(b.sigma_nu, rel=1e-12)
    assert a.theta == pytest.approx(b.theta, rel=1e-12)
    assert (a.f_i, a.f_e, a.alpha, a.f_i_se) == (b.f_i, b.f_e, b.alpha, b.f_i_se)


def test_bad_input() -> None:
    sim = simulate_election(stations=50, rng=1)
    with pytest.raises(UnknownNameError):
        fingerprint(sim.table, leader="Nobody", fit=False)
    empty = sim.table.filter(np.zeros(50, dtype=bool))
    with pytest.raises(EmptyInputError):
        fingerprint(empty, fit=False)
    with pytest.raises(SaylauInputError):
        KlimekFraudModel(f_step=0.03).fit(
            np.full(10, 100), np.full(10, 0.5), np.full(10, 0.5), baseline=(0.5, 0.5, 0.1, 0.1, 0.3)
        )


def test_undefined_baseline_skips_the_fit_with_a_warning() -> None:
    import polars as pl

    from saylau._exceptions import SaylauWarning
    from saylau.domain.table import ProtocolTable

    # three stations: no station lies below both modes, so sigma_tau is undefined
    frame = pl.DataFrame(
        {
            "station": ["1", "2", "3"],
            "voters_on_list": [1000, 1200, 900],
            "issued": [500, 700, 400],
            "invalid": [0, 0, 0],
            "valid": [500, 700, 400],
            "A": [200, 300, 100],
            "B": [300, 400, 300],
        }
    )
    table = ProtocolTable.from_frame(frame, profile="plain", choices=["A", "B"])
    with pytest.warns(SaylauWarning, match="not fitted"):
        res = fingerprint(table, rng=1)
    assert res.f_i is None and res.f_e is None and res.nobs == 3
    constant = ProtocolTable.from_frame(
        frame.with_columns(pl.lit(500).alias("issued"), pl.lit(1000).alias("voters_on_list")),
        profile="plain",
        choices=["A", "B"],
    )
    with pytest.raises(SaylauInputError, match="constant"):
        fingerprint(constant, fit=False)
