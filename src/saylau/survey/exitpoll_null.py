"""Per-stratum exit-poll tests against every station's official protocol, by re-drawing polls.

A stratum of an exit poll has a handful of stations, and the stations of a real region are
far from alike (a cluster of villages near 90% for the leader beside towns near 40%): a t test
on the stratum's own few stations is not calibrated (41% of honest Russia 2004 polls of 300
stations raised a per-stratum alarm after Holm). Where the official results give every
station's protocol, the hypothesis "the official protocols are the votes and the interviews are
honest" fixes everything the poll's sampling does: which stations could have been drawn, how
many voters each would have approached (the poll's own rule, :func:`~.nulltest.approach_rule`),
how many of them answer (the stratum's response rate) and what they would have said (a draw
from the station's official votes). :func:`redraw_strata` refers each stratum's reports to polls
re-drawn that way (:func:`~.nulltest.redraw_exitpoll_test`), which makes its p-value exact under
that null, whatever the shape of the region.

What the null does not contain: voters of one choice refusing more often than the others
(differential non-response) or answering untruthfully; a stratum can be rejected because of
them, and the finding says so.

Examples
--------
>>> import numpy as np
>>> rep = StationReports(stations=("a", "b"), strata=("N", "N"),
...     answers=np.array([[3.0, 1.0], [2.0, 2.0]]), approached=np.array([5.0, 5.0]),
...     skip=None, frame_stations=("a", "b", "c"), frame_strata=("N", "N", "N"))
>>> rep.weights().tolist()   # k A / m: no interval known, k = 1
[1.25, 1.25]
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from ..domain.choices import is_against_all, normalize_name
from .compare import JointTest, redrawn_test
from .nulltest import approach_rule, redraw_exitpoll_test

__all__ = ["EXITPOLL_NULL", "StationReports", "redraw_strata", "station_reports", "stratum_totals"]

FloatArray = npt.NDArray[np.float64]

#: What the re-drawn per-stratum null assumes, in the words the finding prints.
EXITPOLL_NULL = (
    "null re-drawn from the stratum's official station protocols through the same design: "
    "stations drawn as the sample draws them, voters approached by the poll's own rule, "
    "answering at the stratum's response rate whatever their choice, honest answers drawn "
    "from each station's official votes; differential refusal (supporters of one choice "
    "refusing more) is not in the null and can make an honest count look wrong"
)


@dataclasses.dataclass(frozen=True, eq=False)
class StationReports:
    """What each reporting station of an exit poll gave, for the re-drawn per-stratum tests.

    Parameters
    ----------
    stations, strata : tuple of str
        Reporting stations and their strata (frame labels).
    answers : ndarray, shape (r, k)
        Codable answers per choice.
    approached : ndarray, shape (r,)
        Voters approached (the interviewers' tally, else the records).
    skip : ndarray or None
        The interviewing interval of each station, when the tally gives it.
    frame_stations, frame_strata : tuple of str
        Every frame station and its stratum (the stratum's population).
    """

    stations: tuple[str, ...]
    strata: tuple[str, ...]
    answers: FloatArray
    approached: FloatArray
    skip: FloatArray | None
    frame_stations: tuple[str, ...]
    frame_strata: tuple[str, ...]
    srs_within: bool = True

    def weights(self) -> FloatArray:
        """The station factor ``k_s A_s / m_s`` of each reporting station."""
        m = self.answers.sum(axis=1)
        k = np.ones(len(m)) if self.skip is None else self.skip
        out: FloatArray = np.where(m > 0, k * self.approached / np.maximum(m, 1.0), 0.0)
        return out


def _choice_columns(choices: Sequence[str], columns: Sequence[str]) -> list[str] | None:
    """The official table's column of every choice (by name, Against all by meaning)."""
    norm = {normalize_name(c): c for c in columns}
    out = []
    for c in choices:
        col = c if c in columns else norm.get(normalize_name(c))
        if col is None and is_against_all(c):
            col = next((x for x in columns if is_against_all(x)), None)
        if col is None:
            return None
        out.append(col)
    return out


def redraw_strata(
    reports: StationReports,
    choices: Sequence[str],
    stations: pl.DataFrame,
    strata: Sequence[str],
    *,
    rng: int = 0,
    min_reports: int = 2,
) -> tuple[dict[str, JointTest], dict[str, str]]:
    """Re-drawn tests of the strata ``strata`` against the official station protocols.

    Parameters
    ----------
    reports : StationReports
    choices : sequence of str
        The estimate's choices, in order.
    stations : polars.DataFrame
        Official protocols of every station (``station`` and one column per choice).
    strata : sequence of str
        Strata to test.
    rng : int
        Seed; each stratum's stream is seeded by it and the stratum's label.
    min_reports : int
        Fewer reports than this: not tested.

    Returns
    -------
    tests : dict
        ``{stratum: JointTest}`` with the Monte Carlo p-value.
    untested : dict
        ``{stratum: reason}``.
    """
    cols = _choice_columns(choices, stations.columns)
    if cols is None:
        return {}, {}
    official = stations.select(
        pl.col("station").cast(pl.Utf8).str.strip_chars(), *[pl.col(c) for c in cols]
    ).drop_nulls()
    ids = official["station"].to_list()
    votes = official.select(cols).to_numpy().astype(float)
    row_of = {s: i for i, s in enumerate(ids)}
    label_of = dict(zip(reports.frame_stations, reports.frame_strata, strict=True))
    pop_rows: dict[str, list[int]] = {}
    for s, i in row_of.items():
        h = label_of.get(s)
        if h is not None:
            pop_rows.setdefault(h, []).append(i)
    weights = reports.weights()
    turnout = np.array(
        [votes[row_of[s]].sum() if s in row_of else np.nan for s in reports.stations]
    )
    known = np.isfinite(turnout) & (weights > 0)
    if not known.any():
        return {}, {}
    rule = approach_rule(
        turnout[known],
        reports.approached[known],
        None if reports.skip is None else reports.skip[known],
    )
    tests: dict[str, JointTest] = {}
    untested: dict[str, str] = {}
    rep_strata = np.asarray(reports.strata, dtype=object)
    for h in strata:
        mine = np.flatnonzero((rep_strata == h) & known)
        rows = pop_rows.get(h, [])
        if len(mine) < min_reports or not rows:
            untested[h] = (
                f"{len(mine)} report(s) matched to official protocols: fewer than "
                f"{min_reports}, too few to test"
            )
            continue
        answered = float(reports.answers[mine].sum())
        response = answered / max(float(reports.approached[mine].sum()), 1.0)
        p = redraw_exitpoll_test(
            reports.answers[mine],
            weights[mine],
            votes[rows],
            rule=rule,
            response=response,
            rng=zlib.crc32(f"{rng}:{h}".encode()),
        )
        tests[h] = redrawn_test(
            p,
            len(choices),
            f"re-drawn: {len(mine)} reporting stations against polls re-drawn from "
            f"the stratum's {len(rows)} official protocols (approach rule {rule[0]}, "
            f"response {response:.0%}; largest standardised gap over the choices, "
            "Monte Carlo p)",
        )
    return tests, untested


def station_reports(
    frame_stations: Sequence[str],
    frame_strata: Sequence[str],
    station_index: npt.NDArray[np.int64],
    choice_index: npt.NDArray[np.int64],
    k: int,
    approached: Mapping[str, float],
    skip: Mapping[str, float],
    *,
    srs_within: bool = True,
) -> StationReports:
    """:class:`StationReports` from the answers' frame positions and choice codes.

    >>> rep = station_reports(["a", "b", "c"], ["N", "N", "S"], np.array([0, 0, 2]),
    ...                       np.array([1, 0, 1]), 2, {"a": 3.0, "c": 1.0}, {})
    >>> rep.stations, rep.answers.tolist(), rep.approached.tolist(), rep.skip
    (('a', 'c'), [[1.0, 1.0], [0.0, 1.0]], [3.0, 1.0], None)
    """
    n = len(frame_stations)
    counts = np.bincount(station_index * k + choice_index, minlength=n * k).reshape(n, k)
    rep = np.flatnonzero(counts.sum(axis=1) > 0).tolist()
    ids = tuple(str(frame_stations[i]) for i in rep)
    return StationReports(
        stations=ids,
        strata=tuple(str(frame_strata[i]) for i in rep),
        answers=counts[rep].astype(float),
        approached=np.array([float(approached.get(s, 0.0)) for s in ids]),
        skip=np.array([float(skip[s]) for s in ids])
        if skip and all(s in skip for s in ids)
        else None,
        frame_stations=tuple(str(s) for s in frame_stations),
        frame_strata=tuple(str(h) for h in frame_strata),
        srs_within=srs_within,
    )


def stratum_totals(
    reports: StationReports, stations: pl.DataFrame, choices: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Official votes of ``choices`` per frame stratum, summed over the station protocols.

    >>> rep = station_reports(["a", "b"], ["N", "S"], np.array([0]), np.array([0]), 1, {}, {})
    >>> stratum_totals(rep, pl.DataFrame({"station": ["a", "b"], "A": [5, 7]}), ["A"])["S"]
    {'A': 7.0}
    """
    label = pl.DataFrame(
        {"station": list(reports.frame_stations), "__h": list(reports.frame_strata)}
    )
    sums = (
        stations.select(pl.col("station").cast(pl.Utf8).str.strip_chars(), *list(choices))
        .join(label, on="station", how="inner")
        .group_by("__h")
        .agg([pl.col(c).fill_null(0).sum() for c in choices])
    )
    return {str(r["__h"]): {c: float(r[c]) for c in choices} for r in sums.iter_rows(named=True)}
