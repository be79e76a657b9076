"""The pages' forms as a browser posts them (real server on loopback, real SQLite): a resent
form stores once, a form without its CSRF token or for another observer's station is refused,
audited and stores nothing, the interviewer's batch and the transcriber's page work."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from saylau.store import masterdata
from saylau.store.accounts import create_account
from saylau.store.models import Account, AuditEntry, Submission
from saylau.web import Settings, create_app
from tests._service import live_server

PASSWORD = "forms-test-pass-1"
LINES = {"line:voters_on_list": "900", "line:issued": "500", "line:invalid": "5",
         "line:valid": "495", "choice:a": "300", "choice:against_all": "195"}  # fmt: skip


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    folder: Path = tmp_path_factory.mktemp("forms")
    (folder / "c.csv").write_text("code,name,level,parent\nKZ,ОСК,cec,\nALM,Алматы,region,KZ\n")
    (folder / "s.csv").write_text("code,name,commission,registered\n7,Мектеп,ALM,900\n"
                                  "8,Колледж,ALM,800\n")  # fmt: skip
    (folder / "ch.csv").write_text("code,name\na,A\nagainst_all,Барлығына қарсы\n")
    app = create_app(Settings(db_url=f"sqlite:///{folder / 'f.db'}"))
    with app.state.db.write() as s:
        masterdata.import_commissions(s, folder / "c.csv", actor="t")
        masterdata.import_stations(s, folder / "s.csv", actor="t")
        masterdata.import_choices(s, folder / "ch.csv", actor="t")  # profile: plain
        masterdata.import_incident_categories(s, actor="t")
        for name, role, stations in (("obs", "observer", ("7",)), ("int", "interviewer", ("7",)),
                                     ("tr", "transcriber", ()), ("adm", "admin", ())):  # fmt: skip
            create_account(s, username=name, password=PASSWORD, role=role, actor="t",
                           stations=stations, locale="en")  # fmt: skip
    with live_server(app) as url:
        yield url, app.state.db
    app.state.db.close()


@contextlib.contextmanager
def _client(base: str, user: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, headers={"Accept": "text/html"}) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        r = client.post(
            "/login", data={"username": user, "password": password, "csrf_token": token.group(1)}
        )
        assert r.status_code == 303, r.text[:300]
        yield client


def _hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert m is not None, name
    return m.group(1)


def _count(db: Any, kind: str) -> int:
    with db.read() as s:
        return int(
            s.scalar(select(func.count()).select_from(Submission).where(Submission.kind == kind))
        )


def _refusals(db: Any) -> int:
    with db.read() as s:
        return int(
            s.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "refused")
            )
        )


def test_observer_forms(service: tuple[str, Any]) -> None:
    base, db = service
    with _client(base, "obs") as c:
        page = c.get("/observer").text
        form = {
            "csrf_token": _hidden(page, "csrf_token"),
            "idempotency_key": _hidden(page, "idempotency_key"),
            "station": "7",
            **LINES,
        }
        before = _count(db, "protocol")
        first = c.post("/observer/protocol", data=form)
        again = c.post("/observer/protocol", data=form)  # the form resent on a bad connection
        assert first.status_code == again.status_code == 303
        assert first.headers["location"] == again.headers["location"]  # the same stored copy
        assert _count(db, "protocol") == before + 1
        refused = _refusals(db)
        no_csrf = c.post("/observer/protocol", data={**form, "csrf_token": "forged",
                                                     "idempotency_key": "k-forged"})  # fmt: skip
        assert no_csrf.status_code == 403
        other = c.post("/observer/protocol", data={**form, "station": "8",
                                                   "idempotency_key": "k-other"})  # fmt: skip
        assert other.status_code == 403 and "station" in other.text
        changed = c.post("/observer/protocol", data={**form, "line:invalid": "6"})
        assert changed.status_code == 409  # the same key with another body
        negative = c.post("/observer/protocol", data={**form, "line:invalid": "-6",
                                                      "idempotency_key": "k-neg"})  # fmt: skip
        assert negative.status_code == 422 and "lines.invalid" in negative.text
        assert _count(db, "protocol") == before + 1  # nothing stored by a refused form
        assert _refusals(db) >= refused + 3
        text = "Бақылаушы шығарылды: ә ғ қ ң ө ұ ү һ і; Latin: Baqylaýshy shyǵaryldy"
        kazakh = {
            **form,
            "idempotency_key": "k-kk",
            "description": text,
            "category": "VOTE.OBSERVER",
        }
        assert c.post("/observer/incident", data=kazakh).status_code == 303
        with db.read() as s:
            stored = s.scalars(select(Submission).where(Submission.kind == "incident")).one()
        assert stored.body["text"] == text


def test_refusal_reads_in_the_persons_language(service: tuple[str, Any]) -> None:
    """The library's typed errors go through the catalogue: on a Kazakh page the reason a form
    is refused is Kazakh (the expected words are the kk catalogue's entries for the library's
    messages, web/locale/kk/LC_MESSAGES/messages.po); the field and the value found stay data."""
    base, db = service
    with db.write() as s:
        create_account(s, username="obskk", password=PASSWORD, role="observer", actor="t",
                       stations=("7",), locale="kk")  # fmt: skip
    with _client(base, "obskk") as c:
        page = c.get("/observer").text
        form = {
            "csrf_token": _hidden(page, "csrf_token"),
            "idempotency_key": "k-kk-negative",
            "station": "7",
            **LINES,
            "line:invalid": "-6",
        }
        negative = c.post("/observer/protocol", data=form)
        assert negative.status_code == 422
        text = html.unescape(negative.text)
        assert (
            "Сақталмады: бүтін сан емес (өріс lines.invalid, күтілгені: бүтін сан ≥ 0, "
            "табылғаны: -6)" in text
        )
        assert "not a whole number" not in text and "integer >= 0" not in text
        other = c.post("/observer/protocol", data={**form, "line:invalid": "5", "station": "8",
                                                   "idempotency_key": "k-kk-other"})  # fmt: skip
        assert other.status_code == 403
        assert "Сақталмады: бұл учаске сізге бекітілмеген (өріс station, табылғаны: 8)" in (
            html.unescape(other.text)
        )


def test_interviewer_batch(service: tuple[str, Any]) -> None:
    base, db = service
    with _client(base, "int") as c:
        page = c.get("/interviewer").text
        form = {"csrf_token": _hidden(page, "csrf_token"),
                "idempotency_key": _hidden(page, "idempotency_key"), "station": "7",
                "band": "10-12", "choice": ["a", "against_all", "refused"],
                "gender": ["female", "male", ""], "age_band": ["18-29", "60+", ""]}  # fmt: skip
        r = c.post("/interviewer/batch", data=form)
        assert r.status_code == 303, r.text[:500]
        assert _count(db, "interviews") == 1
        listed = c.get(r.headers["location"]).text
        assert re.search(r'<td class="num">3</td>', listed)  # three interviews in the batch
        page = c.get("/interviewer").text
        csv = "band,choice,gender,age_band\n12-14,a,female,30-44\n12-14,Барлығына қарсы,male,60+\n"
        upload = c.post(
            "/interviewer/batch",
            data={"csrf_token": _hidden(page, "csrf_token"), "station": "7",
                  "idempotency_key": _hidden(page, "idempotency_key")},
            files={"file": ("batch.csv", csv.encode(), "text/csv")},
        )  # fmt: skip
        assert upload.status_code == 303, upload.text[:500]
        assert _count(db, "interviews") == 2
        named = "band,choice,name\n12-14,a,Aigerim\n"  # a respondent's name: never accepted
        refused = c.post(
            "/interviewer/batch",
            data={"csrf_token": _hidden(page, "csrf_token"), "station": "7",
                  "idempotency_key": "k-named"},
            files={"file": ("named.csv", named.encode(), "text/csv")},
        )  # fmt: skip
        assert refused.status_code == 422 and "identifies a respondent" in refused.text
        assert _count(db, "interviews") == 2
        bad = {**form, "idempotency_key": "k2", "station": "8"}
        assert c.post("/interviewer/batch", data=bad).status_code == 403


def test_transcriber_without_photos(service: tuple[str, Any]) -> None:
    base, _db = service
    with _client(base, "tr") as c:
        r = c.get("/transcribe")
        assert r.status_code == 200 and "No photo is waiting for you" in r.text
        assert c.get("/dashboard").status_code == 403


def test_admin_adds_a_person_with_a_one_time_password(service: tuple[str, Any]) -> None:
    base, db = service
    with _client(base, "adm") as c:
        page = c.get("/admin").text
        form = {"csrf_token": _hidden(page, "csrf_token"), "username": "dana", "role": "observer",
                "full_name": "Дана Әлиқызы", "scope": "7 8", "locale": "kk"}  # fmt: skip
        r = c.post("/admin/accounts", data=form)
        assert r.status_code == 200 and "Дана" in r.text
        password = re.search(r"<code>([^<]+)</code>", r.text)
        assert password is not None
        assert password.group(1) not in c.get("/admin").text  # shown once only
        with db.read() as s:
            tr_id = s.scalars(select(Account.id).where(Account.username == "tr")).one()
        demote = c.post(
            f"/admin/accounts/{tr_id}/role",
            data={"csrf_token": form["csrf_token"], "role": "analyst"},
        )
        assert demote.status_code == 303
        with db.read() as s:
            assert s.get(Account, tr_id).role == "analyst"  # audited role change
    with _client(base, "dana", password.group(1)) as c:  # the new person signs in with it
        r = c.get("/observer")
        assert r.status_code == 200 and '<html lang="kk">' in r.text
        assert 'value="8"' in r.text  # both assigned stations offered
