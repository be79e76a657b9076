"""A gateway simulator on loopback: a burst of signed messages with retries, duplicates and
replays, sent concurrently; and forged, stale and replayed calls refused. Both engines.

Every valid message must be recorded exactly once (its duplicates answered as such, its retries
answered with the same message), every invalid one answered with its reason; refused calls are
audited and change nothing stored.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import func, select

from saylau.store.audit import verify_chain
from saylau.store.models import AuditEntry, SmsInbound, SmsOutbound, Submission
from tests.sms._gateway import PHONES, SECRET, Gateway, serving
from tests.sms.test_messages import proto

O1, P1 = PHONES["obs1"]
O2, P2 = PHONES["obs2"]
O3, P3 = PHONES["obs3"]
I1, PI = PHONES["int1"]


def _valid() -> list[tuple[str, str]]:
    out = [(O1, f"P ALA-{1 + i % 2} {P1} {proto(500 + i)}") for i in range(10)]
    out += [(O2, f"p ala-1 {P2} {proto(520 + i)}".replace("K", "к")) for i in range(5)]
    out += [(O3, f"P AST-1 {P3} {proto(530 + i)}") for i in range(5)]
    out += [(I1, f"X ALA-1 {PI} K1={10 + i} K2=7 K3=2 K0=1") for i in range(5)]
    out += [(O1, f"I ALA-1 {P1} VOTE.CAROUSEL автобус №{i}") for i in range(5)]
    out += [(O1, f"HC ALA-2 {P1} 1000={100 + i} 1200={200 + i}/190") for i in range(3)]
    return out


INVALID = [  # (sender, text, status, reason)
    (O3, f"P AST-1 0000 {proto(540)}", "wrong_pin", "wrong_pin"),
    (O3, f"P AST-1 1111 {proto(541)}", "wrong_pin", "wrong_pin"),
    (O1, f"P ALA-1 {P1} {proto(542)}".replace("K2=150", "K2"), "rejected", "missing_value"),
    (O1, f"P ZZZ {P1} {proto(543)}", "rejected", "unknown_station"),
    (O2, f"P ALA-3 {P2} {proto(544)}", "rejected", "not_assigned"),
    (O1, f"Z ALA-1 {P1} 1=5", "rejected", "unknown_kind"),
    ("+77015550000", f"P ALA-1 {P1} {proto(545)}", "quarantined", "unknown_number"),
    (O1, f"P ALA-1 {P1} " + "4=1 " * 130, "rejected", "too_long"),
]


def test_burst_with_retries_and_duplicates(election: tuple[str, dict[str, str]]) -> None:
    url, _ = election
    valid = _valid()
    with serving(url) as (base, db):
        gw = Gateway(base)
        now = int(time.time())
        calls: list[dict[str, Any]] = []  # what the simulator sends, in a shuffled order
        for k, (sender, text) in enumerate(valid):
            gid = f"v{k}"
            calls.append({"gid": gid, "from": sender, "text": text, "ts": now, "want": "valid"})
            if k % 3 == 0:  # the same text typed again: a second gateway message
                calls.append({"gid": f"v{k}-again", "from": sender, "text": text, "ts": now,
                              "want": "valid"})  # fmt: skip
            if k % 4 == 0:  # the gateway retries (no answer in time): same id, signed anew
                calls.append({"gid": gid, "from": sender, "text": text, "ts": now + 1,
                              "want": "valid"})  # fmt: skip
        for k, (sender, text, status, reason) in enumerate(INVALID):
            calls.append({"gid": f"x{k}", "from": sender, "text": text, "ts": now,
                          "want": (status, reason)})  # fmt: skip
        order = sorted(range(len(calls)), key=lambda i: (i * 7919) % len(calls))

        def post(i: int) -> tuple[int, httpx.Response]:
            c = calls[i]
            payload = {"id": c["gid"], "from": c["from"], "text": c["text"]}
            for attempt in range(3):  # a gateway retries on a network error
                try:
                    return i, gw.post("/api/v1/sms/inbound", payload, ts=c["ts"])
                except httpx.TransportError:
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(post, order))
        # an exact replay of a call already made (same body, same signature): refused
        body = json.dumps({"id": "v1", "from": valid[1][0], "text": valid[1][1]}).encode()
        replay = gw.client.post(
            "/api/v1/sms/inbound", content=body, headers=gw.headers(body, ts=now)
        )
        gw.close()

        assert replay.status_code == 409, replay.text
        by_text: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for i, r in results:
            assert r.status_code == 200, (calls[i], r.text)
            answer = r.json()
            assert answer["reply"]["text"], answer
            want = calls[i]["want"]
            if want == "valid":
                by_text[calls[i]["text"]].append(answer)
            else:
                assert (answer["status"], answer["reason"]) == want, (calls[i]["text"], answer)
        for text, answers in by_text.items():
            recorded = {a["message_id"] for a in answers if a["status"] == "recorded"}
            assert len(recorded) == 1, (text, answers)
            assert all(a["status"] in ("recorded", "duplicate") for a in answers), answers
        with db.read() as s:
            subs = list(s.scalars(select(Submission)))
            inbound = s.scalar(select(func.count()).select_from(SmsInbound))
            assert verify_chain(s).ok
        # exactly one report per valid message, each naming the message it came from
        assert len(subs) == len(valid)
        assert len({sub.body["sms"] for sub in subs}) == len(valid)
        retries = sum(1 for c in calls if c["ts"] == now + 1)
        assert inbound == len(calls) - retries


def test_forged_stale_and_replayed_calls_change_nothing(
    election: tuple[str, dict[str, str]],
) -> None:
    url, _ = election
    with serving(url) as (base, db):
        gw = Gateway(base)
        ok = gw.send(O1, f"P ALA-1 {P1} {proto(600)}")
        assert ok.status_code == 200 and ok.json()["status"] == "recorded"

        def state() -> tuple[int, int, int]:
            with db.read() as s:
                return tuple(  # type: ignore[return-value]
                    int(s.scalar(select(func.count()).select_from(t)) or 0)
                    for t in (SmsInbound, SmsOutbound, Submission)
                )

        def refusals() -> int:
            with db.read() as s:
                q = select(func.count()).select_from(AuditEntry)
                return int(s.scalar(q.where(AuditEntry.action == "refused")) or 0)

        before, refused_before = state(), refusals()
        payload = {"id": "f1", "from": O1, "text": f"P ALA-1 {P1} {proto(601)}"}
        body = json.dumps(payload).encode()
        forged = gw.post("/api/v1/sms/inbound", payload, secret=b"not-the-secret")
        stale = gw.post("/api/v1/sms/inbound", payload, ts=int(time.time()) - 3600)
        future = gw.post("/api/v1/sms/inbound", payload, ts=int(time.time()) + 3600)
        unsigned = gw.client.post("/api/v1/sms/inbound", content=body)
        headers = gw.headers(body)
        tampered = gw.client.post(
            "/api/v1/sms/inbound", content=body.replace(b"601", b"901"), headers=headers
        )
        secret_in_url = gw.client.post(f"/api/v1/sms/inbound?secret={SECRET}", content=body)
        delivery = gw.post(
            "/api/v1/sms/delivery", {"reply_id": 1, "status": "failed"}, secret=b"nope"
        )
        for r, field in (
            (forged, "X-Saylau-Signature"),
            (stale, "X-Saylau-Timestamp"),
            (future, "X-Saylau-Timestamp"),
            (unsigned, "X-Saylau-Timestamp"),
            (tampered, "X-Saylau-Signature"),
            (secret_in_url, "X-Saylau-Timestamp"),
            (delivery, "X-Saylau-Signature"),
        ):
            assert r.status_code == 403 and r.json()["field"] == field, r.text
        # a replay of the call that was accepted
        first = ok.request
        replay = gw.client.post(
            "/api/v1/sms/inbound", content=first.content, headers=dict(first.headers)
        )
        assert replay.status_code == 409 and replay.json()["error"] == "Replay", replay.text
        gw.close()
        assert state() == before
        assert refusals() == refused_before + 8
        with db.read() as s:
            assert verify_chain(s).ok


def test_webhook_is_off_without_a_secret(tmp_path: Any) -> None:
    with serving(f"sqlite:///{tmp_path / 'off.db'}", secret=None, phones=False) as (base, db):
        gw = Gateway(base)
        r = gw.send(O1, "P 1 1234 1=1")
        gw.close()
        assert r.status_code == 404 and "off" in r.json()["message"]
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(SmsInbound)) == 0
