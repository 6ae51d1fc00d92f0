"""Min sida."""
from __future__ import annotations

from flask import Blueprint, render_template

from app.auth.guard import permission_required
from app.auth.roles import Permission

bp = Blueprint("mypage", __name__, url_prefix="/min-sida")


@bp.get("/")
@permission_required(Permission.USE_MY_PAGE)
def index():
    return render_template("mypage/index.html", breadcrumbs=[("Min sida", None)])
