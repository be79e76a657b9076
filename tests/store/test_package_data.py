"""The installed package carries every file it reads at run time, and Alembic works from it.

setuptools' ``build_py`` (the step that lays the package out for a wheel: the packages plus
``[tool.setuptools.package-data]``) runs on a copy of the project with the setuptools already
installed (no download), then: every file under ``src/saylau`` that git tracks and that is not
Python source must be in that layout (a template, profile, catalogue or migration template left
out of the package data fails here, as ``store/migrations/script.py.mako`` once did), and
``alembic revision`` run against the laid-out migrations writes a new revision from the shipped
template.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout (the list of tracked files)")
    project = tmp_path_factory.mktemp("project")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(
        ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    out = tmp_path_factory.mktemp("build")
    done = subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py",
         "--build-lib", str(out)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def _tracked_data_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "src/saylau"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [f.removeprefix("src/") for f in listed if not f.endswith(".py")]


def test_layout_carries_every_data_file(layout: Path) -> None:
    names = {p.relative_to(layout).as_posix() for p in layout.rglob("*") if p.is_file()}
    data = _tracked_data_files()
    assert "saylau/store/migrations/script.py.mako" in data  # the list is the real one
    missing = [f for f in data if f not in names]
    assert not missing, f"left out of the package (pyproject package-data): {missing}"
    assert "saylau/store/migrations/versions/0001_initial.py" in names


def test_alembic_revision_from_the_installed_layout(layout: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(layout, site)
    script = (
        "from alembic import command; from saylau.store.db import _config; "
        "command.revision(_config(), message='packaging check', rev_id='9999')"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    written = list((site / "saylau" / "store" / "migrations" / "versions").glob("9999_*.py"))
    assert len(written) == 1
    text = written[0].read_text(encoding="utf-8")
    assert "9999" in text and "packaging check" in text  # the template filled in
