"""The one place the report gets its figures from (an adapter over the figure functions).

Each forensic figure of the report is drawn for the election and for the reference election,
and serialised as SVG (vector in the HTML and in the PDF). The figures come from
:mod:`saylau.report.forensics_plots`; when :mod:`saylau.report.figures` (``make_figure``,
``figure_svg``) is present it is used instead, and this module is the only one to change.
"""

from __future__ import annotations

import io
import re
from typing import Any

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure as MplFigure

from ..domain.table import ProtocolTable
from ..forensics.battery import ForensicsReport
from .document import Figure
from .locale import N_, ReportLocale

__all__ = ["FIGURE_KINDS", "KIND_LABELS", "forensic_figures", "svg_text"]

#: The forensic figures of the report, in order, with the method whose finding each shows.
FIGURE_KINDS: tuple[str, ...] = ("histograms", "fingerprint", "shpilkin", "digits")

KIND_LABELS: dict[str, str] = {
    "histograms": N_("Turnout and vote-share histograms"),
    "fingerprint": N_("Turnout-versus-share fingerprint"),
    "shpilkin": N_("Excess-vote curves"),
    "digits": N_("Digit tests by region"),
}

_METADATA = re.compile(r"<metadata>.*?</metadata>", flags=re.DOTALL)


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
    """The figure of one kind for the election and, when given, for the reference election.

    Returns no figure where the data cannot carry it (e.g. digit tests without regions).
    """
    out: list[Figure] = []
    label = loc.gettext(KIND_LABELS[kind])
    fig = _draw(kind, table, _results(report))
    if fig is None:
        return ()
    out.append(
        Figure(
            kind=kind,
            svg=svg_text(fig),
            caption=loc.gettext(
                "{label}. Data: {source}, {n} stations.",
                label=label,
                source=source,
                n=loc.number(table.stations),
            ),
            alt=label,
        )
    )
    if reference is not None and kind != "digits":
        ref = _draw(kind, reference, _results(reference_report))
        if ref is not None:
            out.append(
                Figure(
                    kind=kind,
                    svg=svg_text(ref),
                    caption=loc.gettext(
                        "The same figure for the reference election. Data: {source}, {n} stations.",
                        source=reference_source or "",
                        n=loc.number(reference.stations),
                    ),
                    alt=loc.gettext("{label}, reference election", label=label),
                    reference=True,
                )
            )
    return tuple(out)
