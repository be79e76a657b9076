"""Simulated elections with a known truth for the turnout methods.

* :func:`simulate_head_counts`: protocols with ballots issued in the station and outside it,
  observers' head counts at five checkpoints in a subset of stations (some counted by two
  observers), and a known set of *padded* stations whose protocol issues more ballots than
  voters came in.
* :func:`simulate_observer_experiment`: an election where ballots are stuffed for the leader only
  in stations **without** an observer, with observers placed by a recorded random draw
  (:func:`saylau.survey.sample.draw_sample`) or by a non-random rule that favours stations where
  the leader did badly at the previous election; the true effects are known.

Both build on :func:`saylau.forensics.simulate.simulate_election` and draw every random number
from one :class:`numpy.random.Generator`.

Examples
--------
>>> sim = simulate_head_counts(stations=200, counted=50, padded=5, rng=1)
>>> len(sim.padded), sim.counts.frame.get_column("checkpoint").unique().sort().to_list()
(5, ['10:00', '12:00', '15:00', '18:00', 'close'])
>>> exp = simulate_observer_experiment(stations=400, observed=80, rng=2)
>>> len(exp.draw.stations), exp.truth["turnout"] < 0
(80, True)
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from .._exceptions import SaylauInputError
from ..domain.table import ProtocolTable
from ..forensics.simulate import simulate_election
from ..survey.frame import SamplingFrame, frame_from_table
from ..survey.sample import SampleDraw, draw_sample
from .headcount import HeadCounts, head_counts_from_frame

__all__ = [
    "SimulatedHeadCounts",
    "SimulatedObserverExperiment",
    "simulate_head_counts",
    "simulate_observer_experiment",
]

IntArray = npt.NDArray[np.int64]

#: Checkpoints of the simulated head counts and the share of the day's voters in by each.
CHECKPOINTS = (("10:00", 0.12), ("12:00", 0.3), ("15:00", 0.55), ("18:00", 0.8), ("close", 1.0))


def _gen(rng: int | np.random.Generator | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


@dataclasses.dataclass(frozen=True)
class SimulatedHeadCounts:
    """Protocols, head counts and the truth: which stations were padded, by how much."""

    table: ProtocolTable
    counts: HeadCounts
    padded: tuple[str, ...]
    counted: tuple[str, ...]
    extra_ballots: dict[str, int]
    sigma: float


def simulate_head_counts(
    *,
    stations: int = 1000,
    counted: int = 300,
    padded: int = 15,
    double_share: float = 0.2,
    sigma: float = 0.5,
    padding: tuple[float, float] = (0.10, 0.20),
    mobile_share: float = 0.05,
    regions: int = 8,
    rng: int | np.random.Generator | None = None,
) -> SimulatedHeadCounts:
    """Draw protocols and observers' head counts with ``padded`` known padded stations.

    Parameters
    ----------
    stations, regions : int
        Size of the simulated election.
    counted : int
        Stations with at least one observer counting.
    padded : int
        Counted stations whose ballots issued in the station are raised by a share drawn
        uniformly in ``padding`` of the true voters (the extra ballots go to the leader).
    double_share : float
        Share of the counted stations with a second, independent observer.
    sigma : float
        Counting error per square-root voter: each count is
        ``round(n + N(0, sigma**2 * n))``.
    mobile_share : float
        Expected share of ballots issued outside the station (the mobile box, never counted).
    rng : int or Generator, optional
    """
    if not 0 <= padded <= counted <= stations:
        raise SaylauInputError(
            "need 0 <= padded <= counted <= stations",
            field="padded/counted",
            found=(padded, counted, stations),
        )
    gen = _gen(rng)
    base = simulate_election(stations=stations, regions=regions, rng=gen).table
    issued = base.issued()
    outside = gen.binomial(issued, mobile_share)
    inside = issued - outside
    true_inside = inside.copy()
    frame = base.frame
    ids = frame.get_column("station").cast(pl.Utf8).to_numpy()
    counted_idx = np.sort(gen.choice(stations, size=counted, replace=False))
    padded_idx = np.sort(gen.choice(counted_idx, size=padded, replace=False))
    extra = np.zeros(stations, dtype=np.int64)
    share = gen.uniform(padding[0], padding[1], size=padded)
    extra[padded_idx] = np.maximum(np.round(share * inside[padded_idx]).astype(np.int64), 1)
    leader = base.choices[0].id
    frame = frame.with_columns(
        pl.Series("issued_in_station", inside + extra),
        pl.Series("issued_outside", outside),
        (pl.col("valid") + pl.Series(extra)).alias("valid"),
        (pl.col(leader) + pl.Series(extra)).alias(leader),
    ).drop("issued")
    table = ProtocolTable.from_frame(
        frame,
        profile="ru-federal-2018",
        choices=base.choices,
        levels=base.levels,
        source="simulate_head_counts",
    )
    n_double = round(double_share * counted)
    double = np.zeros(stations, dtype=bool)
    double[gen.choice(counted_idx, size=n_double, replace=False)] = True
    rows: dict[str, list[str]] = {
        k: [] for k in ("station", "observer", "checkpoint", "count", "official")
    }
    for i in counted_idx:
        n = int(true_inside[i])
        for obs in ("a", "b") if double[i] else ("a",):
            c = max(round(n + gen.normal(0.0, sigma * np.sqrt(max(n, 1)))), 0)
            for label, frac in CHECKPOINTS:
                rows["station"].append(str(ids[i]))
                rows["observer"].append(f"{ids[i]}-{obs}")
                rows["checkpoint"].append(label)
                rows["count"].append(str(round(c * frac)))
                official = round((n + int(extra[i])) * frac)
                rows["official"].append("" if label == "close" else str(official))
    counts = head_counts_from_frame(pl.DataFrame(rows), source="simulate_head_counts")
    return SimulatedHeadCounts(
        table=table,
        counts=counts,
        padded=tuple(str(s) for s in ids[padded_idx]),
        counted=tuple(str(s) for s in ids[counted_idx]),
        extra_ballots={str(ids[i]): int(extra[i]) for i in padded_idx},
        sigma=sigma,
    )


@dataclasses.dataclass(frozen=True)
class SimulatedObserverExperiment:
    """An election with stuffing only where no observer was present, and the true effects.

    Attributes
    ----------
    table : ProtocolTable
        The published protocols (clean where observed, stuffed where not).
    previous : ProtocolTable
        A previous election at the same stations (same ids), for matching.
    frame : SamplingFrame
        The frame the observers were drawn from (from ``previous``).
    draw : SampleDraw or None
        The recorded random draw (``None`` when observers were placed by a rule).
    observed : tuple of str
        Stations with an observer.
    truth : dict
        ``"turnout"`` and each choice id -> true difference observed − unobserved over the
        whole population (every station clean minus every station stuffed).
    truth_observed : dict
        The same over the observed stations only (the matched estimator's target).
    """

    table: ProtocolTable
    previous: ProtocolTable
    frame: SamplingFrame
    draw: SampleDraw | None
    observed: tuple[str, ...]
    truth: dict[str, float]
    truth_observed: dict[str, float]


def _effects(clean: ProtocolTable, stuffed: ProtocolTable, rows: IntArray) -> dict[str, float]:
    out = {
        "turnout": float(
            clean.issued()[rows].sum() / clean.registered()[rows].sum()
            - stuffed.issued()[rows].sum() / stuffed.registered()[rows].sum()
        )
    }
    for c in clean.choices:
        out[c.id] = float(
            clean.votes(c)[rows].sum() / clean.valid()[rows].sum()
            - stuffed.votes(c)[rows].sum() / stuffed.valid()[rows].sum()
        )
    return out


def simulate_observer_experiment(
    *,
    stations: int = 2000,
    regions: int = 8,
    observed: int = 300,
    stuffing: float = 0.1,
    fraud_share: float = 0.5,
    placement: Literal["draw", "selected"] = "draw",
    rng: int | np.random.Generator | None = None,
) -> SimulatedObserverExperiment:
    """Simulate fraud only where no observer is present.

    Parameters
    ----------
    stations, regions : int
    observed : int
        Stations given an observer.
    stuffing : float
        Mean share of the non-voters stuffed for the leader in a station where fraud happens
        (drawn uniformly in ``[0, 2 * stuffing]``); ``0`` gives a clean election.
    fraud_share : float
        Share of stations where fraud would happen without an observer.
    placement : {"draw", "selected"}
        ``"draw"``: observers assigned by a stratified random draw (strata: region) recorded
        as a :class:`SampleDraw`; ``"selected"``: in each region, the stations where the
        leader did worst at the previous election get observers first (not random).
    """
    gen = _gen(rng)
    clean = simulate_election(stations=stations, regions=regions, against_all=True, rng=gen).table
    m = clean.vote_matrix()
    prev_votes = gen.binomial(m, 0.9)
    prev = clean.frame.with_columns(
        *[pl.Series(c.id, prev_votes[:, j]) for j, c in enumerate(clean.choices)],
        pl.Series("valid", prev_votes.sum(axis=1)),
        pl.Series("issued", clean.issued() - (m.sum(axis=1) - prev_votes.sum(axis=1))),
    )
    previous = ProtocolTable.from_frame(
        prev, profile="plain", choices=clean.choices, levels=clean.levels, source="previous"
    )
    frame = frame_from_table(previous, strata=["region"])
    ids = clean.frame.get_column("station").cast(pl.Utf8).to_numpy()
    draw: SampleDraw | None = None
    if placement == "draw":
        draw = draw_sample(frame, n=observed, strata=["region"], rng=gen)
        obs_ids = set(draw.stations)
    else:
        share = previous.votes(previous.choices[0]) / np.maximum(previous.valid(), 1)
        score = share + gen.normal(0, 0.1, stations)
        order = np.argsort(score)
        obs_ids = {str(s) for s in ids[order[:observed]]}
    is_obs = np.array([s in obs_ids for s in ids])
    reg = clean.registered()
    iss = clean.issued()
    fraud = gen.random(stations) < fraud_share
    x = gen.uniform(0, 2 * stuffing, stations) * fraud
    stuff = np.round(x * np.maximum(reg - iss, 0)).astype(np.int64)
    leader = clean.choices[0].id
    stuffed_all = ProtocolTable.from_frame(
        clean.frame.with_columns(
            pl.Series("issued", iss + stuff),
            (pl.col("valid") + pl.Series(stuff)).alias("valid"),
            (pl.col(leader) + pl.Series(stuff)).alias(leader),
        ),
        profile="plain",
        choices=clean.choices,
        levels=clean.levels,
    )
    applied = np.where(is_obs, 0, stuff)
    table = ProtocolTable.from_frame(
        clean.frame.with_columns(
            pl.Series("issued", iss + applied),
            (pl.col("valid") + pl.Series(applied)).alias("valid"),
            (pl.col(leader) + pl.Series(applied)).alias(leader),
        ),
        profile="plain",
        choices=clean.choices,
        levels=clean.levels,
        source="simulate_observer_experiment",
    )
    every = np.arange(stations)
    return SimulatedObserverExperiment(
        table=table,
        previous=previous,
        frame=frame,
        draw=draw,
        observed=tuple(sorted(obs_ids)),
        truth=_effects(clean, stuffed_all, every),
        truth_observed=_effects(clean, stuffed_all, np.flatnonzero(is_obs)),
    )
