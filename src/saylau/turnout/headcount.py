"""Observers' head counts against the protocol: ballots issued beyond the voters seen entering.

Observers inside a polling station count the voters they see coming in, at fixed checkpoints
(e.g. 10:00, 12:00, 15:00, 18:00 and the close). Each station's **excess** is

    excess = ballots issued in the station (protocol) − voters counted (observers' mean),

where the ballots issued come from :func:`saylau.turnout._common.issued_seen`: the
``issued_in_station`` line, ballots issued early and outside the station (the mobile box) kept
apart, since the observer sees neither.

Counting error model
    An observer's final count is ``c = n + e`` with ``n`` the voters who came in and
    ``e ~ N(0, sigma**2 * n)`` (error variance proportional to the count, as misses and double
    counts accumulate through the day). ``sigma`` is estimated from the stations where two
    observers counted independently: for each, ``d = (c1 - c2) / sqrt(mean count)`` has
    variance ``2 sigma**2``; pairs beyond 5 robust standard deviations are left out (an
    observer who left early) and ``sigma = sqrt(mean(d**2) / 2)``. A station counted by ``k``
    observers has a mean count with standard error ``sigma * sqrt(n / k)``; the tests take
    ``n`` as the ballots issued in the station (the null: no padding), not the count itself,
    whose own error would shrink the standard error of an undercount (with the count as the
    scale the Holm station list flagged some clean station in 2.5% of 400 simulated clean
    elections at a 1% level; with the ballots issued, 1.25%).

Tests
    Per station, one-sided ``p = P(T > excess / se)`` with ``T`` Student's t on ``m``
    degrees of freedom (``m`` double-counted stations kept estimated ``sigma``); the stations whose
    excess is beyond the counting error are those rejected by Holm's procedure (family-wise)
    or Benjamini-Hochberg (false-discovery rate) over every counted station. By region and
    nationally: the sum of the station excesses, with standard error
    ``sigma * sqrt(sum(issued / k))``, a t interval and a one-sided test (Holm over regions).

A bias shared by every observer (all missing the same voters in a rush) does not show in their
disagreement: ``allowance`` lets a stated share of the seen ballots go uncounted before any
excess is counted, and the caveats say so.

Examples
--------
>>> from saylau.turnout.simulate import simulate_head_counts
>>> sim = simulate_head_counts(stations=300, counted=120, padded=6, rng=3)
>>> res = turnout_excess(sim.table, sim.counts)
>>> res.tested, res.pairs, set(res.flagged) <= set(sim.padded), len(res.flagged)
(120, 24, True, 4)
>>> res.finding.alarm
True
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from .._exceptions import DataFormatError, SaylauInputError
from ..domain.table import ProtocolTable, RowProblem
from ..io import read_frame
from ..results import Finding, Result
from ._common import adjust_pvalues, correction_text, issued_seen

__all__ = [
    "CHECKPOINT_CLOSE",
    "HeadCounts",
    "TurnoutExcessResult",
    "checkpoint_minutes",
    "head_counts_from_frame",
    "read_head_counts",
    "turnout_excess",
]

#: Minutes given to the closing checkpoint ("close", "закрытие", "жабылу"...): after any time.
CHECKPOINT_CLOSE = 24 * 60

_CLOSE_WORDS = {
    "close",
    "closing",
    "closed",
    "final",
    "end",
    "закрытие",
    "итог",
    "итого",
    "конец",
    "жабылу",
    "жабылуы",
    "қорытынды",
    "zhabylu",
}
_TIME = re.compile(r"^(\d{1,2})\s*[:.hч]\s*(\d{2})$")

#: Column names accepted for each field of a head-count table (case-insensitive).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "station": ("station", "uik", "polling_station", "участок", "уик", "учаске", "учаскe"),
    "observer": ("observer", "observer_id", "наблюдатель", "байқаушы", "baiqaushy"),
    "checkpoint": ("checkpoint", "time", "время", "уақыт", "uaqyt"),
    "count": ("count", "voters", "seen", "head_count", "число", "пришло", "саны", "sany"),
    "official": ("official", "official_count", "official_turnout", "официально", "ресми"),
}


def checkpoint_minutes(text: str) -> int | None:
    """Minutes from midnight of a checkpoint ("10:00", "15.30", "close", "жабылу"), or None.

    Examples
    --------
    >>> checkpoint_minutes("10:00"), checkpoint_minutes("Жабылу"), checkpoint_minutes("25:00")
    (600, 1440, None)
    """
    t = text.strip().lower()
    if t in _CLOSE_WORDS:
        return CHECKPOINT_CLOSE
    m = _TIME.match(t)
    if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
        return int(m.group(1)) * 60 + int(m.group(2))
    return None


@dataclasses.dataclass(frozen=True)
class HeadCounts:
    """Observers' head counts: one row per station, observer and checkpoint.

    Attributes
    ----------
    frame : polars.DataFrame
        ``station``, ``observer``, ``checkpoint`` (as written), ``minute`` (from midnight; the
        close is :data:`CHECKPOINT_CLOSE`), ``count`` (voters seen entering since the opening,
        cumulative), ``official`` (the commission's intermediate figure as a count of voters,
        or null; a percentage must first be turned into voters with the list size), ``row``.
    source : str or None
    rejected : tuple of RowProblem
        Rows kept out (bad cell), each with file, row and field.
    problems : tuple of RowProblem
        Rows kept but flagged (a cumulative count that went down).
    """

    frame: pl.DataFrame
    source: str | None = None
    rejected: tuple[RowProblem, ...] = ()
    problems: tuple[RowProblem, ...] = ()

    def final(self) -> pl.DataFrame:
        """Each observer's last count per station: ``station``, ``observer``, ``count``."""
        return (
            self.frame.sort("minute")
            .group_by("station", "observer", maintain_order=True)
            .agg(pl.col("count").last(), pl.col("minute").last())
            .sort("station", "observer")
        )


def _find(columns: list[str], field: str) -> str | None:
    low = {c.strip().lower(): c for c in columns}
    for alias in COLUMN_ALIASES[field]:
        if alias in low:
            return low[alias]
    return None


def head_counts_from_frame(frame: pl.DataFrame, *, source: str | None = None) -> HeadCounts:
    """Check and parse a head-count table (columns found by meaning, see ``COLUMN_ALIASES``).

    A row with an unreadable checkpoint or count is kept out and listed in ``rejected``; a
    cumulative count lower than the same observer's earlier one is kept and listed in
    ``problems``.

    Raises
    ------
    DataFormatError
        A required column (station, checkpoint, count) is missing.

    Examples
    --------
    >>> hc = head_counts_from_frame(pl.DataFrame({"УИК": ["7", "7", "7"],
    ...     "наблюдатель": ["a", "a", "a"], "время": ["10:00", "15:00", "закрытие"],
    ...     "пришло": ["50", "x", "420"]}))
    >>> hc.final().row(0), hc.rejected[0].row, hc.rejected[0].field
    (('7', 'a', 420, 1440), 3, 'пришло')
    """
    cols = [c for c in frame.columns if c != "__row"]
    found = {f: _find(cols, f) for f in COLUMN_ALIASES}
    for req in ("station", "checkpoint", "count"):
        if found[req] is None:
            raise DataFormatError(
                "head-count table lacks a required column",
                file=source,
                row=1,
                field=req,
                expected=" | ".join(COLUMN_ALIASES[req]),
                found=", ".join(cols[:8]),
            )
    rows = (
        frame.get_column("__row").to_list()
        if "__row" in frame.columns
        else list(range(2, frame.height + 2))
    )
    text = frame.select(pl.all().cast(pl.Utf8))
    out: dict[str, list[object]] = {
        k: [] for k in ("station", "observer", "checkpoint", "minute", "count", "official", "row")
    }
    rejected: list[RowProblem] = []
    for i, rec in enumerate(text.iter_rows(named=True)):
        row = int(rows[i])
        station = (rec[found["station"]] or "").strip()  # type: ignore[index]
        if not station:
            rejected.append(RowProblem(source, row, None, found["station"], "empty station id"))
            continue
        observer = (rec[found["observer"]] or "").strip() if found["observer"] else ""
        cp = (rec[found["checkpoint"]] or "").strip()  # type: ignore[index]
        minute = checkpoint_minutes(cp)
        if minute is None:
            rejected.append(
                RowProblem(
                    source,
                    row,
                    station,
                    found["checkpoint"],
                    "not a checkpoint time",
                    "HH:MM or close",
                    cp,
                )
            )
            continue
        parsed: list[int | None] = []
        bad = False
        for key in ("count", "official"):
            col = found[key]
            cell = (rec[col] or "").strip() if col else ""
            if key == "official" and cell in ("", "-"):
                parsed.append(None)
                continue
            if not cell.isdigit():
                rejected.append(
                    RowProblem(
                        source, row, station, col, "not a whole number", "a count >= 0", cell
                    )
                )
                bad = True
                break
            parsed.append(int(cell))
        if bad:
            continue
        for k, v in zip(
            out,
            (station, observer or "1", cp, minute, parsed[0], parsed[1], row),
            strict=True,
        ):
            out[k].append(v)
    table = pl.DataFrame(
        out,
        schema={
            "station": pl.Utf8,
            "observer": pl.Utf8,
            "checkpoint": pl.Utf8,
            "minute": pl.Int64,
            "count": pl.Int64,
            "official": pl.Int64,
            "row": pl.Int64,
        },
    ).sort("station", "observer", "minute")
    drops = table.with_columns(
        (pl.col("count").diff().over("station", "observer") < 0).fill_null(False).alias("down")
    ).filter(pl.col("down"))
    problems = tuple(
        RowProblem(
            source,
            int(r["row"]),
            str(r["station"]),
            "count",
            "cumulative count lower than at an earlier checkpoint",
            "a count that never falls",
            str(r["count"]),
        )
        for r in drops.iter_rows(named=True)
    )
    return HeadCounts(table, source=source, rejected=tuple(rejected), problems=problems)


def read_head_counts(path: str | Path) -> HeadCounts:
    """Read a head-count file (CSV, Excel, Parquet) by column meaning.

    See :func:`head_counts_from_frame` for the columns and the handling of bad rows.
    """
    frame, _ = read_frame(path)
    return head_counts_from_frame(frame, source=str(path))


@dataclasses.dataclass(frozen=True, eq=False)
class TurnoutExcessResult(Result):
    """Ballots issued beyond the observers' head counts, per station, region and nationally.

    Attributes
    ----------
    estimate : float
        Excess ballots summed over every counted station.
    std_err : float
        Its standard error under the counting-error model.
    df : float
        Degrees of freedom of the t reference (double-counted stations kept).
    pvalue : float
        One-sided p-value of "no excess" over all counted stations.
    sigma : float
        Counting error per square-root voter (``count_error`` given, or estimated).
    pairs : int
        Stations where two observers counted (the error model's data).
    tested : int
        Stations tested (counted and found in the protocols).
    flagged : tuple of str
        Stations whose excess is beyond the counting error after the correction.
    stations : polars.DataFrame
        Per station: region, issued_seen, counted, observers, excess, std_err, z, pvalue,
        pvalue_adj, flagged.
    regions : polars.DataFrame
        Per region: stations, issued_seen, counted, excess, std_err, ci_low, ci_high, pvalue,
        pvalue_adj, alarm.
    checkpoints : polars.DataFrame
        Per checkpoint with an official intermediate figure: stations, observed (mean count
        summed), official, difference.
    issued_rule : str
        Which protocol line gave the ballots the observers could see.
    finding : Finding
        The national test; ``correction`` names the station-level correction.
    unmatched : tuple of str
        Head-count stations not found in the protocols (kept out, listed).
    rejected, problems : tuple of RowProblem
        From the head-count table.
    """

    estimate: float
    std_err: float
    df: float
    pvalue: float
    sigma: float
    pairs: int
    tested: int
    flagged: tuple[str, ...]
    stations: pl.DataFrame
    regions: pl.DataFrame
    checkpoints: pl.DataFrame
    issued_rule: str
    level: float
    correction: str
    finding: Finding
    unmatched: tuple[str, ...] = ()
    rejected: tuple[RowProblem, ...] = ()
    problems: tuple[RowProblem, ...] = ()
    method: str = "head count vs ballots issued in the station, counting error from double counts"

    def conf_int(self, alpha: float = 0.05) -> tuple[float, float]:
        """Two-sided t interval of the total excess."""
        q = float(stats.t.ppf(1 - alpha / 2, self.df))
        return (self.estimate - q * self.std_err, self.estimate + q * self.std_err)


def estimate_sigma(final: pl.DataFrame, *, outlier_z: float = 5.0) -> tuple[float, int]:
    """Counting error per square-root voter from stations counted by two observers.

    Uses the first two observers (in id order) of each station with two or more, and
    ``d = (c1 - c2) / sqrt((c1 + c2) / 2)``. Pairs with ``|d|`` beyond ``outlier_z`` robust
    standard deviations (``1.4826 * MAD``) are left out (an observer who left early); then
    ``sigma = sqrt(mean(d**2) / 2)``, which under the normal model makes each station's
    ``excess / se`` exactly Student's t on the number of pairs kept.

    Returns
    -------
    (sigma, pairs kept)

    >>> f = pl.DataFrame({"station": ["1", "1", "2", "2", "3", "3", "4", "4"],
    ...     "observer": ["a", "b"] * 4, "count": [100, 110, 400, 380, 900, 930, 600, 600]})
    >>> s, m = estimate_sigma(f)
    >>> m, round(s, 3)  # d = -0.976, 1.013, -0.992, 0: sqrt(mean(d**2) / 2) = 0.608
    (4, 0.608)
    """
    two = (
        final.sort("station", "observer")
        .group_by("station", maintain_order=True)
        .agg(pl.col("count").head(2))
        .filter(pl.col("count").list.len() == 2)
    )
    if two.height == 0:
        return float("nan"), 0
    c = np.array(two.get_column("count").to_list(), dtype=float)
    mean = np.maximum(c.mean(axis=1), 1.0)
    d = (c[:, 0] - c[:, 1]) / np.sqrt(mean)
    scale = 1.4826 * float(np.median(np.abs(d - np.median(d))))
    keep = np.abs(d - np.median(d)) <= outlier_z * scale if scale > 0 else np.ones(len(d), bool)
    return float(np.sqrt(np.mean(d[keep] ** 2) / 2.0)), int(keep.sum())


#: The measured false-alarm rates at the default level 1% (``tests/results/headcount_false_alarms
#: .json``): 1,000 clean elections of ``simulate_head_counts(stations=300, counted=150,
#: padded=0, double_share=0.3, rng=20_000 + i)``, national test 7 alarms, station list 13.
MEASURED_FALSE_ALARMS: dict[str, Any] = {
    "national": 0.007,
    "stations": 0.013,
    "study": "1,000 simulated clean elections (300 stations, 150 counted, 30% counted twice, "
    "seeds 20000-20999) at level 0.01: the national test rang in 0.7%",
}


def turnout_excess(
    table: ProtocolTable,
    counts: HeadCounts,
    *,
    by: str | None = "region",
    count_error: float | None = None,
    allowance: float = 0.0,
    level: float = 0.01,
    correction: str = "holm",
    min_pairs: int = 10,
) -> TurnoutExcessResult:
    """Compare the observers' head counts with the ballots issued in each station.

    Parameters
    ----------
    table : ProtocolTable
        The protocols (station ids must be those of the head counts).
    counts : HeadCounts
        From :func:`read_head_counts` or :func:`head_counts_from_frame`.
    by : str or None, default "region"
        Hierarchy column to total by (``None``: national total only).
    count_error : float, optional
        Counting error per square-root voter, when known from elsewhere; by default estimated
        from the double-counted stations (see the module docstring).
    allowance : float, default 0
        Share of the seen ballots allowed to go uncounted (a bias shared by all observers)
        before an excess is counted.
    level : float, default 0.01
        Family-wise level (Holm) or false-discovery rate (BH) of the station list, and level
        of the regional and national tests.
    correction : {"holm", "bh"}
    min_pairs : int, default 10
        Fewest double-counted stations from which ``sigma`` is estimated.

    Returns
    -------
    TurnoutExcessResult

    Raises
    ------
    SaylauInputError
        No head count matches a protocol station; too few double counts to estimate the
        counting error and no ``count_error`` given.
    """
    final = counts.final()
    if count_error is None:
        sigma, pairs = estimate_sigma(final)
        if pairs < min_pairs:
            raise SaylauInputError(
                "too few stations counted by two observers to estimate the counting error",
                file=counts.source,
                field="observer",
                expected=f">= {min_pairs} stations with two observers (or give count_error)",
                found=pairs,
            )
    else:
        sigma, pairs = float(count_error), int(estimate_sigma(final)[1])
    df = float(max(pairs, 1)) if count_error is None else float("inf")
    per = final.group_by("station").agg(
        pl.col("count").mean().alias("counted"), pl.len().alias("observers")
    )
    seen, rule = issued_seen(table)
    level_col = by if by and by in table.frame.columns else None
    prot = pl.DataFrame(
        {
            "station": table.frame.get_column("station").cast(pl.Utf8),
            "region": table.level_values(level_col) if level_col else ["all"] * table.stations,
            "issued_seen": seen,
        }
    )
    joined = per.join(prot, on="station", how="inner").sort("station")
    unmatched = tuple(sorted(set(per.get_column("station")) - set(joined.get_column("station"))))
    if joined.height == 0:
        raise SaylauInputError(
            "no head-count station is in the protocol table",
            file=counts.source,
            field="station",
            expected="station ids of the protocol table",
            found=", ".join(unmatched[:3]),
        )
    counted = joined.get_column("counted").to_numpy().astype(float)
    k = joined.get_column("observers").to_numpy().astype(float)
    issued = joined.get_column("issued_seen").to_numpy().astype(float)
    excess = issued * (1.0 - allowance) - counted
    # the null variance: under no padding the true voters are the ballots issued in the station
    # (the count itself is not the scale: an undercount would shrink its own standard error)
    se = sigma * np.sqrt(np.maximum(issued, 1.0) / k)
    sign = np.sign(excess)
    z = np.where(se > 0, excess / np.where(se > 0, se, 1.0), np.where(sign > 0, np.inf, -np.inf))
    z = np.where((se <= 0) & (sign == 0), 0.0, z)
    t_ref = stats.t(df) if np.isfinite(df) else stats.norm()
    p = t_ref.sf(z)
    reject, adj = adjust_pvalues(p, method=correction, level=level)
    st = joined.with_columns(
        pl.Series("excess", excess),
        pl.Series("std_err", se),
        pl.Series("z", z),
        pl.Series("pvalue", p),
        pl.Series("pvalue_adj", adj),
        pl.Series("flagged", reject),
    )
    q = float(t_ref.ppf(0.975))
    reg = (
        st.group_by("region")
        .agg(
            pl.len().alias("stations"),
            pl.col("issued_seen").sum(),
            pl.col("counted").sum(),
            pl.col("excess").sum(),
            (pl.col("std_err") ** 2).sum().sqrt().alias("std_err"),
        )
        .sort("region")
    )
    reg_p = t_ref.sf(reg.get_column("excess").to_numpy() / reg.get_column("std_err").to_numpy())
    reg_rej, reg_adj = adjust_pvalues(reg_p, method="holm", level=level)
    reg = reg.with_columns(
        (pl.col("excess") - q * pl.col("std_err")).alias("ci_low"),
        (pl.col("excess") + q * pl.col("std_err")).alias("ci_high"),
        pl.Series("pvalue", reg_p),
        pl.Series("pvalue_adj", reg_adj),
        pl.Series("alarm", reg_rej),
    )
    total = float(excess.sum())
    total_se = float(np.sqrt((se**2).sum()))
    pval = float(t_ref.sf(total / total_se)) if total_se > 0 else float(total <= 0)
    cps = (
        counts.frame.filter(pl.col("official").is_not_null())
        .group_by("station", "checkpoint", "minute")
        .agg(pl.col("count").mean().alias("observed"), pl.col("official").first())
        .group_by("checkpoint", "minute")
        .agg(pl.len().alias("stations"), pl.col("observed").sum(), pl.col("official").sum())
        .with_columns((pl.col("official") - pl.col("observed")).alias("difference"))
        .sort("minute")
    )
    corr = correction_text(correction, len(excess), "counted stations")
    caveats = [
        f"covers the {len(excess):,} counted stations only, not the unobserved ones",
        "a counting bias shared by all observers is not seen in their disagreement"
        + (f" (allowance {allowance:.1%} of seen ballots)" if allowance else " (no allowance)"),
        f"ballots seen: {rule}",
    ]
    if count_error is None:
        caveats.append(f"counting error estimated from {pairs} double-counted stations")
    finding = Finding(
        alarm=bool(pval < level),
        kind="test",
        level=level,
        pvalue=pval,
        correction=f"national total; station list: {corr}; regions: Holm over {reg.height}",
        false_alarm_rate=MEASURED_FALSE_ALARMS["national"] if level == 0.01 else None,
        calibration=MEASURED_FALSE_ALARMS["study"]
        + f"; the station list flagged a clean station in {MEASURED_FALSE_ALARMS['stations']:.1%}"
        " of them",
        caveats=tuple(caveats),
    )
    return TurnoutExcessResult(
        estimate=total,
        std_err=total_se,
        df=df,
        pvalue=pval,
        sigma=float(sigma),
        pairs=pairs,
        tested=len(excess),
        flagged=tuple(st.filter(pl.col("flagged")).get_column("station").to_list()),
        stations=st,
        regions=reg,
        checkpoints=cps,
        issued_rule=rule,
        level=level,
        correction=corr,
        finding=finding,
        unmatched=unmatched,
        rejected=counts.rejected,
        problems=counts.problems,
    )
