"""`make run-postgres`'s first step: create the PostgreSQL database a URL names, if it is missing.

`python -m app.demo.postgres postgresql://postgres@127.0.0.1:5432/forskrivningsportalen`
connects to the server's `postgres` database as the URL's role and runs CREATE DATABASE once.
"""
from __future__ import annotations

import sys

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.config import normalise_database_url


def ensure_database(url: str) -> bool:
    """Create the URL's database unless it exists; return whether it was created."""
    target = make_url(normalise_database_url(url))
    if not target.drivername.startswith("postgresql") or not target.database:
        raise SystemExit(f"not a PostgreSQL URL with a database name: {url}")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}):
                return False
            quoted = conn.dialect.identifier_preparer.quote_identifier(target.database)
            conn.execute(text(f"CREATE DATABASE {quoted}"))  # identifiers cannot be bound parameters
            return True
    finally:
        admin.dispose()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m app.demo.postgres DATABASE_URL", file=sys.stderr)
        return 2
    created = ensure_database(argv[0])
    name = make_url(normalise_database_url(argv[0])).database
    print(f"database {name}: {'created' if created else 'exists'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
