"""IT staff's status desk: driftinfo, prognosis, incident updates, reserve routine, telephony, maintenance."""
from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from sqlalchemy import func, select

from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.web.confirm import ask_to_confirm, confirmed
from core.errors import DomainError, ValidationFailed
from core.extensions import db
from core.clock import utcnow
from status import driftinfo, readmodel, services
from status.forms import (
    DriftinfoForm, DriftinfoWithdrawForm, IncidentUpdateForm, MaintenanceForm, PrognosisForm, ReserveActivateForm, ReserveDeactivateForm,
    TelephonyForm,
)
from status.models import Incident, Notification
from status.scenarios import STATUS_LABELS, Scenario
from status.settings import current_settings
from core.formatting import local_text, utc_from_local
from status.views import bp

FORMS = {
    "driftinfo": DriftinfoForm, "prognosis": PrognosisForm, "incident_update": IncidentUpdateForm,
    "activate": ReserveActivateForm, "deactivate": ReserveDeactivateForm, "telephony": TelephonyForm,
    "maintenance": MaintenanceForm,
}
CLOSING_FORMS = ("incident_update", "deactivate")  # ending an incident or the reserve routine


def _open_incidents() -> list[Incident]:
    return list(db.session.scalars(select(Incident).where(Incident.open_track.is_not(None))
                                   .order_by(Incident.started_at)))


NO_INCIDENT = SelectChoice("0", "Ingen särskild (under en pågående störning: den störningen)")


def _choices(incidents: list[Incident]) -> list[SelectChoice]:
    return [SelectChoice(str(i.id), f"#{i.id} {Scenario(i.scenario).guide.title} (sedan {local_text(i.started_at)})")
            for i in incidents]


def _notice_choices(notices: list[driftinfo.Notice]) -> list[SelectChoice]:
    return [SelectChoice(n.id, f"{n.title} ({local_text(n.published_at)})") for n in notices]


def _forms(incidents: list[Incident], notices: list[driftinfo.Notice], **submitted: FlaskForm) -> dict[str, FlaskForm]:
    forms = {name: submitted.get(name) or cls(formdata=None, prefix=name) for name, cls in FORMS.items()}
    choices = _choices(incidents)
    forms["driftinfo"].incident_id.choices = [NO_INCIDENT, *choices]
    for name in ("prognosis", "incident_update", "activate"):
        forms[name].incident_id.choices = choices
    for name in CLOSING_FORMS:
        forms[name].close_driftinfo.choices = _notice_choices(notices)
        if name not in submitted:  # ending asks which notices to close: all of them, unless IT says otherwise
            forms[name].close_driftinfo.data = [n.id for n in notices]
    return forms


def _render(code: int = 200, withdraw: DriftinfoWithdrawForm | None = None, withdraw_id: int | None = None,
            **submitted: FlaskForm):
    incidents = _open_incidents()
    notices = driftinfo.current(utcnow(), limit=50)
    counts = dict(db.session.execute(
        select(Notification.purpose, func.count()).where(Notification.sent_at.is_(None), Notification.failed_at.is_(None))
        .group_by(Notification.purpose)).all())
    failed = db.session.scalar(select(func.count()).select_from(Notification).where(Notification.failed_at.is_not(None)))
    settings = current_settings()
    escalations = {incident.id: readmodel.opening_escalation(incident, settings) for incident in incidents}
    return render_template(
        "status/manage.html", incidents=incidents, forms=_forms(incidents, notices, **submitted), notices=notices,
        withdraw=withdraw or DriftinfoWithdrawForm(formdata=None, prefix="withdraw"), withdraw_id=withdraw_id,
        reserve=services.current_reserve_state(), pending=counts, failed=failed or 0, labels=STATUS_LABELS,
        escalations=escalations,
        scenario=Scenario, breadcrumbs=[("Driftstatus", url_for("status.page")), ("Hantera", None)],
    ), code


def _handle(name: str, action: Callable[[FlaskForm], str], ask: Callable[[FlaskForm], tuple[str, int]] | None = None):
    """Validate the named form, run the use case, and come back to the desk with a message.

    With `ask`, a valid form is first answered with that confirmation page; only its "Ja" acts.
    """
    incidents = _open_incidents()
    form = FORMS[name](prefix=name)
    if "incident_id" in form._fields:
        form.incident_id.choices = ([NO_INCIDENT] if name == "driftinfo" else []) + _choices(incidents)
    if name in CLOSING_FORMS:
        form.close_driftinfo.choices = _notice_choices(driftinfo.current(utcnow(), limit=50))
    if not form.validate_on_submit():
        return _render(400, **{name: form})
    if ask is not None and not confirmed():
        return ask(form)
    try:
        message = action(form)
    except (ValidationFailed, DomainError) as exc:
        return _render(_show_errors(form, exc), **{name: form})
    flash(message, "info")
    return redirect(url_for("status.manage"))


def _show_errors(form: FlaskForm, exc: ValidationFailed | DomainError) -> int:
    """Put the use case's errors beside the fields they name; return the status code to answer with."""
    if isinstance(exc, DomainError):
        form.form_errors.append(exc.message)
        return exc.status
    for error in exc.errors:
        target = getattr(form, error.field, None)
        (target.errors if target is not None else form.form_errors).append(error.message)  # type: ignore[union-attr]
    return exc.status


@bp.get("/status/hantera")
@permission_required(Permission.PUBLISH_STATUS)
def manage():
    return _render()


@bp.post("/status/hantera/driftinfo")
@permission_required(Permission.PUBLISH_STATUS)
def manage_driftinfo():
    def publish(form: DriftinfoForm) -> str:
        valid_until = utc_from_local(form.valid_until.data) if form.valid_until.data else None
        services.publish_driftinfo(current_user.id, form.title.data, form.body.data, form.incident_id.data or None,
                                   valid_until=valid_until)
        return "Driftinfo publicerad."

    return _handle("driftinfo", publish)


@bp.post("/status/hantera/driftinfo/<int:post_id>/aterkalla")
@permission_required(Permission.PUBLISH_STATUS)
def manage_driftinfo_withdraw(post_id: int):
    form = DriftinfoWithdrawForm(prefix="withdraw")
    if not form.validate_on_submit():
        return _render(400, withdraw=form, withdraw_id=post_id)
    try:
        services.withdraw_driftinfo(post_id, current_user.id, form.reason.data)
    except (ValidationFailed, DomainError) as exc:
        return _render(_show_errors(form, exc), withdraw=form, withdraw_id=post_id)
    flash("Driftinfon är återkallad och finns kvar i arkivet.", "info")
    return redirect(url_for("status.manage"))


@bp.post("/status/hantera/prognos")
@permission_required(Permission.PUBLISH_STATUS)
def manage_prognosis():
    def set_prognosis(form: PrognosisForm) -> str:
        services.set_prognosis(form.incident_id.data, current_user.id, form.text.data,
                               utc_from_local(form.expected_restoration_at.data))
        return "Prognosen är publicerad."

    return _handle("prognosis", set_prognosis)


@bp.post("/status/hantera/uppdatering")
@permission_required(Permission.PUBLISH_STATUS)
def manage_update():
    def add(form: IncidentUpdateForm) -> str:
        services.add_incident_update(form.incident_id.data, current_user.id, form.status.data, form.message.data,
                                     close_driftinfo=form.close_driftinfo.data or ())
        return "Uppdateringen är publicerad."

    return _handle("incident_update", add)


@bp.post("/status/hantera/reservrutin/aktivera")
@permission_required(Permission.PUBLISH_STATUS)
def manage_reserve_activate():
    def activate(form: ReserveActivateForm) -> str:
        services.activate_reserve(current_user.id, form.reason.data, form.incident_id.data)
        return "Reservrutinen gäller nu."

    return _handle("activate", activate)


@bp.post("/status/hantera/reservrutin/avsluta")
@permission_required(Permission.PUBLISH_STATUS)
def manage_reserve_deactivate():
    def deactivate(form: ReserveDeactivateForm) -> str:
        services.deactivate_reserve(current_user.id, form.reason.data, close_driftinfo=form.close_driftinfo.data or ())
        return "Reservrutinen har avslutats."

    def ask(form: ReserveDeactivateForm) -> tuple[str, int]:
        closing = len(form.close_driftinfo.data or ())
        notices = f" {closing} driftinfo avslutas samtidigt." if closing else ""
        return ask_to_confirm(
            "Avsluta reservrutinen?",
            "Alla användare får beskedet att normal drift gäller igen och att det som fångats för hand nu "
            f"registreras i efterhand. Beslutet kan inte ångras; behövs rutinen igen aktiveras den på nytt.{notices}",
            "Avsluta reservrutinen", url_for("status.manage", _anchor="reservrutin"))

    return _handle("deactivate", deactivate, ask)


@bp.post("/status/hantera/telefoni")
@permission_required(Permission.PUBLISH_STATUS)
def manage_telephony():
    def set_telephony(form: TelephonyForm) -> str:
        disrupted = form.disrupted.data == "1"
        services.set_telephony(current_user.id, disrupted, form.message.data)
        return "Telefonin är markerad som störd." if disrupted else "Telefonin är markerad som fungerande."

    return _handle("telephony", set_telephony)


@bp.post("/status/hantera/underhall")
@permission_required(Permission.PUBLISH_STATUS)
def manage_maintenance():
    def schedule(form: MaintenanceForm) -> str:
        services.schedule_maintenance(current_user.id, form.component.data, utc_from_local(form.starts_at.data),
                                      utc_from_local(form.ends_at.data), form.reason.data)
        return "Underhållsfönstret är inlagt."

    return _handle("maintenance", schedule)
