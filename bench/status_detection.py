"""The detection half of bench/status_bench.py: how long until a broken main server shows on /status.json.

Starts a fake main server and `flask monitor` with the default cadence (core/config.py), stops the
server (refused connections, then a hung server that never answers) and measures the time until the
incident opened and until /status.json showed it, next to the documented bound
(MonitorSettings.detection_bound_seconds). The previous defaults (60 s probes, 20 s retries, 3/5 s
timeouts, 5 s tick) run as the baseline in the same run unless --no-baseline.

    .venv/bin/python bench/status_detection.py                # defaults and the baseline, real time (~5 min)
    .venv/bin/python bench/status_detection.py --no-baseline  # the defaults only (~1 min)
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.request
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import harness  # noqa: E402


@dataclass(frozen=True)
class Cadence:
    """The settings that decide how fast an outage shows (env names without the STATUS_ prefix)."""

    PROBE_INTERVAL_SECONDS: float
    RETRY_INTERVAL_SECONDS: float
    FAILURES_TO_DOWN: int
    PROBE_CONNECT_TIMEOUT: float
    PROBE_READ_TIMEOUT: float
    TICK_SECONDS: float
    PAGE_CACHE_SECONDS: float

    @classmethod
    def defaults(cls) -> Cadence:
        from core.config import Config

        return cls(*(getattr(Config, f"STATUS_{name}") for name in cls.__dataclass_fields__))

    def env(self) -> dict[str, str]:
        return {f"STATUS_{name}": str(value) for name, value in asdict(self).items()}

    def bound(self) -> float:
        from status.settings import MonitorSettings

        config = {"MAIN_SERVER_URL": "", "MAIN_SERVER_HEALTH_PATH": "", "STATUS_SUCCESSES_TO_UP": 2,
                  "STATUS_HEARTBEAT_TIMEOUT_SECONDS": 180, "STATUS_RESERVE_CHECK_SECONDS": 60,
                  "STATUS_NOTIFY_SECONDS": 10, "STATUS_LEASE_SECONDS": 9, "STATUS_MONITOR_LOCK_KEY": 1,
                  "STATUS_PUBLIC_BASE_URL": "", **{f"STATUS_{k}": v for k, v in asdict(self).items()}}
        return MonitorSettings.from_config(config).detection_bound_seconds()

    def describe(self) -> str:
        return (f"interval {self.PROBE_INTERVAL_SECONDS:g} s, retry {self.RETRY_INTERVAL_SECONDS:g} s, "
                f"{self.FAILURES_TO_DOWN} failures, timeouts {self.PROBE_CONNECT_TIMEOUT:g}/"
                f"{self.PROBE_READ_TIMEOUT:g} s, tick {self.TICK_SECONDS:g} s, "
                f"page cache {self.PAGE_CACHE_SECONDS:g} s")


# What shipped before issue #18: the outage showed 103–108 s after the main server was killed.
PREVIOUS = Cadence(60, 20, 3, 3.0, 5.0, 5, 2.0)


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


def detection(env: dict, web_port: int, tmp: Path, cadence: Cadence, mode: str) -> tuple[float, float] | None:
    """Start a monitor, break the main server (refuse or hang); return seconds until the incident was
    opened (its detected_at) and until /status.json showed it."""
    main_port = harness.free_port()
    server = FakeMainServer(main_port)
    monitor_env = {**env, **cadence.env(), "MAIN_SERVER_URL": f"http://127.0.0.1:{main_port}",
                   "REFERENCE_TARGET_URL": f"http://127.0.0.1:{web_port}/health"}
    interval = cadence.PROBE_INTERVAL_SECONDS
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

            if not harness.wait_until(opened, 2 * cadence.bound() + 30, step=0.02):
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


def detection_report(env: dict, port: int, tmp: Path, cadences: dict[str, Cadence]) -> None:
    """Break the main server both ways under each cadence; print how long until it showed, next to the bound."""
    print("\ndetection: seconds from breaking the main server to the incident opened / shown on /status.json")
    for label, cadence in cadences.items():
        print(f"  {label}: {cadence.describe()}; bound {cadence.bound():.0f} s")
        for mode in ("refused", "hang"):
            result = detection(env, port, tmp, cadence, mode)
            what = "stopped (refused)" if mode == "refused" else "hung (no answer)"
            if result is None:
                print(f"    main server {what}: not detected")
            else:
                verdict = "within" if result[1] <= cadence.bound() else "OVER"
                print(f"    main server {what}: opened after {result[0]:5.1f} s, on /status.json after "
                      f"{result[1]:5.1f} s ({verdict} the bound of {cadence.bound():.0f} s)")


def store_env(tmp: Path, database_url: str | None) -> dict[str, str]:
    """The environment of the processes under test: the given store, or a throw-away SQLite file."""
    return {**os.environ, "FLASK_APP": "app", "SECRET_KEY": "bench",
            "DATABASE_URL": database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-baseline", action="store_true", help="skip the previous defaults (60/20 s)")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    from status_bench import prepare_store

    with tempfile.TemporaryDirectory(prefix="status-detection-") as directory:
        tmp = Path(directory)
        env = store_env(tmp, args.database_url)
        prepare_store(env)
        cadences = {"defaults": Cadence.defaults()}
        if not args.no_baseline:
            cadences["baseline (before #18)"] = PREVIOUS
        with harness.gunicorn(env, tmp / "gunicorn.log") as server:
            print(f"store: {env['DATABASE_URL'].split('@')[-1]}   cpus: {os.cpu_count()}   "
                  f"load: {os.getloadavg()[0]:.2f}")
            detection_report(env, server.port, tmp, cadences)


if __name__ == "__main__":
    main()
