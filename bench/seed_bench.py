"""Benchmark `seed_demo`: migrate a fresh store, seed N patients, print rate, time and peak memory.

    .venv/bin/python bench/seed_bench.py                      # 100,000 patients, temporary SQLite file
    .venv/bin/python bench/seed_bench.py --patients 1000000
    .venv/bin/python bench/seed_bench.py --database-url postgresql://postgres@127.0.0.1:5432/bench --reset-schema

A PostgreSQL database must be empty, or named with --reset-schema, which drops and recreates its
schema public (everything in it is lost).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, Python puts bench/ on the path, not the project root that holds `app`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stores import reset_postgres_schema  # noqa: E402


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the CLI's)")
    parser.add_argument("--database-url", default=None,
                        help="store to seed (default: a new SQLite file in a temporary directory)")
    parser.add_argument("--reset-schema", action="store_true",
                        help="PostgreSQL only: drop and recreate schema public first")
    return parser.parse_args()


def _peak_memory_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _print_progress(done: int, total: int) -> None:
    if done % 100_000 == 0:
        print(f"  {done:>9,} / {total:,} patients", flush=True)


def run(patients: int, database_url: str, seed: int | None) -> None:
    """Migrate the store, seed it, and print the figures."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "seed-bench")  # keeps the bench from touching instance/secret_key

    from flask_migrate import upgrade

    from app import create_app
    from app.demo.seed import DEFAULT_SEED, seed_demo
    from core.extensions import db

    app = create_app()
    with app.app_context():
        started = time.perf_counter()
        upgrade()
        migrated = time.perf_counter()
        print(f"store: {db.engine.url.render_as_string(hide_password=True)} ({db.engine.dialect.name})")
        print(f"migrated in {migrated - started:.2f} s; memory before seeding {_peak_memory_mb():.0f} MB")
        report = seed_demo(patients, DEFAULT_SEED if seed is None else seed, on_progress=_print_progress)
        db.session.remove()
        db.engine.dispose()
    for line in report.summary_lines():
        print(line)
    print(f"patients/second: {report.patients_per_second:,.0f}")
    print(f"seconds (seed_demo total): {report.seconds:.1f}; patient phase: {report.patient_seconds:.1f}")
    print(f"peak memory (maxrss): {_peak_memory_mb():.0f} MB")


def main() -> None:
    args = _parse_args()
    if args.database_url:
        if args.reset_schema:
            if not args.database_url.startswith(("postgresql", "postgres")):
                sys.exit("--reset-schema is for PostgreSQL URLs only")
            reset_postgres_schema(args.database_url)
        run(args.patients, args.database_url, args.seed)
        return
    with tempfile.TemporaryDirectory(prefix="seed-bench-") as directory:
        run(args.patients, f"sqlite:///{Path(directory) / 'bench.sqlite3'}", args.seed)


if __name__ == "__main__":
    main()
