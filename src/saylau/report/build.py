"""``build_report``: one election's report as a self-contained HTML file and a PDF.

:func:`prepare_report` (:mod:`saylau.report.data`) computes every result once;
:func:`write_report` renders them in one language (the sections of
:mod:`saylau.report.sections`) as HTML and PDF; :func:`build_report` does both. The CLI's
``saylau report`` and the demo call these functions, nothing else.

Examples
--------
>>> import tempfile, pathlib
>>> from saylau.forensics.simulate import simulate_election
>>> table = simulate_election(stations=400, regions=2, rng=1).table
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> res = build_report(table, out=out, lang="kk", pdf=False, no_reference=True, resamples=50)
>>> res.html.name, res.sections[0], "incidents" in res.dropped
('report-kk.html', 'summary', True)
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..results import Result
from .data import ReportData, prepare_report
from .html import render_html
from .locale import ReportLocale
from .sections import build_document

__all__ = ["ReportResult", "build_report", "write_report"]


@dataclasses.dataclass(frozen=True)
class ReportResult(Result):
    """What ``build_report`` wrote.

    Attributes
    ----------
    html, pdf : Path or None
    lang : str
    sections : tuple of str
        The sections present, in order.
    dropped : mapping
        Sections (or parts) left out, with the reason.
    alarms : tuple of str
        The forensic methods whose calibrated alarm is raised.
    timings : mapping
        Seconds per step (analysis and rendering).
    figures : int
        Figures drawn.
    """

    html: Path
    pdf: Path | None
    lang: str
    sections: tuple[str, ...]
    dropped: Mapping[str, str]
    alarms: tuple[str, ...]
    timings: Mapping[str, float]
    figures: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the paths as text."""
        out = super().to_dict()
        out["html"] = str(self.html)
        out["pdf"] = str(self.pdf) if self.pdf is not None else None
        return out


def write_report(
    data: ReportData, *, out: str | Path, lang: str = "en", pdf: bool = True, stem: str = "report"
) -> ReportResult:
    """Render prepared results in one language as ``<stem>-<lang>.html`` (and ``.pdf``)."""
    loc = ReportLocale(lang)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    timings = dict(data.timings)
    doc = build_document(data, loc, timings=timings)
    start = time.perf_counter()
    html = folder / f"{stem}-{lang}.html"
    html.write_text(render_html(doc), encoding="utf-8")
    timings["html"] = round(time.perf_counter() - start, 3)
    pdf_path = None
    if pdf:
        from .pdf import write_pdf

        start = time.perf_counter()
        pdf_path = write_pdf(doc, folder / f"{stem}-{lang}.pdf")
        timings["pdf"] = round(time.perf_counter() - start, 3)
    return ReportResult(
        html=html,
        pdf=pdf_path,
        lang=lang,
        sections=tuple(s.key for s in doc.sections),
        dropped=dict(data.dropped),
        alarms=data.forensics.alarms,
        timings=timings,
        figures=len(doc.figures),
    )


def build_report(
    official: Any, *, out: str | Path, lang: str = "en", pdf: bool = True, **inputs: Any
) -> ReportResult:
    """Build one election's report in one language (HTML, and PDF unless ``pdf=False``).

    Parameters
    ----------
    official : path or ProtocolTable
        The official precinct results.
    out : path
        The folder written (created if missing).
    lang : {"kk", "ru", "en"}
    pdf : bool
    **inputs
        Everything :func:`saylau.report.data.prepare_report` takes: ``copies``,
        ``quick_count``, ``exit_poll``, ``incidents``, ``reference``, ``seed``...

    Returns
    -------
    ReportResult
    """
    ReportLocale(lang)  # an unknown language stops before the work
    data = prepare_report(official, **inputs)
    return write_report(data, out=out, lang=lang, pdf=pdf)
