"""Declared bad-station rules: each rule on hand-built rows, counts, and the real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from saylau._exceptions import EmptyInputError, SaylauInputError
from saylau.domain.table import ProtocolTable
from saylau.forensics._stations import STATION_RULES, station_arrays, station_quality

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _table(rows: list[tuple[int | None, ...]]) -> ProtocolTable:
    reg, iss, inv, val, a, b = (list(c) for c in zip(*rows, strict=True)) if rows else ([],) * 6
    frame = pl.DataFrame(
        {
            "station": [str(i) for i in range(len(rows))],
            "region": ["r1"] * len(rows),
            "voters_on_list": pl.Series(reg, dtype=pl.Int64),
            "issued": pl.Series(iss, dtype=pl.Int64),
            "invalid": pl.Series(inv, dtype=pl.Int64),
            "valid": pl.Series(val, dtype=pl.Int64),
            "A": pl.Series(a, dtype=pl.Int64),
            "B": pl.Series(b, dtype=pl.Int64),
        }
    )
    return ProtocolTable.from_frame(frame, profile="plain", choices=["A", "B"], levels=["region"])


ROWS = [
    (1000, 600, 10, 590, 400, 190),  # ordinary
    (None, None, None, None, None, None),  # empty (territory without data)
    (0, 0, 0, 0, 0, 0),  # empty (all zero)
    (0, 120, 0, 120, 100, 20),  # zero registered with ballots
    (500, 520, 0, 520, 300, 220),  # more ballots than voters
    (800, 700, 0, 810, 400, 410),  # more ballots found than voters
    (150_000, 140_000, 0, 140_000, 70_000, 70_000),  # electronic-voting pseudo-station
    (9_999, 5_000, 0, 5_000, 2_500, 2_500),  # large but below the threshold
]


def test_each_rule_catches_its_rows() -> None:
    q = station_quality(_table(ROWS))
    assert q.mask("empty").tolist() == [False, True, True, False, False, False, False, False]
    assert q.mask("zero_registered").nonzero()[0].tolist() == [3]
    assert q.mask("more_ballots_than_voters").nonzero()[0].tolist() == [4, 5]
    assert q.mask("oversized").nonzero()[0].tolist() == [6]
    assert q.counts == {
        "empty": 2,
        "zero_registered": 1,
        "more_ballots_than_voters": 2,
        "oversized": 1,
    }
    assert q.usable.tolist() == [True, False, False, False, True, True, True, True]
    assert set(q.rules) == set(STATION_RULES)
    assert "10,000" in q.rules["oversized"]
    assert "masks" not in str(q.to_dict())


def test_threshold_is_a_parameter_and_unknown_rule_is_an_error() -> None:
    q = station_quality(_table(ROWS), oversized_min=5_000)
    assert q.counts["oversized"] == 2
    with pytest.raises(SaylauInputError):
        q.mask("weird")


def test_arrays_drop_unusable_rows_and_keep_the_rest() -> None:
    a = station_arrays(_table(ROWS))
    assert len(a) == 5
    assert a.registered.tolist() == [1000, 500, 800, 150_000, 9_999]
    assert a.cast.tolist() == [600, 520, 810, 140_000, 5_000]
    assert a.leader_name == "A" and set(a.region) == {"r1"}


def test_nothing_usable_is_an_empty_input_error() -> None:
    with pytest.raises(EmptyInputError):
        station_arrays(_table([]))
    with pytest.raises(EmptyInputError, match="no usable station"):
        station_arrays(_table([ROWS[1], ROWS[2], ROWS[3]]))


@pytest.mark.realdata
def test_russia_2021_pseudo_stations_and_empty_rows() -> None:
    """2021: the 33 rows of >= 10,000 voters are the remote electronic-voting (DEG) rows.

    Source: the data README ("rows with tens of thousands of registered voters are electronic-
    voting pseudo-stations"); in the file such rows belong to commissions named «Дистанционное
    электронное голосование», or are Moscow's remote-voting commissions УИК №5001-5015.
    """
    from saylau.io import read_protocols

    path = DATA / "russia" / "2021.csv.zip"
    if not path.exists():
        pytest.skip(f"{path} not available")
    t = read_protocols(path)
    q = station_quality(t)
    big = q.mask("oversized")
    moscow = [f"УИК №{n}" for n in range(5001, 5016)]
    region = np.asarray(t.level_values("region"))
    remote = (np.asarray(t.level_values("tik")) == "Дистанционное электронное голосование") | (
        (region == "город Москва") & np.isin(np.asarray(t.level_values("uik")), moscow)
    )
    # the flagged rows are exactly the remote-voting commissions, defined by name
    assert np.array_equal(big, remote)
    assert q.counts["oversized"] == int(remote.sum())
    assert q.counts["zero_registered"] == 0
    assert int(np.asarray(t.registered())[~big].max()) < 10_000
