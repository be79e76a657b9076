"""Every route the application registers, called by every role and by nobody.

The expectations are read from the routes themselves (``allow(...)`` records the roles in
``openapi_extra["x-roles"]``), so a route added without declaring who may call it fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.routing import APIRoute

from saylau.store.accounts import ROLES
from saylau.web import Settings, create_app
from saylau.web.auth import PUBLIC, api_routes
from tests._service import live_server, setup_election

USERS = {
    "admin": "admin",
    "coordinator": "coord_ala",
    "observer": "obs1",
    "interviewer": "int1",
    "transcriber": "tr1",
    "analyst": "analyst1",
}


@pytest.fixture(scope="module")
def app_and_tokens(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[object, dict, str]]:
    folder = tmp_path_factory.mktemp("rights")
    app = create_app(Settings(db_url=f"sqlite:///{folder / 'r.db'}"))
    passwords = setup_election(app.state.db, folder)
    with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        tokens = {}
        for role, user in USERS.items():
            r = client.post(
                "/api/v1/auth/token", json={"username": user, "password": passwords[user]}
            )
            tokens[role] = r.json()["token"]
        yield app, tokens, base
    app.state.db.close()


def _routes(app: object) -> list[tuple[str, APIRoute]]:
    return list(api_routes(app.routes))  # type: ignore[attr-defined]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "ALA-1", path).replace("/ALA-1/verification", "/1/verification")


def test_every_route_declares_its_roles(app_and_tokens: tuple[object, dict, str]) -> None:
    app, _, _ = app_and_tokens
    routes = _routes(app)
    assert len(routes) >= 25
    for path, route in routes:
        roles = (route.openapi_extra or {}).get("x-roles")
        assert roles, f"{path} declares no roles (use saylau.web.auth.allow)"
        assert set(roles) <= {*ROLES, PUBLIC}, path


def test_every_route_with_every_role(app_and_tokens: tuple[object, dict, str]) -> None:
    app, tokens, base = app_and_tokens
    with httpx.Client(base_url=base, timeout=30) as client:
        _walk(app, tokens, client)


def _walk(app: object, tokens: dict, client: httpx.Client) -> None:
    checked = 0
    for path, route in _routes(app):
        if path.endswith("/auth/logout"):
            continue  # would end the session the other calls use; checked below
        roles = set((route.openapi_extra or {})["x-roles"])
        for method in sorted(route.methods - {"HEAD"}):
            for role in [None, *ROLES]:
                headers = {} if role is None else {"Authorization": f"Bearer {tokens[role]}"}
                r = client.request(
                    method,
                    _concrete(path),
                    headers=headers,
                    json={} if method == "POST" else None,
                )
                where = f"{method} {path} as {role}: {r.status_code} {r.text[:200]}"
                assert r.status_code < 500, where
                body = r.json() if "json" in r.headers.get("content-type", "") else {}
                refused_for_role = r.status_code == 403 and body.get("field") == "role"
                if PUBLIC in roles:
                    assert r.status_code not in (401,) and not refused_for_role, where
                elif role is None:
                    assert r.status_code == 401, where
                elif role in roles:
                    assert r.status_code != 401 and not refused_for_role, where
                else:
                    assert refused_for_role, where
                checked += 1
    assert checked >= 25 * 7
    r = client.post(
        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {tokens['transcriber']}"}
    )
    assert r.status_code == 200
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['transcriber']}"})
    assert r.status_code == 401
