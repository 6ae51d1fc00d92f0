"""Administration: "Utgående e-post", every mail the product has queued and what became of it (adds routes to views.bp).

Only the business owner (verksamhetsansvarig) sees it: a mail's body may hold a single-use link
(a password reset), which is a secret. Bodies never hold patient data (core.mail screens them).
"""
from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from app.admin.views import bp
from core import mail_outbox
from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.extensions import db
from core.models import OutgoingMail
from core.web.tables import Column, TableState, paginate_query

STATE_LABELS = {"queued": "Köad", "sent": "Skickad", "failed": "Misslyckad"}
LINK = re.compile(r"https?://[^\s<>\"]+")

MAIL_COLUMNS = (
    Column("created_at", "Köad", OutgoingMail.created_at),
    Column("recipient", "Mottagare", OutgoingMail.recipient),
    Column("subject", "Ämne", OutgoingMail.subject),
    Column("state", "Status", OutgoingMail.state),
    Column("attempts", "Försök", OutgoingMail.attempts),
    Column("last_error", "Senaste fel"),
)


def _crumbs(*more: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [("Administration", url_for("admin.index")), *more]


def body_parts(body: str) -> list[tuple[str, bool]]:
    """Split a plain-text body into (text, is_link) parts, so the page can make its links clickable."""
    parts, at = [], 0
    for match in LINK.finditer(body):
        parts += [(body[at:match.start()], False), (match.group(0), True)]
        at = match.end()
    return [*parts, (body[at:], False)]


@bp.get("/e-post")
@permission_required(Permission.MANAGE_USERS)
def outgoing_mail():
    state = TableState.from_args(request.args, MAIL_COLUMNS, default_sort="created_at", default_direction="desc")
    # Delivery writes the rows from sessions of its own: always read them afresh.
    query = select(OutgoingMail).execution_options(populate_existing=True)
    page = paginate_query(query, MAIL_COLUMNS, state, tie_breaker=OutgoingMail.id.desc())
    return render_template("admin/outgoing_mail.html", page=page, states=STATE_LABELS,
                           breadcrumbs=_crumbs(("Utgående e-post", None)))


@bp.get("/e-post/<int:mail_id>")
@permission_required(Permission.MANAGE_USERS)
def outgoing_mail_show(mail_id: int):
    # Delivery writes the row from sessions of its own: always read it afresh.
    mail = db.session.get(OutgoingMail, mail_id, populate_existing=True) or abort(404)
    return render_template("admin/outgoing_mail_show.html", mail=mail, states=STATE_LABELS,
                           parts=body_parts(mail.body),
                           breadcrumbs=_crumbs(("Utgående e-post", url_for("admin.outgoing_mail")),
                                               (f"E-post {mail.id}", None)))


@bp.post("/e-post/<int:mail_id>/forsok-igen")
@permission_required(Permission.MANAGE_USERS)
def outgoing_mail_retry(mail_id: int):
    if db.session.get(OutgoingMail, mail_id) is None:
        abort(404)
    if mail_outbox.retry(mail_id):
        flash("E-postmeddelandet är köat igen och har försökts skickas; se status nedan.", "info")
    else:
        flash("Bara ett misslyckat e-postmeddelande kan försökas igen.", "error")
    return redirect(url_for("admin.outgoing_mail_show", mail_id=mail_id))
