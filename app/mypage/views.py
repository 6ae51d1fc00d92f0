"""Min sida: own contact details, customer relations, messages (and withdrawals needing action), and
where the user is logged in: sessions, API tokens, "Logga ut överallt"."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, logout_user

from app.messages import services as messages
from app.messages.models import Message, MessageDelivery
from app.mypage import services
from app.mypage.forms import ContactDetailsForm
from core.auth import services as auth
from core.auth import sessions
from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.auth.session_interface import current_session_id
from core.errors import ValidationFailed
from core.models import PrescribingUnit
from core.web.tables import Column, TableState, paginate_query

bp = Blueprint("mypage", __name__, url_prefix="/min-sida")

RELATION_COLUMNS = (
    Column("customer_number", "Kundnummer", PrescribingUnit.customer_number),
    Column("name", "Förskrivande enhet", PrescribingUnit.name),
    Column("payers", "Produktområden och betalare"),
)
INBOX_COLUMNS = (
    Column("read", "Status", messages.UNREAD_FIRST),
    Column("subject", "Ämne", Message.subject),
    Column("sender", "Från", messages.Sender.name),
    Column("created_at", "Skickat", Message.created_at),
    Column("attachments", "Bilagor"),
)


@bp.get("/")
@permission_required(Permission.USE_MY_PAGE)
def index():
    form = ContactDetailsForm(obj=current_user)
    return _render(form)


@bp.post("/kontaktuppgifter")
@permission_required(Permission.USE_MY_PAGE)
def contact_details():
    form = ContactDetailsForm()
    if form.validate_on_submit():
        try:
            services.update_contact_details(current_user, form.email.data, form.phone.data)
        except ValidationFailed as exc:
            for error in exc.errors:
                getattr(form, error.field).errors = [error.message]
            return _render(form), exc.status
        flash("Dina kontaktuppgifter är sparade.", "info")
        return redirect(url_for("mypage.index") + "#uppgifter")
    return _render(form), 422


@bp.post("/logga-ut-overallt")
@permission_required(Permission.USE_MY_PAGE)
def log_out_everywhere():
    sessions.end_all_access(current_user.id, by_user_id=current_user.id)
    logout_user()
    flash("Du är utloggad överallt och dina API-nycklar är återkallade.", "info")
    return redirect(url_for("auth.login"))


@bp.post("/api-nycklar/<int:token_id>/aterkalla")
@permission_required(Permission.USE_MY_PAGE)
def revoke_api_token(token_id: int):
    auth.revoke_api_token(current_user.id, token_id)
    flash("API-nyckeln är återkallad.", "info")
    return redirect(url_for("mypage.index") + "#inloggningar")


def _render(form: ContactDetailsForm):
    relations_state = TableState.from_args(request.args, RELATION_COLUMNS, default_sort="customer_number",
                                           prefix="kr_")
    relations = paginate_query(services.customer_relations_query(current_user), RELATION_COLUMNS, relations_state,
                               tie_breaker=PrescribingUnit.id)
    inbox_state = TableState.from_args(request.args, INBOX_COLUMNS, default_sort="created_at",
                                       default_direction="desc", prefix="m_")
    inbox = paginate_query(messages.inbox_query(current_user), INBOX_COLUMNS, inbox_state, scalars=False,
                           tie_breaker=MessageDelivery.message_id.desc())
    return render_template("mypage/index.html", form=form, relations=relations, inbox=inbox,
                           sessions=sessions.active_sessions(current_user.id, current_session_id()),
                           api_tokens=auth.valid_api_tokens(current_user.id), session_limits=sessions.limits_text(),
                           breadcrumbs=[("Min sida", None)])
