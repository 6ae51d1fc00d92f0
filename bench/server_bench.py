"""Web servers side by side: granian (WSGI) against gunicorn (gthread), each as bin/web starts it.

    .venv/bin/python bench/server_bench.py [--duration 5] [--connections 200] [--servers granian gunicorn]

Needs `wrk` (Debian: apt-get install -y wrk). Builds a throw-away SQLite store (the status history of
bench/status_bench.py and --patients demo patients), then, one server at a time, starts `bin/web`
(WEB_SERVER=…, the deployed settings, access log included, written to a file) on a free loopback port
and measures each of
  hello       a hello-world WSGI app under the same server (bench/hello_wsgi.py): the server's ceiling
  status      GET /status.json, full answers
  status 304  GET /status.json with If-None-Match, each connection sending the ETag it last got
  search      GET /api/v1/patients?q=YYYYMM as the demo prescriber (API token)
with wrk's --connections closed-loop connections and with --connections clients polling once a second.
Prints one table: p50/p95/p99, req/s, the server's CPU µs per request (the figure to decide by on a
busy machine), its peak RSS (all processes), the share of 304s, p95 over the hello-world p95 of the same
server and load, and PASS/FAIL against the goal: p95 ≤ 10 ms, or ≤ 1.5 × that ceiling.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from functools import partial
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import harness
import load

GOAL_MS, GOAL_RATIO = 10.0, 1.5  # p95 ≤ 10 ms, or within 1.5 × the hello-world ceiling of the same server
HELLO_APP = "bench.hello_wsgi:app"
def prepare_store(env: dict[str, str], patients: int) -> str:
    """Migrate, seed the demo data and the status history; return a birth-month prefix that finds patients."""
    def flask(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    flask("db", "upgrade")
    flask("seed-demo", "--patients", str(patients))
    subprocess.run([sys.executable, str(ROOT / "bench" / "status_bench.py"), "--seed-only"], cwd=ROOT, env=env,
                   check=True)
    from sqlalchemy import create_engine, text
    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as connection:
        personnummer = connection.scalar(text("SELECT personnummer FROM patients ORDER BY id LIMIT 1 OFFSET 7"))
    engine.dispose()
    return personnummer[:6]


@dataclass(frozen=True)
class Target:
    name: str
    path: str
    headers: tuple[str, ...] = ()
    conditional: bool = False


def measure_server(server: str, wrk: load.Wrk, env: dict[str, str], tmp: Path, targets: list[Target],
                   args: argparse.Namespace) -> list[tuple[str, str, dict]]:
    """Measure the hello-world ceiling and then each target under `server`; return (target, load, figures)."""
    c, d = args.connections, args.duration
    results = []
    for app, wanted in ((HELLO_APP, targets[:1]), ("app.wsgi:app", targets[1:])):
        ready = "/" if app == HELLO_APP else "/health"
        with harness.web(server, env, tmp / f"{server}-{app.split('.')[0]}.log", app=app, ready_path=ready) as running:
            for target in wanted:
                url = f"http://127.0.0.1:{running.port}{target.path}"
                wrk.closed_loop(url, 50, 2, target.headers, target.conditional)  # warm every worker up
                loads: list[tuple[str, load.Load]] = [
                    (f"wrk {c} conn", partial(wrk.closed_loop, url, c, d, target.headers, target.conditional)),
                    (f"{c} polls 1/s", partial(load.paced, running.port, target.path, c, c, d, target.headers,
                                               target.conditional)),
                ]
                for label, load_fn in loads:
                    figures = load.measure(running.pids(), load_fn)
                    results.append((target.name, label, figures))
                    print(row(server, target.name, label, figures, None), flush=True)
    return results


HEADER = (f"{'server':<9} {'target':<11} {'load':<14} {'n':>7} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} "
          f"{'µs CPU':>7} {'RSS MB':>7} {'304s':>5} {'p95/ceil':>8}  verdict   cores: server client other")


def row(server: str, target: str, label: str, r: dict, ceiling: dict | None) -> str:
    ratio = r["p95"] / ceiling["p95"] if ceiling and ceiling["p95"] > 0 else float("nan")
    if ceiling is None:
        verdict = ""
    else:
        met = not r["errors"] and (r["p95"] <= GOAL_MS or r["p95"] <= GOAL_RATIO * ceiling["p95"])
        verdict = "PASS" if met else "FAIL"
    share = f"{r['not_modified'] / max(r['n'], 1):.0%}" if r.get("not_modified") else "-"
    errors = f"  ERRORS={r['errors']}" if r["errors"] else ""
    return (f"{server:<9} {target:<11} {label:<14} {r['n']:7d} {r['rate']:7.0f} {r['p50']:7.2f} {r['p95']:7.2f} "
            f"{r['p99']:7.2f} {r['cpu_us']:7.0f} {r['rss_mb']:7.0f} {share:>5} {ratio:8.2f}  {verdict:<8}  "
            f"{r['server']:.2f} {r['client']:.2f} {r['other']:.2f}{errors}")


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", nargs="+", default=["granian", "gunicorn"], choices=["granian", "gunicorn"])
    parser.add_argument("--connections", type=int, default=200, help="wrk connections, and pollers at 1/s")
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--targets", nargs="+", default=["status", "status 304", "search"],
                        choices=["status", "status 304", "search"], help="what to measure besides hello")
    parser.add_argument("--patients", type=int, default=2000, help="demo patients in the store")
    parser.add_argument("--workers", type=int, help="WEB_WORKERS for both servers (default: each server's, bin/web)")
    parser.add_argument("--threads", type=int, help="WEB_THREADS for both servers (default: each server's, bin/web)")
    args = parser.parse_args()
    harness.require_wrk()

    with tempfile.TemporaryDirectory(prefix="server-bench-") as directory:
        tmp = Path(directory)
        env = {**os.environ, "FLASK_APP": "app", "SECRET_KEY": "server-bench", "INSTANCE_PATH": str(tmp),
               "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}"}
        env.update({name: str(value) for name, value in (("WEB_WORKERS", args.workers), ("WEB_THREADS", args.threads))
                    if value is not None})
        prefix = prepare_store(env, args.patients)
        with harness.web("gunicorn", env, tmp / "token.log") as running:
            token = harness.token_for(f"http://127.0.0.1:{running.port}", "prescriber")
        targets = [Target("hello", "/"), Target("status", "/status.json"),
                   Target("status 304", "/status.json", conditional=True),
                   Target("search", f"/api/v1/patients?q={prefix}", (f"Authorization: Bearer {token}",))]
        targets = [t for t in targets if t.name == "hello" or t.name in args.targets]
        wrk = load.Wrk(tmp)
        before, started = os.getloadavg(), time.monotonic()
        print(f"cpus: {os.cpu_count()}   workers {args.workers} × threads {args.threads}   load tool: wrk (1 thread), "
              f"pollers: python   store: SQLite, {args.patients} patients   search q={prefix}")
        print(f"uptime: {uptime()}\n")
        results = {server: measure_server(server, wrk, env, tmp, targets, args) for server in args.servers}

        print(f"\n{HEADER}")
        for server, rows in results.items():
            ceilings = {label: figures for name, label, figures in rows if name == "hello"}
            for name, label, figures in rows:
                print(row(server, name, label, figures, ceilings[label]))
        busiest = max(figures["other"] for rows in results.values() for _, _, figures in rows)
        print(f"\nload average before: {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}   after: "
              + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f"   ({time.monotonic() - started:.0f} s)")
        print(f"uptime: {uptime()}")
        note = harness.busy_note(busiest, "a measurement", "; compare CPU µs per request and the ratios, "
                                 "or rerun on a quiet machine.")
        if note:
            print(note)
        print(f"goal: p95 ≤ {GOAL_MS:.0f} ms, or ≤ {GOAL_RATIO} × the hello-world p95 of the same server and load")


if __name__ == "__main__":
    main()
