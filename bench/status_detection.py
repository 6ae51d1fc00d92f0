"""The detection half of bench/status_bench.py: how long until a broken main server shows on /status.json.

Starts a fake main server and `flask monitor` with short intervals, stops the server (refused
connections, then a hung server that never answers) and measures the time until the incident opened
and until /status.json showed it, next to the bound interval + 3 × retry + timeout.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import harness


def get_json(port: int, path: str) -> dict:
    """Return the JSON answer of a GET on the loopback port."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return json.loads(response.read())


class FakeMainServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int) -> None:
        self.hang = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(handler) -> None:  # noqa: N805
                if self.hang.is_set():
                    time.sleep(30)
                    return
                body = b'{"status": "ok"}'
                handler.send_response(200)
                handler.send_header("Content-Type", "application/json")
                handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                handler.wfile.write(body)

            def log_message(handler, *args) -> None:  # noqa: N805
                pass

        super().__init__(("127.0.0.1", port), Handler)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def _open_outage(url: str) -> tuple[int, datetime] | None:
    """Return (id, detected_at) of the open outage incident in the store, if there is one."""
    from sqlalchemy import create_engine, text

    from core.config import normalise_database_url

    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT id, detected_at FROM status_incidents WHERE open_track = 'outage'")).first()
    finally:
        engine.dispose()
    if row is None:
        return None
    return row[0], datetime.fromisoformat(row[1]) if isinstance(row[1], str) else row[1]


def detection(env: dict, web_port: int, tmp: Path, interval: float, retry: float, timeout: float,
              mode: str) -> tuple[float, float] | None:
    """Start a monitor, break the main server (refuse or hang); return seconds until the incident was
    opened (its detected_at) and until /status.json showed it."""
    main_port = harness.free_port()
    server = FakeMainServer(main_port)
    monitor_env = {**env, "MAIN_SERVER_URL": f"http://127.0.0.1:{main_port}",
                   "REFERENCE_TARGET_URL": f"http://127.0.0.1:{web_port}/health",
                   "STATUS_PROBE_INTERVAL_SECONDS": str(interval), "STATUS_RETRY_INTERVAL_SECONDS": str(retry),
                   "STATUS_PROBE_CONNECT_TIMEOUT": str(timeout), "STATUS_PROBE_READ_TIMEOUT": str(timeout),
                   "STATUS_TICK_SECONDS": "0.2", "STATUS_LEASE_SECONDS": "6"}
    try:
        with harness.running([sys.executable, "-m", "flask", "monitor"], monitor_env, tmp / f"monitor-{mode}.log"):
            up = harness.wait_until(lambda: {c["key"]: c["state"] for c in get_json(web_port, "/status.json")["components"]}
                            ["main_server"] == "up" and not get_json(web_port, "/status.json")["incidents"], 60)
            if not up:
                return None
            time.sleep(interval / 2)  # break it somewhere inside a probe interval
            broke = time.monotonic()
            broke_utc = datetime.now(timezone.utc).replace(tzinfo=None)
            if mode == "hang":
                server.hang.set()
            else:
                server.stop()
            found: dict = {}

            def opened() -> bool:
                found["outage"] = _open_outage(env["DATABASE_URL"])
                return found["outage"] is not None

            if not harness.wait_until(opened, interval + 3 * retry + 3 * timeout + 30, step=0.02):
                return None
            incident_id, detected_at = found["outage"]
            # The page may answer from a worker's cache for a moment: wait for this very incident.
            if not harness.wait_until(lambda: any(i["id"] == incident_id
                                                  for i in get_json(web_port, "/status.json")["incidents"]), 30,
                                      step=0.02):
                return None
            return (detected_at - broke_utc).total_seconds(), time.monotonic() - broke
    finally:
        if mode == "hang":
            server.stop()


def detection_report(env: dict, port: int, tmp: Path, args: argparse.Namespace) -> None:
    """Break the main server both ways and print how long until the incident opened and showed."""
    bound = args.interval + 3 * args.retry + args.timeout
    print(f"\ndetection (interval {args.interval} s, retry {args.retry} s, timeout {args.timeout} s; "
          f"bound interval + 3 × retry + timeout = {bound:.1f} s)")
    for mode in ("refused", "hang"):
        result = detection(env, port, tmp, args.interval, args.retry, args.timeout, mode)
        what = "stopped (refused)" if mode == "refused" else "hung (no answer)"
        if result is None:
            print(f"  main server {what}: not detected")
        else:
            print(f"  main server {what}: incident opened after {result[0]:.2f} s, "
                  f"on /status.json after {result[1]:.2f} s")
