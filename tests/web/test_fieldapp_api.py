"""What the field app relies on, over a real HTTP server on loopback, on SQLite and PostgreSQL:
the assignment kept on the phone, the history a new phone pulls, and the refusals that keep a
replayed or stale outbox entry from changing anything (issue 10, "Bad input")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from saylau.store.db import Database
from saylau.store.models import AuditEntry, Submission
from saylau.web import Settings, create_app
from saylau.web.errors import ERROR_FIELDS
from saylau.web.relations import profile_document
from tests._service import live_server, protocol

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class Service:
    def __init__(self, base: str, db: Database, passwords: dict[str, str]) -> None:
        self.base, self.db, self.passwords = base, db, passwords
        self.clients: list[httpx.Client] = []

    def client(self, user: str) -> httpx.Client:
        r = httpx.post(
            f"{self.base}/api/v1/auth/token",
            json={"username": user, "password": self.passwords[user]},
        )
        assert r.status_code == 200, r.text
        c = httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {r.json()['token']}"}
        )
        self.clients.append(c)
        return c

    def snapshot(self) -> list[tuple[int, str, int | None]]:
        with self.db.read() as s:
            return [(x.id, x.body_hash, x.replaces) for x in s.scalars(select(Submission))]

    def refusals(self) -> int:
        with self.db.read() as s:
            q = select(func.count()).where(AuditEntry.action == "refused")
            return int(s.scalar(q.select_from(AuditEntry)) or 0)


@pytest.fixture
def svc(election: tuple[str, dict[str, str]]) -> Iterator[Service]:
    url, passwords = election
    app = create_app(Settings(db_url=url, max_photo_bytes=4096, max_body_bytes=64 * 1024))
    with live_server(app) as base:
        service = Service(base, app.state.db, passwords)
        yield service
        for c in service.clients:
            c.close()
    app.state.db.close()


def _error(r: httpx.Response, status: int, field: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == set(ERROR_FIELDS) and body["field"] == field, body
    return body


def test_assignment_is_the_profile_of_the_library_in_my_language(svc: Service) -> None:
    obs = svc.client("obs1")  # Kazakh, stations ALA-1 and ALA-2
    doc = obs.get("/api/v1/me/assignment").json()
    assert [s["code"] for s in doc["stations"]] == ["ALA-1", "ALA-2"]
    assert doc["role"] == "observer" and doc["locale"] == "kk"
    library = profile_document("kz")  # the one definition of the relations
    assert doc["profile"]["relations"][0]["left"] == library["relations"][0]["left"]
    assert [r["name"] for r in doc["profile"]["relations"]] == [
        r["name"] for r in library["relations"]
    ]
    assert [c["id"] for c in doc["choices"]] == ["Amanat", "Ақ жол", "Барлығына қарсы"]
    assert doc["against_all"] == ["Барлығына қарсы"]
    stuffing = next(c for c in doc["categories"] if c["code"] == "VOTE.STUFFING")
    assert stuffing["label"] != "ballot stuffing"  # translated for a Kazakh observer
    assert doc["csrf_token"] is None  # a bearer token needs none
    interviews = svc.client("int1").get("/api/v1/me/assignment").json()
    assert interviews["interview"]["age_bands"] and interviews["stations"][0]["code"] == "ALA-1"
    _error(svc.client("tr1").get("/api/v1/me/assignment"), 403, "role")


def test_history_holds_only_my_reports_with_keys_and_versions(svc: Service) -> None:
    o1, o2 = svc.client("obs1"), svc.client("obs2")
    first = o1.post(
        "/api/v1/protocols",
        json={"station": "ALA-1", "idempotency_key": "k1", "lines": protocol(),
              "device_time": "2026-12-06T14:20:00+05:00"},
    ).json()  # fmt: skip
    second = o1.post(
        "/api/v1/protocols",
        json={"station": "ALA-1", "idempotency_key": "k2", "lines": protocol(410, 140),
              "replaces": first["id"]},
    ).json()  # fmt: skip
    o2.post(
        "/api/v1/protocols",
        json={"station": "ALA-1", "idempotency_key": "k3", "lines": protocol()},
    )
    mine = o1.get("/api/v1/me/submissions").json()
    assert [(m["id"], m["idempotency_key"]) for m in mine] == [
        (first["id"], "k1"),
        (second["id"], "k2"),
    ]
    assert mine[0]["replaced_by"] == second["id"] and mine[1]["replaces"] == first["id"]
    assert mine[0]["body"]["device_time"] == "2026-12-06T14:20:00+05:00"
    assert mine[0]["status"] == "ok"
    assert [m["idempotency_key"] for m in o2.get("/api/v1/me/submissions").json()] == ["k3"]


def test_replayed_entries_and_stale_versions_are_refused_audited_and_change_nothing(
    svc: Service,
) -> None:
    o1, o2 = svc.client("obs1"), svc.client("obs2")
    body = {"station": "ALA-1", "idempotency_key": "phone-a-1", "lines": protocol()}
    first = o1.post("/api/v1/protocols", json=body)
    assert first.status_code == 201
    # the same entry sent again from the same person's other phone: the stored one, once
    again = o1.post("/api/v1/protocols", json=body)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    before, refused = svc.snapshot(), svc.refusals()

    # the entry replayed by another observer (assigned to the same station) with its key
    r = o2.post("/api/v1/protocols", json=body)
    assert "another person" in _error(r, 409, "idempotency_key")["message"]
    # ... or as an incident under that key
    r = o2.post(
        "/api/v1/incidents",
        json={"station": "ALA-1", "idempotency_key": "phone-a-1", "category": "VOTE.STUFFING",
              "text": "Қайталанған жазба"},
    )  # fmt: skip
    _error(r, 409, "idempotency_key")
    # a version naming someone else's submission
    r = o2.post(
        "/api/v1/protocols",
        json={"station": "ALA-1", "idempotency_key": "phone-b-1", "lines": protocol(380, 170),
              "replaces": first.json()["id"]},
    )  # fmt: skip
    assert "not one of yours" in _error(r, 404, "replaces")["message"]
    assert svc.snapshot() == before and svc.refusals() == refused + 3

    # a stale phone: a correction of a version that a newer one already replaced
    v2 = o1.post(
        "/api/v1/protocols",
        json={"station": "ALA-1", "idempotency_key": "phone-a-2", "lines": protocol(410, 140),
              "replaces": first.json()["id"]},
    )  # fmt: skip
    assert v2.status_code == 201
    before, refused = svc.snapshot(), svc.refusals()
    r = o1.post(
        "/api/v1/protocols",
        json={"station": "ALA-1", "idempotency_key": "phone-b-2", "lines": protocol(420, 130),
              "replaces": first.json()["id"]},
    )  # fmt: skip
    err = _error(r, 409, "replaces")
    assert f"already replaced by {v2.json()['id']}" in err["message"]
    # a phone clock that is not a time
    r = o1.post(
        "/api/v1/protocols",
        json={"station": "ALA-2", "idempotency_key": "phone-a-3", "lines": protocol(),
              "device_time": "yesterday"},
    )  # fmt: skip
    _error(r, 422, "device_time")
    assert svc.snapshot() == before and svc.refusals() == refused + 2


def test_incident_photo_must_be_an_image_within_the_limit(svc: Service) -> None:
    obs = svc.client("obs1")
    refused = svc.refusals()
    r = obs.post("/api/v1/media", files={"photo": ("p.jpg", b"%PDF-1.7 a document", "image/jpeg")})
    assert "not an image" in _error(r, 422, "photo")["message"]
    r = obs.post("/api/v1/media", files={"photo": ("p.png", PNG + b"\x00" * 5000, "image/png")})
    _error(r, 413, "photo")
    ok = obs.post("/api/v1/media", files={"photo": ("p.png", PNG, "image/png")})
    assert ok.status_code == 201 and len(ok.json()["sha256"]) == 64
    assert svc.refusals() == refused + 2


def test_the_app_shell_manifest_and_worker_are_served(svc: Service) -> None:
    with httpx.Client(base_url=svc.base, headers={"Accept-Language": "ru"}) as web:
        page = web.get("/app/")
        assert page.status_code == 200 and 'lang="ru"' in page.text
        assert '<link rel="manifest" href="/app/manifest.webmanifest">' in page.text
        messages = json.loads(page.text.split('id="messages">', 1)[1].split("</script>", 1)[0])
        assert messages["waiting"] == "ожидает"  # the outbox states, translated
        worker = web.get("/app/sw.js")
        assert worker.headers["content-type"].startswith("text/javascript")
        assert worker.headers["service-worker-allowed"] == "/app/"
        shell = json.loads(worker.text.split("const SHELL = ", 1)[1].split(";\n", 1)[0])
        for path in shell:  # everything the worker keeps exists
            assert web.get(path).status_code == 200, path
        manifest = web.get("/app/manifest.webmanifest").json()
        assert manifest["start_url"] == "/app/" and manifest["display"] == "standalone"
        for icon in manifest["icons"]:
            got = web.get(icon["src"])
            assert got.status_code == 200 and got.headers["content-type"] == icon["type"]
