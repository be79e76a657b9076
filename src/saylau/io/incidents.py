"""Incident reports from a file: a table (CSV, Excel, Parquet) or JSON lines.

One row per report. The columns are recognised by meaning, in English, Russian or Kazakh:
the category (``category``, ``code``, ``violation``, ``категория``, ``санат``), the region
(``region``, ``district``, ``регион``, ``район``, ``өңір``), the station (``station``, ``uik``,
``участок``, ``учаскe``), the phase and the coordinator's verification (``verification``,
``status``: ``unverified``, ``confirmed``, ``rejected``; absent means unverified). JSON lines in
the layout of the Golos "map of violations" (``violations``: phase → list of codes,
``district``) are read as well. The service's own incidents come from its database instead.

A row without a category stops the reading with the file, row and field named.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "incidents.csv"
>>> _ = p.write_text("code,region,status\\nVOTE.STUFFING,Алматы,confirmed\\n"
...                  "COUNT.HIDDEN,Астана,\\n", encoding="utf-8")
>>> read_incidents(p).select("category", "region", "verification").rows()
[('VOTE.STUFFING', 'Алматы', 'confirmed'), ('COUNT.HIDDEN', 'Астана', 'unverified')]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from .._exceptions import DataFormatError, EmptyInputError

__all__ = ["INCIDENT_COLUMNS", "VERIFICATION", "read_incidents"]

#: The columns of the table :func:`read_incidents` returns.
INCIDENT_COLUMNS = ("station", "region", "category", "phase", "verification")

#: Verification statuses, in the order a report lists them (verified first).
VERIFICATION = ("confirmed", "unverified", "rejected")

_NAMES: dict[str, tuple[str, ...]] = {
    "category": ("category", "code", "violation", "type", "категория", "код", "тип", "санат"),
    "region": ("region", "district", "oblast", "регион", "район", "область", "өңір", "облыс"),
    "station": ("station", "uik", "related_to_uik", "precinct", "участок", "уик", "учаске"),
    "phase": ("phase", "stage", "этап", "кезең"),
    "verification": ("verification", "status", "verified", "проверка", "статус", "тексеру"),
}
_STATUS = {
    "": "unverified",
    "unverified": "unverified",
    "confirmed": "confirmed",
    "verified": "confirmed",
    "true": "confirmed",
    "yes": "confirmed",
    "подтверждено": "confirmed",
    "расталды": "confirmed",
    "rejected": "rejected",
    "false": "unverified",
    "no": "unverified",
    "отклонено": "rejected",
    "қабылданбады": "rejected",
}


def _json_lines(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError("cannot read the incidents", file=str(path), found=str(exc)) from None
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFormatError(
                "not a JSON object", file=str(path), row=i, expected="one JSON object a line"
            ) from exc
        if not isinstance(rec, dict):
            raise DataFormatError("not a JSON object", file=str(path), row=i, found=type(rec))
        violations = rec.get("violations", {} if "url" in rec and "text" in rec else None)
        if isinstance(violations, dict) and "category" not in rec:
            phase, codes = next(iter(violations.items()), ("", []))
            # a Golos report may carry no code at all: kept, as "unclassified"
            rec = {**rec, "phase": phase, "category": codes[0] if codes else "unclassified"}
        rec["__row"] = i
        rows.append({str(k).lower(): v for k, v in rec.items()})
    return rows


def _table_rows(path: Path) -> list[dict[str, Any]]:
    from .readers import read_frame

    frame, _notes = read_frame(path)
    frame = frame.rename({c: c.strip().lower() for c in frame.columns if c != "__row"})
    return frame.to_dicts()


def _pick(row: dict[str, Any], field: str) -> str:
    for name in _NAMES[field]:
        value = row.get(name)
        if value is not None:
            return str(value).strip()
    return ""


def read_incidents(path: str | Path) -> pl.DataFrame:
    """Read incident reports into ``station, region, category, phase, verification``.

    Parameters
    ----------
    path : str or Path
        CSV (plain, zipped, gzipped), Excel, Parquet, or JSON lines (``.jsonl``).

    Returns
    -------
    polars.DataFrame
        One row per report, in the file's order.

    Raises
    ------
    DataFormatError
        No category column, a row without a category, or an unknown verification status.
    EmptyInputError
        No report in the file.
    """
    p = Path(path)
    if not p.exists():
        raise DataFormatError("file not found", file=str(p))
    is_json = p.suffix.lower() in (".jsonl", ".json", ".ndjson")
    rows = _json_lines(p) if is_json else _table_rows(p)
    if not rows:
        raise EmptyInputError("no incident report in the file", file=str(p))
    if not is_json and not any(n in rows[0] for n in _NAMES["category"]):
        raise DataFormatError(
            "no category column",
            file=str(p),
            field="category",
            expected=" | ".join(_NAMES["category"]),
            found=", ".join(k for k in rows[0] if k != "__row"),
        )
    out: dict[str, list[str]] = {c: [] for c in INCIDENT_COLUMNS}
    for row in rows:
        where = row.get("__row")
        category = _pick(row, "category")
        if not category:
            raise DataFormatError(
                "incident without a category",
                file=str(p),
                row=int(where) if where is not None else None,
                field="category",
                expected="a category code",
                found="empty",
            )
        status = _STATUS.get(_pick(row, "verification").lower())
        if status is None:
            raise DataFormatError(
                "unknown verification status",
                file=str(p),
                row=int(where) if where is not None else None,
                field="verification",
                expected=" | ".join(VERIFICATION),
                found=_pick(row, "verification"),
            )
        out["station"].append(_pick(row, "station"))
        out["region"].append(_pick(row, "region"))
        out["category"].append(category)
        out["phase"].append(_pick(row, "phase"))
        out["verification"].append(status)
    return pl.DataFrame(out, schema={c: pl.Utf8 for c in INCIDENT_COLUMNS})
