"""Drawing a stratified sample of polling stations, with a record that re-does the draw exactly.

Two designs, both within strata (the cells of one or more frame columns):

``"srs"`` — stratified simple random sampling without replacement. Each station of stratum *h*
    gets a uniform key from the recorded generator and the ``n_h`` smallest keys are taken (the
    "random sort" form of SRSWOR; every subset of size ``n_h`` is equally likely). Inclusion
    probability ``pi_i = n_h / N_h``.
``"pps"`` — systematic sampling with probability proportional to size (registered voters)
    within strata (Madow 1949). Stations whose ``n_h x_i / X_h >= 1`` are taken with
    certainty (repeatedly, until none is left), the remaining ``n'_h`` are drawn from a list
    put in random order (randomised systematic PPS, Goodman & Kish 1950; or in the order of
    ``sort_by`` columns, for implicit stratification): with interval ``I = X'_h / n'_h`` and
    a uniform start ``u`` in ``[0, I)``, station *i* is taken when a point ``u + kI`` falls in
    its stretch of the cumulated sizes. ``pi_i = n'_h x_i / X'_h`` (1 for certainty
    stations). A station with no registered voters gets size 1, so that every station can be
    drawn.

Take-all stations: a station whose registered voters exceed ``take_all`` times the median of
its stratum (default 20) is taken with certainty, in a stratum of its own labelled
``"<stratum> [take-all]"`` (Kish 1965, §11.4: very large units are certainty units, as PPS
makes them; a simple random sample of stations misses them). Such outliers exist: the
electronic-voting pseudo-stations of Russia 2021 (up to 172,000 voters against a regional
median near 1,500) carry the small parties' votes. The take-all stations count in ``n``; the
other ``n - C`` stations are allocated as below. ``take_all=None`` turns the rule off.

Allocation of ``n`` stations to strata (then rounded by largest remainders, keeping every
stratum between ``min(min_per_stratum, N_h)`` and ``N_h``; strata pushed to a bound are fixed
there and the rest re-allocated):

``"proportional"`` ``n_h ∝ N_h`` (stations); ``"size"`` ``n_h ∝ X_h`` (registered voters);
``"equal"`` ``n_h = n / H``; ``"neyman"`` ``n_h ∝ N_h S_h`` where ``S_h`` is the standard
deviation in stratum *h* of a past-results column, or — when the frame has ``past:valid`` — of
its residual ``y_i − R x_i`` with ``R = Σy / Σx`` (the linearised variable of the share, the one
whose variance the ratio estimator has; Cochran 1977, §5.5 and §6.7); a mapping gives ``n_h``
per stratum.

The draw is reproducible: the frame is put in the order of station ids first (so its row order
does not matter), strata are visited in sorted order, and every random number comes from
``numpy.random.default_rng(seed)`` (PCG64) with the seed recorded in the result.
:func:`redo_draw` repeats it from the record and checks the frame's fingerprint. The draw is
written here in NumPy rather than delegated to ``svy.Sample.sampling`` so that an auditor can
re-do it from this page alone: which random numbers are used, and in which order, is part of
the published method and must not change with a library's internals. (svy serves as the
independent reference for the estimator in the tests.)

References
----------
Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley. Ch. 5 (stratified sampling,
allocation), ch. 9A (PPS).
Madow, W. G. (1949). On the theory of systematic sampling, II. *Ann. Math. Statist.* 20, 333–354.
Goodman, R. & Kish, L. (1950). Controlled selection. *JASA* 45, 350–372.

Examples
--------
>>> import polars as pl
>>> fr = SamplingFrame.from_frame(pl.DataFrame({
...     "station": [str(i) for i in range(20)], "registered": [100 + 10 * i for i in range(20)],
...     "region": ["N"] * 12 + ["S"] * 8}))
>>> d = draw_sample(fr, n=6, strata=["region"], rng=7)
>>> d.sample_sizes()
{'N': 4, 'S': 2}
>>> redo_draw(d, fr).stations == d.stations
True
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from .._exceptions import DataFormatError, SaylauInputError, UnknownNameError
from ..results import Result
from .frame import PAST_PREFIX, SamplingFrame

__all__ = [
    "TAKE_ALL",
    "TAKE_ALL_MULTIPLE",
    "SampleDraw",
    "allocate_sample",
    "draw_sample",
    "is_take_all",
    "read_draw",
    "redo_draw",
    "take_all_labels",
    "take_all_report",
    "write_assignment_sheets",
]

FloatArray = npt.NDArray[np.float64]
Design = Literal["srs", "pps"]

#: The suffix of a take-all stratum's label.
TAKE_ALL = " [take-all]"

#: Default take-all rule: more than this many times the stratum's median registered voters.
TAKE_ALL_MULTIPLE = 20.0


def is_take_all(stratum: str) -> bool:
    """Whether a stratum label is a take-all stratum's.

    >>> is_take_all("Moscow [take-all]"), is_take_all("Moscow")
    (True, False)
    """
    return str(stratum).endswith(TAKE_ALL)


def take_all_report(draw: SampleDraw, reported: set[str]) -> tuple[tuple[str, ...], list[str]]:
    """The draw's take-all stations, and a warning per take-all stratum with one missing.

    >>> d = SampleDraw(method="srs", allocation="given", seed=0, strata_columns=("r",),
    ...     sort_by=(), n=2, min_per_stratum=1, neyman_column=None, given=None,
    ...     frame_fingerprint="", frame_stations=9, population={}, allocated={},
    ...     stations=("a", "big"), stratum=("N", "N" + TAKE_ALL), prob=np.ones(2),
    ...     certainty=np.ones(2, dtype=bool), take_all=20.0)
    >>> stations, notes = take_all_report(d, {"a"})
    >>> stations, notes[0][:40]
    (('big',), 'a take-all station has not reported: the')
    """
    stations = tuple(s for s, h in zip(draw.stations, draw.stratum, strict=True) if is_take_all(h))
    absent: dict[str, list[str]] = {}
    for s, h in zip(draw.stations, draw.stratum, strict=True):
        if is_take_all(h) and s not in reported:
            absent.setdefault(h, []).append(s)
    notes = [
        f"a take-all station has not reported: the estimate for its stratum is incomplete "
        f"({h}: {', '.join(sorted(v)[:5])}{' ...' if len(v) > 5 else ''}; only the other "
        "take-all stations of its region, if any, stand in for it, and the interval does "
        "not show it)"
        for h, v in sorted(absent.items())
    ]
    return stations, notes


def take_all_labels(
    labels: npt.NDArray[np.object_] | npt.NDArray[np.str_], size: FloatArray, multiple: float
) -> npt.NDArray[np.object_]:
    """Labels with the stations above ``multiple`` × their stratum's median moved to
    ``<stratum> [take-all]``.

    >>> take_all_labels(np.array(["N", "N", "N"]), np.array([500.0, 600.0, 90000.0]), 20).tolist()
    ['N', 'N', 'N [take-all]']
    """
    lab = np.asarray(labels).astype(object)
    med = (
        pl.DataFrame({"h": lab.astype(str), "x": size})
        .with_columns(pl.col("x").median().over("h").alias("m"))
        .get_column("m")
        .to_numpy()
    )
    big = size > multiple * med
    out = lab.copy()
    out[big] = np.array([f"{h}{TAKE_ALL}" for h in lab[big].tolist()], dtype=object)
    return out


AllocationName = Literal["proportional", "size", "equal", "neyman"]


@dataclasses.dataclass(frozen=True, eq=False)
class SampleDraw(Result):
    """A drawn sample of stations and everything needed to re-do the draw.

    Parameters
    ----------
    method : {"srs", "pps"}
    allocation : str
        Allocation rule (or ``"given"``).
    seed : int
        Seed of ``numpy.random.default_rng`` that made the draw.
    strata_columns, sort_by : tuple of str
    n : int
        Stations requested.
    min_per_stratum : int
    neyman_column : str or None
    frame_fingerprint : str
        :meth:`SamplingFrame.fingerprint` of the frame drawn from.
    frame_stations : int
    population : mapping
        Stratum label -> ``N_h`` (stations in the frame).
    allocated : mapping
        Stratum label -> ``n_h``.
    stations, stratum : tuple of str
        Selected station ids and their stratum labels, in the order drawn.
    prob : ndarray
        Inclusion probabilities ``pi_i``.
    certainty : ndarray of bool
        Stations taken with certainty (PPS, and the take-all strata).
    take_all : float or None
        The take-all rule's multiple of the stratum's median registered voters (None: off).
    """

    method: str
    allocation: str
    seed: int
    strata_columns: tuple[str, ...]
    sort_by: tuple[str, ...]
    n: int
    min_per_stratum: int
    neyman_column: str | None
    given: Mapping[str, int] | None
    frame_fingerprint: str
    frame_stations: int
    population: Mapping[str, int]
    allocated: Mapping[str, int]
    stations: tuple[str, ...]
    stratum: tuple[str, ...]
    prob: FloatArray
    certainty: npt.NDArray[np.bool_]
    take_all: float | None = None

    @property
    def take_all_rule(self) -> str:
        """The take-all rule in words, with the stations it took."""
        if self.take_all is None:
            return "no take-all stratum (rule off)"
        n = sum(1 for h in self.stratum if is_take_all(h))
        return (
            f"stations with more than {self.take_all:g} times the median registered voters of "
            f"their stratum are taken with certainty (take-all): {n} station(s)"
        )

    @property
    def weight(self) -> FloatArray:
        """Design weights ``1 / pi_i``."""
        return 1.0 / self.prob

    def sample_sizes(self) -> dict[str, int]:
        """Stations drawn per stratum."""
        return dict(self.allocated)

    def to_frame(self) -> pl.DataFrame:
        """The sample as a table: order, station, stratum, prob, weight, certainty."""
        return pl.DataFrame(
            {
                "order": np.arange(1, len(self.stations) + 1),
                "station": list(self.stations),
                "stratum": list(self.stratum),
                "prob": self.prob,
                "weight": self.weight,
                "certainty": self.certainty,
            }
        )

    def to_record(self) -> dict[str, Any]:
        """The draw record (JSON-ready): parameters, seed, fingerprint and the selection."""
        rec = self.to_dict()
        rec["numpy_version"] = np.__version__
        rec["format"] = "saylau-sample-draw/1"
        return rec

    @classmethod
    def from_record(cls, rec: Mapping[str, Any], *, file: str | None = None) -> SampleDraw:
        """Rebuild a draw from :meth:`to_record` output."""
        try:
            return cls(
                method=str(rec["method"]),
                allocation=str(rec["allocation"]),
                seed=int(rec["seed"]),
                strata_columns=tuple(rec["strata_columns"]),
                sort_by=tuple(rec["sort_by"]),
                n=int(rec["n"]),
                min_per_stratum=int(rec["min_per_stratum"]),
                neyman_column=rec.get("neyman_column"),
                given=None if rec.get("given") is None else dict(rec["given"]),
                frame_fingerprint=str(rec["frame_fingerprint"]),
                frame_stations=int(rec["frame_stations"]),
                population={str(k): int(v) for k, v in rec["population"].items()},
                allocated={str(k): int(v) for k, v in rec["allocated"].items()},
                stations=tuple(str(s) for s in rec["stations"]),
                stratum=tuple(str(s) for s in rec["stratum"]),
                prob=np.asarray(rec["prob"], dtype=float),
                certainty=np.asarray(rec["certainty"], dtype=bool),
                take_all=None if rec.get("take_all") is None else float(rec["take_all"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFormatError(
                "not a saylau sample-draw record",
                file=file,
                expected="the draw.json written by `saylau sample`",
                found=repr(exc),
            ) from None


# ---------------------------------------------------------------------- allocation
def allocate_sample(
    n: int,
    measure: Mapping[str, float],
    population: Mapping[str, int],
    *,
    min_per_stratum: int = 2,
) -> dict[str, int]:
    """Allocate ``n`` stations to strata in proportion to ``measure``.

    Rounding by largest remainders (Hamilton); each stratum kept within
    ``[min(min_per_stratum, N_h), N_h]``: strata whose share falls outside are fixed at the
    bound and the rest re-allocated.

    Examples
    --------
    >>> allocate_sample(10, {"a": 5.0, "b": 3.0, "c": 2.0}, {"a": 100, "b": 100, "c": 100})
    {'a': 5, 'b': 3, 'c': 2}
    >>> allocate_sample(10, {"a": 98.0, "b": 1.0, "c": 1.0}, {"a": 100, "b": 100, "c": 1})
    {'a': 7, 'b': 2, 'c': 1}
    """
    keys = sorted(population)
    total = sum(population[k] for k in keys)
    if n > total:
        raise SaylauInputError(
            "sample larger than the frame", field="stations", expected=f"<= {total}", found=n
        )
    lo = {k: min(min_per_stratum, population[k]) for k in keys}
    if n < sum(lo.values()):
        raise SaylauInputError(
            f"sample too small: {len(keys)} strata need at least {min_per_stratum} stations each",
            field="stations",
            expected=f">= {sum(lo.values())}",
            found=n,
        )
    fixed: dict[str, float] = {}
    while True:
        free = [k for k in keys if k not in fixed]
        rem = n - sum(fixed.values())
        mass = sum(max(measure.get(k, 0.0), 0.0) for k in free)
        raw = {
            k: (rem * max(measure.get(k, 0.0), 0.0) / mass if mass > 0 else rem / len(free))
            for k in free
        }
        hi = [k for k in free if raw[k] > population[k]]
        if hi:
            fixed.update({k: float(population[k]) for k in hi})
            continue
        low = [k for k in free if raw[k] < lo[k]]
        if low:
            fixed.update({k: float(lo[k]) for k in low})
            continue
        break
    share = {**fixed, **raw}
    base = {k: math.floor(share[k] + 1e-9) for k in keys}
    left = n - sum(base.values())
    order = sorted(keys, key=lambda k: (-(share[k] - base[k]), k))
    for k in order[:left]:
        base[k] += 1
    return base


# ---------------------------------------------------------------------- drawing
def _seed(rng: int | np.random.Generator | None) -> int:
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**63 - 1))
    if rng is None:
        return int(np.random.SeedSequence().entropy) % (2**63 - 1)  # type: ignore[arg-type]
    return int(rng)


def _measure(
    frame: pl.DataFrame,
    labels: npt.NDArray[np.object_],
    keys: list[str],
    allocation: str,
    neyman_column: str | None,
    source: str | None,
) -> dict[str, float]:
    lab = pl.Series("h", labels.astype(str))
    if allocation == "proportional":
        counts = lab.value_counts()
        return {str(k): float(v) for k, v in counts.iter_rows()}
    if allocation == "equal":
        return dict.fromkeys(keys, 1.0)
    if allocation == "size":
        df = pl.DataFrame({"h": lab, "x": frame.get_column("registered")})
        g = df.group_by("h").agg(pl.col("x").sum())
        return {str(k): float(v) for k, v in g.iter_rows()}
    if allocation == "neyman":
        if neyman_column is None or neyman_column not in frame.columns:
            raise UnknownNameError(
                "Neyman allocation needs a column of past results",
                file=source,
                field="neyman_column",
                expected=" | ".join(c for c in frame.columns if c.startswith(PAST_PREFIX)),
                found=neyman_column,
            )
        y = frame.get_column(neyman_column).cast(pl.Float64).fill_null(0.0).to_numpy()
        base = PAST_PREFIX + "valid"
        if base in frame.columns and neyman_column != base:
            x = frame.get_column(base).cast(pl.Float64).fill_null(0.0).to_numpy()
            r = y.sum() / x.sum() if x.sum() > 0 else 0.0
            y = y - r * x
        df = pl.DataFrame({"h": lab, "y": y})
        g = df.group_by("h").agg(pl.len().alias("n"), pl.col("y").std(ddof=1).fill_null(0.0))
        return {str(k): float(n) * float(s) for k, n, s in g.iter_rows()}
    raise UnknownNameError(
        "unknown allocation",
        field="allocation",
        expected="proportional | size | equal | neyman | a mapping stratum -> n",
        found=allocation,
    )


def _pps_systematic(
    x: FloatArray, n: int, rng: np.random.Generator, order: npt.NDArray[np.intp] | None
) -> tuple[npt.NDArray[np.intp], FloatArray, npt.NDArray[np.bool_]]:
    """Systematic PPS of ``n`` among sizes ``x``: (selected positions, pi, certainty)."""
    size = len(x)
    cert = np.zeros(size, dtype=bool)
    while True:
        rest = ~cert
        m = n - int(cert.sum())
        if m <= 0:
            break
        xr = x[rest].sum()
        new = rest & (m * x / xr >= 1.0)
        if not new.any():
            break
        cert |= new
    m = n - int(cert.sum())
    pi = np.where(cert, 1.0, 0.0)
    chosen = [np.flatnonzero(cert)]
    if m > 0:
        cand = np.flatnonzero(~cert)
        keys = rng.random(len(cand))
        if order is None:
            cand = cand[np.argsort(keys, kind="stable")]
        else:
            rank = np.empty(size, dtype=np.intp)
            rank[order] = np.arange(size)
            cand = cand[np.argsort(rank[cand], kind="stable")]
        xs = x[cand]
        total = xs.sum()
        step = total / m
        start = rng.random() * step
        points = start + step * np.arange(m)
        cum = np.cumsum(xs)
        hit = np.searchsorted(cum, points, side="right")
        hit = np.minimum(hit, len(cand) - 1)
        chosen.append(cand[hit])
        pi[cand] = m * xs / total
    sel = np.concatenate(chosen)
    return sel, pi[sel], cert[sel]


def draw_sample(
    frame: SamplingFrame,
    *,
    n: int,
    strata: Sequence[str] = (),
    method: Design = "srs",
    allocation: AllocationName | Mapping[str, int] = "proportional",
    neyman_column: str | None = None,
    min_per_stratum: int = 2,
    sort_by: Sequence[str] = (),
    rng: int | np.random.Generator | None = None,
    take_all: float | None = TAKE_ALL_MULTIPLE,
) -> SampleDraw:
    """Draw a stratified sample of ``n`` stations (see the module docstring for the designs).

    Parameters
    ----------
    frame : SamplingFrame
    n : int
        Stations to draw in all.
    strata : sequence of str
        Frame columns whose combined values define the strata (none: one stratum).
    method : {"srs", "pps"}
        Stratified simple random or systematic PPS (by registered voters) within strata.
    allocation : {"proportional", "size", "equal", "neyman"} or mapping
        How ``n`` is split between strata; a mapping gives ``n_h`` per stratum label.
    neyman_column : str, optional
        Past-results column (``past:...``) for Neyman allocation.
    min_per_stratum : int, default 2
        Smallest sample per stratum (2 lets every stratum's variance be estimated).
    sort_by : sequence of str
        PPS only: order of the systematic list within strata (implicit stratification);
        default a random order.
    rng : int, Generator or None
        Seed; a Generator gives one int seed, ``None`` draws one from the OS. The int seed
        used is recorded in the result.
    take_all : float or None, default 20
        Stations with more registered voters than this multiple of their stratum's median
        are taken with certainty in a take-all stratum of their own (module docstring);
        ``None`` turns the rule off. They count in ``n``.

    Returns
    -------
    SampleDraw

    Raises
    ------
    SaylauInputError
        ``n`` larger than the frame or too small for the strata; a mapping that misses or
        invents strata.
    UnknownNameError
        A strata or sort column not in the frame; an unknown method or allocation.
    """
    if method not in ("srs", "pps"):
        raise UnknownNameError(
            "unknown sampling method", field="method", expected="srs | pps", found=method
        )
    if n < 1:
        raise SaylauInputError("sample size must be positive", field="stations", found=n)
    seed = _seed(rng)
    df = frame.frame.sort("station")
    sorted_frame = dataclasses.replace(frame, frame=df)
    labels = sorted_frame.stratum_labels(list(strata)).astype(str)
    size = np.maximum(df.get_column("registered").to_numpy().astype(float), 1.0)
    if take_all is not None:
        if not take_all > 1:
            raise SaylauInputError(
                "the take-all multiple must be above 1",
                field="take_all",
                expected="> 1, or None to turn the rule off",
                found=take_all,
            )
        labels = take_all_labels(labels, size, take_all).astype(str)
    for c in sort_by:
        sorted_frame.column(c)
    keys = sorted(set(labels.tolist()))
    pop_series = pl.Series("h", labels).value_counts()
    population = {str(k): int(v) for k, v in pop_series.iter_rows()}
    population = {k: population[k] for k in keys}
    certain_keys = [k for k in keys if is_take_all(k)]
    ordinary = {k: population[k] for k in keys if not is_take_all(k)}
    if isinstance(allocation, Mapping):
        allocation = {**allocation, **{k: population[k] for k in certain_keys}}
        unknown = [k for k in allocation if k not in population]
        missing = [k for k in keys if k not in allocation]
        if unknown or missing:
            raise SaylauInputError(
                "allocation mapping does not match the strata",
                field="allocation",
                expected=" | ".join(keys[:10]),
                found=(unknown or missing)[0],
            )
        allocated = {k: int(allocation[k]) for k in keys}
        over = [k for k in keys if not 0 <= allocated[k] <= population[k]]
        if over:
            raise SaylauInputError(
                "stratum sample outside 0..N_h",
                field="allocation",
                expected=f"0..{population[over[0]]}",
                found=f"{over[0]}: {allocated[over[0]]}",
            )
        alloc_name = "given"
        given: dict[str, int] | None = dict(allocated)
        n_total = sum(allocated.values())
    else:
        measure = _measure(df, labels, keys, allocation, neyman_column, frame.source)
        taken = sum(population[k] for k in certain_keys)
        if n <= taken:
            raise SaylauInputError(
                f"sample too small: {taken} take-all stations already (rule: more than "
                f"{take_all:g} times the stratum's median registered voters)",
                field="stations",
                expected=f"> {taken}",
                found=n,
            )
        allocated = allocate_sample(
            n - taken,
            {k: v for k, v in measure.items() if k in ordinary},
            ordinary,
            min_per_stratum=min_per_stratum,
        )
        allocated.update({k: population[k] for k in certain_keys})
        allocated = {k: allocated[k] for k in keys}
        alloc_name = allocation
        given = None
        n_total = n

    gen = np.random.default_rng(seed)
    ids = df.get_column("station").to_numpy()
    order_all: npt.NDArray[np.intp] | None = None
    if sort_by:
        order_all = (
            df.with_row_index("__i").sort([*sort_by, "station"]).get_column("__i").to_numpy()
        )
    by_stratum = pl.Series("h", labels).to_frame().with_row_index("__i")
    groups = {
        str(k[0]): g.get_column("__i").to_numpy()
        for k, g in by_stratum.group_by(["h"], maintain_order=True)
    }
    sel_ids: list[str] = []
    sel_h: list[str] = []
    probs: list[FloatArray] = []
    certs: list[npt.NDArray[np.bool_]] = []
    for h in keys:
        rows = np.sort(groups[h])
        nh = allocated[h]
        if nh == 0:
            continue
        if method == "srs":
            u = gen.random(len(rows))
            pick = rows[np.argsort(u, kind="stable")[:nh]]
            pi = np.full(nh, nh / len(rows))
            cert = np.full(nh, nh == len(rows))
        else:
            order = None
            if order_all is not None:
                pos = {int(r): i for i, r in enumerate(rows)}
                order = np.array([pos[int(r)] for r in order_all if int(r) in pos], dtype=np.intp)
            local, pi, cert = _pps_systematic(size[rows], nh, gen, order)
            pick = rows[local]
        sel_ids.extend(str(s) for s in ids[pick])
        sel_h.extend([h] * nh)
        probs.append(pi)
        certs.append(cert)
    return SampleDraw(
        method=method,
        allocation=alloc_name,
        seed=seed,
        strata_columns=tuple(strata),
        sort_by=tuple(sort_by),
        n=n_total,
        min_per_stratum=min_per_stratum,
        neyman_column=neyman_column,
        given=given,
        frame_fingerprint=frame.fingerprint(),
        frame_stations=frame.stations,
        population=population,
        allocated=allocated,
        stations=tuple(sel_ids),
        stratum=tuple(sel_h),
        prob=np.concatenate(probs) if probs else np.zeros(0),
        certainty=np.concatenate(certs) if certs else np.zeros(0, dtype=bool),
        take_all=take_all,
    )


def redo_draw(draw: SampleDraw, frame: SamplingFrame) -> SampleDraw:
    """Re-do a recorded draw on ``frame`` (an audit); the result must equal ``draw``.

    Raises
    ------
    DataFormatError
        The frame is not the one the draw was made from (its fingerprint differs).
    """
    fp = frame.fingerprint()
    if fp != draw.frame_fingerprint:
        raise DataFormatError(
            "the frame differs from the one the sample was drawn from",
            file=frame.source,
            expected=f"fingerprint {draw.frame_fingerprint[:16]}…",
            found=f"fingerprint {fp[:16]}…",
        )
    allocation: AllocationName | Mapping[str, int]
    allocation = draw.given if draw.given is not None else draw.allocation  # type: ignore[assignment]
    return draw_sample(
        frame,
        n=draw.n,
        strata=draw.strata_columns,
        method=draw.method,  # type: ignore[arg-type]
        allocation=allocation,
        neyman_column=draw.neyman_column,
        min_per_stratum=draw.min_per_stratum,
        sort_by=draw.sort_by,
        rng=draw.seed,
        take_all=draw.take_all,
    )


def read_draw(path: str | Path) -> SampleDraw:
    """Read a ``draw.json`` record written by :func:`write_assignment_sheets`."""
    p = Path(path)
    try:
        rec = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataFormatError("file not found", file=str(p)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFormatError("not valid JSON", file=str(p), found=str(exc)) from None
    return SampleDraw.from_record(rec, file=str(p))


_UNSAFE = re.compile(r"[^\w\-. ]+", re.UNICODE)


def _safe_name(text: str) -> str:
    name = _UNSAFE.sub("_", text).strip(" ._") or "unnamed"
    return name[:80]


def write_assignment_sheets(
    draw: SampleDraw, frame: SamplingFrame, out: str | Path, *, by: str | None = "region"
) -> list[Path]:
    """Write the draw as CSV assignment sheets, one per value of ``by``, plus the record.

    Writes ``draw.json`` (the record, for :func:`read_draw` / :func:`redo_draw`),
    ``sample.csv`` (every sampled station) and ``sheets/<value>.csv`` (one per region, or one
    ``sheets/all.csv`` when ``by`` is ``None`` or not in the frame). Sheet columns: order,
    station, the frame's text columns, registered, stratum, prob, weight, certainty, and an
    empty ``observer`` column to fill in.

    Returns
    -------
    list of Path
        Every file written.

    Examples
    --------
    >>> import tempfile
    >>> fr = SamplingFrame.from_frame(pl.DataFrame({
    ...     "station": [str(i) for i in range(10)], "registered": [500] * 10,
    ...     "region": ["N"] * 5 + ["S"] * 5}))
    >>> d = draw_sample(fr, n=4, strata=["region"], rng=3)
    >>> out = Path(tempfile.mkdtemp())
    >>> sorted(p.name for p in write_assignment_sheets(d, fr, out))
    ['N.csv', 'S.csv', 'draw.json', 'sample.csv']
    >>> read_draw(out / "draw.json").stations == d.stations
    True
    """
    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    text_cols = [c for c in frame.strata_columns()]
    info = frame.frame.select("station", "registered", *text_cols)
    table = (
        draw.to_frame()
        .join(info, on="station", how="left")
        .select(
            "order",
            "station",
            *text_cols,
            "registered",
            "stratum",
            "prob",
            "weight",
            "certainty",
        )
        .with_columns(pl.lit("").alias("observer"))
    )
    written = []
    rec_path = outdir / "draw.json"
    rec_path.write_text(
        json.dumps(draw.to_record(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    written.append(rec_path)
    all_path = outdir / "sample.csv"
    table.write_csv(all_path)
    written.append(all_path)
    sheets = outdir / "sheets"
    sheets.mkdir(exist_ok=True)
    if by is None or by not in table.columns:
        p = sheets / "all.csv"
        table.write_csv(p)
        written.append(p)
        return written
    used: set[str] = set()
    for (value,), group in table.group_by([by], maintain_order=True):
        name = _safe_name(str(value))
        while name in used:
            name += "_"
        used.add(name)
        p = sheets / f"{name}.csv"
        group.write_csv(p)
        written.append(p)
    return written
