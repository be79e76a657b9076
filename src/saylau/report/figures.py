"""The report's figures: one kind at a time, translated, with a reference election beside it.

:func:`make_figure` draws one kind of :data:`FIGURE_KINDS` for an election (and, with
``reference``, the same panel for a reference election beside it) and returns a frozen
:class:`ReportFigure` with the matplotlib figure, a translated caption naming the data source
and the number of stations, and a translated text alternative. The figures read the forensic
methods' results only: those of the ``report`` given, and otherwise the ones the kind needs,
computed by :func:`saylau.forensics.battery.run_forensics` (so every number on a figure is the
method's, with the finding of that run). :func:`figure_svg` gives the SVG to embed in a page
(text drawn as paths: no font to download), :func:`save_figure` writes PNG and SVG.

The drawing itself (palette, panels) lives in :mod:`saylau.report.forensics_plots`.

Examples
--------
>>> from saylau.forensics.simulate import simulate_election
>>> table = simulate_election(stations=300, regions=2, rng=1).table
>>> fig = make_figure("turnout", table, lang="kk", source="simulated election")
>>> fig.kind, "simulated election" in fig.caption, "300" in fig.caption
('turnout', True, True)
>>> figure_svg(fig).startswith("<svg")
True
>>> make_figure("pie", table, source="x")
Traceback (most recent call last):
...
saylau._exceptions.UnknownNameError: field kind: unknown figure kind (expected turnout | ...
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import io
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure

from .._exceptions import SaylauInputError, UnknownNameError
from ..domain.table import ProtocolTable
from ..forensics.battery import REGISTRY, ForensicsReport, run_forensics
from . import figure_style as st
from . import forensics_plots as fp
from .figure_style import Election, Tr, election_of, finding_text, histogram_quantiles

__all__ = [
    "FIGURE_KINDS",
    "ReportFigure",
    "figure_svg",
    "make_figure",
    "save_figure",
]

#: Every kind of figure, in the report's order.
FIGURE_KINDS: tuple[str, ...] = (
    "turnout",
    "shares",
    "fingerprint",
    "integer-peaks",
    "shpilkin",
    "coarse-shares",
    "digits",
    "regions",
)

#: The battery's methods whose results each kind reads (the first ones are required).
_NEEDS: dict[str, tuple[str, ...]] = {
    "turnout": ("distributions",),
    "shares": ("distributions",),
    "fingerprint": ("fingerprint",),
    "integer-peaks": ("distributions", "integer_peaks"),
    "shpilkin": ("excess_votes",),
    "coarse-shares": ("coarse_shares",),
    "digits": ("digits",),
    "regions": ("integer_peaks",),
}

_DRAW: dict[str, Callable[[SubFigure, Election, Tr], int | None]] = {
    "turnout": fp.draw_turnout,
    "shares": fp.draw_shares,
    "fingerprint": fp.draw_fingerprint,
    "integer-peaks": fp.draw_integer,
    "shpilkin": fp.draw_shpilkin,
    "coarse-shares": fp.draw_coarse,
    "digits": fp.draw_digits,
    "regions": fp.draw_regions,
}

_TITLES: dict[str, str] = {
    "turnout": st.N_("Turnout histogram"),
    "shares": st.N_("Vote-share histograms"),
    "fingerprint": st.N_("Election fingerprint: turnout against the leader's share"),
    "integer-peaks": st.N_("Integer-percentage peaks"),
    "shpilkin": st.N_("Excess votes: Shpilkin's curves"),
    "coarse-shares": st.N_("Coarse shares of the leader's vote"),
    "digits": st.N_("Digit and distribution tests by unit"),
    "regions": st.N_("Fingerprints of the largest regions"),
}


@dataclasses.dataclass(frozen=True)
class ReportFigure:
    """One figure of the report.

    Attributes
    ----------
    kind : str
        One of :data:`FIGURE_KINDS`.
    figure : matplotlib.figure.Figure
        Drawn on the Agg canvas (no window, no pyplot state).
    caption : str
        Translated; names the data source(s) and the number of stations.
    alt : str
        Translated text alternative: what the figure shows, its numbers and its finding.
    """

    kind: str
    figure: Figure
    caption: str
    alt: str


# --------------------------------------------------------------------------- results
def _check_kind(kind: str) -> None:
    if kind not in FIGURE_KINDS:
        raise UnknownNameError(
            "unknown figure kind", field="kind", expected=" | ".join(FIGURE_KINDS), found=kind
        )


def _election(
    kind: str, table: ProtocolTable, report: ForensicsReport | None, source: str
) -> Election | None:
    """The results the kind reads: the report's, and the missing ones computed (seed 0).

    None when a required method ran in the report but failed on this table.
    """
    if table.stations == 0:
        raise SaylauInputError(
            "no station to draw", file=table.source, expected="a table with stations", found=0
        )
    needs = _NEEDS[kind]
    have = {o.name: o for o in report.outcomes} if report is not None else {}
    missing = [m for m in needs if m not in have]
    required = () if kind == "regions" else needs
    if any(m in have and not have[m].ok for m in required):
        return None
    if missing:
        extra = run_forensics(
            table, leader=report.leader if report is not None else None, methods=missing, seed=0
        )
        if report is None:
            return election_of(table, extra, source)
        merged = dataclasses.replace(
            report,
            outcomes=report.outcomes + tuple(o for o in extra.outcomes if o.name not in have),
        )
        return election_of(table, merged, source)
    assert report is not None
    return election_of(table, report, source)


# --------------------------------------------------------------------------- assembling
def _size(kind: str, e: Election) -> tuple[float, float]:
    if kind == "shares":
        panels = min(6, len(e.table.choices))
        return 8.0, 1.9 * panels + 1.6
    if kind == "digits":
        dg = e.result("digits")
        units = len(getattr(dg, "units", ())) if dg is not None else 10
        return 10.0, max(4.2, 0.17 * units + 2.6)
    if kind == "regions":
        n = 12
        if "region" in e.table.frame.columns:
            n = min(12, len(set(e.table.level_values("region").tolist())))
        cols = min(4, max(n, 1))
        return 3.0 * cols + 1.2, 3.0 * -(-n // cols) + 1.6
    return {
        "turnout": (8.0, 4.6),
        "fingerprint": (7.2, 7.0),
        "integer-peaks": (11.0, 6.4),
        "shpilkin": (10.0, 6.2),
        "coarse-shares": (9.0, 5.4),
    }[kind]


def _assemble(
    kind: str, elections: list[Election | None], tr: Tr
) -> tuple[Figure, list[int | None]] | None:
    main = elections[0]
    if main is None:
        return None
    w, h = _size(kind, main)
    fig = Figure(figsize=(w * len(elections), h), layout="constrained")
    subs = fig.subfigures(1, len(elections), squeeze=False)[0]
    ns: list[int | None] = []
    for sub, e in zip(subs, elections, strict=True):
        n = _DRAW[kind](sub, e, tr) if e is not None else None
        if n is None and e is not None and not ns:
            return None  # the figure does not apply to the election itself
        if n is None:
            sub.suptitle(tr.gettext("This figure does not apply to the reference election."))
        ns.append(n)
    FigureCanvasAgg(fig)  # the Agg canvas: files only, never a window
    return fig, ns


def _caption(kind: str, elections: list[Election | None], ns: list[int | None], tr: Tr) -> str:
    _ = tr.gettext
    parts = [_(_TITLES[kind]) + "."]
    main = elections[0]
    assert main is not None
    parts.append(
        _("Data: %(source)s, n = %(n)s polling stations.")
        % {"source": main.source, "n": tr.whole(ns[0] or 0)}
    )
    if len(elections) > 1:
        ref = elections[1]
        if ref is not None and ns[1] is not None:
            parts.append(
                _("Beside it, the reference election: %(source)s, n = %(n)s polling stations.")
                % {"source": ref.source, "n": tr.whole(ns[1])}
            )
        else:
            parts.append(_("This figure does not apply to the reference election."))
    return " ".join(parts)


def _describe(kind: str, e: Election, tr: Tr) -> str:
    """What the panel shows, in words, with its main numbers (the text alternative)."""
    _ = tr.gettext
    d = e.result("distributions")
    if kind == "turnout" and d is not None:
        q1, med, q3 = histogram_quantiles(d.turnout, (0.25, 0.5, 0.75))
        return _(
            "Histogram of turnout at %(n)s polling stations: median %(med)s, half of the "
            "stations between %(q1)s and %(q3)s."
        ) % {"n": tr.whole(d.stations), "med": tr.pct(med), "q1": tr.pct(q1), "q3": tr.pct(q3)}
    if kind == "shares" and d is not None:
        items = []
        for c, h, _s in fp.share_series(e)[:6]:
            (med,) = histogram_quantiles(h, (0.5,))
            items.append(f"{st.short_name(c.name)} {tr.pct(med)}")
        return _("Histograms of each choice's share of ballots cast; median shares: %(list)s.") % {
            "list": "; ".join(items)
        }
    ip = e.result("integer_peaks")
    if kind == "integer-peaks" and ip is not None:
        return _(
            "Histograms of turnout and of the leader's share in 0.1-point bins; %(obs)s "
            "stations report a whole-percentage turnout or share, %(exp)s expected under the "
            "binomial null (s.d. %(sd)s)."
        ) % {
            "obs": tr.whole(ip.observed_either),
            "exp": tr.num(ip.expected_either, 0),
            "sd": tr.num(ip.null_sd, 0),
        }
    fgp = e.result("fingerprint")
    if kind == "fingerprint" and fgp is not None:
        return _(
            "Two-dimensional histogram of turnout against the leader's share; the clean "
            "baseline is at turnout %(t)s and share %(v)s."
        ) % {"t": tr.pct(fgp.tau), "v": tr.pct(fgp.nu)}
    ev = e.result("excess_votes")
    if kind == "shpilkin" and ev is not None:
        return _(
            "Votes per 1-point turnout bin for each choice; the leader's votes above the "
            "others' curve scaled at the clean peak: %(v)s."
        ) % {"v": tr.whole(ev.estimate) if ev.estimate == ev.estimate else "—"}
    cs = e.result("coarse_shares")
    if kind == "coarse-shares" and cs is not None:
        flagged = [r["fraction"] for r in cs.coarse if r["flagged"]]
        return _(
            "Share of stations at each coarse fraction of the leader's share, observed and "
            "resampled; fractions above every resample: %(list)s."
        ) % {"list": ", ".join(flagged) or "—"}
    dg = e.result("digits")
    if kind == "digits" and dg is not None:
        departs = sum(
            1 for r in dg.rows for s in r.statistics.values() if getattr(s, "departs", False)
        )
        cells = sum(len(r.statistics) for r in dg.rows)
        return _(
            "Digit and distribution statistics by unit: %(k)s of %(m)s intervals exclude the "
            "reference value."
        ) % {"k": tr.whole(departs), "m": tr.whole(cells)}
    if kind == "regions":
        return _(
            "Small multiples: the turnout and leader's-share histogram of each of the largest "
            "regions, on one colour scale."
        )
    return _(_TITLES[kind])


def _alt(kind: str, elections: list[Election | None], tr: Tr) -> str:
    texts = []
    for i, e in enumerate(elections):
        if e is None:
            continue
        f = e.findings.get(_NEEDS[kind][-1])
        label = e.source if i == 0 else tr.gettext("Reference") + ": " + e.source
        caveat = tr.gettext(st.CAVEATS[kind])
        texts.append(f"{label}. {_describe(kind, e, tr)} {finding_text(f, caveat, tr)}.")
    return " ".join(texts)


def figure_from_results(
    kind: str,
    table: ProtocolTable,
    results: ForensicsReport | Mapping[str, Any],
    *,
    lang: str = "en",
    source: str,
) -> ReportFigure | None:
    """A figure from results already computed (nothing is run); None if they are missing."""
    _check_kind(kind)
    e = election_of(table, results, source)
    if e.result(_NEEDS[kind][0]) is None and kind != "regions":
        return None
    return _finish(kind, [e], Tr(lang))


def _finish(kind: str, elections: list[Election | None], tr: Tr) -> ReportFigure | None:
    done = _assemble(kind, elections, tr)
    if done is None:
        return None
    fig, ns = done
    return ReportFigure(
        kind=kind,
        figure=fig,
        caption=_caption(kind, elections, ns, tr),
        alt=_alt(kind, elections, tr),
    )


def make_figure(
    kind: str,
    table: ProtocolTable,
    *,
    report: ForensicsReport | None = None,
    lang: str = "en",
    source: str,
    reference: ProtocolTable | None = None,
    reference_report: ForensicsReport | None = None,
    reference_source: str | None = None,
) -> ReportFigure | None:
    """Draw one kind of figure for an election, with a reference election beside it.

    Parameters
    ----------
    kind : str
        One of :data:`FIGURE_KINDS`.
    table : ProtocolTable
        The election's precinct results.
    report : ForensicsReport, optional
        The battery's report for ``table``: the figure shows its results and findings. The
        methods the kind needs and the report lacks are run (seed 0).
    lang : {"en", "kk", "ru"}
        Language of every label, the caption and the text alternative.
    source : str
        The data source, named in the figure and the caption (e.g. "CEC, Mazhilis 2023").
    reference, reference_report, reference_source : optional
        A reference election (a clean control) drawn the same way beside the first.

    Returns
    -------
    ReportFigure or None
        None where the figure does not apply to this data (no regions, no digit tests, a
        method that could not run).

    Raises
    ------
    UnknownNameError
        For a kind not in :data:`FIGURE_KINDS` or an unknown language.
    SaylauInputError
        For an empty table.
    """
    _check_kind(kind)
    try:
        tr = Tr(lang)
    except ValueError:
        raise UnknownNameError(
            "unknown language", field="lang", expected="kk | ru | en", found=lang
        ) from None
    if kind == "regions" and "region" not in table.frame.columns:
        return None  # nothing to run for a table without regions
    main = _election(kind, table, report, source)
    if main is None:
        return None
    elections: list[Election | None] = [main]
    if reference is not None:
        name = reference_source or (
            Path(reference.source).name if reference.source else tr.gettext("Reference")
        )
        elections.append(_election(kind, reference, reference_report, name))
    return _finish(kind, elections, tr)


# --------------------------------------------------------------------------- files
def _rc(fig: ReportFigure) -> Any:
    salt = hashlib.sha256(f"{fig.kind}\n{fig.caption}".encode()).hexdigest()[:12]
    return {"svg.fonttype": "path", "svg.hashsalt": salt, "svg.image_inline": True}


def figure_svg(fig: ReportFigure) -> str:
    """The figure as an ``<svg>`` element to embed in a page.

    Text is drawn as paths (no font to fetch), the raster parts are inlined, and the ids are
    salted per figure so that several figures can share one page. The element is an image for
    screen readers (``role="img"``, its ``aria-label`` the text alternative) and shrinks to
    the width of its box.
    """
    buf = io.StringIO()
    with matplotlib.rc_context(_rc(fig)):
        fig.figure.savefig(buf, format="svg", facecolor="white", metadata={"Date": None})
    text = buf.getvalue()
    svg = text[text.index("<svg") :]
    attrs = f'role="img" aria-label="{html.escape(fig.alt)}" style="max-width:100%;height:auto" '
    return svg.replace("<svg ", "<svg " + attrs, 1)


def write_png(fig: ReportFigure, path: Path) -> Path:
    """Write the PNG of a figure (no timestamp in the file)."""
    fig.figure.savefig(path, dpi=st.DPI, facecolor="white", metadata={"Software": "saylau"})
    return path


def save_figure(fig: ReportFigure, stem: Path) -> tuple[Path, Path]:
    """Write ``STEM.png`` and ``STEM.svg``; return their paths (the folder must exist)."""
    stem = Path(stem)
    png = write_png(fig, stem.with_name(stem.name + ".png"))
    svg = stem.with_name(stem.name + ".svg")
    with matplotlib.rc_context(_rc(fig)):
        fig.figure.savefig(svg, format="svg", facecolor="white", metadata={"Date": None})
    return png, svg


#: Kept in step with the battery: every method a figure reads is a registered one.
assert {m for need in _NEEDS.values() for m in need} <= {s.name for s in REGISTRY}
