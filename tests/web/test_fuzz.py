"""Fuzz the API from its own OpenAPI document (schemathesis): no 5xx, the one error shape, no
stack trace, for every operation, as an admin and as an observer (bounded examples)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from saylau.web import Settings, create_app
from saylau.web.errors import ERROR_FIELDS
from tests._service import live_server, setup_election

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis

EXAMPLES = 8


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("fuzz")
    app = create_app(Settings(db_url=f"sqlite:///{folder / 'f.db'}", max_body_bytes=256 * 1024))
    passwords = setup_election(app.state.db, folder)
    with live_server(app) as base:
        tokens = {}
        for user in ("admin", "obs1"):
            r = httpx.post(
                f"{base}/api/v1/auth/token", json={"username": user, "password": passwords[user]}
            )
            tokens[user] = r.json()["token"]
        yield app, base, tokens
    app.state.db.close()


def _operations(app: Any) -> list[Any]:
    schema = schemathesis.openapi.from_dict(app.openapi())
    ops = [r.ok() for r in schema.get_all_operations()]
    # logging out would end the token the other calls use
    return [op for op in ops if not op.path.endswith("/auth/logout")]


def _checker(op: Any, base: str, headers: dict[str, str], seen: dict[int, int]) -> Any:
    @given(case=op.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        response = case.call(base_url=base, headers=headers)
        where = f"{case.method} {case.formatted_path}: {response.status_code}"
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert response.status_code < 500, where + response.text[:300]
        assert "Traceback" not in response.text, where
        if response.status_code >= 400:
            body = response.json()
            assert set(body) == set(ERROR_FIELDS), where
            assert body["status"] == response.status_code, where

    return check


def test_fuzz_every_operation(served: tuple[Any, str, dict[str, str]]) -> None:
    app, base, tokens = served
    ops = _operations(app)
    assert len(ops) >= 25
    seen: dict[int, int] = {}
    for op in ops:
        for user in ("admin", "obs1"):
            _checker(op, base, {"Authorization": f"Bearer {tokens[user]}"}, seen)()
    assert any(400 <= s < 500 for s in seen) and any(s < 300 for s in seen), seen
