"""The technicians' list of work orders (own and unassigned) and taking one."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from core.auth.guard import permission_required
from core.auth.roles import Permission, Role
from core.clock import utcnow
from core.errors import DomainError
from core.web.tables import Column, TableState, paginate_query
from reserve import work_orders
from reserve.models import ReserveItem
from reserve.views import bp, crumbs

WORK_ORDER_COLUMNS = (
    Column("number", "Reservnr", ReserveItem.number),
    Column("type", "Typ", ReserveItem.work_order_type),
    Column("note", "Beskrivning"),
    Column("unit", "Enhet / artikel"),
    Column("prescriber", "Ansvarig förskrivare"),
    Column("captured_at", "Registrerad", ReserveItem.captured_at),
    Column("status", "Status"),
    Column("main_server", "Huvudsystemets nr", ReserveItem.main_server_id),
    Column("action", ""),
)


def _render(code: int = 200):
    include_cancelled = request.args.get("visa") == "alla"
    query = work_orders.work_orders_query(current_user, include_cancelled=include_cancelled)
    table = TableState.from_args(request.args, WORK_ORDER_COLUMNS, default_sort="captured_at",
                                 default_direction="desc")
    page = paginate_query(query, WORK_ORDER_COLUMNS, table, tie_breaker=ReserveItem.id)
    return render_template("reserve/work_orders.html", page=page, include_cancelled=include_cancelled,
                           everyone=work_orders.sees_every_work_order(current_user),
                           may_take=Role.TECHNICIAN in current_user.roles, type_label=work_orders.type_label,
                           status_label=work_orders.status_label,
                           breadcrumbs=crumbs(("Arbetsordrar", None))), code


@bp.get("/arbetsordrar")
@permission_required(Permission.MANAGE_WORK_ORDERS)
def work_order_list():
    return _render()


@bp.post("/arbetsordrar/<number>/ta")
@permission_required(Permission.MANAGE_WORK_ORDERS)
def take_work_order(number: str):
    try:
        item = work_orders.take(current_user, number, utcnow())
    except DomainError as exc:
        flash(exc.message, "error")
        return _render(exc.status)
    flash(f"Du har tagit arbetsorder {item.reserve_number}.", "info")
    return redirect(url_for("reserve.work_order_list"))
