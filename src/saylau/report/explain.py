"""What each forensic method can and cannot show, its headline figure, and the references.

The words are messages of the Babel catalogues (Kazakh, Russian, English); the figures are
read from the methods' results (no statistics here). The explanations say, in plain language,
what the README's forensics section says of each method.

Examples
--------
>>> from saylau.report.locale import ReportLocale
>>> can, cannot = explanation("integer_peaks", ReportLocale("en"))
>>> "round" in can
True
"""

from __future__ import annotations

import math
from typing import Any

from .locale import N_, ReportLocale

__all__ = ["METHOD_LABELS", "explanation", "method_figure_text", "references"]

METHOD_LABELS: dict[str, str] = {
    "integer_peaks": N_("Integer percentages"),
    "excess_votes": N_("Shpilkin's excess votes"),
    "fingerprint": N_("Election fingerprint"),
    "coarse_shares": N_("Coarse vote shares"),
    "digits": N_("Digit tests"),
    "small_counts": N_("Small counts"),
}

_EXPLAIN: dict[str, tuple[str, str]] = {
    "integer_peaks": (
        N_(
            "whether more stations report round turnouts or round shares for the leader "
            "(50%, 60%, 75%...) than honest counting gives; such peaks are left by protocols "
            "written to a target figure."
        ),
        N_(
            "how many votes were changed, or where; a station with a round figure is not "
            "suspect by itself."
        ),
    ),
    "excess_votes": (
        N_(
            "how many of the leader's votes lie above what the leader would have got if the "
            "share did not rise with turnout (the curves of the leader's and the others' votes "
            "by turnout); its alarm tests whether the share rises with turnout inside each "
            "territorial unit."
        ),
        N_(
            "whether those votes were added: honest regions with high turnout that favour the "
            "leader look the same, and so does a unit mixing a town that votes less with "
            "villages that vote more and favour the leader. The vote count is an order of "
            "magnitude under a model."
        ),
    ),
    "fingerprint": (
        N_(
            "how stations spread by turnout and leader share; a clean count gives one round "
            "cloud, ballot stuffing a smear towards the corner where turnout and share near 100%."
        ),
        N_(
            "a number of stolen votes: the fraud fractions are estimates under the model of "
            "Klimek et al., and elections of very different regions fit them spuriously."
        ),
    ),
    "coarse_shares": (
        N_(
            "whether too many stations report the same simple fraction for the leader (1/2, "
            "2/3, 3/4) compared with a resampled model of honest counts."
        ),
        N_(
            "whether a sharp mode is a drawn protocol or a genuine local consensus; its null "
            "is not calibrated on clean elections, so it is a screen."
        ),
    ),
    "digits": (
        N_(
            "regions whose digits of the counts (second digit, last digit, 0 and 5) depart from "
            "idealised references; a pointer to where to look."
        ),
        N_(
            "fraud: honest counts depart from these references often, and the tests are not "
            "calibrated on clean elections. A screen."
        ),
    ),
    "small_counts": (
        N_(
            "commissions where a choice's stations with 1 or 2 votes crowd out those with 0 "
            "and 3 beyond what any honest spread of its support between stations allows "
            "(figures written in, not counted)."
        ),
        N_(
            "why: a party's own commission members voting in every station give an honest "
            "floor of 1 or 2 votes; a flagged commission is a reason to read its protocols."
        ),
    ),
}


def explanation(name: str, loc: ReportLocale) -> tuple[str, str]:
    """What the method can show and what it cannot, in the report's language."""
    can, cannot = _EXPLAIN.get(name, ("", ""))
    return loc.gettext(can) if can else "", loc.gettext(cannot) if cannot else ""


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def method_figure_text(name: str, result: Any, loc: ReportLocale) -> str:
    """The method's headline figure in words, with its interval where it has one."""
    _ = loc.gettext
    g = result.__dict__ if hasattr(result, "__dict__") else {}
    if name == "integer_peaks":
        ex, sd = _num(g.get("excess_stations")), _num(g.get("null_sd"))
        return _(
            "{ex} stations at integer percentages beyond chance (null s.d. {sd}, z = {z}).",
            ex=loc.signed(ex, 0),
            sd=loc.number(sd, 0),
            z=loc.number(_num(g.get("z")), 2),
        )
    if name == "excess_votes":
        est, se = _num(g.get("estimate")), _num(g.get("std_err"))
        text = _(
            "{est} anomalous votes for the leader (± {half}).",
            est=loc.number(est, 0),
            half=loc.number(1.96 * se, 0),
        )
        w = g.get("within")
        if w is not None and math.isfinite(_num(getattr(w, "slope", None))):
            # what the alarm tests: the vote count above is a model's order of magnitude
            text += " " + _(
                "Inside {units} territorial units the leader's share changes by {slope} points "
                "per 10 points of turnout ({lo} to {hi}, z = {z}).",
                units=loc.number(w.units, 0),
                slope=loc.signed(10 * w.slope, 1),
                lo=loc.signed(10 * (w.slope - 1.96 * w.std_err), 1),
                hi=loc.signed(10 * (w.slope + 1.96 * w.std_err), 1),
                z=loc.number(w.statistic, 1),
            )
        return text
    if name == "fingerprint":
        if g.get("f_i") is None:
            return _("Fraud model not fitted on this election.")
        ci = g.get("f_i_ci") or (math.nan, math.nan)
        return _(
            "Model share of stations with incremental fraud {f} {ci}.",
            f=loc.percent(_num(g.get("f_i_corrected")), 1),
            ci=loc.interval(_num(ci[0]), _num(ci[1]), 1),
        )
    if name == "coarse_shares":
        pct = _num(g.get("fraud_pct"))
        return _(
            "Excess of coarse shares: {pct} of stations ({p}).",
            pct=loc.percent(pct / 100 if math.isfinite(pct) else None),
            p=loc.p_text(_num(g.get("pvalue"))),
        )
    if name == "digits":
        dep = g.get("departures") or {}
        n_dep = sum(int(d) for d, _n in dep.values())
        n_all = sum(int(n) for _d, n in dep.values())
        return _(
            "{d} of {n} region × statistic cells depart from the reference (uncorrected).",
            d=loc.number(n_dep),
            n=loc.number(n_all),
        )
    if name == "small_counts":
        return _(
            "{f} of {n} commission × choice tests flagged.",
            f=loc.number(len(g.get("flagged") or ())),
            n=loc.number(_num(g.get("ntests"))),
        )
    return ""


def references() -> tuple[str, ...]:
    """The references of the methods, as cited (names and titles are not translated)."""
    return (
        "D. Kobak, S. Shpilkin, M. S. Pshenichnikov. Integer percentages as electoral "
        "falsification fingerprints. Annals of Applied Statistics 10(1), 2016.",
        "S. Shpilkin. Математика выборов-2011. Троицкий вариант 94, 2011; "
        "Cedar-Russia/electoral_statistics.",
        "P. Klimek, Y. Yegorov, R. Hanel, S. Thurner. Statistical detection of systematic "
        "election irregularities. PNAS 109(41), 2012.",
        "A. Rozenas. Detecting election fraud from irregularities in vote-share distributions. "
        "Political Analysis 25(1), 2017.",
        "A. Hicken, W. R. Mebane. A guide to election forensics. 2017.",
        "S. Holm. A simple sequentially rejective multiple test procedure. Scandinavian "
        "Journal of Statistics 6(2), 1979.",
        "E. L. Korn, B. I. Graubard. Simultaneous testing of regression coefficients with "
        "complex survey data. The American Statistician 44(4), 1990.",
    )
