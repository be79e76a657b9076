"""The SMS channel: a compact coded format an observer can type on any phone.

The format (the full grammar is in :mod:`saylau.sms.grammar`; the codes in
:mod:`saylau.sms.codebook`)::

    P <station> <PIN> <line>=<figure> ... K<n>=<votes> ... [I <incident code> ...]
    I <station> <PIN> <incident code> [free text]
    X <station> <PIN> K<n>=<respondents> ... [K0=<refused>]
    HC <station> <PIN> <time>=<voters seen>[/<official figure>] ... [C=<at close>]

Line codes are the printed line numbers of the station's protocol form, choices are ``K`` and
their ballot position (Against all included), so the format follows whichever profile and ballot
the election uses. Letters may be typed in Latin, Russian or Kazakh Cyrillic, in any case, with
any of ``= : - . / # №`` or a space between a code and its figure.

This package only reads messages; storing them (PINs, lockout, duplicates, quarantine) is
:mod:`saylau.store.sms`, the gateway webhook :mod:`saylau.web.sms_api`.

Examples
--------
>>> from saylau.domain.profiles import get_profile
>>> book = Codebook.build(get_profile("plain"), ["Amanat", "Ақ жол", "Барлығына қарсы"])
>>> report = parse("Р 17 4821 1=1200 2=700 3=12 4=688 К1=400 К2=250 к3=38", book)
>>> report.kind, report.station, dict(report.figures)["Барлығына қарсы"]
('protocol', '17', 38)
>>> try:
...     parse("P 17 4821 1=1200 2=700 3=12 4=688 K1=400 K2 K3=38", book)
... except SmsError as e:
...     print(e.reason, e.position, e.token)
missing_value 9 K2
"""

from __future__ import annotations

from .codebook import REFUSED, Codebook
from .gateway import SignatureError, normalize_number, sign, verify_signature
from .grammar import KINDS, SmsError, SmsHeader, SmsReport, parse, parse_header
from .text import MAX_SEGMENTS, fold, mask_pin, segments

__all__ = [
    "KINDS",
    "MAX_SEGMENTS",
    "REFUSED",
    "Codebook",
    "SignatureError",
    "SmsError",
    "SmsHeader",
    "SmsReport",
    "fold",
    "mask_pin",
    "normalize_number",
    "parse",
    "parse_header",
    "segments",
    "sign",
    "verify_signature",
]
