"""Simulated exit polls with a known truth, for coverage, power and false-alarm studies.

:func:`simulate_exitpoll` builds a population of polling stations whose preferences differ
(clustering), lets every voter vote, draws a stratified sample of stations, interviews every
k-th voter leaving each sampled station in several time bands, lets voters refuse with a
probability that may depend on their choice (differential non-response) and on the time band,
and publishes an official result that is either the truth or a fabrication (points added to the
leader, taken proportionally from every other choice, in every station).

Model
-----
Stratum *h* has a mean preference vector :math:`\\mu_h` (the national shares tilted by
log-normal factors of spread ``stratum_spread``). Station *s* of stratum *h* has preferences
:math:`\\theta_s \\sim \\mathrm{Dirichlet}(\\kappa \\mu_h)`, so that two voters of one station
have intra-class correlation :math:`1 / (\\kappa + 1)` beyond the stratum (Johnson, Kotz &
Balakrishnan, 1997, ch. 49); its :math:`T_s \\sim 50 + \\mathrm{Poisson}(\\text{voters} - 50)`
voters vote :math:`\\mathrm{Multinomial}(T_s, \\theta_s)`. The truth is the vote count over all
stations. ``n_sampled`` stations are drawn by stratified simple random sampling with an equal
number per stratum (strata differ in size, so weights differ). At a sampled station, the voters
leave in random order and every k-th from a random start is approached: their choices are a
multivariate hypergeometric draw from the station's votes. An approached voter of choice *c* in
band *b* at station *s* refuses with probability
``min(1, refusal[c] × band_refusal[b] × exp(station_refusal × z_s))`` (:math:`z_s` the
standardised share of the leader at the station); of the others a fraction ``dont_know`` answer
"don't know".

References
----------
Johnson, N. L., Kotz, S. & Balakrishnan, N. (1997). *Discrete Multivariate Distributions*.
Wiley.

Examples
--------
>>> sim = simulate_exitpoll(n_stations=200, n_sampled=20, rng=1)
>>> sim.choices
('A', 'B', 'C', 'Against all')
>>> round(sum(sim.truth.values()), 12)
1.0
>>> sim.interviews.data.select("station").n_unique() <= 20
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from .._exceptions import SaylauInputError
from ..domain.table import ProtocolTable
from ..results import Result
from .exitpoll import DONT_KNOW, REFUSED, Interviews, interviews_from_frame

__all__ = ["SimulatedExitPoll", "fabricate", "simulate_exitpoll", "simulate_exitpoll_on"]

FloatArray = npt.NDArray[np.float64]

DEFAULT_SHARES: Mapping[str, float] = {"A": 0.46, "B": 0.30, "C": 0.16, "Against all": 0.08}


@dataclasses.dataclass(frozen=True, eq=False)
class SimulatedExitPoll(Result):
    """One simulated election and exit poll.

    Parameters
    ----------
    choices : tuple of str
    truth : dict
        True national shares (all votes of all stations).
    official : dict
        Published national votes (the truth, or the fabrication).
    frame : polars.DataFrame
        Every station: ``station``, ``stratum``, ``registered``, ``prob`` (inclusion
        probability), ``sampled``.
    interviews : Interviews
        The exit-poll records.
    votes_by_station : dict
        True votes of every sampled station (what an observer copies).
    official_by_station : dict
        Published votes of every sampled station.
    official_by_stratum : dict
        Published votes per stratum.
    fabricated : float
        Points added to the leader (0 for an honest result).
    leader : str
        Choice with the most true votes.
    tally : polars.DataFrame or None
        ``station``, ``skip``: the interviewer's interval at every sampled station, when it
        differs between stations (pass it to :func:`estimate_exitpoll`).
    """

    choices: tuple[str, ...]
    truth: dict[str, float]
    official: dict[str, float]
    frame: pl.DataFrame
    interviews: Interviews
    votes_by_station: dict[str, dict[str, int]]
    official_by_station: dict[str, dict[str, int]]
    official_by_stratum: dict[str, dict[str, int]]
    fabricated: float
    leader: str
    tally: pl.DataFrame | None = None


def fabricate(votes: npt.ArrayLike, leader: int, points: float) -> npt.NDArray[np.int64]:
    """Move ``points`` (a fraction of the votes) to ``leader`` from the others, row by row.

    Every other choice loses the same fraction of its votes; totals stay unchanged.

    >>> fabricate([[50, 30, 20]], 0, 0.10).tolist()
    [[60, 24, 16]]
    """
    v = np.atleast_2d(np.asarray(votes, dtype=float))
    total = v.sum(axis=1, keepdims=True)
    others = total[:, 0] - v[:, leader]
    move = np.minimum(points * total[:, 0], others)
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = np.where(others > 0, 1 - move / others, 1.0)
    out = v * keep[:, None]
    out[:, leader] = v[:, leader] + move
    rounded = np.floor(out)
    # Largest remainders keep each row's total exact.
    short = (total[:, 0] - rounded.sum(axis=1)).round().astype(int)
    frac = out - rounded
    for i in np.flatnonzero(short > 0):
        rounded[i, np.argsort(-frac[i])[: short[i]]] += 1
    result: npt.NDArray[np.int64] = rounded.astype(np.int64)
    return result


def simulate_exitpoll(
    *,
    shares: Mapping[str, float] = DEFAULT_SHARES,
    n_stations: int = 2000,
    n_strata: int = 4,
    n_sampled: int = 120,
    voters: int = 700,
    concentration: float = 20.0,
    stratum_spread: float = 0.3,
    skip: int = 8,
    bands: Sequence[str] = ("08-12", "12-16", "16-20"),
    band_refusal: Sequence[float] | None = None,
    refusal: float | Mapping[str, float] = 0.25,
    dont_know: float = 0.03,
    station_refusal: float = 0.0,
    fabricated: float = 0.0,
    rng: int | np.random.Generator | None = None,
) -> SimulatedExitPoll:
    """Simulate an election, an exit poll of it and an (honest or fabricated) official result.

    Parameters
    ----------
    shares : mapping
        Expected national shares; the first is normally the leader.
    n_stations, n_strata, n_sampled : int
        Stations in the population, strata, stations sampled (equal number per stratum).
    voters : int
        Mean voters per station.
    concentration : float
        Dirichlet concentration κ of station preferences (intra-station correlation
        1 / (κ + 1); large κ means little clustering).
    stratum_spread : float
        Standard deviation of the log-normal tilt of each stratum's mean preferences.
    skip : int
        Interview every ``skip``-th voter.
    bands : sequence of str
        Time bands; each voter leaves in a band chosen at random.
    band_refusal : sequence of float, optional
        Multiplier of the refusal probability per band (default: all 1).
    refusal : float or mapping
        Refusal probability, the same for all voters or per choice (differential
        non-response).
    dont_know : float
        Probability that a non-refusing voter answers "don't know".
    station_refusal : float
        γ: refusals are multiplied by :math:`\\exp(\\gamma z_s)`, with :math:`z_s` the
        standardised true share of the leader at the station, so that stations where the
        leader is strong refuse more (non-response that the station × band weights repair,
        unlike refusals that depend on the voter's own choice).
    fabricated : float
        Fraction of the votes moved to the true leader in the official result, in every station
        (0.08 = 8 points).
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    SimulatedExitPoll
    """
    gen = np.random.default_rng(rng)
    choices = tuple(shares)
    k = len(choices)
    if k < 2 or n_sampled < 2 * n_strata or n_sampled > n_stations or skip < 1:
        raise SaylauInputError(
            "impossible simulation settings",
            field="n_sampled",
            expected="2 choices or more, 2 sampled stations per stratum, skip >= 1",
            found=f"{k} choices, {n_sampled} of {n_stations} stations, skip {skip}",
        )
    base = np.array([float(shares[c]) for c in choices])
    base = base / base.sum()
    # Strata of unequal size (weights 4:3:2:1...).
    sizes = np.arange(n_strata, 0, -1, dtype=float)
    counts = np.maximum(np.floor(sizes / sizes.sum() * n_stations).astype(int), 2)
    counts[0] += n_stations - counts.sum()
    stratum = np.repeat(np.arange(n_strata), counts)
    tilt = np.exp(gen.normal(0.0, stratum_spread, size=(n_strata, k)))
    mu = base * tilt
    mu /= mu.sum(axis=1, keepdims=True)
    gam = gen.standard_gamma(concentration * mu[stratum])  # Dirichlet via normalised gammas
    theta = gam / gam.sum(axis=1, keepdims=True)
    size = 50 + gen.poisson(max(voters - 50, 1), size=n_stations)
    votes = gen.multinomial(size, theta)
    truth_votes = votes.sum(axis=0)
    leader = int(np.argmax(truth_votes))
    official_votes = fabricate(votes, leader, fabricated) if fabricated else votes
    # Stratified SRS, equal allocation.
    per = n_sampled // n_strata
    alloc = np.full(n_strata, per)
    alloc[: n_sampled - per * n_strata] += 1
    return _poll(
        votes=votes,
        official_votes=official_votes,
        stratum=stratum,
        stratum_names=[f"R{h + 1}" for h in range(n_strata)],
        ids=pl.Series("station", [f"S{i:05d}" for i in range(n_stations)]),
        registered=np.round(size / 0.6).astype(np.int64),
        choices=choices,
        alloc=alloc,
        skips=np.full(n_stations, skip, dtype=np.int64),
        bands=bands,
        band_refusal=band_refusal,
        refusal=refusal,
        dont_know=dont_know,
        station_refusal=station_refusal,
        fabricated=fabricated,
        leader=leader,
        gen=gen,
    )


def _poll(
    *,
    votes: npt.NDArray[np.int64],
    official_votes: npt.NDArray[np.int64],
    stratum: npt.NDArray[np.int64],
    stratum_names: Sequence[str],
    ids: pl.Series,
    registered: npt.NDArray[np.int64],
    choices: tuple[str, ...],
    alloc: npt.NDArray[np.int64],
    skips: npt.NDArray[np.int64],
    bands: Sequence[str],
    band_refusal: Sequence[float] | None,
    refusal: float | Mapping[str, float],
    dont_know: float,
    station_refusal: float,
    fabricated: float,
    leader: int,
    gen: np.random.Generator,
) -> SimulatedExitPoll:
    """Draw the stations, interview every ``skip``-th voter, code the answers."""
    k = len(choices)
    n_strata = len(stratum_names)
    counts = np.bincount(stratum, minlength=n_strata)
    size = votes.sum(axis=1)
    truth_votes = votes.sum(axis=0)
    chosen = np.concatenate(
        [
            gen.choice(np.flatnonzero(stratum == h), size=alloc[h], replace=False)
            for h in range(n_strata)
        ]
    )
    chosen.sort()
    prob = alloc[stratum] / counts[stratum]
    n_stations = len(ids)
    is_sampled = np.zeros(n_stations, dtype=bool)
    is_sampled[chosen] = True
    frame = pl.DataFrame(
        {
            "station": ids,
            "stratum": pl.Series(list(stratum_names), dtype=pl.Utf8).gather(stratum),
            "registered": registered,
            "prob": prob,
            "sampled": is_sampled,
        }
    )
    # Interviews.
    ref = (
        np.full(k, float(refusal))
        if not isinstance(refusal, Mapping)
        else np.array([float(refusal.get(c, 0.0)) for c in choices])
    )
    bmult = np.ones(len(bands)) if band_refusal is None else np.asarray(band_refusal, float)
    st_parts, ch_parts = [], []
    for s in chosen:
        skip = int(skips[s])
        start = int(gen.integers(1, skip + 1))
        m = 0 if size[s] < start else (size[s] - start) // skip + 1
        got = gen.multivariate_hypergeometric(votes[s], m)
        st_parts.append(np.full(m, s))
        ch_parts.append(np.repeat(np.arange(k), got))
    st = np.concatenate(st_parts)
    ch = np.concatenate(ch_parts)
    band = gen.integers(0, len(bands), size=len(st))
    lead_share = votes[:, leader] / np.maximum(size, 1)
    zs = (lead_share - lead_share.mean()) / max(float(lead_share.std()), 1e-12)
    smult = np.exp(station_refusal * zs)
    p_ref = np.minimum(ref[ch] * bmult[band] * smult[st], 1.0)
    refused = gen.random(len(st)) < p_ref
    dk = ~refused & (gen.random(len(st)) < dont_know)
    labels = np.array([*choices, REFUSED, DONT_KNOW], dtype=object)
    code = np.where(refused, k, np.where(dk, k + 1, ch))
    records = pl.DataFrame(
        {
            "station": ids.gather(st),
            "band": np.asarray(bands, dtype=object)[band].tolist(),
            "choice": labels[code].tolist(),
        }
    )
    interviews = interviews_from_frame(records, choices=list(choices), source="simulated")
    total = truth_votes.sum()
    by_h = np.zeros((n_strata, k), dtype=np.int64)
    np.add.at(by_h, stratum, official_votes)
    return SimulatedExitPoll(
        choices=choices,
        truth={c: float(truth_votes[i] / total) for i, c in enumerate(choices)},
        official={c: float(v) for c, v in zip(choices, official_votes.sum(axis=0), strict=True)},
        frame=frame,
        interviews=interviews,
        votes_by_station={
            str(ids[int(s)]): {c: int(votes[s, i]) for i, c in enumerate(choices)} for s in chosen
        },
        official_by_station={
            str(ids[int(s)]): {c: int(official_votes[s, i]) for i, c in enumerate(choices)}
            for s in chosen
        },
        official_by_stratum={
            stratum_names[h]: {c: int(v) for c, v in zip(choices, by_h[h], strict=True)}
            for h in range(n_strata)
        },
        fabricated=float(fabricated),
        leader=choices[leader],
        tally=None
        if np.all(skips[chosen] == skips[chosen][0])
        else pl.DataFrame({"station": ids.gather(chosen), "skip": skips[chosen]}),
    )


def _allocate(counts: npt.NDArray[np.int64], n: int, least: int) -> npt.NDArray[np.int64]:
    """Proportional allocation (largest remainders), at least ``least`` per stratum, <= N_h."""
    quota = counts / counts.sum() * n
    alloc = np.minimum(np.maximum(np.floor(quota).astype(np.int64), least), counts)
    order = np.argsort(-(quota - np.floor(quota)))
    i = 0
    while alloc.sum() < n and i < 10 * len(order) + n:
        h = order[i % len(order)]
        if alloc[h] < counts[h]:
            alloc[h] += 1
        i += 1
    while alloc.sum() > n:
        h = int(np.argmax(np.where(alloc > least, alloc - quota, -np.inf)))
        alloc[h] -= 1
    out: npt.NDArray[np.int64] = alloc.astype(np.int64)
    return out


def simulate_exitpoll_on(
    table: ProtocolTable,
    *,
    strata: str | None = "region",
    n_sampled: int = 300,
    min_stratum: int = 10,
    min_per_stratum: int = 3,
    per_station: int | None = 50,
    skip: int = 10,
    bands: Sequence[str] = ("08-12", "12-16", "16-20"),
    band_refusal: Sequence[float] | None = None,
    refusal: float | Mapping[str, float] = 0.25,
    dont_know: float = 0.03,
    station_refusal: float = 0.0,
    fabricated: float = 0.0,
    rng: int | np.random.Generator | None = None,
) -> SimulatedExitPoll:
    """An exit poll of a real election: the truth is the table's precinct results.

    Voters of each station are the station's valid votes (Against all included); the poll
    draws a stratified simple random sample of stations (proportional allocation with at least
    ``min_per_stratum`` stations per stratum; strata with fewer than ``min_stratum`` stations
    are pooled into one), then interviews as :func:`simulate_exitpoll` does, with the
    interviewer's interval set from the station's turnout, k = max(1, round(T / per_station))
    (the turnout is known in advance in a simulation; in the field it is the expected one), so
    the weights need ``sim.tally``. With ``per_station=None`` every station uses ``skip``.

    Parameters
    ----------
    table : ProtocolTable
        Complete precinct results (e.g. ``read_protocols("russia/2004.csv.zip")``).
    strata : str or None
        Level (column) of the table used as strata; None for one stratum.
    n_sampled, min_stratum, min_per_stratum, per_station
        Sample size and allocation, pooling of small strata, interviews aimed at per station.
    skip, bands, band_refusal, refusal, dont_know, station_refusal, fabricated, rng
        As in :func:`simulate_exitpoll`.

    Returns
    -------
    SimulatedExitPoll

    Examples
    --------
    >>> t = ProtocolTable.from_frame(pl.DataFrame({
    ...     "station": [str(i) for i in range(8)], "region": ["N"] * 4 + ["S"] * 4,
    ...     "voters_on_list": [900] * 8, "valid": [300] * 8,
    ...     "A": [200, 150, 100, 250, 50, 100, 80, 120],
    ...     "B": [100, 150, 200, 50, 250, 200, 220, 180]}),
    ...     profile="plain", choices=["A", "B"], levels=["region"])
    >>> sim = simulate_exitpoll_on(t, n_sampled=4, min_stratum=2, min_per_stratum=2, rng=3)
    >>> sim.truth["A"] == 1050 / 2400, int(sim.frame["sampled"].sum())
    (True, 4)
    """
    gen = np.random.default_rng(rng)
    votes = table.vote_matrix().astype(np.int64)
    choices = tuple(c.id for c in table.choices)
    good = votes.sum(axis=1) > 0
    votes = votes[good]
    keep = pl.Series(good)
    ids = table.frame["station"].cast(pl.Utf8).filter(keep)
    labels = (
        table.frame[strata].cast(pl.Utf8).fill_null("").filter(keep)
        if strata
        else pl.Series(["all"] * len(ids), dtype=pl.Utf8)
    )
    names = np.array(sorted(labels.unique().to_list()), dtype=object)
    codes = labels.cast(pl.Enum(list(names))).to_physical().to_numpy().astype(np.int64)
    counts = np.bincount(codes, minlength=len(names))
    small = counts < min_stratum
    if small.any() and not small.all():
        names = np.array([*names[~small], "small strata"])
        remap = np.cumsum(~small) - 1
        remap[small] = len(names) - 1
        codes = remap[codes]
        counts = np.bincount(codes, minlength=len(names))
    least = max(min_per_stratum, 2)
    if n_sampled > len(ids) or n_sampled < least * len(names) or skip < 1:
        raise SaylauInputError(
            "impossible simulation settings",
            field="n_sampled",
            expected=f"between {least * len(names)} and {len(ids)} stations, skip >= 1",
            found=f"{n_sampled} stations, skip {skip}",
        )
    try:
        registered = table.registered()[good].astype(np.int64)
    except (KeyError, ValueError):
        registered = votes.sum(axis=1)
    truth_votes = votes.sum(axis=0)
    leader = int(np.argmax(truth_votes))
    official_votes = fabricate(votes, leader, fabricated) if fabricated else votes
    return _poll(
        votes=votes,
        official_votes=official_votes,
        stratum=codes.astype(np.int64),
        stratum_names=[str(x) for x in names],
        ids=ids,
        registered=registered,
        choices=choices,
        alloc=_allocate(counts, n_sampled, least),
        skips=(
            np.full(len(ids), skip, dtype=np.int64)
            if per_station is None
            else np.maximum(np.round(votes.sum(axis=1) / per_station), 1).astype(np.int64)
        ),
        bands=bands,
        band_refusal=band_refusal,
        refusal=refusal,
        dont_know=dont_know,
        station_refusal=station_refusal,
        fabricated=fabricated,
        leader=leader,
        gen=gen,
    )
