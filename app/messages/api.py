"""GET /api/v1/messages: the token holder's inbox, and its attachments."""
from __future__ import annotations

from typing import Literal

import pydantic
from flask import jsonify, request, url_for
from flask_login import current_user

from core.api.blueprints import api_blueprint
from core.api.docs import documented
from core.api.queries import PageQuery
from core.api.types import UtcMoment
from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.errors import ValidationFailed
from app.messages import services
from app.messages.models import Message
from app.messages.views import download
from core.web.tables import Column, TableState, paginate_query

bp = api_blueprint("messages_api", __name__, "/messages")

ARGS = {"unread", "page", "per_page"}
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
ORDER = (Column("created_at", "sent_at", Message.created_at),)


class InboxQuery(PageQuery):
    unread: Literal["true", "false", "1", "0"] | None = None


class AttachmentItem(pydantic.BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    url: str


class MessageItem(pydantic.BaseModel):
    id: int
    subject: str
    body: str
    sender: str
    sent_at: UtcMoment
    read: bool
    read_at: UtcMoment | None
    to_unit: str | None
    attachments: list[AttachmentItem]


class MessagePage(pydantic.BaseModel):
    total: int
    unread: int
    page: int
    per_page: int
    messages: list[MessageItem]


@bp.get("")
@permission_required(Permission.USE_MY_PAGE)
@documented("The caller's messages, newest first (reading them here does not mark them read); "
            "unread=true for unopened ones only; page, per_page", query=InboxQuery,
            response=MessagePage, tags=("messages",),
            errors=(401, 403, 422))
def inbox():
    unknown = set(request.args) - ARGS
    if unknown:
        raise ValidationFailed.single(sorted(unknown)[0], "unknown query parameter")
    unread = request.args.get("unread", "false").lower()
    if unread not in BOOLEANS:
        raise ValidationFailed.single("unread", "must be true or false")
    for name in ("page", "per_page"):
        if name in request.args and not request.args[name].isdigit():
            raise ValidationFailed.single(name, "must be a positive integer")
    state = TableState.from_args(request.args, ORDER, default_sort="created_at", default_direction="desc")
    page = paginate_query(services.inbox_query(current_user, unread_only=BOOLEANS[unread]), ORDER, state,
                          scalars=False, tie_breaker=Message.id.desc())
    items = [
        MessageItem(
            id=message.id, subject=message.subject, body=message.body, sender=sender_name,
            sent_at=message.created_at, read=delivery.read_at is not None, read_at=delivery.read_at,
            to_unit=message.recipient_unit.customer_number if message.recipient_unit else None,
            attachments=[AttachmentItem(id=a.id, filename=a.filename, content_type=a.content_type, size=a.size,
                                        url=url_for("messages_api.attachment", message_id=message.id,
                                                    attachment_id=a.id))
                         for a in message.attachments],
        )
        for delivery, message, sender_name in page.rows
    ]
    return jsonify(MessagePage(total=page.total, unread=services.unread_count(current_user.id),
                               page=page.state.page, per_page=page.state.per_page,
                               messages=items).model_dump(mode="json"))


@bp.get("/<int:message_id>/attachments/<int:attachment_id>")
@permission_required(Permission.USE_MY_PAGE)
@documented("One attachment of a message in the caller's inbox, as a download", tags=("messages",),
            errors=(401, 403, 404))
def attachment(message_id: int, attachment_id: int):
    return download(*services.attachment_for(current_user, message_id, attachment_id))
