"""Benchmark the withdrawal overview and the article search through the HTTP API under gunicorn.

Builds a store of N patients (`seed_demo`), gives each one prescription of one or two rows spread over
every prescribing unit, and each row the withdrawal history the demo uses (one withdrawal per 90-day
period: delivered, sent, new or aborted; about 2.5 per row), bulk-inserted with SQLAlchemy Core. Then
starts gunicorn (two workers) and measures, with 1 and 4 client threads, p50/p95/p99, throughput and
the workers' peak RSS:

  overview as the demo prescriber (her three units) and as customer service (every unit), newest
  first, pages 1–3; search by U-number, by patient, and an advanced search (unit + status + dates);
  and the article search `GET /api/v1/articles?q=…` (name part or number prefix).

Targets (issue 4): overview p95 ≤ 40 ms, article search p95 ≤ 20 ms.

    .venv/bin/python bench/withdrawals_bench.py --patients 100000            # quick run, temporary SQLite
    .venv/bin/python bench/withdrawals_bench.py --patients 1000000           # the issue's store
    .venv/bin/python bench/withdrawals_bench.py --patients 1000000 --directory /var/tmp/wb --keep
    .venv/bin/python bench/withdrawals_bench.py --reuse /var/tmp/wb/bench.sqlite3     # measure again
    .venv/bin/python bench/withdrawals_bench.py --database-url postgresql://postgres@127.0.0.1:5432/bench \\
        --reset-schema --patients 1000000                                              # on PostgreSQL

A PostgreSQL database must be empty, or named with --reset-schema, which drops and recreates its
schema public (everything in it is lost).
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, Python puts bench/ on the path, not the project root

import harness  # noqa: E402
from core.clock import utcnow  # noqa: E402
from core.config import normalise_database_url  # noqa: E402
from app.demo.seed import DEFAULT_SEED  # noqa: E402
from app.demo.withdrawals import history_for_row  # noqa: E402
from core.models import Article, Patient, Prescription, PrescriptionRow, UnitPayer, User  # noqa: E402
from core.models.users import user_units  # noqa: E402
from app.prescribing.quantity import prescription_expires_on  # noqa: E402
from app.withdrawals.models import Withdrawal  # noqa: E402
from stores import seeded_store, store_location  # noqa: E402

SECRET_KEY = "withdrawals-bench"
TARGETS_MS = {"overview": 40.0, "articles": 20.0}
FIRST_PRESCRIPTION_NUMBER = 300_000_000  # far above the live series, so numbers never collide
FIRST_WITHDRAWAL_NUMBER = 500_000_000
HISTORY_DAYS = 548  # prescriptions over the last 18 months
PATIENTS, PRESCRIPTIONS, ROWS, WITHDRAWALS = (Patient.__table__, Prescription.__table__, PrescriptionRow.__table__,
                                              Withdrawal.__table__)


# ---------------------------------------------------------------- store


def build_store(url: str, patients: int, seed: int, chunk: int) -> None:
    """Migrate, seed the demo data with N patients, then bulk-insert prescriptions and withdrawals."""
    with seeded_store(url, SECRET_KEY, patients, seed) as (engine, started):
        made = insert_history(engine, random.Random(f"{seed}:withdrawals"), chunk)
        print(f"prescription rows: {made[0]:,}, withdrawals: {made[1]:,}; store built in "
              f"{time.perf_counter() - started:.1f} s")


def insert_history(engine: Engine, rng: random.Random, chunk: int) -> tuple[int, int]:
    """Give every patient one prescription of 1–2 rows with a withdrawal history; return (rows, withdrawals)."""
    now = utcnow().replace(microsecond=0)
    today = now.date()
    with engine.connect() as c:
        prescriber = c.scalar(select(User.id).where(User.username == "prescriber"))
        units: dict[int, list[int]] = {}
        for unit_id, area in c.execute(select(UnitPayer.unit_id, UnitPayer.product_area_id)):
            units.setdefault(area, []).append(unit_id)
        articles: dict[int, list[int]] = {}
        for article_id, area in c.execute(select(Article.id, Article.product_area_id).where(Article.is_active)):
            articles.setdefault(area, []).append(article_id)
        patient_ids = c.scalars(select(PATIENTS.c.id).order_by(PATIENTS.c.id)).all()
    areas = sorted(a for a in articles if units.get(a))
    dates = [today - timedelta(days=age) for age in range(HISTORY_DAYS)]
    numbers = iter(range(FIRST_WITHDRAWAL_NUMBER, 999_999_999))
    prescriptions, rows, withdrawals = [], [], []
    row_id = prescription_id = 0
    total_rows = total_withdrawals = 0
    report_at = 1_000_000
    for index, patient_id in enumerate(patient_ids):
        area = rng.choice(areas)
        prescribed_on = dates[rng.randrange(HISTORY_DAYS)]
        unit_id = rng.choice(units[area])
        prescription_id += 1
        prescriptions.append({
            "id": prescription_id, "number": FIRST_PRESCRIPTION_NUMBER + prescription_id, "patient_id": patient_id,
            "prescriber_id": prescriber, "unit_id": unit_id, "product_area_id": area, "prescribed_on": prescribed_on,
            "created_at": datetime.combine(prescribed_on, datetime.min.time()),
        })
        for article_id in rng.sample(articles[area], rng.randint(1, 2)):
            row_id += 1
            spec = {"id": row_id, "patient_id": patient_id, "article_id": article_id, "unit_id": unit_id,
                    "packages_per_withdrawal": rng.randint(1, 6), "period_days": 90, "withdrawals": 4,
                    "prescribed_on": prescribed_on}
            history = history_for_row(spec, rng, now, lambda: next(numbers), prescriber)
            rows.append({
                "id": row_id, "prescription_id": prescription_id, "patient_id": patient_id, "article_id": article_id,
                "packages_per_withdrawal": spec["packages_per_withdrawal"], "period_days": 90, "withdrawals": 4,
                "withdrawals_used": history.withdrawals_used, "valid_until": prescription_expires_on(prescribed_on),
                "status": history.status, "closed_at": history.closed_at,
            })
            withdrawals += history.withdrawals
        if len(withdrawals) >= chunk or index == len(patient_ids) - 1:
            with engine.begin() as c:
                c.execute(insert(PRESCRIPTIONS), prescriptions)
                c.execute(insert(ROWS), rows)
                c.execute(insert(WITHDRAWALS), withdrawals)
            total_rows, total_withdrawals = total_rows + len(rows), total_withdrawals + len(withdrawals)
            prescriptions, rows, withdrawals = [], [], []
            if total_withdrawals >= report_at:
                print(f"  {index + 1:>9,} patients' histories ({total_withdrawals:,} withdrawals)", flush=True)
                report_at += 1_000_000
    if engine.dialect.name == "postgresql":
        with engine.begin() as c:  # explicit ids leave the sequences behind
            for table in ("prescriptions", "prescription_rows"):
                c.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        with engine.connect() as c:  # a live database has statistics; right after a bulk load it has none
            c.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return total_rows, total_withdrawals


# ---------------------------------------------------------------- what to request


@dataclass(frozen=True)
class Phase:
    name: str
    target: str | None  # key of TARGETS_MS
    user: str
    paths: list[str]


def draw_phases(url: str, count: int, rng: random.Random) -> list[Phase]:
    """Return the request paths of each phase, drawn at random from the store."""
    engine = create_engine(normalise_database_url(url))
    with engine.connect() as c:
        low, high = c.execute(select(func.min(WITHDRAWALS.c.id), func.max(WITHDRAWALS.c.id))).one()
        sample = rng.sample(range(low, high + 1), min(count, high - low + 1))
        picked = c.execute(select(WITHDRAWALS.c.number, PATIENTS.c.personnummer)
                           .join(PATIENTS, PATIENTS.c.id == WITHDRAWALS.c.patient_id)
                           .where(WITHDRAWALS.c.id.in_(sample))).all()
        prescriber = c.scalar(select(User.id).where(User.username == "prescriber"))
        units = c.scalars(select(user_units.c.unit_id).where(user_units.c.user_id == prescriber)).all()
        names = c.scalars(select(Article.name)).all()
        article_numbers = c.scalars(select(Article.number)).all()
    engine.dispose()
    picked = rng.choices(picked, k=count)
    today = date.today()
    words = [w for name in names for w in name.split() if len(w) >= 4 and w.isalpha()]
    article_queries = [rng.choice(words)[:rng.randint(3, 6)] if rng.random() < 0.7 else rng.choice(article_numbers)[:3]
                       for _ in range(count)]

    def advanced() -> str:
        start = today - timedelta(days=rng.randint(30, 400))
        status = rng.choice(("delivered", "sent", "new", "aborted"))
        return (f"/api/v1/withdrawals?unit={rng.choice(units)}&status={status}&from={start}"
                f"&to={start + timedelta(days=rng.randint(7, 90))}")

    return [
        Phase("overview prescriber", "overview", "prescriber",
              [f"/api/v1/withdrawals?page={rng.randint(1, 3)}" for _ in range(count)]),
        Phase("overview cust.serv.", "overview", "customer_service",
              [f"/api/v1/withdrawals?page={rng.randint(1, 3)}" for _ in range(count)]),
        Phase("by U-number", "overview", "customer_service", [f"/api/v1/withdrawals?q=U{n}" for n, _ in picked]),
        Phase("by patient", "overview", "customer_service", [f"/api/v1/withdrawals?patient={p}" for _, p in picked]),
        Phase("advanced search", "overview", "prescriber", [advanced() for _ in range(count)]),
        Phase("article search", "articles", "prescriber", [f"/api/v1/articles?q={q}" for q in article_queries]),
    ]


# ---------------------------------------------------------------- measuring


def run(url: str, args: argparse.Namespace, work: Path) -> list[harness.Measurement]:
    plan = harness.Plan.from_args(args)
    phases = draw_phases(url, plan.paths_needed, random.Random(args.seed))
    results = []
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET_KEY}
    with harness.gunicorn(env, work / "gunicorn.log", workers=args.workers) as server:
        clients = {user: harness.Client(server.base_url, harness.token_for(server.base_url, user))
                   for user in {phase.user for phase in phases}}
        for phase in phases:
            target = TARGETS_MS[phase.target] if phase.target else None
            results += harness.measure_phase(server, clients[phase.user], phase.name, target, phase.paths, plan,
                                             print_measurement)
    return results


def print_measurement(m: harness.Measurement) -> None:
    errors = f"  ERRORS {m.errors}" if m.errors else ""
    print(f"{m.name:<20} c={m.concurrency}  n={len(m.latencies_ms):<4} p50 {m.percentile(50):6.1f}  "
          f"p95 {m.percentile(95):6.1f}  p99 {m.percentile(99):6.1f} ms  (server p50 "
          f"{m.percentile(50, m.server_ms):3.0f} p95 {m.percentile(95, m.server_ms):3.0f} ms)  "
          f"{m.per_second:6.1f} req/s  worker peak RSS {m.peak_rss_mb:4.0f} MB  "
          f"other processes {m.cores['other']:.2f} cores{errors}", flush=True)


# ---------------------------------------------------------------- main


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--database-url", help="build in this store instead of a temporary SQLite file")
    parser.add_argument("--reset-schema", action="store_true", help="PostgreSQL: drop and recreate schema public")
    parser.add_argument("--directory", help="build the SQLite store here")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite store after the run")
    parser.add_argument("--reuse", help="measure an existing store (SQLite file or URL) without building")
    parser.add_argument("--requests", type=int, default=300, help="requests per phase and concurrency level")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=50_000, help="withdrawals per insert transaction")
    return parser.parse_args()


def main() -> None:
    args = _parse_args()
    with tempfile.TemporaryDirectory(prefix="withdrawals-bench-") as scratch:
        work = Path(scratch)
        with store_location(args, work, "withdrawals-bench") as store:
            if store.build:
                build_store(store.url, args.patients, args.seed, args.chunk)
            if store.sqlite_file:
                print(f"store: {store.url} ({store.sqlite_file.stat().st_size / 2**20:,.0f} MiB)")
            engine = create_engine(normalise_database_url(store.url))
            with engine.connect() as c:
                counts = {t.name: c.scalar(select(func.count()).select_from(t)) for t in (PATIENTS, ROWS, WITHDRAWALS)}
            engine.dispose()
            print("rows: " + ", ".join(f"{name} {n:,}" for name, n in counts.items()))
            results = run(store.url, args, work)
            harness.print_verdicts(results, f"\ntargets (p95 through HTTP, {args.workers} gunicorn workers, "
                                   f"{os.cpu_count()} cores):", 20)


if __name__ == "__main__":
    main()
