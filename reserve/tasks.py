"""The reserve routine's jobs, run by the status monitor process (`flask monitor`).

Each is a plain function of the current moment; tests call them directly with a chosen `now`.
"""
from __future__ import annotations

from datetime import datetime

from flask import Flask

from reserve import checklists, kit
from status.tasks import Job


def tick_checklists(now: datetime) -> None:
    checklists.reconcile(now)


def refresh_kit(now: datetime) -> None:
    kit.refresh_if_due(now)


def jobs(app: Flask) -> tuple[Job, ...]:
    """Return the jobs with their intervals from the app's config ("# Reserve routine")."""
    config = app.config
    return (
        Job("reserve.checklists", tick_checklists, lambda _s: float(config["RESERVE_CHECKLIST_SECONDS"])),
        # Checked every minute; the kit is rebuilt once RESERVE_KIT_INTERVAL_SECONDS have passed.
        Job("reserve.kit", refresh_kit, lambda _s: 60.0, executor="mail"),
    )
