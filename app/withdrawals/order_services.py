"""Order use cases (seed 002): beställning, förskrivning, direktförskrivning, lagerflytt, utleverans.

One function per use case; every write happens here, and each queues its registration with the main
server (app/withdrawals/outbox.py) in its own transaction: the record and its outbox item are saved together or not
at all. Stock levels change only here, each with a conditional UPDATE (`quantity >= taken`) that must
touch exactly one row, backed by the table's CHECK (quantity >= 0): never negative.

When stock moves: an order from warehouse 10 (beställning or förskrivning) and a stock move take
the goods from their sender when registered (HMS ships them); an order from own stock
(beställning from the municipal stock, direktförskrivning) takes them at its outbound delivery,
and until then it is listed as missing one.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload, selectinload

from core.privacy.access_log import AccessAction
from core.privacy.chokepoint import mark_displayed
from core.auth.roles import Permission
from core.clock import utcnow
from core.errors import DomainError, FieldError, Forbidden, NotFound, ValidationFailed
from core.extensions import db
from core.models import Article, Patient, PrescribingUnit, User, Warehouse, user_units
from core.store import begin_write
from app.withdrawals.models import (
    ORDER_AWAITING_OUTBOUND, ORDER_COMPLETE, Order, OrderLine, OutboundDelivery, StockLevel,
)
from app.withdrawals.rules import (
    CENTRAL_WAREHOUSE, OrderShape, OrderType, WarehouseRef, needs_outbound_delivery, order_problems,
)
from app.withdrawals import outbox

MAX_LINES = 30
MAX_QUANTITY = 9999
SEES_EVERY_ORDER = {"customer_service", "hms_staff", "technician"}
TYPE_PERMISSION = {
    OrderType.ORDER: Permission.CREATE_ORDERS,
    OrderType.PRESCRIPTION: Permission.PRESCRIBE,
    OrderType.DIRECT_PRESCRIPTION: Permission.PRESCRIBE,
    OrderType.STOCK_MOVE: Permission.MOVE_STOCK,
}


class StockShort(ValidationFailed):
    """A stock level would go negative."""


@dataclass(frozen=True)
class LineInput:
    article_number: str
    quantity: int


@dataclass(frozen=True)
class OrderInput:
    type: str
    from_warehouse: int | None  # warehouse numbers, e.g. 10 or 101
    lines: tuple[LineInput, ...]
    unit_id: int | None = None
    patient_id: int | None = None
    to_warehouse: int | None = None


def create_order(actor: User, data: OrderInput) -> Order:
    """Register an order of one of the four types and move the stock it takes; return it."""
    try:
        order_type = OrderType(data.type)
    except ValueError:
        raise ValidationFailed.single("type", "Välj ordertyp: beställning, förskrivning, direktförskrivning "
                                              "eller lagerflytt.") from None
    if not actor.can(TYPE_PERMISSION[order_type]):
        raise Forbidden(f"Du har inte behörighet att registrera {order_type.label.lower()}.", field="type")
    begin_write()
    articles = _articles_for(data.lines)
    sender_number = data.from_warehouse
    if sender_number is None and order_type in (OrderType.PRESCRIPTION, OrderType.STOCK_MOVE):
        sender_number = CENTRAL_WAREHOUSE  # these always leave warehouse 10
    sender = _warehouse(sender_number, "from_warehouse")
    receiver = _warehouse(data.to_warehouse, "to_warehouse")
    _check_unit_and_patient(data)
    shape = OrderShape(order_type, _ref(sender), data.unit_id, data.patient_id, _ref(receiver))
    problems = order_problems(shape)
    if problems:
        raise ValidationFailed([FieldError(f, m) for f, m in problems])
    if order_type.to_patient and data.unit_id not in {u.id for u in actor.units}:
        raise Forbidden("Du har ingen kundkoppling till enheten.", field="unit_id")
    awaiting = needs_outbound_delivery(order_type, _ref(sender))
    now = utcnow()
    order = Order(type=order_type.value, status=ORDER_AWAITING_OUTBOUND if awaiting else ORDER_COMPLETE,
                  from_warehouse_id=sender.id, to_warehouse_id=receiver.id if receiver else None,
                  unit_id=data.unit_id, patient_id=data.patient_id, created_by_id=actor.id, created_at=now)
    for line in data.lines:
        order.lines.append(OrderLine(article_id=articles[line.article_number].id, quantity=line.quantity))
    if awaiting:
        _refuse_short_stock(sender.id, order.lines)  # taken at the outbound delivery; refuse what cannot come
    else:
        _take_stock(sender.id, order.lines)
        if order_type is OrderType.STOCK_MOVE:
            for line in order.lines:
                _add_stock(receiver.id, line.article_id, line.quantity, now)
    db.session.add(order)
    outbox.order_created(order, now=now)  # outbox item (order or stock_move), same transaction
    db.session.commit()
    if data.patient_id is not None:
        mark_displayed(actor.id, [data.patient_id], AccessAction.SEARCH, f"orders.create.{order_type.value}")
    return order


def register_outbound_delivery(actor: User, order_id: int) -> OutboundDelivery:
    """Register the outbound delivery (utleverans) of an order from own stock and take its goods from the stock."""
    if not actor.can(Permission.READ_ORDERS):
        raise Forbidden("Du har inte behörighet att registrera utleverans.")
    begin_write()
    order = db.session.get(Order, order_id, options=[selectinload(Order.lines), joinedload(Order.outbound_delivery)])
    if order is None:
        raise NotFound("Ordern finns inte.", field="order_id")
    if not (actor.can(Permission.CREATE_ORDERS) or order.created_by_id == actor.id):
        raise Forbidden("Bara den som registrerade ordern, kundservice eller Hjälpmedelsservice kan registrera "
                        "utleverans.", field="order_id")
    claimed = db.session.execute(
        update(Order).where(Order.id == order_id, Order.status == ORDER_AWAITING_OUTBOUND)
        .values(status=ORDER_COMPLETE).execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        if order.outbound_delivery is not None:
            raise DomainError("Ordern har redan en utleverans.", field="order_id")
        raise DomainError("Ordern levereras från lager 10 och behöver ingen utleverans.", field="order_id")
    _take_stock(order.from_warehouse_id, order.lines)
    delivery = OutboundDelivery(order_id=order.id, created_by_id=actor.id, delivered_at=utcnow())
    db.session.add(delivery)
    outbox.outbound_delivery_registered(delivery)  # outbox item after the order's, same transaction
    db.session.commit()
    return delivery


# ---------------------------------------------------------------- stock


def _take_stock(warehouse_id: int, lines: list[OrderLine]) -> None:
    """Take each line's quantity from the warehouse, or roll everything back naming the short line."""
    now = utcnow()
    for index, line in enumerate(lines):
        taken = db.session.execute(
            update(StockLevel)
            .where(StockLevel.warehouse_id == warehouse_id, StockLevel.article_id == line.article_id,
                   StockLevel.quantity >= line.quantity)
            .values(quantity=StockLevel.quantity - line.quantity, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            db.session.rollback()
            raise _short(warehouse_id, line, index)


def _refuse_short_stock(warehouse_id: int, lines: list[OrderLine]) -> None:
    for index, line in enumerate(lines):
        level = db.session.scalar(select(StockLevel.quantity).where(
            StockLevel.warehouse_id == warehouse_id, StockLevel.article_id == line.article_id)) or 0
        if level < line.quantity:
            db.session.rollback()
            raise _short(warehouse_id, line, index, level)


def _short(warehouse_id: int, line: OrderLine, index: int, level: int | None = None) -> StockShort:
    if level is None:
        level = db.session.scalar(select(StockLevel.quantity).where(
            StockLevel.warehouse_id == warehouse_id, StockLevel.article_id == line.article_id)) or 0
    number = db.session.scalar(select(Warehouse.number).where(Warehouse.id == warehouse_id))
    article = db.session.scalar(select(Article.number).where(Article.id == line.article_id))
    message = (f"Lager {number} har {level} st av artikel {article}; {line.quantity} st skulle göra saldot "
               "negativt.")
    return StockShort([FieldError(f"lines[{index}].quantity", message)], status=409)


def _add_stock(warehouse_id: int, article_id: int, quantity: int, now) -> None:  # noqa: ANN001
    """Add to a stock level, creating it on first use (one upsert, safe under concurrent moves)."""
    insert = sqlite_insert if db.session.get_bind().dialect.name == "sqlite" else postgresql_insert
    table = StockLevel.__table__
    statement = insert(table).values(warehouse_id=warehouse_id, article_id=article_id, quantity=quantity,
                                     updated_at=now)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.warehouse_id, table.c.article_id],
        set_={"quantity": table.c.quantity + statement.excluded.quantity, "updated_at": now},
    ))


# ---------------------------------------------------------------- input checks


def _articles_for(lines: tuple[LineInput, ...]) -> dict[str, Article]:
    if not lines:
        raise ValidationFailed.single("lines", "Ange minst en artikel.")
    if len(lines) > MAX_LINES:
        raise ValidationFailed.single("lines", f"Högst {MAX_LINES} rader per order.")
    numbers = [line.article_number.strip() for line in lines]
    found = {a.number: a for a in db.session.scalars(select(Article).where(Article.number.in_(numbers)))}
    errors = []
    for i, line in enumerate(lines):
        article = found.get(line.article_number.strip())
        if article is None or not article.is_active:
            errors.append(FieldError(f"lines[{i}].article_number", "Artikeln finns inte."))
        if not 1 <= line.quantity <= MAX_QUANTITY:
            errors.append(FieldError(f"lines[{i}].quantity", f"Ange 1–{MAX_QUANTITY} st."))
    if len(set(numbers)) != len(numbers):
        errors.append(FieldError("lines", "Samma artikel kan bara finnas på en rad."))
    if errors:
        raise ValidationFailed(errors)
    return found


def _warehouse(number: int | None, field: str) -> Warehouse | None:
    if number is None:
        return None
    warehouse = db.session.scalar(select(Warehouse).where(Warehouse.number == number))
    if warehouse is None:
        raise ValidationFailed.single(field, f"Lager {number} finns inte.")
    return warehouse


def _ref(warehouse: Warehouse | None) -> WarehouseRef | None:
    return None if warehouse is None else WarehouseRef(warehouse.number, warehouse.kind, warehouse.unit_id)


def _check_unit_and_patient(data: OrderInput) -> None:
    if data.unit_id is not None and db.session.get(PrescribingUnit, data.unit_id) is None:
        raise ValidationFailed.single("unit_id", "Enheten finns inte.")
    if data.patient_id is not None and db.session.get(Patient, data.patient_id) is None:
        raise ValidationFailed.single("patient_id", "Patienten finns inte.")


# ---------------------------------------------------------------- reads


def orders_query(actor: User, order_type: str | None = None, missing_outbound: bool = False) -> Select:
    """Return the orders the actor may see, optionally of one type or only those missing an outbound delivery."""
    query = select(Order).options(joinedload(Order.from_warehouse), joinedload(Order.to_warehouse),
                                  joinedload(Order.unit), joinedload(Order.patient), joinedload(Order.created_by))
    if not {role.value for role in actor.roles} & SEES_EVERY_ORDER:
        units = select(user_units.c.unit_id).where(user_units.c.user_id == actor.id)
        query = query.where(or_(Order.created_by_id == actor.id, Order.unit_id.in_(units)))
    if order_type:
        try:
            query = query.where(Order.type == OrderType(order_type).value)
        except ValueError:
            raise ValidationFailed.single("type", "Okänd ordertyp.") from None
    if missing_outbound:
        query = query.where(Order.status == ORDER_AWAITING_OUTBOUND)
    return query


def log_orders_shown(actor: User, orders: list[Order], context: str) -> None:
    """Record the patients whose orders the actor saw in a list."""
    mark_displayed(actor.id, [o.patient_id for o in orders if o.patient_id], AccessAction.SEARCH, context)


def get_order(actor: User, order_id: int, context: str) -> Order:
    """Return one order the actor may see, with its lines; log the read of its patient."""
    order = db.session.scalar(orders_query(actor).where(Order.id == order_id).options(
        selectinload(Order.lines).joinedload(OrderLine.article), joinedload(Order.outbound_delivery)))
    if order is None:
        raise NotFound("Ordern finns inte.", field="order_id")
    if order.patient_id is not None:
        patient_id = order.patient_id
        mark_displayed(actor.id, [patient_id], AccessAction.SEARCH, context)
        order = db.session.scalar(orders_query(actor).where(Order.id == order_id).options(
            selectinload(Order.lines).joinedload(OrderLine.article), joinedload(Order.outbound_delivery)))
    return order


def find_patient(actor: User, personnummer: str, context: str) -> Patient | None:
    """Return the patient with this personnummer (already in the store); log the lookup."""
    patient = db.session.scalar(select(Patient).where(Patient.personnummer == personnummer))
    if patient is not None:
        patient_id = patient.id
        mark_displayed(actor.id, [patient_id], AccessAction.SEARCH, context)
        patient = db.session.get(Patient, patient_id)
    return patient


def warehouses() -> list[Warehouse]:
    return list(db.session.scalars(select(Warehouse).options(joinedload(Warehouse.unit)).order_by(Warehouse.number)))


def units() -> list[PrescribingUnit]:
    return list(db.session.scalars(select(PrescribingUnit).order_by(PrescribingUnit.name)))


def stock_query(warehouse_number: int, text: str = "") -> Select:
    """Return the stock levels of one warehouse, optionally for articles matching a number or name part."""
    query = (select(StockLevel).join(StockLevel.warehouse).join(StockLevel.article)
             .where(Warehouse.number == warehouse_number)
             .options(joinedload(StockLevel.article)))
    text = text.strip()
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(or_(Article.number.startswith(text, autoescape=True),
                                Article.name.ilike(f"%{escaped}%", escape="\\")))
    return query
