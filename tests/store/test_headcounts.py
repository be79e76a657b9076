"""Head counts through the service's store into the library's comparison (issue 12, part 1).

A simulated election with known padded stations (``simulate_head_counts``) is set up in a real
database (SQLite and an embedded PostgreSQL): its stations, ballot, profile and official
protocols imported from files, one observer account per counting observer; every observer's
head counts go through :func:`saylau.store.submissions.submit`, the same append-only path as
the web and SMS reports. The service's comparison must then find the padded stations and no
clean one beyond the stated family-wise level, and equal the library run on the simulator's own
tables (the service adds no statistics of its own).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select

from saylau.store.accounts import load_user
from saylau.store.db import Database
from saylau.store.headcounts import head_counts, turnout_check
from saylau.store.live import live_estimates
from saylau.store.masterdata import (
    import_choices,
    import_commissions,
    import_people,
    import_stations,
    set_profile,
)
from saylau.store.models import Account
from saylau.store.reconcile import import_official
from saylau.store.submissions import submit
from saylau.turnout.headcount import turnout_excess
from saylau.turnout.simulate import simulate_head_counts
from saylau.web.live_view import headcount_view


def _setup(db: Database, folder: Path, seed: int) -> tuple[object, dict[str, int]]:
    sim = simulate_head_counts(
        stations=150, counted=70, padded=4, double_share=0.3, regions=3, rng=seed
    )
    frame = sim.table.frame
    regions = sorted(set(frame.get_column("region").cast(pl.Utf8).to_list()))
    (folder / "commissions.csv").write_text(
        "code,name,level,parent\nCEC,CEC,central,\n"
        + "".join(f"R{i},{r},territorial,CEC\n" for i, r in enumerate(regions)),
        encoding="utf-8",
    )
    reg = {r: f"R{i}" for i, r in enumerate(regions)}
    (folder / "stations.csv").write_text(
        "code,name,commission,registered\n"
        + "".join(
            f"{s},{s},{reg[str(r)]},{n}\n"
            for s, r, n in frame.select("station", "region", "voters_on_list").iter_rows()
        ),
        encoding="utf-8",
    )
    (folder / "choices.csv").write_text(
        "name\n" + "".join(f"{c.name}\n" for c in sim.table.choices), encoding="utf-8"
    )
    observers = sim.counts.frame.select("station", "observer").unique().sort("observer")
    (folder / "people.csv").write_text(
        "username,role,stations\n"
        + "".join(f"o{o},observer,{s}\n" for s, o in observers.iter_rows()),
        encoding="utf-8",
    )
    frame.drop("region").write_csv(folder / "official.csv")
    with db.write() as s:
        set_profile(s, "ru-federal-2018", actor="admin")
        import_commissions(s, folder / "commissions.csv", actor="admin")
        import_stations(s, folder / "stations.csv", actor="admin")
        import_choices(s, folder / "choices.csv", actor="admin")
        import_people(s, folder / "people.csv", actor="admin")
        import_official(s, folder / "official.csv", actor="admin")
        ids = dict(s.execute(select(Account.username, Account.id)).all())
    return sim, ids


@pytest.mark.parametrize("seed", [5])
def test_padded_stations_found_through_the_store(db_url: str, tmp_path: Path, seed: int) -> None:
    db = Database.open(db_url)
    sim, ids = _setup(db, tmp_path, seed)
    by_observer = sim.counts.frame.partition_by("observer", as_dict=True)  # type: ignore[attr-defined]
    for (obs,), rows in by_observer.items():
        with db.read() as s:
            user = load_user(s, ids[f"o{obs}"])
        assert user is not None
        readings = [
            {"checkpoint": cp, "count": n, "official": off}
            for cp, n, off in rows.select("checkpoint", "count", "official").iter_rows()
        ]
        stored = submit(
            db, user, kind="headcount", station=rows["station"][0], idem_key=f"hc-{obs}",
            body={"readings": readings},
        )  # fmt: skip
        assert stored.created
        again = submit(
            db, user, kind="headcount", station=rows["station"][0], idem_key=f"hc-{obs}",
            body={"readings": readings},
        )  # fmt: skip
        assert not again.created and again.id == stored.id  # a phone retry is not a second report
    with db.read() as s:
        counts = head_counts(s)
        out = turnout_check(s)
    assert counts.frame.height == sim.counts.frame.height
    assert out["status"] == "ok" and out["basis"] == "official protocols"
    # the same comparison as the library on the simulator's own tables (observer ids differ only)
    lib = turnout_excess(sim.table, sim.counts)
    assert out["tested"] == lib.tested == 70
    assert out["pairs"] == lib.pairs
    assert out["excess"] == pytest.approx(lib.estimate)
    assert sorted(out["flagged"]) == sorted(lib.flagged)
    # known truth: flagged stations are padded ones (Holm at 1% over 70 stations), most are found
    assert set(out["flagged"]) <= set(sim.padded)
    assert len(out["flagged"]) >= 3
    low, high = out["ci95"]
    truth = sum(sim.extra_ballots.values())
    assert low <= truth <= high
    assert out["finding"]["alarm"] is True
    # the dashboard and the API read it from the live cache: the same figures, computed once
    # until a new report arrives
    first = live_estimates(db)["head_counts"]
    assert first["flagged"] == out["flagged"] and first["excess"] == pytest.approx(out["excess"])
    assert live_estimates(db)["head_counts"]["computed_at"] == first["computed_at"]
    # the dashboard's panel quotes the measured false-alarm rate with the finding
    panel = headcount_view(first, None, str)
    assert panel["finding"]["alarm"] is True and "0.7%" in panel["finding"]["false_alarms"]
    (obs,), rows = next(iter(by_observer.items()))
    with db.read() as s:
        user = load_user(s, ids[f"o{obs}"])
    assert user is not None
    station = rows["station"][0]
    submit(
        db, user, kind="headcount", station=station, idem_key="hc-late",
        body={"readings": [{"checkpoint": "20:00", "count": 1}]},
    )  # fmt: skip
    assert live_estimates(db)["head_counts"]["computed_at"] != first["computed_at"]
    db.close()


def test_headcount_body_is_checked_and_stored_raw_first(db_url: str, tmp_path: Path) -> None:
    from saylau._exceptions import DataFormatError
    from saylau.store.models import Submission

    db = Database.open(db_url)
    sim, ids = _setup(db, tmp_path, 7)
    station, obs = sim.counts.frame.select("station", "observer").row(0)
    with db.read() as s:
        user = load_user(s, ids[f"o{obs}"])
    assert user is not None
    bad = [
        ({"readings": []}, "readings"),
        ({"readings": [{"checkpoint": "25:00", "count": 5}]}, "readings[0].checkpoint"),
        ({"readings": [{"checkpoint": "10:00", "count": -1}]}, "readings[0].count"),
        ({"readings": [{"checkpoint": "10:00", "count": 5}, {"checkpoint": "10.00", "count": 9}]},
         "readings[1].checkpoint"),
        ({"readings": [{"checkpoint": "жабылу", "count": 5, "who": "x"}]}, "readings[0]"),
    ]  # fmt: skip
    for i, (body, field) in enumerate(bad):
        with pytest.raises(DataFormatError) as err:
            submit(db, user, kind="headcount", station=station, idem_key=f"b{i}", body=body)
        assert err.value.field == field
    with db.read() as s:
        assert s.scalar(select(Submission.id).where(Submission.kind == "headcount")) is None
    # Kazakh and Russian names of the close are read; a falling count is kept and flagged
    ok = submit(
        db, user, kind="headcount", station=station, idem_key="ok",
        body={"readings": [{"checkpoint": "12:00", "count": 300},
                           {"checkpoint": "Жабылу", "count": 250}]},
    )  # fmt: skip
    assert ok.created
    with db.read() as s:
        counts = head_counts(s)
    assert counts.frame.get_column("minute").to_list() == [720, 24 * 60]
    assert [p.field for p in counts.problems] == ["count"]
    db.close()
