"""A stand-in for the SMS gateway: signs webhook calls the way the service's docs say.

The signature is computed here with the standard library's ``hmac`` (not with saylau's own
``sign``), so that the test checks the documented contract, not the code against itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from saylau.store import sms as store
from saylau.store.db import Database
from saylau.web import Settings, create_app
from tests._service import live_server

SECRET = "gateway-secret-Қ-7f3a"
#: The observers' phones and PINs in the small test election (tests/_service.py).
PHONES = {
    "obs1": ("+77010000001", "4321"),  # kk, ALA-1 and ALA-2
    "obs2": ("+77010000002", "5555"),  # ru, ALA-1
    "obs3": ("+77010000003", "9876"),  # en, AST-1
    "int1": ("+77010000004", "2468"),  # kk, interviewer at ALA-1
}


class Gateway:
    """Posts signed messages to a running service."""

    def __init__(self, base: str, secret: str = SECRET) -> None:
        self.client = httpx.Client(base_url=base, timeout=60)
        self.secret = secret.encode()
        self.n = 0

    def close(self) -> None:
        self.client.close()

    def headers(self, body: bytes, *, ts: int | None = None, secret: bytes | None = None) -> dict:
        ts = int(time.time()) if ts is None else ts
        mac = hmac.new(secret or self.secret, f"{ts}.".encode() + body, hashlib.sha256)
        return {
            "X-Saylau-Timestamp": str(ts),
            "X-Saylau-Signature": "sha256=" + mac.hexdigest(),
            "Content-Type": "application/json",
        }

    def post(self, path: str, payload: dict[str, Any], **kw: Any) -> httpx.Response:
        body = json.dumps(payload, ensure_ascii=False).encode()
        return self.client.post(path, content=body, headers=self.headers(body, **kw))

    def send(self, sender: str, text: str, gateway_id: str | None = None) -> httpx.Response:
        if gateway_id is None:
            self.n += 1
            gateway_id = f"gw-{self.n}"
        return self.post("/api/v1/sms/inbound", {"id": gateway_id, "from": sender, "text": text})


def give_phones(db: Database) -> None:
    with db.write() as s:
        for user, (number, pin) in PHONES.items():
            store.set_phone(s, user, number, actor="admin", pin=pin)


@contextmanager
def serving(
    url: str, *, secret: str | None = SECRET, phones: bool = True
) -> Iterator[tuple[str, Database]]:
    """The service on loopback over the database at ``url``, with the observers' phones set."""
    app = create_app(Settings(db_url=url, sms_secret=secret))
    if phones:
        give_phones(app.state.db)
    try:
        with live_server(app) as base:
            yield base, app.state.db
    finally:
        app.state.db.close()
