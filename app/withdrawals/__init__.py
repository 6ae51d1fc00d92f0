"""Withdrawals (uttag), order types (beställning, förskrivning, lagerflytt), stock and outbound deliveries."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the package (filled in by the withdrawals work)."""
