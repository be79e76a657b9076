"""An election set up from files: commissions, stations, choices, profile, samples, people.

Every file is read with :func:`saylau.io.read_frame` (CSV in any usual encoding and separator,
Excel, Parquet), checked whole, then written in one transaction: a bad row names its file, row
and field and nothing of that file is imported. Re-importing a corrected file updates each
record by its stable code and reports what was added and what changed, field by field; records
absent from the new file are reported, never deleted (submissions may refer to them).

File columns (names case-insensitive; aliases in brackets):

commissions  ``code``, ``name``, ``level``, ``parent`` (empty for the top commission)
stations     ``code`` [station, uik], ``name``, ``commission``, ``registered``
             [voters_on_list], optional ``region`` (default: the commission's top-level
             ancestor below the root)
choices      ``name`` [choice], optional ``code`` (default: the name); ballot order = row order;
             Against all recognised by name in kk/ru/en
people       ``username``, ``role``, optional ``full_name``, ``commission`` (coordinators),
             ``stations`` (observers and interviewers; separated by ``;`` or spaces),
             ``locale`` (kk, ru, en)
incidents    ``code``, ``phase``, ``category`` [label], optional ``examples``
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .._exceptions import DataFormatError, UnknownNameError
from ..domain.choices import is_against_all
from ..domain.profiles import PROFILES, get_profile
from ..io import read_frame
from ..survey.sample import SampleDraw, read_draw
from .accounts import LOCALES, ROLES, create_account, generate_password
from .audit import append_audit
from .models import (
    Account,
    Assignment,
    Choice,
    Commission,
    IncidentCategory,
    SampleStation,
    Setting,
    Station,
)

__all__ = [
    "IMPORTS",
    "ImportReport",
    "import_choices",
    "import_commissions",
    "import_file",
    "import_incident_categories",
    "import_people",
    "import_sample",
    "import_stations",
    "parse_incident_markdown",
    "set_profile",
]

_ROW = "__row"


@dataclasses.dataclass(frozen=True)
class ImportReport:
    """What an import did: records added, changed (with old → new per field), absent.

    ``secrets`` holds the one-time passwords of people added by a people import: shown once
    to the admin, never stored in clear.
    """

    kind: str
    file: str
    added: tuple[str, ...]
    changed: Mapping[str, Mapping[str, tuple[Any, Any]]]
    unchanged: int
    absent: tuple[str, ...]
    secrets: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def summary(self) -> str:
        """One line for the terminal."""
        return (
            f"{self.kind} from {self.file}: {len(self.added)} added, {len(self.changed)} changed, "
            f"{self.unchanged} unchanged, {len(self.absent)} not in the file (kept)"
        )


def _columns(frame: pl.DataFrame, file: str, spec: Mapping[str, tuple[str, ...]], need: set[str]):  # type: ignore[no-untyped-def]
    """Find each wanted column by its name or an alias; a missing required one is an error."""
    by_norm = {re.sub(r"[\s_-]+", "_", c.strip().casefold()): c for c in frame.columns}
    found: dict[str, str] = {}
    for key, aliases in spec.items():
        for a in (key, *aliases):
            if a in by_norm:
                found[key] = by_norm[a]
                break
        else:
            if key in need:
                raise DataFormatError(
                    "required column missing", file=file, row=1, field=key, expected=key
                )
    return found


def _rows(path: str | Path, spec: Mapping[str, tuple[str, ...]], need: set[str]):  # type: ignore[no-untyped-def]
    file = str(path)
    frame, _notes = read_frame(path)
    cols = _columns(frame, file, spec, need)
    out: list[tuple[int, dict[str, str]]] = []
    for rec in frame.to_dicts():
        row = int(rec[_ROW])
        vals = {k: (rec[c] or "").strip() for k, c in cols.items()}
        for k in need:
            if not vals.get(k):
                raise DataFormatError("empty value", file=file, row=row, field=k)
        out.append((row, vals))
    return file, out


def _unique(file: str, rows: Sequence[tuple[int, dict[str, str]]], key: str) -> None:
    seen: dict[str, int] = {}
    for row, vals in rows:
        if vals[key] in seen:
            raise DataFormatError(
                f"duplicate {key} (first on row {seen[vals[key]]})",
                file=file,
                row=row,
                field=key,
                found=vals[key],
            )
        seen[vals[key]] = row


def _upsert(
    session: Session,
    model: Any,
    key_attr: str,
    records: Mapping[str, dict[str, Any]],
    *,
    kind: str,
    file: str,
    actor: str,
) -> ImportReport:
    existing = {getattr(o, key_attr): o for o in session.scalars(select(model))}
    added, changed, same = [], {}, 0
    for code, fields in records.items():
        obj = existing.get(code)
        if obj is None:
            session.add(model(**{key_attr: code, **fields}))
            added.append(code)
            continue
        diff = {f: (getattr(obj, f), v) for f, v in fields.items() if getattr(obj, f) != v}
        if diff:
            for f, (_old, new) in diff.items():
                setattr(obj, f, new)
            changed[code] = diff
        else:
            same += 1
    absent = tuple(sorted(set(existing) - set(records)))
    report = ImportReport(kind, file, tuple(added), changed, same, absent)
    session.flush()
    append_audit(
        session,
        actor=actor,
        action=f"import.{kind}",
        target=Path(file).name,
        detail={
            "added": list(added),
            "changed": {
                k: {f: [str(a), str(b)] for f, (a, b) in d.items()} for k, d in changed.items()
            },
            "absent": list(absent),
        },
    )
    return report


def import_commissions(session: Session, path: str | Path, *, actor: str) -> ImportReport:
    """Load or update the commission hierarchy (see the module docstring for the columns)."""
    spec = {"code": ("id",), "name": (), "level": (), "parent": ("parent_code",)}
    file, rows = _rows(path, spec, {"code", "name", "level"})
    _unique(file, rows, "code")
    codes = {v["code"] for _, v in rows} | set(session.scalars(select(Commission.code)))
    for row, v in rows:
        parent = v.get("parent") or None
        if parent is not None and parent not in codes:
            raise DataFormatError(
                "parent commission unknown", file=file, row=row, field="parent", found=parent
            )
        if parent == v["code"]:
            raise DataFormatError(
                "a commission cannot be its own parent",
                file=file,
                row=row,
                field="parent",
                found=parent,
            )
    records = {
        v["code"]: {"name": v["name"], "level": v["level"], "parent": v.get("parent") or None}
        for _, v in rows
    }
    return _upsert(session, Commission, "code", records, kind="commissions", file=file, actor=actor)


def _int(file: str, row: int, field: str, text: str) -> int:
    try:
        value = int(text.replace(" ", "").replace("\u00a0", ""))
    except ValueError:
        raise DataFormatError(
            "not a whole number",
            file=file,
            row=row,
            field=field,
            expected="integer >= 0",
            found=text,
        ) from None
    if value < 0:
        raise DataFormatError(
            "negative number", file=file, row=row, field=field, expected="integer >= 0", found=text
        )
    return value


def _region_of(commissions: Mapping[str, tuple[str | None, str]], code: str) -> str:
    """Name of the ancestor just below the root (the commission itself when it is top-level)."""
    chain = [code]
    while True:
        parent = commissions.get(chain[-1], (None, ""))[0]
        if parent is None or parent in chain:
            break
        chain.append(parent)
    top = chain[-2] if len(chain) >= 2 else chain[-1]
    return commissions.get(top, (None, top))[1]


def import_stations(session: Session, path: str | Path, *, actor: str) -> ImportReport:
    """Load or update polling stations with their registered voters."""
    spec = {
        "code": ("station", "uik", "precinct"),
        "name": (),
        "commission": ("commission_code",),
        "registered": ("voters_on_list", "voters"),
        "region": (),
    }
    file, rows = _rows(path, spec, {"code", "commission", "registered"})
    _unique(file, rows, "code")
    comms = {c.code: (c.parent, c.name) for c in session.scalars(select(Commission))}
    records = {}
    for row, v in rows:
        if v["commission"] not in comms:
            raise DataFormatError(
                "commission unknown (import the commissions first)",
                file=file,
                row=row,
                field="commission",
                found=v["commission"],
            )
        records[v["code"]] = {
            "name": v.get("name") or v["code"],
            "commission": v["commission"],
            "registered": _int(file, row, "registered", v["registered"]),
            "region": v.get("region") or _region_of(comms, v["commission"]),
        }
    return _upsert(session, Station, "code", records, kind="stations", file=file, actor=actor)


def import_choices(session: Session, path: str | Path, *, actor: str) -> ImportReport:
    """Load or update the ballot (Against all recognised by its name)."""
    file, rows = _rows(path, {"name": ("choice", "party", "candidate"), "code": ("id",)}, {"name"})
    for _, v in rows:
        v.setdefault("code", "")
        v["code"] = v["code"] or v["name"]
    _unique(file, rows, "code")
    records = {
        v["code"]: {"name": v["name"], "position": i, "against_all": is_against_all(v["name"])}
        for i, (_, v) in enumerate(rows)
    }
    return _upsert(session, Choice, "code", records, kind="choices", file=file, actor=actor)


def set_profile(session: Session, name: str, *, actor: str) -> None:
    """Choose the protocol profile (a shipped one: its lines and control relations)."""
    get_profile(name)  # unknown names raise with the list of known ones
    row = session.get(Setting, "profile")
    old = None if row is None else row.value.get("name")
    if row is None:
        session.add(Setting(key="profile", value={"name": name}))
    else:
        row.value = {"name": name}
    append_audit(
        session,
        actor=actor,
        action="election.profile",
        target=name,
        detail={"old": old, "known": sorted(PROFILES)},
    )


def import_sample(
    session: Session, path: str | Path, *, kind: str, actor: str
) -> tuple[ImportReport, SampleDraw]:
    """Load a sample drawn by ``saylau sample`` (its ``draw.json``) as the quick-count or
    exit-poll sample; every sampled station must be a known station."""
    if kind not in ("quick_count", "exit_poll"):
        raise DataFormatError(
            "unknown sample kind", field="kind", expected="quick_count | exit_poll", found=kind
        )
    draw = read_draw(path)
    file = str(path)
    known = set(session.scalars(select(Station.code)))
    for i, st in enumerate(draw.stations, start=1):
        if st not in known:
            raise DataFormatError(
                "sampled station unknown (import the stations first)",
                file=file,
                row=i,
                field="stations",
                found=st,
            )
    old = set(session.scalars(select(SampleStation.station).where(SampleStation.kind == kind)))
    session.execute(delete(SampleStation).where(SampleStation.kind == kind))
    for st, stratum, prob in zip(draw.stations, draw.stratum, draw.prob.tolist(), strict=True):
        session.add(SampleStation(kind=kind, station=st, stratum=str(stratum), prob=float(prob)))
    row = session.get(Setting, f"sample:{kind}")
    record = draw.to_record()
    if row is None:
        session.add(Setting(key=f"sample:{kind}", value=record))
    else:
        row.value = record
    new = set(draw.stations)
    report = ImportReport(
        f"sample:{kind}",
        file,
        tuple(sorted(new - old)),
        {},
        len(new & old),
        tuple(sorted(old - new)),
    )
    append_audit(
        session,
        actor=actor,
        action=f"import.sample.{kind}",
        target=Path(file).name,
        detail={"stations": len(new), "seed": draw.seed},
    )
    return report, draw


def import_people(session: Session, path: str | Path, *, actor: str) -> ImportReport:
    """Add or update people with their roles and assignments; new people get a one-time
    password in the report's ``secrets`` (nothing default, nothing stored in clear)."""
    spec = {
        "username": ("login", "user"),
        "role": (),
        "full_name": ("name",),
        "commission": (),
        "stations": ("station",),
        "locale": ("language", "lang"),
    }
    file, rows = _rows(path, spec, {"username", "role"})
    _unique(file, rows, "username")
    comms = set(session.scalars(select(Commission.code)))
    stations = set(session.scalars(select(Station.code)))
    parsed: dict[str, dict[str, Any]] = {}
    for row, v in rows:
        role = v["role"].casefold()
        if role not in ROLES:
            raise DataFormatError(
                "unknown role",
                file=file,
                row=row,
                field="role",
                expected=" | ".join(ROLES),
                found=v["role"],
            )
        locale = (v.get("locale") or "kk").casefold()
        if locale not in LOCALES:
            raise DataFormatError(
                "unknown locale",
                file=file,
                row=row,
                field="locale",
                expected=" | ".join(LOCALES),
                found=locale,
            )
        commission = v.get("commission") or None
        if role == "coordinator" and commission not in comms:
            raise DataFormatError(
                "a coordinator needs a known commission",
                file=file,
                row=row,
                field="commission",
                found=commission,
            )
        sts = tuple(s for s in re.split(r"[;,\s]+", v.get("stations", "")) if s)
        for s in sts:
            if s not in stations:
                raise DataFormatError(
                    "station unknown", file=file, row=row, field="stations", found=s
                )
        parsed[v["username"]] = {
            "role": role,
            "full_name": v.get("full_name", ""),
            "commission": commission,
            "locale": locale,
            "stations": sts,
        }
    existing = {a.username: a for a in session.scalars(select(Account))}
    added, changed, same, secrets = [], {}, 0, {}
    for username, p in parsed.items():
        acc = existing.get(username)
        if acc is None:
            password = generate_password()
            create_account(
                session,
                username=username,
                password=password,
                actor=actor,
                role=p["role"],
                full_name=p["full_name"],
                commission=p["commission"],
                locale=p["locale"],
                stations=p["stations"],
            )
            secrets[username] = password
            added.append(username)
            continue
        old_st = tuple(
            sorted(
                session.scalars(select(Assignment.station).where(Assignment.account_id == acc.id))
            )
        )
        diff: dict[str, tuple[Any, Any]] = {}
        for f in ("role", "full_name", "commission", "locale"):
            if getattr(acc, f) != p[f]:
                diff[f] = (getattr(acc, f), p[f])
                setattr(acc, f, p[f])
        if old_st != tuple(sorted(p["stations"])):
            diff["stations"] = (old_st, tuple(sorted(p["stations"])))
            session.execute(delete(Assignment).where(Assignment.account_id == acc.id))
            for s in p["stations"]:
                session.add(Assignment(account_id=acc.id, station=s))
        if diff:
            changed[username] = diff
            append_audit(
                session,
                actor=actor,
                action="account.change",
                target=username,
                detail={f: [str(a), str(b)] for f, (a, b) in diff.items()},
            )
        else:
            same += 1
    absent = tuple(sorted(set(existing) - set(parsed)))
    append_audit(
        session,
        actor=actor,
        action="import.people",
        target=Path(file).name,
        detail={"added": added, "changed": sorted(changed)},
    )
    return ImportReport("people", file, tuple(added), changed, same, absent, secrets)


def parse_incident_markdown(text: str) -> list[dict[str, str]]:
    """Categories from the Markdown table of an incident taxonomy (code | phase | category |
    examples).

    >>> parse_incident_markdown("| code | phase | category | examples |\\n|---|---|---|---|\\n"
    ...                         "| VOTE.X | voting | stuffing | bundles |")
    [{'code': 'VOTE.X', 'phase': 'voting', 'category': 'stuffing', 'examples': 'bundles'}]
    """
    out = []
    header: list[str] | None = None
    for line in text.splitlines():
        if not line.strip().startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = [c.casefold() for c in cells]
            continue
        if all(set(c) <= set("-: ") for c in cells):
            continue
        out.append(dict(zip(header, cells, strict=False)))
    return out


def default_incident_categories() -> list[dict[str, str]]:
    """The taxonomy shipped with saylau (``saylau/data/incidents.md``)."""
    text = (resources.files("saylau") / "data" / "incidents.md").read_text(encoding="utf-8")
    return parse_incident_markdown(text)


def import_incident_categories(
    session: Session,
    *,
    actor: str,
    path: str | Path | None = None,
    rows: Sequence[Mapping[str, str]] | None = None,
) -> ImportReport:
    """Add or update incident categories: from a file (Markdown table or any table file), from
    ``rows`` (an admin adding one in the app), or the shipped taxonomy when neither is given."""
    file = "saylau/data/incidents.md" if path is None else str(path)
    if rows is None and path is None:
        rows = default_incident_categories()
    elif rows is None and str(path).lower().endswith(".md"):
        rows = parse_incident_markdown(Path(str(path)).read_text(encoding="utf-8"))
    elif rows is None:
        spec = {"code": (), "phase": (), "category": ("label",), "examples": ()}
        _file, table = _rows(str(path), spec, {"code", "phase", "category"})
        rows = [v for _, v in table]
    assert rows is not None
    records: dict[str, dict[str, Any]] = {}
    for i, r in enumerate(rows, start=1):
        for f in ("code", "phase", "category"):
            if not (r.get(f) or "").strip():
                raise DataFormatError("empty value", file=file, row=i, field=f)
        records[r["code"].strip()] = {
            "phase": r["phase"].strip(),
            "label": r["category"].strip(),
            "examples": (r.get("examples") or "").strip(),
        }
    return _upsert(
        session,
        IncidentCategory,
        "code",
        records,
        kind="incident_categories",
        file=file,
        actor=actor,
    )


#: What an election's master data can be imported from, by kind (the CLI, API and pages offer
#: these; official results are :func:`saylau.store.reconcile.import_official`).
IMPORTS: tuple[str, ...] = (
    "commissions",
    "stations",
    "choices",
    "people",
    "incidents",
    "sample-quick_count",
    "sample-exit_poll",
)


def import_file(session: Session, kind: str, path: str | Path, *, actor: str) -> ImportReport:
    """Import one file of a kind of :data:`IMPORTS` (an unknown kind names the known ones)."""
    if kind not in IMPORTS:
        raise UnknownNameError(
            "unknown import", field="kind", expected=" | ".join(IMPORTS), found=kind
        )
    if kind == "incidents":
        return import_incident_categories(session, actor=actor, path=path)
    if kind.startswith("sample-"):
        report, _draw = import_sample(session, path, kind=kind.removeprefix("sample-"), actor=actor)
        return report
    loaders = {
        "commissions": import_commissions,
        "stations": import_stations,
        "choices": import_choices,
        "people": import_people,
    }
    return loaders[kind](session, path, actor=actor)
