"""Min sida: the logged-in user's own details, customer relations, and later messages."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.mypage.views import bp

    app.register_blueprint(bp)
