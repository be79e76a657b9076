"""Each web worker seals the audit log now and then: an entry left waiting gets sealed."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import time

from sqlalchemy import text

from saylau.store.audit import own_hash, verify_chain
from saylau.store.db import Database
from saylau.web import Settings, create_app


def test_the_worker_seals_an_entry_that_waits(election: tuple[str, dict[str, str]]) -> None:
    db = Database.open(election[0])
    try:
        app = create_app(Settings(db_url=election[0], seal_period=0.1), db=db)
        at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")

        async def serve_a_while() -> int:
            # the worker's lifespan, as uvicorn runs it (the sealer is started there)
            async with app.router.lifespan_context(app):
                # what a write leaves when its process dies between its commit and its seal
                with db.engine.begin() as c:
                    c.execute(
                        text(
                            "INSERT INTO audit_log (at, actor, action, target, detail, own_hash) "
                            "VALUES (:at, 'obs1', 'submit.protocol', 'protocol:1', '{}', :o)"
                        ),
                        {
                            "at": at,
                            "o": own_hash(at, "obs1", "submit.protocol", "protocol:1", "{}"),
                        },
                    )
                deadline = time.monotonic() + 20  # a bound, not a timing: sealed within 0.1 s
                while time.monotonic() < deadline:
                    with db.engine.connect() as c:
                        waiting = int(
                            c.execute(
                                text("SELECT count(*) FROM audit_log WHERE seq IS NULL")
                            ).scalar_one()
                        )
                    if waiting == 0:
                        break
                    await asyncio.sleep(0.05)
                return waiting

        # a thread of its own: the suite's session browser (Playwright's sync API) keeps an
        # event loop running in the main thread, where asyncio.run() is refused
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(lambda: asyncio.run(serve_a_while())).result()
        assert waiting == 0
        with db.read() as s:
            check = verify_chain(s)
        assert check.ok and check.unsealed == 0
    finally:
        db.close()
