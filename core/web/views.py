"""The start page."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template
from sqlalchemy import select

from core.extensions import db
from core.models import NewsItem

bp = Blueprint("web", __name__)


@bp.get("/")
def start():
    news = db.session.scalars(select(NewsItem).order_by(NewsItem.published_at.desc()).limit(5)).all()
    return render_template(
        "start.html",
        news=news,
        phone=current_app.config["CUSTOMER_SERVICE_PHONE"],
        hours=current_app.config["CUSTOMER_SERVICE_HOURS"],
    )
