"""Synthetic elections with a known truth, for checking the forensic methods.

:func:`simulate_election` draws precinct protocols for a country of heterogeneous regions (an
urban and a rural population in each, with their own turnout and preferences), optionally
manipulated in a chosen share of stations by the two fraud mechanisms of Klimek et al. (2012):

* **incremental** fraud: a fraction ``x ~ |N(0, theta)|`` (redrawn until ``0 < x < 1``) of the
  non-voters is stuffed into the box for the leader, and a fraction ``x**alpha`` of the other
  choices' votes is moved to the leader;
* **extreme** fraud: the same with ``x = 1 - |N(0, extreme_sd)|`` (``extreme_sd = 0.075`` as in the
  Election Forensics Toolkit's port of Klimek's code), i.e. nearly every non-voter is stuffed;

and with "drawn" protocols: in a share of stations the turnout and the leader's share are pushed
up to the next multiple of ``round_to`` (an integer percentage by default), as when a commission
writes a target figure instead of the count (Kobak, Shpilkin & Pshenichnikov 2016).

Everything is drawn through one :class:`numpy.random.Generator` and vectorised over stations.

References
----------
Klimek, P., Yegorov, Y., Hanel, R. and Thurner, S. (2012). Statistical detection of systematic
election irregularities. *PNAS* 109(41), 16469-16473.

Kobak, D., Shpilkin, S. and Pshenichnikov, M. S. (2016). Integer percentages as electoral
falsification fingerprints. *Annals of Applied Statistics* 10(1), 54-73.

Rozenas, A. (2017). Detecting election fraud from irregularities in vote-share distributions.
*Political Analysis* 25(1), 41-56.

Examples
--------
>>> sim = simulate_election(stations=400, regions=4, rng=1)
>>> sim.table.stations, sim.truth.stations_affected
(400, 0)
>>> bad = simulate_election(stations=400, fraud=FraudSpec(kind="extreme", share=0.1), rng=1)
>>> bad.truth.stations_affected, bad.truth.ballots_stuffed > 0
(40, True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from .._exceptions import SaylauInputError
from ..domain.table import ProtocolTable

__all__ = [
    "FraudSpec",
    "SimulatedElection",
    "SimulationTruth",
    "StationStructure",
    "simulate_election",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Names of the simulated choices; the first is the leader.
CHOICE_NAMES = ("Leader", "Second", "Third", "Fourth")
AGAINST_ALL = "Против всех"


@dataclasses.dataclass(frozen=True)
class FraudSpec:
    """One fraud mechanism applied to a share of the stations.

    Parameters
    ----------
    kind : {"incremental", "extreme"}
        Klimek et al.'s two mechanisms (see the module docstring).
    share : float
        Expected share of stations affected, in ``[0, 1]``; exactly ``round(share * stations)``
        stations are chosen at random.
    theta : float
        Standard deviation of the half-normal intensity ``x`` of incremental fraud.
    alpha : float
        Votes moved from the other choices are a fraction ``x**alpha`` of theirs.
    extreme_sd : float
        Standard deviation of ``1 - x`` under extreme fraud.
    """

    kind: Literal["incremental", "extreme"]
    share: float
    theta: float = 0.3
    alpha: float = 2.0
    extreme_sd: float = 0.075

    def __post_init__(self) -> None:
        if self.kind not in ("incremental", "extreme"):
            raise SaylauInputError(
                "unknown fraud kind",
                field="kind",
                expected="incremental | extreme",
                found=self.kind,
            )
        if not 0.0 <= self.share <= 1.0:
            raise SaylauInputError(
                "fraud share out of range",
                field="share",
                expected="0 <= share <= 1",
                found=self.share,
            )
        if self.theta <= 0 or self.alpha <= 0 or self.extreme_sd <= 0:
            raise SaylauInputError(
                "fraud parameters must be positive",
                field="theta/alpha/extreme_sd",
                expected="> 0",
                found=(self.theta, self.alpha, self.extreme_sd),
            )


@dataclasses.dataclass(frozen=True, eq=False)
class StationStructure:
    """A real election's structure, station by station, for clean elections drawn from it.

    Every array has one entry per station. A station's clean turnout is drawn as
    ``expit(turnout_logit + turnout_sd * z)`` and its leader's share of the valid votes as
    ``expit(share_logit + share_sd * z')`` (independent standard normals), the ballots as
    binomials of its registered voters; the other votes are split between three other choices.
    :func:`saylau.forensics.calibrate.election_structure` builds one from a protocol table
    (per-region medians and robust spreads).

    Parameters
    ----------
    registered : array of int
        Registered voters per station (the real ones).
    turnout_logit, turnout_sd, share_logit, share_sd : array of float
        Location and spread, on the logit scale, of the station's turnout and leader share.
    units : mapping of str to array of str
        The station's unit at each level (``{"region": ..., "tik": ...}``), kept as levels of
        the simulated table.
    other_shares : tuple of float
        How the votes not for the leader split between the other choices on average (the real
        election's national split, small parties included); each station draws its own split
        from a Dirichlet around it (concentration 60), as the synthetic regions do.
    """

    registered: IntArray
    turnout_logit: FloatArray
    turnout_sd: FloatArray
    share_logit: FloatArray
    share_sd: FloatArray
    units: dict[str, npt.NDArray[np.object_]]
    other_shares: tuple[float, ...] = (0.25, 0.18, 0.15)

    def __post_init__(self) -> None:
        n = self.registered.shape[0]
        arrays = (self.turnout_logit, self.turnout_sd, self.share_logit, self.share_sd)
        if any(a.shape != (n,) for a in (*arrays, *self.units.values())):
            raise SaylauInputError(
                "every array of a station structure needs one entry per station",
                field="structure",
                expected=n,
                found=[a.shape for a in (*arrays, *self.units.values())],
            )
        if len(self.other_shares) < 1 or min(self.other_shares) <= 0:
            raise SaylauInputError(
                "the other choices' shares must be positive",
                field="other_shares",
                expected="> 0",
                found=self.other_shares,
            )
        if n < 1 or (self.registered < 1).any():
            raise SaylauInputError(
                "a station structure needs stations with registered voters",
                field="registered",
                expected=">= 1 per station",
                found=int(self.registered.min()) if n else 0,
            )


@dataclasses.dataclass(frozen=True)
class SimulationTruth:
    """What was injected into a simulated election.

    Attributes
    ----------
    stations_affected : int
        Stations touched by fraud (either kind; drawn protocols are counted apart).
    incremental, extreme : int
        Stations under each fraud kind.
    drawn : int
        Stations whose protocol was "drawn" (rounded turnout and leader share).
    ballots_stuffed : int
        Ballots added for the leader (fraud and drawing together).
    votes_moved : int
        Votes moved from other choices to the leader.
    fraud_mask, drawn_mask : ndarray of bool
        Per station (in table order).
    clean_leader_votes : int
        Leader's votes before any manipulation.
    specs : tuple of FraudSpec
        The fraud parameters used.
    """

    stations_affected: int
    incremental: int
    extreme: int
    drawn: int
    ballots_stuffed: int
    votes_moved: int
    clean_leader_votes: int
    fraud_mask: BoolArray
    drawn_mask: BoolArray
    specs: tuple[FraudSpec, ...]

    @property
    def f_i(self) -> float:
        """Share of stations under incremental fraud."""
        return self.incremental / max(len(self.fraud_mask), 1)

    @property
    def f_e(self) -> float:
        """Share of stations under extreme fraud."""
        return self.extreme / max(len(self.fraud_mask), 1)

    @property
    def added_leader_votes(self) -> int:
        """Leader's votes that the manipulation added (stuffed + moved)."""
        return self.ballots_stuffed + self.votes_moved


@dataclasses.dataclass(frozen=True)
class SimulatedElection:
    """A simulated election: protocols as a :class:`ProtocolTable` and the injected truth."""

    table: ProtocolTable
    truth: SimulationTruth


def _rng(rng: int | np.random.Generator | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _klimek_intensity(spec: FraudSpec, size: int, gen: np.random.Generator) -> FloatArray:
    """Fraud intensity x in (0, 1) for each affected station (redrawn until inside)."""
    out = np.empty(size)
    todo = np.arange(size)
    while todo.size:
        z = np.abs(
            gen.normal(
                0.0, spec.theta if spec.kind == "incremental" else spec.extreme_sd, todo.size
            )
        )
        x = z if spec.kind == "incremental" else 1.0 - z
        ok = (x > 0) & (x < 1)
        out[todo[ok]] = x[ok]
        todo = todo[~ok]
    return out


def _take_from_others(
    votes: IntArray, rows: IntArray, amount: IntArray, gen: np.random.Generator
) -> None:
    """Move ``amount`` votes from columns 1.. to column 0 in ``rows`` (in place, at random)."""
    others = votes[rows, 1:]
    total = others.sum(axis=1)
    amount = np.minimum(amount, total)
    # multivariate hypergeometric: which of the others' ballots are moved
    taken = np.zeros_like(others)
    remaining = amount.copy()
    pool = total.copy()
    for j in range(others.shape[1]):
        good = others[:, j]
        bad = pool - good
        draw = np.zeros_like(good)
        ok = remaining > 0
        if ok.any():
            draw[ok] = gen.hypergeometric(good[ok], bad[ok], remaining[ok])
        taken[:, j] = draw
        remaining -= draw
        pool -= good
    votes[rows, 1:] -= taken
    votes[rows, 0] += amount


def simulate_election(
    *,
    stations: int = 5000,
    regions: int = 8,
    fraud: FraudSpec | Sequence[FraudSpec] | None = None,
    rounded_share: float = 0.0,
    round_to: float = 0.01,
    against_all: bool = False,
    structure: StationStructure | None = None,
    rng: int | np.random.Generator | None = None,
) -> SimulatedElection:
    """Draw a synthetic election, clean or manipulated, with its known truth.

    Parameters
    ----------
    stations : int
        Number of polling stations.
    regions : int
        Number of regions. Each has its own urban share, turnout level and preferences;
        urban stations are larger, vote less and prefer the leader less than rural ones.
    fraud : FraudSpec, sequence of FraudSpec or None
        Fraud mechanisms, applied to disjoint random sets of stations.
    rounded_share : float
        Share of the remaining (not otherwise manipulated) stations whose protocol is drawn:
        turnout (issued / registered) and leader share (leader / (valid + invalid)) are raised
        to the next multiple of ``round_to``, the extra ballots going to the leader and the
        share gap being made up by moving votes from the others.
    round_to : float
        Step of the drawn figures (``0.01``: integer percentages; ``0.05``: multiples of 5%).
    against_all : bool
        Add an "Против всех" choice.
    structure : StationStructure, optional
        Draw the clean election from a real election's structure (its registered voters per
        station, its units and their turnout and leader-share levels and spreads) instead of
        the synthetic regions; ``stations`` and ``regions`` are then ignored, the table gets the
        structure's levels, and fraud and drawn protocols are applied as usual.
    rng : int or numpy.random.Generator, optional
        Seed or generator; the only source of randomness.

    Returns
    -------
    SimulatedElection
        ``table`` has levels ``region``, lines ``voters_on_list``, ``issued``, ``invalid``,
        ``valid`` and one column per choice (``"Leader"`` first); ``truth`` the injected amounts.

    References
    ----------
    Klimek et al. (2012), PNAS 109(41); Kobak, Shpilkin & Pshenichnikov (2016), AOAS 10(1).

    Examples
    --------
    >>> sim = simulate_election(stations=300, rounded_share=0.2, rng=7)
    >>> sim.truth.drawn
    60
    >>> t = sim.table
    >>> bool((t.issued() <= t.registered()).all())
    True
    """
    if stations < 1:
        raise SaylauInputError(
            "need at least one station", field="stations", expected=">= 1", found=stations
        )
    if regions < 1:
        raise SaylauInputError(
            "need at least one region", field="regions", expected=">= 1", found=regions
        )
    if not 0.0 <= rounded_share <= 1.0:
        raise SaylauInputError(
            "rounded_share out of range",
            field="rounded_share",
            expected="0 <= share <= 1",
            found=rounded_share,
        )
    if not 0.0 < round_to < 1.0:
        raise SaylauInputError(
            "round_to out of range", field="round_to", expected="0 < round_to < 1", found=round_to
        )
    specs: tuple[FraudSpec, ...] = (
        () if fraud is None else (fraud,) if isinstance(fraud, FraudSpec) else tuple(fraud)
    )
    gen = _rng(rng)
    if structure is not None:
        n = int(structure.registered.shape[0])
        registered, cast, invalid, valid, votes = _clean_from_structure(structure, gen)
        against_all = False
        levels: dict[str, list[str]] = {k: [str(x) for x in v] for k, v in structure.units.items()}
    else:
        n = stations
        registered, cast, invalid, valid, votes, region = _clean_synthetic(
            n, regions, against_all, gen
        )
        levels = {"region": [f"R{r + 1:02d}" for r in region]}
    if sum(round(s.share * n) for s in specs) > n:
        raise SaylauInputError(
            "fraud shares add up to more than all stations",
            field="fraud",
            expected="sum of shares <= 1",
            found=sum(s.share for s in specs),
        )

    clean_leader = int(votes[:, 0].sum())

    # --- fraud (Klimek et al.'s mechanisms) on disjoint random station sets
    order = gen.permutation(n)
    fraud_mask = np.zeros(n, dtype=bool)
    counts = {"incremental": 0, "extreme": 0}
    stuffed_total = 0
    moved_total = 0
    start = 0
    for spec in specs:
        m = round(spec.share * n)
        rows = np.sort(order[start : start + m])
        start += m
        if m == 0:
            continue
        x = _klimek_intensity(spec, m, gen)
        non_voters = registered[rows] - cast[rows]
        stuffed = np.floor(x * non_voters).astype(np.int64)
        others = votes[rows, 1:].sum(axis=1)
        moved = np.rint(x**spec.alpha * others).astype(np.int64)
        _take_from_others(votes, rows, moved, gen)
        votes[rows, 0] += stuffed
        valid[rows] += stuffed
        cast[rows] += stuffed
        fraud_mask[rows] = True
        counts[spec.kind] += m
        stuffed_total += int(stuffed.sum())
        moved_total += int(moved.sum())

    # --- drawn protocols: turnout and leader share raised to the next multiple of round_to
    free = order[start:]
    m = round(rounded_share * free.size)
    drawn_rows = np.sort(free[:m])
    drawn_mask = np.zeros(n, dtype=bool)
    drawn_mask[drawn_rows] = True
    if m:
        reg = registered[drawn_rows]
        target_t = np.ceil(cast[drawn_rows] / reg / round_to - 1e-9) * round_to
        new_cast = np.minimum(np.rint(target_t * reg).astype(np.int64), reg)
        extra = new_cast - cast[drawn_rows]
        votes[drawn_rows, 0] += extra
        valid[drawn_rows] += extra
        cast[drawn_rows] = new_cast
        share = votes[drawn_rows, 0] / np.maximum(new_cast, 1)
        target_s = np.minimum(np.ceil(share / round_to - 1e-9) * round_to, 1.0)
        want = np.rint(target_s * new_cast).astype(np.int64) - votes[drawn_rows, 0]
        want = np.maximum(want, 0)
        before = votes[drawn_rows, 0].copy()
        _take_from_others(votes, drawn_rows, want, gen)
        stuffed_total += int(extra.sum())
        moved_total += int((votes[drawn_rows, 0] - before).sum())

    issued = cast.copy()
    if structure is not None:
        names = ["Leader", *(f"Choice {j + 2}" for j in range(votes.shape[1] - 1))]
    else:
        names = [*CHOICE_NAMES, *([AGAINST_ALL] if against_all else [])]
    data: dict[str, object] = {
        **levels,
        "station": [str(i + 1) for i in range(n)],
        "voters_on_list": registered,
        "issued": issued,
        "invalid": invalid,
        "valid": valid,
    }
    for j, name in enumerate(names):
        data[name] = votes[:, j]
    frame = pl.DataFrame(data).with_columns(
        [pl.col(c).cast(pl.Int64) for c in ("voters_on_list", "issued", "invalid", "valid", *names)]
    )
    table = ProtocolTable.from_frame(
        frame, profile="plain", choices=names, levels=list(levels), source="simulated"
    )
    truth = SimulationTruth(
        stations_affected=int(fraud_mask.sum()),
        incremental=counts["incremental"],
        extreme=counts["extreme"],
        drawn=int(m),
        ballots_stuffed=stuffed_total,
        votes_moved=moved_total,
        clean_leader_votes=clean_leader,
        fraud_mask=fraud_mask,
        drawn_mask=drawn_mask,
        specs=specs,
    )
    return SimulatedElection(table=table, truth=truth)


def _clean_synthetic(
    n: int, regions: int, against_all: bool, gen: np.random.Generator
) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray, IntArray]:
    """The synthetic regions' clean election: registered, cast, invalid, valid, votes, region."""
    # --- regions: urban share, turnout level, leader preference
    region_urban = gen.uniform(0.2, 0.8, regions)
    region_turnout = gen.normal(0.0, 0.3, regions)  # logit shift
    region_pref = gen.normal(0.0, 0.3, (regions, len(CHOICE_NAMES)))
    region = gen.integers(0, regions, n)
    urban = gen.random(n) < region_urban[region]

    # --- electorate: urban stations ~2000 voters, rural ~ 600 with a long small tail
    registered = np.where(
        urban,
        np.rint(gen.lognormal(np.log(1900), 0.35, n)),
        np.rint(gen.lognormal(np.log(550), 0.8, n)),
    ).astype(np.int64)
    registered = np.clip(registered, 20, 6000)

    # --- turnout: logit-normal around region / urban level
    logit_t = 0.4 - 0.45 * urban + region_turnout[region] + gen.normal(0.0, 0.35, n)
    p_turn = 1.0 / (1.0 + np.exp(-logit_t))
    cast = gen.binomial(registered, p_turn)

    # --- preferences: leader stronger in rural areas, Dirichlet per station
    base = np.log(np.array([0.42, 0.25, 0.18, 0.15]))
    logits = base[None, :] + region_pref[region]
    logits[:, 0] += 0.35 * ~urban - 0.15 * urban
    pref = np.exp(logits)
    pref /= pref.sum(axis=1, keepdims=True)
    conc = 60.0
    shares = gen.gamma(pref * conc)
    shares /= shares.sum(axis=1, keepdims=True)
    invalid = gen.binomial(cast, 0.015)
    valid = cast - invalid
    k = len(CHOICE_NAMES) + int(against_all)
    if against_all:
        aa = gen.beta(2.0, 60.0, n)
        shares = np.column_stack([shares * (1 - aa[:, None]), aa])
    votes = np.zeros((n, k), dtype=np.int64)
    left = valid.copy()
    rest = np.ones(n)
    for j in range(k - 1):  # sequential binomials = multinomial per station
        p = np.clip(shares[:, j] / np.maximum(rest, 1e-12), 0.0, 1.0)
        votes[:, j] = gen.binomial(left, p)
        left -= votes[:, j]
        rest -= shares[:, j]
    votes[:, k - 1] = left
    return registered, cast, invalid, valid, votes, region


def _expit(x: FloatArray) -> FloatArray:
    out: FloatArray = 1.0 / (1.0 + np.exp(-x))
    return out


def _clean_from_structure(
    s: StationStructure, gen: np.random.Generator
) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray]:
    """A clean election on a real structure: registered, cast, invalid, valid, votes."""
    n = s.registered.shape[0]
    registered = s.registered.astype(np.int64)
    p_turn = _expit(s.turnout_logit + s.turnout_sd * gen.standard_normal(n))
    cast = gen.binomial(registered, p_turn)
    invalid = gen.binomial(cast, 0.015)
    valid = cast - invalid
    p_lead = _expit(s.share_logit + s.share_sd * gen.standard_normal(n))
    rest = np.asarray(s.other_shares, dtype=np.float64)
    rest = rest / rest.sum()
    votes = np.zeros((n, 1 + rest.size), dtype=np.int64)
    votes[:, 0] = gen.binomial(valid, p_lead)
    split = gen.gamma(np.broadcast_to(rest * 60.0, (n, rest.size)))
    split /= split.sum(axis=1, keepdims=True)
    left = valid - votes[:, 0]
    remaining = np.ones(n)
    for j in range(rest.size - 1):  # sequential binomials = multinomial per station
        p = np.clip(split[:, j] / np.maximum(remaining, 1e-12), 0.0, 1.0)
        votes[:, j + 1] = gen.binomial(left, p)
        left = left - votes[:, j + 1]
        remaining = remaining - split[:, j]
    votes[:, -1] = left
    return registered, cast, invalid, valid, votes
