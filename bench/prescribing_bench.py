"""Benchmark patient search, patient overview and receipt PDF through the HTTP API.

Builds a store of N patients with about three prescription rows each, starts the app as deployed
(bin/web: granian, four workers of two threads; --server gunicorn for gunicorn), measures each endpoint with one and
with several clients (--load: Python threads, wrk, wrk with users' pauses), prints p50/p95/p99,
throughput and the workers' peak RSS against the targets, then profiles the same requests in-process
(SQL statement times, query plans, access-log write, PDF render).

    .venv/bin/python bench/prescribing_bench.py --patients 100000           # quick run, temporary SQLite
    .venv/bin/python bench/prescribing_bench.py                             # 1,000,000 patients, ~3M rows
    .venv/bin/python bench/prescribing_bench.py --directory /var/tmp/pb --keep      # keep the store ...
    .venv/bin/python bench/prescribing_bench.py --reuse /var/tmp/pb/bench.sqlite3   # ... measure it again
    .venv/bin/python bench/prescribing_bench.py --database-url postgresql://postgres@127.0.0.1:5432/bench \\
        --reset-schema                                                      # build and measure on PostgreSQL

A PostgreSQL database must be empty, or named with --reset-schema, which drops and recreates its
schema public (everything in it is lost). --reuse takes a SQLite file or a database URL.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, insert, select, text

# Run as a script, Python puts bench/ on the path, not the project root that holds `app`.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import harness  # noqa: E402
from core.clock import local_today  # noqa: E402
from core.config import normalise_database_url  # noqa: E402
from app.demo.seed import DEFAULT_SEED  # noqa: E402
from core.models import Article, Patient, Prescription, PrescriptionRow, UnitPayer, User  # noqa: E402
from core.models.users import user_product_areas, user_units  # noqa: E402
from app.prescribing.quantity import prescription_expires_on  # noqa: E402
from prescribing_goals import load_line, print_scaling, print_search_goals  # noqa: E402
from prescribing_profile import diagnose  # noqa: E402
from stores import app_for, seeded_store, store_location, store_size  # noqa: E402

TARGETS_MS = {"search": 20.0, "overview": 40.0, "receipt": 50.0, "bare": None}  # p95, from the performance issue
BARE = "bare /health"  # the same server's cheapest answer: what HTTP, the server and Flask cost alone
SEARCHES = ("search YYYYMM", "search YYYY")
PHASE_KEYS = ("search", "overview", "receipt")  # --phases: each phase's target key
SECRET_KEY = "prescribing-bench"
FIRST_NUMBER = 300_000_000  # far above the live series (100000001…), so numbers never collide
HISTORY_DAYS = 548  # prescriptions spread over the last 18 months
PERIOD_DAYS, WITHDRAWALS = 90, 4
CANCELLED_SHARE = 0.08
PATIENTS, PRESCRIPTIONS, ROWS = Patient.__table__, Prescription.__table__, PrescriptionRow.__table__


# ---------------------------------------------------------------- store


def build_store(url: str, patients: int, seed: int, chunk_rows: int) -> None:
    """Migrate the store, seed the demo data and N patients, then bulk-insert prescriptions."""
    with seeded_store(url, SECRET_KEY, patients, seed) as (engine, started):
        rows_started = time.perf_counter()
        made, rows = insert_prescriptions(engine, random.Random(f"{seed}:prescriptions"), local_today(), chunk_rows)
        finished = time.perf_counter()
        print(f"prescriptions: {made:,}, rows: {rows:,} in {finished - rows_started:.1f} s "
              f"({rows / (finished - rows_started):,.0f} rows/s); store built in {finished - started:.1f} s")


@dataclass(frozen=True)
class Catalogue:
    """What the `prescriber` user may prescribe: areas, their articles, and units with a payer for each."""

    prescriber_id: int
    articles: dict[int, list[int]]
    units: dict[int, list[int]]

    @property
    def areas(self) -> list[int]:
        return sorted(area for area in self.articles if self.units.get(area))


def load_catalogue(engine: Engine) -> Catalogue:
    with engine.connect() as c:
        prescriber = c.scalar(select(User.id).where(User.username == "prescriber"))
        areas = set(c.scalars(select(user_product_areas.c.product_area_id)
                              .where(user_product_areas.c.user_id == prescriber)))
        articles: dict[int, list[int]] = defaultdict(list)
        for article_id, area in c.execute(select(Article.id, Article.product_area_id).where(Article.is_active)):
            if area in areas:
                articles[area].append(article_id)
        units: dict[int, list[int]] = defaultdict(list)
        payers = select(UnitPayer.unit_id, UnitPayer.product_area_id).join(
            user_units, user_units.c.unit_id == UnitPayer.unit_id).where(user_units.c.user_id == prescriber)
        for unit_id, area in c.execute(payers):
            units[area].append(unit_id)
    return Catalogue(prescriber, dict(articles), dict(units))


class PrescriptionFactory:
    """Make one patient's 1–2 prescriptions of 1–3 distinct articles each, as insert dicts with ids."""

    def __init__(self, catalogue: Catalogue, rng: random.Random, today: date, first_id: int, first_row_id: int):
        self._catalogue, self._rng = catalogue, rng
        self._dates = [today - timedelta(days=age) for age in range(HISTORY_DAYS)]
        self._moments = [datetime(d.year, d.month, d.day, 9, 30) for d in self._dates]
        self._valid_until = [prescription_expires_on(d) for d in self._dates]
        self._next_id, self._next_row_id = first_id, first_row_id

    def patient(self, patient_id: int, prescriptions: list[dict], rows: list[dict]) -> None:
        rng, catalogue = self._rng, self._catalogue
        used: set[int] = set()
        for _ in range(rng.randint(1, 2)):
            area = rng.choice(catalogue.areas)
            age = rng.randrange(HISTORY_DAYS)
            prescription_id, self._next_id = self._next_id, self._next_id + 1
            prescriptions.append({
                "id": prescription_id, "number": FIRST_NUMBER + prescription_id, "patient_id": patient_id,
                "prescriber_id": catalogue.prescriber_id, "unit_id": rng.choice(catalogue.units[area]),
                "product_area_id": area, "prescribed_on": self._dates[age], "created_at": self._moments[age],
            })
            for article_id in rng.sample(catalogue.articles[area], rng.randint(1, 3)):
                if article_id not in used:  # distinct articles: never two active rows for one article
                    used.add(article_id)
                    rows.append(self._row(prescription_id, patient_id, article_id, age))

    def _row(self, prescription_id: int, patient_id: int, article_id: int, age: int) -> dict:
        rng = self._rng
        used = min(WITHDRAWALS, rng.randint(0, age // PERIOD_DAYS + 1))
        status = "cancelled" if rng.random() < CANCELLED_SHARE else "delivered" if used == WITHDRAWALS else "active"
        closed = status != "active"
        row_id, self._next_row_id = self._next_row_id, self._next_row_id + 1
        return {
            "id": row_id, "prescription_id": prescription_id, "patient_id": patient_id, "article_id": article_id,
            "packages_per_withdrawal": rng.randint(1, 6), "period_days": PERIOD_DAYS, "withdrawals": WITHDRAWALS,
            "withdrawals_used": used, "valid_until": self._valid_until[age], "status": status,
            "closed_at": self._moments[rng.randint(0, age)] if closed else None,
            "closed_by_id": self._catalogue.prescriber_id if closed else None,
        }


def insert_prescriptions(engine: Engine, rng: random.Random, today: date, chunk_rows: int) -> tuple[int, int]:
    """Insert about three rows per patient in chunks of ~chunk_rows; return (prescriptions, rows)."""
    catalogue = load_catalogue(engine)
    with engine.connect() as c:
        patient_ids = c.scalars(select(PATIENTS.c.id).order_by(PATIENTS.c.id)).all()
        first_id = (c.scalar(select(func.max(PRESCRIPTIONS.c.id))) or 0) + 1
        first_row_id = (c.scalar(select(func.max(ROWS.c.id))) or 0) + 1
    factory = PrescriptionFactory(catalogue, rng, today, first_id, first_row_id)
    prescriptions: list[dict] = []
    rows: list[dict] = []
    made = written = 0
    for patient_id in patient_ids:
        factory.patient(patient_id, prescriptions, rows)
        if len(rows) >= chunk_rows or patient_id == patient_ids[-1]:
            with engine.begin() as c:
                c.execute(insert(PRESCRIPTIONS), prescriptions)
                c.execute(insert(ROWS), rows)
            made, written = made + len(prescriptions), written + len(rows)
            prescriptions, rows = [], []
    if engine.dialect.name == "postgresql":
        with engine.begin() as c:  # explicit ids leave the sequences behind
            for table in ("prescriptions", "prescription_rows"):
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                c.execute(text(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))"))
        # A live database has statistics (autovacuum); right after a bulk load it has none, and the
        # planner then hash-joins whole tables. SQLite is left as the app leaves it: never analysed.
        with engine.connect() as c:
            c.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return made, written


# ---------------------------------------------------------------- what to request


@dataclass(frozen=True)
class Phase:
    name: str
    target: str  # key of TARGETS_MS
    paths: list[str]


def draw_phases(url: str, count: int, rng: random.Random) -> list[Phase]:
    """Return the request paths of each phase, drawn at random from the store."""
    engine = create_engine(normalise_database_url(url))
    with engine.connect() as c:
        personnummer = _random_values(c, PATIENTS.c.id, PATIENTS.c.personnummer, count, rng)
        with_rows = _random_values(c, ROWS.c.id, ROWS.c.patient_id, count, rng)
        numbers = _random_values(c, PRESCRIPTIONS.c.id, PRESCRIPTIONS.c.number, count, rng)
    engine.dispose()
    phases = [
        Phase(BARE, "bare", ["/health"] * count),
        Phase("search YYYYMM", "search", [f"/api/v1/patients?q={p[:6]}" for p in personnummer]),
        Phase("search YYYY", "search", [f"/api/v1/patients?q={p[:4]}" for p in personnummer]),
        Phase("overview", "overview", [f"/api/v1/patients/{i}" for i in with_rows]),
        Phase("receipt PDF", "receipt", [f"/api/v1/prescriptions/{n}/receipt.pdf" for n in numbers]),
    ]
    return [phase for phase in phases if phase.paths]


def _random_values(connection, id_column, value_column, count: int, rng: random.Random) -> list:  # noqa: ANN001
    """Return `count` values of rows picked at random by id (with repeats if the table is small)."""
    low, high = connection.execute(select(func.min(id_column), func.max(id_column))).one()
    if low is None:
        return []
    ids = rng.sample(range(low, high + 1), min(count, high - low + 1))
    values = list(connection.scalars(select(value_column).where(id_column.in_(ids))))
    rng.shuffle(values)
    return rng.choices(values, k=count) if len(values) < count else values


# ---------------------------------------------------------------- measuring


def measure_all(server: harness.Server, token: str, phases: list[Phase], args: argparse.Namespace,
                repeat_if_disturbed: bool, work: Path) -> list[harness.Measurement]:
    """Measure every phase at every concurrency with each load generator; repeat a disturbed measurement."""
    clients = {"python": lambda: harness.Client(server.base_url, token),
               "wrk": lambda: harness.WrkClient(server.base_url, token, work),
               "wrk-think": lambda: harness.WrkClient(server.base_url, token, work, args.think_ms)}
    plan = harness.Plan.from_args(args)
    retries = args.retries if repeat_if_disturbed else 0
    return [m for load in args.load for client in [clients[load]()] for phase in phases
            for m in harness.measure_phase(server, client, phase.name, TARGETS_MS[phase.target], phase.paths, plan,
                                           print_measurement, retries)]


def print_measurement(m: harness.Measurement) -> None:
    errors = f"  ERRORS {m.errors}" if m.errors else ""
    print(f"{m.name:<14} {m.client:<8} c={m.concurrency}  n={len(m.latencies_ms):<4} p50 {m.percentile(50):6.1f}  "
          f"p95 {m.percentile(95):6.1f}  p99 {m.percentile(99):6.1f} ms  (server p50 {m.percentile(50, m.server_ms):5.2f}"
          f"  p95 {m.percentile(95, m.server_ms):5.2f} ms)  {m.per_second:6.1f} req/s{errors}")
    print(f"{'':<28} worker peak RSS {m.peak_rss_mb:4.0f} MB; CPU cores used: workers {m.cores['workers']:.2f} "
          f"({m.cpu_ms_per_request:.2f} ms/request, busiest worker {m.busiest_worker_share:.0%}), "
          f"client {m.cores['client']:.2f}, other processes {m.cores['other']:.2f}", flush=True)


# ---------------------------------------------------------------- main


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed for the data and the samples")
    parser.add_argument("--directory", help="where the new SQLite file goes (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the new SQLite store")
    parser.add_argument("--reuse", metavar="PATH_OR_URL", help="measure an existing store instead of building one")
    parser.add_argument("--database-url", help="build into this (empty) database instead of a SQLite file")
    parser.add_argument("--reset-schema", action="store_true", help="PostgreSQL: drop and recreate schema public")
    parser.add_argument("--chunk-rows", type=int, default=20_000, help="prescription rows per insert")
    parser.add_argument("--server", choices=("granian", "gunicorn"), default="granian",
                        help="the web server (default: granian, as bin/web runs it)")
    parser.add_argument("--workers", type=int, help="web server worker processes (default: bin/web's)")
    parser.add_argument("--phases", nargs="+", choices=PHASE_KEYS, default=list(PHASE_KEYS),
                        help="which phases to measure (the bare endpoint always)")
    parser.add_argument("--keep-alive", type=int, help="--server gunicorn: --keep-alive seconds (default: gunicorn.conf.py's)")
    parser.add_argument("--requests", type=int, default=500, help="measured requests per phase and concurrency")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4],
                        help="client-thread counts to measure each phase with")
    parser.add_argument("--retries", type=int, default=2,
                        help="SQLite: measure again when other processes used the CPU meanwhile")
    parser.add_argument("--load", nargs="+", choices=("python", "wrk", "wrk-think"), default=["python", "wrk"],
                        help="load generators, each measuring every phase: Python threads (requests), wrk (C, one "
                             "thread: leaves the server the CPU the Python client uses), wrk-think (wrk, each "
                             "connection pausing --think-ms after an answer)")
    parser.add_argument("--think-ms", type=int, default=9,
                        help="wrk-think: the pause after each answer (9 ms: four clients sent 280–305 searches/s here)")
    parser.add_argument("--profile-requests", type=int, default=200, help="in-process requests per phase (0: skip)")
    args = parser.parse_args()
    args.workers = args.workers or int(harness.default_shape(args.server)[0])
    return args


def web_server(args: argparse.Namespace, env: dict[str, str], work: Path):  # noqa: ANN201 - a context manager
    """Start the chosen server; each writes its own request time per answer (granian ms, gunicorn µs)."""
    if args.server == "granian":
        return harness.web("granian", {**env, "WEB_WORKERS": str(args.workers)}, work / "granian.log")
    options = ["--access-logformat", harness.MICROSECOND_LOG_FORMAT]
    if args.keep_alive is not None:
        options += ["--keep-alive", str(args.keep_alive)]
    return harness.gunicorn(env, work / "gunicorn.log", workers=args.workers, options=options)


@dataclass
class MonitorWork:
    """What the monitor's store jobs did meanwhile, and the CPU they took (in this process, not the server's)."""

    cpu_seconds: float = 0.0
    passes: int = 0
    rows_moved: int = 0

    def line(self) -> str:
        per_row = f"{self.cpu_seconds / self.rows_moved * 1e6:.1f} µs per row" if self.rows_moved else "no rows"
        return (f"the monitor's store jobs meanwhile (WAL checkpoint, access journal into the log), once a second: "
                f"{self.cpu_seconds:.2f} s of CPU in {self.passes} passes, {self.rows_moved:,} access-log rows "
                f"moved, {per_row}")


@contextmanager
def monitor_store_jobs(url: str) -> Iterator[MonitorWork]:
    """Meanwhile, every second, do to the store what the deployed monitor's jobs core.wal_checkpoint and
    core.access_journal do (status/tasks.py), and count their CPU: the server's rows reach the log."""
    from core.extensions import db
    from core.privacy import access_journal
    from core.store import checkpoint_wal

    app = app_for(url, SECRET_KEY)
    work, stop = MonitorWork(), threading.Event()

    def one_pass() -> None:
        started = time.thread_time()
        with app.app_context():
            checkpoint_wal(db.engine)
            work.rows_moved += access_journal.ingest_pending()
        work.cpu_seconds += time.thread_time() - started
        work.passes += 1

    def run() -> None:
        while not stop.wait(1.0):
            one_pass()

    worker = threading.Thread(target=run, name="monitor-store-jobs", daemon=True)
    worker.start()
    try:
        yield work
    finally:
        stop.set()
        worker.join()
        one_pass()  # what the last second left


def main() -> None:
    args = _parse_args()
    work = Path(tempfile.mkdtemp(prefix="prescribing-bench-"))
    try:
        with store_location(args, work, "prescribing-bench") as store:
            if store.build:
                build_store(store.url, args.patients, args.seed, args.chunk_rows)
            print(f"store: {store.url} — size {store_size(store)}")
            phases = [phase for phase in draw_phases(store.url, harness.Plan.from_args(args).paths_needed,
                                                     random.Random(args.seed))
                      if phase.target == "bare" or phase.target in args.phases]
            env = {**os.environ, "DATABASE_URL": store.url, "SECRET_KEY": SECRET_KEY}
            with web_server(args, env, work) as server, monitor_store_jobs(store.url) as monitor:
                token = harness.token_for(server.base_url, "prescriber")
                print(f"\n{server.options} at {server.base_url}; latencies client-side, ms; {load_line()}")
                results = measure_all(server, token, phases, args, store.sqlite_file is not None, work)
            harness.print_verdicts(results, f"\ntargets (p95 through HTTP, {args.workers} {args.server} workers):", 14)
            print_search_goals(results, SEARCHES, BARE, args.server)
            print_scaling(results, "receipt PDF", args.workers)
            print(f"\n{monitor.line()}")
            if args.profile_requests:
                peaks = {phase.name: max((m.per_second for m in results if m.name == phase.name), default=0.0)
                         for phase in phases}
                diagnose(store.url, SECRET_KEY, token, {phase.name: phase.paths for phase in phases},
                         args.profile_requests, peaks)
            print(f"\nstore size after the run: {store_size(store)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
