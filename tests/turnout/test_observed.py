"""Observed versus unobserved stations on simulated elections with known truth, and Moscow 2011.

Expected numbers: the simulation's own truth (stuffing applied only where no observer was); the
nominal 95% coverage and 5% level, with 3-binomial-sd bands over the replications; for Moscow,
the data README (97 observer copies, all matching an official station, 19 differing on at least
one line) and Enikolopov et al., PNAS 110(2), 2013 (United Russia's share about 11 points lower
where observers were present in Moscow 2011).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from saylau._exceptions import SaylauInputError
from saylau.turnout.observed import observer_effect
from saylau.turnout.simulate import simulate_observer_experiment
from tests.conftest import shared_file, shared_table


def _band(p: float, n: int) -> float:
    return 3 * math.sqrt(p * (1 - p) / n)


def test_randomised_interval_covers_the_known_effect() -> None:
    reps, cover = 50, {"Leader": 0, "turnout": 0, "Против всех": 0}
    for seed in range(reps):
        exp = simulate_observer_experiment(stations=800, observed=160, stuffing=0.1, rng=seed)
        res = observer_effect(exp.table, draw=exp.draw, frame=exp.frame)
        assert res.design == "randomised" and "re-done from the record: same" in res.evidence
        rows = {r["quantity"]: r for r in res.rows.iter_rows(named=True)}
        for q in cover:
            cover[q] += rows[q]["ci_low"] <= exp.truth[q] <= rows[q]["ci_high"]
    for q, hits in cover.items():
        # Neyman's variance is conservative: coverage at least nominal, within the band
        assert hits / reps >= 0.95 - _band(0.95, reps), q


def test_randomised_is_zero_centred_on_clean_elections() -> None:
    reps, z, alarms = 50, [], 0
    for seed in range(reps):
        exp = simulate_observer_experiment(stations=800, observed=160, stuffing=0.0, rng=900 + seed)
        assert exp.truth["Leader"] == 0.0
        res = observer_effect(exp.table, draw=exp.draw, frame=exp.frame)
        z.append(res.estimate / res.std_err)
        alarms += res.finding.alarm
    assert abs(float(np.mean(z))) <= 3 / math.sqrt(reps) * max(float(np.std(z)), 1.0)
    assert alarms / reps <= 0.05 + _band(0.05, reps)


def test_matched_observational_estimate_is_centred_where_naive_is_biased() -> None:
    reps, z, cover, naive_bias = 25, [], 0, []
    for seed in range(reps):
        exp = simulate_observer_experiment(
            stations=800, observed=160, stuffing=0.1, placement="selected", rng=300 + seed
        )
        res = observer_effect(exp.table, observed=exp.observed, previous=exp.previous)
        assert res.design == "observational" and not res.finding.alarm
        assert res.label.startswith("OBSERVATIONAL")
        truth = exp.truth_observed["Leader"]
        z.append((res.estimate - truth) / res.std_err)
        lo, hi = res.conf_int()
        cover += lo <= truth <= hi
        ids = exp.table.frame.get_column("station").to_numpy()
        o = np.isin(ids, list(exp.observed))
        lead, valid = exp.table.votes("Leader"), exp.table.valid()
        naive_bias.append(lead[o].sum() / valid[o].sum() - lead[~o].sum() / valid[~o].sum() - truth)
    assert np.mean(naive_bias) < -0.05  # observers went where the leader is weak
    assert abs(float(np.mean(z))) <= 3 / math.sqrt(reps)
    assert cover / reps >= 0.95 - _band(0.95, reps)


def test_inputs_checked() -> None:
    exp = simulate_observer_experiment(stations=300, observed=60, rng=1)
    with pytest.raises(SaylauInputError, match="either"):
        observer_effect(exp.table)
    other = simulate_observer_experiment(stations=300, observed=60, rng=2)
    with pytest.raises(SaylauInputError, match="frame"):
        observer_effect(exp.table, draw=exp.draw, frame=other.frame)


@pytest.mark.realdata
def test_moscow_2011_observer_copies_observational() -> None:
    from saylau.turnout.copies import read_observer_copies

    folder = shared_file("moscow-2011-observers")
    gn = read_observer_copies(folder / "result_412_GN.csv")
    of = read_observer_copies(folder / "result_412_OF.csv")
    assert (gn.stations, of.stations) == (97, 3374)
    lines = [*gn.profile.line_keys, *(c.id for c in gn.choices)]
    both = gn.frame.join(of.frame, on="uik", suffix="_of")
    assert both.height == 97
    differ = both.select(
        pl.any_horizontal([pl.col(k) != pl.col(f"{k}_of") for k in lines]).alias("d")
    )
    assert int(differ.get_column("d").sum()) == 19
    russia = shared_table("russia", "2011.csv.zip")
    moscow = russia.filter(russia.frame.get_column("region") == "Город Москва")
    before = shared_table("russia", "2004.csv.zip")
    moscow04 = before.filter(before.frame.get_column("region") == "Город Москва")
    # the official file of the observer project is the CEC's: same registered and valid ballots
    same = of.frame.join(moscow.frame, on="uik", suffix="_cec").filter(
        (pl.col("voters_on_list") == pl.col("voters_on_list_cec"))
        & (pl.col("valid") == pl.col("valid_cec"))
    )
    assert same.height == 3374
    observed_uik = set(gn.frame.get_column("uik").to_list())
    observed = (
        moscow.frame.filter(pl.col("uik").is_in(list(observed_uik))).get_column("station").to_list()
    )
    res = observer_effect(moscow, observed=observed, previous=moscow04, exact=("tik",))
    er = moscow.choice("ЕДИНАЯ РОССИЯ").id
    row = res.rows.filter(pl.col("quantity") == er).row(0, named=True)
    assert res.design == "observational" and not res.finding.alarm
    # Enikolopov et al. (2013): about 11 points lower where observers were (randomised design)
    assert row["ci_low"] < -0.11 < row["ci_high"]
    assert row["ci_high"] < 0
