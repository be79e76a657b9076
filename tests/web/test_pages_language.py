"""The interface language of a page: the person's preference, else the language link's cookie,
else the browser's Accept-Language; and every page a role opens draws in all three languages.

Real SQLite database, the app over ASGI (httpx); the expected words are the catalogues' own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from saylau.store import masterdata
from saylau.store.accounts import create_account
from saylau.web import Settings, create_app
from saylau.web.i18n import translations
from tests._service import live_server

PASSWORD = "lang-test-pass-1"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("lang")
    (folder / "c.csv").write_text("code,name,level,parent\nKZ,ОСК,cec,\nALM,Алматы,region,KZ\n")
    (folder / "s.csv").write_text("code,name,commission,registered\n7,Мектеп,ALM,900\n")
    (folder / "ch.csv").write_text("code,name\na,A\nagainst_all,Барлығына қарсы\n")
    app = create_app(Settings(db_url=f"sqlite:///{folder / 'l.db'}"))
    with app.state.db.write() as s:
        masterdata.import_commissions(s, folder / "c.csv", actor="t")
        masterdata.import_stations(s, folder / "s.csv", actor="t")
        masterdata.import_choices(s, folder / "ch.csv", actor="t")
        masterdata.import_incident_categories(s, actor="t")
        for role in ("admin", "coordinator", "observer", "interviewer", "analyst"):
            create_account(s, username=role, password=PASSWORD, role=role, actor="t",
                           commission="KZ" if role == "coordinator" else None,
                           stations=("7",) if role in ("observer", "interviewer") else (),
                           locale="ru")  # fmt: skip
    with live_server(app) as url:
        yield url
    app.state.db.close()


def _sign_in(client: httpx.Client, user: str) -> httpx.Response:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return client.post(
        "/login",
        data={"username": user, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=True,
    )


@pytest.mark.parametrize(
    ("accept", "cookie", "expected"),
    [("kk-KZ,kk;q=0.9", None, "kk"), ("ru-RU", None, "ru"), ("de-DE,en;q=0.5", None, "en"),
     ("ru-RU", "kk", "kk")],
)  # fmt: skip
def test_login_page_language(base_url: str, accept: str, cookie: str | None, expected: str) -> None:
    cookies = {"lang": cookie} if cookie else {}
    r = httpx.get(f"{base_url}/login", headers={"Accept-Language": accept}, cookies=cookies)
    assert r.status_code == 200
    assert f'<html lang="{expected}">' in r.text
    assert translations(expected).gettext("Sign in") in r.text
    assert r.headers["content-language"] == expected


def test_preference_wins_and_language_link_keeps_it(base_url: str) -> None:
    with httpx.Client(base_url=base_url, headers={"Accept-Language": "en"}) as client:
        r = _sign_in(client, "observer")  # stored preference: ru
        assert '<html lang="ru">' in r.text
        r = client.get("/lang/kk?next=/observer", follow_redirects=True)
        assert '<html lang="kk">' in r.text
        assert "Барлығына қарсы" in r.text  # Kazakh Cyrillic passes through unharmed
        client.cookies.delete("lang")
        r = client.get("/observer")  # the preference itself changed
        assert '<html lang="kk">' in r.text
        r = client.get("/lang/en?next=//evil.example/")  # no open redirect
        assert r.headers["location"] == "/"


@pytest.mark.parametrize(
    ("role", "path"),
    [("admin", "/admin"), ("coordinator", "/dashboard"), ("observer", "/observer"),
     ("interviewer", "/interviewer"), ("analyst", "/dashboard")],
)  # fmt: skip
def test_every_page_draws_in_every_language(base_url: str, role: str, path: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        _sign_in(client, role)
        for code in ("kk", "ru", "en"):
            client.get(f"/lang/{code}?next=/")  # keeps the person's preference
            r = client.get(path)
            assert r.status_code == 200, (role, r.text[:300])
            assert f'<html lang="{code}">' in r.text
            assert translations(code).gettext("Sign out") in r.text, (role, code)
