"""What `pool_pre_ping` (core/config.py SQLALCHEMY_ENGINE_OPTIONS) costs a request: the same requests with and without.

    .venv/bin/python bench/pool_pre_ping.py --database-url postgresql://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/pool_pre_ping.py --database-url … --requests 5000 --block 100

Two apps in this process on one PostgreSQL schema of the bench's own (dropped afterwards), one with the
default engine options (a `SELECT 1` as each request takes its pooled connection) and one without.
Blocks of requests alternate between them, so a busy machine affects both alike: `GET /health` (one
query of its own: the worst case) and `GET /min-sida/` as a logged-in user (a page with its session).
Printed per variant and path: p50/p95 in ms, requests a second, and the process's peak RSS (both apps
live in one process, so that figure is shared). The price is one round trip to the store per request.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from flask import Flask
from harness import percentile
from sync_support import migrated_app, store_url

from tests import factories
from tests.conftest import login

PATHS = ("/health", "/min-sida/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="PostgreSQL (the option matters for a server store)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per variant and path")
    parser.add_argument("--block", type=int, default=100)
    args = parser.parse_args()
    url, drop = store_url(args.database_url, Path(tempfile.mkdtemp(prefix="pre-ping-")))
    try:
        variants = {"pre_ping": migrated_app(url), "baseline": migrated_app(url, SQLALCHEMY_ENGINE_OPTIONS={})}
        factories.bind_app(variants["pre_ping"])
        with variants["pre_ping"].app_context():
            factories.user("karin")
        clients = {name: _logged_in(app) for name, app in variants.items()}
        for name, app in variants.items():
            print(f"{name:<9} engine options: {app.config['SQLALCHEMY_ENGINE_OPTIONS']}")
        for path in PATHS:
            timings: dict[str, list[float]] = {name: [] for name in variants}
            spent = dict.fromkeys(variants, 0.0)
            for name, client in clients.items():  # warm-up
                for _ in range(20):
                    client.get(path)
            for block in range(2 * args.requests // args.block):
                name = list(variants)[block % 2]
                started = time.perf_counter()
                for _ in range(args.block):
                    timings[name].append(_timed(clients[name], path))
                spent[name] += time.perf_counter() - started
            for name in variants:
                values = timings[name]
                print(f"{path:<11} {name:<9} n={len(values):>5}  p50 {percentile(values, 50):6.2f} ms  "
                      f"p95 {percentile(values, 95):6.2f} ms  {len(values) / spent[name]:7.0f} req/s")
        print(f"peak RSS of this process (both apps): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        drop()


def _logged_in(app: Flask):
    client = app.test_client()
    response = login(client, "karin")
    assert response.status_code == 302, response.status_code
    return client


def _timed(client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        sys.exit(f"{path} answered {response.status_code}")
    return elapsed


if __name__ == "__main__":
    main()
