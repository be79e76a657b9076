"""What the SMS gateway and the service agree on: phone numbers and signed webhook calls.

The gateway signs every call with HMAC-SHA256 over ``<timestamp>.<body>`` using a secret shared
out of band (never in a URL), and sends the timestamp (Unix seconds) and the signature in
headers. The service refuses a call whose signature does not match, whose timestamp is outside
the window (5 minutes by default), or whose signature it has seen before (a replay).

Examples
--------
>>> sig = sign(b"s3cret", 1_700_000_000, b'{"from": "+77011234567"}')
>>> verify_signature(b"s3cret", "1700000000", "sha256=" + sig, b'{"from": "+77011234567"}',
...                  now=1_700_000_100)
>>> normalize_number("8 (701) 123-45-67"), normalize_number("+7 701 123 45 67")
('+77011234567', '+77011234567')
"""

from __future__ import annotations

import hashlib
import hmac
import re

from .._exceptions import SaylauInputError

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WINDOW_SECONDS",
    "SignatureError",
    "normalize_number",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Saylau-Signature"
TIMESTAMP_HEADER = "X-Saylau-Timestamp"
#: How far a call's timestamp may be from the service's clock, either way.
WINDOW_SECONDS = 300


class SignatureError(SaylauInputError):
    """A webhook call that is not signed by the gateway, or is stale (HTTP 403)."""


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``<timestamp>.<body>``."""
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(
    secret: bytes,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    now: float,
    window: int = WINDOW_SECONDS,
) -> None:
    """Raise :class:`SignatureError` unless the call is signed and fresh."""
    if not timestamp or not timestamp.strip().isdigit():
        raise SignatureError(
            "timestamp header missing", field=TIMESTAMP_HEADER, expected="Unix seconds"
        )
    ts = int(timestamp.strip())
    if abs(now - ts) > window:
        raise SignatureError(
            "stale or future timestamp",
            field=TIMESTAMP_HEADER,
            expected=f"within {window} s of the server's clock",
            found=timestamp.strip()[:20],
        )
    sent = (signature or "").strip()
    sent = sent[7:] if sent.startswith("sha256=") else sent
    if not sent or not hmac.compare_digest(sent.lower(), sign(secret, ts, body)):
        raise SignatureError(
            "signature missing or wrong",
            field=SIGNATURE_HEADER,
            expected="sha256=<HMAC-SHA256 of timestamp.body>",
        )


def normalize_number(raw: str, *, country: str = "7") -> str:
    """A phone number in E.164 form (``+`` and 8 to 15 digits).

    Spaces, dashes, dots and brackets are dropped; ``00`` becomes ``+``; a national number
    starting with ``8`` and 11 digits long (Kazakhstan, Russia) takes the country code.

    >>> normalize_number("0077011234567"), normalize_number("87011234567")
    ('+77011234567', '+77011234567')
    >>> try:
    ...     normalize_number("12ab")
    ... except SaylauInputError as e:
    ...     print(e.message, e.found)
    not a phone number 12ab
    """
    s = re.sub(r"[\s\-.()]", "", raw or "")
    if s.startswith("00"):
        s = "+" + s[2:]
    if not s.startswith("+") and len(s) == 11 and s.startswith("8") and country == "7":
        s = "+7" + s[1:]
    elif not s.startswith("+") and len(s) == 11 and s.startswith(country):
        s = "+" + s
    if not re.fullmatch(r"\+\d{8,15}", s):
        raise SaylauInputError(
            "not a phone number", field="number", expected="+<8 to 15 digits>", found=raw[:30]
        )
    return s
