"""What the report's sections share: section titles and a finding in words.

A finding (:class:`saylau.results.Finding`) is written the same way everywhere in a report:
its strength (a calibrated alarm, nothing found by a calibrated test, a screen, a model
estimate), its level, its correction and its false-alarm rate measured on clean elections.

Examples
--------
>>> from saylau.results import Finding
>>> from saylau.report.locale import ReportLocale
>>> f = Finding(alarm=True, kind="test", level=0.01, pvalue=1e-5, false_alarm_rate=0.004)
>>> strength(f), finding_text(f, ReportLocale("en"))[:38]
('alarm', 'Alarm at the family-wise level 1%. p <')
"""

from __future__ import annotations

import math

from ..results import Finding
from .document import Paragraph
from .locale import N_, ReportLocale

__all__ = [
    "SECTION_KEYS",
    "SECTION_TITLES",
    "STRENGTH_LABELS",
    "TOP",
    "caveat_paragraphs",
    "finding_text",
    "strength",
]

SECTION_KEYS = (
    "summary",
    "results",
    "checks",
    "forensics",
    "survey",
    "incidents",
    "headcounts",
    "methods",
)

SECTION_TITLES: dict[str, str] = {
    "summary": N_("Summary"),
    "results": N_("Results and seats"),
    "checks": N_("Protocol checks"),
    "forensics": N_("Election forensics"),
    "survey": N_("Exit poll and quick count"),
    "incidents": N_("Incidents"),
    "headcounts": N_("Head counts against the protocols"),
    "methods": N_("Methods and provenance"),
}

DROPPED: dict[str, str] = {
    "copies": N_("Observer copies: none given (--copies); no observer-verified results."),
    "quick_count": N_("Quick count: no reports given (--quick-count)."),
    "exit_poll": N_("Exit poll: no interviews given (--exit-poll)."),
    "incidents": N_("Incidents: no reports given (--incidents); the section is left out."),
    "head_counts": N_(
        "Head counts: none given (--head-counts); ballots issued are not compared with the "
        "voters observers saw."
    ),
    "head_counts_error": N_(
        "Head counts: given, but no comparison could be made (most often fewer than 10 "
        "stations counted by two observers, too few to estimate the counting error)."
    ),
    "reference": N_("Reference election: none (--no-reference); figures are shown alone."),
    "exit_poll_tally": N_(
        "Exit poll: no interviewers' tally (--ep-tally); every station's interviews count as "
        "the same share of its voters, which biases the estimate where stations differ in size."
    ),
    "seat_projection": N_(
        "Seat projection from the quick count: the rule set cannot be applied to estimated "
        "shares (its threshold counts ballots cast, which the quick count does not estimate)."
    ),
}

STRENGTH_LABELS: dict[str, str] = {
    "alarm": N_("calibrated alarm"),
    "nothing": N_("nothing found"),
    "screen": N_("screen"),
    "model": N_("model estimate"),
}

#: How many largest cases a table lists.
TOP = 10


def strength(f: Finding) -> str:
    """The strength of a finding: ``alarm``, ``nothing``, ``screen`` or ``model``."""
    if f.kind == "screen":
        return "screen"
    if f.kind == "model":
        return "model"
    return "alarm" if f.alarm else "nothing"


def finding_text(f: Finding, loc: ReportLocale) -> str:
    """A finding in words: alarm or not, level, correction, measured false-alarm rate."""
    _ = loc.gettext
    if f.kind == "screen":
        return _("A screen: it shows where to look and never raises an alarm.")
    if f.kind == "model":
        return _("An estimate under a stated model, never an alarm.")
    head = (
        _("Alarm at the family-wise level {level}.", level=loc.percent(f.level, 0))
        if f.alarm
        else _("No alarm at the family-wise level {level}.", level=loc.percent(f.level, 0))
    )
    parts = [head]
    if f.pvalue is not None and math.isfinite(f.pvalue):
        parts.append(_("{p} before the correction.", p=loc.p_text(f.pvalue)))
    if f.correction and f.correction != "none":
        parts.append(_("Corrected for multiplicity."))
    if f.false_alarm_rate is not None:
        parts.append(
            _(
                "False-alarm rate measured on clean elections: {rate}.",
                rate=loc.percent(f.false_alarm_rate, 1),
            )
        )
    else:
        parts.append(_("Its false-alarm rate on clean elections has not been measured."))
    return " ".join(parts)


def caveat_paragraphs(f: Finding, loc: ReportLocale) -> list[Paragraph]:
    """The library's caveats where the catalogue translates them (all of them in English)."""
    out = []
    for c in f.caveats:
        text = loc.gettext(c)
        if loc.lang == "en" or text != c:
            out.append(Paragraph(text, "note"))
    return out
