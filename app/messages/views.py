"""Read a message, fetch its attachments, write and list sent messages (Swedish UI)."""
from __future__ import annotations

import io
from pathlib import Path

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.errors import ValidationFailed
from core.extensions import csrf
from app.messages import services
from app.messages.forms import ComposeForm
from app.messages.models import Message, MessageAttachment
from app.messages.services import MessageInput, Upload
from core.web.tables import Column, TableState, paginate_query

bp = Blueprint("messages", __name__, url_prefix="/min-sida/meddelanden")

SENT_COLUMNS = (
    Column("created_at", "Skickat", Message.created_at),
    Column("subject", "Ämne", Message.subject),
    Column("to", "Till"),
    Column("read", "Lästa"),
    Column("attachments", "Bilagor"),
)


def _crumbs(*tail: tuple[str, str | None]) -> list:
    return [("Min sida", url_for("mypage.index")), *tail]


@bp.get("/<int:message_id>")
@permission_required(Permission.USE_MY_PAGE)
def show(message_id: int):
    message, delivery = services.open_message(current_user, message_id)
    return render_template("messages/show.html", message=message, delivery=delivery,
                           breadcrumbs=_crumbs(("Meddelanden", url_for("mypage.index") + "#meddelanden"),
                                               (message.subject, None)))


@bp.get("/<int:message_id>/bilagor/<int:attachment_id>")
@permission_required(Permission.USE_MY_PAGE)
def attachment(message_id: int, attachment_id: int):
    return download(*services.attachment_for(current_user, message_id, attachment_id))


def download(file: MessageAttachment, path: Path) -> Response:
    """Return the attachment as a download (never shown inline), with the type we decided, not the sender's."""
    response = send_file(io.BytesIO(path.read_bytes()), mimetype=file.content_type, as_attachment=True,
                         download_name=file.filename, conditional=False, etag=False, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/nytt", methods=["GET", "POST"])
@permission_required(Permission.SEND_MESSAGES)
@csrf.exempt  # checked below, once the larger body limit for attachments applies
def compose():
    config = current_app.config
    request.max_content_length = config["MESSAGE_ATTACHMENT_MAX_BYTES"] * config["MESSAGE_ATTACHMENTS_MAX_COUNT"] + 256 * 1024
    users, units = services.recipient_choices()
    status = 200
    try:
        if request.method == "POST":
            csrf.protect()
        form = ComposeForm()
    except RequestEntityTooLarge:
        form = ComposeForm(formdata=None)
        form.attachments.errors = [f"Bilagorna är för stora (högst {config['MESSAGE_ATTACHMENT_MAX_BYTES'] // 1048576} MB "
                                   f"per fil, {config['MESSAGE_ATTACHMENTS_MAX_COUNT']} filer). Inget har skickats."]
        status = 413
    form.recipient_user.choices = [("", "Välj användare")] + [(u.id, f"{u.name} ({u.username})") for u in users]
    form.recipient_unit.choices = [("", "Välj enhet")] + [(u.id, f"{u.customer_number} {u.name}") for u in units]
    if status == 200 and form.validate_on_submit():
        try:
            message = services.send_message(current_user, _input_from(form))
        except ValidationFailed as exc:
            _attach_errors(form, exc)
            status = exc.status
        else:
            flash(f"Meddelandet är skickat till {len(message.deliveries)} mottagare.", "info")
            return redirect(url_for("messages.sent"))
    elif request.method == "POST" and status == 200:
        status = 422
    return render_template("messages/compose.html", form=form, status=status,
                           max_mb=config["MESSAGE_ATTACHMENT_MAX_BYTES"] // 1048576,
                           max_count=config["MESSAGE_ATTACHMENTS_MAX_COUNT"],
                           breadcrumbs=_crumbs(("Nytt meddelande", None))), status


def _input_from(form: ComposeForm) -> MessageInput:
    to_unit = form.recipient_kind.data == "unit"
    uploads = tuple(Upload(f.filename or "", f.read()) for f in (form.attachments.data or []) if f and f.filename)
    return MessageInput(
        subject=form.subject.data, body=form.body.data,
        recipient_user_id=None if to_unit else form.recipient_user.data,
        recipient_unit_id=form.recipient_unit.data if to_unit else None,
        attachments=uploads,
    )


def _attach_errors(form: ComposeForm, exc: ValidationFailed) -> None:
    fields = {"subject": form.subject, "body": form.body, "recipient_user": form.recipient_user,
              "recipient_unit": form.recipient_unit, "recipient": form.recipient_kind,
              "attachments": form.attachments}
    for error in exc.errors:
        target = fields.get(error.field)
        if target is None:
            form.form_errors.append(error.message)
        else:
            target.errors = [*target.errors, error.message]


@bp.get("/skickade")
@permission_required(Permission.SEND_MESSAGES)
def sent():
    state = TableState.from_args(request.args, SENT_COLUMNS, default_sort="created_at", default_direction="desc")
    page = paginate_query(services.sent_query(current_user), SENT_COLUMNS, state, scalars=False,
                          tie_breaker=Message.id.desc())
    return render_template("messages/sent.html", page=page, breadcrumbs=_crumbs(("Skickade meddelanden", None)))
