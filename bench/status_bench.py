"""Status page load and outage detection latency, on loopback.

    .venv/bin/python bench/status_bench.py [--workers 2] [--concurrency 200] [--rounds 30] [--duration 10]

1. Builds a throw-away SQLite store (or --database-url), migrates it and fills it with a
   realistic status: 30 days of probe history and outages, resolved incidents, driftinfo,
   and one open outage with a timeline.
2. Starts the app under gunicorn on a free loopback port (sync workers, no access log) and
   measures GET /status.json: bursts of --concurrency simultaneous requests, then
   --concurrency connections in a closed loop for --duration seconds, then 1 and 10 clients
   for reference. The load tool is the asyncio client below (one connection per request,
   as gunicorn's sync workers close after each response).
3. Starts a fake main server and `flask monitor` with short intervals, stops the server
   (refused connections, then a hung server that never answers) and measures the time until
   /status.json shows the incident; the bound is interval + 3 × retry + timeout.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- Store ---------------------------------------------------------------------------------

def prepare_store(env: dict) -> None:
    subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run([sys.executable, __file__, "--seed-only"], cwd=ROOT, env=env, check=True)


def seed() -> None:
    """Fill the store with 30 days of status history (run in a child process with DATABASE_URL set)."""
    from sqlalchemy import insert, select

    from app import create_app
    from app.clock import utcnow
    from app.extensions import db
    from app.models import User, UserRole
    from status.models import Component, Driftinfo, Incident, IncidentUpdate, Outage, ProbeResult

    app = create_app()
    with app.app_context():
        now = utcnow()
        staff = User(username="bench-it", name="Bench IT", password_hash="x")
        staff.role_rows = [UserRole(role="it_staff")]
        db.session.add(staff)
        components = {c.key: c for c in db.session.scalars(select(Component))}
        start = now - timedelta(days=30)
        for key in ("main_server", "reference_target"):
            components[key].monitored_since = start
            rows = [{"component_id": components[key].id, "at": start + timedelta(minutes=m), "ok": True,
                     "latency_ms": 12, "detail": "HTTP 200", "in_maintenance": False} for m in range(0, 30 * 1440)]
            db.session.execute(insert(ProbeResult), rows)
        for day in (3, 9, 17, 25):
            began = now - timedelta(days=day, hours=2)
            db.session.add(Outage(component_id=components["main_server"].id, started_at=began,
                                  ended_at=began + timedelta(minutes=50)))
            incident = Incident(track="outage", scenario="main_server_outage", status="resolved", started_at=began,
                                detected_at=began + timedelta(seconds=40), recovered_at=began + timedelta(minutes=50),
                                resolved_at=began + timedelta(minutes=50), reserve_due_at=began + timedelta(hours=4))
            incident.updates = [IncidentUpdate(at=began + timedelta(minutes=i * 10), kind="status", status="investigating",
                                               message="Felsökning pågår. " * 5) for i in range(5)]
            db.session.add(incident)
        began = now - timedelta(minutes=25)
        db.session.add(Outage(component_id=components["main_server"].id, started_at=began))
        components["main_server"].state = "down"
        components["main_server"].state_changed_at = began + timedelta(seconds=40)
        open_incident = Incident(track="outage", open_track="outage", scenario="main_server_outage",
                                 status="identified", started_at=began, detected_at=began + timedelta(seconds=40),
                                 reserve_due_at=began + timedelta(hours=4))
        open_incident.updates = [IncidentUpdate(at=began + timedelta(minutes=i * 5), kind="status",
                                                status="identified", message="Leverantören felsöker lagringen.")
                                 for i in range(4)]
        db.session.add(open_incident)
        db.session.flush()
        for i in range(10):
            db.session.add(Driftinfo(at=now - timedelta(hours=i * 7), title=f"Driftinfo {i}",
                                     body="Planerat arbete i kväll mellan 18 och 20. " * 3, author_id=staff.id))
        db.session.commit()


# --- Load ----------------------------------------------------------------------------------

async def _get(port: int, path: str) -> float:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    if not data.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(data[:200])
    return time.perf_counter() - started


async def burst(port: int, path: str, concurrency: int, rounds: int) -> list[float]:
    latencies: list[float] = []
    for _ in range(rounds):
        latencies += await asyncio.gather(*(_get(port, path) for _ in range(concurrency)))
    return latencies


async def closed_loop(port: int, path: str, concurrency: int, duration: float) -> tuple[list[float], float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + duration

    async def client() -> None:
        while time.perf_counter() < deadline:
            latencies.append(await _get(port, path))

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


def summary(label: str, latencies: list[float], elapsed: float | None = None) -> str:
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[max(int(len(ms) * 0.95) - 1, 0)]
    p99 = ms[max(int(len(ms) * 0.99) - 1, 0)]
    rate = f"  {len(ms) / elapsed:7.0f} req/s" if elapsed else ""
    return (f"{label:<38} n={len(ms):6d}  p50={statistics.median(ms):7.2f} ms  p95={p95:7.2f} ms  "
            f"p99={p99:7.2f} ms  max={ms[-1]:7.2f} ms{rate}")


# --- Processes -----------------------------------------------------------------------------

@contextmanager
def process(args: list[str], env: dict, log: Path):
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until(condition, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except OSError:
            pass
        time.sleep(step)
    return False


def get_json(port: int, path: str) -> dict:
    import urllib.request

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


def _detected_at(url: str):  # noqa: ANN202
    from sqlalchemy import create_engine, text

    from app.config import normalise_database_url

    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as conn:
            value = conn.scalar(text("SELECT detected_at FROM status_incidents WHERE open_track = 'outage'"))
    finally:
        engine.dispose()
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def detection(env: dict, web_port: int, tmp: Path, interval: float, retry: float, timeout: float,
              mode: str) -> tuple[float, float] | None:
    """Start a monitor, break the main server (refuse or hang); return seconds until the incident was
    opened (its detected_at) and until /status.json showed it."""
    main_port = free_port()
    server = FakeMainServer(main_port)
    monitor_env = {**env, "MAIN_SERVER_URL": f"http://127.0.0.1:{main_port}",
                   "REFERENCE_TARGET_URL": f"http://127.0.0.1:{web_port}/health",
                   "STATUS_PROBE_INTERVAL_SECONDS": str(interval), "STATUS_RETRY_INTERVAL_SECONDS": str(retry),
                   "STATUS_PROBE_CONNECT_TIMEOUT": str(timeout), "STATUS_PROBE_READ_TIMEOUT": str(timeout),
                   "STATUS_TICK_SECONDS": "0.2", "STATUS_LEASE_SECONDS": "6"}
    try:
        with process([sys.executable, "-m", "flask", "monitor"], monitor_env, tmp / f"monitor-{mode}.log"):
            up = wait_until(lambda: {c["key"]: c["state"] for c in get_json(web_port, "/status.json")["components"]}
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
            seen = wait_until(lambda: any(i["scenario"] == "main_server_outage"
                                          for i in get_json(web_port, "/status.json")["incidents"]),
                              interval + 3 * retry + 3 * timeout + 30, step=0.02)
            if not seen:
                return None
            shown = time.monotonic() - broke
            return (_detected_at(env["DATABASE_URL"]) - broke_utc).total_seconds(), shown
    finally:
        if mode == "hang":
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="one per core: the cached view is CPU-bound")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--database-url")
    parser.add_argument("--interval", type=float, default=5.0, help="probe interval for the detection run")
    parser.add_argument("--retry", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_only:
        seed()
        return

    with tempfile.TemporaryDirectory(prefix="status-bench-") as directory:
        tmp = Path(directory)
        env = {**os.environ, "FLASK_APP": "app", "SECRET_KEY": "bench",
               "DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"}
        print(f"store: {env['DATABASE_URL'].split('@')[-1]}   cpus: {os.cpu_count()}   gunicorn sync workers: "
              f"{args.workers}")
        prepare_store(env)
        port = free_port()
        gunicorn = [sys.executable, "-m", "gunicorn", "--workers", str(args.workers), "--bind", f"127.0.0.1:{port}",
                    "--backlog", "2048", "app.wsgi:app"]
        with process(gunicorn, env, tmp / "gunicorn.log"):
            if not wait_until(lambda: get_json(port, "/health")["status"] == "ok", 30):
                sys.exit("gunicorn did not come up; see its log")
            size = len(json.dumps(get_json(port, "/status.json")).encode())
            print(f"/status.json: {size} bytes\n")
            asyncio.run(burst(port, "/status.json", 50, 4))  # warm up every worker
            lat = asyncio.run(burst(port, "/status.json", args.concurrency, args.rounds))
            print(summary(f"burst: {args.concurrency} at once × {args.rounds}", lat))
            lat, elapsed = asyncio.run(closed_loop(port, "/status.json", args.concurrency, args.duration))
            print(summary(f"closed loop: {args.concurrency} connections", lat, elapsed))
            for clients in (10, 1):
                lat, elapsed = asyncio.run(closed_loop(port, "/status.json", clients, min(args.duration, 5)))
                print(summary(f"closed loop: {clients} connection(s)", lat, elapsed))
            lat, elapsed = asyncio.run(closed_loop(port, "/health", 1, min(args.duration, 5)))
            print(summary("reference: /health, 1 connection", lat, elapsed))

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


if __name__ == "__main__":
    main()
