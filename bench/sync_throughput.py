"""Back-registration throughput: 10,000 captured items to the reference main server, against its raw rate.

    .venv/bin/python bench/sync_throughput.py                      # SQLite store, 10,000 items
    .venv/bin/python bench/sync_throughput.py --items 20000 --batch-size 50
    .venv/bin/python bench/sync_throughput.py --database-url postgresql://postgres@127.0.0.1:5432/test

Prints four rates: the reference server's own raw insert rate (its store, in process, batches
of the same size), its raw rate over HTTP (pre-built batches on one kept-alive connection),
the rate of capture into the outbox, and the end-to-end rate of the sender (claim, send,
write the answers), with the sender's rate as a share of both raw rates. The issue's target:
≥ 500 items/s end to end. Checks exactly-once at the end.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402
from core.extensions import db  # noqa: E402
from sync.reference_server.store import Store  # noqa: E402
from sync.sender import Sender  # noqa: E402
from sync.settings import SyncSettings  # noqa: E402
from sync_support import migrated_app, store_url  # noqa: E402
from tests.service.sync.conftest import FAST, ReferenceServer, assert_exactly_once, capture, payload_for  # noqa: E402

KINDS = ("stock_move", "order", "work_order", "prescription")


def raw_store_rate(directory: Path, items: int, batch: int) -> float:
    store = Store(str(directory / "raw.sqlite3"))
    batches = _batches(items, batch)
    started = time.perf_counter()
    for body in batches:
        store.register_batch("raw", body["items"])
    elapsed = time.perf_counter() - started
    store.close()
    return items / elapsed


def raw_http_rate(server: ReferenceServer, items: int, batch: int) -> float:
    batches = _batches(items, batch, start=10_000_000)
    with requests.Session() as session:
        started = time.perf_counter()
        for body in batches:
            response = session.post(server.url + "/api/v1/batch", json=body, timeout=30)
            response.raise_for_status()
        elapsed = time.perf_counter() - started
    return items / elapsed


def _batches(items: int, batch: int, start: int = 0) -> list[dict]:
    return [{"site": "raw", "items": [{"key": str(uuid.uuid4()), "kind": KINDS[n % 4],
                                       "payload": payload_for(KINDS[n % 4], start + n)}
                                      for n in range(first, min(first + batch, items))]}
            for first in range(0, items, batch)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--database-url", help="PostgreSQL URL (a schema of its own is made and dropped)")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    server = ReferenceServer(directory).start()
    url, drop = store_url(args.database_url, directory)
    try:
        store_rate = raw_store_rate(directory, args.items, args.batch_size)
        http_rate = raw_http_rate(server, args.items, args.batch_size)

        app = migrated_app(url, **{**FAST, "MAIN_SERVER_URL": server.url, "SYNC_BATCH_SIZE": args.batch_size,
                                   "SYNC_SITE_ID": "test-site"})
        started = time.perf_counter()
        capture(app, args.items)
        capture_rate = args.items / (time.perf_counter() - started)
        with app.app_context():
            sender = Sender(SyncSettings.from_config(app.config))
            started = time.perf_counter()
            report = sender.run(trigger="bench")
            elapsed = time.perf_counter() - started
            db.session.remove()
        assert report.registered == args.items, report
        assert_exactly_once(app, server)
        send_rate = args.items / elapsed
        store = "PostgreSQL" if args.database_url else "SQLite"
        print(f"local store: {store}; {args.items} items, batches of {args.batch_size}; {os.cpu_count()} CPUs")
        print(f"reference server raw insert (its store, in process): {store_rate:8.0f} items/s")
        print(f"reference server raw over HTTP (one connection):     {http_rate:8.0f} items/s")
        print(f"capture into the outbox (enqueue + commit per 500):   {capture_rate:8.0f} items/s")
        print(f"back-registration end to end (sender):               {send_rate:8.0f} items/s"
              f"  = {send_rate / store_rate:.0%} of raw store, {send_rate / http_rate:.0%} of raw HTTP"
              f"  [{report.batches} batches, {elapsed:.1f} s]  {'PASS' if send_rate >= 500 else 'FAIL'} (≥ 500/s)")
        with app.app_context():
            db.engine.dispose()
    finally:
        server.stop()
        drop()


if __name__ == "__main__":
    main()
