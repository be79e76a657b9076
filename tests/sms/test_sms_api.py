"""The SMS channel's staff side over HTTP: phones and PINs, quarantine and attaching, delivery
reports and failed replies on the dashboard, each within the caller's rights."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from saylau.store.models import AuditEntry, SmsPhone, Submission
from tests.sms._gateway import Gateway, serving
from tests.sms.test_messages import proto


def _login(base: str, user: str, password: str) -> httpx.Client:
    r = httpx.post(f"{base}/api/v1/auth/token", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {r.json()['token']}"}, timeout=30
    )


def test_phones_quarantine_attach_and_failed_replies(
    election: tuple[str, dict[str, str]],
) -> None:
    url, passwords = election
    with serving(url) as (base, db):
        admin = _login(base, "admin", passwords["admin"])
        ala = _login(base, "coord_ala", passwords["coord_ala"])
        ast = _login(base, "coord_ast", passwords["coord_ast"])
        analyst = _login(base, "analyst1", passwords["analyst1"])
        gw = Gateway(base)

        # a new phone for obs1, PIN generated and shown once; the hash alone is kept
        r = admin.post("/api/v1/sms/phones/obs1", json={"number": "8 701 777 00 11"})
        assert r.status_code == 200, r.text
        pin = r.json()["pin"]
        assert len(pin) == 6 and pin.isdigit()
        with db.read() as s:
            row = s.scalar(select(SmsPhone).where(SmsPhone.number == "+77017770011"))
            assert row is not None and pin not in row.pin_hash
        assert gw.send("+77017770011", f"P ALA-1 {pin} {proto(700)}").json()["status"] == (
            "recorded"
        )
        # a coordinator sets phones only inside their subtree; a typed PIN is not answered
        r = ast.post("/api/v1/sms/phones/obs1", json={"number": "+77017770012", "pin": "2580"})
        assert r.status_code == 403 and r.json()["field"] == "username", r.text
        r = ala.post("/api/v1/sms/phones/obs2", json={"number": "+77017770013", "pin": "2580"})
        assert r.status_code == 200 and "pin" not in r.json(), r.text
        r = ala.post("/api/v1/sms/phones/obs2", json={"number": "+77017770011", "pin": "2580"})
        assert r.status_code == 422 and r.json()["field"] == "number", r.text  # obs1's number
        r = ala.post("/api/v1/sms/phones/obs2", json={"number": "12", "pin": "25"})
        assert r.status_code == 422, r.text

        # a message from an unknown number waits in quarantine, counted nowhere
        before = _count(db)
        q = gw.send("+77010005555", f"P ALA-1 9999 {proto(701)}").json()
        assert q["status"] == "quarantined" and _count(db) == before
        listed = ala.get("/api/v1/sms/quarantine").json()
        assert [m["id"] for m in listed] == [q["message_id"]]
        assert "9999" not in listed[0]["text"] and "****" in listed[0]["text"]
        assert ast.get("/api/v1/sms/quarantine").json() == []  # ALA-1 is not in AST's subtree
        path = f"/api/v1/sms/quarantine/{q['message_id']}/attach"
        assert ast.post(path, json={"username": "obs1"}).status_code == 403
        assert analyst.post(path, json={"username": "obs1"}).status_code == 403
        r = ala.post(path, json={"username": "obs1"})
        assert r.status_code == 200 and r.json()["status"] == "recorded", r.text
        attached = r.json()["reply"]  # a new reply to the sender, in obs1's language
        assert attached["id"] != q["reply"]["id"] and attached["to"] == "+77010005555"
        assert attached["text"].startswith("Жазылды") and "9999" not in attached["text"]
        assert _count(db) == before + 1
        assert ala.post(path, json={"username": "obs1"}).status_code == 404  # attached once
        with db.read() as s:
            actions = set(s.scalars(select(AuditEntry.action)))
        assert {"sms.phone.set", "sms.quarantined", "sms.attach", "submit.protocol"} <= actions

        # the gateway could not deliver a reply: on the API and on the dashboard
        reply = q["reply"]
        r = gw.post(
            "/api/v1/sms/delivery",
            {"reply_id": reply["id"], "status": "failed", "error": "absent subscriber"},
        )
        assert r.status_code == 200, r.text
        failed = analyst.get("/api/v1/sms/failed-replies").json()
        assert [f["error"] for f in failed] == ["absent subscriber"]
        page = _page(base, "coord_ala", passwords["coord_ala"])
        assert "absent subscriber" in page and 'id="sms"' in page
        r = gw.post("/api/v1/sms/delivery", {"reply_id": 99999, "status": "delivered"})
        assert r.status_code == 404
        for c in (admin, ala, ast, analyst):
            c.close()
        gw.close()


def _count(db: Any) -> int:
    with db.read() as s:
        return len(list(s.scalars(select(Submission.id))))


def _page(base: str, user: str, password: str) -> str:
    with httpx.Client(base_url=base, timeout=30) as c:
        r = c.post("/api/v1/auth/session", json={"username": user, "password": password})
        assert r.status_code == 200, r.text
        page = c.get("/dashboard")
        assert page.status_code == 200, page.text[:300]
        return page.text
