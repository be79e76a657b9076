"""The report's sections in one language, from the results of :func:`~.data.prepare_report`.

No statistics here: every number is read from a result object and formatted by
:class:`~saylau.report.locale.ReportLocale`; every label and explanation is a message of the
Babel catalogues. A section is present only where its data exists; the summary says which
sections are left out and why. Forensic methods are explained in :mod:`.explain`.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import polars as pl

from ..results import Finding
from ._figs import FIGURE_KINDS, forensic_figures
from .data import ReportData
from .document import Block, Document, FindingItem, Paragraph, Section, SubHeading, Table
from .explain import METHOD_FIGURE, METHOD_LABELS, explanation, method_figure_text, references
from .locale import N_, ReportLocale

__all__ = ["SECTION_KEYS", "SECTION_TITLES", "build_document"]

#: The sections of a report, in order.
SECTION_KEYS = (
    "summary",
    "results",
    "checks",
    "forensics",
    "survey",
    "incidents",
    "methods",
)

SECTION_TITLES: dict[str, str] = {
    "summary": N_("Summary"),
    "results": N_("Results and seats"),
    "checks": N_("Protocol checks"),
    "forensics": N_("Election forensics"),
    "survey": N_("Exit poll and quick count"),
    "incidents": N_("Incidents"),
    "methods": N_("Methods and provenance"),
}

_DROPPED: dict[str, str] = {
    "copies": N_("Observer copies: none given (--copies); no observer-verified results."),
    "quick_count": N_("Quick count: no reports given (--quick-count)."),
    "exit_poll": N_("Exit poll: no interviews given (--exit-poll)."),
    "incidents": N_("Incidents: no reports given (--incidents); the section is left out."),
    "reference": N_("Reference election: none (--no-reference); figures are shown alone."),
}

_STRENGTH_LABELS: dict[str, str] = {
    "alarm": N_("calibrated alarm"),
    "nothing": N_("nothing found"),
    "screen": N_("screen"),
    "model": N_("model estimate"),
}

#: How many largest cases a table lists.
TOP = 10


def _strength(f: Finding) -> str:
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


def _caveats(f: Finding, loc: ReportLocale) -> list[Paragraph]:
    """The library's caveats where the catalogue translates them (all of them in English)."""
    out = []
    for c in f.caveats:
        text = loc.gettext(c)
        if loc.lang == "en" or text != c:
            out.append(Paragraph(text, "note"))
    return out


# --------------------------------------------------------------------------- summary
def _summary(data: ReportData, loc: ReportLocale) -> Section:
    _ = loc.gettext
    items: list[Block] = []
    rep = data.forensics

    def item(f: Finding, text: str, target: str) -> None:
        s = _strength(f)
        items.append(FindingItem(s, _(_STRENGTH_LABELS[s]), text, target))

    for o in rep.outcomes:
        if o.name == "distributions" or not o.ok:
            continue
        label = _(METHOD_LABELS.get(o.name, o.label))
        item(
            o.finding,
            f"{label}: {method_figure_text(o.name, o.result, loc)} {finding_text(o.finding, loc)}",
            f"forensics-{o.name}",
        )
    v = data.validation
    items.append(
        FindingItem(
            "screen",
            _(_STRENGTH_LABELS["screen"]),
            _(
                "Protocol checks: {failed} of {n} stations fail a strict control relation, "
                "{soft} a soft one.",
                failed=loc.number(v.failed),
                n=loc.number(v.stations),
                soft=loc.number(v.soft_failed),
            ),
            "checks",
        )
    )
    cc = data.copy_comparison
    if cc is not None:
        item(
            cc.finding,
            _(
                "Observer copies: {d} of {n} stations compared differ from the official protocols.",
                d=loc.number(cc.stations_differing),
                n=loc.number(cc.stations_compared),
            ),
            "checks-copies",
        )
    for key, cmp_, label in (
        ("survey-quick-count", data.quick_count_comparison, N_("Quick count")),
        ("survey-exit-poll", data.exit_poll_comparison, N_("Exit poll")),
    ):
        if cmp_ is not None and cmp_.finding is not None:
            item(cmp_.finding, f"{_(label)}: {finding_text(cmp_.finding, loc)}", key)
    if data.incidents is not None:
        inc = data.incidents
        confirmed = int((inc["verification"] == "confirmed").sum())
        items.append(
            FindingItem(
                "screen",
                _(_STRENGTH_LABELS["screen"]),
                _(
                    "Incidents: {n} reports, {c} confirmed by a coordinator.",
                    n=loc.number(inc.height),
                    c=loc.number(confirmed),
                ),
                "incidents",
            )
        )
    if rep.alarms:
        lead = _(
            "Alarms raised: {n} of the forensic tests reject at the family-wise level {level}; "
            "an alarm is evidence to examine, not a verdict of fraud.",
            n=loc.number(len(rep.alarms)),
            level=loc.percent(rep.level, 0),
        )
    else:
        lead = _(
            "No forensic test raises an alarm at the family-wise level {level}.",
            level=loc.percent(rep.level, 0),
        )
    blocks: list[Block] = [Paragraph(lead), *items]
    for key, reason in data.dropped.items():
        blocks.append(Paragraph(_(_DROPPED[key]), "dropped"))
        del reason
    return Section("summary", _(SECTION_TITLES["summary"]), tuple(blocks))


# --------------------------------------------------------------------------- results
def _share(nat: Any, cid: str) -> float | None:
    v = nat.get(f"share:{cid}")
    return float(v) if v is not None else None


def _results(data: ReportData, loc: ReportLocale) -> Section:
    _ = loc.gettext
    t = data.official
    nat = data.tabulation.national
    header = [_("Choice"), _("Official votes"), _("Official share")]
    if data.verified is not None:
        header.append(_("Observer-verified share"))
    qc_rows = _estimates(data.quick_count)
    ep_rows = _estimates(data.exit_poll)
    if qc_rows:
        header.append(_("Quick count (interval at 95%)"))
    if ep_rows:
        header.append(_("Exit poll (interval at 95%)"))
    rows = []
    for c in t.choices:
        name = _("Against all") if c.against_all else c.name
        row = [name, loc.number(int(nat[c.id])), loc.percent(_share(nat, c.id))]
        if data.verified is not None:
            row.append(loc.percent(_share(data.verified.national, c.id)))
        for est in (qc_rows, ep_rows):
            if est:
                r = est.get(c.id) or est.get(c.name)
                row.append(
                    loc.percent(r["estimate"]) + " " + loc.interval(r["ci_low"], r["ci_high"])
                    if r
                    else "—"
                )
        rows.append(tuple(row))
    blocks: list[Block] = [
        Paragraph(
            _(
                "{n} stations, {reg} registered voters, turnout {turnout}; shares of {base}.",
                n=loc.number(t.stations),
                reg=loc.number(int(nat["voters_on_list"])),
                turnout=loc.percent(float(nat["turnout"])),
                base=_(_BASES.get(data.tabulation.base, data.tabulation.base)),
            )
        ),
        Table(
            tuple(header),
            tuple(rows),
            (False, *([True] * (len(header) - 1))),
            _("Every choice on the ballot, Against all included, in ballot order."),
        ),
    ]
    out = data.tabulation.outcome
    if out is not None:
        blocks.append(
            Paragraph(
                _(
                    "Under the rule set {rules}: the election is {valid}.",
                    rules=out.rules,
                    valid=_("valid") if out.valid_election else _("not valid"),
                )
                + (" " + _("Winner: {w}.", w=out.winner) if out.winner else "")
            )
        )
    if data.seats is not None:
        s = data.seats
        blocks.append(SubHeading(_("Seats under the rule set {rules}", rules=data.rules or "")))
        blocks.append(
            Table(
                (_("Choice"), _("Votes"), _("Seats")),
                tuple(
                    (
                        _("Against all") if k == s.against_all else k,
                        loc.number(s.votes[k]),
                        loc.number(s.seats.get(k, 0)),
                    )
                    for k in s.votes
                ),
                (False, True, True),
            )
        )
    units = data.tabulation.units
    if data.tabulation.level != "station" and units.height > 1:
        lead = t.leader()
        aa = t.against_all
        head = [_("Unit"), _("Stations"), _("Turnout"), lead.name]
        if aa is not None:
            head.append(_("Against all"))
        unit_rows = []
        for r in units.sort("unit").iter_rows(named=True):
            row = [
                str(r["unit"]),
                loc.number(r["stations"]),
                loc.percent(r["turnout"]),
                loc.percent(r[f"share:{lead.id}"]),
            ]
            if aa is not None:
                row.append(loc.percent(r[f"share:{aa.id}"]))
            unit_rows.append(tuple(row))
        blocks.append(SubHeading(_("By {level}", level=_(_LEVELS.get(t.levels[0], t.levels[0])))))
        blocks.append(Table(tuple(head), tuple(unit_rows), (False, *([True] * (len(head) - 1)))))
    return Section("results", _(SECTION_TITLES["results"]), tuple(blocks))


_BASES = {
    "valid": N_("valid ballots (Against all included)"),
    "valid_excl_against_all": N_("valid ballots without Against all"),
    "cast": N_("ballots cast (valid and invalid)"),
}
_LEVELS = {"region": N_("region"), "district": N_("district"), "tik": N_("territorial commission")}


def _estimates(result: Any) -> dict[str, dict[str, Any]]:
    if result is None:
        return {}
    shares = getattr(result, "shares", result)
    shares = shares() if callable(shares) else shares
    rows = shares.table(0.05, "wald")
    return {str(r["choice"]): r for r in rows}


# --------------------------------------------------------------------------- checks
def _checks(data: ReportData, loc: ReportLocale) -> Section:
    _ = loc.gettext
    v = data.validation
    t = data.official
    blocks: list[Block] = [
        Paragraph(
            _(
                "{ok} stations pass every control relation of the profile {profile}; {soft} "
                "fail a soft one, {failed} a strict one.",
                ok=loc.number(v.ok),
                profile=v.profile,
                soft=loc.number(v.soft_failed),
                failed=loc.number(v.failed),
            )
        ),
        Table(
            (_("Relation"), _("Kind"), _("Stations failing")),
            tuple(
                (
                    name,
                    _("strict") if info["strict"] else _("soft"),
                    loc.number(info.get("violations", 0)),
                )
                for name, info in v.by_relation.items()
            ),
            (False, False, True),
        ),
    ]
    if t.levels and v.violations:
        region_of = dict(t.frame.select("station", t.levels[0]).iter_rows())
        status = v.status_frame().with_columns(
            pl.col("station").replace_strict(region_of, default="").alias("unit")
        )
        by = (
            status.group_by("unit")
            .agg(
                pl.len().alias("n"),
                (pl.col("status") == "failed").sum().alias("failed"),
                (pl.col("status") == "soft").sum().alias("soft"),
            )
            .filter((pl.col("failed") + pl.col("soft")) > 0)
            .sort(["failed", "soft"], descending=True)
        )
        blocks.append(SubHeading(_("By {level}", level=_(_LEVELS.get(t.levels[0], t.levels[0])))))
        blocks.append(
            Table(
                (_("Unit"), _("Stations"), _("Strict failures"), _("Soft failures")),
                tuple(
                    (str(r[0]), loc.number(r[1]), loc.number(r[2]), loc.number(r[3]))
                    for r in by.iter_rows()
                ),
                (False, True, True, True),
            )
        )
    if v.violations:
        largest = sorted(v.violations, key=lambda x: -abs(x.difference))[:TOP]
        blocks.append(SubHeading(_("Largest cases")))
        blocks.append(
            Table(
                (_("Station"), _("Relation"), _("Found"), _("Expected"), _("Difference")),
                tuple(
                    (
                        x.station,
                        x.relation,
                        loc.number(x.found),
                        loc.number(x.expected),
                        loc.signed(x.difference),
                    )
                    for x in largest
                ),
                (False, False, True, True, True),
            )
        )
    cc = data.copy_comparison
    if cc is not None:
        blocks.append(
            SubHeading(_("Official protocols against observers' copies"), "checks-copies")
        )
        blocks.append(
            Paragraph(
                _(
                    "{n} stations have both a copy and an official protocol; {d} differ. "
                    "Ballots issued added between copy and official result: {pad}.",
                    n=loc.number(cc.stations_compared),
                    d=loc.number(cc.stations_differing),
                    pad=loc.signed(cc.issued_padding),
                )
            )
        )
        kept = data.options.get("copies kept out")
        if kept:
            failed = len(data.copies_validation.violations if data.copies_validation else ())
            blocks.append(
                Paragraph(
                    _(
                        "Copies failing a strict control relation of their own are kept out "
                        "of the comparison ({n} violations).",
                        n=loc.number(failed),
                    ),
                    "note",
                )
            )
        names = {c.id: (_("Against all") if c.against_all else c.name) for c in t.choices}
        blocks.append(
            Table(
                (_("Choice"), _("Votes moved (official − copy)")),
                tuple((names.get(k, k), loc.signed(m)) for k, m in cc.moved.items()),
                (False, True),
                _("Positive: votes the official result gives beyond the observers' copies."),
            )
        )
        if cc.by_region.height:
            cols = [c for c in cc.by_region.columns if c not in ("region", "stations_differing")]
            blocks.append(
                Table(
                    (
                        _("Unit"),
                        _("Stations differing"),
                        *[names.get(c, _("Ballots issued")) for c in cols],
                    ),
                    tuple(
                        (
                            str(r["region"]),
                            loc.number(r["stations_differing"]),
                            *[loc.signed(r[c]) for c in cols],
                        )
                        for r in cc.by_region.iter_rows(named=True)
                    ),
                    (False, True, *([True] * len(cols))),
                )
            )
        if cc.differences.height:
            top = cc.differences.sort(pl.col("difference").abs(), descending=True).head(TOP)
            blocks.append(
                Table(
                    (_("Station"), _("Line"), _("Copy"), _("Official"), _("Difference")),
                    tuple(
                        (
                            str(r["station"]),
                            names.get(r["line"], r["line"]),
                            loc.number(r["copy"]),
                            loc.number(r["official"]),
                            loc.signed(r["difference"]),
                        )
                        for r in top.iter_rows(named=True)
                    ),
                    (False, False, True, True, True),
                    _("Largest differences between a copy and the official protocol."),
                )
            )
        blocks.append(Paragraph(finding_text(cc.finding, loc), "note"))
        blocks.extend(_caveats(cc.finding, loc))
    return Section("checks", _(SECTION_TITLES["checks"]), tuple(blocks))


# --------------------------------------------------------------------------- forensics
def _forensics(data: ReportData, loc: ReportLocale) -> Section:
    _ = loc.gettext
    rep = data.forensics
    blocks: list[Block] = [
        Paragraph(
            _(
                "Each method below is shown with what it can and cannot show. A test raises an "
                "alarm only when it rejects at the family-wise level {level} after Holm's "
                "correction over the {n} test methods; screens and model estimates never do.",
                level=loc.percent(rep.level, 0),
                n=loc.number(sum(1 for o in rep.outcomes if o.finding.kind == "test")),
            )
        )
    ]
    if data.reference is not None:
        blocks.append(
            Paragraph(
                _(
                    "Beside each figure: the same figure for a reference election ({source}), "
                    "so that a reader sees what a clean count looks like.",
                    source=data.reference_source or "",
                ),
                "note",
            )
        )
    shown: set[str] = set()
    for kind in FIGURE_KINDS:
        method = next((m for m, k in METHOD_FIGURE.items() if k == kind), None)
        figs = forensic_figures(
            kind,
            data.official,
            report=rep,
            loc=loc,
            source=data.source,
            reference=data.reference,
            reference_report=data.reference_report,
            reference_source=data.reference_source,
        )
        if method is not None:
            blocks.extend(_method_blocks(data, method, loc))
            shown.add(method)
        blocks.extend(figs)
    for o in rep.outcomes:
        if o.name not in shown and o.name != "distributions":
            blocks.extend(_method_blocks(data, o.name, loc))
    return Section("forensics", _(SECTION_TITLES["forensics"]), tuple(blocks))


def _method_blocks(data: ReportData, name: str, loc: ReportLocale) -> list[Block]:
    _ = loc.gettext
    rep = data.forensics
    try:
        o = rep.outcome(name)
    except KeyError:
        return []
    out: list[Block] = [SubHeading(_(METHOD_LABELS.get(name, o.label)), f"forensics-{name}")]
    can, cannot = explanation(name, loc)
    out.append(Paragraph(_("What it shows: {text}", text=can)))
    out.append(Paragraph(_("What it cannot show: {text}", text=cannot)))
    if not o.ok:
        out.append(Paragraph(_("The method could not run on this election."), "note"))
        return out
    f = o.finding
    s = _strength(f)
    out.append(
        FindingItem(
            s,
            _(_STRENGTH_LABELS[s]),
            f"{method_figure_text(name, o.result, loc)} {finding_text(f, loc)}",
            f"forensics-{name}",
        )
    )
    out.extend(_caveats(f, loc))
    return out


# --------------------------------------------------------------------------- survey
def _survey(data: ReportData, loc: ReportLocale) -> Section | None:
    _ = loc.gettext
    blocks: list[Block] = []
    names = {c.id: (_("Against all") if c.against_all else c.name) for c in data.official.choices}
    names.update({c.name: names[c.id] for c in data.official.choices})
    for key, label, est, cmp_ in (
        ("survey-quick-count", N_("Quick count"), data.quick_count, data.quick_count_comparison),
        ("survey-exit-poll", N_("Exit poll"), data.exit_poll, data.exit_poll_comparison),
    ):
        if est is None:
            continue
        blocks.append(SubHeading(_(label), key))
        reported = getattr(est, "stations_reported", None)
        if reported is None:
            reported = dict(getattr(est, "extra", {})).get("stations_reported")
        blocks.append(
            Paragraph(_("Stations reported: {n}.", n=loc.number(reported) if reported else "—"))
        )
        if cmp_ is None:
            continue
        blocks.append(
            Table(
                (
                    _("Choice"),
                    _("Estimate"),
                    _("Interval (95%)"),
                    _("Official"),
                    _("Difference"),
                    _("p-value"),
                ),
                tuple(
                    (
                        names.get(r.choice, r.choice),
                        loc.percent(r.estimate),
                        loc.interval(r.ci_low, r.ci_high),
                        loc.percent(r.official),
                        loc.signed(100 * r.difference, 2),
                        loc.pvalue(r.pvalue),
                    )
                    for r in cmp_.rows
                ),
                (False, True, True, True, True, True),
                _("Differences in percentage points; intervals at 95%."),
            )
        )
        j = cmp_.joint
        if j.tested:
            blocks.append(Paragraph(_("Joint test of every share: {p}.", p=loc.p_text(j.pvalue))))
        else:
            blocks.append(Paragraph(_("The joint test could not be run on these reports."), "note"))
        if cmp_.finding is not None:
            s = _strength(cmp_.finding)
            blocks.append(
                FindingItem(s, _(_STRENGTH_LABELS[s]), finding_text(cmp_.finding, loc), key)
            )
            blocks.extend(_caveats(cmp_.finding, loc))
        if cmp_.strata_finding is not None:
            blocks.append(
                Paragraph(
                    _(
                        "Per stratum: {n} strata tested, {u} could not be tested (too few "
                        "reports). {finding}",
                        n=loc.number(len(cmp_.strata_adjusted)),
                        u=loc.number(len(cmp_.strata_untested)),
                        finding=finding_text(cmp_.strata_finding, loc),
                    ),
                    "note",
                )
            )
    if not blocks:
        return None
    return Section("survey", _(SECTION_TITLES["survey"]), tuple(blocks))


# --------------------------------------------------------------------------- incidents
def _incidents(data: ReportData, loc: ReportLocale) -> Section | None:
    _ = loc.gettext
    inc = data.incidents
    if inc is None:
        return None
    from ..store.masterdata import default_incident_categories

    labels = {c["code"]: c["category"] for c in default_incident_categories()}

    def counts(col: str) -> pl.DataFrame:
        return (
            inc.group_by(col)
            .agg(
                (pl.col("verification") == "confirmed").sum().alias("confirmed"),
                (pl.col("verification") == "unverified").sum().alias("unverified"),
                (pl.col("verification") == "rejected").sum().alias("rejected"),
                pl.len().alias("n"),
            )
            .sort(["confirmed", "n", col], descending=[True, True, False])
        )

    head = (_("Confirmed"), _("Unverified"), _("Rejected"), _("All"))
    by_cat = counts("category")
    blocks: list[Block] = [
        Paragraph(
            _(
                "{n} incident reports; verified ones first. A report is an observer's account; "
                "a coordinator's confirmation is what makes it evidence.",
                n=loc.number(inc.height),
            )
        ),
        SubHeading(_("By category")),
        Table(
            (_("Category"), *head),
            tuple(
                (
                    _(labels[r["category"]]) if r["category"] in labels else r["category"],
                    *(loc.number(r[k]) for k in ("confirmed", "unverified", "rejected", "n")),
                )
                for r in by_cat.iter_rows(named=True)
            ),
            (False, True, True, True, True),
        ),
    ]
    by_region = counts("region")
    blocks.append(SubHeading(_("By region")))
    blocks.append(
        Table(
            (_("Unit"), *head),
            tuple(
                (
                    r["region"] or _("not stated"),
                    *(loc.number(r[k]) for k in ("confirmed", "unverified", "rejected", "n")),
                )
                for r in by_region.iter_rows(named=True)
            ),
            (False, True, True, True, True),
        )
    )
    return Section("incidents", _(SECTION_TITLES["incidents"]), tuple(blocks))


# --------------------------------------------------------------------------- methods
def _methods(data: ReportData, loc: ReportLocale, today: _dt.date) -> Section:
    from importlib.metadata import PackageNotFoundError, version

    _ = loc.gettext
    try:
        ver = version("saylau")
    except PackageNotFoundError:  # pragma: no cover - a source checkout without metadata
        ver = "unknown"
    blocks: list[Block] = [
        Paragraph(
            _(
                "Built with saylau {version} on {date}; random seed {seed} (the same seed gives "
                "the same report).",
                version=ver,
                date=loc.date(today),
                seed=data.seed,
            )
        ),
        SubHeading(_("Input files")),
        Table(
            (_("Role"), _("File"), _("SHA-256"), _("Rows read"), _("Rows kept out")),
            tuple(
                (
                    _(_ROLES.get(i.role, i.role)),
                    i.path.rsplit("/", 1)[-1],
                    i.sha256,
                    loc.number(i.rows),
                    loc.number(i.kept_out),
                )
                for i in data.inputs
            ),
            (False, False, False, True, True),
            verbatim=True,
        ),
        SubHeading(_("Options")),
        Table(
            (_("Option"), _("Value")),
            tuple((k, str(v)) for k, v in data.options.items()),
            (False, False),
            verbatim=True,
        ),
    ]
    t = data.official
    if t.rejected or t.no_data:
        blocks.append(
            Paragraph(
                _(
                    "Rows of the official file kept out: {n} (each listed by `saylau validate`).",
                    n=loc.number(len(t.rejected) + len(t.no_data)),
                ),
                "note",
            )
        )
    blocks.append(SubHeading(_("References")))
    blocks.extend(Paragraph(r, "reference") for r in references())
    return Section("methods", _(SECTION_TITLES["methods"]), tuple(blocks))


_ROLES = {
    "official": N_("official results"),
    "reference": N_("reference election"),
    "copies": N_("observer copies"),
    "quick count": N_("quick-count reports"),
    "quick-count sample": N_("quick-count sample"),
    "exit poll": N_("exit-poll interviews"),
    "exit-poll sample": N_("exit-poll sample"),
    "incidents": N_("incident reports"),
    "frame": N_("sampling frame"),
}


def build_document(
    data: ReportData, loc: ReportLocale, *, today: _dt.date | None = None
) -> Document:
    """The whole report in one language."""
    _ = loc.gettext
    sections = [
        _summary(data, loc),
        _results(data, loc),
        _checks(data, loc),
        _forensics(data, loc),
    ]
    for extra in (_survey(data, loc), _incidents(data, loc)):
        if extra is not None:
            sections.append(extra)
    sections.append(_methods(data, loc, today or _dt.date.today()))
    return Document(
        title=_("Election report: {source}", source=data.source),
        subtitle=_(
            "{n} polling stations; built by saylau for citizen observers.",
            n=loc.number(data.official.stations),
        ),
        lang=loc.lang,
        sections=tuple(sections),
        dropped=tuple(_(_DROPPED[k]) for k in data.dropped),
    )
