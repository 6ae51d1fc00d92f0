"""GET /health: version and whether the store answers."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from core.auth.guard import public
from core.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/health")
@public
def health():
    try:
        db.session.execute(text("SELECT 1"))
        store = {"reachable": True, "dialect": db.engine.dialect.name}
    except SQLAlchemyError:
        current_app.logger.exception("health: store unreachable")
        db.session.rollback()
        store = {"reachable": False, "dialect": db.engine.dialect.name}
    status = 200 if store["reachable"] else 503
    body = {"status": "ok" if status == 200 else "degraded", "version": current_app.config["VERSION"], "store": store}
    return jsonify(body), status
