"""Commands of the observer service: ``serve``, ``init``, ``load``, ``import-official``, ``audit``.

Thin shells over :mod:`saylau.store` and :func:`saylau.web.create_app`.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from .._exceptions import SaylauInputError
from ..results import to_jsonable
from ..store._defaults import DEFAULT_URL
from ._app import app, err_console, guarded, out_console, print_json

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        help="Database URL: sqlite:///saylau.db (default) or postgresql+psycopg://user@host/db",
    ),
]

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
load_app = typer.Typer(
    help="Load the election's master data from files (re-import updates by code).",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")
app.add_typer(load_app, name="load")


@app.command()
@guarded
def serve(
    db: DbOption = DEFAULT_URL,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (use PostgreSQL for >1).")] = 1,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (uvicorn's access log, to the terminal).")
    ] = False,
) -> None:
    """Run the observer service (API at /api/v1, OpenAPI at /openapi.json).

    uvicorn uses httptools and uvloop when they are installed (dependencies of saylau; uvloop
    not on Windows): a fifth less CPU per request than its pure-Python parser and loop.

    Example: saylau serve --db postgresql+psycopg://saylau@localhost/election --workers 4
    """
    import os

    import uvicorn

    from ..store.db import Database

    Database.open(db).close()  # create or migrate once, before the workers start
    os.environ["SAYLAU_DB"] = db
    uvicorn.run(
        "saylau.web._serve:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info" if access_log else "warning",
        access_log=access_log,
    )


@app.command()
@guarded
def init(
    db: DbOption = DEFAULT_URL,
    username: Annotated[str, typer.Option(help="The admin's username.")] = "admin",
    generate: Annotated[
        bool, typer.Option("--generate", help="Generate the password and show it once.")
    ] = False,
) -> None:
    """Create the database and its first admin account (no default credentials exist).

    Example: saylau init --db sqlite:///election.db --username aigerim --generate
    """
    from ..store import masterdata
    from ..store.accounts import MIN_PASSWORD, create_account, generate_password
    from ..store.db import Database

    database = Database.open(db)
    try:
        if generate:
            password = generate_password()
        else:
            password = getpass.getpass("admin password: ")
            if getpass.getpass("again: ") != password:
                raise SaylauInputError("the two passwords differ", field="password")
            if len(password) < MIN_PASSWORD:
                raise SaylauInputError(
                    "password too short", field="password", expected=f">= {MIN_PASSWORD} characters"
                )
        with database.write() as session:
            create_account(
                session,
                username=username,
                password=password,
                role="admin",
                actor="saylau init",
                full_name="administrator",
            )
            masterdata.import_incident_categories(session, actor="saylau init")
        out_console.print(f"admin account {username} created")
        if generate:
            out_console.print(f"password (shown once, write it down): {password}")
    finally:
        database.close()


def _load(kind: str, db: str, file: Path, actor: str, as_json: bool) -> None:
    from ..store import masterdata
    from ..store.db import Database

    database = Database.open(db)
    try:
        with database.write() as session:
            report = masterdata.import_file(session, kind, file, actor=actor)
    finally:
        database.close()
    if as_json:
        print_json(to_jsonable(report))
        return
    out_console.print(report.summary())
    for code, diff in report.changed.items():
        for field, (old, new) in diff.items():
            out_console.print(f"  {code}: {field} {old!r} -> {new!r}")
    for user, password in report.secrets.items():
        out_console.print(f"  new account {user}: one-time password {password}")


Actor = Annotated[str, typer.Option(help="Who is loading (written to the audit log).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


#: The master-data files of ``saylau load KIND FILE``: what each holds.
LOAD_KINDS = {
    "commissions": "Commission hierarchy: code, name, level, parent.",
    "stations": "Polling stations: code, name, commission, registered[, region].",
    "choices": "The ballot in order: name[, code]; Against all recognised by name.",
    "people": "People: username, role[, full_name, commission, stations, locale].",
    "incidents": "Incident categories: code, phase, category[, examples] (table or Markdown).",
}


def _load_command(kind: str) -> Callable[..., None]:
    """The ``saylau load KIND`` command of one kind of master-data file."""

    def command(
        file: Path, db: DbOption = DEFAULT_URL, actor: Actor = "admin", as_json: JsonFlag = False
    ) -> None:
        _load(kind, db, file, actor, as_json)

    command.__name__ = f"load_{kind}"
    command.__doc__ = LOAD_KINDS[kind]
    return command


for _kind in LOAD_KINDS:
    load_app.command(_kind)(guarded(_load_command(_kind)))


@load_app.command("sample")
@guarded
def load_sample(
    file: Path,
    kind: Annotated[str, typer.Option(help="quick_count or exit_poll")] = "quick_count",
    db: DbOption = DEFAULT_URL,
    actor: Actor = "admin",
    as_json: JsonFlag = False,
) -> None:
    """A sample drawn by `saylau sample` (its draw.json)."""
    _load(f"sample-{kind}", db, file, actor, as_json)


@load_app.command("profile")
@guarded
def load_profile(name: str, db: DbOption = DEFAULT_URL, actor: Actor = "admin") -> None:
    """Choose the protocol profile (kz, ru-federal-2011, plain...)."""
    from ..store import masterdata
    from ..store.db import Database

    database = Database.open(db)
    try:
        with database.write() as session:
            masterdata.set_profile(session, name, actor=actor)
    finally:
        database.close()
    out_console.print(f"protocol profile: {name}")


@app.command("import-official")
@guarded
def import_official(
    file: Path, db: DbOption = DEFAULT_URL, actor: Actor = "admin", as_json: JsonFlag = False
) -> None:
    """Import official results (any file saylau reads) as a dated snapshot; show what changed.

    Example: saylau import-official cec-2024-03-19.csv --db sqlite:///election.db
    """
    from ..store import reconcile
    from ..store.db import Database

    database = Database.open(db)
    try:
        with database.write() as session:
            result = reconcile.import_official(session, file, actor=actor)
    finally:
        database.close()
    if as_json:
        print_json(to_jsonable(result))
        return
    out_console.print(result.summary())
    for c in result.changes[:200]:
        out_console.print(f"  station {c['station']}: {c['line']} {c['before']} -> {c['after']}")
    for st in result.unknown_stations[:50]:
        err_console.print(f"  kept out: station {st} is not in the election")


@audit_app.command("verify")
@guarded
def audit_verify(
    db: DbOption = DEFAULT_URL,
    head: Annotated[str | None, typer.Option(help="The head hash written down earlier.")] = None,
) -> None:
    """Seal pending entries, recompute the audit chain; name the first bad entry (exit 1)."""
    from ..store.audit import seal_pending, verify_chain
    from ..store.db import Database

    database = Database.open(db, migrate=False)
    try:
        seal_pending(database.engine)
        with database.read() as session:
            check = verify_chain(session, expect_head=head)
    finally:
        database.close()
    (out_console if check.ok else err_console).print(check.summary())
    if not check.ok:
        raise typer.Exit(1)
