"""The offline field app (/app/) as observers use it: Debian's Chromium driven by Playwright on a
phone-sized screen, a real uvicorn server process on loopback, a real SQLite database.

What each test shows (issue 10):

* reports typed with no connection wait on the phone, survive closing the page, and reach the
  database exactly once each when the connection comes back;
* a report the server refuses stays on the phone with the reason, and its correction is
  accepted as a new version;
* the server killed (SIGKILL) in the middle of the drain and restarted on the same port and
  database: everything recorded exactly once;
* a second phone of the same observer learns what the first sent and cannot overwrite it.
* a report waiting on the phone survives the browser quitting (a persistent profile);
* an interviewer's batch and an observer's head counts (a new version at each checkpoint) go
  through the same outbox.

Playwright's ``context.set_offline`` does not reach a service worker's own requests
(microsoft/playwright#2311). The app's worker never handles /api/ (the page sends the reports
itself, so the emulated loss of connection applies to them); that the app opens with no server
at all is shown with the server process dead, in the kill test.

Screenshots go to a temporary folder; with ``SAYLAU_SCREENSHOTS=1`` they are written to
``docs/screenshots/`` for the README ("An observer's day").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from saylau.store.db import Database
from saylau.store.models import AuditEntry, Blob, Submission
from tests._service import free_port, protocol

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
pytestmark = pytest.mark.parametrize("election", ["sqlite"], indirect=True)


# ------------------------------------------------------------------ a server process
class ServerProcess:
    """``uvicorn`` serving saylau in a process of its own, so that it can be killed."""

    def __init__(self, db_url: str, port: int, log: Path) -> None:
        self.db_url, self.port, self.log = db_url, port, log
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "SAYLAU_DB": self.db_url,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        }
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory",
                 "saylau.web._serve:app_from_environment", "--host", "127.0.0.1",
                 "--port", str(self.port), "--log-level", "warning"],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/api/v1/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, as a power cut or the OOM killer would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)


@pytest.fixture
def served(election: tuple[str, dict[str, str]], tmp_path: Path) -> Iterator[Any]:
    url, passwords = election
    server = ServerProcess(url, free_port(), tmp_path / "server.log")
    server.start()
    db = Database.open(url, migrate=False)
    try:
        yield server, passwords, db
    finally:
        server.kill()
        db.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the screenshots go: docs/screenshots/ when SAYLAU_SCREENSHOTS=1, else tmp."""
    if os.environ.get("SAYLAU_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path


# ------------------------------------------------------------------ what the observer does
def open_app(context: Any, base: str) -> Any:
    page = context.new_page()
    page.goto(f"{base}/app/")
    page.wait_for_selector("body[data-ready=true]")
    return page


def sign_in(page: Any, user: str, password: str) -> None:
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#work:not([hidden])")
    page.wait_for_selector("body[data-ready=true]")
    # the service worker has kept the app: it opens from now on without a connection
    assert page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")


def tab(page: Any, name: str) -> None:
    page.click(f".tab[data-tab={name}]")


def type_protocol(page: Any, station: str, lines: dict[str, int | None]) -> None:
    tab(page, "protocol")
    page.select_option("#station", station)
    for key, value in lines.items():
        page.fill(f"#protocol-form input[data-key='{key}']", "" if value is None else str(value))


def queue_protocol(page: Any, station: str, lines: dict[str, int | None]) -> None:
    type_protocol(page, station, lines)
    page.click("#protocol-form button[type=submit]")


def queue_incident(page: Any, station: str, category: str, text: str) -> None:
    tab(page, "incident")
    page.select_option("#station", station)
    page.select_option("#category", category)
    page.fill("#description", text)
    page.click("#incident-form button[type=submit]")


def states(page: Any) -> dict[str, str]:
    """Item key -> waiting | sent | rejected | corrected, as the outbox shows it."""
    return dict(
        page.eval_on_selector_all(
            "#items li", "els => els.map(e => [e.dataset.key, e.dataset.state])"
        )
    )


def wait_states(page: Any, want: dict[str, int], timeout: float = 30) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        now = states(page)
        counts = {s: list(now.values()).count(s) for s in want}
        if counts == want:
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"outbox {now} never reached {want}")
        page.wait_for_timeout(150)


def stored(db: Database, username: str) -> list[Submission]:
    from saylau.store.models import Account

    with db.read() as s:
        acc = s.scalar(select(Account.id).where(Account.username == username))
        rows = list(
            s.scalars(
                select(Submission).where(Submission.account_id == acc).order_by(Submission.id)
            )
        )
        s.expunge_all()
        return rows


def big_photo(path: Path) -> Path:
    """A 3000×2000 photo as a phone camera makes it (PNG, drawn with Pillow)."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (3000, 2000), "white")
    draw = ImageDraw.Draw(im)
    for y in range(100, 1900, 60):
        draw.line([(150, y), (2850, y)], fill=(30, 30, 30), width=6)
    im.save(path)
    return path


# ------------------------------------------------------------------ (a) offline, three reports
def test_offline_reports_survive_closing_and_drain_once(
    chromium: Any, served: Any, shots: Path, tmp_path: Path
) -> None:
    server, passwords, db = served
    ctx = chromium.new_context(**PHONE, locale="kk-KZ")
    ctx.set_default_timeout(15_000)
    page = open_app(ctx, server.base)
    page.screenshot(path=str(shots / "fieldapp-1-login.png"))
    sign_in(page, "obs1", passwords["obs1"])
    assert page.evaluate("document.documentElement.lang") == "kk"

    ctx.set_offline(True)
    assert "off" in (page.get_attribute("#net", "class") or "").split()
    queue_protocol(page, "ALA-1", protocol(400, 150, 40))
    queue_incident(page, "ALA-2", "VOTE.STUFFING", "Жәшікке бір топ бюллетень салынды, 14:20")
    # the third report: a protocol of the other station, with a big photo reduced on the phone
    type_protocol(page, "ALA-2", protocol(300, 200, 30))
    page.set_input_files("#photo", str(big_photo(tmp_path / "protocol.png")))
    page.wait_for_selector("#photo-note:not([hidden])")
    assert "1600×1067" in page.inner_text("#photo-note")
    page.screenshot(path=str(shots / "fieldapp-2-protocol.png"), full_page=True)
    page.click("#protocol-form button[type=submit]")
    tab(page, "outbox")
    queued = wait_states(page, {"waiting": 3})
    assert stored(db, "obs1") == []  # nothing left the phone
    page.screenshot(path=str(shots / "fieldapp-3-offline-outbox.png"), full_page=True)
    page.close()

    page = open_app(ctx, server.base)  # the page closed and opened again, still offline
    tab(page, "outbox")
    assert states(page) == queued  # the outbox survived on the phone
    ctx.set_offline(False)
    sent = wait_states(page, {"sent": 3})
    assert set(sent) == set(queued)
    page.screenshot(path=str(shots / "fieldapp-4-drained.png"), full_page=True)

    rows = stored(db, "obs1")
    assert sorted(r.idem_key for r in rows) == sorted(queued)  # exactly those three, once each
    assert sorted(r.kind for r in rows) == ["incident", "protocol", "protocol"]
    assert all(r.body.get("device_time") for r in rows)  # the phone's clock travels with them
    photo = next(r.photo for r in rows if r.photo)
    with db.read() as s:
        blob = s.get(Blob, photo)
        assert blob is not None and blob.media_type == "image/jpeg"
        content = blob.content
    from PIL import Image

    assert Image.open(io.BytesIO(content)).size == (1600, 1067)  # 3000×2000 scaled to 1600
    ctx.close()


def audit_actions(db: Database) -> list[tuple[str, str]]:
    with db.read() as s:
        return [(a.action, a.target) for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


# ------------------------------------------------------------------ (b) refused, then corrected
def test_refused_report_stays_with_reason_and_is_corrected_as_new_version(
    chromium: Any, served: Any, shots: Path, tmp_path: Path
) -> None:
    server, passwords, db = served
    ctx = chromium.new_context(**PHONE, locale="en-GB")
    ctx.set_default_timeout(15_000)
    page = open_app(ctx, server.base)
    sign_in(page, "obs3", passwords["obs3"])
    queue_protocol(page, "AST-1", protocol(400, 150, 40))
    tab(page, "outbox")
    wait_states(page, {"sent": 1})
    [first] = stored(db, "obs3")

    # a correction sent with a line left empty: the server refuses it, the phone keeps it
    page.click("#items li[data-state=sent] button.correct")
    assert page.input_value("#protocol-form input[data-key=Amanat]") == "400"  # filled in
    fixed = protocol(410, 140, 40)
    type_protocol(page, "AST-1", {**fixed, "invalid": None})
    page.click("#protocol-form button[type=submit]")
    tab(page, "outbox")
    wait_states(page, {"sent": 1, "rejected": 1})
    reason = page.inner_text("#items li[data-state=rejected] .reason")
    assert "protocol line missing" in reason and "lines.invalid" in reason, reason
    page.screenshot(path=str(shots / "fieldapp-5-rejected.png"), full_page=True)
    assert [r.id for r in stored(db, "obs3")] == [first.id]  # the refusal changed nothing
    assert ("refused", "POST /api/v1/protocols") in audit_actions(db)  # and was audited

    # corrected and sent again: accepted as a new version of the first copy
    page.click("#items li[data-state=rejected] button.correct")
    assert "lines.invalid" in page.inner_text("#protocol-correcting")
    assert page.input_value("#protocol-form input[data-key=Amanat]") == "410"
    page.fill("#protocol-form input[data-key=invalid]", str(fixed["invalid"]))
    page.click("#protocol-form button[type=submit]")
    tab(page, "outbox")
    wait_states(page, {"sent": 2, "corrected": 1})
    rows = stored(db, "obs3")
    assert len(rows) == 2 and rows[1].replaces == first.id
    assert rows[1].body["lines"] == fixed
    assert rows[0].body["lines"] == protocol(400, 150, 40)  # the first version is still there

    # a file that is not a picture: the phone says so, the server refuses it with the reason
    tab(page, "protocol")
    fake = tmp_path / "protocol.jpg"
    fake.write_bytes(b"%PDF-1.7\n this is a document, not a photo\n")
    type_protocol(page, "AST-1", fixed)
    page.set_input_files("#photo", str(fake))
    page.wait_for_selector("#photo-note:not([hidden])")
    page.click("#protocol-form button[type=submit]")
    tab(page, "outbox")
    wait_states(page, {"sent": 2, "corrected": 1, "rejected": 1})
    reason = page.inner_text("#items li[data-state=rejected] .reason")
    assert "not an image" in reason and "(photo)" in reason, reason
    assert len(stored(db, "obs3")) == 2
    ctx.close()


# ------------------------------------------------------------------ (c) SIGKILL mid-drain
def test_server_killed_in_the_middle_of_the_drain(chromium: Any, served: Any, shots: Path) -> None:
    server, passwords, db = served
    ctx = chromium.new_context(**PHONE, locale="kk-KZ")
    ctx.set_default_timeout(15_000)
    page = open_app(ctx, server.base)
    sign_in(page, "obs1", passwords["obs1"])
    server.kill()  # no server at all from here: the reports wait on the phone
    queue_protocol(page, "ALA-1", protocol(400, 150, 40))
    queue_protocol(page, "ALA-2", protocol(300, 200, 30))
    queue_incident(page, "ALA-1", "VOTE.STUFFING", "Бір адам бірнеше бюллетень салды")
    queue_protocol(page, "ALA-1", protocol(410, 140, 40))  # a correction of the first copy
    queue_incident(page, "ALA-2", "VOTE.STUFFING", "Бақылаушыны шығарып жіберді")
    queue_protocol(page, "ALA-2", protocol(310, 190, 30))  # a correction of the second
    tab(page, "outbox")
    queued = wait_states(page, {"waiting": 6})
    page.close()

    page = open_app(ctx, server.base)  # the app opens from the phone: the server is dead
    tab(page, "outbox")
    assert states(page) == queued
    page.wait_for_selector("#net.off")  # the phone is online, the server does not answer
    assert "байланыс жоқ" in page.inner_text("#items")  # no connection: the oldest, tried first
    page.screenshot(path=str(shots / "fieldapp-6-no-server.png"), full_page=True)

    # a slow network (250 ms per answer), the server back, the drain starts ...
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions",
             {"offline": False, "latency": 250, "downloadThroughput": -1,
              "uploadThroughput": -1})  # fmt: skip
    server.start()
    page.click("#send-now")
    deadline = time.monotonic() + 30
    while len(stored(db, "obs1")) < 2:
        assert time.monotonic() < deadline, "the drain did not start"
        time.sleep(0.02)
    server.kill()  # ... and the server is killed in the middle of it
    at_kill = len(stored(db, "obs1"))
    assert 2 <= at_kill < 6, at_kill
    server.start()  # same port, same database; the phone retries on its own (backoff)
    wait_states(page, {"sent": 6}, timeout=60)

    rows = stored(db, "obs1")
    keys = [r.idem_key for r in rows]
    assert sorted(keys) == sorted(queued) and len(set(keys)) == 6  # each exactly once
    protocols = [r for r in rows if r.kind == "protocol"]
    firsts = {r.station: r.id for r in protocols if r.replaces is None}
    assert len(firsts) == 2  # one first copy per station, each corrected once
    corrections = {r.station: r.replaces for r in protocols if r.replaces is not None}
    assert corrections == firsts
    ctx.close()


# ------------------------------------------------------------------ (d) a second phone
def test_second_device_sees_what_the_first_sent_and_cannot_overwrite_it(
    chromium: Any, served: Any, shots: Path
) -> None:
    server, passwords, db = served
    phone_a = chromium.new_context(**PHONE, locale="kk-KZ")
    phone_a.set_default_timeout(15_000)
    a = open_app(phone_a, server.base)
    sign_in(a, "obs1", passwords["obs1"])
    queue_protocol(a, "ALA-1", protocol(400, 150, 40))
    queue_incident(a, "ALA-1", "VOTE.STUFFING", "Жәшікке бюллетень салынды")
    tab(a, "outbox")
    sent_a = wait_states(a, {"sent": 2})
    [v1, incident] = stored(db, "obs1")
    v1_hash = v1.body_hash

    # a new phone of the same observer learns both reports before it sends anything
    phone_b = chromium.new_context(**PHONE, locale="kk-KZ")
    phone_b.set_default_timeout(15_000)
    b = open_app(phone_b, server.base)
    sign_in(b, "obs1", passwords["obs1"])
    tab(b, "outbox")
    assert wait_states(b, {"sent": 2}) == sent_a
    assert "серверден білді" in b.inner_text("#items")  # learned from the server
    b.screenshot(path=str(shots / "fieldapp-7-second-device.png"), full_page=True)

    # replaying the first phone's entry with another body is refused
    answer = b.evaluate(
        """async ([key]) => {
             const me = await (await fetch('/api/v1/me/assignment')).json();
             const r = await fetch('/api/v1/protocols', {method: 'POST',
               headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token},
               body: JSON.stringify({station: 'ALA-1', idempotency_key: key,
                                     lines: {voters_on_list: 1}})});
             return [r.status, await r.json()];
           }""",
        [v1.idem_key],
    )
    assert answer[0] == 409 and answer[1]["field"] == "idempotency_key", answer
    # another observer replaying it as it was is refused too (the key is not theirs)
    login = {"username": "obs2", "password": passwords["obs2"]}
    token = httpx.post(f"{server.base}/api/v1/auth/token", json=login).json()["token"]
    r = httpx.post(
        f"{server.base}/api/v1/protocols",
        headers={"Authorization": f"Bearer {token}"},
        json={"station": "ALA-1", "idempotency_key": v1.idem_key, "lines": v1.body["lines"],
              "device_time": v1.body["device_time"]},
    )  # fmt: skip
    assert r.status_code == 409 and "another person" in r.json()["message"], r.text
    assert [x.id for x in stored(db, "obs1")] == [v1.id, incident.id] and stored(db, "obs2") == []

    # the second phone corrects the copy: a new version naming the first, nothing overwritten
    b.click(f"#items li[data-key='{v1.idem_key}'] button.correct")
    type_protocol(b, "ALA-1", protocol(410, 140, 40))
    b.click("#protocol-form button[type=submit]")
    tab(b, "outbox")
    wait_states(b, {"sent": 3})
    v2 = stored(db, "obs1")[-1]
    assert v2.replaces == v1.id

    # the first phone, not knowing, corrects the old version: refused, kept with the reason
    a.click(f"#items li[data-key='{v1.idem_key}'] button.correct")
    type_protocol(a, "ALA-1", protocol(420, 130, 40))
    a.click("#protocol-form button[type=submit]")
    tab(a, "outbox")
    wait_states(a, {"rejected": 1, "sent": 3})  # and it learned the newer version meanwhile
    assert f"already replaced by {v2.id}" in a.inner_text("#items li[data-state=rejected]")
    # corrected again, it now names the newest version
    a.click("#items li[data-state=rejected] button.correct")
    a.click("#protocol-form button[type=submit]")
    tab(a, "outbox")
    wait_states(a, {"sent": 4, "corrected": 1})
    rows = stored(db, "obs1")
    assert [r.replaces for r in rows if r.kind == "protocol"] == [None, v1.id, v2.id]
    assert rows[0].body_hash == v1_hash  # the first copy is exactly as it was sent
    refusals = [t for act, t in audit_actions(db) if act == "refused"]
    assert refusals.count("POST /api/v1/protocols") == 3  # each refusal audited
    phone_a.close()
    phone_b.close()


# ------------------------------------------------------------------ an interviewer's batch
def test_interviewer_batch_typed_offline_is_sent_once(chromium: Any, served: Any) -> None:
    server, passwords, db = served
    ctx = chromium.new_context(**PHONE, locale="kk-KZ")
    ctx.set_default_timeout(15_000)
    page = open_app(ctx, server.base)
    sign_in(page, "int1", passwords["int1"])
    visible = page.eval_on_selector_all(".tab:not([hidden])", "els => els.map(e => e.dataset.tab)")
    assert visible == ["interviews", "outbox"]  # no protocol or incident form for this role
    ctx.set_offline(True)
    page.fill("#band", "10-12")
    answers = [("Amanat", "female", "18-29"), ("Ақ жол", "male", "30-44"), ("refused", "", "")]
    rows = page.locator("#interview-rows tbody tr")
    for i, (choice, gender, age) in enumerate(answers):
        row = rows.nth(i)
        row.locator("select[name=choice]").select_option(choice)
        row.locator("select[name=gender]").select_option(gender)
        row.locator("select[name=age_band]").select_option(age)
    page.click("#interviews-form button[type=submit]")
    tab(page, "outbox")
    wait_states(page, {"waiting": 1})
    assert stored(db, "int1") == []
    ctx.set_offline(False)
    wait_states(page, {"sent": 1})
    [batch] = stored(db, "int1")
    assert batch.kind == "interviews" and batch.station == "ALA-1"
    assert batch.body["records"] == [
        {"band": "10-12", "choice": c, "gender": g or None, "age_band": a or None}
        for c, g, a in answers
    ]
    ctx.close()


# ------------------------------------------------------------------ head counts through the day
def test_head_counts_grow_through_the_day_as_versions(chromium: Any, served: Any) -> None:
    server, passwords, db = served
    ctx = chromium.new_context(**PHONE, locale="ru-RU")
    ctx.set_default_timeout(15_000)
    page = open_app(ctx, server.base)
    sign_in(page, "obs2", passwords["obs2"])  # Russian, station ALA-1
    ctx.set_offline(True)
    tab(page, "headcount")
    rows = page.locator("#headcount-rows tbody tr")
    rows.nth(0).locator("input[name=checkpoint]").fill("10:00")
    rows.nth(0).locator("input[name=count]").fill("120")
    rows.nth(0).locator("input[name=official]").fill("118")
    page.click("#headcount-form button[type=submit]")
    # the phone's clock is put back two hours (a time-zone fix, a dead battery) ...
    made = page.evaluate("Date.now()") / 1000
    page.clock.set_system_time(dt.datetime.fromtimestamp(made - 2 * 3600, tz=dt.UTC))
    # ... and the next checkpoint is typed: the morning's reading is filled in, the new one below
    tab(page, "headcount")
    assert rows.nth(0).locator("input[name=count]").input_value() == "120"
    assert not page.is_hidden("#headcount-previous")
    rows.nth(1).locator("input[name=checkpoint]").fill("закрытие")
    rows.nth(1).locator("input[name=count]").fill("260")
    page.click("#headcount-form button[type=submit]")
    tab(page, "outbox")
    wait_states(page, {"waiting": 2})
    assert stored(db, "obs2") == []
    ctx.set_offline(False)
    wait_states(page, {"sent": 2})
    first, second = stored(db, "obs2")
    assert first.kind == second.kind == "headcount" and second.replaces == first.id
    # made "earlier" by the phone's clock, the correction still went after its original
    assert second.body["device_time"] < first.body["device_time"]
    morning = {"checkpoint": "10:00", "count": 120, "official": 118}
    assert first.body["readings"] == [morning]
    assert second.body["readings"] == [
        morning,
        {"checkpoint": "закрытие", "count": 260, "official": None},
    ]
    ctx.close()


# ------------------------------------------------------------------ the browser closed
def test_outbox_survives_closing_the_browser(chromium: Any, served: Any, tmp_path: Path) -> None:
    from tests.web.conftest import chromium_path

    server, passwords, db = served
    profile = tmp_path / "phone-profile"  # the phone's browser profile, kept between runs

    def launch() -> Any:
        ctx = chromium.browser_type.launch_persistent_context(
            str(profile), executable_path=chromium_path(), headless=True, **PHONE
        )
        ctx.set_default_timeout(15_000)
        return ctx

    ctx = launch()
    page = open_app(ctx, server.base)
    sign_in(page, "obs3", passwords["obs3"])
    ctx.set_offline(True)
    queue_incident(page, "AST-1", "VOTE.STUFFING", "Ballots dropped in a bundle at 14:20")
    tab(page, "outbox")
    queued = wait_states(page, {"waiting": 1})
    ctx.close()  # the browser quits with the report still on the phone
    assert stored(db, "obs3") == []

    ctx = launch()  # the phone's browser started again, with a connection
    page = open_app(ctx, server.base)
    tab(page, "outbox")
    assert wait_states(page, {"sent": 1}) == {k: "sent" for k in queued}
    assert [r.idem_key for r in stored(db, "obs3")] == list(queued)
    ctx.close()
