"""Shpilkin's assumption tested inside territorial units: the alarm of the excess-vote method.

Shpilkin's national estimate counts as anomalous every vote of the leader that lies above the
curve the leader would have had if the share did not rise with turnout. Nationally that is
confounded: regions that honestly vote more *and* favour the leader (Russia's republics) make it
large on clean elections too (clean elections simulated from Russia 2011's regional levels get
about 10 million "anomalous" votes). The alarm therefore asks the method's question where the
regional differences are gone, inside the finest territorial unit of the file (a territorial
commission, a commune):

    does the leader's share rise with turnout *within* the units?

It is the vote-weighted within-unit least-squares slope ``b`` of the leader's share
``s = leader / (valid + invalid)`` on the turnout ``t = (valid + invalid) / registered`` (each
unit's own weighted means removed; the stations and bins of Shpilkin's curves: more than
``min_registered`` registered voters, ballots, a turnout up to 100 %), with a standard error
robust to any dependence inside a unit (cluster-robust, the units as clusters, CR1) and a
one-sided normal p-value of ``b > 0``. Ballot stuffing and written-in results move a station
towards higher turnout and a higher share at once, so they make ``b`` positive; honest
differences *between* units do not enter it at all.

What the null assumes, and what it cannot show: that inside a unit the stations' honest turnout
and leader share are not positively associated. Clean elections drawn from a real election's own
units satisfy it by construction; the clean Polish control (2020, first round) is the check that
real honest units behave so, and there the association is *negative* (``b`` about -0.54 inside
communes: Duda's rural stations vote less). A unit that mixes honest populations, one voting
more and favouring the leader (villages) and one voting less and favouring the others (towns),
breaks the assumption and can raise the alarm without any fraud (the synthetic regions of
:func:`~saylau.forensics.simulate.simulate_election`, with such a mixture inside each region, do:
see ``tests/forensics/test_shpilkin_alarm.py``), which is why the finest unit of the file is used.

Examples
--------
>>> from saylau.forensics.simulate import FraudSpec, simulate_election
>>> from saylau.forensics.calibrate import election_structure
>>> real = simulate_election(stations=3000, regions=6, rng=3).table
>>> s = election_structure(real)
>>> clean = within_unit_test(simulate_election(structure=s, rng=1).table)
>>> clean.level, clean.units, clean.pvalue > 0.01
('region', 6, True)
>>> bad = simulate_election(structure=s, fraud=FraudSpec("extreme", 0.05), rng=1).table
>>> within_unit_test(bad).pvalue < 1e-6
True
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

from ..domain.choices import Choice
from ..domain.table import ProtocolTable
from ..results import Result
from ._stations import station_arrays

__all__ = ["WithinUnitTest", "finest_unit_level", "within_unit_by", "within_unit_test"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: A level is a unit level (not the station itself) when its units hold this many stations on
#: average at least.
MIN_MEAN_STATIONS = 3.0


@dataclasses.dataclass(frozen=True)
class WithinUnitTest(Result):
    """The within-unit association of the leader's share with turnout.

    Attributes
    ----------
    level : str or None
        The unit level (``None``: the table has no level with several stations per unit; not
        tested).
    units : int
        Units with at least two stations (the clusters).
    stations : int
        Stations used.
    slope : float
        Vote-weighted within-unit slope of the leader's share on turnout (share points per
        turnout point).
    std_err : float
        Cluster-robust standard error of ``slope`` (units as clusters).
    statistic : float
        ``slope / std_err``.
    pvalue : float
        One-sided normal p-value of a positive slope (NaN when not tested).
    method : str
    """

    level: str | None
    units: int
    stations: int
    slope: float
    std_err: float
    statistic: float
    pvalue: float
    method: str = (
        "within-unit vote-weighted slope of the leader's share on turnout, cluster-robust "
        "(units as clusters), one-sided normal"
    )

    @property
    def tested(self) -> bool:
        """Whether the test could be computed (a unit level and a finite p-value)."""
        return math.isfinite(self.pvalue)


def _path_codes(table: ProtocolTable, level: str) -> IntArray:
    """Each station's unit at ``level``, its parents included (units named alike in two
    regions are two units)."""
    levels = table.levels[: table.levels.index(level) + 1] if level in table.levels else (level,)
    if level not in table.frame.columns:
        table.level_values(level)  # raises UnknownNameError
    key = pl.concat_str([pl.col(lv).cast(pl.Utf8).fill_null("") for lv in levels], separator="\x1f")
    codes = table.frame.select(key.rank("dense").alias("k")).get_column("k").to_numpy()
    return np.asarray(codes, dtype=np.int64) - 1


def finest_unit_level(table: ProtocolTable) -> str | None:
    """The finest level of the table whose units hold at least three stations on average.

    Examples
    --------
    >>> from saylau.forensics.simulate import simulate_election
    >>> finest_unit_level(simulate_election(stations=300, regions=3, rng=1).table)
    'region'
    """
    return _finest(table)[0]


def _finest(table: ProtocolTable) -> tuple[str | None, IntArray]:
    n = table.stations
    for level in reversed([lv for lv in table.levels if lv in table.frame.columns]):
        codes = _path_codes(table, level)
        units = int(codes.max()) + 1 if codes.size else 0
        if units and n / units >= MIN_MEAN_STATIONS:
            return level, codes
    return None, np.zeros(n, dtype=np.int64)


def within_unit_test(
    table: ProtocolTable,
    *,
    leader: str | Choice | None = None,
    level: str | None = "auto",
    min_registered: int = 100,
) -> WithinUnitTest:
    """Test whether the leader's share rises with turnout inside territorial units.

    Parameters
    ----------
    table : ProtocolTable
    leader : str, Choice or None
        The leading choice (the contender with most votes by default).
    level : str or None, default "auto"
        The unit level; ``"auto"``: :func:`finest_unit_level`; ``None``: not tested.
    min_registered : int, default 100
        Stations with more registered voters than this are used (as Shpilkin's curves).

    Returns
    -------
    WithinUnitTest
    """
    if level == "auto":
        lv, all_codes = _finest(table)
    else:
        lv = level
        all_codes = _path_codes(table, lv) if lv is not None else np.zeros(0, dtype=np.int64)
    arr = station_arrays(table, leader=leader, level=None)
    if lv is None:
        return WithinUnitTest(None, 0, 0, math.nan, math.nan, math.nan, math.nan)
    codes = all_codes[arr.quality.usable]
    reg = arr.registered.astype(np.float64)
    cast = arr.cast.astype(np.float64)
    lead = arr.leader.astype(np.float64)
    use = (arr.registered > min_registered) & (arr.cast > 0) & (arr.cast <= arr.registered)
    return _slope_test(lv, cast[use] / reg[use], lead[use] / cast[use], cast[use], codes[use])


def within_unit_by(
    table: ProtocolTable,
    by: str,
    *,
    leader: str | Choice | None = None,
    level: str | None = "auto",
    min_registered: int = 100,
) -> dict[str, WithinUnitTest]:
    """:func:`within_unit_test` inside each unit of the level ``by`` (a region's own units).

    The unit level is chosen once for the whole table (``"auto"``: :func:`finest_unit_level`);
    a region whose stations all lie in one unit, or a level that is ``by`` itself, gives an
    untested result (NaN p-value).

    Examples
    --------
    >>> import dataclasses
    >>> from saylau.forensics.simulate import simulate_election
    >>> t = simulate_election(stations=2000, regions=4, rng=3).table
    >>> tik = (pl.int_range(pl.len()) // 40).cast(pl.Utf8).alias("tik")
    >>> t = dataclasses.replace(t, frame=t.frame.with_columns(tik), levels=("region", "tik"))
    >>> r = within_unit_by(t, "region")
    >>> sorted(r), r["R01"].level, r["R01"].units > 5
    (['R01', 'R02', 'R03', 'R04'], 'tik', True)
    >>> within_unit_by(t, "region", level="region")["R01"].pvalue  # one unit: not tested
    nan
    """
    lv, all_codes = _finest(table) if level == "auto" else (level, None)
    names = table.level_values(by)
    arr = station_arrays(table, leader=leader, level=None)
    keep = arr.quality.usable
    out: dict[str, WithinUnitTest] = {}
    if lv is None or lv == by:
        return {
            str(n): WithinUnitTest(None, 0, 0, math.nan, math.nan, math.nan, math.nan)
            for n in dict.fromkeys(names[keep])
        }
    codes = (all_codes if all_codes is not None else _path_codes(table, lv))[keep]
    reg = arr.registered.astype(np.float64)
    cast = arr.cast.astype(np.float64)
    lead = arr.leader.astype(np.float64)
    use = (arr.registered > min_registered) & (arr.cast > 0) & (arr.cast <= arr.registered)
    region = names[keep]
    for name in dict.fromkeys(region):
        rows = use & (region == name)
        out[str(name)] = _slope_test(
            lv, cast[rows] / reg[rows], lead[rows] / cast[rows], cast[rows], codes[rows]
        )
    return out


def _slope_test(
    level: str, t: FloatArray, s: FloatArray, w: FloatArray, unit: IntArray
) -> WithinUnitTest:
    if t.size == 0:
        return WithinUnitTest(level, 0, 0, math.nan, math.nan, math.nan, math.nan)
    _u, unit = np.unique(unit, return_inverse=True)
    size = np.bincount(unit)
    sw = np.bincount(unit, w)
    dt = t - (np.bincount(unit, w * t) / sw)[unit]
    ds = s - (np.bincount(unit, w * s) / sw)[unit]
    clusters = int((size >= 2).sum())
    den = float((w * dt * dt).sum())
    if clusters < 2 or den <= 0:
        return WithinUnitTest(level, clusters, int(t.size), math.nan, math.nan, math.nan, math.nan)
    b = float((w * dt * ds).sum()) / den
    score = np.bincount(unit, w * dt * (ds - b * dt))
    var = clusters / (clusters - 1) * float((score * score).sum()) / den**2
    se = math.sqrt(var)
    z = b / se if se > 0 else (math.inf if b > 0 else -math.inf if b < 0 else 0.0)
    return WithinUnitTest(
        level=level,
        units=clusters,
        stations=int(t.size),
        slope=b,
        std_err=se,
        statistic=z,
        pvalue=float(stats.norm.sf(z)),
    )
