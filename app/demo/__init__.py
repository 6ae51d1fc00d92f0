"""Demo data: `flask seed-demo`."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.demo.cli import seed_demo_command
    from app.demo.clock_cli import clock_command

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(clock_command)
