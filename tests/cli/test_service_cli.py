"""The service's commands as an admin runs them: init, load, import-official, audit verify,
and ``saylau serve`` with nothing but SQLite (a real process on a free loopback port)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from saylau.cli import app
from tests._service import CHOICES, COMMISSIONS, PEOPLE, STATIONS, free_port, protocol

ROOT = Path(__file__).resolve().parents[2]


def saylau(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), input=input)


def test_set_up_an_election_from_files(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'e.db'}"
    r = saylau("init", "--db", db, "--username", "aigerim", "--generate")
    assert r.exit_code == 0, r.output
    password = re.search(r"shown once, write it down\): (\S+)", r.output)
    assert password and len(password.group(1)) >= 16
    again = saylau("init", "--db", db, "--username", "aigerim", "--generate")
    assert again.exit_code == 2 and "already taken" in again.output
    for name, content in (
        ("commissions", COMMISSIONS),
        ("stations", STATIONS),
        ("choices", CHOICES),
        ("people", PEOPLE),
    ):
        f = tmp_path / f"{name}.csv"
        f.write_text(content, encoding="utf-8")
        r = saylau("load", name, str(f), "--db", db, "--actor", "aigerim")
        assert r.exit_code == 0, r.output
    assert "one-time password" in r.output and r.output.count("new account") == 10
    assert saylau("load", "profile", "kz", "--db", db).exit_code == 0
    # a corrected stations file: what changed is reported
    (tmp_path / "stations.csv").write_text(STATIONS.replace("1500", "1510"), encoding="utf-8")
    r = saylau("load", "stations", str(tmp_path / "stations.csv"), "--db", db)
    assert r.exit_code == 0 and "ALA-1: registered 1500 -> 1510" in r.output
    # a bad row: file, row and field in one line, exit 2
    (tmp_path / "bad.csv").write_text(STATIONS + "X-1,Ж,NOPE,10\n", encoding="utf-8")
    r = saylau("load", "stations", str(tmp_path / "bad.csv"), "--db", db)
    assert r.exit_code == 2
    assert "bad.csv, row 8, field commission" in " ".join(r.output.split())
    # official results, twice: the second import lists what the commission changed
    keys = list(protocol())
    rows = {"ALA-1": protocol(), "AST-2": protocol(300, 100, 10)}
    off = tmp_path / "official.csv"
    off.write_text(
        "station,"
        + ",".join(keys)
        + "\n"
        + "".join(s + "," + ",".join(str(v[k]) for k in keys) + "\n" for s, v in rows.items()),
        encoding="utf-8",
    )
    assert saylau("import-official", str(off), "--db", db).exit_code == 0
    rows["AST-2"] = protocol(310, 90, 10)
    off.write_text(
        "station,"
        + ",".join(keys)
        + "\n"
        + "".join(s + "," + ",".join(str(v[k]) for k in keys) + "\n" for s, v in rows.items()),
        encoding="utf-8",
    )
    r = saylau("import-official", str(off), "--db", db)
    assert r.exit_code == 0, r.output
    assert "station AST-2: Amanat 300 -> 310" in r.output
    # the audit chain holds, then an edit made directly in the database is named
    r = saylau("audit", "verify", "--db", db)
    assert r.exit_code == 0 and "audit log intact" in r.output
    engine = create_engine(db)
    with engine.begin() as c:
        c.execute(text("UPDATE audit_log SET target = 'x' WHERE seq = 3"))
    engine.dispose()
    r = saylau("audit", "verify", "--db", db)
    assert r.exit_code == 1
    assert "broken at entry 3" in r.output


def test_serve_with_nothing_but_sqlite(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "saylau", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert r.json() == {"status": "ok", "database": "sqlite"}
        doc = httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()
        assert "/api/v1/protocols" in doc["paths"]
        assert (tmp_path / "saylau.db").exists()
        # no default credentials: nobody can sign in before `saylau init`
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/token",
            json={"username": "admin", "password": "admin"},
        )
        assert r.status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_two_workers_share_one_postgresql_election(election: tuple[str, dict[str, str]]) -> None:
    """The server keeps no state of its own: with two worker processes behind one database, a
    token from one works on the other and retries spread over both store each copy once."""
    url, passwords = election
    if not url.startswith("postgresql"):
        pytest.skip("several workers are a PostgreSQL set-up (SQLite has one writer at a time)")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "saylau",
            "serve",
            "--db",
            url,
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                httpx.get(f"{base}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        token = httpx.post(
            f"{base}/api/v1/auth/token", json={"username": "obs1", "password": passwords["obs1"]}
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        ids = set()
        for i in range(12):
            # a fresh connection each time: the kernel spreads them over both workers
            body = {
                "station": "ALA-1",
                "idempotency_key": f"k{i % 4}",
                "lines": protocol(400 + i % 4),
            }
            r = httpx.post(f"{base}/api/v1/protocols", json=body, headers=headers)
            assert r.status_code in (200, 201), r.text
            ids.add(r.json()["id"])
        assert len(ids) == 4  # four keys, three tries each: four copies stored
        mine = httpx.get(f"{base}/api/v1/protocols", headers=headers).json()
        assert len(mine) == 4
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
