"""Kazakh Cyrillic and Latin in every text field of every JSON body the API takes: each answer
is a success or a clear 4xx in the one error shape, never a 5xx (both engines)."""

from __future__ import annotations

from typing import Any

import httpx

from saylau.web import Settings, create_app
from saylau.web.auth import api_routes
from saylau.web.errors import ERROR_FIELDS
from tests._service import live_server

TEXTS = ("Әсел Қайратқызы: ғ қ ң ө ұ ү һ і", "Äsel Qairatqyzy: ǵ ń ú ı ş")
USERS = {"admin", "obs1", "int1", "tr1", "coord_ala"}


def _resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        node: Any = doc
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        return dict(node)
    return schema


def _body(schema: dict[str, Any], doc: dict[str, Any], text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, prop in _resolve(schema, doc).get("properties", {}).items():
        types = {p.get("type") for p in prop.get("anyOf", [prop])}
        if "string" in types:
            out[name] = text
        elif "integer" in types:
            out[name] = 1
        elif "object" in types:
            out[name] = {text: 1}
        elif "array" in types:
            out[name] = [text]
        elif "boolean" in types:
            out[name] = False
    return out


def test_kazakh_text_in_every_field(election: tuple[str, dict[str, str]]) -> None:
    url, passwords = election
    app = create_app(Settings(db_url=url))
    doc = app.openapi()
    posted = 0
    with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as c:
        tokens = {
            u: c.post("/api/v1/auth/token", json={"username": u, "password": passwords[u]}).json()[
                "token"
            ]
            for u in USERS
        }
        for path, route in api_routes(app.routes):
            if "POST" not in route.methods or path.endswith("/logout"):
                continue
            if path not in doc["paths"]:
                continue  # pages' form posts: not in the API document (tested with the pages)
            op = doc["paths"][path]["post"]
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = content["application/json"]["schema"]
            concrete = path.replace("{station}", "ALA-1").replace("{incident_id}", "1")
            concrete = concrete.replace("{username}", "obs2")
            for text in TEXTS:
                for user in USERS:
                    r = c.post(
                        concrete,
                        json=_body(schema, doc, text),
                        headers={"Authorization": f"Bearer {tokens[user]}"},
                    )
                    assert r.status_code < 500, (path, user, r.text)
                    if r.status_code >= 400:
                        assert tuple(r.json()) == ERROR_FIELDS, (path, r.text)
                    posted += 1
    assert posted >= 10 * len(TEXTS) * len(USERS)
    app.state.db.close()
