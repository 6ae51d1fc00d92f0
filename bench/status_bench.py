"""Status page load and outage detection latency, on loopback.

    .venv/bin/python bench/status_bench.py [--workers 2] [--concurrency 200] [--rate 2000] [--duration 10]

Needs `wrk` (Debian: apt-get install -y wrk; a benchmark tool only, not an application dependency).

1. Builds a throw-away SQLite store (or --database-url), migrates it and fills it with a
   realistic status: 30 days of probe history and outages, resolved incidents, driftinfo,
   and one open outage with a timeline.
2. Starts the app under gunicorn with the deployed gunicorn.conf.py (--workers, --worker-class,
   --threads override it) on a free loopback port and measures GET /status.json:
   - closed loop (wrk): --concurrency connections, each sending its next request as soon as
     the answer came, for --duration seconds; again with If-None-Match, each connection sending
     the ETag it last got (bench/load.py), with the share of 304s;
   - open loop (a small Python client): --concurrency clients polling once a second each (also
     with If-None-Match), then --rate requests a second in all, each client at its own phase,
     latency counted from when the poll was due;
   - closed loop with 10 and 1 connections and /health, for reference.
   Each line gives n, req/s, p50/p95/p99/max, the server's CPU per request and the cores used by
   the server, the load tool and every other process (other engineers' test runs share the
   machine: a NOTE asks for a rerun when they used more than 0.15 cores), then PASS/FAIL against
   the issue's target (p95 ≤ 10 ms) and the load average before and after.
3. Starts a fake main server and `flask monitor` with the default cadence, stops the server
   (refused connections, then a hung server that never answers) and measures the time until
   /status.json shows the incident, next to the documented bound (bench/status_detection.py;
   `--baseline` adds the previous defaults).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import harness  # noqa: E402
import load  # noqa: E402
from status_detection import PREVIOUS, Cadence, detection_report  # noqa: E402


# --- Store ---------------------------------------------------------------------------------

def prepare_store(env: dict) -> None:
    subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run([sys.executable, __file__, "--seed-only"], cwd=ROOT, env=env, check=True)


def seed() -> None:
    """Fill the store with 30 days of status history (run in a child process with DATABASE_URL set)."""
    from sqlalchemy import insert, select

    from app import create_app
    from core.clock import utcnow
    from core.extensions import db
    from core.models import User, UserRole
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


# --- Load (bench/load.py) -----------------------------------------------------------------


def summary(label: str, r: dict, client: str) -> str:
    errors = f"  ERRORS={r['errors']}" if r["errors"] else ""
    errors += f"  304s {r['not_modified'] / max(r['n'], 1):.0%}" if r["not_modified"] else ""
    return (f"{label:<50} n={r['n']:6d} {r['rate']:6.0f}/s  p50={r['p50']:6.2f}  p95={r['p95']:7.2f}  "
            f"p99={r['p99']:7.2f}  max={r['max']:7.2f} ms  server {r['cpu_us']:3.0f} µs CPU/req  cores: server "
            f"{r['server']:.2f} {client} {r['client']:.2f} other {r['other']:.2f}{errors}")


TARGET_P95_MS = 10.0  # the issue: /status.json p95 ≤ 10 ms under 200 concurrent requests


def measure_load(wrk: load.Wrk, server: harness.Server, args: argparse.Namespace) -> None:
    """Measure /status.json: closed loops (wrk), conditional requests, paced pollers (python); references."""
    port, url = server.port, f"{server.base_url}/status.json"
    with urllib.request.urlopen(url, timeout=5) as response:
        size, etag = len(response.read()), response.headers["ETag"]
    print(f"/status.json: {size} bytes, ETag {etag}\n")
    load_average = os.getloadavg()
    wrk.closed_loop(url, 50, 2)  # warm every worker up
    c, d = args.concurrency, args.duration
    scenarios: list[tuple[str, load.Load, str, bool]] = [
        (f"closed loop: {c} connections", lambda: wrk.closed_loop(url, c, d), "wrk", True),
        (f"closed loop: {c} connections, If-None-Match",
         lambda: wrk.closed_loop(url, c, d, conditional=True), "wrk", True),
        (f"open loop: {c} clients polling 1/s each", lambda: load.paced(port, "/status.json", c, c, d), "python", True),
        (f"open loop: {c} clients polling 1/s, If-None-Match",
         lambda: load.paced(port, "/status.json", c, c, d, conditional=True), "python", True),
        (f"open loop: {c} clients, {args.rate:.0f} req/s in all",
         lambda: load.paced(port, "/status.json", c, args.rate, d), "python", True),
        ("closed loop: 10 connections", lambda: wrk.closed_loop(url, 10, d), "wrk", False),
        ("closed loop: 1 connection", lambda: wrk.closed_loop(url, 1, d), "wrk", False),
        ("reference: /health, 1 connection",
         lambda: wrk.closed_loop(f"http://127.0.0.1:{port}/health", 1, min(d, 5)), "wrk", False),
    ]
    judged = []
    for label, load_fn, client, target in scenarios:
        result = load.measure(server.pids(), load_fn)
        print(summary(label, result, client))
        if target:
            judged.append((label, result))
    print(f"\nload average before: {load_average[0]:.2f} {load_average[1]:.2f} {load_average[2]:.2f}   after: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    note = harness.busy_note(max(result["other"] for _, result in judged), "a run", "; rerun on a quiet machine.")
    if note:
        print(note)
    for label, result in judged:
        verdict = "PASS" if result["p95"] <= TARGET_P95_MS and not result["errors"] else "FAIL"
        print(f"{verdict}  {label}: p95 {result['p95']:.2f} ms (target ≤ {TARGET_P95_MS:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py, WEB_WORKERS or 2)")
    parser.add_argument("--worker-class", help="override gunicorn.conf.py's worker class (sync, gthread)")
    parser.add_argument("--threads", type=int, help="threads per gthread worker")
    parser.add_argument("--concurrency", type=int, default=200, help="connections (clients) in the main scenarios")
    parser.add_argument("--rate", type=float, default=2000, help="aggregate req/s of the heavier polling scenario")
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--database-url")
    parser.add_argument("--reuse", action="store_true", help="the --database-url store is already filled (detection changes it)")
    parser.add_argument("--skip-detection", action="store_true")
    parser.add_argument("--baseline", action="store_true",
                        help="detection also under the previous defaults (60/20 s; about 4 more minutes)")
    parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_only:
        seed()
        return
    harness.require_wrk()

    with tempfile.TemporaryDirectory(prefix="status-bench-") as directory:
        tmp = Path(directory)
        wrk = load.Wrk(tmp)
        env = {**os.environ, "FLASK_APP": "app", "SECRET_KEY": "bench",
               "DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"}
        if not (args.reuse and args.database_url):
            prepare_store(env)
        # The deployed settings (gunicorn.conf.py, access log included, written to a file here).
        options = [part for flag, value in (("--worker-class", args.worker_class), ("--threads", args.threads))
                   if value is not None for part in (flag, str(value))]
        with harness.gunicorn(env, tmp / "gunicorn.log", args.workers, options) as server:
            print(f"store: {env['DATABASE_URL'].split('@')[-1]}   cpus: {os.cpu_count()}   load tool: wrk (1 thread)   "
                  f"gunicorn: gunicorn.conf.py {server.options}".rstrip())
            measure_load(wrk, server, args)

            if not args.skip_detection:
                cadences = {"defaults": Cadence.defaults(), **({"baseline (before #18)": PREVIOUS}
                                                               if args.baseline else {})}
                detection_report(env, server.port, tmp, cadences)


if __name__ == "__main__":
    main()
