"""CLI commands ``saylau bundle keygen | create | verify``: signed evidence bundles.

Thin shell over :mod:`saylau.report.bundle`: parse, call, print. A passphrase is never an
argument (it would show in the process list and the shell history): it is asked for, or read
from the environment variable named by ``--passphrase-env``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from .._exceptions import SaylauInputError
from ..report.bundle import create_bundle, extract_verified, generate_keypair, verify_bundle
from ._app import app, err_console, guarded, out_console, print_json

__all__ = ["bundle_app"]

bundle_app = typer.Typer(
    help="Signed evidence bundles: the report, its inputs and a manifest of hashes in one "
    "archive signed with the organisation's Ed25519 key.",
    no_args_is_help=True,
)
app.add_typer(bundle_app, name="bundle")

PassEnv = Annotated[
    str | None,
    typer.Option(
        "--passphrase-env",
        metavar="VAR",
        help="Read the private key's passphrase from this environment variable.",
    ),
]


def _passphrase(env: str | None, *, ask: bool, confirm: bool = False) -> bytes | None:
    if env is not None:
        value = os.environ.get(env)
        if not value:
            raise SaylauInputError(
                "the passphrase variable is not set or empty", field="--passphrase-env", found=env
            )
        return value.encode()
    if ask:
        text: str = typer.prompt(
            "Passphrase", hide_input=True, confirmation_prompt=confirm, err=True
        )
        return text.encode()
    return None


@bundle_app.command("keygen")
@guarded
def keygen_command(
    private_key: Annotated[Path, typer.Argument(help="New file for the private key (0600).")],
    public_key: Annotated[
        Path | None,
        typer.Option("--public", help="New file for the public key (default: KEY.pub)."),
    ] = None,
    encrypt: Annotated[
        bool, typer.Option("--encrypt", help="Encrypt the private key with a passphrase.")
    ] = False,
    passphrase_env: PassEnv = None,
) -> None:
    """Make the organisation's Ed25519 key pair (the private key stays with the organisation).

    Example: [cyan]saylau bundle keygen org.key --encrypt[/]
    """
    secret = (
        _passphrase(passphrase_env, ask=encrypt, confirm=True)
        if (encrypt or passphrase_env)
        else None
    )
    keys = generate_keypair(private_key, public_key, passphrase=secret)
    out_console.print(
        f"private key: {keys.private_key} (mode 0600"
        + (", encrypted" if keys.encrypted else ", NOT encrypted")
        + f")\npublic key:  {keys.public_key}\nfingerprint: {keys.fingerprint}",
        markup=False,
    )


@bundle_app.command("create")
@guarded
def create_command(
    out: Annotated[Path, typer.Argument(help="The bundle to write (a .zip archive).")],
    files: Annotated[list[Path], typer.Argument(help="Files or folders to pack.")],
    key: Annotated[Path, typer.Option("--key", help="The organisation's private key.")],
    passphrase_env: PassEnv = None,
    ask: Annotated[
        bool, typer.Option("--ask-passphrase", help="Ask for the private key's passphrase.")
    ] = False,
) -> None:
    """Pack the report and its inputs with a signed manifest of their SHA-256 hashes.

    Example: [cyan]saylau bundle create evidence.zip report/ data.csv --key org.key[/]
    """
    made = create_bundle(
        out, files, private_key=key, passphrase=_passphrase(passphrase_env, ask=ask)
    )
    out_console.print(
        f"{made.bundle}: {len(made.files)} files, signed by {made.signer}\n"
        f"SHA-256 of the bundle: {made.sha256}",
        markup=False,
    )


@bundle_app.command("verify")
@guarded
def verify_command(
    bundle: Annotated[Path, typer.Argument(help="The bundle to check.")],
    public_key: Annotated[
        Path, typer.Option("--public-key", help="The public key you trust (PEM or ssh-ed25519).")
    ],
    extract: Annotated[
        Path | None,
        typer.Option("--extract", help="After a successful check, extract the files here."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Check the signature and every file of a bundle; name each file that differs, is
    missing or is extra. Exit code 0 only for a bundle that verifies.

    Example: [cyan]saylau bundle verify evidence.zip --public-key org.key.pub[/]
    """
    check = verify_bundle(bundle, public_key=public_key)
    if json_out:
        print_json(check)
    else:
        verdict = "VERIFIED" if check.ok else "REFUSED"
        out_console.print(
            f"{verdict}: {check.bundle} (signature {check.signature}, key {check.key})",
            style=None if check.ok else "bold red",
            markup=False,
        )
        for f in check.files:
            out_console.print(
                f"  {f.status:<8} {f.path}" + (f": {f.detail}" if f.detail else ""), markup=False
            )
        for p in check.problems:
            err_console.print(f"refused: {p}", markup=False, soft_wrap=True)
    if not check.ok:
        raise typer.Exit(1)
    if extract is not None:
        written = extract_verified(check, extract)
        out_console.print(f"{len(written)} files extracted to {extract}", markup=False)
