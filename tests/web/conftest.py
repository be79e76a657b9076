"""Browser fixtures: Playwright driving the system's Chromium (Debian's package, no download).

The browser itself is one session fixture for the whole suite (``tests/conftest.py``):
Playwright's sync API cannot run two instances in one process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import chromium_path

__all__ = ["chromium_path"]

OUTPUT = Path(__file__).resolve().parents[1] / "_output"


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Where the browser tests put their screenshots (tests/_output/)."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT
