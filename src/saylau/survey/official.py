"""Official results: the one concept both survey comparisons (and the service's import) use.

An exit poll or a quick count is compared with what the commission published. That can come
as a precinct file (every station's protocol: national totals, totals per stratum and every
station's figures follow), or as a table of totals: ``choice,votes`` (national), or
``stratum,choice,votes`` / ``station,choice,votes`` (per stratum or per station, national
totals summed from them). :func:`read_official` reads any of these; :class:`OfficialResults`
holds them and hands each comparison what it needs.

The ``choice,votes`` rules are those of :mod:`saylau.io.votes` (one reader): header names
``choice``/``party``/``candidate`` and ``votes``/``count`` (or ``share``/``percent`` for shares),
thousands grouped by spaces, each choice once, one Against-all line. In a precinct file an empty
cell is a missing figure, never a zero.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "official.csv"
>>> _ = p.write_text("choice,votes\\nA,600\\nAgainst all,40\\n", encoding="utf-8")
>>> off = read_official(p)
>>> off.totals, off.level
({'A': 600.0, 'Against all': 40.0}, None)
>>> from saylau.survey.compare import compare_with_official  # the same way by both surveys
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from .._exceptions import DataFormatError
from ..domain.table import ProtocolTable
from ..io.votes import read_choice_table
from .compare import (
    FALSE_ALARM_RATE,
    NO_TALLY_FALSE_ALARM,
    ComparisonResult,
    JointTest,
    compare_with_official,
    no_tally_is_screen,
    redrawn_test,
)
from .estimates import ShareEstimates
from .exitpoll_null import EXITPOLL_NULL, StationReports, redraw_strata, stratum_totals
from .nulltest import redraw_test
from .sample import TAKE_ALL

__all__ = ["OfficialResults", "compare_exit_poll", "compare_quick_count", "read_official"]

_SEP = " | "  # the stratum label of several columns, as in SamplingFrame.stratum_labels


@dataclasses.dataclass(frozen=True)
class OfficialResults:
    """What the commission published, national and (where known) by stratum or station.

    Parameters
    ----------
    totals : mapping of str to float
        National votes (or shares) per choice, Against all included.
    by_stratum, by_station : mapping of str to mapping
        Figures per stratum label and per station read from a table; ``None`` for an empty
        cell.
    stations : polars.DataFrame or None
        From a precinct file: one row per station, ``station``, the hierarchy levels and one
        column per choice (nulls kept), to form totals by any strata columns.
    source : str or None
    """

    totals: Mapping[str, float]
    by_stratum: Mapping[str, Mapping[str, float | None]] = dataclasses.field(default_factory=dict)
    by_station: Mapping[str, Mapping[str, float | None]] = dataclasses.field(default_factory=dict)
    stations: pl.DataFrame | None = None
    source: str | None = None

    @property
    def level(self) -> str | None:
        """The finest level known: ``"station"``, ``"stratum"`` or ``None`` (national)."""
        if self.by_station or self.stations is not None:
            return "station"
        return "stratum" if self.by_stratum else None

    def combine(self, *others: OfficialResults) -> OfficialResults:
        """These national totals with the per-stratum / per-station figures of ``others``."""
        out = self
        for o in others:
            out = dataclasses.replace(
                out,
                by_stratum=out.by_stratum or o.by_stratum,
                by_station=out.by_station or o.by_station,
                stations=out.stations if out.stations is not None else o.stations,
            )
        return out

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_table(cls, table: ProtocolTable, *, source: str | None = None) -> OfficialResults:
        """Official results from a precinct results table (every station's protocol).

        >>> t = ProtocolTable.from_frame(pl.DataFrame({"station": ["1", "2"],
        ...     "region": ["N", "S"], "A": [10, None], "B": [5, 7]}),
        ...     profile="plain", choices=["A", "B"], levels=["region"])
        >>> off = OfficialResults.from_table(t)
        >>> off.totals, off.stratum_totals(["region"])["S"]
        ({'A': 10.0, 'B': 12.0}, {'A': 0.0, 'B': 7.0})
        >>> off.station_figures()["2"]
        {'A': None, 'B': 7.0}
        """
        choices = [c.id for c in table.choices]
        cols = ["station", *[c for c in table.levels if c in table.frame.columns], *choices]
        stations = table.frame.select(cols).with_columns(pl.col("station").cast(pl.Utf8))
        sums = stations.select([pl.col(c).fill_null(0).sum() for c in choices]).row(0)
        return cls(
            totals={c: float(v) for c, v in zip(choices, sums, strict=True)},
            stations=stations,
            source=source or table.source,
        )

    @classmethod
    def from_totals(
        cls,
        totals: Mapping[str, float] | None = None,
        *,
        by_stratum: Mapping[str, Mapping[str, float | None]] | None = None,
        by_station: Mapping[str, Mapping[str, float | None]] | None = None,
        source: str | None = None,
    ) -> OfficialResults:
        """Official results from national totals, or from per-stratum / per-station figures
        (national totals are then their sums).

        >>> OfficialResults.from_totals(by_stratum={"N": {"A": 3}, "S": {"A": 4}}).totals
        {'A': 7.0}
        """
        strata = {str(k): dict(v) for k, v in (by_stratum or {}).items()}
        stations = {str(k): dict(v) for k, v in (by_station or {}).items()}
        if totals is None:
            summed: dict[str, float] = {}
            for figures in (strata or stations).values():
                for c, v in figures.items():
                    summed[c] = summed.get(c, 0.0) + (0.0 if v is None else float(v))
            totals = summed
        if not totals:
            raise DataFormatError("official results are empty", file=source, field="votes")
        return cls(
            totals={str(k): float(v) for k, v in totals.items()},
            by_stratum=strata,
            by_station=stations,
            source=source,
        )

    # ------------------------------------------------------------------ views
    def stratum_totals(self, columns: Sequence[str]) -> dict[str, dict[str, float]]:
        """Official votes per stratum, the label joining ``columns`` as the frame does.

        Per-stratum figures read from a file are returned as they are; from a precinct file
        they are summed over the stations (an empty cell adds nothing). Empty when neither is
        known or a column is absent.
        """
        if self.by_stratum:
            return {
                h: {c: 0.0 if v is None else float(v) for c, v in f.items()}
                for h, f in self.by_stratum.items()
            }
        st = self.stations
        if st is None or not columns or any(c not in st.columns for c in columns):
            return {}
        choices = list(self.totals)
        label = pl.concat_str([pl.col(c).cast(pl.Utf8) for c in columns], separator=_SEP)
        sums = (
            st.select(label.alias("__h"), *[pl.col(c).fill_null(0) for c in choices])
            .group_by("__h")
            .agg(pl.all().sum())
        )
        return {
            str(r["__h"]): {c: float(r[c]) for c in choices} for r in sums.iter_rows(named=True)
        }

    def station_figures(
        self, stations: Sequence[str] | None = None
    ) -> dict[str, dict[str, float | None]]:
        """Official figures of every station (or of ``stations``), ``None`` for an empty cell;
        empty when not known."""
        if self.by_station:
            keep = None if stations is None else {str(s) for s in stations}
            return {s: dict(f) for s, f in self.by_station.items() if keep is None or s in keep}
        if self.stations is None:
            return {}
        st = self.stations
        if stations is not None:
            st = st.filter(pl.col("station").is_in(sorted({str(s) for s in stations})))
        choices = list(self.totals)
        return {
            str(r["station"]): {c: None if r[c] is None else float(r[c]) for c in choices}
            for r in st.iter_rows(named=True)
        }

    def station_pairs(
        self, observed: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, tuple[dict[str, float | None], dict[str, float | None]]]:
        """``{station: (observed, official)}`` for the stations in both (empty cells kept as
        ``None``: missing, never zero)."""
        official = self.station_figures([str(s) for s in observed])
        out: dict[str, tuple[dict[str, float | None], dict[str, float | None]]] = {}
        for sid, figures in observed.items():
            if str(sid) not in official:
                continue
            obs = {c: None if v is None else float(v) for c, v in figures.items()}
            out[str(sid)] = (obs, official[str(sid)])
        return out


def read_official(
    path: str | Path, *, by: str | None = None, columns: Any = None
) -> OfficialResults:
    """Read official results: a ``choice,votes`` table (national, or per ``by`` unit with a
    ``station`` or ``stratum`` column) or any precinct file :func:`saylau.io.read_protocols`
    reads.

    Parameters
    ----------
    path : str or Path
    by : {"station", "stratum"}, optional
        The unit column of a long table (default: ``station`` or ``stratum`` when the header
        has one).
    columns : ColumnMapping or path of a mapping file, optional
        How a precinct file's columns map to lines and choices (see
        :mod:`saylau.io.columnmap`); given, the file is read as a precinct file.

    Returns
    -------
    OfficialResults

    Raises
    ------
    DataFormatError
        Naming the file, row and field of the first bad cell.
    """
    from ..io import read_protocols
    from ..io.votes import looks_like_choice_table

    kind = None if columns is not None else looks_like_choice_table(path)
    if kind is None:
        return OfficialResults.from_table(read_protocols(path, columns=columns), source=str(path))
    unit = by if by is not None else (kind if kind in ("station", "stratum") else None)
    figures = read_choice_table(path, by=unit, shares=True)
    if unit is None:
        return OfficialResults.from_totals(
            {c: float(v) for c, v in figures[""].items()}, source=str(path)
        )
    if unit == "stratum":
        return OfficialResults.from_totals(by_stratum=figures, source=str(path))
    return OfficialResults.from_totals(by_station=figures, source=str(path))


#: Reasons of :class:`~saylau.survey.quickcount.ExcludedReport` whose copies are not compared
#: with the official protocol (the copy itself is not trustworthy or not the station's).
_NOT_COMPARED = ("copy fails", "two or more different reports")


def compare_quick_count(
    qc: Any,
    official: OfficialResults,
    *,
    reports: ProtocolTable,
    strata: Sequence[str] = (),
    alpha: float = 0.05,
    rng: int = 0,
) -> ComparisonResult:
    """A quick count (:func:`~saylau.survey.quickcount.quick_count`, run with
    ``by_stratum=True`` for the per-stratum tests) against the official results.

    National: the estimate against the totals. Per stratum (``strata`` columns, as the
    sample's): each stratum's reports against the stratum's official figures, Holm over the
    strata tested; where the official results give every station, by re-drawing samples from
    the stratum's official protocols (:func:`~saylau.survey.nulltest.redraw_test`, seeded by
    ``rng`` and the stratum), else by Bonferroni t on the stratum's own df; a stratum with
    fewer than two reports is listed as not tested. Per station: every copy (except those
    failing their control relations and conflicting copies) against the official protocol,
    an empty cell being missing.

    Examples
    --------
    >>> import polars as pl
    >>> from saylau.survey.quickcount import quick_count
    >>> t = ProtocolTable.from_frame(pl.DataFrame({
    ...     "station": [str(i) for i in range(8)], "region": ["N"] * 4 + ["S"] * 4,
    ...     "voters_on_list": [900] * 8, "A": [60, 50, 55, 58, 30, 35, 40, 33],
    ...     "B": [40, 50, 45, 42, 70, 65, 60, 67]}),
    ...     profile="plain", choices=["A", "B"], levels=["region"])
    >>> reports = t.filter(pl.Series([True, True, True, False, True, False, False, False]))
    >>> qc = quick_count(reports, frame=t, strata=["region"], by_stratum=True, empty="collapse")
    >>> res = compare_quick_count(qc, OfficialResults.from_table(t), reports=reports,
    ...                           strata=["region"])
    >>> res.strata_untested, res.stations, res.flagged
    ({'S': "1 report(s): fewer than 5, too few to estimate the stratum's variance"}, (), False)
    """
    choices = qc.shares.choices
    totals = _split_take_all(official.stratum_totals(strata), official, qc, strata)
    by = {h: (e, totals[h]) for h, e in qc.stratum_shares.items() if h in totals}
    missing = {
        st.stratum: f"{st.reported} report(s): too few to test"
        for st in qc.strata
        if st.stratum in totals and st.stratum not in by
    }
    kept_out = {str(e.station) for e in qc.excluded if e.reason.startswith(_NOT_COMPARED)}
    frame = reports.frame.select("station", *choices)
    observed = {
        str(r["station"]): {c: r[c] for c in choices}
        for r in frame.iter_rows(named=True)
        if str(r["station"]) not in kept_out
    }
    pairs = official.station_pairs(observed)
    tests = _redraw_tests(qc, official, reports, strata, by, kept_out, rng)
    res = compare_with_official(
        qc.shares,
        official,
        by_stratum=by or None,
        station_pairs=pairs or None,
        station_mode="copies",
        strata_without_estimate=missing,
        strata_tests=tests,
        alpha=alpha,
    )
    empty = [st.stratum for st in qc.strata if st.collapsed_into is not None]
    if empty and res.finding is not None:
        # strata without any report were estimated from their neighbours: a national gap
        # may be that guess, so the national test warns and does not raise an alarm
        warn = (
            f"not an alarm: {len(empty)} strata have no report and were merged into "
            "neighbouring strata (their votes are a guess)"
        )
        finding = dataclasses.replace(
            res.finding, alarm=False, caveats=(warn, *res.finding.caveats)
        )
        others = (res.strata_finding, res.stations_finding)
        res = dataclasses.replace(
            res, finding=finding, flagged=any(f is not None and f.alarm for f in others)
        )
    return res


def _split_take_all(
    totals: dict[str, dict[str, float]],
    official: OfficialResults,
    qc: Any,
    strata: Sequence[str],
) -> dict[str, dict[str, float]]:
    """Official totals with the sample's take-all stations in strata of their own (as the
    draw labels them), so that a stratum's estimate and its official figure cover the same
    stations."""
    take_all = list(getattr(qc, "take_all", ()))
    st = official.stations
    if not take_all or not totals or st is None or any(c not in st.columns for c in strata):
        return totals
    choices = list(official.totals)
    label = pl.concat_str([pl.col(c).cast(pl.Utf8) for c in strata], separator=_SEP)
    rows = st.filter(pl.col("station").is_in(take_all)).select(
        label.alias("__h"), *[pl.col(c).fill_null(0) for c in choices]
    )
    out = {h: dict(v) for h, v in totals.items()}
    for r in rows.iter_rows(named=True):
        h = str(r["__h"])
        if h not in out:
            continue
        own = out.setdefault(h + TAKE_ALL, dict.fromkeys(choices, 0.0))
        for c in choices:
            out[h][c] = out[h].get(c, 0.0) - float(r[c])
            own[c] = own.get(c, 0.0) + float(r[c])
    return out


def _redraw_tests(
    qc: Any,
    official: OfficialResults,
    reports: ProtocolTable,
    strata: Sequence[str],
    by: Mapping[str, Any],
    kept_out: set[str],
    rng: int,
) -> dict[str, JointTest]:
    """Per-stratum tests re-drawn from the official protocols (:mod:`.nulltest`), where the
    official results give every station, the design is stratified SRS (reports missing at
    random stay an SRS of the stratum) and the shares are of the votes for all choices."""
    st = official.stations
    if st is None or not by or qc.denominator != "valid" or not strata:
        return {}
    if "PPS" in qc.shares.method:
        return {}  # the re-drawing is simple random sampling within the stratum
    if any(c not in st.columns for c in strata):
        return {}
    choices = list(qc.shares.choices)
    if any(c not in st.columns for c in choices):
        return {}
    label = pl.concat_str([pl.col(c).cast(pl.Utf8) for c in strata], separator=_SEP)
    pop = st.select(pl.col("station"), label.alias("__h"), *[pl.col(c) for c in choices])
    pop = pop.drop_nulls()
    take_all = list(getattr(qc, "take_all", ()))
    if take_all:  # certainty units: the stratum's sample is drawn among the others
        pop = pop.filter(~pl.col("station").is_in(take_all))
    excluded = {str(e.station) for e in qc.excluded} | kept_out
    rep = reports.frame.select(pl.col("station").cast(pl.Utf8), *choices).drop_nulls()
    rep = rep.filter(~pl.col("station").is_in(sorted(excluded)))
    rep = rep.join(pop.select("station", "__h"), on="station", how="inner")
    out: dict[str, JointTest] = {}
    groups = {str(k[0]): g for k, g in pop.group_by("__h")}
    mine_of = {str(k[0]): g for k, g in rep.group_by("__h")}
    for h in by:
        mine = mine_of.get(h)
        if mine is None or mine.height < 2 or h not in groups:
            continue
        population = groups[h].select(choices).to_numpy()
        seed = zlib.crc32(f"{rng}:{h}".encode())
        p = redraw_test(mine.select(choices).to_numpy(), population, rng=seed)
        out[h] = redrawn_test(
            p,
            len(choices),
            f"re-drawn: {mine.height} reports against samples of the stratum's "
            f"{population.shape[0]} official protocols (largest standardised gap over the "
            "choices, Monte Carlo p)",
        )
    return out


def compare_exit_poll(
    est: ShareEstimates,
    official: OfficialResults,
    *,
    by_stratum: Mapping[str, ShareEstimates] | None = None,
    answers: Mapping[str, Mapping[str, float]] | None = None,
    strata: Sequence[str] = (),
    alpha: float = 0.05,
    rng: int = 0,
) -> ComparisonResult:
    """An exit poll against the official results: national; per stratum (estimates from
    :func:`~saylau.survey.exitpoll.estimate_by_stratum`) where the official results have
    stratum totals or every station; per station (interview counts ``answers`` against each
    station's official shares) where they have station figures.

    Per stratum, where the official results give every station's protocol and the design drew
    stations with equal probabilities within each stratum, each stratum with two or more
    reports is tested against polls re-drawn from its own official protocols through the same
    design and interview model (:mod:`saylau.survey.exitpoll_null`, seeded by ``rng`` and the
    stratum): a calibrated alarm, Holm over the strata tested. Otherwise the per-stratum part
    is a screen (Bonferroni t on each stratum's own df)."""
    reports = getattr(est, "_reports", None)
    stations = official.stations
    redraw = (
        by_stratum is not None
        and stations is not None
        and isinstance(reports, StationReports)
        and reports.srs_within
    )
    totals = official.stratum_totals(strata or ["stratum"])
    tests: dict[str, JointTest] = {}
    too_few: dict[str, str] = {}
    if redraw:
        assert stations is not None and isinstance(reports, StationReports)
        if not totals:
            totals = stratum_totals(reports, stations, list(official.totals))
        tests, too_few = redraw_strata(
            reports, est.choices, stations, sorted(set(reports.strata)), rng=rng
        )
    by = {h: (e, totals[h]) for h, e in (by_stratum or {}).items() if h in totals}
    missing = (
        {
            h: "no estimate: fewer than two stations reported"
            for h in totals
            if h not in by and h in _sampled_strata(est)
        }
        if by_stratum is not None
        else {}
    )
    if tests:
        # a stratum the re-drawn test cannot carry is "not tested", never a t on 2-4 stations
        missing.update({h: why for h, why in too_few.items() if h in totals})
        by = {h: v for h, v in by.items() if h in tests}
    pairs = official.station_pairs(answers or {}) if answers else {}
    res = compare_with_official(
        est,
        official,
        by_stratum=by or None,
        station_pairs=pairs or None,
        station_mode="interviews",
        strata_without_estimate=missing,
        strata_tests=tests or None,
        alpha=alpha,
    )
    if tests and res.strata_finding is not None:
        res = dataclasses.replace(
            res,
            strata_finding=dataclasses.replace(
                res.strata_finding,
                false_alarm_rate=FALSE_ALARM_RATE.get(("exit poll", "strata")),
                caveats=(*res.strata_finding.caveats, EXITPOLL_NULL),
            ),
        )
    rules = getattr(est, "rules", None) or {}
    if res.finding is not None and str(rules.get("approached", "")).startswith("the records"):
        # without the tally, stations whose intervals differ count alike: measured on honest
        # polls, the national test then cries wolf, so it is a screen (compare.py)
        rate, draws, where = NO_TALLY_FALSE_ALARM
        screen = no_tally_is_screen(0.05)
        caveat = (
            "no interviewers' tally: the voters approached are taken from the records, so "
            "interviewing intervals and refusals that differ between stations or by choice "
            "are not corrected and can move an honest poll away from the count; on honest "
            f"polls whose intervals differ by station ({where}) this comparison raised a "
            f"false alarm in {rate:.3f} of {draws} polls at a nominal 0.05"
            + (": a screen, never an alarm; give the tally (--tally) for a test" if screen else "")
        )
        finding = dataclasses.replace(
            res.finding,
            kind="screen" if screen else res.finding.kind,
            alarm=False if screen else res.finding.alarm,
            false_alarm_rate=rate,
            caveats=(*res.finding.caveats, caveat),
        )
        others = (res.strata_finding, res.stations_finding)
        res = dataclasses.replace(
            res,
            finding=finding,
            flagged=finding.alarm or any(f is not None and f.alarm for f in others),
        )
    return res


def _sampled_strata(est: ShareEstimates) -> set[str]:
    per = (est.extra or {}).get("per_stratum") or {}
    return {str(h) for h, v in per.items() if v.get("sampled", 0) > 0}
