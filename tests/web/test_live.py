"""The live independent count: a quick count from the sample's consensus copies, cached in the
database and recomputed only when reports arrive (SQLite and PostgreSQL, real HTTP server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import polars as pl
import pytest

from saylau.store import masterdata
from saylau.store.accounts import create_account
from saylau.survey.frame import SamplingFrame
from saylau.survey.sample import draw_sample
from saylau.web import Settings, create_app
from tests._service import live_server, protocol

ALL = ["ALA-1", "ALA-2", "ALA-3", "AST-1", "AST-2", "AST-3"]
VOTES = {
    "ALA-1": (400, 150, 40),
    "ALA-2": (300, 200, 30),
    "ALA-3": (250, 250, 20),
    "AST-1": (500, 100, 20),
    "AST-2": (350, 300, 50),
    "AST-3": (420, 180, 10),
}


@pytest.fixture
def served(
    election: tuple[str, dict[str, str]], tmp_path: Path
) -> Iterator[tuple[str, dict[str, str], tuple[str, ...]]]:
    app = create_app(Settings(db_url=election[0]))
    db = app.state.db
    passwords = election[1]
    # the quick-count sample: 2 of 3 stations in each region, drawn by the survey module
    frame = SamplingFrame.from_frame(
        pl.DataFrame(
            {
                "station": ALL,
                "registered": [1500, 1200, 900, 1100, 1300, 1000],
                "region": ["Алматы қаласы"] * 3 + ["Astana qalasy"] * 3,
            }
        )
    )
    draw = draw_sample(frame, n=4, strata=["region"], rng=2024)
    (tmp_path / "draw.json").write_text(json.dumps(draw.to_record()), encoding="utf-8")
    with db.write() as s:
        masterdata.import_sample(s, tmp_path / "draw.json", kind="quick_count", actor="admin")
        masterdata.import_sample(s, tmp_path / "draw.json", kind="exit_poll", actor="admin")
        create_account(
            s,
            username="iv",
            password="iv-password-1",
            role="interviewer",
            actor="admin",
            stations=tuple(ALL),
        )
        create_account(
            s,
            username="pvt",
            password="pvt-password-1",
            role="observer",
            actor="admin",
            stations=tuple(ALL),
        )
    with live_server(app) as base:
        yield base, {**passwords, "pvt": "pvt-password-1", "iv": "iv-password-1"}, draw.stations
    db.close()


def _client(base: str, user: str, password: str) -> httpx.Client:
    r = httpx.post(f"{base}/api/v1/auth/token", json={"username": user, "password": password})
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {r.json()['token']}"})


def test_quick_count_live_and_cached(served: tuple[str, dict[str, str], tuple[str, ...]]) -> None:
    base, passwords, sampled = served
    with (
        _client(base, "pvt", passwords["pvt"]) as obs,
        _client(base, "coord_ala", passwords["coord_ala"]) as coord,
    ):
        assert coord.get("/api/v1/live").json()["quick_count"]["status"] == (
            "no sampled station reported yet"
        )
        for st in sampled:
            r = obs.post(
                "/api/v1/protocols",
                json={"station": st, "idempotency_key": st, "lines": protocol(*VOTES[st])},
            )
            assert r.status_code == 201
        first = coord.get("/api/v1/live").json()["quick_count"]
        again = coord.get("/api/v1/live").json()["quick_count"]
        assert first["status"] == "ok"
        assert again["computed_at"] == first["computed_at"]  # cached: nothing new arrived
        assert first["stations_reported"] == 4 and first["stations_sampled"] == 4
        # 2 of 3 stations reported in each stratum: equal weights N_h / r_h = 3/2, so the
        # combined ratio estimator is the plain ratio of the reported sums (Cochran 1977, 6.11)
        valid = sum(sum(VOTES[s]) for s in sampled)
        amanat = sum(VOTES[s][0] for s in sampled)
        shares = {row["choice"]: row for row in first["shares"]}
        assert shares["Amanat"]["estimate"] == pytest.approx(amanat / valid, rel=1e-12)
        assert shares["Amanat"]["ci_low"] < amanat / valid < shares["Amanat"]["ci_high"]
        # an observer's correction arrives: the estimate is recomputed once
        st = sampled[0]
        fixed = VOTES[st][0] + 10, VOTES[st][1] - 10, VOTES[st][2]
        mine = obs.get("/api/v1/protocols", params={"station": st}).json()
        obs.post(
            "/api/v1/protocols",
            json={
                "station": st,
                "idempotency_key": st + "-fix",
                "lines": protocol(*fixed),
                "replaces": mine[0]["id"],
            },
        )
        later = coord.get("/api/v1/live").json()["quick_count"]
        assert later["computed_at"] != first["computed_at"]
        shares = {row["choice"]: row for row in later["shares"]}
        assert shares["Amanat"]["estimate"] == pytest.approx((amanat + 10) / valid, rel=1e-12)
        assert later["comparison"] is None  # no official results yet
        # the official results arrive: the live count is set against them
        keys = list(protocol())
        off = (
            "station,"
            + ",".join(keys)
            + "\n"
            + "".join(
                st + "," + ",".join(str(v) for v in protocol(*VOTES[st]).values()) + "\n"
                for st in ALL
            )
        )
        with _client(base, "admin", passwords["admin"]) as admin:
            up = admin.post("/api/v1/official", files={"file": ("official.csv", off.encode())})
            assert up.status_code == 201, up.text
        final = coord.get("/api/v1/live").json()["quick_count"]
        official = {
            c: sum(VOTES[s][i] for s in ALL)
            for i, c in enumerate(["Amanat", "Ақ жол", "Барлығына қарсы"])
        }
        assert final["official"] == official
        rows = {r["choice"]: r for r in final["comparison"]["rows"]}
        assert set(rows) == set(official)
        assert final["comparison"]["joint"] is not None


def test_exit_poll_live_is_the_survey_module_on_the_batches(
    served: tuple[str, dict[str, str], tuple[str, ...]],
) -> None:
    from saylau.survey.exitpoll import estimate_exitpoll
    from saylau.survey.interviews import interviews_from_frame

    base, passwords, sampled = served
    rng = np.random.default_rng(11)
    answers = ["Amanat", "Ақ жол", "Барлығына қарсы", "бас тартты", "Aq jol"]
    batches = {
        st: [
            {
                "choice": str(rng.choice(answers, p=[0.45, 0.3, 0.1, 0.1, 0.05])),
                "gender": str(rng.choice(["әйел", "ер"])),
            }
            for _ in range(30)
        ]
        for st in sampled
    }
    with (
        _client(base, "iv", passwords["iv"]) as iv,
        _client(base, "analyst1", passwords["analyst1"]) as an,
    ):
        assert an.get("/api/v1/live").json()["exit_poll"]["status"] == "no interview batch yet"
        for st, records in batches.items():
            r = iv.post(
                "/api/v1/interviews",
                json={"station": st, "idempotency_key": st, "records": records},
            )
            assert r.status_code == 201, r.text
        got = an.get("/api/v1/live").json()["exit_poll"]
    assert got["status"] == "ok" and got["interviews"] == 30 * len(sampled)
    # the same records handed to the survey module directly
    frame = pl.DataFrame([{**rec, "station": st} for st, recs in batches.items() for rec in recs])
    interviews = interviews_from_frame(frame, choices=["Amanat", "Ақ жол", "Барлығына қарсы"])
    stations = pl.DataFrame(
        {
            "station": ALL,
            "registered": [1500, 1200, 900, 1100, 1300, 1000],
            "region": ["Алматы қаласы"] * 3 + ["Astana qalasy"] * 3,
        }
    )
    direct = estimate_exitpoll(
        interviews,
        SamplingFrame.from_frame(stations),
        sampled=sampled,
        strata="region",
        missing_strata="ignore",
    )
    shares = {row["choice"]: row["estimate"] for row in got["shares"]}
    for choice, est in zip(direct.choices, direct.estimate, strict=True):
        assert shares[choice] == pytest.approx(float(est), rel=1e-9)
