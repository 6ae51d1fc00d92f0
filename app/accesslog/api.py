"""GET /api/v1/access-log: the access log for admins, filterable by user and patient."""
from __future__ import annotations

import pydantic
from flask import jsonify, request
from flask_login import current_user

from core.api.blueprints import api_blueprint
from core.api.docs import documented
from core.api.validation import field_errors
from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.errors import ValidationFailed
from core.privacy import access_log as services
from core.privacy.access_log import AccessAction
from core.privacy.chokepoint import mark_displayed
from core.privacy.personnummer import InvalidPersonnummer, validate_personnummer
from core.privacy.screens import screen_name

bp = api_blueprint("accesslog_api", __name__, "/access-log")


class AccessLogQuery(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    user: str | None = pydantic.Field(default=None, max_length=64)
    personnummer: str | None = pydantic.Field(default=None, max_length=12)
    limit: int = pydantic.Field(default=100, ge=1, le=1000)
    offset: int = pydantic.Field(default=0, ge=0)


class AccessLogItem(pydantic.BaseModel):
    at: str
    username: str
    personnummer: str
    action: str
    context: str
    screen: str  # the context's Swedish screen name


class AccessLogPage(pydantic.BaseModel):
    total: int
    entries: list[AccessLogItem]


@bp.get("")
@permission_required(Permission.READ_ACCESS_LOG)
@documented("List access-log entries, newest first (admin)", query=AccessLogQuery,
            response=AccessLogPage, tags=("access log",),
            errors=(401, 403, 422))
def list_entries():
    try:
        query = AccessLogQuery.model_validate(request.args.to_dict())
    except pydantic.ValidationError as exc:
        raise ValidationFailed(field_errors(exc)) from None
    patient_id = None
    if query.personnummer:
        try:
            patient = services.find_patient_by_personnummer(validate_personnummer(query.personnummer))
        except InvalidPersonnummer as exc:
            raise ValidationFailed.single("personnummer", str(exc)) from None
        if patient is None:
            return jsonify(AccessLogPage(total=0, entries=[]).model_dump())
        patient_id = patient.id
        mark_displayed(current_user.id, [patient_id], AccessAction.ACCESS_LOG, "api.access_log")
    user_id = services.user_id_for(query.user) if query.user else None
    if query.user and user_id is None:
        raise ValidationFailed.single("user", "unknown username")
    total, entries = services.access_log_page(user_id, patient_id, query.limit, query.offset)
    items = [
        AccessLogItem(at=e.at.isoformat() + "Z", username=e.user.username, personnummer=e.patient.personnummer,
                      action=e.action, context=e.context, screen=screen_name(e.context))
        for e in entries
    ]
    return jsonify(AccessLogPage(total=total, entries=items).model_dump())


