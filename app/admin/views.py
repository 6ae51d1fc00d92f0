"""Administration: the start page and users (the access log is in log_views.py)."""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from sqlalchemy import select

from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.models import User
from core.web.tables import Column, TableState, paginate_query

bp = Blueprint("admin", __name__, url_prefix="/admin")

USER_COLUMNS = (
    Column("username", "Användarnamn", User.username),
    Column("name", "Namn", User.name),
    Column("hsa_id", "HSA-id", User.hsa_id),
    Column("roles", "Roller"),
    Column("last_login_at", "Senast inloggad", User.last_login_at),
)


@bp.get("/")
@permission_required(Permission.MANAGE_USERS)
def index():
    return render_template("admin/index.html", breadcrumbs=[("Administration", None)])


@bp.get("/anvandare")
@permission_required(Permission.MANAGE_USERS)
def users():
    state = TableState.from_args(request.args, USER_COLUMNS, default_sort="username")
    page = paginate_query(select(User), USER_COLUMNS, state, tie_breaker=User.id)
    crumbs = [("Administration", url_for("admin.index")), ("Användare", None)]
    return render_template("admin/users.html", page=page, breadcrumbs=crumbs)
