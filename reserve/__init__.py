"""Reserve mode, runbook checklists, manual capture and the printable kit (seeds 001 and 004; SPEC section 5)."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

RUNBOOK_DIR = Path(__file__).resolve().parent.parent / "runbooks"
# Config keys a deployment (or a demo installation, app.demo.stack) may set from the environment.
ENVIRONMENT_KEYS = ("RESERVE_CHECKLIST_SECONDS", "RESERVE_DRILL_DIR")


def init_app(app: Flask) -> None:
    """Load and validate the runbooks, register the pages, API, CLI, and answer the signals below us.

    A broken runbook stops the app here, naming the file and line.
    """
    from core.config import apply_environment
    from core.web.signals import page_banners
    from reserve import api, cli, models, navigation, state, tasks, views  # noqa: F401 - models: for Alembic
    from reserve.registrations import refresh as note_registrations
    from reserve.runbooks import load_runbooks
    from status.signals import monitor_jobs
    from sync.signals import items_acknowledged

    if not app.testing:
        apply_environment(app.config, ENVIRONMENT_KEYS)
    directory = Path(app.config.get("RESERVE_RUNBOOK_DIR") or RUNBOOK_DIR)
    app.extensions["reserve.runbooks"] = load_runbooks(directory)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(cli.reserve_group)
    # One outage / reserve banner: the status monitor's, extended with the prognosis, what to do and "data as of".
    page_banners.connect(state.page_banners)
    navigation.init_app(app)
    app.add_template_global(state.awaiting_registration_ids, "awaiting_registration")
    monitor_jobs.connect(tasks.jobs)
    items_acknowledged.connect(note_registrations)  # a captured item shows "registered" as soon as it is
