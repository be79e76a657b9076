"""Turnout and vote-share distributions: the histograms every forensic figure starts from.

Turnout ``issued / registered`` and each contender's share ``votes / (valid + invalid)`` per
station, binned on ``[0, 1]``, either counting stations or weighting each station by its voters
(registered voters for the turnout, ballots found for the shares), as in the figures of Kobak,
Shpilkin & Pshenichnikov and of Shpilkin.

Division artefact: a ratio of two small integers takes only a few values (1/2, 2/3 ...), so a
fine histogram of raw ratios has spikes that mean nothing. With ``jitter=True`` each numerator
gets independent uniform noise on ``[-0.5, 0.5]`` before dividing (the correction used by
Kobak et al. 2016), which spreads every count over its own rounding interval and removes the
artefact without moving the mass by more than half a vote. The noise uses ``rng``; without it
the histograms are exact.

Rows caught by the declared bad-station rules (:mod:`saylau.forensics._stations`) are dropped
(empty, zero registered) and counted; ratios above 1 are counted in ``above_one`` and left out
of the histograms.

References
----------
.. [1] D. Kobak, S. Shpilkin and M. S. Pshenichnikov, "Integer percentages as electoral
   falsification fingerprints", Annals of Applied Statistics 10(1), 54-73, 2016.
.. [2] D. Kobak, S. Shpilkin and M. S. Pshenichnikov, "Statistical anomalies in 2011-2012
   Russian elections revealed by 2D correlation analysis", arXiv:1205.0741, 2012.

Examples
--------
>>> import numpy as np
>>> h = histogram_ratio(np.array([1, 2, 3]), np.array([4, 4, 4]), bins=4)
>>> h.tolist()     # 0.25 falls in [0.25, 0.5), 0.5 in [0.5, 0.75), 0.75 in [0.75, 1]
[0.0, 1.0, 1.0, 1.0]
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import numpy.typing as npt

from .._exceptions import SaylauInputError
from ..domain.choices import Choice
from ..domain.table import ProtocolTable
from ..results import Finding, Result
from ._stations import station_arrays

__all__ = ["FINDING", "DistributionsResult", "distributions", "histogram_ratio"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def histogram_ratio(
    num: IntArray,
    den: IntArray,
    *,
    bins: int = 1000,
    weights: FloatArray | None = None,
    jitter: bool = False,
    rng: np.random.Generator | None = None,
) -> FloatArray:
    """Histogram of ``num / den`` on ``bins`` equal bins of [0, 1] (1.0 in the last bin).

    Rows with ``den <= 0`` or a ratio above 1 are left out. With ``jitter``, ``num`` gets
    uniform noise on [-0.5, 0.5] (clipped to [0, den]) before the division.
    """
    num_f = np.asarray(num, dtype=np.float64)
    den_f = np.asarray(den, dtype=np.float64)
    if jitter:
        gen = rng if rng is not None else np.random.default_rng()
        num_f = np.clip(num_f + gen.uniform(-0.5, 0.5, num_f.shape[0]), 0.0, den_f)
    ok = den_f > 0
    r = np.divide(num_f, den_f, out=np.full_like(num_f, np.inf), where=ok)
    ok &= r <= 1.0
    idx = np.minimum((r[ok] * bins).astype(np.int64), bins - 1)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)[ok]
    out: FloatArray = np.bincount(idx, weights=w, minlength=bins).astype(np.float64)
    return out


#: Histograms are pictures, not tests: a screen that never raises an alarm.
FINDING = Finding(
    alarm=False,
    kind="screen",
    caveats=("histograms: where to look, not a test",),
)


@dataclasses.dataclass(frozen=True)
class DistributionsResult(Result):
    """Histograms of turnout and of each contender's share.

    ``edges`` has ``bins + 1`` values on [0, 1]; ``turnout`` and each ``shares[name]`` have
    ``bins`` values (station counts, or voters when ``weight == "voters"``).
    """

    edges: tuple[float, ...]
    turnout: tuple[float, ...]
    shares: dict[str, tuple[float, ...]]
    leader: str
    weight: str
    jitter: bool
    stations: int
    above_one: dict[str, int]
    data_quality: dict[str, int]
    method: str
    finding: Finding = FINDING

    @property
    def nobs(self) -> int:
        """Stations used."""
        return self.stations


def distributions(
    table: ProtocolTable,
    *,
    leader: str | Choice | None = None,
    bins: int = 1000,
    weight: Literal["stations", "voters"] = "stations",
    jitter: bool = False,
    rng: int | np.random.Generator | None = None,
) -> DistributionsResult:
    """Turnout and vote-share histograms, optionally weighted by voters and jittered.

    Parameters
    ----------
    table : ProtocolTable
    leader : str, Choice or None
        Recorded in the result (the leader's share is always among ``shares``).
    bins : int, default 1000
        Equal bins on [0, 1] (1000 bins = 0.1 percentage point, fine enough to see integer
        peaks).
    weight : {"stations", "voters"}
        Count stations, or weight each by registered voters (turnout) and ballots found
        (shares).
    jitter : bool, default False
        Add uniform noise on [-0.5, 0.5] to every numerator (division-artefact correction).
    rng : int or Generator, optional
        Seed of the noise.

    Examples
    --------
    >>> import polars as pl
    >>> from saylau.domain.table import ProtocolTable
    >>> t = ProtocolTable.from_frame(
    ...     pl.DataFrame({"station": ["1", "2"], "voters_on_list": [100, 200],
    ...                   "issued": [50, 150], "invalid": [0, 0], "valid": [50, 150],
    ...                   "A": [25, 100], "B": [25, 50]}), profile="plain", choices=["A", "B"])
    >>> d = distributions(t, bins=4, weight="voters")
    >>> d.turnout, d.shares["A"]
    ((0.0, 0.0, 100.0, 200.0), (0.0, 0.0, 200.0, 0.0))
    """
    if weight not in ("stations", "voters"):
        raise SaylauInputError(
            "unknown weight", field="weight", expected="stations | voters", found=weight
        )
    if bins < 1:
        raise SaylauInputError("bins must be positive", field="bins", expected=">= 1", found=bins)
    arr = station_arrays(table, leader=leader, level=None)
    quality = arr.quality
    usable = quality.usable
    gen = np.random.default_rng(rng)
    reg, iss, cast = arr.registered, arr.issued, arr.cast
    w_t = reg.astype(np.float64) if weight == "voters" else None
    w_s = cast.astype(np.float64) if weight == "voters" else None
    turnout = histogram_ratio(iss, reg, bins=bins, weights=w_t, jitter=jitter, rng=gen)
    shares: dict[str, tuple[float, ...]] = {}
    above = {"turnout": int((iss > reg).sum())}
    for c in table.contenders:
        v = table.votes(c)[usable]
        h = histogram_ratio(v, cast, bins=bins, weights=w_s, jitter=jitter, rng=gen)
        shares[c.name] = tuple(float(x) for x in h)
        above[c.name] = int((v > cast).sum())
    return DistributionsResult(
        edges=tuple(float(x) for x in np.linspace(0.0, 1.0, bins + 1)),
        turnout=tuple(float(x) for x in turnout),
        shares=shares,
        leader=arr.leader_name,
        weight=weight,
        jitter=jitter,
        stations=len(arr),
        above_one=above,
        data_quality=dict(quality.counts),
        method="histograms of issued/registered and votes/(valid+invalid)"
        + (", numerators jittered by U(-0.5, 0.5)" if jitter else ""),
    )
