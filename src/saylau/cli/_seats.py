"""CLI command ``saylau seats``: party-list seats from a ``choice,votes`` CSV file.

The file is read here (one readable error per bad row, with file, row and field); the
allocation itself is :func:`saylau.tabulate.seats.allocate`.
"""

from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from .._exceptions import SaylauInputError
from ..io.votes import read_votes_csv
from ..tabulate.rules import get_rules
from ..tabulate.seats import BASES, SeatAllocation, allocate, normalize_method, parse_threshold
from ._app import app, err_console, guarded, out_console, print_json

__all__ = ["seats"]


def _render(result: SeatAllocation) -> None:
    title = f"{result.house_size} seats, {result.method}"
    if result.threshold is not None:
        op = ">=" if result.inclusive_threshold else ">"
        pct = float(result.threshold * 100)
        title += f", threshold {op} {pct:.4g}% of {result.threshold_base} votes"
    table = Table(title=title)
    table.add_column("Choice")
    table.add_column("Votes", justify="right")
    table.add_column("Share", justify="right")
    table.add_column("Quotas", justify="right")
    table.add_column("Passed", justify="center")
    table.add_column("Seats", justify="right")
    for choice, votes in result.votes.items():
        label = f"{choice} (Against all)" if choice == result.against_all else choice
        q = result.quotients.get(choice)
        mark = "yes*" if choice in result.admitted else ("yes" if choice in result.passed else "-")
        table.add_row(
            label,
            f"{votes:,}",
            f"{float(result.shares[choice]) * 100:.2f}%",
            "" if q is None else f"{float(q):.4f}",
            mark,
            str(result.seats[choice]),
        )
    out_console.print(table)
    quota = result.quota
    if quota is not None:
        kind = "quota" if result.method in {"hare", "droop"} else "last quotient"
        exact = f" = {quota}" if isinstance(quota, Fraction) and quota.denominator != 1 else ""
        out_console.print(f"{kind}: {float(quota):,.4f}{exact}; base: {result.base_votes:,} votes")
    if result.admitted:
        out_console.print("* admitted below the threshold (minimum number of parties)")
    for tie in result.ties:
        out_console.print(f"tie: {tie}")


def _payload(result: SeatAllocation, notes: list[str]) -> dict[str, Any]:
    quota = result.quota
    return {
        "seats": result.seats,
        "passed": result.passed,
        "quota": None if quota is None else float(quota),
        "ties": result.ties,
        "quota_exact": None if quota is None else str(quota),
        "method": result.method,
        "house_size": result.house_size,
        "threshold": None if result.threshold is None else float(result.threshold),
        "threshold_base": result.threshold_base,
        "inclusive_threshold": result.inclusive_threshold,
        "base_votes": result.base_votes,
        "against_all": result.against_all,
        "votes": result.votes,
        "shares": {k: float(v) for k, v in result.shares.items()},
        "admitted": result.admitted,
        "warnings": notes,
    }


def _allocate_file(name: str, votes: dict[str, int], **options: Any) -> SeatAllocation:
    """:func:`allocate`, with the file named in any error it raises."""
    try:
        return allocate(votes, **options)
    except SaylauInputError as exc:
        if exc.file is None:
            exc.file = name
        raise


@app.command("seats")
@guarded
def seats(
    file: Annotated[Path, typer.Argument(help="CSV file with a header `choice,votes`.")],
    *,
    n_seats: Annotated[
        int | None, typer.Option("--seats", help="Seats to allocate (house or list tier).")
    ] = None,
    threshold: Annotated[
        str | None, typer.Option("--threshold", help="Threshold, e.g. 5% or 0.05.")
    ] = None,
    method: Annotated[
        str | None,
        typer.Option(
            "--method", help="hare | droop | dhondt | sainte-lague | modified-sainte-lague."
        ),
    ] = None,
    rules: Annotated[
        str | None,
        typer.Option("--rules", help="Rule set setting all of the above, e.g. kz-mazhilis-2023."),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option("--base", help="Threshold base: valid | valid_excl_against_all | cast."),
    ] = None,
    cast: Annotated[
        int | None, typer.Option("--cast", help="Ballots cast (valid + invalid), for --base cast.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Allocate party-list seats from vote totals.

    FILE is a CSV with a header `choice,votes`, one row per party list in
    registration order (a tie goes to the earlier row). A row named
    against_all, "Against all", "Против всех" or "Барлығына қарсы" is the
    Against-all line: counted in the threshold base, never given a seat.
    `--rules` sets house size, threshold, base and method; explicit options
    override it.

    Examples (Kazakhstan's Mazhilis, 19 March 2023 and 10 January 2021):

        saylau seats mazhilis2023.csv --rules kz-mazhilis-2023 --json

        saylau seats mazhilis2021.csv --seats 98 --threshold 7% --method hare
    """
    rs = get_rules(rules) if rules is not None else None
    if rs is not None and rs.decision != "proportional":
        raise SaylauInputError(
            "rule set does not allocate seats proportionally",
            field="--rules",
            expected="a party-list rule set such as kz-mazhilis-2023",
            found=rs.name,
        )
    house = n_seats if n_seats is not None else (rs.seats if rs is not None else None)
    if house is None:
        raise SaylauInputError(
            "give the number of seats or a rule set",
            field="--seats",
            expected="--seats N or --rules NAME",
            found=None,
        )
    how = normalize_method(method) if method is not None else (rs.seat_method if rs else "hare")
    bar = parse_threshold(threshold) if threshold is not None else (rs.threshold if rs else None)
    where = base if base is not None else (rs.threshold_base if rs else "valid")
    if where not in BASES:
        raise SaylauInputError(
            "unknown threshold base", field="--base", expected=" | ".join(BASES), found=where
        )
    votes = read_votes_csv(file)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _allocate_file(
            str(file),
            votes,
            seats=house,
            method=how,
            threshold=bar,
            threshold_base=where,
            inclusive_threshold=rs.inclusive_threshold if rs else True,
            cast=cast,
            tie_break=rs.tie_break if rs else "registration_order",
            min_parties=rs.min_parties if rs is not None else 1,
        )
    notes = [str(w.message) for w in caught]
    if as_json:
        print_json(_payload(result, notes))
    else:
        _render(result)
    for note in notes:
        err_console.print(f"[yellow]warning:[/] {note}", markup=True, soft_wrap=True)
