"""Voter lists across elections: stations matched between elections, list jumps and odd shares.

**Matching stations** (:func:`match_stations`). Stations of two elections of one country are
matched by the first of these rules that gives a key unique in both tables, each station
matched at most once:

1. ``station id``: the same station id;
2. ``region + territory + number``: region name normalised, the territorial commission's name
   normalised (its words sorted, numbers dropped) and the station number;
3. ``region + number``: region name and station number (station numbers are unique within a
   Russian region).

Names are normalised by :func:`normalize_unit`: case folded, ``ё`` → ``е``, leading numbers
("98 Город Байконур") and parenthesised parts dropped, punctuation to spaces; a region name left
unmatched is paired with its closest spelling in the other election when ``difflib`` finds one
at 0.85 similarity (each pairing listed in ``region_map``). Station numbers are the last number
in the field ("УИК №592" → ``592``, leading zeros dropped). The share matched by each rule is
reported.

**Checks.** Among the ordinary stations (not empty, not zero-registered, not oversized by
:func:`saylau.forensics._stations.station_quality`, at least ``min_registered`` voters):

``turnout_99``    ballots issued ≥ 99% of registered voters;
``mobile_share``  ballots issued outside the station ÷ ballots issued, far above the territory's
                  norm: robust z = (share − territory median) / (1.4826 · MAD of every
                  station's deviation from its territory's median, at least 0.01) above
                  ``share_z`` (the spread is pooled over the country so that a territory
                  where a third of the stations are inflated cannot widen its own norm);
``absentee_share`` voters with absentee certificates ÷ ballots issued (the 2004–2012 Russian
                  layout), the same robust z;
``list_jump``     between consecutive elections, log(registered now / registered before) of a
                  matched station, robust z within the territory above ``jump_z`` (lists that
                  grow beyond the territory's norm). A territory where more than 5% of the
                  matched lists *fell* by over 20% is not tested (listed in ``untested``):
                  stations renumbered between elections pair unrelated lists, which fall as
                  often as they rise, while padding only adds voters.

Per station these are **screens** (where to look). Per territory they are **tests**: the number
of flagged stations in a territory against its exact permutation null (territory labels
exchangeable: hypergeometric given the national number flagged), one-sided, Holm (or BH) over
every territory test of every check and election together. A clean control election
(:func:`calibrate_voter_lists`, e.g. Poland 2020) gives the measured false-alarm rate of the
territory tests it can run; the list-jump test needs a second election of the control and has
only its permutation null (said in the caveats).

Examples
--------
>>> import polars as pl
>>> from saylau.domain.table import ProtocolTable
>>> def t(ids, reg):
...     return ProtocolTable.from_frame(pl.DataFrame({"station": ids, "region": ["Город Москва"]
...         * len(ids), "uik": ids, "voters_on_list": reg, "issued": reg, "valid": reg,
...         "A": reg}), profile="plain", choices=["A"], levels=["region", "uik"])
>>> m = match_stations(t(["УИК №1", "УИК №2", "УИК №3"], [900, 800, 700]),
...                    t(["1", "2", "4"], [910, 790, 600]))
>>> m.matched, round(m.share_a, 3), m.by_rule
(2, 0.667, {'station id': 0, 'region + territory + number': 0, 'region + number': 2})
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

from .._exceptions import SaylauInputError
from ..domain.table import ProtocolTable
from ..forensics._stations import station_quality
from ..results import Finding, Result
from ._common import adjust_pvalues, correction_text

__all__ = [
    "MATCH_RULES",
    "ListCalibration",
    "StationMatch",
    "VoterListResult",
    "calibrate_voter_lists",
    "match_stations",
    "normalize_unit",
    "voter_list_checks",
]

FloatArray = npt.NDArray[np.float64]

#: The matching rules, in the order they are tried.
MATCH_RULES = ("station id", "region + territory + number", "region + number")

_PAREN = re.compile(r"\([^)]*\)")
_NONWORD = re.compile(r"[^\w]+", re.UNICODE)


def normalize_unit(name: str, *, sort_words: bool = False) -> str:
    """A commission or region name in a form that survives the publishers' spelling changes.

    >>> normalize_unit("98 Город Байконур (Республика Казахстан)")
    'город байконур'
    >>> normalize_unit("Орёл-ская  обл."), normalize_unit("1 район Богородское", sort_words=True)
    ('орел ская обл', 'богородское район')
    """
    s = _PAREN.sub(" ", name.casefold().replace("ё", "е"))
    s = _NONWORD.sub(" ", s).replace("_", " ")
    words = [w for w in s.split() if not w.isdigit()]
    return " ".join(sorted(words) if sort_words else words)


@dataclasses.dataclass(frozen=True, eq=False)
class StationMatch(Result):
    """Stations of election A matched to stations of election B.

    Attributes
    ----------
    pairs : polars.DataFrame
        ``station_a``, ``station_b``, ``rule``.
    stations_a, stations_b, matched : int
    share_a, share_b : float
        Share of each election's stations matched.
    by_rule : dict
        Rule -> stations matched by it.
    ambiguous : int
        Stations of A whose key was not unique (left unmatched).
    region_map : tuple of (str, str)
        Region names paired by closest spelling (A, B).
    agreement : dict
        Rule -> share of its pairs whose registered voters differ by less than 20% (a check
        that a rule pairs the same stations; lists rarely move that much between elections).
    rule : str
        The rules, as text.
    """

    pairs: pl.DataFrame
    stations_a: int
    stations_b: int
    matched: int
    share_a: float
    share_b: float
    by_rule: dict[str, int]
    ambiguous: int
    region_map: tuple[tuple[str, str], ...]
    agreement: dict[str, float] = dataclasses.field(default_factory=dict)
    rule: str = "station id, then region + territory + number, then region + number"


def _keys(table: ProtocolTable, region_of: dict[str, str] | None = None) -> pl.DataFrame:
    f = table.frame
    lv = list(table.levels)
    region_col = lv[0] if lv else None
    number_col = "uik" if "uik" in f.columns else (lv[-1] if len(lv) > 1 else "station")
    terr_col = "tik" if "tik" in f.columns else (lv[-2] if len(lv) > 2 else None)

    def names(col: str | None, *, sort_words: bool = False) -> pl.Expr:
        if col is None:
            return pl.lit(None, dtype=pl.Utf8)
        uniq = f.get_column(col).cast(pl.Utf8).fill_null("").unique().to_list()
        norm = {u: normalize_unit(u, sort_words=sort_words) for u in uniq}
        if region_of and not sort_words:
            norm = {u: region_of.get(v, v) for u, v in norm.items()}
        return pl.col(col).cast(pl.Utf8).fill_null("").replace_strict(norm, return_dtype=pl.Utf8)

    number = (
        pl.col(number_col)
        .cast(pl.Utf8)
        .str.extract(r"(\d+)\D*$")
        .cast(pl.Int64, strict=False)
        .cast(pl.Utf8)
    )
    sep = pl.lit("\x1f")
    return f.select(
        pl.col("station").cast(pl.Utf8).alias("station"),
        pl.col("station").cast(pl.Utf8).alias("k0"),
        names(region_col).alias("region"),
        names(terr_col, sort_words=True).alias("terr"),
        number.alias("num"),
    ).select(
        "station",
        "k0",
        pl.when(pl.col("terr").is_not_null() & (pl.col("terr") != ""))
        .then(pl.concat_str("region", sep, "terr", sep, "num"))
        .alias("k1"),
        pl.concat_str("region", sep, "num").alias("k2"),
        "region",
    )


def _region_map(a: list[str], b: list[str]) -> dict[str, str]:
    left = sorted(set(a) - set(b))
    right = sorted(set(b) - set(a))
    out: dict[str, str] = {}
    for r in left:
        hit = difflib.get_close_matches(r, right, n=1, cutoff=0.85)
        if hit:
            out[r] = hit[0]
            right.remove(hit[0])
    return out


def match_stations(a: ProtocolTable, b: ProtocolTable) -> StationMatch:
    """Match the stations of two elections (see the module docstring for the rules).

    Parameters
    ----------
    a, b : ProtocolTable
        The earlier and the later election (or any two).

    Returns
    -------
    StationMatch
    """
    ka = ka0 = _keys(a)
    kb0 = _keys(b)
    rmap = _region_map(
        ka.get_column("region").unique().to_list(), kb0.get_column("region").unique().to_list()
    )
    if rmap:
        ka = _keys(a, rmap)
    kb = kb0
    pairs = []
    by_rule: dict[str, int] = {}
    ambiguous = pl.Series("station", [], dtype=pl.Utf8)
    for key, rule in zip(("k0", "k1", "k2"), MATCH_RULES, strict=True):
        ua = ka.filter(pl.col(key).is_not_null() & ~pl.col(key).is_duplicated())
        ub = kb.filter(pl.col(key).is_not_null() & ~pl.col(key).is_duplicated())
        dup = ka.filter(pl.col(key).is_not_null() & pl.col(key).is_duplicated())
        ambiguous = pl.concat([ambiguous, dup.get_column("station")]).unique()
        j = ua.select("station", key).join(
            ub.select(pl.col("station").alias("station_b"), key), on=key, how="inner"
        )
        j = j.select(pl.col("station").alias("station_a"), "station_b", pl.lit(rule).alias("rule"))
        pairs.append(j)
        by_rule[rule] = j.height
        ka = ka.filter(~pl.col("station").is_in(j.get_column("station_a").implode()))
        kb = kb.filter(~pl.col("station").is_in(j.get_column("station_b").implode()))
    allp = pl.concat(pairs)
    amb = ambiguous.filter(~ambiguous.is_in(allp.get_column("station_a").implode()))
    agreement: dict[str, float] = {}
    if a.has_line("voters_on_list") and b.has_line("voters_on_list"):
        reg_a = pl.DataFrame({"station_a": ka0.get_column("station"), "ra": a.registered()})
        reg_b = pl.DataFrame({"station_b": kb0.get_column("station"), "rb": b.registered()})
        close = (
            allp.join(reg_a, on="station_a")
            .join(reg_b, on="station_b")
            .with_columns(
                ((pl.col("rb") + 1) / (pl.col("ra") + 1)).log().abs().lt(np.log(1.2)).alias("ok")
            )
            .group_by("rule")
            .agg(pl.col("ok").mean())
        )
        agreement = {str(r): float(v) for r, v in close.iter_rows()}
    return StationMatch(
        pairs=allp,
        stations_a=a.stations,
        stations_b=b.stations,
        matched=allp.height,
        share_a=allp.height / max(a.stations, 1),
        share_b=allp.height / max(b.stations, 1),
        by_rule=by_rule,
        ambiguous=amb.len(),
        region_map=tuple(sorted(rmap.items())),
        agreement=agreement,
    )


def _robust_z(values: pl.Series, territory: pl.Series, floor: float = 0.01) -> FloatArray:
    """(value − territory median) / pooled robust scale (1.4826 · national MAD of the
    deviations from each territory's median, at least ``floor``)."""
    df = pl.DataFrame({"v": values, "t": territory})
    dev = df.select((pl.col("v") - pl.col("v").median().over("t")).alias("d")).get_column("d")
    dev_np = dev.fill_null(np.nan).to_numpy().astype(float)
    finite = dev_np[np.isfinite(dev_np)]
    mad = float(np.median(np.abs(finite - np.median(finite)))) if finite.size else 0.0
    return dev_np / max(1.4826 * mad, floor)


def _station_checks(
    table: ProtocolTable, name: str, by: str, min_registered: int, share_z: float, full: float
) -> tuple[pl.DataFrame, dict[str, bool]]:
    q = station_quality(table)
    reg = table.registered().astype(float)
    iss = table.issued().astype(float)
    ok = q.usable & ~q.mask("oversized") & (reg >= min_registered) & (iss > 0)
    terr = pl.Series("t", table.level_values(by).astype(str))
    ids = table.frame.get_column("station").cast(pl.Utf8)
    rows = []
    present = {}
    checks: list[tuple[str, FloatArray, FloatArray]] = [
        ("turnout_99", iss / np.maximum(reg, 1), (iss / np.maximum(reg, 1) >= full).astype(float))
    ]
    for check, line in (("mobile_share", "issued_outside"), ("absentee_share", "absentee_voted")):
        present[check] = table.has_line(line)
        if table.has_line(line):
            share = table.line(line).astype(float) / np.maximum(iss, 1)
            z = np.full(len(share), np.nan)
            z[ok] = _robust_z(pl.Series(share[ok]), terr.filter(pl.Series(ok)))
            checks.append((check, share, (z > share_z).astype(float)))
    present["turnout_99"] = True
    for check, value, flag in checks:
        rows.append(
            pl.DataFrame(
                {
                    "check": check,
                    "election": name,
                    "station": ids,
                    "territory": terr,
                    "value": value,
                    "flag": flag.astype(bool),
                }
            ).filter(pl.Series(ok))
        )
    return pl.concat(rows), present


def _jump(
    a: ProtocolTable,
    b: ProtocolTable,
    name: str,
    by: str,
    min_registered: int,
    jump_z: float,
    max_drop_share: float,
) -> tuple[pl.DataFrame, StationMatch, pl.DataFrame]:
    m = match_stations(a, b)
    ra = pl.DataFrame(
        {"station_a": a.frame.get_column("station").cast(pl.Utf8), "reg_a": a.registered()}
    )
    qb = station_quality(b)
    okb = qb.usable & ~qb.mask("oversized")
    rb = pl.DataFrame(
        {
            "station_b": b.frame.get_column("station").cast(pl.Utf8),
            "reg_b": b.registered(),
            "territory": b.level_values(by).astype(str),
            "ok": okb,
        }
    )
    j = (
        m.pairs.join(ra, on="station_a")
        .join(rb, on="station_b")
        .filter(
            pl.col("ok") & (pl.col("reg_a") >= min_registered) & (pl.col("reg_b") >= min_registered)
        )
        .with_columns((pl.col("reg_b") / pl.col("reg_a")).log().alias("value"))
    )
    # renumbered stations pair unrelated lists: as many big falls as big rises. Padding only
    # adds voters. A territory where many matched lists fall by > 20% is not testable.
    drops = j.group_by("territory").agg(
        pl.len().alias("stations"),
        (pl.col("value") < -np.log(1.2)).mean().alias("drop_share"),
    )
    bad = drops.filter(pl.col("drop_share") > max_drop_share).with_columns(
        pl.lit(name).alias("election")
    )
    j = j.filter(~pl.col("territory").is_in(bad.get_column("territory").implode()))
    z = _robust_z(j.get_column("value"), j.get_column("territory"))
    out = j.select(
        pl.lit("list_jump").alias("check"),
        pl.lit(name).alias("election"),
        pl.col("station_b").alias("station"),
        "territory",
        "value",
        pl.Series("flag", z > jump_z),
    )
    return out, m, bad.select("election", "territory", "stations", "drop_share").sort("territory")


def _territory_tests(stations: pl.DataFrame) -> pl.DataFrame:
    g = stations.group_by("check", "election", "territory").agg(
        pl.len().alias("stations"), pl.col("flag").sum().alias("flagged")
    )
    tot = stations.group_by("check", "election").agg(
        pl.len().alias("N"), pl.col("flag").sum().alias("K")
    )
    g = g.join(tot, on=["check", "election"]).sort("check", "election", "territory")
    n_t = g.get_column("stations").to_numpy().astype(np.int64)
    k_t = g.get_column("flagged").to_numpy().astype(np.int64)
    big_n = g.get_column("N").to_numpy().astype(np.int64)
    big_k = g.get_column("K").to_numpy().astype(np.int64)
    p = stats.hypergeom.sf(k_t - 1, big_n, big_k, n_t)
    p = np.where(k_t > 0, p, 1.0)
    return g.with_columns(
        pl.Series("expected", n_t * big_k / np.maximum(big_n, 1)),
        pl.Series("pvalue", p.astype(float)),
    ).drop("N", "K")


@dataclasses.dataclass(frozen=True, eq=False)
class ListCalibration(Result):
    """Territory tests run on a clean control election: how often they raise a false alarm.

    Attributes
    ----------
    source : str
    tests : int
        Territory tests run on the control.
    alarms : int
        Of them, rejected after the correction (every one a false alarm).
    false_alarm_rate : float
        ``alarms / tests``.
    by_check : dict
        Check -> (tests, alarms).
    not_calibrated : tuple of str
        Checks the control cannot run (no such line, or no second election).
    """

    source: str
    tests: int
    alarms: int
    false_alarm_rate: float
    by_check: dict[str, tuple[int, int]]
    not_calibrated: tuple[str, ...]
    level: float
    correction: str


@dataclasses.dataclass(frozen=True, eq=False)
class VoterListResult(Result):
    """Station screens and territory tests of voter lists across elections.

    Attributes
    ----------
    estimate : int
        Territory tests rejected (alarms).
    territories : polars.DataFrame
        Per check, election and territory: stations, flagged, expected, pvalue, pvalue_adj,
        alarm.
    flagged_stations : polars.DataFrame
        Every station a screen flagged: check, election, station, territory, value.
    matches : dict
        "A → B" -> the :class:`StationMatch` of consecutive elections.
    untested : polars.DataFrame
        Territories left out of the list-jump test (election pair, territory, stations,
        drop_share: the share of matched lists that fell by more than 20%).
    screened : dict
        Check -> stations screened (over all elections).
    finding : Finding
    """

    estimate: int
    tests: int
    territories: pl.DataFrame
    flagged_stations: pl.DataFrame
    matches: dict[str, StationMatch]
    untested: pl.DataFrame
    screened: dict[str, int]
    finding: Finding
    calibration: ListCalibration | None = None


def _run(
    tables: Sequence[ProtocolTable],
    names: Sequence[str],
    by: str,
    min_registered: int,
    share_z: float,
    jump_z: float,
    full_turnout: float,
    max_drop_share: float = 0.05,
) -> tuple[pl.DataFrame, dict[str, StationMatch], set[str], pl.DataFrame]:
    parts = []
    present: set[str] = set()
    for t, n in zip(tables, names, strict=True):
        if by not in t.frame.columns:
            raise SaylauInputError(
                "territory column not in the table",
                file=t.source,
                field=by,
                expected=" | ".join(t.levels),
            )
        st, pres = _station_checks(t, n, by, min_registered, share_z, full_turnout)
        parts.append(st)
        present |= {k for k, v in pres.items() if v}
    matches = {}
    untested: list[pl.DataFrame] = [
        pl.DataFrame(
            schema={
                "election": pl.Utf8,
                "territory": pl.Utf8,
                "stations": pl.UInt32,
                "drop_share": pl.Float64,
            }
        )
    ]
    named = list(zip(tables, names, strict=True))
    for (a, na), (b, nb) in itertools.pairwise(named):
        jd, m, bad = _jump(a, b, f"{na} → {nb}", by, min_registered, jump_z, max_drop_share)
        parts.append(jd)
        untested.append(bad)
        matches[f"{na} → {nb}"] = m
        present.add("list_jump")
    return pl.concat(parts), matches, present, pl.concat(untested)


def calibrate_voter_lists(
    control: ProtocolTable,
    *,
    by: str = "region",
    level: float = 0.01,
    correction: str = "holm",
    min_registered: int = 100,
    share_z: float = 5.0,
    full_turnout: float = 0.99,
) -> ListCalibration:
    """Run the territory tests on a clean control election; count the (false) alarms.

    Examples
    --------
    >>> from saylau.forensics.simulate import simulate_election
    >>> cal = calibrate_voter_lists(simulate_election(stations=2000, rng=1).table)
    >>> cal.alarms, cal.not_calibrated
    (0, ('absentee_share', 'list_jump', 'mobile_share'))
    """
    st, _, present, _ = _run([control], ["control"], by, min_registered, share_z, 5.0, full_turnout)
    terr = _territory_tests(st)
    reject, _ = adjust_pvalues(terr.get_column("pvalue").to_numpy(), method=correction, level=level)
    terr = terr.with_columns(pl.Series("alarm", reject))
    by_check = {
        str(r["check"]): (int(r["n"]), int(r["a"]))
        for r in terr.group_by("check")
        .agg(pl.len().alias("n"), pl.col("alarm").sum().alias("a"))
        .iter_rows(named=True)
    }
    all_checks = {"turnout_99", "mobile_share", "absentee_share", "list_jump"}
    return ListCalibration(
        source=control.source or "control",
        tests=terr.height,
        alarms=int(reject.sum()),
        false_alarm_rate=float(reject.mean()) if terr.height else float("nan"),
        by_check=by_check,
        not_calibrated=tuple(sorted(all_checks - present)),
        level=level,
        correction=correction_text(correction, terr.height, "territory tests"),
    )


def voter_list_checks(
    tables: Sequence[ProtocolTable],
    *,
    names: Sequence[str] | None = None,
    by: str = "region",
    level: float = 0.01,
    correction: str = "holm",
    min_registered: int = 100,
    share_z: float = 5.0,
    jump_z: float = 5.0,
    full_turnout: float = 0.99,
    max_drop_share: float = 0.05,
    calibration: ListCalibration | None = None,
) -> VoterListResult:
    """Screen stations and test territories across one country's elections (in time order).

    Parameters
    ----------
    tables : sequence of ProtocolTable
        Elections of one country, earliest first; list jumps are taken between neighbours.
    names : sequence of str, optional
        Labels of the elections (default: the tables' sources).
    by : str, default "region"
        Territory column.
    level : float, default 0.01
    correction : {"holm", "bh"}
        Over every territory test of every check and election together.
    min_registered : int, default 100
    share_z, jump_z : float, default 5
        Robust-z thresholds of the station screens.
    full_turnout : float, default 0.99
    max_drop_share : float, default 0.05
        A territory where more than this share of matched stations lost over 20% of their
        registered voters is left out of the list-jump test (listed in ``untested``): that is
        the mark of stations renumbered between elections, which pair unrelated lists.
    calibration : ListCalibration, optional
        From :func:`calibrate_voter_lists` on a clean control; its false-alarm rate goes into
        the finding.

    Returns
    -------
    VoterListResult
    """
    if not tables:
        raise SaylauInputError("no election given", field="tables")
    labels = (
        list(names) if names else [t.source or f"election {i + 1}" for i, t in enumerate(tables)]
    )
    st, matches, _present, untested = _run(
        tables, labels, by, min_registered, share_z, jump_z, full_turnout, max_drop_share
    )
    terr = _territory_tests(st)
    reject, adj = adjust_pvalues(
        terr.get_column("pvalue").to_numpy(), method=correction, level=level
    )
    terr = terr.with_columns(pl.Series("pvalue_adj", adj), pl.Series("alarm", reject))
    screened = {str(k): int(v) for k, v in st.group_by("check").agg(pl.len()).iter_rows()}
    caveats = [
        "territory tests: excess of flagged stations against the permutation (hypergeometric) "
        "null of territory labels; station flags are a screen",
        "a territory whose every station is inflated alike is not an outlier of its own norm",
        f"list jumps not tested in {untested.height} territory-pairs where matched lists fell "
        "too often (stations renumbered)",
    ]
    if calibration is not None and calibration.not_calibrated:
        caveats.append(
            "not calibrated on the clean control ("
            + ", ".join(calibration.not_calibrated)
            + "): permutation null only"
        )
    finding = Finding(
        alarm=bool(reject.any()),
        kind="test",
        level=level,
        pvalue=float(np.nanmin(adj)) if len(adj) else None,
        correction=correction_text(correction, terr.height, "territory tests"),
        false_alarm_rate=None if calibration is None else calibration.false_alarm_rate,
        calibration=""
        if calibration is None
        else f"{calibration.source}: {calibration.alarms} "
        f"alarms in {calibration.tests} territory tests ({calibration.correction})",
        caveats=tuple(caveats),
    )
    return VoterListResult(
        estimate=int(reject.sum()),
        tests=terr.height,
        territories=terr,
        flagged_stations=st.filter(pl.col("flag")).drop("flag"),
        matches=matches,
        untested=untested,
        screened=screened,
        finding=finding,
        calibration=calibration,
    )
