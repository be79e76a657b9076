"""Browser fixtures: Playwright driving the system's Chromium (Debian's package, no download)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

OUTPUT = Path(__file__).resolve().parents[1] / "_output"


def chromium_path() -> str:
    """The system Chromium; a clear failure (not a skip) when it is not installed."""
    for candidate in (
        os.environ.get("SAYLAU_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail(
        "Chromium not found: install Debian's package (`apt-get install chromium`, as .ci/run "
        "does) or point SAYLAU_CHROMIUM at a Chromium executable",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Where the browser tests put their screenshots (tests/_output/)."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT
