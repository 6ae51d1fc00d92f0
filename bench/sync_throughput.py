"""Back-registration throughput: 10,000 captured items to the reference main server, clean and flapping.

    .venv/bin/python bench/sync_throughput.py                      # SQLite and PostgreSQL (if reachable), clean and flapping
    .venv/bin/python bench/sync_throughput.py --stores sqlite --links clean --items 20000 --batch-size 50
    .venv/bin/python bench/sync_throughput.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

For each store (SQLite; PostgreSQL in a schema of its own, dropped afterwards) and each link (clean:
straight to the server; flapping: through tests/service/sync/proxy.py, which resets 3 % of requests
and 3 % of answers and goes down for 0.05-0.3 s every 0.3-1.0 s, as in test_flapping.py) it captures
`--items` items into a fresh outbox, drains them with one sender against a fresh reference server and
checks exactly-once. Side by side it prints items/s, CPU per item of the sender's thread, the
reference server and the PostgreSQL backend, SQL statements and commits per batch, and the cores other
processes used meanwhile (a busy machine makes the rates noisy; the CPU and statement figures much less
so). Then PASS/FAIL against issue #18's targets: ≥ 3,000 items/s on SQLite, ≥ 1,500 on PostgreSQL, and
the flapping link costing at most 2 × the clean rate. The reference server's raw rates (its store in
process, and over HTTP) are printed first as the ceiling.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests
from flask import Flask
from harness import CpuMeter
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.exc import OperationalError
from sync_support import migrated_app, store_url

from core.config import Config, normalise_database_url
from core.extensions import db
from sync.models import OutboxItem
from sync.reference_server.store import Store
from sync.sender import Sender
from sync.settings import SyncSettings
from tests.service.sync.conftest import (
    FAST,
    ROOT,
    ReferenceServer,
    assert_exactly_once,
    capture,
    payload_for,
)

KINDS = ("stock_move", "order", "work_order", "prescription")
TARGETS = {"SQLite": 3000, "PostgreSQL": 1500}  # items/s, issue #18 point 7
FLAP_COST = 2.0  # the flapping link may cost at most this many times the clean link's time per item
# How the sender waits after failures is measured as deployed: the product's breaker and backoff, not
# the tests' fast ones (with those, a flapping link looked 9 × cheaper than it was).
AS_DEPLOYED = ("SYNC_BREAKER_FAILURES", "SYNC_BREAKER_COOLDOWN_SECONDS", "SYNC_BREAKER_COOLDOWN_CAP_SECONDS",
               "SYNC_BREAKER_QUICK_TRIALS",
               "SYNC_BACKOFF_BASE_SECONDS", "SYNC_BACKOFF_CAP_SECONDS", "SYNC_IN_PROGRESS_RETRY_SECONDS")
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
# The same chaos as tests/service/sync/test_flapping.py.
CHAOS = {"reset_request_rate": 0.03, "reset_response_rate": 0.03, "up_seconds": (0.3, 1.0), "down_seconds": (0.05, 0.3)}


@dataclass
class Result:
    store: str
    link: str
    items: int
    seconds: float
    batches: int
    runs: int
    sender_cpu: float
    server_cpu: float
    backend_cpu: float | None
    statements: int
    commits: int
    other_cores: float
    proxy: str = ""

    @property
    def rate(self) -> float:
        return self.items / self.seconds

    @property
    def cpu_bound_rate(self) -> float:
        """Items/s if the sender, the server and PostgreSQL took turns on a CPU of their own, waiting for nothing else."""
        return self.items / (self.sender_cpu + self.server_cpu + (self.backend_cpu or 0.0))

    def row(self) -> str:
        per_item = 1e6 / self.items
        backend = f"{self.backend_cpu * per_item:8.0f}" if self.backend_cpu is not None else f"{'-':>8}"
        return (f"{self.store:<11} {self.link:<9} {self.rate:8.0f} {self.seconds:7.1f} {self.batches:7d} {self.runs:5d}"
                f" {self.sender_cpu * per_item:9.0f} {self.server_cpu * per_item:8.0f} {backend}"
                f" {self.cpu_bound_rate:9.0f} {self.statements / self.batches:9.1f} {self.commits / self.batches:8.1f}"
                f" {self.other_cores:7.2f}")


HEADER = (f"{'store':<11} {'link':<9} {'items/s':>8} {'wall s':>7} {'batches':>7} {'runs':>5}"
          f" {'sender':>9} {'server':>8} {'PG':>8} {'CPU-bound':>9} {'SQL/batch':>9} {'commits':>8} {'other':>7}\n"
          f"{'':<11} {'':<9} {'':>8} {'':>7} {'':>7} {'':>5}"
          f" {'CPU µs/item (sender thread, server, PG backend)':>27}{'':>9} {'items/s':>9} {'':>9} {'/batch':>8}"
          f" {'cores':>7}")


# --- the reference server alone -----------------------------------------------------------------

def raw_store_rate(directory: Path, items: int, batch: int) -> float:
    store = Store(str(directory / "raw.sqlite3"))
    batches = _batches(items, batch)
    started = time.perf_counter()
    for body in batches:
        store.register_batch("raw", body["items"])
    elapsed = time.perf_counter() - started
    store.close()
    return items / elapsed


def raw_http_rate(directory: Path, items: int, batch: int) -> float:
    server = ReferenceServer(directory, "raw-http").start()
    batches = _batches(items, batch, start=10_000_000)
    try:
        with requests.Session() as session:
            started = time.perf_counter()
            for body in batches:
                response = session.post(server.url + "/api/v1/batch", json=body, timeout=30)
                response.raise_for_status()
            elapsed = time.perf_counter() - started
    finally:
        server.stop()
    return items / elapsed


def _batches(items: int, batch: int, start: int = 0) -> list[dict]:
    return [{"site": "raw", "items": [{"key": str(uuid.uuid4()), "kind": KINDS[n % 4],
                                       "payload": payload_for(KINDS[n % 4], start + n)}
                                      for n in range(first, min(first + batch, items))]}
            for first in range(0, items, batch)]


# --- one store, one link ---------------------------------------------------------------------------

def measure(store: str, database_url: str | None, link: str, directory: Path, args: argparse.Namespace) -> Result:
    """Capture into a fresh outbox, drain it to a fresh server over the link, check exactly-once."""
    name = f"{store}-{link}".lower()
    server, proxy = ReferenceServer(directory, f"main-{name}"), None
    url, drop = store_url(database_url, directory, name.replace("-", "_"))
    try:
        server.start()
        proxy = ProxyProcess(server.port, args.seed) if link == "flapping" else None
        deployed = {key: getattr(Config, key) for key in AS_DEPLOYED}
        app = migrated_app(url, **{**FAST, **deployed, "MAIN_SERVER_URL": proxy.url if proxy else server.url,
                                   "SYNC_BATCH_SIZE": args.batch_size, "SYNC_LEASE_SECONDS": 5.0,
                                   "SYNC_READ_TIMEOUT": 3.0})
        capture(app, args.items)
        with app.app_context():
            db.engine.dispose()  # the sender's connections are made below, where their backends are noted
            counts, backends = _count_statements(app)
            sender = Sender(SyncSettings.from_config(app.config))
            db.session.execute(text("SELECT 1"))  # connect now, so the backend's CPU is measured from here
            db.session.commit()
            groups = {"bench": [os.getpid()], "server": [server.process.pid]}
            if backends:
                groups["backend"] = sorted(backends)
            with CpuMeter(groups) as meter:
                thread_cpu = time.thread_time()
                batches, runs = _drain(sender, args.timeout)
                thread_cpu = time.thread_time() - thread_cpu
            db.session.remove()
            db.engine.dispose()
        assert not backends - set(groups.get("backend", ())), "the sender opened a second connection: its CPU is missing"
        assert_exactly_once(app, server)
        assert len(server.created()) == args.items, "not every item was registered"
        return Result(store, link, args.items, meter.seconds, batches, runs, thread_cpu, meter.used["server"],
                      meter.used.get("backend"), counts["statements"], counts["commits"], meter.other_cores(),
                      proxy=proxy.stop() if proxy else "")
    finally:
        if proxy:
            proxy.stop()
        server.stop()
        drop()


def _count_statements(app: Flask) -> tuple[dict[str, int], set[int]]:
    counts = {"statements": 0, "commits": 0}
    backends: set[int] = set()
    engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(*_args: object) -> None:
        counts["statements"] += 1

    @event.listens_for(engine, "commit")
    def _commit(*_args: object) -> None:
        counts["commits"] += 1

    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backends.add(cursor.fetchone()[0])
            dbapi_connection.commit()

    return counts, backends


def _drain(sender: Sender, timeout: float) -> tuple[int, int]:
    """Run the sender until nothing is pending or in flight (as `flask sync run` would, again and again)."""
    deadline = time.monotonic() + timeout
    batches = runs = 0
    while True:
        report = sender.run(trigger="bench")
        batches, runs = batches + report.batches, runs + 1
        if report.stopped == "empty" and _nothing_left():
            return batches, runs
        if time.monotonic() > deadline:
            raise AssertionError(f"not drained in {timeout} s")
        time.sleep(0.01)  # the breaker is open or the items wait out their backoff


def _nothing_left() -> bool:
    left = db.session.scalar(select(OutboxItem.id).where(OutboxItem.state.in_(("pending", "in_flight"))).limit(1))
    db.session.commit()
    return left is None


class ProxyProcess:
    """The flapping proxy in a process of its own: in ours its threads would take the GIL from the sender.

    A real flapping network costs the sender no CPU; the wall time is what the chaos costs.
    """

    SCRIPT = """
import json, sys
from tests.service.sync.proxy import Chaos, FlappingProxy
upstream, seed, chaos = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
proxy = FlappingProxy(upstream, Chaos(**{k: tuple(v) if isinstance(v, list) else v for k, v in chaos.items()},
                                      seed=seed)).start()
print(proxy.port, flush=True)
sys.stdin.read()  # until the bench closes it
t = proxy.tally
print(f"{t.down_spells} down spells, {t.refused_while_down} connections refused while down, "
      f"{t.request_resets} requests and {t.response_resets} answers reset", flush=True)
proxy.stop()
"""

    def __init__(self, upstream_port: int, seed: int) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", self.SCRIPT, str(upstream_port), str(seed),
                                         json.dumps(CHAOS)], cwd=ROOT, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.url = f"http://127.0.0.1:{int(self.process.stdout.readline())}"

    def stop(self) -> str:
        """Stop it; return its tally (once; afterwards an empty string)."""
        if self.process.poll() is not None:
            return ""
        tally, _ = self.process.communicate(timeout=30)
        return tally.strip()


# --- the run ----------------------------------------------------------------------------------------

def postgres_url(args: argparse.Namespace) -> str | None:
    """Return the PostgreSQL URL to use, or None (with a line saying why) if it is not wanted or not reachable."""
    if "postgresql" not in args.stores:
        return None
    url = args.database_url or os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    engine = create_engine(normalise_database_url(url), connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return url
    except OperationalError as exc:
        print(f"PostgreSQL not reachable at {url} ({str(exc.orig).strip().splitlines()[0]}): SQLite only")
        return None
    finally:
        engine.dispose()


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def verdicts(results: list[Result]) -> list[str]:
    lines = []
    for store in dict.fromkeys(r.store for r in results):
        clean = next((r for r in results if r.store == store and r.link == "clean"), None)
        flapping = next((r for r in results if r.store == store and r.link == "flapping"), None)
        if clean:
            target = TARGETS[store]
            lines.append(f"{store:<11} clean     {clean.rate:6.0f} items/s, target ≥ {target:,}: "
                         f"{'PASS' if clean.rate >= target else 'FAIL'}")
        if clean and flapping:
            cost = clean.rate / flapping.rate
            lines.append(f"{store:<11} flapping  {flapping.rate:6.0f} items/s = {cost:.2f} × the clean time per item, "
                         f"target ≤ {FLAP_COST:.0f} ×: {'PASS' if cost <= FLAP_COST else 'FAIL'}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--stores", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--links", default="clean,flapping", help="comma-separated: clean, flapping")
    parser.add_argument("--database-url", help=f"PostgreSQL (default $TEST_DATABASE_URL, else {DEFAULT_PG}); "
                                               "a schema of its own is made and dropped")
    parser.add_argument("--seed", type=int, default=7, help="the flapping proxy's random seed")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a drain may take")
    args = parser.parse_args()
    logging.getLogger("core.outbound").setLevel(logging.ERROR)  # the flapping link's every reset, by design
    logging.getLogger("sync.sender").setLevel(logging.ERROR)
    links = [link for link in ("clean", "flapping") if link in args.links.split(",")]
    stores = [("SQLite", None)] if "sqlite" in args.stores.split(",") else []
    pg = postgres_url(args)
    stores += [("PostgreSQL", pg)] if pg else []
    directory = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    print(f"back-registration, {args.items} items per run, batches of {args.batch_size}, {os.cpu_count()} CPUs; "
          f"load average (uptime) before: {load()}", flush=True)
    print(f"reference server raw insert (its store, in process): {raw_store_rate(directory, args.items, args.batch_size):8.0f}"
          " items/s", flush=True)
    print(f"reference server raw over HTTP (one connection):     {raw_http_rate(directory, args.items, args.batch_size):8.0f}"
          " items/s", flush=True)
    results = []
    for store, url in stores:
        for link in links:
            results.append(measure(store, url, link, directory, args))
            print(f"  {store} {link}: {results[-1].rate:.0f} items/s, exactly once"
                  + (f"; proxy: {results[-1].proxy}" if results[-1].proxy else ""), flush=True)
    print()
    print(HEADER)
    for result in results:
        print(result.row())
    print()
    for line in verdicts(results):
        print(line)
    print(f"load average (uptime) after: {load()}  (other cores > 0.15: rates are noisy; compare CPU µs/item."
          " CPU-bound: 1e6 / the three CPU figures, the rate with no waits and no other load)")


if __name__ == "__main__":
    main()
