"""Administration: the access log on screen, as CSV for the log review, and a patient's PDF extract."""
from __future__ import annotations

from flask import Response, current_app, render_template, request, url_for
from flask_login import current_user

from app.admin.log_filters import parse_log_filter
from app.admin.views import bp
from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.clock import local_today
from core.models import AccessLogEntry, Patient, User
from core.privacy import access_log as accesslog
from core.privacy import log_review
from core.privacy.access_log import AccessAction
from core.privacy.chokepoint import mark_displayed
from core.privacy.screens import screen_name
from core.web.tables import Column, TableState, paginate_query

ACCESS_LOG_COLUMNS = (
    Column("at", "Tid", AccessLogEntry.at),
    Column("user", "Användare", User.username),
    Column("personnummer", "Personnummer", Patient.personnummer),
    Column("name", "Namn", Patient.last_name),
    Column("action", "Åtgärd", AccessLogEntry.action),
    Column("context", "Skärm", AccessLogEntry.context),
)
EXTRACT_NEEDS = "Ange patientens personnummer och både från- och till-datum för ett logutdrag."


@bp.get("/atkomstlogg")
@permission_required(Permission.READ_ACCESS_LOG)
def access_log():
    return _render_log()


@bp.get("/atkomstlogg.csv")
@permission_required(Permission.READ_ACCESS_LOG)
def access_log_csv():
    log_filter, errors = parse_log_filter(request.args)
    if errors:
        return _render_log(status=400)
    body = log_review.export_csv(current_user, log_filter, "admin.access_log_csv")
    return _download(body, "text/csv; charset=utf-8", f"atkomstlogg-{local_today():%Y%m%d}.csv")


@bp.get("/atkomstlogg/logutdrag.pdf")
@permission_required(Permission.READ_ACCESS_LOG)
def access_log_extract():
    log_filter, errors = parse_log_filter(request.args)
    if not errors and not (log_filter.patient and log_filter.date_from and log_filter.date_to):
        errors = {"personnummer": EXTRACT_NEEDS}
    if errors:
        return _render_log(status=400, errors=errors)
    pdf = log_review.patient_extract(current_user, log_filter.patient, log_filter.date_from, log_filter.date_to,
                                     current_app.config["SYSTEM_NAME"], "admin.access_log_extract")
    return _download(pdf, "application/pdf", f"logutdrag-{local_today():%Y%m%d}.pdf")


def _render_log(status: int = 200, errors: dict[str, str] | None = None):
    """Render the log page with the filter from the query string and its messages by field."""
    log_filter, parse_errors = parse_log_filter(request.args)
    errors = {**parse_errors, **(errors or {})}
    state = TableState.from_args(request.args, ACCESS_LOG_COLUMNS, default_sort="at", default_direction="desc")
    page = None
    if not errors:
        query = accesslog.access_log_query(log_filter.user_id, log_filter.patient_id, log_filter.since,
                                           log_filter.until)
        page = paginate_query(query, ACCESS_LOG_COLUMNS, state, tie_breaker=AccessLogEntry.id.desc())
        if log_filter.patient is not None:
            # Reading one patient's log is itself a read of personal data.
            mark_displayed(current_user.id, [log_filter.patient.id], AccessAction.ACCESS_LOG, "admin.access_log")
    filters = {k: v for k, v in request.args.items() if k in ("user", "personnummer", "fran", "till") and v}
    crumbs = [("Administration", url_for("admin.index")), ("Åtkomstlogg", None)]
    html = render_template(
        "admin/access_log.html", page=page, users=accesslog.all_users(), selected_user=log_filter.user_id,
        args=request.args, errors=errors, filters=filters, breadcrumbs=crumbs, labels=AccessAction,
        screen_name=screen_name, can_extract=bool(log_filter.patient and log_filter.date_from and log_filter.date_to),
    )
    return html, status


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    """Return a file the browser saves and nobody caches: it holds personal data."""
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
