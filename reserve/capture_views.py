"""Capture forms, the work queue and a captured item's page (cancel, capture again)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from core.privacy.access_log import AccessAction
from core.privacy.chokepoint import mark_displayed
from core.auth.guard import permission_required
from core.auth.roles import Permission, Role
from core.clock import utcnow
from core.errors import DomainError, NotFound, ValidationFailed
from core.extensions import db
from core.models import PrescribingUnit, User, UserRole
from core.web.tables import Column, TableState, paginate_query
from reserve import capture
from reserve.forms import CancelForm, CaptureForm
from reserve.models import ReserveItem
from reserve.rules import (
    CAPTURED, CHANNEL_LABELS, FIELDS, KIND_LABELS, KINDS, ORDER, PRESCRIPTION, SHAPE, STOCK_MOVE, WORK_ORDER,
    WORK_ORDER_TYPES, CaptureInput,
)
from reserve.views import bp, crumbs

SLUGS = {"forskrivning": PRESCRIPTION, "bestallning": ORDER, "lagerflytt": STOCK_MOVE, "arbetsorder": WORK_ORDER}
SLUG_OF = {kind: slug for slug, kind in SLUGS.items()}
HINTS = {
    PRESCRIPTION: "Akut förskrivning till en patient, inringd av förskrivaren. Registreras i förskrivarens namn.",
    ORDER: "Beställning till en vårdenhet (t.ex. utrustning till ett boende); ingen patient.",
    STOCK_MOVE: "Lagerflytt eller lagerpåfyllnad från lager 10 till enhetens kommunlager. Prioriteras alltid.",
    WORK_ORDER: "Arbetsorder till ansvarig tekniker. Typen väljs nu och kan inte ändras i efterhand.",
}
QUEUE_COLUMNS = (
    Column("number", "Reservnr", ReserveItem.number),
    Column("priority", "Typ", ReserveItem.priority),
    Column("channel", "Kanal", ReserveItem.channel),
    Column("subject", "Patient / enhet"),
    Column("article", "Artikel"),
    Column("packages", "Antal", ReserveItem.packages),
    Column("prescriber", "Ansvarig förskrivare"),
    Column("captured_at", "Registrerad", ReserveItem.captured_at),
    Column("flags", "Att kontrollera"),
    Column("status", "Status", ReserveItem.status),
)


def _kind(slug: str) -> str:
    if slug not in SLUGS:
        abort(404)
    return SLUGS[slug]


def _prepare(form: CaptureForm) -> CaptureForm:
    units = db.session.execute(select(PrescribingUnit.customer_number, PrescribingUnit.name)
                               .order_by(PrescribingUnit.name)).all()
    form.unit.choices = [("", "Välj enhet"), *[(number, f"{name} ({number})") for number, name in units]]
    prescribers = db.session.execute(select(User.username, User.name, User.hsa_id).join(UserRole)
                                     .where(UserRole.role == Role.PRESCRIBER.value, User.active.is_(True))
                                     .order_by(User.name)).all()
    form.responsible_prescriber.choices = [("", "Välj förskrivare"), *[
        (username, f"{name} ({hsa_id})" if hsa_id else name) for username, name, hsa_id in prescribers]]
    return form


def _allowed_message(kind: str) -> str | None:
    try:
        capture.capture_incident(current_user, kind, current_app.extensions["reserve.runbooks"])
    except DomainError as exc:
        return exc.message
    finally:
        db.session.commit()
    return None


def _render_capture(kind: str, form: CaptureForm, code: int = 200, replaces: ReserveItem | None = None):
    return render_template(
        "reserve/capture.html", form=form, kind=kind, slug=SLUG_OF[kind], kind_label=KIND_LABELS[kind],
        hint=HINTS[kind], shape=SHAPE[kind], fields=FIELDS, slugs=SLUG_OF, kind_labels=KIND_LABELS,
        refused=_allowed_message(kind), replaces=replaces,
        breadcrumbs=crumbs(("Registrera", None), (KIND_LABELS[kind], None)),
    ), code


def _replaced(number: str | None) -> ReserveItem | None:
    if not number:
        return None
    try:
        item = capture.get_item(number)
    except NotFound:
        return None
    return item if item.status != CAPTURED else None


def _prefill(form: CaptureForm, item: ReserveItem) -> None:
    form.channel.data = item.channel
    form.patient.data = item.patient.personnummer if item.patient else ""
    form.unit.data = item.unit.customer_number if item.unit else ""
    form.article.data = item.article.number if item.article else ""
    form.packages.data = item.packages
    form.responsible_prescriber.data = item.responsible_prescriber.username if item.responsible_prescriber else ""
    form.work_order_type.data = item.work_order_type or ""
    form.note.data = item.note or ""


@bp.get("/registrera/<slug>")
@permission_required(Permission.CAPTURE_RESERVE_ITEMS)
def capture_form(slug: str):
    kind = _kind(slug)
    form = _prepare(CaptureForm(formdata=None))
    replaces = _replaced(request.args.get("ersatter"))
    if replaces is not None and replaces.kind == kind:
        _prefill(form, replaces)
    return _render_capture(kind, form, replaces=replaces)


def _text(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


@bp.post("/registrera/<slug>")
@permission_required(Permission.CAPTURE_RESERVE_ITEMS)
def capture_submit(slug: str):
    kind = _kind(slug)
    form = _prepare(CaptureForm())
    replaces = _replaced(request.form.get("ersatter"))
    if not form.validate_on_submit():
        return _render_capture(kind, form, 400, replaces)
    shape = SHAPE[kind]

    def value(name: str, raw):  # noqa: ANN001, ANN202 - fields the kind does not use are not sent
        return raw if shape[name] is not False else None

    data = CaptureInput(
        kind=kind, channel=form.channel.data, patient=value("patient", _text(form.patient.data)),
        unit=value("unit", _text(form.unit.data)), article=value("article", _text(form.article.data)),
        packages=value("packages", form.packages.data),
        responsible_prescriber=value("responsible_prescriber", _text(form.responsible_prescriber.data)),
        work_order_type=value("work_order_type", _text(form.work_order_type.data)), note=_text(form.note.data),
        reserve_number=_text(form.reserve_number.data) if form.channel.data == "paper" else None)
    try:
        result = capture.capture(current_user, data, current_app.extensions["reserve.runbooks"], utcnow(),
                                 replaces=replaces)
    except ValidationFailed as exc:
        for error in exc.errors:
            getattr(form, error.field).errors = [*getattr(form, error.field).errors, error.message]
        return _render_capture(kind, form, exc.status, replaces)
    except DomainError as exc:
        form.form_errors.append(exc.message)
        return _render_capture(kind, form, exc.status, replaces)
    flash(f"{KIND_LABELS[kind]} registrerad med reservnummer {result.item.reserve_number}. Den efterregistreras när "
          "huvudsystemet fungerar igen.", "info")
    return redirect(url_for("reserve.item", number=result.item.reserve_number))


def _queue_query(status: str):
    query = select(ReserveItem).options(
        joinedload(ReserveItem.patient), joinedload(ReserveItem.unit), joinedload(ReserveItem.article),
        joinedload(ReserveItem.responsible_prescriber), joinedload(ReserveItem.captured_by),
        joinedload(ReserveItem.duplicate_of))
    if status != "alla":
        query = query.where(ReserveItem.status == (CAPTURED if status == "aktiva" else "cancelled"))
    return query


@bp.get("/arenden")
@permission_required(Permission.VIEW_RESERVE_ROUTINE)
def queue():
    status = request.args.get("visa", "aktiva")
    if status not in ("aktiva", "makulerade", "alla"):
        status = "aktiva"
    state = TableState.from_args(request.args, QUEUE_COLUMNS, default_sort="priority")
    page = paginate_query(_queue_query(status), QUEUE_COLUMNS, state, tie_breaker=ReserveItem.captured_at)
    show_patients = current_user.can(Permission.READ_PATIENTS)
    if show_patients:
        mark_displayed(current_user.id, [i.patient_id for i in page.rows if i.patient_id],
                              AccessAction.SEARCH, "reserve.queue")
    return render_template("reserve/queue.html", page=page, status=status, show_patients=show_patients,
                           kind_labels=KIND_LABELS, channel_labels=CHANNEL_LABELS, slugs=SLUG_OF, kinds=KINDS,
                           work_order_types=WORK_ORDER_TYPES,
                           breadcrumbs=crumbs(("Arbetskö", None)))


def _trace(item: ReserveItem):  # noqa: ANN202
    """Return the sync engine's trace of the item (review, registration), if it has one."""
    if not item.outbox_key:
        return None
    try:
        from sync.outbox import trace_for

        return trace_for(item.outbox_key)
    except (ImportError, DomainError):
        return None


def _render_item(item: ReserveItem, form: CancelForm, code: int = 200):
    show_patient = current_user.can(Permission.READ_PATIENTS)
    if show_patient and item.patient_id:
        mark_displayed(current_user.id, [item.patient_id], AccessAction.OVERVIEW, "reserve.item")
    return render_template("reserve/item.html", item=item, form=form, show_patient=show_patient,
                           kind_labels=KIND_LABELS, channel_labels=CHANNEL_LABELS, work_order_types=WORK_ORDER_TYPES,
                           slugs=SLUG_OF, trace=_trace(item),
                           breadcrumbs=crumbs(("Arbetskö", url_for("reserve.queue")),
                                              (item.reserve_number, None))), code


@bp.get("/arenden/<number>")
def item(number: str):
    # Those who work the routine see every item; a prescriber the captured prescriptions, to follow
    # one from the patient's overview to the main server (seed 004: traceability).
    current = capture.get_item(number)
    if not (current_user.can(Permission.VIEW_RESERVE_ROUTINE)
            or (current.kind == PRESCRIPTION and current_user.can(Permission.PRESCRIBE))):
        abort(403)
    return _render_item(current, CancelForm(formdata=None))


@bp.post("/arenden/<number>/makulera")
@permission_required(Permission.CAPTURE_RESERVE_ITEMS)
def cancel(number: str):
    form = CancelForm()
    current = capture.get_item(number)
    if not form.validate_on_submit():
        return _render_item(current, form, 400)
    try:
        cancelled = capture.cancel(current_user, number, form.reason.data, utcnow())
    except ValidationFailed as exc:
        form.reason.errors = [e.message for e in exc.errors]
        return _render_item(capture.get_item(number), form, exc.status)
    except DomainError as exc:
        form.form_errors.append(exc.message)
        return _render_item(capture.get_item(number), form, exc.status)
    flash(f"{cancelled.reserve_number} är makulerat.", "info")
    if form.recapture.data == "1":
        return redirect(url_for("reserve.capture_form", slug=SLUG_OF[cancelled.kind],
                                ersatter=cancelled.reserve_number))
    return redirect(url_for("reserve.item", number=cancelled.reserve_number))
