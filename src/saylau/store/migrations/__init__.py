"""Alembic migrations of the observer service's schema (run by :func:`saylau.store.upgrade`)."""
