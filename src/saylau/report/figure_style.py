"""The look and the language of saylau's figures: palette, series styles, translated labels.

The palette is Okabe and Ito's (2008), which stays distinct under the common colour-vision
deficiencies; every series also has its own line style, marker and hatch, and the first three
differ in lightness, so a black-and-white print keeps them apart. Colour scales are sequential
with a monotone lightness (``magma``). :class:`Tr` gives the translated labels (the Babel
catalogues shared with the web pages) and numbers formatted per locale; :func:`finding_text`
is a finding as a figure prints it. Used by :mod:`saylau.report.forensics_plots` (the panels)
and :mod:`saylau.report.figures` (the figures, captions and files).

References
----------
.. [1] M. Okabe and K. Ito, "Color Universal Design: how to make figures and presentations that
   are friendly to colorblind people", J*Fly, 2008.

Examples
--------
>>> Tr("kk").gettext("Turnout at the stations"), Tr("ru").pct(0.25)
('Учаскелердегі келу үлесі', '25,0%')
>>> SERIES[0].colour == OKABE_ITO["vermillion"]
True
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from babel.numbers import format_decimal
from matplotlib.axes import Axes
from matplotlib.colorbar import Colorbar
from matplotlib.figure import SubFigure
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator

from ..domain.choices import Choice
from ..domain.table import ProtocolTable
from ..forensics.battery import ForensicsReport
from ..results import Finding, Result

__all__ = [
    "CAVEATS",
    "CMAP",
    "DPI",
    "LEADER",
    "MODEL",
    "N_",
    "OKABE_ITO",
    "OTHERS",
    "SERIES",
    "Election",
    "SeriesStyle",
    "Tr",
    "election_of",
    "finding_text",
    "foot",
    "head",
    "histogram_panel",
    "histogram_quantiles",
    "locale_ticks",
    "log_ticks",
    "percent_axis",
    "share_xmax",
    "short_name",
    "style_axes",
]

FloatArray = npt.NDArray[np.float64]

#: Okabe and Ito's colour-blind-safe palette (sRGB hex).
OKABE_ITO: dict[str, str] = {
    "vermillion": "#D55E00",
    "sky blue": "#56B4E9",
    "black": "#000000",
    "blue": "#0072B2",
    "orange": "#E69F00",
    "bluish green": "#009E73",
    "reddish purple": "#CC79A7",
    "yellow": "#F0E442",
}


@dataclasses.dataclass(frozen=True)
class SeriesStyle:
    """How one series is drawn: colour, line style, marker and hatch (each unique)."""

    colour: str
    linestyle: Any
    marker: str
    hatch: str


#: The series in the order they are handed out (the leader first, then choices by votes).
SERIES: tuple[SeriesStyle, ...] = (
    SeriesStyle(OKABE_ITO["vermillion"], "-", "o", "////"),
    SeriesStyle(OKABE_ITO["sky blue"], "--", "s", "\\\\\\\\"),
    SeriesStyle(OKABE_ITO["black"], ":", "^", "xxxx"),
    SeriesStyle(OKABE_ITO["blue"], "-.", "D", "----"),
    SeriesStyle(OKABE_ITO["orange"], (0, (5, 1, 1, 1, 1, 1)), "v", "...."),
    SeriesStyle(OKABE_ITO["bluish green"], (0, (1, 1)), "P", "++++"),
    SeriesStyle(OKABE_ITO["reddish purple"], (0, (3, 1, 1, 1)), "X", "oo"),
    SeriesStyle(OKABE_ITO["yellow"], (0, (8, 2)), "*", "||||"),
)
LEADER, OTHERS, MODEL = SERIES[0], SERIES[1], SERIES[2]
#: Sequential colour scale with monotone lightness (readable in grey and by every viewer).
CMAP = "magma_r"
DPI = 130
NOTE_GREY = "#3b3b3b"

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


# --------------------------------------------------------------------------- language
@dataclasses.dataclass(frozen=True)
class Tr:
    """Translated labels and numbers formatted for one language (kk, ru or en).

    >>> Tr("kk").whole(12345), Tr("en").num(0.1234, 2), Tr("ru").pct(0.5)
    ('12\\xa0345', '0.12', '50,0%')
    """

    lang: str = "en"

    def __post_init__(self) -> None:
        _catalogue(self.lang)  # refuses an unknown language at once

    def gettext(self, message: str) -> str:
        """The message in this language (the catalogues are shared with the web pages)."""
        return str(_catalogue(self.lang).gettext(message))

    def whole(self, n: float) -> str:
        """A whole number with the locale's thousands separator."""
        return format_decimal(round(n), format="#,##0", locale=self.lang)

    def num(self, x: float | None, digits: int = 1) -> str:
        """A number with ``digits`` decimals, the locale's separators; n/a when undefined."""
        if x is None or not math.isfinite(x):
            return "—"
        pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
        return format_decimal(x, format=pattern, locale=self.lang)

    def pct(self, share: float | None, digits: int = 1) -> str:
        """A share in [0, 1] as a percentage."""
        return (
            "—"
            if share is None or not math.isfinite(share)
            else self.num(100 * share, digits) + "%"
        )

    def interval(self, ci: Sequence[float] | None, digits: int = 3) -> str:
        """``[lo; hi]`` (a semicolon: the comma is the decimal sign in kk and ru)."""
        lo, hi = ci if ci is not None else (None, None)
        return f"[{self.num(lo, digits)}; {self.num(hi, digits)}]"


@functools.cache
def _catalogue(lang: str) -> Any:
    from ..web.i18n import translations

    return translations(lang)


def finding_text(finding: Finding | None, caveat: str, tr: Tr) -> str:
    """The finding as a figure prints it: alarm or not, level, correction, rate; the caveat.

    >>> f = Finding(alarm=False, kind="test", level=0.01, pvalue=0.3,
    ...             correction="Holm over 2 test methods: integer_peaks, small_counts")
    >>> finding_text(f, "a caveat", Tr("en"))
    'no alarm at level 0.01 (p = 0.300; Holm correction over 2 tests) — a caveat'
    """
    _ = tr.gettext
    if finding is None:
        return caveat
    if finding.kind == "screen":
        head = _("screen, never an alarm")
    elif finding.kind == "model":
        head = _("model-based estimate, never an alarm")
    else:
        head = (
            _("ALARM at level %(level)s") if finding.alarm else _("no alarm at level %(level)s")
        ) % {"level": tr.num(finding.level, 2 if finding.level >= 0.01 else 3)}
        extra = []
        if finding.pvalue is not None and math.isfinite(finding.pvalue):
            p = finding.pvalue
            extra.append("p < " + tr.num(0.001, 3) if p < 0.001 else "p = " + tr.num(p, 3))
        m = re.match(r"Holm over (\d+)", finding.correction or "")
        if m:
            extra.append(_("Holm correction over %(n)s tests") % {"n": m.group(1)})
        if finding.false_alarm_rate is not None:
            extra.append(
                _("false-alarm rate on clean elections %(rate)s")
                % {"rate": tr.num(finding.false_alarm_rate, 3)}
            )
        if extra:
            head += " (" + "; ".join(extra) + ")"
    return f"{head} — {caveat}"


# --------------------------------------------------------------------------- shared pieces
@dataclasses.dataclass(frozen=True)
class Election:
    """One election's table, the results a figure reads and their findings in the run."""

    table: ProtocolTable
    results: Mapping[str, Result]
    findings: Mapping[str, Finding]
    source: str
    leader: Choice

    def result(self, name: str) -> Any:
        """A method's result by its registry name, or None."""
        return self.results.get(name)


def election_of(
    table: ProtocolTable, results: ForensicsReport | Mapping[str, Any], source: str
) -> Election:
    """Collect a report's (or a mapping's) results and findings for the drawers.

    A mapping holds results by method name; its ``_findings`` entry, when present, maps
    method names to the findings of the run (otherwise each result's own finding is shown).
    """
    if isinstance(results, ForensicsReport):
        res: dict[str, Any] = dict(results.results)
        findings = {o.name: o.finding for o in results.outcomes if o.ok}
        leader_name: str | None = results.leader
    else:
        res = {k: v for k, v in results.items() if dataclasses.is_dataclass(v)}
        findings = {
            k: v.finding for k, v in res.items() if isinstance(getattr(v, "finding", None), Finding)
        }
        leader_name = next(
            (
                getattr(v, "leader", None)
                for v in res.values()
                if isinstance(getattr(v, "leader", None), str)
            ),
            None,
        )
        run = results.get("_findings")
        if isinstance(run, Mapping):
            findings.update({k: f for k, f in run.items() if isinstance(f, Finding)})
    leader = table.leader()
    if leader_name is not None:
        leader = next((c for c in table.choices if leader_name in (c.id, c.name)), leader)
    return Election(table=table, results=res, findings=findings, source=source, leader=leader)


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width))


def head(sub: SubFigure, title: str, source: str, n: int, tr: Tr) -> None:
    """The panel's title: what it shows, the data source and the number of stations."""
    _ = tr.gettext
    line = _("%(source)s: n = %(n)s polling stations") % {"source": source, "n": tr.whole(n)}
    sub.suptitle(f"{title}\n{line}", fontsize=10)


def foot(sub: SubFigure, text: str) -> None:
    """The finding under the panel (a super-x-label, so that the layout keeps room for it)."""
    width = max(60, int(sub.get_figure(root=True).get_figwidth() * 15 / max(1, _columns(sub))))
    sub.supxlabel(_wrap(text, width), fontsize=7, color=NOTE_GREY, ha="left", x=0.02)


def _columns(sub: SubFigure) -> int:
    parent = sub.get_figure(root=True)
    return max(1, len(parent.subfigs))


def percent_axis(ax: Axes, x: bool = True, y: bool = False) -> None:
    fmt = FuncFormatter(lambda v, _p: f"{v:g}")
    if x:
        ax.xaxis.set_major_formatter(fmt)
    if y:
        ax.yaxis.set_major_formatter(fmt)


def locale_ticks(ax: Axes, tr: Tr, *, x: bool = False, y: bool = True) -> None:
    """Tick labels with the locale's decimal sign and thousands separator."""
    fmt = FuncFormatter(lambda v, _p: format_decimal(v, format="#,##0.###", locale=tr.lang))
    if x:
        ax.xaxis.set_major_formatter(fmt)
    if y:
        ax.yaxis.set_major_formatter(fmt)


def style_axes(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(True, color="#e5e7e9", linewidth=0.6)
    ax.set_axisbelow(True)


def log_ticks(cb: Colorbar, vmax: float, tr: Tr) -> None:
    ticks = [m * 10**e for e in range(0, 8) for m in (1, 2, 5) if m * 10**e <= max(vmax, 1)]
    cb.set_ticks(ticks)
    cb.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: tr.whole(v)))
    cb.ax.yaxis.set_minor_formatter(FuncFormatter(lambda _v, _p: ""))


def _integer_marks(ax: Axes) -> None:
    for k in range(0, 101):
        if k % 10 == 0:
            ax.axvline(k, color="#c8c8c8", linewidth=0.8, zorder=0)
        elif k % 5 == 0:
            ax.axvline(k, color="#e3e3e3", linewidth=0.6, zorder=0)
    ax.xaxis.set_major_locator(MultipleLocator(10))
    ax.xaxis.set_minor_locator(MultipleLocator(1))
    ax.tick_params(axis="x", which="minor", length=3)


def histogram_panel(
    ax: Axes, counts: FloatArray, style: SeriesStyle, title: str, tr: Tr, *, xmax: float = 100.0
) -> None:
    """One 0.1-point histogram (counts per bin of [0, 1]), integer percentages marked."""
    counts = np.asarray(counts, dtype=np.float64)
    edges = np.linspace(0.0, 100.0, counts.size + 1)
    ax.stairs(counts, edges, color=style.colour, linewidth=0.7, fill=True, alpha=0.9)
    _integer_marks(ax)
    # a few towering bins (100% turnout at small special stations) would flatten the rest:
    # cap the axis above the bulk and label the bins that pass it
    bulk = float(np.quantile(counts[counts > 0], 0.995)) if (counts > 0).any() else 1.0
    top = max(1.0, 1.6 * bulk)
    if counts.max() > 1.25 * top:
        ax.set_ylim(0, top)
        for i in np.flatnonzero(counts > top)[:4]:
            right = edges[i] > 50
            ax.annotate(
                f"{edges[i]:g}–{edges[i + 1]:g}: {tr.whole(counts[i])} ↑",
                xy=(edges[i], top),
                xytext=(-4 if right else 4, -10),
                textcoords="offset points",
                ha="right" if right else "left",
                fontsize=7,
                color=NOTE_GREY,
            )
    ax.set_xlim(0, xmax)
    percent_axis(ax)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    locale_ticks(ax, tr)
    ax.set_ylabel(tr.gettext("stations per 0.1-point bin"), fontsize=8)
    ax.set_title(title, fontsize=9, loc="left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def share_xmax(counts: FloatArray) -> float:
    """Where a share lives: up to the 99.9th percentile, rounded up to 10 points."""
    c = np.cumsum(np.asarray(counts, dtype=np.float64))
    if c[-1] <= 0:
        return 100.0
    q = float(np.searchsorted(c, 0.999 * c[-1]) + 1) / c.size
    return min(100.0, 10.0 * math.ceil(10 * q + 1e-9))


def histogram_quantiles(counts: npt.ArrayLike, qs: Sequence[float]) -> list[float]:
    """Quantiles (in [0, 1]) read off a histogram of [0, 1] at its bin centres.

    >>> histogram_quantiles([0, 2, 2, 0], [0.5])
    [0.375]
    """
    c = np.cumsum(np.asarray(counts, dtype=np.float64))
    if c.size == 0 or c[-1] <= 0:
        return [math.nan for _ in qs]
    return [(float(np.searchsorted(c, q * c[-1])) + 0.5) / c.size for q in qs]


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


#: What each figure cannot show, in one translated sentence (the long form is in the report).
CAVEATS: dict[str, str] = {
    "turnout": N_("a picture, not a test: mixed regions alone give several humps"),
    "shares": N_("a picture, not a test: where to look, not evidence of fraud"),
    "integer-peaks": N_("round numbers show drawn protocols, not how many votes were changed"),
    "fingerprint": N_(
        "the fraud model assumes one clean cloud; heterogeneous regions alone move it"
    ),
    "shpilkin": N_(
        "assumes the leader's share would not rise with turnout without fraud; "
        "an order of magnitude"
    ),
    "coarse-shares": N_("cannot tell a drawn protocol from a genuine sharp mode"),
    "digits": N_(
        "weak screens: strategic voting and uneven precincts depart from the ideal "
        "as easily as fraud"
    ),
    "regions": N_("a picture, not a test: regions differ honestly"),
}
