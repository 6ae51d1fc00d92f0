"""Withdrawals (uttag), order types (beställning, förskrivning, lagerflytt), stock and outbound deliveries."""
from __future__ import annotations

from flask import Flask

from app.withdrawals import models  # noqa: F401 - the tables, for Alembic and the app


def init_app(app: Flask) -> None:
    """Register the pages, the API, My page's and the patient overview's template globals, the CLI, and the
    applier of the withdrawal statuses pulled from the main server."""
    from app.withdrawals.api import bp as api_bp
    from app.withdrawals.cli import seed_demo_stock_command
    from app.withdrawals.order_views import bp as orders_bp
    from app.withdrawals.services import apply_main_server_status
    from app.withdrawals.views import TEMPLATE_GLOBALS, bp
    from sync.signals import withdrawal_status_pulled

    app.register_blueprint(bp)
    app.register_blueprint(orders_bp)
    app.register_blueprint(api_bp)
    for function in TEMPLATE_GLOBALS:
        app.add_template_global(function)
    app.cli.add_command(seed_demo_stock_command)
    # A withdrawal delivered (or aborted) at the distributor reaches us through the main server's changes feed.
    withdrawal_status_pulled.connect(apply_main_server_status)
