"""A report's inputs from the observer service's database (``saylau report --db URL``).

The official protocols of the latest imported snapshot, the agreed copy of each station
(the coordinators' consensus) and every incident report with its latest verification, read
through the store's own queries; the database is opened read-only in intent (no migration).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from .._exceptions import DataFormatError
from ..io.incidents import INCIDENT_COLUMNS

__all__ = ["inputs_from_db"]


def inputs_from_db(url: str) -> dict[str, Any]:
    """``official``, ``copies``, ``incidents`` and ``head_counts`` (each None when the service
    holds none) from the service's DB.

    Raises
    ------
    DataFormatError
        When the database holds no official results yet.
    """
    from ..store import Database
    from ..store.headcounts import head_counts
    from ..store.reconcile import consensus_table, official_table
    from ..web.page_queries import incidents

    db = Database.open(url, migrate=False)
    try:
        with db.read() as session:
            official = official_table(session)
            if official is None:
                raise DataFormatError(
                    "no official results imported yet",
                    file=url.rsplit("@", maxsplit=1)[-1],  # never the password of a URL
                    expected="saylau import-official FILE --db URL first",
                )
            copies = consensus_table(session)
            rows = incidents(session, None, limit=10**9)
            counts = head_counts(session)
    finally:
        db.close()
    inc = pl.DataFrame(
        [
            {
                "station": r.station,
                "region": r.region,
                "category": r.category,
                "phase": r.phase,
                "verification": r.verification,
            }
            for r in rows
        ],
        schema={c: pl.Utf8 for c in INCIDENT_COLUMNS},
    )
    return {
        "official": official,
        "copies": copies if copies.stations else None,
        "incidents": inc if inc.height else None,
        "head_counts": counts if counts.frame.height else None,
    }
