"""The one error shape, pinned: every failure answers exactly these fields, no stack trace."""

from __future__ import annotations

from pathlib import Path

import httpx

from saylau.web import Settings, create_app
from saylau.web.errors import ERROR_FIELDS
from tests._service import live_server

PINNED = ("error", "message", "file", "row", "field", "expected", "found", "status")


def test_error_shape_is_pinned(tmp_path: Path) -> None:
    assert PINNED == ERROR_FIELDS
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'e.db'}", max_body_bytes=1000))
    with live_server(app) as base, httpx.Client(base_url=base) as c:
        answers = {
            "no route": c.get("/api/v1/no-such-thing"),
            "wrong method": c.delete("/api/v1/health"),
            "not signed in": c.get("/api/v1/me"),
            "bad token": c.get("/api/v1/me", headers={"Authorization": "Bearer nope"}),
            "malformed json": c.post(
                "/api/v1/auth/token", content=b"{'x':", headers={"content-type": "application/json"}
            ),
            "missing field": c.post("/api/v1/auth/token", json={"username": "ә"}),
            "too large": c.post("/api/v1/auth/token", content=b"x" * 5000),
            "wrong password": c.post(
                "/api/v1/auth/token", json={"username": "Қайрат", "password": "Sälem"}
            ),
        }
        expected = {
            "no route": 404,
            "wrong method": 405,
            "not signed in": 401,
            "bad token": 401,
            "malformed json": 422,
            "missing field": 422,
            "too large": 413,
            "wrong password": 401,
        }
        for name, r in answers.items():
            body = r.json()
            assert r.status_code == expected[name], (name, r.text)
            assert tuple(body) == PINNED, name
            assert body["status"] == r.status_code
            assert isinstance(body["message"], str) and body["message"]
            assert "Traceback" not in r.text and 'File "' not in r.text
        assert answers["missing field"].json()["field"] == "password"
    app.state.db.close()
