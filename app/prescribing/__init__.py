"""Prescribing: quantity calculation, fees, new prescriptions, cancel, copy/correct, receipts."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.prescribing.api import bp as api_bp
    from app.prescribing.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
