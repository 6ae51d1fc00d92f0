"""Soak: SIGKILL `flask sync run` at random moments, again and again, then drain: 0 lost, 0 duplicated.

    .venv/bin/python bench/sync_soak.py                       # 500 runs (~25 min on 2 cores)
    .venv/bin/python bench/sync_soak.py --runs 50 --flap      # and through the flapping, resetting proxy
    .venv/bin/python bench/sync_soak.py --database-url postgresql://postgres@127.0.0.1:5432/test

Each run captures a few more items, starts the sender as its own process and, once it has started
work, kills it after a random time (uniform between --min-kill and --max-kill seconds; some runs
finish first). The server holds each batch a little (--server-delay-ms) so kills land everywhere. Every
50 runs, and at the end after a clean drain, it checks: every acked item's id is the server's
for its key, the server holds nothing else, no key twice, and SQLite's integrity check.
"""
from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from core.extensions import db  # noqa: E402
from sync_support import migrated_app, store_url  # noqa: E402
from tests.service.sync.conftest import ReferenceServer, assert_exactly_once, capture, integrity_ok, items  # noqa: E402
from tests.service.sync.processes import environment, finish, sync_run  # noqa: E402
from tests.service.sync.proxy import Chaos, FlappingProxy  # noqa: E402


def check(app, server, label: str) -> None:  # noqa: ANN001
    local = items(app)
    created = server.created()
    for item in local:
        if item.state == "acked":
            assert created.get(item.key) == item.server_id, (label, item.key)
    assert set(created) <= {i.key for i in local}, label
    assert len(set(created.values())) == len(created), label
    assert integrity_ok(app), label


def _runs(app) -> int:  # noqa: ANN001
    from sqlalchemy import func, select

    from sync.models import SyncRun

    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(SyncRun)) or 0
        db.session.remove()
    return count


def _stop(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # clean up the server and the store on SIGTERM too


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--items-per-run", type=int, default=40)
    parser.add_argument("--min-kill", type=float, default=0.0, help="seconds after the sender starts work")
    parser.add_argument("--max-kill", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--server-delay-ms", type=int, default=40,
                        help="the server holds each batch's transaction and its answer this long (widens the "
                             "windows a kill can land in)")
    parser.add_argument("--flap", action="store_true", help="send through the flapping, resetting proxy")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    directory = Path(tempfile.mkdtemp(prefix="sync-soak-"))
    server = ReferenceServer(directory).start("--seed", str(args.seed), "--commit-delay-ms",
                                              str(args.server_delay_ms), "--reply-delay-ms", str(args.server_delay_ms))
    proxy = FlappingProxy(server.port, Chaos(seed=args.seed)).start() if args.flap else None
    url, drop = store_url(args.database_url, directory)
    log = directory / "senders.log"
    killed = finished = holding = 0
    started = time.monotonic()
    try:
        app = migrated_app(url)
        env = environment(url, proxy.url if proxy else server.url, SYNC_LEASE_SECONDS="1")
        for run in range(args.runs):
            capture(app, args.items_per_run, start=run * args.items_per_run, ordering=True)
            runs_before = _runs(app)
            sender = sync_run(env, log, timeout=30)
            # Start the clock when the sender starts work (it records a run), not when the process
            # starts: Python and the app take a while to start, and killing during that proves little.
            deadline = time.monotonic() + 60
            while sender.poll() is None and _runs(app) == runs_before and time.monotonic() < deadline:
                time.sleep(0.01)
            try:
                sender.wait(rng.uniform(args.min_kill, args.max_kill))
                finished += 1
            except subprocess.TimeoutExpired:  # still running: the moment has come
                sender.send_signal(signal.SIGKILL)
                sender.wait(10)
                killed += 1
                holding += any(i.state == "in_flight" for i in items(app))
            if (run + 1) % 50 == 0:
                check(app, server, f"after run {run + 1}")
                print(f"{run + 1} runs: {killed} killed ({holding} while holding leases), {finished} finished, "
                      f"{len(server.created())} registered, {time.monotonic() - started:.0f} s", flush=True)
        if proxy:
            proxy.calm()
        assert finish(sync_run(environment(url, proxy.url if proxy else server.url), log, timeout=300), 400) == 0, \
            log.read_text()[-3000:]
        assert_exactly_once(app, server)
        total = args.runs * args.items_per_run
        assert len(server.created()) == total and {i.state for i in items(app)} == {"acked"}
        check(app, server, "final")
        print(f"SOAK PASS: {args.runs} runs, {killed} SIGKILLed at random ({holding} while holding leases), "
              f"{finished} finished by themselves; {total} items, {len(server.created())} registered once each, "
              f"0 lost, 0 duplicated, integrity ok; {time.monotonic() - started:.0f} s"
              + (f"; proxy {proxy.tally}" if proxy else ""))
        with app.app_context():
            db.engine.dispose()
    finally:
        if proxy:
            proxy.stop()
        server.stop()
        drop()


if __name__ == "__main__":
    main()
