"""Settings of the store that need no database driver to read (the CLI's defaults)."""

from __future__ import annotations

__all__ = ["DEFAULT_URL"]

#: The embedded default: a SQLite file in the working folder.
DEFAULT_URL = "sqlite:///saylau.db"
