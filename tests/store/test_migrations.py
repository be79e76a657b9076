"""The shipped migrations build the schema the models declare, and undo it, on both engines."""

from __future__ import annotations

from sqlalchemy import inspect

from saylau.store.db import HEAD, current_revision, downgrade, make_engine, upgrade
from saylau.store.models import Base


def test_upgrade_to_head_and_back_to_base(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == HEAD
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set(Base.metadata.tables)
        for name, table in Base.metadata.tables.items():
            columns = {c["name"] for c in inspect(engine).get_columns(name)}
            assert columns == set(table.columns.keys()), name
        downgrade(engine)
        assert current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
