"""Observers' copies of protocols in the headerless layout of the gnhq-parser project.

The observer project «Гражданин наблюдатель» published its volunteers' copies of the precinct
protocols next to the official figures as ``;``-separated files without a header: station
number, commission level, source (``GN`` observer copy, ``OF`` official), number of complaints,
then the protocol's lines in their printed order, then the votes per choice in ballot order.
:func:`read_observer_copies` reads them into a :class:`~saylau.domain.table.ProtocolTable`
whose lines are those of the given profile (keyed by meaning), so that copies and official
protocols go through the same checks and comparisons.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "result_412_GN.csv"
>>> row = "54;UIK;GN;0;2402;2000;0;1582;20;398;20;1580;35;1565;110;76;88;34;3;0;0;0;"
>>> _ = p.write_text(row + "162;144;3;352;53;849;2\\n" + row + "1;2;3;x;5;6;7\\n")
>>> t = read_observer_copies(p)
>>> t.stations, t.registered().tolist(), t.leader().name, t.rejected[0].row
(1, [2402], 'Единая Россия', 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from .._exceptions import DataFormatError, EmptyInputError
from ..domain.profiles import get_profile
from ..domain.table import ProtocolTable, RowProblem

__all__ = ["DUMA_2011_PARTIES", "read_observer_copies"]

#: Parties of the 4 Dec 2011 State Duma ballot in ballot order (lines 19-25 of the protocol):
#: gnhq-info/gnhq-parser ``Model/Protocol412.php`` and the CEC's list of parties.
DUMA_2011_PARTIES = (
    "Справедливая Россия",
    "ЛДПР",
    "Патриоты России",
    "КПРФ",
    "Яблоко",
    "Единая Россия",
    "Правое дело",
)


def read_observer_copies(
    path: str | Path,
    *,
    profile: str = "ru-federal-2011",
    choices: Sequence[str] = DUMA_2011_PARTIES,
    region: str = "Город Москва",
) -> ProtocolTable:
    """Read a headerless file of protocol copies (gnhq-parser layout).

    Parameters
    ----------
    path : str or Path
    profile : str, default "ru-federal-2011"
        The protocol layout: its lines, in order, follow the four leading columns.
    choices : sequence of str
        Names of the choices whose votes follow the lines, in ballot order.
    region : str
        Region name given to every row (the files hold one city).

    Returns
    -------
    ProtocolTable
        ``station`` and ``uik`` are the station number, ``source`` the copy's source; a row
        with a cell that is not a whole number is kept out and listed in ``rejected``.

    Raises
    ------
    DataFormatError
        A row with a different number of fields than the layout needs.
    """
    p = Path(path)
    prof = get_profile(profile)
    lines = list(prof.line_keys)
    want = 4 + len(lines) + len(choices)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataFormatError("file not found", file=str(p)) from None
    records = [r for r in text.splitlines() if r.strip()]
    if not records:
        raise EmptyInputError("file has no data rows", file=str(p))
    data: dict[str, list[object]] = {k: [] for k in ("station", "region", "uik", "source")}
    for k in (*lines, *choices):
        data[k] = []
    rejected = []
    for i, rec in enumerate(records, start=1):
        cells = [c.strip() for c in rec.split(";")]
        if len(cells) != want:
            raise DataFormatError(
                "wrong number of fields",
                file=str(p),
                row=i,
                expected=f"{want} (4 + {len(lines)} lines + {len(choices)} choices)",
                found=len(cells),
            )
        numbers: list[int | None] = []
        bad = None
        for name, cell in zip((*lines, *choices), cells[4:], strict=True):
            if cell in ("", "-"):
                numbers.append(None)
            elif cell.isdigit():
                numbers.append(int(cell))
            else:
                bad = RowProblem(str(p), i, cells[0], name, "not a whole number", ">= 0", cell)
                break
        if bad is not None:
            rejected.append(bad)
            continue
        data["station"].append(cells[0])
        data["region"].append(region)
        data["uik"].append(cells[0])
        data["source"].append(cells[2])
        for name, v in zip((*lines, *choices), numbers, strict=True):
            data[name].append(v)
    schema: dict[str, pl.DataType] = {k: pl.Utf8() for k in ("station", "region", "uik", "source")}
    schema |= {k: pl.Int64() for k in (*lines, *choices)}
    frame = pl.DataFrame(data, schema=schema)
    table = ProtocolTable.from_frame(
        frame, profile=prof, choices=list(choices), levels=["region", "uik"], source=str(p)
    )
    return ProtocolTable(
        frame=table.frame,
        profile=table.profile,
        choices=table.choices,
        levels=table.levels,
        source=table.source,
        rejected=tuple(rejected),
    )
