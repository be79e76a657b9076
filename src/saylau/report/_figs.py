"""The one place the report gets its figures from (an adapter over the figure functions).

Each forensic figure of the report is drawn for the election and for the reference election,
and serialised as SVG (vector in the HTML and in the PDF). When
:mod:`saylau.report.figures` (``FIGURE_KINDS``, ``make_figure``: translated figures with the
reference drawn beside the election) is installed it is used; otherwise the figures come
from :mod:`saylau.report.forensics_plots`, one for the election and one for the reference.
"""

from __future__ import annotations

import importlib
import io
import re
from types import ModuleType
from typing import Any

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure as MplFigure

from ..domain.table import ProtocolTable
from ..forensics.battery import ForensicsReport
from .document import Figure
from .locale import N_, ReportLocale

__all__ = ["figure_kinds", "forensic_figures", "svg_text"]

#: The figures of forensics_plots, with the method whose finding each shows.
_PLOT_KINDS: dict[str, str | None] = {
    "histograms": "integer_peaks",
    "fingerprint": "fingerprint",
    "shpilkin": "excess_votes",
    "digits": "digits",
}

#: The method whose finding each kind of saylau.report.figures shows (None: a picture only).
_FIGURE_METHODS: dict[str, str | None] = {
    "turnout": None,
    "shares": None,
    "fingerprint": "fingerprint",
    "integer-peaks": "integer_peaks",
    "shpilkin": "excess_votes",
    "coarse-shares": "coarse_shares",
    "digits": "digits",
    "regions": None,
}

KIND_LABELS: dict[str, str] = {
    "turnout": N_("Distribution of turnout"),
    "shares": N_("Distributions of the vote shares"),
    "regions": N_("The largest regions"),
    "histograms": N_("Turnout and vote-share histograms"),
    "fingerprint": N_("Turnout-versus-share fingerprint"),
    "shpilkin": N_("Excess-vote curves"),
    "digits": N_("Digit tests by region"),
}

_METADATA = re.compile(r"<metadata>.*?</metadata>", flags=re.DOTALL)


def _figures_module() -> ModuleType | None:
    """saylau.report.figures where it is installed."""
    try:
        module = importlib.import_module("saylau.report.figures")
    except ModuleNotFoundError:
        return None
    return module if hasattr(module, "make_figure") else None


def figure_kinds() -> tuple[tuple[str, str | None], ...]:
    """The report's figure kinds in order, each with the method whose finding it shows."""
    fm = _figures_module()
    if fm is None:
        return tuple(_PLOT_KINDS.items())
    return tuple((k, _FIGURE_METHODS.get(k)) for k in fm.FIGURE_KINDS)


def reference_methods() -> tuple[str, ...] | None:
    """The forensic methods the reference election's figures read (None: all of them)."""
    if _figures_module() is None:
        return ("integer_peaks", "excess_votes")
    return (
        "integer_peaks",
        "excess_votes",
        "fingerprint",
        "coarse_shares",
        "digits",
        "distributions",
    )


def svg_text(fig: MplFigure) -> str:
    """A figure as SVG text: text kept as text (DejaVu Sans first), no date, stable ids."""
    buf = io.StringIO()
    FigureCanvasSVG(fig)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "saylau"}):
        fig.savefig(buf, format="svg", metadata={"Date": None}, facecolor="white")
    return _METADATA.sub("", buf.getvalue())


def _draw(kind: str, table: ProtocolTable, results: dict[str, Any]) -> MplFigure | None:
    from . import forensics_plots as fp

    draw = {
        "histograms": fp.histograms_figure,
        "fingerprint": fp.fingerprint_figure,
        "shpilkin": fp.shpilkin_figure,
        "digits": fp.digits_figure,
    }[kind]
    fig: MplFigure | None = draw(table, results)
    return fig


def _results(report: ForensicsReport | None) -> dict[str, Any]:
    if report is None:
        return {}
    return {**report.results, "_findings": {o.name: o.finding for o in report.outcomes}}


def forensic_figures(
    kind: str,
    table: ProtocolTable,
    *,
    report: ForensicsReport,
    loc: ReportLocale,
    source: str,
    reference: ProtocolTable | None = None,
    reference_report: ForensicsReport | None = None,
    reference_source: str | None = None,
) -> tuple[Figure, ...]:
    """The figure of one kind for the election and, when given, the reference election.

    Returns no figure where the data cannot carry it (e.g. digit tests without regions).
    """
    fm = _figures_module()
    if fm is not None:
        made = fm.make_figure(
            kind,
            table,
            report=report,
            lang=loc.lang,
            source=source,
            reference=reference,
            reference_report=reference_report,
            reference_source=reference_source,
        )
        if made is None:
            return ()
        return (Figure(kind=kind, svg=svg_text(made.figure), caption=made.caption, alt=made.alt),)
    out: list[Figure] = []
    label = loc.gettext(KIND_LABELS[kind])
    fig = _draw(kind, table, _results(report))
    if fig is None:
        return ()
    caption = loc.gettext(
        "{label}. Data: {source}, {n} stations.",
        label=label,
        source=source,
        n=loc.number(table.stations),
    )
    out.append(Figure(kind=kind, svg=svg_text(fig), caption=caption, alt=label))
    if reference is not None and kind != "digits":
        ref = _draw(kind, reference, _results(reference_report))
        if ref is not None:
            ref_caption = loc.gettext(
                "The same figure for the reference election. Data: {source}, {n} stations.",
                source=reference_source or "",
                n=loc.number(reference.stations),
            )
            alt = loc.gettext("{label}, reference election", label=label)
            out.append(Figure(kind, svg_text(ref), ref_caption, alt, reference=True))
    return tuple(out)
