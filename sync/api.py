"""The back-registration JSON API (/api/v1/sync): progress, the item lists, review, conflicts, reconciliation.

Thin: parse, call one service of the sync package, shape the answer. Nothing here names a
patient: items are listed with their traceability, never their payloads.
"""
from __future__ import annotations

from typing import TypeVar

import pydantic
from flask import jsonify, request
from flask_login import current_user

from core.api.blueprints import api_blueprint
from core.api.docs import documented
from core.api.validation import parse_json
from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.clock import utcnow
from core.errors import DomainError, ValidationFailed
from core.formatting import local_iso
from sync import conflicts, outbox, progress, queries, reconciliation, review
from sync.rules import CANCEL_LOCAL, KINDS, LINK, SEND_AS_NEW, STATES
from sync.schemas import (
    BalanceResponse, CancelRequest, ItemListQuery, ItemPage, ItemResponse, NoteRequest, ProgressResponse, ReconciliationLine,
    ReconciliationQuery, ReconciliationResponse, ReportHeader, ResolveRequest, ResolveResponse,
)

bp = api_blueprint("sync_api", __name__, "/sync")
TAGS = ("sync",)
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)
LIST_ARGS = {"state", "kind", "sort", "dir", "page", "per_page"}
RESOLUTIONS = {"link": LINK, "cancel": CANCEL_LOCAL, "send_as_new": SEND_AS_NEW}
T = TypeVar("T", bound=pydantic.BaseModel)


def _choices(name: str, allowed: tuple[str, ...]) -> tuple[str, ...] | None:
    """Return the values of a repeatable, comma-separated filter (None when absent); refuse unknown ones."""
    values = tuple(v.strip() for raw in request.args.getlist(name) for v in raw.split(",") if v.strip())
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValidationFailed.single(name, f"unknown {name} {unknown[0]!r}; one of {', '.join(allowed)}")
    return values or None


def _shaped(model: type[T], source: object, times: tuple[str, ...] = ()) -> T:
    """Return the response model filled from the source's attributes (or keys); stored UTC moments in Swedish time."""
    get = source.get if isinstance(source, dict) else lambda name: getattr(source, name)
    values = {name: get(name) for name in model.model_fields}
    return model(**values | {name: local_iso(values[name]) for name in times})


def _item_json(key: str) -> dict:
    return _trace_json(outbox.trace_for(key))


def _trace_json(trace: outbox.Trace) -> dict:
    return _shaped(ItemResponse, trace, ("captured_at", "approved_at", "registered_at")).model_dump()


@bp.get("/progress")
@permission_required(Permission.READ_SYNC_REPORTS)
@documented("Back-registration progress: counts per state, rate and time left (numbers only)",
            response=ProgressResponse, tags=TAGS, errors=(401, 403))
def show_progress():
    data = progress.public_progress(utcnow())
    return jsonify(_shaped(ProgressResponse, data, ("paused_until", "data_as_of")).model_dump())


@bp.get("/items")
@permission_required(Permission.REVIEW_SYNC)
@documented("Outbox items with their traceability, oldest first: state and kind (repeatable or comma-separated); "
            "sort (created_at, kind, channel, state, attempts), dir, page, per_page", query=ItemListQuery, response=ItemPage,
            tags=TAGS, errors=(401, 403, 422))
def list_items():
    unknown = sorted(set(request.args) - LIST_ARGS)
    if unknown:
        raise ValidationFailed.single(unknown[0], "unknown query parameter")
    page = queries.items_page(request.args, _choices("state", STATES), _choices("kind", KINDS))
    traces = outbox.traces_for(item.key for item in page.rows)
    return jsonify(ItemPage(total=page.total, page=page.state.page, per_page=page.state.per_page,
                            items=[_trace_json(traces[item.key]) for item in page.rows]).model_dump())


@bp.get("/items/<key>")
@permission_required(Permission.REVIEW_SYNC)
@documented("One outbox item's traceability", response=ItemResponse, tags=TAGS, errors=(401, 403, 404))
def show_item(key: str):
    return jsonify(_item_json(key))


@bp.post("/items/<key>/approve")
@permission_required(Permission.APPROVE_SYNC_ITEMS)
@documented("Approve an item waiting for review so it is sent to the main server (roles per kind: SYNC_REVIEW)",
            request=NoteRequest, response=ItemResponse, tags=TAGS, errors=WRITE_ERRORS)
def approve_item(key: str):
    body = parse_json(NoteRequest)
    return jsonify(_item_json(review.approve(current_user, key, body.note).key))


@bp.post("/items/<key>/cancel")
@permission_required(Permission.APPROVE_SYNC_ITEMS)
@documented("Cancel an item the main server cannot have yet (in review; refused or blocked: hms_staff), with a "
            "reason", request=CancelRequest, response=ItemResponse, tags=TAGS, errors=WRITE_ERRORS)
def cancel_item(key: str):
    body = parse_json(CancelRequest)
    return jsonify(_item_json(review.cancel(current_user, key, body.note).key))


@bp.post("/conflicts/<key>/resolve")
@permission_required(Permission.REVIEW_SYNC)
@documented("Resolve a conflict: link to the main server's record, cancel the local one, or send it as new "
            "(a new key); with a reason", request=ResolveRequest, response=ResolveResponse, tags=TAGS,
            errors=WRITE_ERRORS)
def resolve_conflict(key: str):
    body = parse_json(ResolveRequest)
    try:
        result = conflicts.resolve(current_user, key, RESOLUTIONS[body.resolution], body.note)
    except (ValidationFailed, DomainError) as exc:
        # The service speaks of the web form's field; this API calls it `resolution`.
        for error in exc.errors if isinstance(exc, ValidationFailed) else [exc]:
            if error.field == "action":
                error.field = "resolution"
        raise
    return jsonify(ResolveResponse(conflict_key=key, resolution=body.resolution,
                                   item=_item_json(result.key)).model_dump())


@bp.get("/reconciliation/<int:incident_id>")
@permission_required(Permission.READ_SYNC_REPORTS)
@documented("An incident's reconciliation: captured = registered + resolved + cancelled, every item with where it "
            "ended; verify=true checks the registered ones at the main server", query=ReconciliationQuery,
            response=ReconciliationResponse,
            tags=TAGS, errors=(401, 403, 404, 422))
def show_reconciliation(incident_id: int):
    verify = request.args.get("verify", "false")
    if verify not in ("true", "false"):
        raise ValidationFailed.single("verify", "must be true or false")
    report = reconciliation.build_checked(incident_id) if verify == "true" else reconciliation.build(incident_id)
    return jsonify(ReconciliationResponse(
        **_shaped(ReportHeader, report, ("started_at", "resolved_at", "generated_at")).model_dump(),
        balance=_shaped(BalanceResponse, report.balance),
        lines=[_shaped(ReconciliationLine, line, ("captured_at", "approved_at", "registered_at"))
               for line in report.lines],
    ).model_dump())
