"""Drills: the whole reserve routine played in a sandbox store (seed 001: öva reservrutinen).

It sits above every package because a drill drives them all: the monitor, the kit, capture,
prescribing and back-registration. `reserve` queues a drill and starts `flask reserve run-drill`.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Add `flask reserve drill` and `flask reserve run-drill`."""
    from app.drills import cli  # noqa: F401 - the commands join the reserve group on import
