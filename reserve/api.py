"""The reserve routine's JSON API: manual capture, the work queue, checklists and the call log."""
from __future__ import annotations

from flask import current_app, jsonify, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from core.privacy.access_log import AccessAction
from core.privacy.chokepoint import mark_displayed
from core.privacy.notes import visible_note
from core.api.blueprints import api_blueprint
from core.api.docs import documented
from core.api.validation import parse_json
from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.clock import utcnow
from core.errors import ValidationFailed
from core.extensions import db
from reserve import calls, capture, checklists
from reserve.models import CallLogEntry, Checklist, ReserveItem
from reserve.rules import CAPTURED, CaptureInput, format_reserve_number
from reserve.schemas import (
    CallRequest, CallResponse, CancelRequest, CaptureRequest, ChecklistListResponse, ChecklistQuery, ChecklistResponse,
    ItemChangeRequest, ItemListQuery, ItemListResponse, ItemResponse, StepDoneRequest, StepResponse,
)
from status import readmodel
from status.readmodel import IncidentView
from core.formatting import local_iso

bp = api_blueprint("reserve_api", __name__, "/reserve")
TAGS = ("reserve",)
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)


def _patients_shown(items: list[ReserveItem], context: str) -> bool:
    """Return whether the caller may see the items' patients; if so, log that they did."""
    if not current_user.can(Permission.READ_PATIENTS):
        return False
    mark_displayed(current_user.id, [i.patient_id for i in items if i.patient_id], AccessAction.SEARCH,
                          context)
    return True


def item_json(item: ReserveItem, warnings: list[str] | None = None, show_patient: bool = True) -> dict:
    prescriber = item.responsible_prescriber
    return ItemResponse(
        reserve_number=item.reserve_number, kind=item.kind, channel=item.channel, status=item.status,
        priority=item.priority, incident_id=item.incident_id,
        patient=item.patient.personnummer if item.patient and show_patient else None,
        unit=item.unit.customer_number if item.unit else None,
        article=item.article.number if item.article else None, packages=item.packages,
        responsible_prescriber=prescriber.username if prescriber else None, work_order_type=item.work_order_type,
        note=visible_note(item.note, show_patient), captured_by=item.captured_by.username, captured_at=local_iso(item.captured_at),
        possible_duplicate_of=item.duplicate_of.reserve_number if item.duplicate_of else None,
        existing_active_row=item.existing_row_id is not None, cancelled_at=local_iso(item.cancelled_at),
        registered_at=local_iso(item.registered_at), warnings=warnings or [],
    ).model_dump()


@bp.post("/items")
@permission_required(Permission.CAPTURE_RESERVE_ITEMS)
@documented("Capture an item phoned in, e-mailed or on paper during the outage; returns its reserve number",
            request=CaptureRequest, response=ItemResponse, status=201, tags=TAGS, errors=WRITE_ERRORS)
def create_item():
    body = parse_json(CaptureRequest)
    result = capture.capture(current_user, CaptureInput(**body.model_dump()),
                             current_app.extensions["reserve.runbooks"], utcnow())
    return jsonify(item_json(result.item, result.warnings)), 201


@bp.get("/items")
@permission_required(Permission.VIEW_RESERVE_ROUTINE)
@documented("The work queue: captured items, stock moves first (seed 004), then by capture time",
            query=ItemListQuery, response=ItemListResponse, tags=TAGS, errors=(401, 403, 422))
def list_items():
    query = select(ReserveItem).options(joinedload(ReserveItem.patient), joinedload(ReserveItem.unit),
                                        joinedload(ReserveItem.article), joinedload(ReserveItem.captured_by),
                                        joinedload(ReserveItem.responsible_prescriber),
                                        joinedload(ReserveItem.duplicate_of))
    incident = request.args.get("incident_id", type=int)
    if incident is not None:
        query = query.where(ReserveItem.incident_id == incident)
    status = request.args.get("status", CAPTURED)
    if status not in ("captured", "cancelled", "all"):
        raise ValidationFailed.single("status", "status is captured, cancelled or all")
    if status != "all":
        query = query.where(ReserveItem.status == status)
    items = list(db.session.scalars(query.order_by(ReserveItem.priority, ReserveItem.captured_at, ReserveItem.id)
                                    .limit(500)).unique())
    shown = _patients_shown(items, "reserve_api.items")
    return jsonify(ItemListResponse(items=[item_json(i, show_patient=shown) for i in items]).model_dump())


@bp.get("/items/<number>")
@permission_required(Permission.VIEW_RESERVE_ROUTINE)
@documented("One captured item", response=ItemResponse, tags=TAGS, errors=(401, 403, 404))
def show_item(number: str):
    item = capture.get_item(number)
    return jsonify(item_json(item, show_patient=_patients_shown([item], "reserve_api.item")))


@bp.patch("/items/<number>")
@permission_required(Permission.CAPTURE_RESERVE_ITEMS)
@documented("Change a captured item: refused with the field named (a wrong item is cancelled and captured again; "
            "the work-order type never changes)", request=ItemChangeRequest, response=ItemResponse, tags=TAGS,
            errors=WRITE_ERRORS)
def change_item(number: str):
    body = parse_json(ItemChangeRequest)
    item = capture.get_item(number)
    capture.refuse_change(item, body.model_dump(exclude_unset=True))
    return jsonify(item_json(item))


@bp.post("/items/<number>/cancel")
@permission_required(Permission.CAPTURE_RESERVE_ITEMS)
@documented("Cancel (makulera) a captured item with a reason", request=CancelRequest, response=ItemResponse,
            tags=TAGS, errors=WRITE_ERRORS)
def cancel_item(number: str):
    body = parse_json(CancelRequest)
    return jsonify(item_json(capture.cancel(current_user, number, body.reason, utcnow())))


def checklist_json(checklist: Checklist, incident: IncidentView) -> dict:
    now = utcnow()
    return ChecklistResponse(
        id=checklist.id, incident_id=checklist.incident_id, runbook=checklist.runbook_key, title=checklist.title,
        superseded=checklist.superseded_at is not None,
        steps=[StepResponse(id=s.id, key=s.key, title=s.title, role=s.role, due_at=local_iso(s.due_at),
                            state=checklists.step_view_state(s, incident, now), automatic=s.automatic,
                            done_at=local_iso(s.done_at), done_by=s.actor, note=s.note) for s in checklist.steps],
    ).model_dump()


@bp.get("/checklists")
@permission_required(Permission.VIEW_RESERVE_ROUTINE)
@documented("The checklists of an incident (default: the open or newest one), steps with who, when and a note",
            query=ChecklistQuery, response=ChecklistListResponse, tags=TAGS, errors=(401, 403, 404, 422))
def list_checklists():
    checklists.reconcile(utcnow())
    incident_id = request.args.get("incident_id", type=int)
    incident = readmodel.incident(incident_id) if incident_id else readmodel.latest_incident()
    if incident is None:
        return jsonify(ChecklistListResponse(checklists=[]).model_dump())
    return jsonify(ChecklistListResponse(checklists=[checklist_json(c, incident)
                                                     for c in checklists.checklists_of(incident.id)]).model_dump())


@bp.post("/checklists/steps/<int:step_id>/done")
@permission_required(Permission.VIEW_RESERVE_ROUTINE)
@documented("Record that a checklist step is done, by the caller, now, with a note", request=StepDoneRequest,
            response=StepResponse, tags=TAGS, errors=WRITE_ERRORS)
def step_done(step_id: int):
    body = parse_json(StepDoneRequest)
    step = checklists.tick_step(current_user, step_id, body.note, utcnow())
    incident = readmodel.incident(step.checklist.incident_id)
    return jsonify(StepResponse(id=step.id, key=step.key, title=step.title, role=step.role,
                                due_at=local_iso(step.due_at),
                                state=checklists.step_view_state(step, incident, utcnow()),
                                automatic=step.automatic, done_at=local_iso(step.done_at), done_by=step.actor,
                                note=step.note).model_dump())


def call_json(entry: CallLogEntry) -> dict:
    return CallResponse(id=entry.id, at=local_iso(entry.at), caller_type=entry.caller_type, topic=entry.topic,
                        outcome=entry.outcome, note=entry.note,
                        item=format_reserve_number(entry.item.number) if entry.item else None,
                        incident_id=entry.incident_id).model_dump()


@bp.post("/calls")
@permission_required(Permission.LOG_CALLS)
@documented("Log a call to customer service (no personal data)", request=CallRequest, response=CallResponse,
            status=201, tags=TAGS, errors=WRITE_ERRORS)
def log_call():
    body = parse_json(CallRequest)
    entry = calls.log_call(current_user, body.caller_type, body.topic, body.outcome, body.note, body.item, utcnow())
    return jsonify(call_json(entry)), 201
