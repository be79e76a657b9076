"""The election simulator: protocol arithmetic, the injected truth, determinism, bad input.

Every expected number here follows from the simulator's definition (closed forms: counts of
affected stations, conservation of ballots, the rounding rule), not from its output.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saylau._exceptions import SaylauInputError
from saylau.forensics.simulate import FraudSpec, simulate_election


def _arrays(sim):  # type: ignore[no-untyped-def]
    t = sim.table
    return t.registered(), t.issued(), t.line("invalid"), t.line("valid"), t.vote_matrix()


def test_clean_protocols_add_up() -> None:
    sim = simulate_election(stations=3000, regions=5, against_all=True, rng=1)
    reg, issued, invalid, valid, votes = _arrays(sim)
    assert sim.table.stations == 3000
    assert (issued <= reg).all() and (issued == valid + invalid).all()
    assert (votes.sum(axis=1) == valid).all() and (votes >= 0).all()
    assert sim.table.against_all is not None and sim.table.against_all.name == "Против всех"
    assert sim.table.leader().name == "Leader"
    assert set(sim.table.level_values("region")) == {f"R{i:02d}" for i in range(1, 6)}
    assert sim.truth.stations_affected == 0 and sim.truth.ballots_stuffed == 0
    assert sim.truth.clean_leader_votes == int(votes[:, 0].sum())


def test_regions_are_heterogeneous() -> None:
    # urban / rural and regional preferences: the leader's share differs between regions
    sim = simulate_election(stations=4000, regions=6, rng=2)
    t = sim.table
    share = t.votes("Leader") / np.maximum(t.cast(), 1)
    region = t.level_values("region")
    means = [share[region == r].mean() for r in np.unique(region)]
    assert max(means) - min(means) > 0.05


@pytest.mark.parametrize("kind", ["incremental", "extreme"])
def test_fraud_truth_is_conserved(kind: str) -> None:
    spec = FraudSpec(kind=kind, share=0.15, theta=0.3, alpha=1.5)  # type: ignore[arg-type]
    sim = simulate_election(stations=2000, fraud=spec, rng=3)
    truth = sim.truth
    reg, issued, _invalid, valid, votes = _arrays(sim)
    # exactly round(share * stations) stations, all of one kind
    assert truth.stations_affected == 300 == int(truth.fraud_mask.sum())
    assert (truth.incremental, truth.extreme) == ((300, 0) if kind == "incremental" else (0, 300))
    # the leader gained exactly the stuffed plus the moved votes
    assert int(votes[:, 0].sum()) == truth.clean_leader_votes + truth.added_leader_votes
    assert (issued <= reg).all() and (votes.sum(axis=1) == valid).all()
    # the same seed without fraud gives the clean protocols of the untouched stations
    clean = simulate_election(stations=2000, rng=3)
    untouched = ~truth.fraud_mask
    assert np.array_equal(clean.table.registered(), reg)
    np.testing.assert_array_equal(clean.table.vote_matrix()[untouched], votes[untouched])
    np.testing.assert_array_equal(clean.table.issued()[untouched], issued[untouched])
    assert int(clean.table.vote_matrix()[:, 0].sum()) == truth.clean_leader_votes
    # extreme fraud stuffs nearly all non-voters: turnout near 100% in affected stations
    turnout = issued / reg
    if kind == "extreme":
        assert np.median(turnout[truth.fraud_mask]) > 0.9
    assert np.median(turnout[untouched]) < 0.8


def test_two_fraud_kinds_on_disjoint_stations() -> None:
    sim = simulate_election(
        stations=1000,
        fraud=[FraudSpec(kind="incremental", share=0.2), FraudSpec(kind="extreme", share=0.05)],
        rng=4,
    )
    assert (sim.truth.incremental, sim.truth.extreme, sim.truth.stations_affected) == (200, 50, 250)
    assert sim.truth.f_i == pytest.approx(0.2) and sim.truth.f_e == pytest.approx(0.05)


@pytest.mark.parametrize("step", [0.01, 0.05])
def test_drawn_protocols_are_rounded(step: float) -> None:
    sim = simulate_election(stations=2000, rounded_share=0.25, round_to=step, rng=5)
    reg, issued, invalid, valid, votes = _arrays(sim)
    drawn = sim.truth.drawn_mask
    assert sim.truth.drawn == 500 == int(drawn.sum())
    # turnout = round(target * registered) / registered, target a multiple of `step`
    turnout = issued[drawn] / reg[drawn]
    target = np.rint(turnout / step) * step
    assert np.all(np.abs(turnout - target) <= 0.5 / reg[drawn] + 1e-12)
    share = votes[drawn, 0] / (valid + invalid)[drawn]
    ok = votes[drawn, 1:].sum(axis=1) > 0  # where the others had votes left to move
    target_s = np.rint(share / step) * step
    assert np.all(np.abs(share - target_s)[ok] <= 0.5 / (valid + invalid)[drawn][ok] + 1e-12)
    assert (issued <= reg).all() and (votes.sum(axis=1) == valid).all()
    assert int(votes[:, 0].sum()) == sim.truth.clean_leader_votes + sim.truth.added_leader_votes


def test_same_seed_same_election_and_pickles() -> None:
    a = simulate_election(stations=500, fraud=FraudSpec(kind="extreme", share=0.1), rng=9)
    b = simulate_election(
        stations=500, fraud=FraudSpec(kind="extreme", share=0.1), rng=np.random.default_rng(9)
    )
    assert a.table.frame.equals(b.table.frame)
    c = simulate_election(stations=500, rng=10)
    assert not a.table.frame.equals(c.table.frame)
    again = pickle.loads(pickle.dumps(a))
    assert again.table.frame.equals(a.table.frame)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"stations": 0},
        {"regions": 0},
        {"rounded_share": 1.5},
        {"round_to": 0.0},
        {"fraud": [FraudSpec(kind="extreme", share=0.7), FraudSpec(kind="incremental", share=0.7)]},
    ],
)
def test_bad_arguments_raise(kwargs: dict[str, object]) -> None:
    with pytest.raises(SaylauInputError):
        simulate_election(**kwargs)  # type: ignore[arg-type]


def test_bad_fraud_spec_raises() -> None:
    with pytest.raises(SaylauInputError, match="kind"):
        FraudSpec(kind="stuffing", share=0.1)  # type: ignore[arg-type]
    with pytest.raises(SaylauInputError):
        FraudSpec(kind="extreme", share=-0.1)


@settings(max_examples=25, deadline=None)
@given(
    stations=st.integers(1, 300),
    share=st.floats(0.0, 0.5),
    rounded=st.floats(0.0, 1.0),
    kind=st.sampled_from(["incremental", "extreme"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_invariants_hold_for_any_parameters(
    stations: int, share: float, rounded: float, kind: str, seed: int
) -> None:
    sim = simulate_election(
        stations=stations,
        regions=3,
        fraud=FraudSpec(kind=kind, share=share),  # type: ignore[arg-type]
        rounded_share=rounded,
        rng=seed,
    )
    reg, issued, invalid, valid, votes = _arrays(sim)
    assert (reg > 0).all() and (issued <= reg).all() and (invalid >= 0).all()
    assert (votes >= 0).all() and (votes.sum(axis=1) == valid).all()
    assert int(votes[:, 0].sum()) == sim.truth.clean_leader_votes + sim.truth.added_leader_votes
