"""The report's evidence sections: forensics, exit poll and quick count, incidents.

No statistics here: every number is read from a result object and formatted by
:class:`~saylau.report.locale.ReportLocale`; every label and explanation is a message of the
Babel catalogues. The forensic methods are explained in :mod:`.explain`.
"""

from __future__ import annotations

import polars as pl

from ._figs import KIND_LABELS, figure_kinds, forensic_figures
from .data import ReportData
from .document import Block, FindingItem, Paragraph, Section, SubHeading, Table
from .explain import METHOD_LABELS, explanation, method_figure_text
from .findings import (
    SECTION_TITLES,
    STRENGTH_LABELS,
    TOP,
    caveat_paragraphs,
    finding_text,
    strength,
)
from .locale import N_, ReportLocale

__all__ = ["forensics_section", "headcounts_section", "incidents_section", "survey_section"]


# --------------------------------------------------------------------------- forensics
def forensics_section(data: ReportData, loc: ReportLocale) -> Section:
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
    for kind, method in figure_kinds():
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
        if method is not None and method not in shown:
            blocks.extend(_method_blocks(data, method, loc))
            shown.add(method)
        elif method is None and figs and kind in KIND_LABELS:
            blocks.append(SubHeading(_(KIND_LABELS[kind]), f"forensics-{kind}"))
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
    s = strength(f)
    out.append(
        FindingItem(
            s,
            _(STRENGTH_LABELS[s]),
            f"{method_figure_text(name, o.result, loc)} {finding_text(f, loc)}",
            f"forensics-{name}",
        )
    )
    out.extend(caveat_paragraphs(f, loc))
    return out


# --------------------------------------------------------------------------- survey
def survey_section(data: ReportData, loc: ReportLocale) -> Section | None:
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
            s = strength(cmp_.finding)
            blocks.append(
                FindingItem(s, _(STRENGTH_LABELS[s]), finding_text(cmp_.finding, loc), key)
            )
            blocks.extend(caveat_paragraphs(cmp_.finding, loc))
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
def incidents_section(data: ReportData, loc: ReportLocale) -> Section | None:
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
            names=False,  # translated category labels
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


# --------------------------------------------------------------------------- head counts
def headcounts_section(data: ReportData, loc: ReportLocale) -> Section | None:
    """Ballots issued in the station against the voters observers saw entering."""
    _ = loc.gettext
    res = data.head_counts
    if res is None:
        return None
    low, high = res.conf_int()
    blocks: list[Block] = [
        Paragraph(
            _(
                "Observers counted the voters entering {tested} polling stations; where two "
                "observers counted the same station ({pairs} stations), their disagreement gives "
                "the counting error. Ballots issued in the station beyond the count, summed: "
                "{excess} (95 per cent interval {low} to {high}); one-sided p = {p}.",
                tested=loc.number(res.tested),
                pairs=loc.number(res.pairs),
                excess=loc.number(res.estimate),
                low=loc.number(low),
                high=loc.number(high),
                p=loc.number(res.pvalue, 4),
            )
        ),
        Paragraph(
            _("Finding: alarm (the excess is beyond the counting error at the stated level).")
            if res.finding.alarm
            else _("Finding: no alarm (no excess beyond the counting error).")
        ),
        Paragraph(
            _(
                "What this cannot show: ballots issued outside the station (the mobile box) are "
                "kept apart, since the observer cannot see them; a miss shared by every observer "
                "(all missing the same voters in a rush) does not show in their disagreement."
            ),
            "caveat",
        ),
    ]
    flagged = res.stations.filter(pl.col("flagged")).sort("pvalue_adj").head(TOP)
    if flagged.height:
        blocks.append(
            SubHeading(
                _(
                    "Stations whose excess is beyond the counting error ({n}, Holm's correction "
                    "over {tested} stations)",
                    n=loc.number(len(res.flagged)),
                    tested=loc.number(res.tested),
                )
            )
        )
        blocks.append(
            Table(
                (_("Station"), _("Ballots issued in the station"), _("Voters counted"),
                 _("Excess"), _("Corrected p"),),
                tuple(
                    (
                        str(r["station"]),
                        loc.number(r["issued_seen"]),
                        loc.number(r["counted"]),
                        loc.number(r["excess"]),
                        loc.number(r["pvalue_adj"], 4),
                    )
                    for r in flagged.iter_rows(named=True)
                ),
                (False, True, True, True, True),
            )
        )  # fmt: skip
    return Section("headcounts", _(SECTION_TITLES["headcounts"]), tuple(blocks))
