"""Administration: who is logged in, and ending a user's sessions and API tokens (adds routes to views.bp)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.admin.views import bp
from core.auth import sessions
from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.models import User
from core.web.tables import Column, TableState, paginate_query

SESSION_COLUMNS = (
    Column("username", "Användarnamn", User.username),
    Column("name", "Namn", User.name),
    Column("sessions", "Aktiva sessioner"),
    Column("last_seen_at", "Senast använd"),
    Column("tokens", "API-nycklar"),
    Column("end", "Avsluta"),
)


@bp.get("/sessioner")
@permission_required(Permission.MANAGE_USERS)
def user_sessions():
    state = TableState.from_args(request.args, SESSION_COLUMNS, default_sort="username")
    page = paginate_query(sessions.users_with_access_query(), SESSION_COLUMNS, state, scalars=False,
                          tie_breaker=User.id)
    crumbs = [("Administration", url_for("admin.index")), ("Inloggade användare", None)]
    return render_template("admin/sessions.html", page=page, breadcrumbs=crumbs)


@bp.post("/sessioner/<int:user_id>/avsluta")
@permission_required(Permission.MANAGE_USERS)
def end_user_sessions(user_id: int):
    user = sessions.end_all_access(user_id, by_user_id=current_user.id)
    flash(f"Alla sessioner för {user.username} är avslutade och API-nycklarna återkallade.", "info")
    return redirect(url_for("admin.user_sessions"))
