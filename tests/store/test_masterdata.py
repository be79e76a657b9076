"""An election set up from files: re-import reports what changed; a bad row names its file, row
and field and imports nothing of that file (both engines)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from saylau._exceptions import DataFormatError
from saylau.store import masterdata
from saylau.store.accounts import verify_password
from saylau.store.db import Database
from saylau.store.models import Account, Assignment, Choice, Station
from tests._service import STATIONS


@pytest.fixture
def db(election: tuple[str, dict[str, str]]) -> Iterator[tuple[Database, dict[str, str]]]:
    database = Database.open(election[0])
    yield database, election[1]
    database.close()


def test_setup_from_files(db: tuple[Database, dict[str, str]]) -> None:
    database, passwords = db
    with database.read() as s:
        stations = {st.code: st for st in s.scalars(select(Station))}
        choices = list(s.scalars(select(Choice).order_by(Choice.position)))
        obs1 = s.scalar(select(Account).where(Account.username == "obs1"))
        assert obs1 is not None
        assigned = set(
            s.scalars(select(Assignment.station).where(Assignment.account_id == obs1.id))
        )
    assert len(stations) == 6
    assert stations["ALA-1"].region == "Алматы қаласы"  # top-level ancestor below the root
    assert stations["AST-2"].registered == 1300
    assert [c.name for c in choices] == ["Amanat", "Ақ жол", "Барлығына қарсы"]
    assert [c.against_all for c in choices] == [False, False, True]
    assert assigned == {"ALA-1", "ALA-2"}
    # one-time passwords: random, different, stored only as argon2 hashes
    assert len(set(passwords.values())) == len(passwords)
    assert obs1.password_hash.startswith("$argon2id$")
    assert verify_password(obs1.password_hash, passwords["obs1"])


def test_reimport_updates_by_code_and_reports_changes(
    db: tuple[Database, dict[str, str]], tmp_path: Path
) -> None:
    database, _ = db
    fixed = STATIONS.replace("ALA-2,Мектеп №40,ALA-2,1200", "ALA-2,Мектеп №40,ALA-2,1250")
    fixed += "ALA-4,Жаңа мектеп,ALA-3,800\n"
    path = tmp_path / "stations-v2.csv"
    path.write_text(fixed, encoding="utf-8")
    with database.write() as s:
        report = masterdata.import_stations(s, path, actor="admin")
    assert report.added == ("ALA-4",)
    assert dict(report.changed) == {"ALA-2": {"registered": (1200, 1250)}}
    assert report.unchanged == 5
    with database.read() as s:
        assert s.get(Station, "ALA-2").registered == 1250  # type: ignore[union-attr]


BAD_ROWS = [
    ("AST-9,Mektep,AST-3,-5", "registered"),
    ("AST-9,Mektep,NOPE,500", "commission"),
    ("ALA-1,Дубль,ALA-1,500", "code"),
    ("AST-9,Mektep,AST-3,көп", "registered"),
]


def test_bad_row_names_file_row_field_and_imports_nothing(
    db: tuple[Database, dict[str, str]], tmp_path: Path
) -> None:
    database, _ = db
    for line, field in BAD_ROWS:
        # a good correction on row 4 and a bad new row 8 (row 1 is the header)
        text = STATIONS.replace("ALA-3,Колледж,ALA-3,900", "ALA-3,Колледж,ALA-3,950") + line
        path = tmp_path / "bad.csv"
        path.write_text(text + "\n", encoding="utf-8")
        with pytest.raises(DataFormatError) as err, database.write() as s:
            masterdata.import_stations(s, path, actor="admin")
        assert err.value.file == str(path)
        assert err.value.row == 8, line
        assert err.value.field == field, line
        assert f"{path}, row 8, field {field}" in str(err.value)
        with database.read() as s:
            assert s.get(Station, "ALA-3").registered == 900  # type: ignore[union-attr]
            assert s.get(Station, "AST-9") is None
