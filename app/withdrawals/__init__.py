"""Withdrawals (uttag), order types (beställning, förskrivning, lagerflytt), stock and outbound deliveries."""
from __future__ import annotations

from flask import Flask

from app.withdrawals import models  # noqa: F401 - the tables, for Alembic and the app


def init_app(app: Flask) -> None:
    """Register the pages, the API, My page's and the patient overview's template globals, and the CLI."""
    from app.withdrawals.api import bp as api_bp
    from app.withdrawals.cli import seed_demo_stock_command
    from app.withdrawals.order_views import bp as orders_bp
    from app.withdrawals.views import TEMPLATE_GLOBALS, bp

    app.register_blueprint(bp)
    app.register_blueprint(orders_bp)
    app.register_blueprint(api_bp)
    for function in TEMPLATE_GLOBALS:
        app.add_template_global(function)
    app.cli.add_command(seed_demo_stock_command)
