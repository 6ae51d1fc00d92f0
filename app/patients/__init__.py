"""Patients: personnummer rules, search, first fetch from the population register, overview, edit."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from app.patients.register import register_from_config


def init_app(app: Flask) -> None:
    from app.patients.api import bp as api_bp
    from app.patients.views import bp

    app.extensions["population_register"] = register_from_config(
        app.config, default_file=Path(app.instance_path) / "population_register.json"
    )
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
