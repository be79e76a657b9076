"""saylau's command line: a thin Typer shell over the library.

Each capability registers its commands from its own module on the shared :data:`app`.
"""

from __future__ import annotations

from . import (  # noqa: F401  (register commands)
    _bundle,
    _calibrate,
    _columns,
    _exitpoll,
    _forensics,
    _plot,
    _protocols,
    _seats,
    _service,
    _survey,
)
from ._app import app

__all__ = ["app", "main"]

from . import _turnout  # noqa: F401  (register the turnout commands)


def main() -> None:
    """Entry point of the ``saylau`` console script."""
    app()
