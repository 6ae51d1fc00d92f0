"""Administration of access: the applications to handle, their decisions, and the users-per-unit report."""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.access import decisions, report, services
from app.access.forms import ApproveForm, RejectForm, ReturnForm
from app.access.models import AccessApplication
from app.access.rules import FIELD_LABELS, Kind, Status, returnable_fields
from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.clock import local_today
from core.errors import DomainError, ValidationFailed
from core.models import PrescribingUnit, User
from core.web.tables import Column, TableState, paginate_query
from core.web.confirm import ask_to_confirm, confirmed

bp = Blueprint("access_admin", __name__, url_prefix="/admin/behorighet")

COLUMNS = (
    Column("id", "Ärendenummer", AccessApplication.id),
    Column("submitted_at", "Inkom", AccessApplication.submitted_at),
    Column("kind", "Ärende", AccessApplication.kind),
    Column("name", "Sökande", AccessApplication.name),
    Column("workplace", "Arbetsplats", AccessApplication.workplace),
    Column("status", "Status", AccessApplication.status),
)
REPORT_COLUMNS = (
    Column("customer_number", "Kundnummer", PrescribingUnit.customer_number),
    Column("unit", "Förskrivande enhet", PrescribingUnit.name),
    Column("username", "Användarnamn", User.username),
    Column("name", "Namn", User.name),
    Column("roles", "Roller"),
    Column("areas", "Produktområden"),
    Column("email", "E-post", User.email),
    Column("active", "Aktiv", User.active),
)


def _crumbs(*tail: tuple[str, str | None]) -> list:
    return [("Administration", url_for("admin.index")), *tail]


@bp.get("/")
@permission_required(Permission.MANAGE_USERS)
def index():
    chosen = request.args.get("status", Status.SUBMITTED.value)
    status = next((s for s in Status if s.value == chosen), None)  # "alla" or unknown: every status
    state = TableState.from_args(request.args, COLUMNS, default_sort="submitted_at", default_direction="desc")
    page = paginate_query(decisions.applications_query(status), COLUMNS, state, tie_breaker=AccessApplication.id)
    return render_template("access/admin_list.html", page=page, statuses=Status, chosen=status,
                           breadcrumbs=_crumbs(("Ansökningar om behörighet", None)))


@bp.get("/<int:application_id>")
@permission_required(Permission.MANAGE_USERS)
def show(application_id: int):
    return _render_show(decisions.get_application(application_id))


def _render_show(application: AccessApplication, approve_form: ApproveForm | None = None,
                 return_form: ReturnForm | None = None, reject_form: RejectForm | None = None, status: int = 200):
    if approve_form is None:
        approve_form = ApproveForm(formdata=None)
        if application.kind == Kind.NEW.value and application.status == Status.SUBMITTED.value:
            approve_form.username.data = decisions.suggested_username(application)
    return_form = return_form or ReturnForm(formdata=None)
    return_form.missing.choices = [(name, FIELD_LABELS[name]) for name in returnable_fields(
        application.kind_enum, application.change_enum, application.role)]
    return render_template(
        "access/admin_show.html", application=application, account=decisions.account_for(application),
        same_person=decisions.same_person(application),
        approve_form=approve_form, return_form=return_form,
        reject_form=reject_form or RejectForm(formdata=None), labels=FIELD_LABELS, today=local_today(),
        breadcrumbs=_crumbs(("Ansökningar om behörighet", url_for("access_admin.index")),
                            (application.reference, None)),
    ), status


def _decision(application_id: int, form, action, done: str, slot: str):  # noqa: ANN001
    """Run one decision; on refusal show the application again with the errors on the form that was sent."""
    if not form.validate_on_submit():
        return _render_show(decisions.get_application(application_id), **{slot: form}, status=422)
    try:
        application = action()
    except ValidationFailed as exc:
        for error in exc.errors:
            target = form._fields.get(error.field)
            if target is None:
                form.form_errors.append(error.message)
            else:
                target.errors = [*target.errors, error.message]
        return _render_show(decisions.get_application(application_id), **{slot: form}, status=exc.status)
    except DomainError as exc:
        if exc.status == 404:
            raise
        form.form_errors.append(exc.message)
        return _render_show(decisions.get_application(application_id), **{slot: form}, status=exc.status)
    flash(done.format(ref=application.reference), "info")
    return redirect(url_for("access_admin.show", application_id=application_id))


@bp.post("/<int:application_id>/bevilja")
@permission_required(Permission.MANAGE_USERS)
def approve(application_id: int):
    form = ApproveForm()
    return _decision(application_id, form, lambda: decisions.approve(current_user, application_id, form.username.data),
                     "Ärende {ref} är beviljat.", "approve_form")


@bp.post("/<int:application_id>/returnera")
@permission_required(Permission.MANAGE_USERS)
def return_to_manager(application_id: int):
    form = ReturnForm()
    return _decision(application_id, form, lambda: decisions.return_to_manager(
        current_user, application_id, form.missing.data or [], form.comment.data or ""),
        "Ärende {ref} är returnerat till ansvarig chef för komplettering.", "return_form")


@bp.post("/<int:application_id>/avsla")
@permission_required(Permission.MANAGE_USERS)
def reject(application_id: int):
    form = RejectForm()
    application = decisions.get_application(application_id)
    # A rejection is mailed at once and cannot be undone: ask first (a decided one is refused as before).
    if (application.status == Status.SUBMITTED.value and form.validate_on_submit() and (form.reason.data or "").strip()
            and not confirmed()):
        return ask_to_confirm(f"Avslå ärende {application.reference}?",
                              f"Motiveringen mejlas till chefen och den sökande: ”{form.reason.data}”. Ett avslag kan "
                              "inte ångras; en ny ansökan behövs.", "Avslå",
                              url_for("access_admin.show", application_id=application_id))
    return _decision(application_id, form, lambda: decisions.reject(current_user, application_id, form.reason.data),
                     "Ärende {ref} är avslaget.", "reject_form")


@bp.get("/anvandare-per-enhet")
@permission_required(Permission.MANAGE_USERS)
def report_page():
    include_inactive = request.args.get("alla") == "1"
    state = TableState.from_args(request.args, REPORT_COLUMNS, default_sort="customer_number")
    page = paginate_query(services.users_per_unit(include_inactive), REPORT_COLUMNS, state, scalars=False,
                          tie_breaker=User.id)
    return render_template("access/report.html", page=page, include_inactive=include_inactive,
                           breadcrumbs=_crumbs(("Användare per förskrivande enhet", None)))


@bp.get("/anvandare-per-enhet.csv")
@permission_required(Permission.MANAGE_USERS)
def report_csv():
    include_inactive = request.args.get("alla") == "1"
    body = report.to_csv(services.report_rows(include_inactive))
    filename = f"anvandare-per-enhet-{local_today().isoformat()}.csv"
    return Response(body.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "private, no-store"})
