"""The SMS webhook under a burst, against the JSON API posting the same protocol copies.

Loopback only, bounded in count. The small Kazakh election of ``tests/_service.py`` on SQLite
(the embedded default), served by uvicorn in-process; four observers with phones and PINs.

1. SMS: ``N`` signed protocol messages (``P <station> <PIN> 1=... K3=...``, each distinct) from
   the four numbers, posted by ``THREADS`` concurrent gateway threads to
   ``POST /api/v1/sms/inbound``. Each message is stored, its PIN checked (argon2), parsed,
   checked for duplicates, submitted through ``submit`` (validation, audit) and answered.
2. Baseline in the same run: the same ``N`` copies as JSON to ``POST /api/v1/protocols`` with
   bearer tokens, same threads: the web path without the SMS layer.
3. The floor of the SMS path: one argon2 PIN verification, timed alone.

Run: ``PYTHONPATH=src:. .venv/bin/python benchmarks/bench_sms.py`` (under a minute).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import platform
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from saylau.store import sms as store
from saylau.store.accounts import hash_password, verify_password
from saylau.web import Settings, create_app
from tests._service import live_server, protocol, setup_election

N = 240
THREADS = 8
SECRET = b"bench-secret"
PHONES = {
    "obs1": ("+77010000001", "4321", "ALA-1"),
    "obs2": ("+77010000002", "5555", "ALA-1"),
    "obs3": ("+77010000003", "9876", "AST-1"),
}


def sms_text(i: int) -> tuple[str, str]:
    user = list(PHONES)[i % len(PHONES)]
    number, pin, station = PHONES[user]
    p = protocol(300 + i)
    codes = {
        "voters_on_list": "1",
        "issued": "2",
        "in_boxes": "4",
        "invalid": "6",
        "ballots_received": "7",
        "cancelled": "8",
        "Amanat": "K1",
        "Ақ жол": "K2",
        "Барлығына қарсы": "K3",
    }
    body = " ".join(f"{codes[k]}={v}" for k, v in p.items())
    return number, f"P {station} {pin} {body}"


def run(pool_size: int, fn, n: int) -> tuple[float, list[float]]:  # type: ignore[no-untyped-def]
    latencies: list[float] = []

    def one(i: int) -> None:
        t = time.perf_counter()
        fn(i)
        latencies.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(pool_size) as pool:
        list(pool.map(one, range(n)))
    return time.perf_counter() - t0, sorted(latencies)


def report(name: str, wall: float, lat: list[float]) -> float:
    rate = len(lat) / wall
    p99 = lat[int(0.99 * (len(lat) - 1))]
    print(
        f"{name:>10}: {rate:6.1f} /s   p50 {1000 * statistics.median(lat):6.1f} ms   "
        f"p99 {1000 * p99:6.1f} ms"
    )
    return rate


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="saylau-bench-sms-"))
    app = create_app(Settings(db_url=f"sqlite:///{folder / 'b.db'}", sms_secret=SECRET.decode()))
    passwords = setup_election(app.state.db, folder)
    with app.state.db.write() as s:
        for user, (number, pin, _) in PHONES.items():
            store.set_phone(s, user, number, actor="admin", pin=pin)
    print(
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}, "
        f"SQLite, {N} messages, {THREADS} threads"
    )
    with live_server(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        tokens = {}
        for user in PHONES:
            r = client.post(
                "/api/v1/auth/token", json={"username": user, "password": passwords[user]}
            )
            tokens[user] = r.json()["token"]

        def sms(i: int) -> None:
            number, text = sms_text(i)
            body = json.dumps({"id": f"b{i}", "from": number, "text": text}).encode()
            ts = str(int(time.time()))
            sig = hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
            r = client.post(
                "/api/v1/sms/inbound",
                content=body,
                headers={"X-Saylau-Timestamp": ts, "X-Saylau-Signature": "sha256=" + sig},
            )
            assert r.status_code == 200 and r.json()["status"] == "recorded", r.text

        def api(i: int) -> None:
            user = list(PHONES)[i % len(PHONES)]
            lines = protocol(300 + i)
            r = client.post(
                "/api/v1/protocols",
                headers={"Authorization": f"Bearer {tokens[user]}"},
                json={
                    "station": PHONES[user][2],
                    "idempotency_key": str(uuid.uuid4()),
                    "lines": lines,
                },
            )
            assert r.status_code == 201, r.text

        api_rate = report("JSON API", *run(THREADS, api, N))
        sms_rate = report("SMS", *run(THREADS, sms, N))
    stored = hash_password("4321")
    t = time.perf_counter()
    for _ in range(20):
        verify_password(stored, "4321")
    print(f"argon2 PIN check alone: {1000 * (time.perf_counter() - t) / 20:.1f} ms")
    print(f"ratio SMS / JSON API throughput: {sms_rate / api_rate:.2f}")
    app.state.db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
