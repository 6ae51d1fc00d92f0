"""The Produkt tab: the article catalogue, searchable in the UI and the API."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.products.api import bp as api_bp
    from app.products.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
