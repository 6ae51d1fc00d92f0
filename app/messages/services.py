"""Message use cases: send to a user or a unit, read the inbox, open a message, fetch an attachment.

Every write happens here; the e-mail notice goes out only after the message is committed.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import Select, case, func, select, update
from sqlalchemy.orm import aliased, joinedload

from core.auth.roles import Permission
from core.clock import utcnow
from core.errors import FieldError, Forbidden, NotFound, ValidationFailed
from core.extensions import db
from core.mail_outbox import queue_mail
from app.messages import storage
from app.messages.attachments import AttachmentRefused, CheckedFile, check_attachment
from app.messages.models import BODY_MAX, SUBJECT_MAX, Message, MessageAttachment, MessageDelivery
from app.messages.notice import new_message_mail
from core.models import PrescribingUnit, User, user_units
from core.store import begin_write

# The sender as a table of its own in inbox queries, so the inbox can be sorted by sender name.
Sender = aliased(User, name="sender")
UNREAD_FIRST = case((MessageDelivery.read_at.is_(None), 0), else_=1)


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass(frozen=True)
class MessageInput:
    subject: str
    body: str
    recipient_user_id: int | None = None
    recipient_unit_id: int | None = None
    attachments: tuple[Upload, ...] = ()


def send_message(sender: User, data: MessageInput) -> Message:
    """Store the message with its attachments in each recipient's inbox and mail each a notice.

    A message to a unit reaches the unit's active users at the moment it is sent.
    Nothing is stored, and no file is left behind, when any part is refused.
    """
    begin_write()
    if not sender.can(Permission.SEND_MESSAGES):
        raise Forbidden("Du har inte behörighet att skicka meddelanden.")
    errors: list[FieldError] = []
    subject, body = (data.subject or "").strip(), (data.body or "").strip()
    if not subject:
        errors.append(FieldError("subject", "Ange ett ämne."))
    elif len(subject) > SUBJECT_MAX:
        errors.append(FieldError("subject", f"Ämnet får vara högst {SUBJECT_MAX} tecken."))
    if not body:
        errors.append(FieldError("body", "Skriv ett meddelande."))
    elif len(body) > BODY_MAX:
        errors.append(FieldError("body", f"Meddelandet får vara högst {BODY_MAX} tecken."))
    recipients = _recipients(data, errors)
    checked = _checked_attachments(data.attachments, errors)
    if errors:
        raise ValidationFailed(errors)

    message = Message(sender_id=sender.id, subject=subject, body=body,
                      recipient_user_id=data.recipient_user_id if data.recipient_unit_id is None else None,
                      recipient_unit_id=data.recipient_unit_id)
    stored: list[str] = []
    try:
        for upload, file in zip(data.attachments, checked):
            key = storage.save(upload.data)
            stored.append(key)
            message.attachments.append(MessageAttachment(
                filename=file.filename, content_type=file.content_type, size=file.size,
                sha256=_sha256(upload.data), storage_key=key,
            ))
        message.deliveries = [MessageDelivery(user_id=user.id) for user in recipients]
        db.session.add(message)
        mail_subject, mail_body = new_message_mail(current_app.config["SYSTEM_NAME"])
        for user in recipients:
            if user.email:
                queue_mail(db.session, user.email, mail_subject, mail_body)
        db.session.commit()
    except Exception:
        db.session.rollback()
        for key in stored:
            storage.delete(key)
        raise
    current_app.logger.info("message %s delivered to %s recipients", message.id, len(recipients))
    return message


def _recipients(data: MessageInput, errors: list[FieldError]) -> list[User]:
    if (data.recipient_user_id is None) == (data.recipient_unit_id is None):
        errors.append(FieldError("recipient", "Välj en mottagare: en användare eller en enhet."))
        return []
    if data.recipient_user_id is not None:
        user = db.session.get(User, data.recipient_user_id)
        if user is None or not user.active:
            errors.append(FieldError("recipient_user", "Användaren finns inte eller är inte aktiv."))
            return []
        return [user]
    if db.session.get(PrescribingUnit, data.recipient_unit_id) is None:
        errors.append(FieldError("recipient_unit", "Enheten finns inte."))
        return []
    users = list(db.session.scalars(
        select(User).join(user_units, user_units.c.user_id == User.id)
        .where(user_units.c.unit_id == data.recipient_unit_id, User.active.is_(True)).order_by(User.id)
    ))
    if not users:
        errors.append(FieldError("recipient_unit", "Enheten har inga aktiva användare att skicka till."))
    return users


def _checked_attachments(uploads: tuple[Upload, ...], errors: list[FieldError]) -> list[CheckedFile]:
    config = current_app.config
    if len(uploads) > config["MESSAGE_ATTACHMENTS_MAX_COUNT"]:
        errors.append(FieldError("attachments", f"Högst {config['MESSAGE_ATTACHMENTS_MAX_COUNT']} bilagor."))
        return []
    checked = []
    for upload in uploads:
        try:
            checked.append(check_attachment(upload.filename, upload.data, config["MESSAGE_ATTACHMENT_MAX_BYTES"]))
        except AttachmentRefused as exc:
            errors.append(FieldError("attachments", exc.message))
    return checked


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def unread_count(user_id: int) -> int:
    """Return how many messages in the user's inbox are unopened (one indexed count)."""
    return db.session.scalar(
        select(func.count()).select_from(MessageDelivery)
        .where(MessageDelivery.user_id == user_id, MessageDelivery.read_at.is_(None))
    ) or 0


def inbox_query(user: User, unread_only: bool = False) -> Select:
    """Return the user's inbox as (delivery, message, sender name) rows, newest first."""
    query = (
        select(MessageDelivery, Message, Sender.name)
        .join(Message, Message.id == MessageDelivery.message_id)
        .join(Sender, Sender.id == Message.sender_id)
        .where(MessageDelivery.user_id == user.id)
        .options(joinedload(Message.recipient_unit))
        .order_by(Message.created_at.desc(), Message.id.desc())
    )
    if unread_only:
        query = query.where(MessageDelivery.read_at.is_(None))
    return query


def open_message(user: User, message_id: int) -> tuple[Message, MessageDelivery]:
    """Return a message in the user's inbox and mark it read the first time it is opened."""
    begin_write()
    delivery = db.session.get(MessageDelivery, (message_id, user.id))
    if delivery is None:
        db.session.rollback()
        raise NotFound("Meddelandet finns inte.")
    if delivery.read_at is None:
        db.session.execute(
            update(MessageDelivery)
            .where(MessageDelivery.message_id == message_id, MessageDelivery.user_id == user.id,
                   MessageDelivery.read_at.is_(None))
            .values(read_at=utcnow())
        )
    db.session.commit()
    message = db.session.scalar(
        select(Message).where(Message.id == message_id)
        .options(joinedload(Message.sender), joinedload(Message.recipient_unit))
    )
    db.session.refresh(delivery)
    return message, delivery


def attachment_for(user: User, message_id: int, attachment_id: int) -> tuple[MessageAttachment, Path]:
    """Return an attachment and where its bytes are, only for a recipient of the message."""
    attachment = db.session.scalar(
        select(MessageAttachment)
        .join(MessageDelivery, MessageDelivery.message_id == MessageAttachment.message_id)
        .where(MessageAttachment.id == attachment_id, MessageAttachment.message_id == message_id,
               MessageDelivery.user_id == user.id)
    )
    if attachment is None:
        raise NotFound("Bilagan finns inte.")
    path = storage.path_of(attachment.storage_key)
    if not path.is_file():
        current_app.logger.error("attachment %s missing from storage", attachment.id)
        raise NotFound("Bilagan finns inte längre.")
    return attachment, path


def sent_query(sender: User) -> Select:
    """Return the messages the user has sent, with how many recipients have read each."""
    read = func.count(MessageDelivery.read_at)
    total = func.count(MessageDelivery.user_id)
    return (
        select(Message, total.label("recipients"), read.label("read"))
        .join(MessageDelivery, MessageDelivery.message_id == Message.id)
        .where(Message.sender_id == sender.id)
        .group_by(Message.id)
        .order_by(Message.created_at.desc(), Message.id.desc())
    )


def recipient_choices() -> tuple[list[User], list[PrescribingUnit]]:
    """Return the active users and the units a message can be addressed to."""
    users = list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name, User.username)))
    units = list(db.session.scalars(select(PrescribingUnit).order_by(PrescribingUnit.customer_number)))
    return users, units
