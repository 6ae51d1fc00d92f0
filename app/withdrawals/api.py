"""Withdrawal, order and stock endpoints of the JSON API.

An API caller that creates a withdrawal is the patients' e-service channel (SPEC section 3).
"""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from core.api.blueprints import api_blueprint
from core.api.docs import documented
from core.api.validation import parse_json
from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.errors import ValidationFailed
from core.web.tables import TableState, paginate_query
from app.withdrawals import order_services, queries, services
from app.withdrawals.models import Order, StockLevel, Withdrawal
from app.withdrawals.order_views import ORDER_COLUMNS, STOCK_COLUMNS
from app.withdrawals.rules import Channel
from app.withdrawals.schemas import (
    OrderLineResponse, OrderPage, OrderQuery, OrderRequest, OrderResponse, OutboundDeliveryResponse, StockItem,
    StockPage, StockQuery, WithdrawalItem, WithdrawalPage, WithdrawalQuery, WithdrawalRequest, WithdrawalResponse,
)
from app.withdrawals.search import CRITERIA_ARGS, parse_withdrawal_criteria

bp = api_blueprint("withdrawals_api", __name__)

VIEW_ARGS = {"sort", "dir", "page", "per_page"}
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 422)


def _refuse_unknown_args(known: set[str]) -> None:
    unknown = set(request.args) - known - VIEW_ARGS
    if unknown:
        raise ValidationFailed.single(sorted(unknown)[0], "unknown query parameter")


def _withdrawal(w: Withdrawal) -> dict:
    return WithdrawalResponse(
        number=w.u_number, status=w.status, status_label=w.status_label, packages=w.packages, channel=w.channel,
        row_id=w.row_id, patient_id=w.patient_id, article_number=w.article.number, unit_id=w.unit_id,
        ordered_at=w.ordered_at, sent_at=w.sent_at, delivered_at=w.delivered_at, aborted_at=w.aborted_at,
    ).model_dump(mode="json")


@bp.post("/withdrawals")
@permission_required(Permission.CREATE_WITHDRAWALS)
@documented("Create a withdrawal (status new) from an active prescription row; returns its U-number. At most "
            "the row's packages per withdrawal, and only while it has withdrawals left",
            request=WithdrawalRequest, response=WithdrawalResponse, status=201, tags=("withdrawals",),
            errors=WRITE_ERRORS)
def create():
    body = parse_json(WithdrawalRequest)
    withdrawal = services.create_withdrawal(current_user, body.row_id, body.packages, Channel.E_SERVICE)
    return jsonify(_withdrawal(withdrawal)), 201


@bp.post("/withdrawals/<number>/send")
@permission_required(Permission.CREATE_WITHDRAWALS)
@documented("Send a new withdrawal to the distributor (new → sent)", response=WithdrawalResponse,
            tags=("withdrawals",), errors=(401, 403, 404, 409))
def send(number: str):
    return jsonify(_withdrawal(services.send_withdrawal(current_user, number)))


@bp.post("/withdrawals/<number>/abort")
@permission_required(Permission.CREATE_WITHDRAWALS)
@documented("Abort a new withdrawal (new → aborted); the row gets its withdrawal back. A sent withdrawal "
            "cannot be aborted", response=WithdrawalResponse, tags=("withdrawals",), errors=(401, 403, 404, 409))
def abort(number: str):
    return jsonify(_withdrawal(services.abort_withdrawal(current_user, number)))


@bp.post("/withdrawals/<number>/deliver")
@permission_required(Permission.DELIVER_WITHDRAWALS)
@documented("Record a sent withdrawal as delivered (sent → delivered); the row closes as delivered when "
            "all its withdrawals are", response=WithdrawalResponse, tags=("withdrawals",),
            errors=(401, 403, 404, 409))
def deliver(number: str):
    return jsonify(_withdrawal(services.deliver_withdrawal(current_user, number)))


@bp.get("/withdrawals")
@permission_required(Permission.READ_WITHDRAWALS)
@documented("Withdrawal overview, newest first, over the caller's units (customer service and HMS: all): "
            "q = U-number or its beginning; patient = personnummer; unit = unit id; status = new|sent|delivered|"
            "aborted; from, to = ordered dates (YYYY-MM-DD); sort, dir, page, per_page. At most the newest 1,000 "
            "matches are paged (capped = true)", query=WithdrawalQuery, response=WithdrawalPage, tags=("withdrawals",),
            errors=(401, 403, 422))
def search():
    _refuse_unknown_args(set(CRITERIA_ARGS))
    criteria = parse_withdrawal_criteria(request.args)
    state = TableState.from_args(request.args, queries.LIST_COLUMNS, default_sort="ordered",
                                 default_direction="desc")
    page = queries.search_withdrawals(current_user, criteria, state, "api.withdrawals.search")
    items = [
        WithdrawalItem(
            number=w.u_number, status=w.status, status_label=w.status_label, packages=w.packages, channel=w.channel,
            row_id=w.row_id, patient_id=w.patient_id, article_number=w.article_number, unit_id=w.unit_id,
            ordered_at=w.ordered_at, sent_at=w.sent_at, delivered_at=w.delivered_at, aborted_at=w.aborted_at,
            personnummer=w.personnummer, patient_name=w.patient_name, article_name=w.article_name,
            unit_name=w.unit_name,
        )
        for w in page.rows
    ]
    body = WithdrawalPage(total=page.total, capped=page.total >= queries.LIST_CAP, page=page.state.page,
                          per_page=page.state.per_page, withdrawals=items)
    return jsonify(body.model_dump(mode="json"))


@bp.get("/withdrawals/<number>")
@permission_required(Permission.READ_PATIENTS)
@documented("One withdrawal", response=WithdrawalItem, tags=("withdrawals",), errors=(401, 403, 404))
def show(number: str):
    w = queries.get_withdrawal(current_user, number, "api.withdrawals.show").line
    return jsonify(WithdrawalItem(
        number=w.u_number, status=w.status, status_label=w.status_label, packages=w.packages, channel=w.channel,
        row_id=w.row_id, patient_id=w.patient_id, article_number=w.article_number, unit_id=w.unit_id,
        ordered_at=w.ordered_at, sent_at=w.sent_at, delivered_at=w.delivered_at, aborted_at=w.aborted_at,
        personnummer=w.personnummer, patient_name=w.patient_name, article_name=w.article_name, unit_name=w.unit_name,
    ).model_dump(mode="json"))


# ---------------------------------------------------------------- orders and stock


def _order(order: Order) -> OrderResponse:
    return OrderResponse(
        id=order.id, type=order.type, status=order.status, from_warehouse=order.from_warehouse.number,
        to_warehouse=order.to_warehouse.number if order.to_warehouse else None, unit_id=order.unit_id,
        patient_id=order.patient_id, created_at=order.created_at,
        outbound_delivered_at=order.outbound_delivery.delivered_at if order.outbound_delivery else None,
        lines=[OrderLineResponse(article_number=line.article.number, quantity=line.quantity) for line in order.lines],
    )


@bp.post("/orders")
@permission_required(Permission.READ_ORDERS)
@documented("Register an order: type order (beställning to a care unit, from its municipal stock or warehouse 10), "
            "prescription (to a patient from warehouse 10), direct_prescription (to a patient from own stock) or "
            "stock_move (from warehouse 10 to a municipal stock). Orders from own stock await an outbound delivery",
            request=OrderRequest, response=OrderResponse, status=201, tags=("orders",), errors=WRITE_ERRORS)
def create_order():
    body = parse_json(OrderRequest)
    order = order_services.create_order(current_user, order_services.OrderInput(
        type=body.type, from_warehouse=body.from_warehouse, to_warehouse=body.to_warehouse, unit_id=body.unit_id,
        patient_id=body.patient_id,
        lines=tuple(order_services.LineInput(line.article_number, line.quantity) for line in body.lines),
    ))
    return jsonify(_order(order).model_dump(mode="json")), 201


@bp.post("/orders/<int:order_id>/outbound-delivery")
@permission_required(Permission.READ_ORDERS)
@documented("Register the outbound delivery (utleverans) of an order from own stock; the goods leave the stock",
            response=OutboundDeliveryResponse, status=201, tags=("orders",), errors=(401, 403, 404, 409))
def outbound_delivery(order_id: int):
    delivery = order_services.register_outbound_delivery(current_user, order_id)
    return jsonify(OutboundDeliveryResponse(order_id=delivery.order_id, status="complete",
                                            delivered_at=delivery.delivered_at).model_dump(mode="json")), 201


@bp.get("/orders")
@permission_required(Permission.READ_ORDERS)
@documented("Orders the caller may see, newest first: type; missing_outbound_delivery=true lists those from own "
            "stock still without an outbound delivery; sort, dir, page, per_page", query=OrderQuery, response=OrderPage,
            tags=("orders",), errors=(401, 403, 422))
def orders():
    _refuse_unknown_args({"type", "missing_outbound_delivery"})
    missing = request.args.get("missing_outbound_delivery", "false")
    if missing not in ("true", "false"):
        raise ValidationFailed.single("missing_outbound_delivery", "must be true or false")
    query = order_services.orders_query(current_user, request.args.get("type") or None, missing == "true")
    state = TableState.from_args(request.args, ORDER_COLUMNS, default_sort="created", default_direction="desc")
    page = paginate_query(query, ORDER_COLUMNS, state, tie_breaker=Order.id.desc())
    body = OrderPage(total=page.total, page=page.state.page, per_page=page.state.per_page,
                     orders=[_order(o) for o in page.rows])
    order_services.log_orders_shown(current_user, page.rows, "api.orders")
    return jsonify(body.model_dump(mode="json"))


@bp.get("/orders/<int:order_id>")
@permission_required(Permission.READ_ORDERS)
@documented("One order with its lines", response=OrderResponse, tags=("orders",), errors=(401, 403, 404))
def order(order_id: int):
    return jsonify(_order(order_services.get_order(current_user, order_id, "api.orders.show")).model_dump(mode="json"))


@bp.get("/stock-levels")
@permission_required(Permission.READ_ORDERS)
@documented("Stock levels of one warehouse: warehouse = number (default 10); q = article number or name part; "
            "sort, dir, page, per_page", query=StockQuery,
            response=StockPage, tags=("orders",), errors=(401, 403, 404, 422))
def stock_levels():
    _refuse_unknown_args({"warehouse", "q"})
    raw = request.args.get("warehouse", "10")
    if not raw.isdigit() or len(raw) > 9:
        raise ValidationFailed.single("warehouse", "must be a warehouse number")
    number = int(raw)
    if number not in {w.number for w in order_services.warehouses()}:
        raise ValidationFailed.single("warehouse", f"warehouse {number} does not exist", status=404)
    text = request.args.get("q", "")
    if len(text) > 60:
        raise ValidationFailed.single("q", "at most 60 characters")
    state = TableState.from_args(request.args, STOCK_COLUMNS, default_sort="number")
    page = paginate_query(order_services.stock_query(number, text), STOCK_COLUMNS, state,
                          tie_breaker=StockLevel.article_id)
    return jsonify(StockPage(
        warehouse=number, total=page.total, page=page.state.page, per_page=page.state.per_page,
        stock_levels=[StockItem(article_number=s.article.number, article_name=s.article.name, quantity=s.quantity)
                      for s in page.rows],
    ).model_dump(mode="json"))
