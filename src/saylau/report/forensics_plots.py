"""Panels of the forensic figures: the palette, the translated labels and one drawer per kind.

Every drawer paints one election into a :class:`matplotlib.figure.SubFigure` (no pyplot, no
global state, the Agg canvas; nothing is ever shown) and reads the methods' results only: the
histograms of :func:`saylau.forensics.distributions`, the fingerprint's ``hist2d``, Shpilkin's
curves, the integer-peaks counts, the coarse-shares table, the digit tests. Where a drawer needs
per-station numbers (Against all's share, the regions' small multiples), it takes them from
:func:`saylau.forensics._stations.station_arrays` and the method's own histogram function, so
ballots cast and the station rules keep their one definition. :mod:`saylau.report.figures`
assembles the panels (with a reference election beside them), the captions and the files;
:func:`save_forensics_plots` writes the whole set for the CLI and the demo.

The palette and the translated labels are in :mod:`saylau.report.figure_style`. "Against all"
takes the next series of the palette like any other choice.

References
----------
.. [1] P. Klimek, Y. Yegorov, R. Hanel and S. Thurner, "Statistical detection of systematic
   election irregularities", PNAS 109(41), 2012 (the fingerprint).
.. [2] D. Kobak, S. Shpilkin and M. S. Pshenichnikov, "Integer percentages as electoral
   falsification fingerprints", Annals of Applied Statistics 10(1), 2016 (the histograms).
.. [3] S. Shpilkin, "Математика выборов-2011", Troitsky Variant 94, 2011 (the curves).

Examples
--------
>>> import tempfile
>>> from saylau.forensics.battery import run_forensics
>>> from saylau.forensics.simulate import simulate_election
>>> table = simulate_election(stations=300, regions=2, rng=1).table
>>> report = run_forensics(table, methods=("distributions", "excess_votes"), seed=0)
>>> with tempfile.TemporaryDirectory() as d:
...     paths = save_forensics_plots(report, table, d, lang="kk")
...     sorted(p.name for p in paths)
['regions.png', 'shares.png', 'shpilkin.png', 'turnout.png']
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure as MplFigure
from matplotlib.figure import SubFigure
from matplotlib.ticker import FuncFormatter, MultipleLocator

from ..domain.choices import Choice
from ..domain.table import ProtocolTable
from ..forensics._stations import station_arrays, station_quality
from ..forensics.battery import ForensicsReport
from ..forensics.distributions import histogram_ratio
from ..forensics.shpilkin import excess_votes, turnout_bins
from .figure_style import (
    CAVEATS,
    CMAP,
    LEADER,
    MODEL,
    OTHERS,
    SERIES,
    Election,
    SeriesStyle,
    Tr,
    finding_text,
    foot,
    head,
    histogram_panel,
    locale_ticks,
    log_ticks,
    percent_axis,
    share_xmax,
    short_name,
    style_axes,
)

__all__ = [
    "curves_from_table",
    "digits_figure",
    "draw_coarse",
    "draw_digits",
    "draw_fingerprint",
    "draw_integer",
    "draw_regions",
    "draw_shares",
    "draw_shpilkin",
    "draw_turnout",
    "fingerprint_figure",
    "histograms_figure",
    "regions_figure",
    "save_forensics_plots",
    "share_series",
    "shpilkin_figure",
]

FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------- histograms
def against_all_histogram(table: ProtocolTable, bins: int) -> FloatArray | None:
    """Against all's share histogram, by the distributions method's rows and function."""
    aa = table.against_all
    if aa is None:
        return None
    arr = station_arrays(table, level=None)
    votes = table.votes(aa)[arr.quality.usable]
    return histogram_ratio(votes, arr.cast, bins=bins)


def share_series(e: Election) -> list[tuple[Choice, FloatArray, SeriesStyle]]:
    """Each choice's share histogram (Against all included) with its series, by votes."""
    d = e.result("distributions")
    totals = e.table.totals()
    ordered = sorted(e.table.choices, key=lambda c: (c.id != e.leader.id, -totals[c.id]))
    out: list[tuple[Choice, FloatArray, SeriesStyle]] = []
    for i, c in enumerate(ordered):
        if c.against_all:
            h = against_all_histogram(e.table, len(d.turnout))
        else:
            h = (
                np.asarray(d.shares.get(c.name, ()), dtype=np.float64)
                if c.name in d.shares
                else None
            )
        if h is not None and h.size:
            out.append((c, h, SERIES[i % len(SERIES)]))
    return out


def draw_turnout(sub: SubFigure, e: Election, tr: Tr) -> int | None:
    """Turnout histogram at 0.1-point resolution."""
    _ = tr.gettext
    d = e.result("distributions")
    if d is None:
        return None
    ax = sub.add_subplot()
    histogram_panel(ax, np.asarray(d.turnout), OTHERS, _("Turnout at the stations"), tr)
    ax.set_xlabel(_("Turnout, percent (ballots issued ÷ registered voters)"))
    head(sub, _("Turnout histogram"), e.source, d.stations, tr)
    foot(sub, finding_text(e.findings.get("distributions"), _(CAVEATS["turnout"]), tr))
    return int(d.stations)


def draw_shares(sub: SubFigure, e: Election, tr: Tr, *, panels: int = 6) -> int | None:
    """Each choice's share of ballots cast, Against all drawn like every other choice."""
    _ = tr.gettext
    d = e.result("distributions")
    if d is None:
        return None
    series = share_series(e)
    aa = [s for s in series if s[0].against_all]
    shown = [s for s in series if not s[0].against_all][: panels - len(aa)]
    shown = sorted(shown + aa, key=series.index)
    axes = np.atleast_1d(sub.subplots(len(shown), 1, squeeze=False)).ravel()
    for ax, (c, h, style) in zip(axes, shown, strict=True):
        histogram_panel(ax, h, style, short_name(c.name, 60), tr, xmax=share_xmax(h))
    axes[-1].set_xlabel(_("Share of ballots cast, percent (valid + invalid ballots)"))
    head(sub, _("Vote-share histograms"), e.source, d.stations, tr)
    foot(sub, finding_text(e.findings.get("distributions"), _(CAVEATS["shares"]), tr))
    return int(d.stations)


def draw_integer(sub: SubFigure, e: Election, tr: Tr) -> int | None:
    """Turnout and leader-share histograms with integer percentages marked, and the counts of
    stations at integer percentages against the binomial null (its 95% band)."""
    _ = tr.gettext
    d = e.result("distributions")
    ip = e.result("integer_peaks")
    if d is None or ip is None:
        return None
    grid = sub.add_gridspec(2, 3)
    ax_t = sub.add_subplot(grid[0, :2])
    ax_v = sub.add_subplot(grid[1, :2])
    ax_b = sub.add_subplot(grid[:, 2])
    histogram_panel(ax_t, np.asarray(d.turnout), OTHERS, _("Turnout at the stations"), tr)
    lead = np.asarray(d.shares.get(e.leader.name, ()), dtype=np.float64)
    if lead.size:
        histogram_panel(
            ax_v,
            lead,
            LEADER,
            _("%(name)s: share of ballots cast") % {"name": short_name(e.leader.name, 40)},
            tr,
        )
    ax_v.set_xlabel(_("Percent (grid lines at every 5 and 10 points)"))
    labels = [_("turnout"), _("leader's share"), _("either")]
    obs = [ip.observed_turnout, ip.observed_leader, ip.observed_either]
    exp = [ip.expected_turnout, ip.expected_leader, ip.expected_either]
    sd = [ip.null_sd_turnout, ip.null_sd_leader, ip.null_sd]
    x = np.arange(3)
    ax_b.bar(
        x - 0.2,
        exp,
        width=0.38,
        color="white",
        edgecolor=OTHERS.colour,
        hatch=OTHERS.hatch,
        label=_("expected (binomial null)"),
    )
    ax_b.errorbar(
        x - 0.2,
        exp,
        yerr=[1.96 * s for s in sd],
        fmt="none",
        ecolor="black",
        capsize=3,
        label=_("95% band of the null"),
    )
    ax_b.bar(
        x + 0.2,
        obs,
        width=0.38,
        color=LEADER.colour,
        edgecolor="black",
        hatch=LEADER.hatch,
        label=_("observed"),
    )
    ax_b.set_xticks(x, labels, fontsize=8)
    ax_b.set_ylabel(_("stations at a whole percentage"))
    ax_b.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: tr.whole(v)))
    ax_b.legend(fontsize=7, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    style_axes(ax_b)
    number = _("excess %(excess)s stations (null s.d. %(sd)s, z = %(z)s)") % {
        "excess": tr.num(ip.excess_stations, 0),
        "sd": tr.num(ip.null_sd, 0),
        "z": tr.num(ip.z, 1),
    }
    if math.isfinite(getattr(ip, "integer_votes", math.nan)):
        se = getattr(ip, "integer_votes_se", math.nan)
        number += "; " + _("votes at integer stations beyond their neighbours: %(v)s ± %(ci)s") % {
            "v": tr.whole(ip.integer_votes),
            "ci": tr.whole(1.96 * se) if math.isfinite(se) else "—",
        }
    head(sub, _("Integer-percentage peaks"), e.source, ip.stations, tr)
    foot(
        sub,
        number
        + ". "
        + finding_text(e.findings.get("integer_peaks"), _(CAVEATS["integer-peaks"]), tr),
    )
    return int(ip.stations)


# --------------------------------------------------------------------------- fingerprint
def _draw_hist2d(ax: Axes, h: FloatArray, vmax: float) -> Any:
    masked = np.ma.masked_less_equal(np.asarray(h, dtype=np.float64).T, 0)  # turnout -> x
    im = ax.imshow(
        masked,
        origin="lower",
        extent=(0, 100, 0, 100),
        aspect="equal",
        cmap=CMAP,
        norm=LogNorm(vmin=1, vmax=max(vmax, 1.0 + 1e-9)),
        interpolation="nearest",
    )
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    percent_axis(ax, x=True, y=True)
    return im


def draw_fingerprint(sub: SubFigure, e: Election, tr: Tr) -> int | None:
    """Stations per turnout × leader-share cell (log colour scale), the clean baseline marked,
    the fraud model's two figures with their intervals."""
    _ = tr.gettext
    fp = e.result("fingerprint")
    if fp is None:
        return None
    h = np.asarray(fp.hist2d, dtype=np.float64)
    ax = sub.add_subplot()
    vmax = max(float(h.max()), 1.0)
    im = _draw_hist2d(ax, h, vmax)
    ax.set_xlabel(_("Turnout, percent"))
    ax.set_ylabel(
        _("%(name)s: share of the vote, percent") % {"name": short_name(e.leader.name, 34)}
    )
    cb = sub.colorbar(im, ax=ax, shrink=0.85, pad=0.02)
    log_ticks(cb, vmax, tr)
    cb.set_label(_("polling stations per 1-point cell (log scale)"))
    notes = []
    if all(math.isfinite(getattr(fp, k, math.nan)) for k in ("tau", "nu")):
        ax.axvline(100 * fp.tau, color=OTHERS.colour, linewidth=1.0, linestyle=OTHERS.linestyle)
        ax.axhline(100 * fp.nu, color=OTHERS.colour, linewidth=1.0, linestyle=OTHERS.linestyle)
        notes.append(
            _("clean baseline (dashed): turnout %(t)s, share %(v)s")
            % {"t": tr.pct(fp.tau), "v": tr.pct(fp.nu)}
        )
    if fp.f_i is not None and fp.f_e is not None:
        notes.append(
            _("fraud model: f_i = %(fi)s %(fici)s, f_e = %(fe)s %(feci)s (95%% bootstrap)")
            % {
                "fi": tr.num(fp.f_i, 3),
                "fici": tr.interval(fp.f_i_ci),
                "fe": tr.num(fp.f_e, 4),
                "feci": tr.interval(fp.f_e_ci, digits=4),
            }
        )
    head(sub, _("Election fingerprint: turnout against the leader's share"), e.source, fp.n_fit, tr)
    foot(
        sub,
        "; ".join(notes)
        + ". "
        + finding_text(e.findings.get("fingerprint"), _(CAVEATS["fingerprint"]), tr),
    )
    return int(fp.n_fit)


# --------------------------------------------------------------------------- Shpilkin
#: Shpilkin's station rule, read from the method itself so that the curves use the same one.
_MIN_REGISTERED = int(inspect.signature(excess_votes).parameters["min_registered"].default)


def curves_from_table(
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


def draw_shpilkin(sub: SubFigure, e: Election, tr: Tr) -> int | None:
    """Votes per 1-point turnout bin for every choice, the others scaled at the clean peak and
    the shaded excess (Shpilkin's anomalous votes) with its interval."""
    _ = tr.gettext
    ev = e.result("excess_votes")
    if ev is None:
        return None
    totals = e.table.totals()
    choices = sorted(e.table.choices, key=lambda c: (c.id != e.leader.id, -totals[c.id]))
    curves, _total = curves_from_table(e.table, choices)
    x = np.arange(100) + 0.5
    lead = np.asarray(ev.leader_by_bin, dtype=np.float64) / 1e3
    others = np.asarray(ev.others_by_bin, dtype=np.float64) / 1e3
    ax = sub.add_subplot()
    ax.plot(
        x,
        lead,
        color=LEADER.colour,
        linestyle=LEADER.linestyle,
        linewidth=2.2,
        label=short_name(e.leader.name),
    )
    ax.plot(
        x,
        others,
        color=OTHERS.colour,
        linestyle=OTHERS.linestyle,
        linewidth=1.8,
        label=_("all others together"),
    )
    for i, c in enumerate(choices[1:8], start=3):  # every further choice, Against all included
        s = SERIES[i % len(SERIES)]
        ax.plot(
            x,
            curves[c.id] / 1e3,
            color=s.colour,
            linestyle=s.linestyle,
            marker=s.marker,
            markevery=10,
            markersize=3.5,
            linewidth=0.9,
            label=short_name(c.name),
        )
    number = ""
    if not (math.isfinite(ev.ratio) and math.isfinite(ev.estimate)):
        number = _("no estimate: the others' curve has no plausible clean peak")
    else:
        scaled = ev.ratio * others
        peak = int(ev.peak_bin)
        ax.plot(
            x,
            scaled,
            color=MODEL.colour,
            linestyle=MODEL.linestyle,
            linewidth=1.4,
            label=_("others × %(r)s (leader ÷ others at %(a)s–%(b)s)")
            % {"r": tr.num(ev.ratio, 2), "a": peak, "b": peak + 1},
        )
        ax.fill_between(
            x,
            scaled,
            lead,
            where=lead >= scaled,
            interpolate=True,
            facecolor="none",
            edgecolor=LEADER.colour,
            hatch=LEADER.hatch,
            linewidth=0,
            label=_("leader above the scaled curve (anomalous)"),
        )
        ax.axvline(peak + 0.5, color=MODEL.colour, linewidth=0.8)
        lo, hi = ev.sensitivity_range
        se = ev.std_err if math.isfinite(ev.std_err) else math.nan
        number = _(
            "anomalous votes ≈ %(v)s ± %(ci)s (95%%); peak moved by ±3 bins: %(lo)s to %(hi)s"
        ) % {
            "v": tr.whole(ev.estimate),
            "ci": tr.whole(1.96 * se) if math.isfinite(se) else "—",
            "lo": tr.whole(lo) if math.isfinite(lo) else "—",
            "hi": tr.whole(hi) if math.isfinite(hi) else "—",
        }
    ax.set_xlim(0, 100)
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_locator(MultipleLocator(10))
    percent_axis(ax)
    ax.set_xlabel(_("Turnout, percent (1-point bins)"))
    ax.set_ylabel(_("votes in the bin, thousands"))
    locale_ticks(ax, tr)
    style_axes(ax)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    head(sub, _("Excess votes: Shpilkin's curves"), e.source, ev.stations, tr)
    foot(
        sub,
        (number + ". " if number else "")
        + finding_text(e.findings.get("excess_votes"), _(CAVEATS["shpilkin"]), tr),
    )
    return int(ev.stations)


# --------------------------------------------------------------------------- coarse shares
def draw_coarse(sub: SubFigure, e: Election, tr: Tr) -> int | None:
    """Stations at each coarse fraction of the leader's share: observed against the mean of
    the resampled elections, the flagged fractions marked."""
    _ = tr.gettext
    cs = e.result("coarse_shares")
    if cs is None or not cs.coarse:
        return None
    rows = list(cs.coarse)
    x = np.arange(len(rows))
    ax = sub.add_subplot()
    exp = [r["expected_pct"] for r in rows]
    obs = [r["observed_pct"] for r in rows]
    ax.bar(
        x - 0.2,
        exp,
        width=0.38,
        color="white",
        edgecolor=OTHERS.colour,
        hatch=OTHERS.hatch,
        label=_("mean of the resampled elections"),
    )
    ax.bar(
        x + 0.2,
        obs,
        width=0.38,
        color=LEADER.colour,
        edgecolor="black",
        hatch=LEADER.hatch,
        label=_("observed"),
    )
    for i, r in enumerate(rows):
        if r["flagged"]:
            ax.plot(
                i + 0.2,
                obs[i],
                marker="v",
                color="black",
                markersize=7,
                linestyle="none",
                label=_("above every resample")
                if i == min(j for j, q in enumerate(rows) if q["flagged"])
                else None,
            )
    ax.set_xticks(x, [r["fraction"] for r in rows], fontsize=8)
    ax.set_xlabel(_("Coarse fraction of the leader's share (1/2, 1/3, 2/3...)"))
    ax.set_ylabel(_("stations in the 0.1-point bin, percent of all"))
    locale_ticks(ax, tr)
    style_axes(ax)
    ax.legend(fontsize=7, frameon=False)
    number = _(
        "stations with coarse shares beyond the resamples: %(v)s ± %(sd)s%% (Monte Carlo "
        "s.d.); p = %(p)s ± %(pe)s; clean elections' 95th percentile %(q)s%%"
    ) % {
        "v": tr.num(cs.fraud_pct, 2),
        "sd": tr.num(cs.fraud_mc_sd, 2),
        "p": tr.num(cs.pvalue, 3),
        "pe": tr.num(cs.pvalue_mc_error, 3),
        "q": tr.num(cs.null_q95, 2),
    }
    head(sub, _("Coarse shares of the leader's vote"), e.source, cs.nobs, tr)
    foot(
        sub,
        number
        + ". "
        + finding_text(e.findings.get("coarse_shares"), _(CAVEATS["coarse-shares"]), tr),
    )
    return int(cs.nobs)


# --------------------------------------------------------------------------- digit tests
DIGIT_STATISTICS = ("2BL", "LastC", "P05s", "C05s", "Skew", "Kurt")


def draw_digits(sub: SubFigure, e: Election, tr: Tr) -> int | None:
    """Distance of each digit statistic from its reference, per unit, in bootstrap standard
    errors (|z| on a sequential scale); ▲/▼ mark an interval above/below the reference."""
    _ = tr.gettext
    dg = e.result("digits")
    if dg is None or not getattr(dg, "rows", None):
        return None
    quantities = [q for q in ("turnout", e.leader.id, e.leader.name) if q in dg.quantities][:2]
    if not quantities:
        quantities = list(dg.quantities[:2])
    units = list(dg.units)
    index = {(r.unit, r.quantity): r for r in dg.rows}
    axes = np.atleast_1d(sub.subplots(1, len(quantities), sharey=True, squeeze=False)).ravel()
    im = None
    for ax, q in zip(axes, quantities, strict=True):
        z = np.full((len(units), len(DIGIT_STATISTICS)), np.nan)
        up: list[tuple[int, int]] = []
        down: list[tuple[int, int]] = []
        for i, u in enumerate(units):
            row = index.get((u, q))
            for j, name in enumerate(DIGIT_STATISTICS):
                st = row.statistics.get(name) if row is not None else None
                if st is None or not math.isfinite(st.estimate):
                    continue
                lo, hi = st.interval
                se = (hi - lo) / (2 * 1.96) if math.isfinite(lo) and math.isfinite(hi) else 0.0
                if se > 0:
                    z[i, j] = abs(st.estimate - st.reference) / se
                if st.departs:
                    (up if st.estimate > st.reference else down).append((j, i))
        im = ax.imshow(
            np.clip(z, 0, 6), cmap=CMAP, vmin=0, vmax=6, aspect="auto", interpolation="none"
        )
        for pts, mk in ((up, "^"), (down, "v")):
            if pts:
                ax.scatter(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    marker=mk,
                    s=30,
                    color="white",
                    edgecolors="black",
                    linewidths=0.6,
                )
        ax.set_xticks(range(len(DIGIT_STATISTICS)), DIGIT_STATISTICS, fontsize=8)
        ax.xaxis.tick_top()
        ax.set_title(
            _("Turnout at the stations") if q == "turnout" else short_name(e.leader.name),
            fontsize=9,
        )
        ax.set_yticks(range(len(units)), [short_name(u, 28) for u in units], fontsize=6)
        ax.tick_params(length=0)
    if im is not None:
        cb = sub.colorbar(im, ax=list(axes), shrink=0.7, pad=0.01)
        cb.set_label(_("|estimate − reference| in bootstrap standard errors"), fontsize=8)
    note = _(
        "▲ / ▼: the interval lies above / below the reference value "
        "(uncorrected for the %(n)s cells)"
    ) % {"n": tr.whole(len(units) * len(DIGIT_STATISTICS) * len(quantities))}
    head(sub, _("Digit and distribution tests by unit"), e.source, dg.nobs, tr)
    foot(sub, note + ". " + finding_text(e.findings.get("digits"), _(CAVEATS["digits"]), tr))
    return int(dg.nobs)


# --------------------------------------------------------------------------- regions
def draw_regions(sub: SubFigure, e: Election, tr: Tr, *, panels: int = 12) -> int | None:
    """Small multiples: the fingerprint of the largest regions on one colour scale."""
    _ = tr.gettext
    if "region" not in e.table.frame.columns:
        return None
    arr = station_arrays(e.table, leader=e.leader, level="region")
    with np.errstate(divide="ignore", invalid="ignore"):
        t = arr.issued / arr.registered
        v = np.where(arr.cast > 0, arr.leader / np.maximum(arr.cast, 1), np.nan)
    ok = np.isfinite(t) & np.isfinite(v) & (t <= 1) & (v <= 1)
    names, codes = np.unique(arr.region.astype(str), return_inverse=True)
    sizes = np.bincount(codes, minlength=names.size)
    top = np.argsort(-sizes, kind="stable")[:panels]
    ip = e.result("integer_peaks")
    f = e.findings.get("integer_peaks")
    drivers = set(getattr(ip, "drivers", ()) or ()) if (f is not None and f.alarm) else set()
    cols = min(4, top.size)
    rows = math.ceil(top.size / cols)
    axes = np.atleast_1d(sub.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)).ravel()
    hists = []
    for r in top:
        sel = ok & (codes == r)
        h, _e1, _e2 = np.histogram2d(t[sel], v[sel], bins=50, range=[[0, 1], [0, 1]])
        hists.append(h)
    vmax = max([float(h.max()) for h in hists] + [1.0])
    im = None
    for ax, r, h in zip(axes, top, hists, strict=False):
        im = _draw_hist2d(ax, h, vmax)
        sel = codes == r
        turnout = arr.issued[sel].sum() / max(arr.registered[sel].sum(), 1)
        share = arr.leader[sel].sum() / max(arr.cast[sel].sum(), 1)
        ax.set_title(
            f"{short_name(str(names[r]), 26)}\nn = {tr.whole(sizes[r])} · "
            f"{tr.pct(turnout, 0)} · {tr.pct(share, 0)}",
            fontsize=7,
        )
        if str(names[r]) in drivers:
            for side in ax.spines.values():
                side.set_edgecolor(LEADER.colour)
                side.set_linewidth(2.0)
                side.set_linestyle("--")
        ax.xaxis.set_major_locator(MultipleLocator(50))
        ax.yaxis.set_major_locator(MultipleLocator(50))
        ax.tick_params(labelsize=7)
    for ax in axes[top.size :]:
        ax.set_visible(False)
    for ax in axes[(rows - 1) * cols : top.size]:
        ax.set_xlabel(_("Turnout, percent"), fontsize=7)
    for ax in axes[::cols]:
        ax.set_ylabel(_("leader's share, percent"), fontsize=7)
    if im is not None:
        cb = sub.colorbar(im, ax=list(axes[: top.size]), shrink=0.6, pad=0.01)
        log_ticks(cb, vmax, tr)
        cb.set_label(_("polling stations per 2-point cell (log scale)"), fontsize=8)
    note = _("each title: region, stations, turnout, leader's share")
    if drivers:
        note += "; " + _("dashed frame: a region driving the integer-percentage alarm")
    head(sub, _("Fingerprints of the largest regions"), e.source, int(ok.sum()), tr)
    foot(sub, note + ". " + finding_text(f, _(CAVEATS["regions"]), tr))
    return int(ok.sum())


# --------------------------------------------------------------------------- all together
def save_forensics_plots(
    results: ForensicsReport | Mapping[str, Any],
    table: ProtocolTable,
    out_dir: str | Path,
    *,
    lang: str = "en",
    source: str | None = None,
) -> list[Path]:
    """Write every figure that applies as ``KIND.png`` in ``out_dir`` (created if missing).

    Parameters
    ----------
    results : ForensicsReport or mapping
        The battery's report (each figure then prints the run's finding: its alarm, level and
        caveat), or method results by their registry name (``fingerprint``,
        ``integer_peaks``...); a figure whose results are missing is left out.
    table : ProtocolTable
    out_dir : str or Path
    lang : {"en", "kk", "ru"}
    source : str, optional
        The data source named in every figure (default: the table's file name).

    Returns
    -------
    list of Path
        The PNG files written, one per kind of :data:`saylau.report.figures.FIGURE_KINDS`
        that applies (``regions.png`` only with regions, ``digits.png`` only with a
        digit-test result...).
    """
    from .figures import FIGURE_KINDS, figure_from_results, write_png

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = source or (Path(table.source).name if table.source else "election")
    written: list[Path] = []
    for kind in FIGURE_KINDS:
        fig = figure_from_results(kind, table, results, lang=lang, source=name)
        if fig is not None:
            path = out / f"{kind}.png"
            write_png(fig, path)
            written.append(path)
    return written


# --------------------------------------------------------------------------- one figure, as before
def _one(
    kind: str, table: ProtocolTable, results: Mapping[str, Any] | None, lang: str
) -> MplFigure | None:
    from .figures import figure_from_results

    name = Path(table.source).name if table.source else "election"
    fig = figure_from_results(kind, table, results or {}, lang=lang, source=name)
    return fig.figure if fig is not None else None


def histograms_figure(
    table: ProtocolTable, results: Mapping[str, Any] | None = None, *, lang: str = "en"
) -> MplFigure | None:
    """The integer-percentage figure (turnout and leader histograms, counts against the null)
    from results already computed; the turnout histogram alone without an integer-peaks result.
    Kept for callers of the first figure API: :func:`saylau.report.figures.make_figure` is the
    one to use."""
    kind = "integer-peaks" if results and "integer_peaks" in results else "turnout"
    return _one(kind, table, results, lang)


def fingerprint_figure(
    table: ProtocolTable, results: Mapping[str, Any] | None = None, *, lang: str = "en"
) -> MplFigure | None:
    """The fingerprint from a fingerprint result (see :func:`histograms_figure`)."""
    return _one("fingerprint", table, results, lang)


def shpilkin_figure(
    table: ProtocolTable, results: Mapping[str, Any] | None = None, *, lang: str = "en"
) -> MplFigure | None:
    """Shpilkin's curves from an excess-votes result (see :func:`histograms_figure`)."""
    return _one("shpilkin", table, results, lang)


def digits_figure(
    table: ProtocolTable, results: Mapping[str, Any] | None = None, *, lang: str = "en"
) -> MplFigure | None:
    """The digit tests from a digit-test result (see :func:`histograms_figure`)."""
    return _one("digits", table, results, lang)


def regions_figure(
    table: ProtocolTable, results: Mapping[str, Any] | None = None, *, lang: str = "en"
) -> MplFigure | None:
    """The regions' small multiples (see :func:`histograms_figure`)."""
    return _one("regions", table, results, lang)
