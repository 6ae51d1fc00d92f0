"""The status JSON API: IT staff publish; customer service's workstations send heartbeats."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import abort, jsonify
from flask_login import current_user

from core.api.blueprints import api_blueprint
from core.api.docs import documented
from core.api.validation import parse_json
from core.auth.guard import permission_required
from core.auth.roles import Permission, Role
from status import services
from status.models import Incident
from status.schemas import (
    DriftinfoRequest, DriftinfoResponse, DriftinfoWithdrawRequest, DriftinfoWithdrawResponse, HeartbeatResponse, IncidentResponse, IncidentUpdateRequest,
    MaintenanceRequest, MaintenanceResponse, PrognosisRequest, ReserveActivateRequest, ReserveDeactivateRequest,
    ReserveStateResponse, TelephonyRequest, TelephonyResponse, TimelineEntryResponse,
)
from core.formatting import local_iso, utc_from_aware

bp = api_blueprint("status_api", __name__)
F = TypeVar("F", bound=Callable)
TAGS = ("status",)
PUBLISH_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)


def role_required(role: Role) -> Callable[[F], F]:
    """Refuse the view with 403 unless the token holder has the role."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                abort(401)
            if not current_user.has_role(role):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def _incident_json(incident: Incident) -> dict:
    return IncidentResponse(
        id=incident.id, scenario=incident.scenario, status=incident.status,
        started_at=local_iso(incident.started_at), reserve_due_at=local_iso(incident.reserve_due_at),
        prognosis_text=incident.prognosis_text, expected_restoration_at=local_iso(incident.prognosis_until),
        reserve_active=incident.reserve_active,
    ).model_dump()


def _reserve_json() -> dict:
    state = services.current_reserve_state()
    if state is None:
        return ReserveStateResponse(active=False, incident_id=None, scenario=None, since=None, activated_by=None,
                                    started_at=None, reserve_due_at=None, prognosis_text=None,
                                    expected_restoration_at=None).model_dump()
    return ReserveStateResponse(
        active=state.active, incident_id=state.incident_id, scenario=state.scenario.value,
        since=local_iso(state.since), activated_by=state.activated_by, started_at=local_iso(state.started_at),
        reserve_due_at=local_iso(state.reserve_due_at), prognosis_text=state.prognosis_text,
        expected_restoration_at=local_iso(state.prognosis_until),
    ).model_dump()


@bp.post("/heartbeat/customer-service")
@role_required(Role.CUSTOMER_SERVICE)
@documented("Record that a customer-service workstation has contact (send every minute)",
            response=HeartbeatResponse, tags=TAGS, errors=(401, 403))
def heartbeat():
    received = services.record_heartbeat()
    return jsonify(HeartbeatResponse(received_at=local_iso(received)).model_dump())


@bp.get("/reserve")
@documented("Whether the reserve routine applies, for which outage, and since when",
            response=ReserveStateResponse, tags=TAGS, errors=(401,))
def reserve_state():
    return jsonify(_reserve_json())


@bp.post("/driftinfo")
@permission_required(Permission.PUBLISH_STATUS)
@documented("Publish driftinfo on the status page and to subscribers (IT staff)", request=DriftinfoRequest,
            response=DriftinfoResponse, status=201, tags=TAGS, errors=PUBLISH_ERRORS)
def publish_driftinfo():
    body = parse_json(DriftinfoRequest)
    valid_until = utc_from_aware(body.valid_until) if body.valid_until else None
    post = services.publish_driftinfo(current_user.id, body.title, body.body, body.incident_id,
                                      valid_until=valid_until)
    return jsonify(DriftinfoResponse(id=post.id, published_at=local_iso(post.at)).model_dump()), 201


@bp.post("/driftinfo/<int:post_id>/withdraw")
@permission_required(Permission.PUBLISH_STATUS)
@documented("Withdraw a current driftinfo notice, with a reason; it stays in the public archive (IT staff)",
            request=DriftinfoWithdrawRequest, response=DriftinfoWithdrawResponse, tags=TAGS, errors=PUBLISH_ERRORS)
def withdraw_driftinfo(post_id: int):
    body = parse_json(DriftinfoWithdrawRequest)
    post = services.withdraw_driftinfo(post_id, current_user.id, body.reason)
    return jsonify(DriftinfoWithdrawResponse(id=post.id, withdrawn_at=local_iso(post.withdrawn_at),
                                             reason=post.withdrawal_reason).model_dump())


@bp.post("/incidents/<int:incident_id>/prognosis")
@permission_required(Permission.PUBLISH_STATUS)
@documented("Set an incident's restoration prognosis (IT staff); the four-hour rule waits while it holds",
            request=PrognosisRequest, response=IncidentResponse, tags=TAGS, errors=PUBLISH_ERRORS)
def set_prognosis(incident_id: int):
    body = parse_json(PrognosisRequest)
    incident = services.set_prognosis(incident_id, current_user.id, body.text,
                                      utc_from_aware(body.expected_restoration_at))
    return jsonify(_incident_json(incident))


@bp.post("/incidents/<int:incident_id>/updates")
@permission_required(Permission.PUBLISH_STATUS)
@documented("Add an update to an incident's timeline, possibly changing its status (IT staff)",
            request=IncidentUpdateRequest, response=TimelineEntryResponse, status=201, tags=TAGS,
            errors=PUBLISH_ERRORS)
def add_update(incident_id: int):
    body = parse_json(IncidentUpdateRequest)
    entry = services.add_incident_update(incident_id, current_user.id, body.status, body.message,
                                         close_driftinfo=body.close_driftinfo)
    return jsonify(TimelineEntryResponse(id=entry.id, incident_id=incident_id, at=local_iso(entry.at),
                                         status=entry.status, message=entry.message).model_dump()), 201


@bp.post("/reserve/activate")
@permission_required(Permission.PUBLISH_STATUS)
@documented("Activate the reserve routine now, with a reason (IT staff)", request=ReserveActivateRequest,
            response=ReserveStateResponse, tags=TAGS, errors=PUBLISH_ERRORS)
def activate_reserve():
    body = parse_json(ReserveActivateRequest)
    services.activate_reserve(current_user.id, body.reason, body.incident_id)
    return jsonify(_reserve_json())


@bp.post("/reserve/deactivate")
@permission_required(Permission.PUBLISH_STATUS)
@documented("End the reserve routine, with a reason (IT staff confirm the return to normal)",
            request=ReserveDeactivateRequest, response=ReserveStateResponse, tags=TAGS, errors=PUBLISH_ERRORS)
def deactivate_reserve():
    body = parse_json(ReserveDeactivateRequest)
    services.deactivate_reserve(current_user.id, body.reason, close_driftinfo=body.close_driftinfo)
    return jsonify(_reserve_json())


@bp.post("/telephony")
@permission_required(Permission.PUBLISH_STATUS)
@documented("Mark telephony disrupted or working again (IT staff)", request=TelephonyRequest,
            response=TelephonyResponse, tags=TAGS, errors=PUBLISH_ERRORS)
def set_telephony():
    body = parse_json(TelephonyRequest)
    incident = services.set_telephony(current_user.id, body.disrupted, body.message)
    return jsonify({"disrupted": body.disrupted, "incident": _incident_json(incident) if incident else None})


@bp.post("/maintenance")
@permission_required(Permission.PUBLISH_STATUS)
@documented("Schedule a maintenance window for a component (IT staff)", request=MaintenanceRequest,
            response=MaintenanceResponse, status=201, tags=TAGS, errors=PUBLISH_ERRORS)
def schedule_maintenance():
    body = parse_json(MaintenanceRequest)
    window = services.schedule_maintenance(current_user.id, body.component, utc_from_aware(body.starts_at),
                                           utc_from_aware(body.ends_at), body.reason)
    return jsonify(MaintenanceResponse(id=window.id, component=body.component, starts_at=local_iso(window.starts_at),
                                       ends_at=local_iso(window.ends_at)).model_dump()), 201
