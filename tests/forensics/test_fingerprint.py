"""Election fingerprint: exact KDE, Kobak's baseline (published values), Klimek's fraud model.

Sources of the expected numbers: SciPy's ``gaussian_kde`` (computed in the tests), the
published baselines in ``tests/results/fingerprint_published.json`` (with their sources), and
simulations with a known truth (``simulate_klimek``, ``simulate_election``).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import gaussian_kde

from saylau._exceptions import EmptyInputError, SaylauInputError, UnknownNameError
from saylau.domain.table import ProtocolTable
from saylau.forensics.fingerprint import (
    CAVEAT,
    FingerprintResult,
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
    # the procedure applied here takes the baseline as given: the bootstrap holds it fixed
    boot = model.bootstrap(30, rng=seed, refit_baseline=False)
    se = boot.std(axis=0, ddof=1)
    assert abs(model.f_i_ - f_i) <= 3 * se[0] + model.f_step
    assert abs(model.f_e_ - f_e) <= 3 * se[1] + model.f_step
    assert model.alpha_profile_.shape == (len(model.alphas),)


# ------------------------------------------------------------------------------ coverage
# A small coverage study: for each scenario, SEEDS independent elections with a known truth,
# each fitted by ``fingerprint`` with BOOT bootstrap refits (whole procedure, baseline
# re-estimated). With a 95% interval, covering the truth in at most 4 of 6 elections has
# probability 3.3% (binomial), so >= 5 of 6 is the criterion of a nominal interval. Scenarios
# where the method is known to fall short are strict xfails carrying the measured coverage (see
# the module docstring of saylau.forensics.fingerprint): they fail loudly once fixed.
SEEDS = range(6)
BOOT = 20
STATIONS = 8000
SCENARIOS = {  # (f_i, f_e, alpha) injected
    "incremental": (0.3, 0.0, 1.5),
    "extreme": (0.0, 0.05, 1.0),
    "clean": (0.0, 0.0, 1.0),
}


def _model_world_table(kind: str, seed: int) -> tuple[ProtocolTable, float, float]:
    """An election drawn from Klimek et al.'s model itself (one Gaussian blob, θ = 0.3)."""
    import polars as pl

    f_i, f_e, alpha = SCENARIOS[kind]
    g = np.random.default_rng(seed)
    reg = np.rint(g.lognormal(np.log(1200), 0.5, STATIONS)).astype(np.int64) + 50
    t, v = simulate_klimek(
        reg, tau=0.55, nu=0.45, sigma_tau=0.07, sigma_nu=0.07, theta=0.3,
        f_i=f_i, f_e=f_e, alpha=alpha, rng=g,
    )  # fmt: skip
    voters = np.rint(t * reg).astype(np.int64)
    leader = np.rint(v * voters).astype(np.int64)
    frame = pl.DataFrame(
        {
            "station": [str(i) for i in range(STATIONS)],
            "voters_on_list": reg,
            "issued": voters,
            "invalid": np.zeros(STATIONS, dtype=np.int64),
            "valid": voters,
            "A": leader,
            "B": voters - leader,
        }
    )
    table = ProtocolTable.from_frame(frame, profile="plain", choices=["A", "B"])
    return table, round(f_i * STATIONS) / STATIONS, round(f_e * STATIONS) / STATIONS


@functools.cache
def _study(world: str, kind: str) -> tuple[tuple[FingerprintResult, float, float], ...]:
    out = []
    for seed in SEEDS:
        if world == "model":
            table, f_i, f_e = _model_world_table(kind, seed)
            leader: str | None = "A"
        else:
            f_i0, f_e0, _ = SCENARIOS[kind]
            spec = (
                FraudSpec(kind="incremental", share=f_i0, alpha=1.5)
                if f_i0
                else FraudSpec(kind="extreme", share=f_e0)
                if f_e0
                else None
            )
            sim = simulate_election(stations=STATIONS, regions=1, fraud=spec, rng=seed)
            table, f_i, f_e, leader = sim.table, sim.truth.f_i, sim.truth.f_e, "Leader"
        out.append((fingerprint(table, leader=leader, bootstrap=BOOT, rng=seed), f_i, f_e))
    return tuple(out)


def _covered(world: str, kind: str, key: str) -> int:
    hits = 0
    for res, f_i, f_e in _study(world, kind):
        lo, hi = getattr(res, f"{key}_ci")
        hits += int(lo <= {"f_i": f_i, "f_e": f_e}[key] <= hi)
    return hits


_XFAIL = pytest.mark.xfail(strict=True, reason="known under-coverage, see the module docstring")


@pytest.mark.parametrize(
    ("world", "kind", "key"),
    [
        ("model", "extreme", "f_e"),
        ("model", "extreme", "f_i"),
        ("model", "clean", "f_i"),
        ("model", "clean", "f_e"),
        ("model", "incremental", "f_e"),
        pytest.param("model", "incremental", "f_i", marks=_XFAIL),
        ("simulator", "extreme", "f_e"),
        ("simulator", "clean", "f_e"),
        ("simulator", "incremental", "f_e"),
        pytest.param("simulator", "extreme", "f_i", marks=_XFAIL),
        pytest.param("simulator", "clean", "f_i", marks=_XFAIL),
        pytest.param("simulator", "incremental", "f_i", marks=_XFAIL),
    ],
)
def test_interval_covers_injected_share(world: str, kind: str, key: str) -> None:
    assert _covered(world, kind, key) >= 5


@pytest.mark.parametrize("world", ["model", "simulator"])
def test_bias_correction_moves_incremental_fit_towards_truth(world: str) -> None:
    # the fit underestimates f_i = 0.3 (baseline from contaminated stations); the bootstrap,
    # which re-estimates the baseline on simulated contaminated elections, sees that bias
    study = _study(world, "incremental")
    raw = np.mean([res.f_i for res, _, _ in study])
    corrected = np.mean([res.f_i_corrected for res, _, _ in study])
    truth = np.mean([f_i for _, f_i, _ in study])
    assert raw < truth and abs(corrected - truth) < abs(raw - truth)
    for res, _, _ in study:
        assert res.f_i_bias is not None and res.f_i_bias < 0
        assert res.boot_stations == res.n_fit and res.f_i_ci_percentile is not None


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_bootstrap_reestimates_the_baseline(seed: int) -> None:
    # data from the model (f_i = 0.2): the refits' baselines vary around the fitted one;
    # holding the baseline fixed, the refits centre on the fit and hide the estimator's bias,
    # re-estimating it they fall below the fit (f_i is underestimated, see the module docs)
    g = np.random.default_rng(seed)
    reg = np.rint(g.lognormal(np.log(1200), 0.5, 4000)).astype(np.int64) + 50
    t, v = simulate_klimek(
        reg, tau=0.55, nu=0.45, sigma_tau=0.07, sigma_nu=0.07, theta=0.3, f_i=0.2, rng=g
    )
    model = KlimekFraudModel(rng=seed + 1).fit(reg, t, v)
    fixed = model.bootstrap(15, rng=seed + 2, refit_baseline=False)
    full = model.bootstrap(15, rng=seed + 2)
    bases = model.bootstrap_baselines_
    assert np.isfinite(bases).all() and np.ptp(bases, axis=0).min() > 0
    assert abs(fixed[:, 0].mean() - model.f_i_) < model.f_i_ - full[:, 0].mean()
    # m-out-of-n: 1000 of 4000 stations; by default the spread is kept (an upper bound), at
    # the root-n rate the deviations from the refits' mean are halved
    kept = model.bootstrap(4, rng=seed + 3, max_stations=1000)
    assert model.bootstrap_stations_ == 1000
    np.testing.assert_array_equal(kept, model.bootstrap_raw_)
    sub = model.bootstrap(4, rng=seed + 3, max_stations=1000, rate=0.5)
    raw = model.bootstrap_raw_
    np.testing.assert_allclose(sub - raw.mean(0), 0.5 * (raw - raw.mean(0)), atol=1e-12)


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
