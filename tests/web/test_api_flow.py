"""End-to-end over a real HTTP server on loopback, on SQLite and PostgreSQL: submissions are never
lost or doubled, bad input is refused in the one error shape and changes nothing, coordinators
resolve conflicts inside their subtree, official results are compared line by line."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from saylau.store.db import Database
from saylau.store.models import AuditEntry, Submission
from saylau.web import Settings, create_app
from saylau.web.errors import ERROR_FIELDS
from tests._service import live_server, protocol

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class Env:
    def __init__(self, base: str, db: Database, passwords: dict[str, str]) -> None:
        self.base, self.db, self.passwords = base, db, passwords
        self._tokens: dict[str, str] = {}
        self._clients: list[httpx.Client] = []

    def close(self) -> None:
        for c in self._clients:
            c.close()

    def client(self, user: str | None = None) -> httpx.Client:
        headers = {}
        if user is not None:
            if user not in self._tokens:
                r = httpx.post(
                    f"{self.base}/api/v1/auth/token",
                    json={"username": user, "password": self.passwords[user]},
                )
                assert r.status_code == 200, r.text
                self._tokens[user] = r.json()["token"]
            headers["Authorization"] = f"Bearer {self._tokens[user]}"
        client = httpx.Client(base_url=self.base, headers=headers, timeout=30)
        self._clients.append(client)
        return client

    def count(self) -> int:
        with self.db.read() as s:
            return int(s.scalar(select(func.count()).select_from(Submission)) or 0)

    def audit_actions(self) -> list[str]:
        with self.db.read() as s:
            return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.fixture
def env(election: tuple[str, dict[str, str]]) -> Iterator[Env]:
    url, passwords = election
    settings = Settings(db_url=url, max_photo_bytes=4096, max_body_bytes=64 * 1024)
    app = create_app(settings)
    db = app.state.db
    with live_server(app) as base:
        e = Env(base, db, passwords)
        yield e
        e.close()
    db.close()


def _shape(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == set(ERROR_FIELDS), body
    assert body["status"] == status
    assert "Traceback" not in r.text
    return body


def test_retry_never_duplicates_and_changed_body_is_409(env: Env) -> None:
    obs = env.client("obs1")
    body = {
        "station": "ALA-1",
        "idempotency_key": "k-1",
        "lines": protocol(),
        "note": "Бәрі дұрыс; ǵ ń ú (латын қазақ)",
    }
    first = obs.post("/api/v1/protocols", json=body)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "ok"
    again = obs.post("/api/v1/protocols", json=body)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    # the stored copy itself: its judgement, time of receipt and station, not a new answer
    assert again.json() == {**first.json(), "created": False}
    assert env.count() == 1
    changed = {**body, "lines": protocol(a=401)}
    err = _shape(obs.post("/api/v1/protocols", json=changed), 409)
    assert err["field"] == "idempotency_key"
    assert env.count() == 1
    # a correction is a new version naming the one it replaces
    fix = obs.post(
        "/api/v1/protocols",
        json={**changed, "idempotency_key": "k-2", "replaces": first.json()["id"]},
    )
    assert fix.status_code == 201
    assert fix.json()["replaces"] == first.json()["id"]
    assert env.count() == 2
    mine = obs.get("/api/v1/protocols").json()
    assert [p["id"] for p in mine] == [first.json()["id"], fix.json()["id"]]
    assert env.audit_actions().count("submit.protocol") == 2


def test_bad_input_is_refused_audited_and_changes_nothing(env: Env) -> None:
    obs = env.client("obs1")
    good = {"station": "ALA-1", "idempotency_key": "ok", "lines": protocol()}
    assert obs.post("/api/v1/protocols", json=good).status_code == 201
    with env.db.read() as s:
        before = [(x.id, x.body_hash) for x in s.scalars(select(Submission))]
    refused_before = env.audit_actions().count("refused")
    lines = protocol()
    del lines["invalid"]
    cases = [
        (
            obs.post("/api/v1/protocols", json={**good, "idempotency_key": "a", "lines": lines}),
            422,
            "lines.invalid",
        ),
        (
            obs.post(
                "/api/v1/protocols",
                json={**good, "idempotency_key": "b", "lines": {**protocol(), "issued": -5}},
            ),
            422,
            None,
        ),
        (
            obs.post("/api/v1/protocols", json={**good, "idempotency_key": "c", "station": "NOPE"}),
            404,
            "station",
        ),
        (
            obs.post(
                "/api/v1/protocols", json={**good, "idempotency_key": "d", "station": "AST-1"}
            ),
            403,
            "station",
        ),
        (
            obs.post(
                "/api/v1/protocols",
                content=b'{"station": "ALA-1", ',
                headers={"content-type": "application/json"},
            ),
            422,
            None,
        ),
        (
            obs.post(
                "/api/v1/protocols/photo",
                data={"station": "ALA-1", "idempotency_key": "e"},
                files={"photo": ("p.png", b"%PDF-1.7 not an image", "image/png")},
            ),
            422,
            "photo",
        ),
        (
            obs.post(
                "/api/v1/protocols/photo",
                data={"station": "ALA-1", "idempotency_key": "f"},
                files={"photo": ("p.png", PNG + b"\x00" * 5000, "image/png")},
            ),
            413,
            "photo",
        ),
        (
            obs.post(
                "/api/v1/protocols/photo",
                data={"station": "ALA-1", "idempotency_key": "g"},
                files={"photo": ("p.png", PNG + b"\x00" * 70_000, "image/png")},
            ),
            413,
            None,
        ),
        (
            obs.post(
                "/api/v1/incidents",
                json={
                    "station": "ALA-1",
                    "idempotency_key": "h",
                    "category": "NO.SUCH",
                    "text": "Қате",
                },
            ),
            404,
            "category",
        ),
        (
            obs.post(
                "/api/v1/interviews",
                json={
                    "station": "ALA-1",
                    "idempotency_key": "i",
                    "records": [{"choice": "Amanat"}],
                },
            ),
            403,
            "role",
        ),
    ]
    for response, status, field in cases:
        body = _shape(response, status)
        if field is not None:
            assert body["field"] == field, body
    with env.db.read() as s:
        after = [(x.id, x.body_hash) for x in s.scalars(select(Submission))]
    assert after == before
    assert env.audit_actions().count("refused") - refused_before >= 9


def test_interviews_refuse_identifying_fields(env: Env) -> None:
    iv = env.client("int1")
    ok = iv.post(
        "/api/v1/interviews",
        json={
            "station": "ALA-1",
            "idempotency_key": "b1",
            "records": [
                {"choice": "Amanat", "gender": "әйел", "age_band": "18-29"},
                {"choice": "Барлығына қарсы"},
                {"choice": "отказ"},
            ],
        },
    )
    assert ok.status_code == 201, ok.text
    bad = iv.post(
        "/api/v1/interviews",
        json={
            "station": "ALA-1",
            "idempotency_key": "b2",
            "records": [{"choice": "Amanat", "Телефон": "+7 701 000 0000"}],
        },
    )
    assert _shape(bad, 422)["field"] == "Телефон"
    assert env.count() == 1


def test_cookie_session_needs_csrf(env: Env) -> None:
    with httpx.Client(base_url=env.base) as c:
        r = c.post(
            "/api/v1/auth/session", json={"username": "obs1", "password": env.passwords["obs1"]}
        )
        assert r.status_code == 200
        csrf = r.json()["csrf_token"]
        body = {"station": "ALA-1", "idempotency_key": "c1", "lines": protocol()}
        _shape(c.post("/api/v1/protocols", json=body), 403)
        _shape(c.post("/api/v1/protocols", json=body, headers={"X-CSRF-Token": "wrong"}), 403)
        assert env.count() == 0
        ok = c.post("/api/v1/protocols", json=body, headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 201


def test_login_throttled_per_account_and_audited(env: Env) -> None:
    for _ in range(5):
        r = httpx.post(f"{env.base}/api/v1/auth/token", json={"username": "obs2", "password": "x"})
        _shape(r, 401)
    r = httpx.post(
        f"{env.base}/api/v1/auth/token",
        json={"username": "obs2", "password": env.passwords["obs2"]},
    )
    _shape(r, 429)
    assert env.audit_actions().count("login.failure") == 5
    # another account from the same address is not locked out by obs2's failures
    assert env.client("obs1").get("/api/v1/me").status_code == 200
    # per address: many failures on many names lock the address out, even for a right password
    for i in range(25):
        httpx.post(f"{env.base}/api/v1/auth/token", json={"username": f"u{i}", "password": "x"})
    r = httpx.post(
        f"{env.base}/api/v1/auth/token",
        json={"username": "obs3", "password": env.passwords["obs3"]},
    )
    _shape(r, 429)


def test_conflict_resolution_in_subtree_and_official_comparison(env: Env, tmp_path: Path) -> None:
    o1, o2 = env.client("obs1"), env.client("obs2")
    a = o1.post(
        "/api/v1/protocols",
        json={"station": "ALA-1", "idempotency_key": "x", "lines": protocol(400, 150, 40)},
    ).json()
    b = o2.post(
        "/api/v1/protocols",
        json={"station": "ALA-1", "idempotency_key": "x-2", "lines": protocol(380, 170, 40)},
    ).json()
    o1.post(
        "/api/v1/protocols",
        json={"station": "ALA-2", "idempotency_key": "y", "lines": protocol(300, 200, 30)},
    )
    ala, ast = env.client("coord_ala"), env.client("coord_ast")
    cons = {c["station"]: c for c in ala.get("/api/v1/consensus").json()}
    assert cons["ALA-1"]["state"] == "conflict" and cons["ALA-2"]["state"] == "agreed"
    assert ast.get("/api/v1/consensus").json() == []  # nothing in Astana's subtree
    _shape(
        ast.post(
            "/api/v1/stations/ALA-1/resolution", json={"chosen": a["id"], "reason": "not mine"}
        ),
        403,
    )
    _shape(
        ala.post("/api/v1/stations/ALA-1/resolution", json={"chosen": a["id"], "reason": ""}), 422
    )
    r = ala.post(
        "/api/v1/stations/ALA-1/resolution",
        json={"chosen": a["id"], "reason": "фото хаттамасы бірінші көшірмені растайды"},
    )
    assert r.status_code == 200, r.text
    cons = {c["station"]: c for c in ala.get("/api/v1/consensus").json()}
    assert cons["ALA-1"]["state"] == "resolved" and cons["ALA-1"]["chosen"] == str(a["id"])
    assert b["id"] != a["id"]
    # official results: ALA-1 as copied; ALA-2 with 25 votes moved from Ақ жол to Amanat
    off = tmp_path / "official.csv"
    rows = [
        ("ALA-1", protocol(400, 150, 40)),
        ("ALA-2", protocol(325, 175, 30)),
        ("AST-1", protocol(500, 100, 20)),
    ]
    keys = list(rows[0][1])
    off.write_text(
        "station,"
        + ",".join(keys)
        + "\n"
        + "".join(r + "," + ",".join(str(v[k]) for k in keys) + "\n" for r, v in rows),
        encoding="utf-8",
    )
    admin = env.client("admin")
    up = admin.post("/api/v1/official", files={"file": ("official.csv", off.read_bytes())})
    assert up.status_code == 201, up.text
    comp = ala.get("/api/v1/official/comparison").json()
    assert comp["stations_compared"] == 2 and comp["stations_differing"] == 1
    assert comp["moved"] == {"Amanat": 25, "Ақ жол": -25, "Барлығына қарсы": 0}
    assert {(d["station"], d["line"], d["difference"]) for d in comp["differences"]} == {
        ("ALA-2", "Amanat", 25),
        ("ALA-2", "Ақ жол", -25),
    }
    # a second import shows every figure the commission changed since the first
    rows[2] = ("AST-1", protocol(510, 90, 20))
    off.write_text(
        "station,"
        + ",".join(keys)
        + "\n"
        + "".join(r + "," + ",".join(str(v[k]) for k in keys) + "\n" for r, v in rows),
        encoding="utf-8",
    )
    again = admin.post("/api/v1/official", files={"file": ("official.csv", off.read_bytes())})
    changes = {(c["station"], c["line"], c["before"], c["after"]) for c in again.json()["changes"]}
    assert changes == {("AST-1", "Amanat", 500, 510), ("AST-1", "Ақ жол", 100, 90)}
    assert len(admin.get("/api/v1/official/snapshots").json()) == 2
    # analysts read everything and change nothing
    an = env.client("analyst1")
    assert an.get("/api/v1/official/comparison").status_code == 200
    _shape(an.post("/api/v1/stations/ALA-1/resolution", json={"chosen": None, "reason": "x"}), 403)
    csv_text = an.get("/api/v1/export/comparison.csv").text
    assert csv_text.splitlines()[0].startswith("station,region,line")
    assert "ALA-2,Алматы қаласы,Amanat,choice,300,325,25" in csv_text
    assert "export.comparison" in env.audit_actions()
    assert admin.get("/api/v1/audit/verify").json()["ok"] is True


def test_photo_only_copy_double_entry(env: Env) -> None:
    obs = env.client("obs3")
    r = obs.post(
        "/api/v1/protocols/photo",
        data={"station": "AST-1", "idempotency_key": "p1"},
        files={"photo": ("p.png", io.BytesIO(PNG), "image/png")},
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "photo_only"
    photo_id = r.json()["id"]
    tasks = {
        u: env.client(u).get("/api/v1/transcriptions/tasks").json() for u in ("tr1", "tr2", "tr3")
    }
    handed = [u for u, t in tasks.items() if t]
    assert len(handed) == 2
    assert set(tasks[handed[0]][0]) == {"of", "station", "photo"}  # never the sender
    idle = next(u for u in tasks if u not in handed)
    _shape(
        env.client(idle).post(
            "/api/v1/transcriptions",
            json={"of": photo_id, "idempotency_key": "t", "lines": protocol()},
        ),
        403,
    )
    img = env.client(handed[0]).get(f"/api/v1/photos/{r.json()['photo']}")
    assert img.status_code == 200 and img.content == PNG
    env.client(handed[0]).post(
        "/api/v1/transcriptions",
        json={"of": photo_id, "idempotency_key": "t-a", "lines": protocol(1, 2, 3)},
    )
    env.client(handed[1]).post(
        "/api/v1/transcriptions",
        json={"of": photo_id, "idempotency_key": "t-b", "lines": protocol(1, 2, 4)},
    )
    # they disagree: a third transcriber gets it
    third = env.client(idle).get("/api/v1/transcriptions/tasks").json()
    assert [t["of"] for t in third] == [photo_id]
    env.client(idle).post(
        "/api/v1/transcriptions",
        json={"of": photo_id, "idempotency_key": "t-c", "lines": protocol(1, 2, 3)},
    )
    cons = {c["station"]: c for c in env.client("admin").get("/api/v1/consensus").json()}
    assert cons["AST-1"]["state"] == "agreed"
    assert cons["AST-1"]["lines"]["Amanat"] == 1


def test_incident_and_verification_kazakh_text(env: Env) -> None:
    obs = env.client("obs1")
    r = obs.post(
        "/api/v1/incidents",
        json={
            "station": "ALA-2",
            "idempotency_key": "i1",
            "category": "VOTE.CAROUSEL",
            "phase": "voting",
            "text": "Бір топ адам екі рет дауыс берді; Bir top adam eki ret",
            "observed_at": "2024-03-19T11:20:00+05:00",
            "complaint": "filed",
        },
    )
    assert r.status_code == 201, r.text
    coord = env.client("coord_ala")
    v = coord.post(
        f"/api/v1/incidents/{r.json()['id']}/verification",
        json={"status": "confirmed", "reason": "видео бар"},
    )
    assert v.status_code == 200
    feed = coord.get("/api/v1/incidents", params={"status": "confirmed"}).json()
    assert [i["verification"] for i in feed] == ["confirmed"]
    assert feed[0]["text"].startswith("Бір топ")
    _shape(
        env.client("coord_ast").post(
            f"/api/v1/incidents/{r.json()['id']}/verification",
            json={"status": "rejected", "reason": "x"},
        ),
        403,
    )
    admin = env.client("admin")
    added = admin.post(
        "/api/v1/admin/incident-categories",
        json={"code": "KZ.QR", "phase": "voting", "category": "QR-код арқылы бақылау"},
    )
    assert added.status_code == 201
    codes = {c["code"] for c in obs.get("/api/v1/incident-categories").json()}
    assert {"KZ.QR", "VOTE.STUFFING"} <= codes


def test_audit_tampering_seen_through_the_api(env: Env) -> None:
    env.client("obs1").post(
        "/api/v1/protocols", json={"station": "ALA-1", "idempotency_key": "z", "lines": protocol()}
    )
    admin = env.client("admin")
    assert admin.get("/api/v1/audit/verify").json()["ok"] is True
    with env.db.engine.begin() as c:
        c.execute(text("UPDATE audit_log SET detail = '{}' WHERE action = 'submit.protocol'"))
    check = admin.get("/api/v1/audit/verify").json()
    assert check["ok"] is False and "altered" in check["problem"]


def test_admin_manages_people_and_role_changes_are_audited(env: Env) -> None:
    admin = env.client("admin")
    r = admin.post(
        "/api/v1/admin/people",
        json={
            "username": "жаңа",
            "role": "observer",
            "full_name": "Жаңа бақылаушы",
            "stations": ["AST-2"],
            "locale": "kk",
        },
    )
    assert r.status_code == 201, r.text
    env.passwords["жаңа"] = r.json()["one_time_password"]
    new = env.client("жаңа")
    assert new.get("/api/v1/me").json()["stations"] == ["AST-2"]
    _shape(
        admin.post(
            "/api/v1/admin/people", json={"username": "x", "role": "observer", "stations": ["NOPE"]}
        ),
        404,
    )
    # a change of rights ends the person's sessions; the change is in the audit log
    r = admin.post("/api/v1/admin/people/жаңа", json={"role": "analyst", "stations": []})
    assert r.json()["changed"] == ["role", "stations"]
    _shape(new.get("/api/v1/me"), 401)
    assert "account.change" in env.audit_actions()
    people = {p["username"]: p for p in admin.get("/api/v1/admin/people").json()}
    assert people["жаңа"]["role"] == "analyst"
    assert all("password" not in k for p in people.values() for k in p)
    # an export is a write in the audit sense
    _shape(admin.get("/api/v1/export/comparison.csv"), 404)  # nothing official yet
    _shape(env.client("obs1").post("/api/v1/admin/people/obs2", json={"role": "admin"}), 403)


def test_head_counts_over_http(env: Env) -> None:
    o1, o2, o3 = env.client("obs1"), env.client("obs2"), env.client("obs3")
    body = {
        "station": "ALA-1",
        "idempotency_key": "hc-1",
        "readings": [
            {"checkpoint": "10:00", "count": 60, "official": 75},
            {"checkpoint": "жабылу", "count": 480},
        ],
    }
    first = o1.post("/api/v1/headcounts", json=body)
    assert first.status_code == 201, first.text
    assert o1.post("/api/v1/headcounts", json=body).status_code == 200  # the retry, not a copy
    assert o2.post("/api/v1/headcounts", json={**body, "idempotency_key": "k"}).status_code == 201
    # a station the observer is not assigned to, a bad checkpoint: refused, nothing stored
    _shape(o3.post("/api/v1/headcounts", json={**body, "idempotency_key": "z"}), 403)
    bad = {**body, "idempotency_key": "b", "readings": [{"checkpoint": "noon", "count": 5}]}
    assert _shape(o1.post("/api/v1/headcounts", json=bad), 422)["field"].endswith("checkpoint")
    # observers see their own; the coordinator of the subtree sees both, the other none
    assert [h["id"] for h in o1.get("/api/v1/headcounts").json()] == [first.json()["id"]]
    assert o3.get("/api/v1/headcounts").json() == []
    assert len(env.client("coord_ala").get("/api/v1/headcounts").json()) == 2
    assert env.client("coord_ast").get("/api/v1/headcounts").json() == []
    # one double count cannot estimate the counting error: a status, never a number
    out = env.client("analyst1").get("/api/v1/turnout/excess").json()
    assert out["status"] in ("no protocol to compare with yet", "not estimable yet")
    assert "excess" not in out
    assert o1.get("/api/v1/turnout/excess").status_code == 403
    assert env.audit_actions().count("submit.headcount") == 2
