"""The foundation every other package stands on; it imports nothing else of ours.

Extensions, store, clock, config, errors, outbound HTTP, mail, privacy (personnummer, the
access log), formatting, numbering, the shared models, auth, the web shell and API plumbing.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Bind the extensions, logging and the store, then the shell's own blueprints."""
    from core import api, auth, errors, extensions, logging_setup, store, web
    from core.config import MAIL_ENVIRONMENT_KEYS, apply_environment, engine_options, migrations_directory
    from core.mail_cli import mail_command  # loads core.mail_outbox and its commit hook
    from core.privacy import access_journal, chokepoint

    if not app.testing:
        apply_environment(app.config, MAIL_ENVIRONMENT_KEYS)
    logging_setup.init_app(app)
    if app.config.get("SQLALCHEMY_ENGINE_OPTIONS") is None:
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    extensions.db.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=migrations_directory())
    extensions.csrf.init_app(app)
    extensions.login_manager.init_app(app)
    store.init_app(app)
    access_journal.init_app(app)
    for package in (errors, auth, web, api):
        package.init_app(app)
    chokepoint.init_app(app)
    app.cli.add_command(mail_command)
