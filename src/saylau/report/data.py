"""What a report shows, computed once for every language: :func:`prepare_report`.

Reads the inputs (files, or the observer service's database), runs the library's methods on
them (protocol checks, tabulation and seats, forensics on the election and its reference,
observer copies against the official protocols, the quick count and the exit poll against
the official result) and keeps their typed results in a frozen :class:`ReportData`, with every
input file's SHA-256 and row counts, the seed and the options that changed a result. No
rendering here: :mod:`saylau.report.sections` turns the data into a document in one language.

A missing optional input leaves its section out with the reason (``ReportData.dropped``); an
unreadable one stops with the readers' one-line error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from .._exceptions import SaylauInputError
from ..domain.checks import ValidationReport, validate
from ..domain.reconcile import CopyComparison, compare_copies
from ..domain.table import ProtocolTable
from ..forensics.battery import DEFAULT_LEVEL, ForensicsReport, run_forensics
from ..io import read_protocols, sample_path
from ..tabulate import SeatAllocation, Tabulation, allocate_by_rules, get_rules, tabulate
from ..turnout.headcount import HeadCounts, TurnoutExcessResult, read_head_counts, turnout_excess

__all__ = ["BUNDLED_REFERENCE", "InputFile", "ReportData", "prepare_report"]

#: The clean control drawn beside each forensic figure unless another reference is named.
BUNDLED_REFERENCE = "poland-2020-r1-sample.csv.gz"


@dataclasses.dataclass(frozen=True)
class InputFile:
    """One input of the report: its role, name, SHA-256, rows read and rows kept out."""

    role: str
    path: str
    sha256: str
    rows: int
    kept_out: int = 0


@dataclasses.dataclass(frozen=True, eq=False)
class ReportData:
    """Every result a report shows (language-neutral); see :func:`prepare_report`."""

    official: ProtocolTable
    source: str
    validation: ValidationReport
    tabulation: Tabulation
    rules: str | None
    seats: SeatAllocation | None
    forensics: ForensicsReport
    reference: ProtocolTable | None
    reference_source: str | None
    reference_report: ForensicsReport | None
    copies: ProtocolTable | None = None
    copies_validation: ValidationReport | None = None
    copy_comparison: CopyComparison | None = None
    verified: Tabulation | None = None
    quick_count: Any = None
    quick_count_comparison: Any = None
    exit_poll: Any = None
    exit_poll_comparison: Any = None
    incidents: pl.DataFrame | None = None
    head_counts: TurnoutExcessResult | None = None
    verified_seats: SeatAllocation | None = None
    projected_seats: Any = None
    inputs: tuple[InputFile, ...] = ()
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    dropped: Mapping[str, str] = dataclasses.field(default_factory=dict)
    timings: Mapping[str, float] = dataclasses.field(default_factory=dict)
    seed: int = 0


def sha256_of(path: str | Path) -> str:
    """The SHA-256 of a file, in hexadecimal."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _input(role: str, path: str | Path, rows: int, kept_out: int = 0) -> InputFile:
    return InputFile(role, str(path), sha256_of(path), rows, kept_out)


def _table_input(role: str, path: str | Path, table: ProtocolTable) -> InputFile:
    return _input(role, path, table.stations, len(table.rejected) + len(table.no_data))


def _verified(official: ProtocolTable, copies: ProtocolTable) -> ProtocolTable:
    """The official table with each station's figures replaced by its observer copy's.

    A cell the copy leaves empty keeps the official figure (an empty cell is missing, never 0).
    """
    cols = [c for c in copies.frame.columns if c in official.frame.columns and c != "station"]
    numeric = [c for c in cols if official.frame.schema[c].is_numeric()]
    patch = copies.frame.select("station", *numeric).unique("station", keep="first")
    patch = patch.with_columns(
        [pl.col(c).cast(official.frame.schema[c]) for c in numeric]
    )  # same types as the official columns
    frame = official.frame.update(patch, on="station", how="left")
    return dataclasses.replace(official, frame=frame)


def _seats(table: ProtocolTable, tab: Tabulation, rules: str | None) -> SeatAllocation | None:
    """The seats of these totals under the rule set (None when the rules allocate none)."""
    if rules is None or not get_rules(rules).seats:
        return None
    nat = tab.national
    return allocate_by_rules(
        {c.id: int(nat[c.id]) for c in table.choices},
        rules,
        against_all=table.against_all.id if table.against_all else None,
        cast=int(nat["cast"]),
    )


def prepare_report(
    official: str | Path | ProtocolTable,
    *,
    copies: str | Path | ProtocolTable | None = None,
    quick_count: str | Path | None = None,
    exit_poll: str | Path | None = None,
    incidents: str | Path | pl.DataFrame | None = None,
    reference: str | Path | ProtocolTable | None = None,
    no_reference: bool = False,
    head_counts: str | Path | HeadCounts | None = None,
    frame: str | Path | None = None,
    quick_count_sample: str | Path | None = None,
    exit_poll_sample: str | Path | None = None,
    exit_poll_frame: str | Path | None = None,
    exit_poll_strata: Sequence[str] | None = None,
    exit_poll_tally: str | Path | None = None,
    strata: Sequence[str] | None = None,
    rules: str | None = None,
    leader: str | None = None,
    seed: int = 0,
    resamples: int = 1000,
    level: float = DEFAULT_LEVEL,
    reading: Mapping[str, Any] | None = None,
    copies_reading: Mapping[str, Any] | None = None,
    forensics: ForensicsReport | None = None,
    on_step: Callable[[str], None] | None = None,
) -> ReportData:
    """Read the inputs and compute every result a report shows.

    Parameters
    ----------
    official : path or ProtocolTable
        The official precinct results (any file :func:`saylau.io.read_protocols` reads).
    copies : path or ProtocolTable, optional
        Observers' copies of protocols (the same layout, matched by ``station``).
    quick_count, exit_poll : path, optional
        Quick-count reports (protocol copies of a sample) and exit-poll interviews.
    incidents : path or polars.DataFrame, optional
        Incident reports (:func:`saylau.io.incidents.read_incidents`).
    head_counts : path or HeadCounts, optional
        Observers' head counts (:func:`saylau.turnout.headcount.read_head_counts`), compared
        with the ballots issued in each station by :func:`~saylau.turnout.headcount.turnout_excess`.
    reference : path or ProtocolTable, optional
        The reference election drawn beside each forensic figure (default: the bundled clean
        control, Poland 2020); ``no_reference`` leaves it out.
    frame, quick_count_sample, exit_poll_sample, strata
        The sampling frame (default: the official file), the draws written by
        ``saylau sample`` and the strata columns.
    exit_poll_frame, exit_poll_strata
        The exit poll's own frame and strata where they differ from the quick count's.
    exit_poll_tally : path, optional
        The interviewers' tally of voters approached (``saylau exitpoll --tally``): without it
        every station's interviews count as the same share of its voters.
    rules : str, optional
        Rule set of the outcome and the seats (``saylau rules``); none by default.
    leader, seed, resamples, level
        As in :func:`saylau.forensics.battery.run_forensics`.
    reading, copies_reading : mapping, optional
        Reading options of the official file and of the copies (``columns``, ``encoding``...).
    forensics : ForensicsReport, optional
        A battery already run on ``official`` (it is not run again).
    on_step : callable, optional
        Called with each step's name (a progress bar).

    Returns
    -------
    ReportData

    Examples
    --------
    >>> from saylau.forensics.simulate import simulate_election
    >>> table = simulate_election(stations=300, regions=2, rng=2).table
    >>> data = prepare_report(table, no_reference=True, resamples=20)
    >>> sorted(data.dropped)
    ['copies', 'exit_poll', 'head_counts', 'incidents', 'quick_count', 'reference']
    >>> data.tabulation.national["stations"] == table.stations
    True
    """
    step = on_step or (lambda _name: None)
    timings: dict[str, float] = {}
    dropped: dict[str, str] = {}
    inputs: list[InputFile] = []
    options: dict[str, Any] = {"seed": seed, "resamples": resamples, "level": level}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(timings.get(name, 0.0) + now - clock, 3)
        clock = now
        step(name)

    read = dict(reading or {})
    if isinstance(official, ProtocolTable):
        table = official
        source = table.source or "official"
    else:
        table = read_protocols(official, **read)
        source = Path(official).name
        inputs.append(_table_input("official", official, table))
    if table.stations == 0:
        raise SaylauInputError("no station left to report on", file=source)
    for key in ("columns", "encoding", "sheet", "skip_rows"):
        if read.get(key) is not None:
            options[f"official {key}"] = str(read[key])
    if rules is not None:
        get_rules(rules)  # an unknown name stops here, with the names known
        options["rules"] = rules
    if leader is not None:
        options["leader"] = leader
    if strata:
        options["strata"] = ", ".join(strata)
    lap("reading")
    validation = validate(table)
    tab_level = table.levels[0] if table.levels else "station"
    tabulation = tabulate(table, level=tab_level, rules=rules)
    seats = _seats(table, tabulation, rules)
    lap("results")
    if forensics is None:
        forensics = run_forensics(table, leader=leader, seed=seed, resamples=resamples, level=level)
    lap("forensics")

    ref_table: ProtocolTable | None = None
    ref_source: str | None = None
    ref_report: ForensicsReport | None = None
    if no_reference:
        dropped["reference"] = "no reference election asked for (--no-reference)"
    else:
        if isinstance(reference, ProtocolTable):
            ref_table, ref_source = reference, reference.source or "reference"
        else:
            ref_path = Path(reference) if reference is not None else sample_path(BUNDLED_REFERENCE)
            ref_table = read_protocols(ref_path)
            ref_source = ref_path.name
            inputs.append(_table_input("reference", ref_path, ref_table))
            if reference is not None:
                options["reference"] = ref_source
        from ._figs import reference_methods  # what the reference's figures read

        ref_report = run_forensics(
            ref_table, seed=seed, resamples=min(resamples, 200), methods=reference_methods()
        )
    lap("reference")

    copies_table = copies_validation = comparison = None
    verified = None
    verified_seats = None
    if copies is None:
        dropped["copies"] = "no observer copies given (--copies)"
    else:
        if isinstance(copies, ProtocolTable):
            copies_table = copies
        else:
            copies_table = read_protocols(copies, **dict(copies_reading or {}))
            inputs.append(_table_input("copies", copies, copies_table))
        copies_validation = validate(copies_table)
        failed = copies_validation.status_frame().filter(pl.col("status") == "failed")
        kept = copies_table.filter(
            ~copies_table.frame["station"].is_in(failed["station"].to_list()).to_numpy()
        )
        if failed.height:
            options["copies kept out"] = (
                f"{failed.height} copies failing a strict control relation of their profile"
            )
        comparison = compare_copies(kept, table)
        verified = tabulate(_verified(table, kept), level=tab_level, rules=rules)
        verified_seats = _seats(table, verified, rules)
    lap("copies")

    frame_path = (
        frame
        if frame is not None
        else (official if not isinstance(official, ProtocolTable) else None)
    )
    qc = qc_cmp = projected = None
    if quick_count is None:
        dropped["quick_count"] = "no quick-count reports given (--quick-count)"
    else:
        qc, qc_cmp = _quick_count(
            quick_count, table, frame_path, quick_count_sample, strata, inputs
        )
        if seats is not None:
            from ..survey.projection import project_seats

            try:
                projected = project_seats(qc.shares, rules=rules, draws=2000, rng=seed)
            except SaylauInputError as exc:  # e.g. a threshold on ballots cast
                dropped["seat_projection"] = f"the rule set cannot apply to estimated shares: {exc}"
    lap("quick count")
    ep = ep_cmp = None
    if exit_poll is None:
        dropped["exit_poll"] = "no exit-poll interviews given (--exit-poll)"
    else:
        ep_frame = exit_poll_frame if exit_poll_frame is not None else frame_path
        ep_strata = exit_poll_strata if exit_poll_strata is not None else strata
        ep, ep_cmp = _exit_poll(
            exit_poll, table, ep_frame, exit_poll_sample, ep_strata, inputs, exit_poll_tally
        )
        if exit_poll_tally is None:
            dropped["exit_poll_tally"] = "no interviewers' tally (--ep-tally): unweighted stations"
        if exit_poll_frame is not None:
            inputs.append(
                _input("frame", exit_poll_frame, _frame(table, exit_poll_frame).frame.height)
            )
        if exit_poll_strata:
            options["exit-poll strata"] = ", ".join(exit_poll_strata)
    lap("exit poll")
    inc: pl.DataFrame | None = None
    if incidents is None:
        dropped["incidents"] = "no incident reports given (--incidents)"
    elif isinstance(incidents, pl.DataFrame):
        inc = incidents
    else:
        from ..io.incidents import read_incidents

        inc = read_incidents(incidents)
        inputs.append(_input("incidents", incidents, inc.height))
    lap("incidents")
    excess: TurnoutExcessResult | None = None
    if head_counts is None:
        dropped["head_counts"] = "no head counts given (--head-counts)"
    else:
        if isinstance(head_counts, HeadCounts):
            counts = head_counts
        else:
            counts = read_head_counts(head_counts)
            inputs.append(
                _input("head counts", head_counts, counts.frame.height, len(counts.rejected))
            )
        try:
            excess = turnout_excess(table, counts, level=level)
        except SaylauInputError as exc:  # too few double counts for the error model
            dropped["head_counts_error"] = str(exc)
    lap("head counts")
    if frame is not None:
        inputs.append(_input("frame", frame, _frame(table, frame).frame.height))
    return ReportData(
        official=table,
        source=source,
        validation=validation,
        tabulation=tabulation,
        rules=rules,
        seats=seats,
        forensics=forensics,
        reference=ref_table,
        reference_source=ref_source,
        reference_report=ref_report,
        copies=copies_table,
        copies_validation=copies_validation,
        copy_comparison=comparison,
        verified=verified,
        quick_count=qc,
        quick_count_comparison=qc_cmp,
        exit_poll=ep,
        exit_poll_comparison=ep_cmp,
        incidents=inc,
        head_counts=excess,
        verified_seats=verified_seats,
        projected_seats=projected,
        inputs=tuple(inputs),
        options=options,
        dropped=dropped,
        timings=timings,
        seed=seed,
    )


def _frame(table: ProtocolTable, frame_path: str | Path | None) -> Any:
    from ..survey.frame import frame_from_table, open_frame

    return open_frame(frame_path) if frame_path is not None else frame_from_table(table)


def _draw(path: str | Path | None, inputs: list[InputFile], role: str) -> Any:
    if path is None:
        return None
    from ..survey.sample import read_draw

    draw = read_draw(path)
    inputs.append(_input(role, path, len(draw.stations)))
    return draw


def _quick_count(
    path: str | Path,
    table: ProtocolTable,
    frame_path: str | Path | None,
    sample: str | Path | None,
    strata: Sequence[str] | None,
    inputs: list[InputFile],
) -> tuple[Any, Any]:
    from ..survey.official import OfficialResults, compare_quick_count
    from ..survey.quickcount import quick_count

    reports = read_protocols(path)
    inputs.append(_table_input("quick count", path, reports))
    draw = _draw(sample, inputs, "quick-count sample")
    cols = list(draw.strata_columns) if draw is not None else list(strata or ())
    qc = quick_count(
        reports, frame=_frame(table, frame_path), sample=draw, strata=cols, by_stratum=True
    )
    cmp_ = compare_quick_count(qc, OfficialResults.from_table(table), reports=reports, strata=cols)
    return qc, cmp_


def _exit_poll(
    path: str | Path,
    table: ProtocolTable,
    frame_path: str | Path | None,
    sample: str | Path | None,
    strata: Sequence[str] | None,
    inputs: list[InputFile],
    tally_path: str | Path | None = None,
) -> tuple[Any, Any]:
    from ..survey.exitpoll import estimate_exitpoll, read_interviews
    from ..survey.interviews import read_tally
    from ..survey.official import OfficialResults, compare_exit_poll

    off = OfficialResults.from_table(table)
    iv = read_interviews(path, choices=list(off.totals))
    inputs.append(_input("exit poll", path, iv.data.height))
    draw = _draw(sample, inputs, "exit-poll sample")
    tally = None
    if tally_path is not None:
        tally = read_tally(tally_path)
        inputs.append(_input("exit-poll tally", tally_path, tally.height))
    est = estimate_exitpoll(iv, _frame(table, frame_path), sample=draw, strata=strata, tally=tally)
    return est, compare_exit_poll(est, off, strata=list(strata or ()))
