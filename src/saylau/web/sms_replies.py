"""The replies to SMS reports, in the observer's language (Babel catalogues, like the pages).

A reply says what was recorded, or exactly what was wrong (which word, what was expected), and
never repeats the PIN: no reply template has a place for it, and the words it quotes are never
the PIN's word.

>>> from saylau.store.sms import SmsOutcome
>>> o = SmsOutcome(1, "+77010000000", "rejected", "missing_value",
...                {"position": 9, "token": "K2"}, "en")
>>> render_reply(o)
'Word 9 "K2": the figure is missing. Nothing recorded.'
"""

from __future__ import annotations

from typing import Any

from ..store.sms import SmsOutcome
from .i18n import LOCALES, translations

__all__ = ["render_reply"]


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated when a reply is rendered."""
    return message


_REJECTED: dict[str, str] = {
    "empty": N_("Empty message. Send: P <station> <PIN> 1=<figure> ... Nothing recorded."),
    "too_long": N_("Message too long (%(found)s, at most 3 SMS). Nothing recorded."),
    "unknown_kind": N_(
        'Word 1 "%(token)s" is not a report kind: start with P, I, X or HC. Nothing recorded.'
    ),
    "missing_station": N_("The station is missing after the report kind. Nothing recorded."),
    "bad_pin": N_("Word 3 must be your PIN (4 to 8 digits). Nothing recorded."),
    "unknown_code": N_('Word %(position)s "%(token)s": unknown code. Nothing recorded.'),
    "missing_value": N_('Word %(position)s "%(token)s": the figure is missing. Nothing recorded.'),
    "bad_value": N_('Word %(position)s "%(token)s": not a whole number. Nothing recorded.'),
    "repeated_code": N_(
        'Word %(position)s "%(token)s": this code was given twice. Nothing recorded.'
    ),
    "unknown_category": N_(
        'Word %(position)s "%(token)s": unknown incident category. Nothing recorded.'
    ),
    "no_figures": N_("No figures after the PIN. Nothing recorded."),
    "bad_time": N_(
        'Word %(position)s "%(token)s": not a time of day (write 1000=count). Nothing recorded.'
    ),
    "unknown_station": N_('Station "%(token)s" is not known. Nothing recorded.'),
    "not_assigned": N_("Station %(token)s is not assigned to you. Nothing recorded."),
    "wrong_role": N_("Your role cannot send this kind of report. Nothing recorded."),
    "line_missing": N_("Line %(token)s is missing. Nothing recorded."),
    "bad_line": N_("Line %(token)s: the figure is out of range. Nothing recorded."),
    "refused": N_("Refused: %(message)s. Nothing recorded."),
}
_RECORDED: dict[str, str] = {
    "protocol": N_("Recorded: protocol of station %(station)s, %(n)s figures, ref %(ref)s."),
    "incident": N_("Recorded: incident %(category)s at station %(station)s, ref %(ref)s."),
    "interviews": N_(
        "Recorded: exit-poll tally of station %(station)s, %(n)s respondents, ref %(ref)s."
    ),
    "headcount": N_("Recorded: head count of station %(station)s, %(n)s times, ref %(ref)s."),
}
_CHECKS: dict[str, str] = {
    "ok": N_("Checks passed."),
    "soft": N_("Check to look at: %(rule)s."),
    "failed": N_("Check failed: %(rule)s. Compare with the paper and send a correction."),
}
_OTHER: dict[str, str] = {
    "duplicate": N_("Already received (message %(ref)s): not counted twice."),
    "quarantined": N_(
        "This number is not registered. The message is kept for a coordinator and not counted."
    ),
    "locked": N_(
        "Too many wrong PINs: this number is locked for %(minutes)s minutes. Ask your coordinator."
    ),
    "wrong_pin": N_("Wrong PIN. %(left)s tries left before this number is locked."),
    "wrong_pin_locked": N_("Wrong PIN. This number is now locked; ask your coordinator."),
    "partly": N_("Only part was recorded (ref %(ref)s); the rest was refused:"),
}


def _fmt(locale: str, message: str, values: dict[str, Any]) -> str:
    text = translations(locale if locale in LOCALES else "en").gettext(message)
    return text % values if "%(" in message else text


def render_reply(outcome: SmsOutcome) -> str:
    """The reply to a judged message, in the outcome's language."""
    loc, d = outcome.locale, outcome.detail

    def tr(message: str, **values: Any) -> str:
        return _fmt(loc, message, values)

    if outcome.status in ("quarantined", "locked", "duplicate"):
        ref = d.get("duplicate_of", "")
        return tr(_OTHER[outcome.status], minutes=d.get("minutes", 60), ref=ref)
    if outcome.status == "wrong_pin":
        left = int(d.get("left", 0))
        return tr(_OTHER["wrong_pin"], left=left) if left else tr(_OTHER["wrong_pin_locked"])
    if outcome.status == "rejected":
        return _rejection(loc, outcome.reason, d)
    parts = []
    for sub in d.get("submissions", []):
        template = _RECORDED.get(sub["kind"], _RECORDED["protocol"])
        parts.append(
            tr(
                template,
                station=sub.get("station", ""),
                n=sub.get("n", ""),
                ref=sub["id"],
                category=sub.get("category", ""),
            )
        )
        if sub.get("status") in _CHECKS:
            rules = sub.get("checks") or [""]
            parts.append(tr(_CHECKS[sub["status"]], rule=rules[0]))
    if outcome.reason == "partly":
        refs = ", ".join(str(s["id"]) for s in d.get("submissions", []))
        parts = [tr(_OTHER["partly"], ref=refs), _rejection(loc, d.get("refused", ""), d)]
    return " ".join(parts)


def _rejection(loc: str, reason: str, d: dict[str, Any]) -> str:
    template = _REJECTED.get(reason, _REJECTED["refused"])
    values = {
        "position": d.get("position") or "",
        "token": d.get("token") or "",
        "found": d.get("found") or "",
        "message": d.get("message") or reason,
    }
    return _fmt(loc, template, values)
