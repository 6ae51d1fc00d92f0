"""Ordrar in the Swedish UI: Beställning, Förskrivning, Direktförskrivning, Lagerflytt, Utleverans, Lagersaldo."""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.errors import DomainError, FieldError, ValidationFailed
from core.models import Article, Warehouse
from core.web.tables import Column, TableState, paginate_query
from app.withdrawals import order_services as services
from app.withdrawals.forms import OrderForm
from app.withdrawals.models import Order, StockLevel
from app.withdrawals.rules import CENTRAL_WAREHOUSE, ORDER_TYPE_LABELS, OrderType
from reserve.listings import captured_orders
from reserve.rules import KIND_LABELS

bp = Blueprint("orders", __name__, url_prefix="/order")

SLUGS = {
    "bestallning": OrderType.ORDER,
    "forskrivning": OrderType.PRESCRIPTION,
    "direktforskrivning": OrderType.DIRECT_PRESCRIPTION,
    "lagerflytt": OrderType.STOCK_MOVE,
}
ORDER_COLUMNS = (
    Column("id", "Ordernr", Order.id),
    Column("type", "Ordertyp", Order.type),
    Column("created", "Registrerad", Order.created_at),
    Column("from", "Levererande lager"),
    Column("to", "Mottagare"),
    Column("status", "Status", Order.status),
    Column("actions", "Åtgärd"),
)
STOCK_COLUMNS = (
    Column("number", "Artikelnr", Article.number),
    Column("name", "Benämning", Article.name),
    Column("quantity", "Saldo (st)", StockLevel.quantity),
)
FORM_FIELDS = {"from_warehouse": "from_warehouse", "to_warehouse": "to_warehouse", "unit_id": "unit",
               "patient_id": "patient"}
LINE_FIELD = re.compile(r"lines\[(\d+)\]\.(article_number|quantity)")


def _crumbs(*extra: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [("Min sida", url_for("mypage.index")), ("Ordrar", url_for("orders.index")), *extra]


@bp.get("/")
@permission_required(Permission.READ_ORDERS)
def index():
    order_type = request.args.get("typ", "")
    missing = bool(request.args.get("saknar_utleverans"))
    try:
        query = services.orders_query(current_user, order_type or None, missing)
    except ValidationFailed:
        abort(400)
    state = TableState.from_args(request.args, ORDER_COLUMNS, default_sort="created", default_direction="desc")
    page = paginate_query(query, ORDER_COLUMNS, state, tie_breaker=Order.id.desc())
    html = render_template("withdrawals/orders/index.html", page=page, order_type=order_type, missing=missing,
                           types=ORDER_TYPE_LABELS, captured=captured_orders(), kind_labels=KIND_LABELS,
                           breadcrumbs=_crumbs())
    services.log_orders_shown(current_user, page.rows, "orders.index")  # after rendering: the log commits
    return html


@bp.route("/ny/<slug>", methods=["GET", "POST"])
@permission_required(Permission.READ_ORDERS)
def new(slug: str):
    order_type = SLUGS.get(slug)
    if order_type is None:
        abort(404)
    if not current_user.can(services.TYPE_PERMISSION[order_type]):
        abort(403)
    form = OrderForm()
    _offer_choices(form, order_type)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                order = services.create_order(current_user, _input_from(form, order_type))
            except ValidationFailed as exc:
                _show_errors(form, exc.errors)
                status = exc.status
            except DomainError as exc:
                form.form_errors.append(exc.message)
                status = exc.status
            else:
                flash(f"{order_type.label} {order.id} är registrerad.", "info")
                if order.status == "awaiting_outbound":
                    flash("Ordern levereras från eget lager: glöm inte att skapa utleverans.", "info")
                return redirect(url_for("orders.show", order_id=order.id), 303)
    return render_template("withdrawals/orders/new.html", form=form, order_type=order_type, slug=slug,
                           breadcrumbs=_crumbs((f"Ny {order_type.label.lower()}", None))), status


def _offer_choices(form: OrderForm, order_type: OrderType) -> None:
    warehouses = services.warehouses()
    my_units = {u.id for u in current_user.units}
    central = [w for w in warehouses if w.number == CENTRAL_WAREHOUSE]
    if order_type is OrderType.ORDER:
        senders = warehouses
    elif order_type is OrderType.DIRECT_PRESCRIPTION:
        senders = [w for w in warehouses if w.kind == "municipal" and w.unit_id in my_units]
    else:
        senders = central
    form.from_warehouse.choices = [(str(w.number), _warehouse_label(w)) for w in senders]
    units = services.units()
    if order_type.to_patient:
        units = [u for u in units if u.id in my_units]
        form.unit.label.text = "Förskrivande enhet"
    form.unit.choices = [("", "Välj enhet")] + [(str(u.id), f"{u.customer_number} {u.name}") for u in units]
    form.to_warehouse.choices = [("", "Välj kommunlager")] + [
        (str(w.number), _warehouse_label(w)) for w in warehouses if w.kind == "municipal"]


def _warehouse_label(warehouse: Warehouse) -> str:
    return f"{warehouse.number} {warehouse.name}"


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _input_from(form: OrderForm, order_type: OrderType) -> services.OrderInput:
    """Return the order as typed; a patient is passed on whatever the type, so the rules can refuse it."""
    patient_id = None
    if form.patient.data:
        patient = services.find_patient(current_user, form.patient.data, f"orders.new.{order_type.value}")
        if patient is None:
            raise ValidationFailed.single("patient_id", "Ingen patient med det personnumret finns.")
        patient_id = patient.id
    lines = []
    for index, entry in enumerate(form.lines.entries):
        number, quantity = (entry.form.article_number.data or "").strip(), entry.form.quantity.data
        if number or quantity:
            if not number or not quantity:
                raise ValidationFailed.single(f"lines[{index}].quantity" if number else f"lines[{index}].article_number",
                                              "Ange både artikelnummer och antal.")
            lines.append((index, services.LineInput(number, quantity)))
    form.line_indexes = [i for i, _ in lines]  # maps the service's line numbers back to the form's rows
    return services.OrderInput(
        type=order_type.value, from_warehouse=_number(form.from_warehouse.data), lines=tuple(l for _, l in lines),
        unit_id=_number(form.unit.data), patient_id=patient_id, to_warehouse=_number(form.to_warehouse.data),
    )


def _show_errors(form: OrderForm, errors: list[FieldError]) -> None:
    """Put each service error on the form field it names."""
    indexes = getattr(form, "line_indexes", [])
    for error in errors:
        line = LINE_FIELD.fullmatch(error.field)
        if line:
            index = int(line.group(1))
            row = indexes[index] if index < len(indexes) else index
            getattr(form.lines.entries[row].form, line.group(2)).errors = [error.message]
        elif error.field in FORM_FIELDS:
            getattr(form, FORM_FIELDS[error.field]).errors = [error.message]
        else:
            form.form_errors.append(error.message)


@bp.get("/<int:order_id>")
@permission_required(Permission.READ_ORDERS)
def show(order_id: int):
    order = services.get_order(current_user, order_id, "orders.show")
    may_deliver = order.status == "awaiting_outbound" and (
        current_user.can(Permission.CREATE_ORDERS) or order.created_by_id == current_user.id)
    return render_template("withdrawals/orders/show.html", order=order, may_deliver=may_deliver,
                           breadcrumbs=_crumbs((f"Order {order.id}", None)))


@bp.post("/<int:order_id>/utleverans")
@permission_required(Permission.READ_ORDERS)
def outbound_delivery(order_id: int):
    try:
        services.register_outbound_delivery(current_user, order_id)
    except ValidationFailed as exc:
        for error in exc.errors:
            flash(error.message, "error")
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Utleverans är registrerad för order {order_id}.", "info")
    return redirect(url_for("orders.show", order_id=order_id), 303)


@bp.get("/lager")
@permission_required(Permission.READ_ORDERS)
def stock():
    warehouses = services.warehouses()
    number = request.args.get("lager", type=int) or CENTRAL_WAREHOUSE
    chosen = next((w for w in warehouses if w.number == number), None)
    text = (request.args.get("artikel") or "").strip()[:60]
    page = None
    if chosen is not None:
        state = TableState.from_args(request.args, STOCK_COLUMNS, default_sort="number")
        page = paginate_query(services.stock_query(chosen.number, text), STOCK_COLUMNS, state,
                              tie_breaker=StockLevel.article_id)
    return render_template("withdrawals/orders/stock.html", warehouses=warehouses, chosen=chosen, text=text,
                           page=page, breadcrumbs=_crumbs(("Lagersaldo", None))), 200 if chosen else 404
