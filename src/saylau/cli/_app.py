"""The Typer application object and what every command shares: errors, JSON, consoles.

Commands live in sibling modules (one per capability) and register themselves on :data:`app`.
They parse options, call library functions and render; no statistics here.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from .._exceptions import SaylauError, SaylauInputError
from ..results import to_jsonable

__all__ = ["app", "err_console", "guarded", "out_console", "print_json"]

app = typer.Typer(
    name="saylau",
    help="saylau: checks, tabulation, seats, exit polls, quick counts and forensics for "
    "citizen election observers. Run `saylau COMMAND --help` for an example of each command.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

out_console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

P = ParamSpec("P")
R = TypeVar("R")


def print_json(obj: Any) -> None:
    """Write JSON (UTF-8, Kazakh and Russian letters kept as they are) to standard output."""
    sys.stdout.write(json.dumps(to_jsonable(obj), ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn saylau's errors into one readable line on stderr and exit code 2 (1 for others)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except SaylauInputError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", markup=True, soft_wrap=True)
            raise typer.Exit(2) from None
        except SaylauError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", markup=True, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper
