"""Förskrivningsportalen: the web UI and JSON API."""
from __future__ import annotations

import os

from flask import Flask

from app import config as app_config


def create_app(config: type | None = None, *, testing: bool = False) -> Flask:
    """Create the Flask application; each package plugs itself in with init_app()."""
    # INSTANCE_PATH lets a demo or a browser test keep a whole installation in a folder of its own.
    app = Flask(__name__, instance_relative_config=True, instance_path=os.environ.get("INSTANCE_PATH") or None)
    app.config.from_object(config or app_config.for_environment(app.instance_path, testing=testing))

    from app import extensions, logging_setup, store

    logging_setup.init_app(app)
    extensions.db.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=_migrations_directory())
    extensions.csrf.init_app(app)
    extensions.login_manager.init_app(app)
    store.init_app(app)

    import reserve
    import status
    import sync
    from app import (
        access, accesslog, admin, api, auth, demo, errors, messages, mypage, patients, prescribing, products,
        savedsearches, web, withdrawals,
    )

    for package in (
        errors, auth, web, savedsearches, patients, prescribing, products, withdrawals, messages, mypage, access,
        admin, accesslog, api, demo, status, sync, reserve,
    ):
        package.init_app(app)
    return app


def _migrations_directory() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parent.parent / "migrations")
