"""Figures of the forensic methods: fingerprint, histograms, Shpilkin curves, regions.

Every function draws on a fresh :class:`matplotlib.figure.Figure` (no pyplot, no global state,
the Agg canvas; nothing is ever shown) and returns it; :func:`save_forensics_plots` writes the
whole set as PNG files. The figures read the method results when they are given (so a figure
shows exactly what the method computed) and otherwise compute what they need from the table.
"Against all" is drawn like any other choice, in its own colour.

References
----------
.. [1] P. Klimek, Y. Yegorov, R. Hanel and S. Thurner, "Statistical detection of systematic
   election irregularities", PNAS 109(41), 2012 (the fingerprint).
.. [2] D. Kobak, S. Shpilkin and M. S. Pshenichnikov, "Integer percentages as electoral
   falsification fingerprints", Annals of Applied Statistics 10(1), 2016 (the histograms).
.. [3] S. Shpilkin, "Математика выборов-2011", Troitsky Variant 94, 2011 (the curves).

Examples
--------
>>> import numpy as np, polars as pl, tempfile
>>> from saylau.domain.table import ProtocolTable
>>> gen = np.random.default_rng(1)
>>> reg = gen.integers(800, 2500, size=400)
>>> issued = gen.binomial(reg, 0.6)
>>> a = gen.binomial(issued, 0.5)
>>> t = ProtocolTable.from_frame(pl.DataFrame({
...     "station": [str(i) for i in range(400)], "region": ["North", "South"] * 200,
...     "voters_on_list": reg, "issued": issued, "invalid": [0] * 400, "valid": issued,
...     "A": a, "B": issued - a}), profile="plain", choices=["A", "B"], levels=["region"])
>>> with tempfile.TemporaryDirectory() as d:
...     paths = save_forensics_plots({}, t, d)
...     sorted(p.name for p in paths)
['fingerprint.png', 'histograms.png', 'regions.png', 'shpilkin.png']
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colorbar import Colorbar
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.ticker import FuncFormatter, MultipleLocator

from ..domain.choices import Choice
from ..domain.table import ProtocolTable
from ..forensics._stations import StationArrays, station_arrays, station_quality
from ..forensics.battery import ForensicsReport
from ..forensics.shpilkin import excess_votes, turnout_bins
from ..results import Finding

__all__ = [
    "digits_figure",
    "fingerprint_figure",
    "histograms_figure",
    "regions_figure",
    "save_forensics_plots",
    "short_name",
    "shpilkin_figure",
]

FloatArray = npt.NDArray[np.float64]

LEADER_COLOUR = "#c0392b"
OTHERS_COLOUR = "#2471a3"
SCALED_COLOUR = "#5d6d7e"
AGAINST_ALL_COLOUR = "#212121"
PALETTE = (
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
    "#7f7f7f",
    "#1b5e20",
    "#f1c40f",
    "#00897b",
    "#ad1457",
)
CMAP = "magma_r"
DPI = 130

_PERCENT = FuncFormatter(lambda x, _pos: f"{x:g}%")
_PLAIN = FuncFormatter(lambda x, _pos: f"{x:,.0f}")

_PREFIXES = re.compile(
    r"^\s*\d+\s*[.)]\s*(всероссийская\s+)?(политическая\s+)?(партия\s+)?", flags=re.IGNORECASE
)


def short_name(name: str, width: int = 34) -> str:
    """A legend-sized name: ballot numbers and "political party" prefixes dropped, then cut.

    >>> short_name('6. Всероссийская политическая партия "ЕДИНАЯ РОССИЯ"')
    'ЕДИНАЯ РОССИЯ'
    >>> short_name("Путин Владимир Владимирович")
    'Путин Владимир Владимирович'
    """
    text = _PREFIXES.sub("", name).strip().strip('"«»').strip()
    text = re.sub(r"\s+", " ", text) or name
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _get(results: Mapping[str, Any], key: str) -> Any:
    res = results.get(key)
    return res if dataclasses.is_dataclass(res) else None


def _finding(results: Mapping[str, Any], key: str) -> Finding | None:
    """The finding printed next to a figure's number: the run's (``_findings``) or the result's."""
    run = results.get("_findings")
    found = run.get(key) if isinstance(run, Mapping) else None
    if isinstance(found, Finding):
        return found
    f = getattr(results.get(key), "finding", None)
    return f if isinstance(f, Finding) else None


def _footer(fig: Figure, results: Mapping[str, Any], key: str) -> None:
    """The method's finding under the figure, as the terminal prints it (space kept for it)."""
    f = _finding(results, key)
    if f is None:
        return
    width = max(60, int(fig.get_figwidth() * 17))
    text = _wrap(f.headline(), width)
    share = (text.count("\n") + 1) * 10.0 / (fig.get_figheight() * 72) + 0.01
    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        engine.set(rect=(0.0, share, 1.0, 1.0 - share))
    fig.text(0.01, 0.005, text, fontsize=7, color="#424949", va="bottom", ha="left")


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def _leader(table: ProtocolTable, results: Mapping[str, Any]) -> Choice:
    for key in ("fingerprint", "integer_peaks", "excess_votes", "distributions"):
        res = _get(results, key)
        name = getattr(res, "leader", None)
        if isinstance(name, str):
            for c in table.choices:
                if name in (c.id, c.name):
                    return c
    return table.leader()


def _arrays(table: ProtocolTable, leader: Choice) -> StationArrays:
    return station_arrays(table, leader=leader, level="region")


def _rates(a: StationArrays) -> tuple[FloatArray, FloatArray]:
    """Turnout (issued / registered) and leader share (leader / cast), both in [0, 1] or NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = a.issued / a.registered
        v = np.where(a.cast > 0, a.leader / np.maximum(a.cast, 1), np.nan)
    ok = np.isfinite(t) & np.isfinite(v) & (t <= 1) & (v <= 1)
    return np.where(ok, t, np.nan), np.where(ok, v, np.nan)


def _percent_axes(ax: Axes, x: bool = True, y: bool = True) -> None:
    if x:
        ax.xaxis.set_major_formatter(_PERCENT)
    if y:
        ax.yaxis.set_major_formatter(_PERCENT)


def _style(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(True, color="#e5e7e9", linewidth=0.6)
    ax.set_axisbelow(True)


def _log_ticks(cb: Colorbar, vmax: float) -> None:
    """Readable ticks on a log colour bar: 1, 2, 5, 10, 20, 50... up to the maximum."""
    ticks = [m * 10**e for e in range(0, 8) for m in (1, 2, 5) if m * 10**e <= max(vmax, 1)]
    cb.set_ticks(ticks)
    cb.ax.yaxis.set_major_formatter(_PLAIN)
    cb.ax.yaxis.set_minor_formatter(FuncFormatter(lambda _x, _p: ""))


def _title(table: ProtocolTable) -> str:
    if table.source:
        return Path(table.source).name
    return "election"


# --------------------------------------------------------------------------- fingerprint
def _hist2d(t: FloatArray, v: FloatArray, bins: int) -> npt.NDArray[np.float64]:
    ok = np.isfinite(t) & np.isfinite(v)
    h, _, _ = np.histogram2d(t[ok], v[ok], bins=bins, range=[[0, 1], [0, 1]])
    return h


def _draw_fingerprint(
    ax: Axes, h: npt.NDArray[Any], *, colourbar: Figure | None = None, label: bool = True
) -> None:
    hm = np.asarray(h, dtype=np.float64)
    masked = np.ma.masked_less_equal(hm.T, 0)  # rows turnout -> x, columns share -> y
    vmax = max(float(hm.max()), 1.0)
    im = ax.imshow(
        masked,
        origin="lower",
        extent=(0, 100, 0, 100),
        aspect="equal",
        cmap=CMAP,
        norm=LogNorm(vmin=1, vmax=max(vmax, 1.0 + 1e-9)),
        interpolation="nearest",
    )
    ax.set_facecolor("white")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    _percent_axes(ax)
    if label:
        ax.set_xlabel("Turnout")
        ax.set_ylabel("Leader's share of the vote")
    if colourbar is not None:
        cb = colourbar.colorbar(im, ax=ax, shrink=0.85, pad=0.02)
        _log_ticks(cb, vmax)
        cb.set_label("Polling stations per cell (log scale)")


def fingerprint_figure(
    table: ProtocolTable, results: Mapping[str, Any] | None = None, *, bins: int = 100
) -> Figure:
    """The election fingerprint: stations per turnout × leader-share cell, log colour scale.

    Uses the fingerprint result's histogram and baseline (τ, ν) when given.
    """
    results = results or {}
    leader = _leader(table, results)
    fp = _get(results, "fingerprint")
    h = getattr(fp, "hist2d", None)
    if h is None:
        t, v = _rates(_arrays(table, leader))
        h = _hist2d(t, v, bins)
    fig = Figure(figsize=(7.2, 6.4), layout="constrained")
    ax = fig.add_subplot()
    _draw_fingerprint(ax, np.asarray(h), colourbar=fig)
    ax.set_ylabel(f"{short_name(leader.name, 40)}: share of the vote")
    if fp is not None and all(math.isfinite(getattr(fp, k, math.nan)) for k in ("tau", "nu")):
        ax.axvline(100 * fp.tau, color=OTHERS_COLOUR, linewidth=0.8, linestyle=":")
        ax.axhline(100 * fp.nu, color=OTHERS_COLOUR, linewidth=0.8, linestyle=":")
        ax.annotate(
            f"baseline τ = {100 * fp.tau:.1f}%, ν = {100 * fp.nu:.1f}%",
            xy=(100 * fp.tau, 100 * fp.nu),
            xytext=(6, -16),
            textcoords="offset points",
            fontsize=8,
            color=OTHERS_COLOUR,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.8, "lw": 0},
        )
        if getattr(fp, "f_i", None) is not None and getattr(fp, "f_e", None) is not None:
            ax.text(
                0.02,
                0.98,
                "fraud model (model-based, never an alarm): "
                f"f_i = {fp.f_i:.3f}{_ci(getattr(fp, 'f_i_ci', None))}, "
                f"f_e = {fp.f_e:.4f}{_ci(getattr(fp, 'f_e_ci', None))}",
                transform=ax.transAxes,
                va="top",
                fontsize=8,
                color="#424949",
            )
    ax.set_title(
        f"Election fingerprint — {_title(table)}\n"
        "honest counts form a compact cloud; a smear toward the top-right\n"
        "corner (100% turnout, 100% share) is the mark of ballot stuffing",
        fontsize=10,
    )
    _footer(fig, results, "fingerprint")
    return fig


# --------------------------------------------------------------------------- histograms
def _integer_marks(ax: Axes) -> None:
    for k in range(0, 101):
        if k % 10 == 0:
            ax.axvline(k, color="#cacfd2", linewidth=0.8, zorder=0)
        elif k % 5 == 0:
            ax.axvline(k, color="#e5e8e8", linewidth=0.6, zorder=0)
    ax.xaxis.set_major_locator(MultipleLocator(10))
    ax.xaxis.set_minor_locator(MultipleLocator(1))
    ax.tick_params(axis="x", which="minor", length=3)


def _histogram_panel(
    ax: Axes, values: FloatArray, colour: str, label: str, *, bins: int = 1000
) -> None:
    ok = values[np.isfinite(values)]
    counts, edges = np.histogram(100 * ok, bins=bins, range=(0, 100))
    ax.stairs(counts, edges, color=colour, linewidth=0.7, fill=True, alpha=0.85)
    _integer_marks(ax)
    # a few towering bins (100% turnout at small special stations) would flatten the rest:
    # cap the axis above the bulk and label the bins that pass it
    bulk = float(np.quantile(counts[counts > 0], 0.995)) if (counts > 0).any() else 1.0
    top = max(1.0, 1.6 * bulk)
    if counts.max() > 1.25 * top:
        ax.set_ylim(0, top)
        for i in np.flatnonzero(counts > top)[:6]:
            ax.annotate(
                f"{edges[i]:g}–{edges[i + 1]:g}%: {counts[i]:,} stations ↑",
                xy=(edges[i], top),
                xytext=(-4 if edges[i] > 50 else 4, -10),
                textcoords="offset points",
                ha="right" if edges[i] > 50 else "left",
                fontsize=7,
                color=colour,
            )
    ax.set_xlim(0, 100)
    _percent_axes(ax, y=False)
    ax.set_ylabel(f"Stations per {100 / bins:g}-point bin")
    ax.set_title(label, fontsize=10, loc="left")
    ax.grid(False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def histograms_figure(table: ProtocolTable, results: Mapping[str, Any] | None = None) -> Figure:
    """Turnout and leader-share histograms at 0.1-point resolution, integer percentages marked.

    Spikes at whole (and round) percentages are the integer-percentage fingerprint; the
    integer-peaks result, when given, is summarised in the title. An Against-all panel is added
    when the ballot has that line.
    """
    results = results or {}
    leader = _leader(table, results)
    arrays = _arrays(table, leader)
    t, v = _rates(arrays)
    aa = table.against_all
    panels = 3 if aa is not None else 2
    fig = Figure(figsize=(10, 3.0 * panels + 0.6), layout="constrained")
    axes = fig.subplots(panels, 1)
    _histogram_panel(axes[0], t, OTHERS_COLOUR, "Turnout (ballots issued ÷ registered voters)")
    _histogram_panel(
        axes[1], v, LEADER_COLOUR, f"{short_name(leader.name, 50)}: share of ballots cast"
    )
    if aa is not None:
        share = _share_of_cast(table, aa)
        _histogram_panel(axes[2], share, AGAINST_ALL_COLOUR, f"{aa.name}: share of ballots cast")
        finite = share[np.isfinite(share)]
        if finite.size:  # Against all rarely passes a few percent: zoom on where it lives
            axes[2].set_xlim(0, min(100.0, 10 * math.ceil(10 * float(np.quantile(finite, 0.999)))))
    axes[-1].set_xlabel("Percent (thin grid lines: whole percentages every 5 and 10 points)")
    ip = _get(results, "integer_peaks")
    sub = "spikes at whole percentages are a fingerprint of numbers written, not counted"
    if ip is not None:
        sub = (
            f"stations at integer percentages: {ip.observed_either:,} observed, "
            f"{ip.expected_either:,.0f} expected under the binomial null "
            f"(excess {ip.excess_stations:+,.0f}, z = {ip.z:.1f})"
        )
    fig.suptitle(f"Turnout and vote-share histograms — {_title(table)}\n{sub}", fontsize=11)
    _footer(fig, results, "integer_peaks")
    return fig


def _ci(ci: Any) -> str:
    if isinstance(ci, tuple | list) and len(ci) == 2:
        return f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    return ""


def _share_of_cast(table: ProtocolTable, choice: Choice) -> FloatArray:
    cast = table.cast().astype(np.float64)  # ballots cast: the one definition, valid + invalid
    votes = table.votes(choice).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(cast > 0, votes / cast, np.nan)
    return np.where(s <= 1, s, np.nan)


# --------------------------------------------------------------------------- Shpilkin
#: Shpilkin's station rule, read from the method itself so that the figure uses the same one.
_MIN_REGISTERED = int(inspect.signature(excess_votes).parameters["min_registered"].default)


def _curves_from_table(
    table: ProtocolTable, choices: Sequence[Choice]
) -> tuple[dict[str, FloatArray], FloatArray]:
    """Each choice's votes per turnout bin, by the method's own bins and station rule."""
    reg = table.registered()
    cast = table.cast()
    keep = station_quality(table).usable & (reg > _MIN_REGISTERED) & (cast > 0) & (cast <= reg)
    b = turnout_bins(cast[keep], reg[keep])
    curves = {
        c.id: np.bincount(b, weights=table.votes(c)[keep], minlength=100)[:100].astype(np.float64)
        for c in choices
    }
    total = np.bincount(b, weights=cast[keep], minlength=100)[:100].astype(np.float64)
    return curves, total


def shpilkin_figure(table: ProtocolTable, results: Mapping[str, Any] | None = None) -> Figure:
    """Votes per 1-point turnout bin for each choice, the others' curve scaled at the peak bin,
    and the shaded excess (Shpilkin's anomalous votes).

    Needs the excess-votes result for the scaled curve and the shaded area; without it, draws
    the curves only.
    """
    results = results or {}
    leader = _leader(table, results)
    ev = _get(results, "excess_votes")
    choices = list(table.choices)
    curves, total = _curves_from_table(table, choices)
    x = np.arange(100) + 0.5
    if ev is not None:
        lead = np.asarray(ev.leader_by_bin, dtype=np.float64)
        others = np.asarray(ev.others_by_bin, dtype=np.float64)
    else:
        lead = curves[leader.id]
        others = total - lead
    fig = Figure(figsize=(10, 5.6), layout="constrained")
    ax = fig.add_subplot()
    scale = 1e3
    ax.plot(x, lead / scale, color=LEADER_COLOUR, linewidth=2.2, label=short_name(leader.name))
    ax.plot(x, others / scale, color=OTHERS_COLOUR, linewidth=1.6, label="All others together")
    colour_i = 0
    by_votes = sorted(choices, key=lambda c: -float(curves[c.id].sum()))
    for c in by_votes:  # the biggest get the most distinct colours
        if c.id == leader.id:
            continue
        if c.against_all:
            ax.plot(
                x,
                curves[c.id] / scale,
                color=AGAINST_ALL_COLOUR,
                linewidth=1.1,
                linestyle="--",
                label=c.name,
            )
        else:
            ax.plot(
                x,
                curves[c.id] / scale,
                color=PALETTE[colour_i % len(PALETTE)],
                linewidth=0.8,
                alpha=0.8,
                label=short_name(c.name),
            )
            colour_i += 1
    title_note = "leader and others per turnout bin"
    if ev is not None and math.isfinite(ev.ratio):
        scaled = ev.ratio * others
        peak = int(ev.peak_bin)
        ax.plot(
            x,
            scaled / scale,
            color=SCALED_COLOUR,
            linewidth=1.4,
            linestyle=":",
            label=f"Others × {ev.ratio:.2f}\n(leader ÷ others at the {peak}–{peak + 1}% bin)",
        )
        ax.fill_between(
            x,
            scaled / scale,
            lead / scale,
            where=lead >= scaled,
            interpolate=True,
            color=LEADER_COLOUR,
            alpha=0.18,
            linewidth=0,
            label="Leader above the scaled curve (counted as anomalous)",
        )
        if (lead < scaled).any():
            ax.fill_between(
                x,
                lead / scale,
                scaled / scale,
                where=lead < scaled,
                interpolate=True,
                color=OTHERS_COLOUR,
                alpha=0.12,
                linewidth=0,
                label="Leader below it (subtracted)",
            )
        ax.axvline(peak + 0.5, color=SCALED_COLOUR, linewidth=0.8)
        lo, hi = ev.sensitivity_range
        title_note = (
            f"anomalous votes ≈ {_millions(ev.estimate)} "
            f"(peak bin moved ±3: {_millions(lo)} to {_millions(hi)}); an order of magnitude"
        )
    ax.set_xlim(0, 100)
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_locator(MultipleLocator(10))
    _percent_axes(ax, y=False)
    ax.set_xlabel("Turnout (valid + invalid ballots ÷ registered), 1-point bins")
    ax.set_ylabel("Votes in the bin (thousands)")
    _style(ax)
    ax.legend(fontsize=8, frameon=False, loc="upper left", ncol=1)
    ax.set_title(f"Shpilkin's curves — {_title(table)}\n{title_note}", fontsize=11)
    _footer(fig, results, "excess_votes")
    return fig


def _millions(v: float) -> str:
    if not math.isfinite(v):
        return "n/a"
    return f"{v / 1e6:.2f} M" if abs(v) >= 1e5 else f"{v:,.0f}"


# --------------------------------------------------------------------------- regions
def regions_figure(
    table: ProtocolTable, results: Mapping[str, Any] | None = None, *, panels: int = 16
) -> Figure | None:
    """Small multiples: the fingerprint of the ``panels`` largest regions, one colour scale.

    Returns None when the table has no ``region`` level. Regions the integer-peaks result names
    among the drivers of the excess are outlined in red.
    """
    results = results or {}
    if "region" not in table.frame.columns:
        return None
    leader = _leader(table, results)
    arrays = _arrays(table, leader)
    t, v = _rates(arrays)
    names, codes = np.unique(arrays.region.astype(str), return_inverse=True)
    sizes = np.bincount(codes, minlength=names.size)
    top = np.argsort(-sizes, kind="stable")[:panels]
    ip = _get(results, "integer_peaks")
    # frame the regions that drive the integer-percentage excess, only when it is an alarm
    ip_finding = _finding(results, "integer_peaks")
    raised = ip_finding.alarm if ip_finding is not None else False
    drivers = set(getattr(ip, "drivers", ()) or ()) if raised else set()
    n = top.size
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(3.0 * cols + 0.8, 3.0 * rows + 0.9), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)).ravel()
    hists = [_hist2d(t[codes == r], v[codes == r], 50) for r in top]
    vmax = max([float(h.max()) for h in hists] + [1.0])
    im = None
    for ax, r, h in zip(axes, top, hists, strict=False):
        masked = np.ma.masked_less_equal(h.T, 0)
        im = ax.imshow(
            masked,
            origin="lower",
            extent=(0, 100, 0, 100),
            cmap=CMAP,
            norm=LogNorm(vmin=1, vmax=max(vmax, 1.0 + 1e-9)),
            interpolation="nearest",
            aspect="equal",
        )
        name = str(names[r])
        sel = codes == r
        turnout = arrays.issued[sel].sum() / max(arrays.registered[sel].sum(), 1)
        share = arrays.leader[sel].sum() / max(arrays.cast[sel].sum(), 1)
        ax.set_title(
            f"{short_name(name, 30)}\n{sizes[r]:,} stations · turnout {100 * turnout:.0f}%"
            f" · leader {100 * share:.0f}%",
            fontsize=8,
        )
        if name in drivers:
            for side in ax.spines.values():
                side.set_edgecolor(LEADER_COLOUR)
                side.set_linewidth(1.6)
        ax.xaxis.set_major_locator(MultipleLocator(50))
        ax.yaxis.set_major_locator(MultipleLocator(50))
        _percent_axes(ax)
        ax.tick_params(labelsize=7)
    for ax in axes[n:]:
        ax.set_visible(False)
    if im is not None:
        cb = fig.colorbar(im, ax=list(axes[:n]), shrink=0.6, pad=0.01)
        _log_ticks(cb, vmax)
        cb.set_label("Stations per 2-point cell (log)")
    fig.supxlabel("Turnout")
    fig.supylabel(f"{short_name(leader.name, 40)}: share of the vote")
    note = "largest regions by number of stations"
    if drivers:
        note += "; red frame: a region that drives the integer-percentage excess"
    fig.suptitle(f"Fingerprints by region — {_title(table)}\n{note}", fontsize=11)
    _footer(fig, results, "integer_peaks")
    return fig


# --------------------------------------------------------------------------- digit tests
def digits_figure(table: ProtocolTable, results: Mapping[str, Any] | None = None) -> Figure | None:
    """The digit and distribution tests per unit, for the turnout and the leader.

    Each cell is one statistic in one unit, coloured by its distance from the reference value
    in bootstrap standard errors (half-width of the interval / 1.96), red above, blue below; a
    dot marks the cells whose interval excludes the reference (the toolkit's red cells).
    Returns None without a digit-test result. These are weak screens, and the title says so.
    """
    results = results or {}
    dg = _get(results, "digits")
    if dg is None or not getattr(dg, "rows", None):
        return None
    leader = _leader(table, results)
    quantities = [q for q in ("turnout", leader.id) if q in dg.quantities]
    units = list(dg.units)
    stats = ["2BL", "LastC", "P05s", "C05s", "Skew", "Kurt"]
    index = {(r.unit, r.quantity): r for r in dg.rows}
    height = max(3.2, 0.17 * len(units) + 1.8)
    fig = Figure(figsize=(4.2 * len(quantities) + 1.8, height), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(quantities), sharey=True, squeeze=False)).ravel()
    im = None
    for ax, q in zip(axes, quantities, strict=True):
        z = np.full((len(units), len(stats)), np.nan)
        dots_x: list[int] = []
        dots_y: list[int] = []
        for i, u in enumerate(units):
            row = index.get((u, q))
            if row is None:
                continue
            for j, name in enumerate(stats):
                st = row.statistics.get(name)
                if st is None or not math.isfinite(st.estimate):
                    continue
                lo, hi = st.interval
                se = (hi - lo) / (2 * 1.96) if math.isfinite(lo) and math.isfinite(hi) else 0.0
                if se > 0:
                    z[i, j] = (st.estimate - st.reference) / se
                if st.departs:
                    dots_x.append(j)
                    dots_y.append(i)
        im = ax.imshow(
            np.clip(z, -6, 6), cmap="RdBu_r", vmin=-6, vmax=6, aspect="auto", interpolation="none"
        )
        ax.scatter(dots_x, dots_y, s=12, color="black", edgecolors="white", linewidths=0.5)
        ax.set_xticks(range(len(stats)), stats, fontsize=8)
        ax.xaxis.tick_top()
        ax.set_title("Turnout" if q == "turnout" else short_name(leader.name), fontsize=10)
        ax.set_yticks(range(len(units)), [short_name(u, 30) for u in units], fontsize=6)
        ax.tick_params(length=0)
    if im is not None:
        cb = fig.colorbar(im, ax=list(axes), shrink=min(0.6, 6 / height), pad=0.01)
        cb.set_label("(estimate − reference) / bootstrap s.e.")
    fig.suptitle(
        f"Digit and distribution tests by {dg.by} — {_title(table)}\n"
        "weak screens (Hicken & Mebane): a dot marks an interval that excludes the reference",
        fontsize=10,
    )
    _footer(fig, results, "digits")
    return fig


# --------------------------------------------------------------------------- all together
def save_forensics_plots(
    results: ForensicsReport | Mapping[str, Any], table: ProtocolTable, out_dir: str | Path
) -> list[Path]:
    """Write every figure as a PNG file in ``out_dir`` (created if missing).

    Parameters
    ----------
    results : ForensicsReport or mapping
        The battery's report (each figure then prints the run's finding: its alarm, level and
        caveats), or method results by their name (``fingerprint``, ``integer_peaks``...; the
        results' own findings are printed); missing ones are left out of the figure.
    table : ProtocolTable
    out_dir : str or Path

    Returns
    -------
    list of Path
        The files written: ``fingerprint.png``, ``histograms.png``, ``shpilkin.png``, when
        the table has regions ``regions.png``, and with a digit-test result ``digits.png``.
    """
    if isinstance(results, ForensicsReport):
        results = {
            **results.results,
            "_findings": {o.name: o.finding for o in results.outcomes},
        }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures: list[tuple[str, Figure | None]] = [
        ("fingerprint.png", fingerprint_figure(table, results)),
        ("histograms.png", histograms_figure(table, results)),
        ("shpilkin.png", shpilkin_figure(table, results)),
        ("regions.png", regions_figure(table, results)),
        ("digits.png", digits_figure(table, results)),
    ]
    written: list[Path] = []
    for name, fig in figures:
        if fig is None:
            continue
        path = out / name
        FigureCanvasAgg(fig)  # the Agg canvas: files only, never a window, no pyplot state
        fig.savefig(path, dpi=DPI, facecolor="white")
        written.append(path)
    return written
