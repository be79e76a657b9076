"""Turnout and vote-share histograms: counts by hand, voter weights, the jitter's properties."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from saylau._exceptions import EmptyInputError, SaylauInputError
from saylau.domain.table import ProtocolTable
from saylau.forensics.distributions import distributions, histogram_ratio


def _table(reg, iss, a, b) -> ProtocolTable:
    n = len(reg)
    return ProtocolTable.from_frame(
        pl.DataFrame(
            {
                "station": [str(i) for i in range(n)],
                "voters_on_list": np.asarray(reg, dtype=np.int64),
                "issued": np.asarray(iss, dtype=np.int64),
                "invalid": np.zeros(n, dtype=np.int64),
                "valid": np.asarray(a, dtype=np.int64) + np.asarray(b, dtype=np.int64),
                "A": np.asarray(a, dtype=np.int64),
                "B": np.asarray(b, dtype=np.int64),
            }
        ),
        profile="plain",
        choices=["A", "B"],
    )


def test_histogram_by_hand() -> None:
    # turnouts 0.1, 0.55, 0.55, 1.0 and one above 1 (left out); 10 bins of [0, 1]
    h = histogram_ratio(np.array([10, 55, 110, 200, 9]), np.array([100, 100, 200, 200, 8]), bins=10)
    assert h.tolist() == [0, 1, 0, 0, 0, 2, 0, 0, 0, 1]


def test_station_and_voter_weights() -> None:
    t = _table([100, 300, 1000], [50, 150, 900], [25, 100, 450], [25, 50, 450])
    s = distributions(t, bins=10)
    v = distributions(t, bins=10, weight="voters")
    assert s.turnout[5] == 2 and s.turnout[9] == 1  # 0.5, 0.5, 0.9
    assert v.turnout[5] == 400 and v.turnout[9] == 1000  # registered voters
    assert v.shares["A"][5] == 50 + 900 and v.shares["A"][6] == 150  # ballots found
    assert sum(s.shares["B"]) == 3
    assert s.leader == "A" and s.stations == 3


def test_jitter_keeps_the_mass_and_removes_the_division_artefact() -> None:
    gen = np.random.default_rng(0)
    n = 20_000
    reg = gen.integers(10, 40, n)  # tiny denominators: ratios pile up on 1/2, 2/3 ...
    iss = gen.binomial(reg, 0.6)
    lead = gen.binomial(iss, 0.5)
    t = _table(reg, iss, lead, iss - lead)
    raw = np.asarray(distributions(t, bins=1000).turnout)
    jit = np.asarray(distributions(t, bins=1000, jitter=True, rng=1).turnout)
    assert raw.sum() == jit.sum() == n
    # the raw histogram is spiky (most fine bins empty), the jittered one is spread out
    assert (raw > 0).sum() < 0.5 * (jit > 0).sum()
    assert raw.max() > 3 * jit.max()
    # the jitter moves each numerator by at most half a vote: the means stay close
    centres = np.arange(1000) / 1000 + 0.0005
    assert abs((raw * centres).sum() / n - (jit * centres).sum() / n) < 0.005
    # same seed, same answer
    again = distributions(t, bins=1000, jitter=True, rng=1).turnout
    assert tuple(jit) == again


def test_bad_options_and_empty_input() -> None:
    t = _table([100], [50], [25], [25])
    with pytest.raises(SaylauInputError):
        distributions(t, weight="people")  # type: ignore[arg-type]
    with pytest.raises(SaylauInputError):
        distributions(t, bins=0)
    with pytest.raises(EmptyInputError):
        distributions(_table([], [], [], []))
