"""Orders, stock moves and outbound deliveries are queued for the main server in their own transaction."""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest
import requests
from sqlalchemy import func, select, update

from core.extensions import db
from app.withdrawals.models import ORDER_AWAITING_OUTBOUND, Order, OutboundDelivery
from app.withdrawals.order_services import LineInput, OrderInput, StockShort, create_order, register_outbound_delivery
from sync import registration
from sync.models import OutboxItem
from sync.rules import ACKED, BLOCKED, CONFLICT, PENDING
from tests.service.sync.conftest import assert_exactly_once, drain, items, random_key
from tests.service.withdrawals.conftest import World, build_world, set_stock, stock_of


@pytest.fixture
def orders(ctx) -> World:
    """The order world of tests/withdrawals: lager 10 holds 100 pads and 50 drinks, Eslöv's own stock 8 pads."""
    return stocked(build_world())


def stocked(world: World) -> World:
    set_stock(world.central, world.pads, 100)
    set_stock(world.central, world.drink, 50)
    set_stock(world.eslov_stock, world.pads, 8)
    return world


def outbox_items() -> list[OutboxItem]:
    return list(db.session.scalars(select(OutboxItem).order_by(OutboxItem.id)
                                   .execution_options(populate_existing=True)))


def order_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Order))


def stock_move(world: World, quantity: int = 30) -> Order:
    return create_order(world.johan, OrderInput("stock_move", None, (LineInput("310001", quantity),
                                                                      LineInput("420001", 12)), to_warehouse=101))


def order_from_own_stock(world: World, quantity: int = 3) -> Order:
    """A beställning to Hemsjukvården Eslöv from its own stock 101: it waits for its outbound delivery."""
    return create_order(world.maria, OrderInput("order", 101, (LineInput("310001", quantity),),
                                                unit_id=world.eslov.id))


def test_a_stock_move_writes_one_stock_move_item_with_warehouse_and_article_numbers(orders):
    order = stock_move(orders)
    (item,) = outbox_items()
    assert (item.kind, item.state, item.priority, item.parent_key) == ("stock_move", PENDING, 10, None)
    assert (item.ordering_key, item.subject_ref) == (f"order:{order.id}", f"order:{order.id}")
    assert item.created_by_id == orders.johan.id and item.channel == "app"
    assert item.data == {
        "order_ref": order.id, "order_type": "stock_move", "from_warehouse": 10, "to_warehouse": 101,
        "lines": [{"article": "310001", "quantity": 30}, {"article": "420001", "quantity": 12}],
        "awaiting_outbound_delivery": False, "ordered_by": {"username": "johan", "hsa_id": orders.johan.hsa_id},
        "ordered_at": order.created_at.isoformat(),
    }


def test_an_order_to_a_care_unit_writes_one_order_item_naming_the_unit_by_customer_number(orders):
    order = create_order(orders.maria, OrderInput("order", 10, (LineInput("420001", 5),), unit_id=orders.north.id))
    (item,) = outbox_items()
    assert (item.kind, item.priority, item.subject_ref) == ("order", 20, f"order:{order.id}")
    assert item.data["unit"] == {"customer_number": orders.north.customer_number}
    assert item.data["lines"] == [{"article": "420001", "quantity": 5}] and "patient" not in item.data
    assert item.data["from_warehouse"] == 10 and "to_warehouse" not in item.data


def test_a_prescription_to_a_patient_carries_the_personnummer_and_no_names(orders):
    create_order(orders.karin, OrderInput("prescription", None, (LineInput("310001", 2),), unit_id=orders.north.id,
                                          patient_id=orders.patient.id))
    (item,) = outbox_items()
    assert item.kind == "order" and item.data["order_type"] == "prescription"
    assert item.data["patient"] == {"personnummer": orders.patient.personnummer}
    assert "Öberg" not in item.payload and "Åke" not in item.payload and "Karin" not in item.payload


def test_an_outbound_delivery_is_queued_after_its_order_for_the_same_order(orders):
    order = order_from_own_stock(orders)
    delivery = register_outbound_delivery(orders.maria, order.id)
    registration, queued = outbox_items()
    assert registration.data["awaiting_outbound_delivery"] is True
    assert (queued.kind, queued.state, queued.parent_key) == ("outbound_delivery", PENDING, registration.key)
    assert queued.ordering_key == registration.ordering_key == f"order:{order.id}"
    assert queued.subject_ref == f"outbound_delivery:{delivery.id}" and queued.created_by_id == orders.maria.id
    assert queued.data["order_key"] == registration.key and queued.data["order_ref"] == order.id
    assert queued.data["lines"] == [{"article": "310001", "quantity": 3}] and queued.data["from_warehouse"] == 101
    assert queued.data["unit"] == {"customer_number": orders.eslov.customer_number}
    assert queued.data["delivered_at"] == delivery.delivered_at.isoformat()


def test_an_outbound_delivery_of_an_order_in_conflict_waits_blocked(orders):
    order = order_from_own_stock(orders)
    db.session.execute(update(OutboxItem).values(state=CONFLICT))
    db.session.commit()
    register_outbound_delivery(orders.maria, order.id)
    assert [i.state for i in outbox_items()] == [CONFLICT, BLOCKED]


def test_a_refused_stock_move_saves_neither_the_move_nor_an_outbox_item(orders):
    with pytest.raises(StockShort):
        stock_move(orders, quantity=101)
    assert order_count() == 0 and outbox_items() == []
    assert stock_of(orders.central, orders.drink) == 50


@pytest.fixture
def fail_after_queuing(monkeypatch):
    """Return a switch: from then on the hook queues its item and the process "dies" before the COMMIT."""
    real_enqueue = registration.enqueue

    def enqueue_then_fail(*args, **kwargs):
        real_enqueue(*args, **kwargs)
        raise RuntimeError("killed before COMMIT")

    return lambda: monkeypatch.setattr(registration, "enqueue", enqueue_then_fail)


def test_an_order_and_its_outbox_item_are_one_transaction(orders, fail_after_queuing):
    fail_after_queuing()
    with pytest.raises(RuntimeError):
        stock_move(orders)
    db.session.rollback()  # what the request's teardown does
    assert order_count() == 0 and outbox_items() == []
    assert stock_of(orders.central, orders.pads) == 100 and stock_of(orders.eslov_stock, orders.pads) == 8


def test_an_outbound_delivery_and_its_outbox_item_are_one_transaction(orders, fail_after_queuing):
    order = order_from_own_stock(orders)
    fail_after_queuing()
    with pytest.raises(RuntimeError):
        register_outbound_delivery(orders.maria, order.id)
    db.session.rollback()
    assert [i.kind for i in outbox_items()] == ["order"]
    assert db.session.scalar(select(func.count()).select_from(OutboundDelivery)) == 0
    assert db.session.get(Order, order.id, populate_existing=True).status == ORDER_AWAITING_OUTBOUND
    assert stock_of(orders.eslov_stock, orders.pads) == 8


def test_reserve_captured_orders_and_stock_moves_pass_the_same_validation_as_ours(orders, main_server):
    """Reserve mode's hand-captured payloads (reserve.outbox.outbox_payload) and the hooks' share one shape."""
    from reserve.outbox import outbox_payload
    from reserve.models import ReserveItem

    stock_move(orders)
    ours = outbox_items()[0]
    captured = [outbox_payload(
        ReserveItem(number=90_000_000 + n, kind=kind, channel="phone", captured_at=datetime(2026, 11, 21, 9),
                    incident_id=1, packages=4),
        SimpleNamespace(patient=None, unit=orders.eslov, article=orders.pads, prescriber=None, warehouse_number=101),
        orders.maria) for n, kind in enumerate(("order", "stock_move"))]
    sent = [{"key": ours.key, "kind": ours.kind, "payload": ours.data}] + [
        {"key": random_key(), "kind": kind, "payload": payload} for kind, payload in zip(("order", "stock_move"),
                                                                                          captured)]
    response = requests.post(main_server.url + "/api/v1/batch", json={"site": "test-site", "items": sent}, timeout=10)
    assert [r["status"] for r in response.json()["results"]] == ["created"] * 3, response.json()


def test_orders_stock_moves_and_outbound_deliveries_are_registered_at_the_main_server(sync_app, main_server):
    with sync_app.app_context():
        world = stocked(build_world())
        stock_move(world)
        waiting = order_from_own_stock(world)
        register_outbound_delivery(world.maria, waiting.id)
        create_order(world.karin, OrderInput("prescription", None, (LineInput("310001", 2),), unit_id=world.north.id,
                                             patient_id=world.patient.id))
        db.session.remove()
    drain(sync_app)
    local = items(sync_app)
    assert [(i.kind, i.state) for i in local] == [("stock_move", ACKED), ("order", ACKED),
                                                  ("outbound_delivery", ACKED), ("order", ACKED)]
    assert_exactly_once(sync_app, main_server)
    registered = [r["key"] for r in main_server.registrations()]
    order, delivery = local[1], local[2]
    assert registered.index(order.key) < registered.index(delivery.key)  # the delivery after its order
    record = requests.get(f"{main_server.url}/api/v1/records/{delivery.server_id}", timeout=5).json()
    assert record["kind"] == "outbound_delivery" and record["payload"]["order_key"] == order.key
    assert record["payload"]["lines"] == [{"article": "310001", "quantity": 3}]
