"""The report's sections in one language, from the results of :func:`~.data.prepare_report`.

No statistics here: every number is read from a result object and formatted by
:class:`~saylau.report.locale.ReportLocale`; every label and explanation is a message of the
Babel catalogues. A section is present only where its data exists; the summary says which
sections are left out and why. Forensic methods are explained in :mod:`.explain`.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from typing import Any

import polars as pl

from ..results import Finding
from .data import ReportData
from .document import Block, Document, FindingItem, Paragraph, Section, SubHeading, Table
from .explain import METHOD_LABELS, method_figure_text, references
from .findings import (
    DROPPED,
    SECTION_KEYS,
    SECTION_TITLES,
    STRENGTH_LABELS,
    TOP,
    caveat_paragraphs,
    finding_text,
    strength,
)
from .locale import N_, ReportLocale
from .sections_evidence import (
    forensics_section,
    headcounts_section,
    incidents_section,
    survey_section,
)

__all__ = ["SECTION_KEYS", "SECTION_TITLES", "build_document"]


#: The sections of a report, in order.
# --------------------------------------------------------------------------- summary
def _summary(data: ReportData, loc: ReportLocale) -> Section:
    _ = loc.gettext
    items: list[Block] = []
    rep = data.forensics

    def item(f: Finding, text: str, target: str) -> None:
        s = strength(f)
        items.append(FindingItem(s, _(STRENGTH_LABELS[s]), text, target))

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
            _(STRENGTH_LABELS["screen"]),
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
                _(STRENGTH_LABELS["screen"]),
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
    t = data.official
    nat = data.tabulation.national
    leader = t.leader()
    aa = t.against_all
    official = _(
        "Official result: {leader} {share}, turnout {turnout}, over {n} stations.",
        leader=leader.name,
        share=loc.percent(_share(nat, leader.id)),
        turnout=loc.percent(float(nat["turnout"])),
        n=loc.number(t.stations),
    )
    if aa is not None:
        official += " " + _("Against all: {share}.", share=loc.percent(_share(nat, aa.id)))
    blocks: list[Block] = [Paragraph(official), Paragraph(lead), *items]
    for key, reason in data.dropped.items():
        blocks.append(Paragraph(_(DROPPED[key]), "dropped"))
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
        blocks.extend(_seat_blocks(data, loc))
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


def _seat_blocks(data: ReportData, loc: ReportLocale) -> list[Block]:
    """Seats under the rule set: official, observer-verified, projected from the quick count."""
    _ = loc.gettext
    s = data.seats
    assert s is not None
    names = {c.id: (_("Against all") if c.against_all else c.name) for c in data.official.choices}
    header = [_("Choice"), _("Official votes"), _("Seats")]
    v = data.verified_seats
    if v is not None:
        header.append(_("Seats (observer-verified)"))
    proj = {}
    if data.projected_seats is not None:
        header.append(_("Seats projected from the quick count (range at 95%)"))
        proj = {str(r["choice"]): r for r in data.projected_seats.table()}
    rows = []
    for k in s.votes:
        row = [names.get(k, k), loc.number(s.votes[k]), loc.number(s.seats.get(k, 0))]
        if v is not None:
            row.append(loc.number(v.seats.get(k, 0)))
        if data.projected_seats is not None:
            r = proj.get(k) or proj.get(names.get(k, k))
            row.append(
                f"{loc.number(r['seats'])} [{loc.number(r['seats_low'])}; "
                f"{loc.number(r['seats_high'])}]"
                if r
                else "—"
            )
        rows.append(tuple(row))
    return [
        SubHeading(_("Seats under the rule set {rules}", rules=data.rules or "")),
        Table(tuple(header), tuple(rows), (False, *([True] * (len(header) - 1)))),
    ]


def _line_label(table: Any, key: str, loc: ReportLocale) -> str:
    """A protocol line by its label in the report's language (the profile's own wording)."""
    from ..domain.profiles import LINE_LABELS

    for line in table.profile.lines:
        if line.key == key:
            return loc.gettext(line.label or LINE_LABELS.get(key, key))
    return loc.gettext(LINE_LABELS[key]) if key in LINE_LABELS else key


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
                            _("all stations") if r["region"] == "all" else str(r["region"]),
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
                            names.get(r["line"]) or _line_label(t, r["line"], loc),
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
        blocks.extend(caveat_paragraphs(cc.finding, loc))
    return Section("checks", _(SECTION_TITLES["checks"]), tuple(blocks))


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
    "exit-poll tally": N_("exit-poll tally"),
    "exit-poll sample": N_("exit-poll sample"),
    "incidents": N_("incident reports"),
    "head counts": N_("observers' head counts"),
    "frame": N_("sampling frame"),
}


def build_document(
    data: ReportData,
    loc: ReportLocale,
    *,
    today: _dt.date | None = None,
    timings: dict[str, float] | None = None,
) -> Document:
    """The whole report in one language; ``timings`` receives each section's seconds."""
    _ = loc.gettext
    day = today or _dt.date.today()
    builders: tuple[tuple[str, Callable[[], Section | None]], ...] = (
        ("summary", lambda: _summary(data, loc)),
        ("results", lambda: _results(data, loc)),
        ("checks", lambda: _checks(data, loc)),
        ("forensics", lambda: forensics_section(data, loc)),
        ("survey", lambda: survey_section(data, loc)),
        ("incidents", lambda: incidents_section(data, loc)),
        ("headcounts", lambda: headcounts_section(data, loc)),
        ("methods", lambda: _methods(data, loc, day)),
    )
    sections: list[Section] = []
    for key, build in builders:
        start = time.perf_counter()
        section = build()
        if timings is not None:
            timings[f"section {key}"] = round(time.perf_counter() - start, 3)
        if section is not None:
            sections.append(section)
    return Document(
        title=_("Election report: {source}", source=data.source),
        subtitle=_(
            "{n} polling stations; built by saylau for citizen observers.",
            n=loc.number(data.official.stations),
        ),
        lang=loc.lang,
        sections=tuple(sections),
        dropped=tuple(_(DROPPED[k]) for k in data.dropped),
    )
