"""Shared by the sync benchmarks: a store of their own (a temporary SQLite file or a PostgreSQL schema), the app on it."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from app import create_app
from core.config import TestConfig, normalise_database_url


def store_url(database_url: str | None, directory: Path, name: str = "outbox") -> tuple[str, Callable[[], None]]:
    """Return the store's URL and a function that removes it afterwards; `name` tells stores of one run apart."""
    if not database_url:
        return f"sqlite:///{directory / f'{name}.sqlite3'}", lambda: None
    base = normalise_database_url(database_url)
    schema = f"sync_bench_{os.getpid()}_{name}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()

    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}", drop


def migrated_app(url: str, **settings: object) -> Flask:
    """Return the app (TestConfig with `settings`) on the store at `url`, its schema migrated."""
    app = create_app(type("Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url, **settings}))
    with app.app_context():
        upgrade()
    return app
