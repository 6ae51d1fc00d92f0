"""Administration: users and the access log."""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from core.privacy import access_log as accesslog
from core.privacy.access_log import AccessAction
from core.privacy.chokepoint import mark_displayed
from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.models import AccessLogEntry, Patient, User
from core.privacy.personnummer import InvalidPersonnummer, validate_personnummer
from core.web.tables import Column, TableState, paginate_query

bp = Blueprint("admin", __name__, url_prefix="/admin")

ACCESS_LOG_COLUMNS = (
    Column("at", "Tid", AccessLogEntry.at),
    Column("user", "Användare", User.username),
    Column("personnummer", "Personnummer", Patient.personnummer),
    Column("name", "Namn", Patient.last_name),
    Column("action", "Åtgärd", AccessLogEntry.action),
    Column("context", "Skärm", AccessLogEntry.context),
)

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


@bp.get("/atkomstlogg")
@permission_required(Permission.READ_ACCESS_LOG)
def access_log():
    error = None
    user_id = request.args.get("user", type=int)
    patient = None
    personnummer = request.args.get("personnummer", "").strip()
    if personnummer:
        try:
            patient = accesslog.find_patient_by_personnummer(validate_personnummer(personnummer))
            if patient is None:
                error = "Ingen patient har det personnumret."
        except InvalidPersonnummer as exc:
            error = str(exc)
    state = TableState.from_args(request.args, ACCESS_LOG_COLUMNS, default_sort="at", default_direction="desc")
    page = None
    if error is None:
        query = accesslog.access_log_query(user_id=user_id, patient_id=patient.id if patient else None)
        page = paginate_query(query, ACCESS_LOG_COLUMNS, state, tie_breaker=AccessLogEntry.id.desc())
        if patient is not None:
            # Reading one patient's log is itself a read of personal data.
            mark_displayed(current_user.id, [patient.id], AccessAction.ACCESS_LOG, "admin.access_log")
    crumbs = [("Administration", url_for("admin.index")), ("Åtkomstlogg", None)]
    return render_template(
        "admin/access_log.html", page=page, users=accesslog.all_users(), selected_user=user_id,
        personnummer=personnummer, error=error, breadcrumbs=crumbs, labels=AccessAction,
    )
