"""The service's settings: built once at start-up and handed to :func:`saylau.web.create_app`.

>>> Settings().db_url
'sqlite:///saylau.db'
"""

from __future__ import annotations

import dataclasses

from ..store.audit import SEAL_PERIOD
from ..store.db import DEFAULT_URL

__all__ = ["Settings"]


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the web app reads; nothing is read from the environment deep in the code.

    Parameters
    ----------
    db_url : str
        SQLAlchemy URL (``sqlite:///saylau.db`` by default; ``postgresql+psycopg://...``).
    max_photo_bytes : int
        Largest photo accepted (bytes).
    max_body_bytes : int
        Largest request body accepted (bytes), photo included.
    secure_cookies : bool
        Mark the session cookie ``Secure`` (serve behind HTTPS in production).
    pool_size : int
        Database connections per worker process.
    migrate : bool
        Bring the schema up to date at start-up.
    seal_period : float
        Seconds between two runs of this worker's audit sealer
        (:data:`saylau.store.audit.SEAL_PERIOD`).
    sms_secret : str or None
        The secret the SMS gateway signs its webhook calls with (HMAC-SHA256); no default:
        the SMS webhook is off until it is set.
    """

    db_url: str = DEFAULT_URL
    max_photo_bytes: int = 10 * 2**20
    max_body_bytes: int = 12 * 2**20
    secure_cookies: bool = False
    pool_size: int = 10
    migrate: bool = True
    seal_period: float = SEAL_PERIOD
    sms_secret: str | None = dataclasses.field(default=None, repr=False)
