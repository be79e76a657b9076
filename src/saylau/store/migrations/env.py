"""Alembic environment: runs with the connection handed over by :func:`saylau.store.db.upgrade`."""

from __future__ import annotations

from typing import Any

from alembic import context

from saylau.store.models import Base


def _run(config: Any) -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # pragma: no cover - only when run by the alembic command line
        from sqlalchemy import create_engine

        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=Base.metadata)
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


_config: Any
try:
    _config = context.config
except AttributeError:  # imported outside a migration run (pytest's doctest collection)
    _config = None
if _config is not None:
    _run(_config)
