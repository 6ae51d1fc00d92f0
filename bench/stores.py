"""Shared by the benchmarks that build a store of N demo patients: where it lives, building it, its size.

--reuse (a SQLite file or a URL) measures a store built before; --database-url builds into an empty
database, or one whose schema public --reset-schema drops first; otherwise a new SQLite file in
--directory or the run's work directory, removed afterwards unless --keep.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, create_engine, text

from core.config import normalise_database_url


@dataclass(frozen=True)
class Store:
    url: str
    sqlite_file: Path | None
    build: bool


@contextmanager
def store_location(args: argparse.Namespace, work: Path, prefix: str) -> Iterator[Store]:
    """Yield the store to measure; remove a SQLite store this run created unless --keep."""
    if args.reset_schema and not (args.database_url or "").startswith(("postgresql", "postgres")):
        sys.exit("--reset-schema is for PostgreSQL URLs given with --database-url only")
    if args.reuse:
        url = args.reuse if "://" in args.reuse else f"sqlite:///{Path(args.reuse).resolve()}"
        yield Store(url, _sqlite_file(url), build=False)
        return
    if args.database_url:
        if args.reset_schema:
            reset_postgres_schema(args.database_url)
        yield Store(args.database_url, _sqlite_file(args.database_url), build=True)
        return
    if args.directory:
        directory = Path(args.directory).resolve()
    else:  # the work directory is always removed, so a kept store needs one of its own
        directory = Path(tempfile.mkdtemp(prefix=f"{prefix}-store-")) if args.keep else work
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "bench.sqlite3"
    if path.exists():
        sys.exit(f"{path} exists; pass it with --reuse, or remove it")
    try:
        yield Store(f"sqlite:///{path}", path, build=True)
    finally:
        if args.keep:
            print(f"store kept: {path}  (measure again with --reuse {path})")
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


def _sqlite_file(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def store_size(store: Store) -> str:
    """Return the SQLite file's size (with its WAL), or a note for other stores."""
    if store.sqlite_file is None:
        return "n/a (not SQLite)"
    main = store.sqlite_file.stat().st_size
    wal = Path(f"{store.sqlite_file}-wal")
    wal_size = wal.stat().st_size if wal.exists() else 0
    return f"{main / 2**20:,.0f} MiB (+ WAL {wal_size / 2**20:,.0f} MiB)"


def reset_postgres_schema(url: str) -> None:
    """Drop and recreate PostgreSQL's schema public: everything in it is lost."""
    engine = create_engine(normalise_database_url(url))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def app_for(url: str, secret_key: str) -> Flask:
    """Return the app on this store; a secret key of the bench's keeps it from touching instance/secret_key."""
    os.environ["DATABASE_URL"] = url
    os.environ["SECRET_KEY"] = secret_key
    from app import create_app

    return create_app()


@contextmanager
def seeded_store(url: str, secret_key: str, patients: int, seed: int) -> Iterator[tuple[Engine, float]]:
    """Migrate the store and seed the demo data with N patients; yield its engine and when seeding began."""
    from flask_migrate import upgrade

    from app.demo.seed import seed_demo
    from core.extensions import db

    app = app_for(url, secret_key)
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        report = seed_demo(patients, seed, on_progress=_print_progress)
        db.session.remove()
        print(f"seed_demo: {report.patients:,} patients, {report.articles:,} articles in {report.seconds:.1f} s")
        yield db.engine, started
        db.engine.dispose()


def _print_progress(done: int, total: int) -> None:
    if done % 250_000 == 0 or done == total:
        print(f"  {done:>9,} / {total:,} patients", flush=True)
