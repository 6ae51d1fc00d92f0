"""Save and delete searches from any search page (each page lists its own saved searches)."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from core.errors import DomainError, ValidationFailed
from app.savedsearches import services

bp = Blueprint("savedsearches", __name__, url_prefix="/sparade-sokningar")


def _back() -> str:
    target = request.form.get("back", "")
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return url_for("web.start")


@bp.post("/")
def save():
    back = _back()
    criteria = MultiDict(parse_qsl(urlsplit(back).query))
    try:
        services.save_search(current_user, request.form.get("scope", ""), request.form.get("name", ""), criteria)
        flash("Sökningen är sparad.", "info")
    except (ValidationFailed, DomainError) as exc:
        flash(exc.errors[0].message if isinstance(exc, ValidationFailed) else exc.message, "error")
    return redirect(back)


@bp.post("/<int:search_id>/ta-bort")
def delete(search_id: int):
    try:
        services.delete_search(current_user, search_id)
        flash("Den sparade sökningen är borttagen.", "info")
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(_back())
