"""Order types of seed 002 through the API and the browser; stock never goes negative."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.models import AccessLogEntry
from app.withdrawals.models import Order, OutboundDelivery, StockLevel
from tests import factories
from tests.conftest import csrf_token_from, login
from tests.service.withdrawals.conftest import bearer, scalar, set_stock, stock_of, journal_moved


@pytest.fixture
def stocked(world):
    """Warehouse 10 holds 100 pads and 50 drinks; Eslöv's own stock 8 pads; Höör's 5 pads."""
    set_stock(world.central, world.pads, 100)
    set_stock(world.central, world.drink, 50)
    set_stock(world.eslov_stock, world.pads, 8)
    set_stock(world.hoor_stock, world.pads, 5)
    return world


def post_order(client, username, **body):
    body.setdefault("lines", [{"article_number": "310001", "quantity": 3}])
    return client.post("/api/v1/orders", headers=bearer(client, username), json=body)


def orders_count() -> int:
    return scalar(select(func.count()).select_from(Order))


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.get_json()["error"]["field"]


# ---------------------------------------------------------------- lagerflytt


def test_a_stock_move_takes_from_warehouse_10_and_fills_the_municipal_stock(client, stocked):
    response = post_order(client, "erik", type="stock_move", to_warehouse=101,
                          lines=[{"article_number": "310001", "quantity": 30},
                                 {"article_number": "420001", "quantity": 12}])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "complete" and body["from_warehouse"] == 10 and body["to_warehouse"] == 101
    assert stock_of(stocked.central, stocked.pads) == 70 and stock_of(stocked.eslov_stock, stocked.pads) == 38
    assert stock_of(stocked.central, stocked.drink) == 38
    assert stock_of(stocked.eslov_stock, stocked.drink) == 12  # a stock level created on first arrival


def test_a_stock_move_from_another_warehouse_than_10_is_refused_and_nothing_moves(client, stocked):
    response = post_order(client, "johan", type="stock_move", from_warehouse=102, to_warehouse=101)
    assert error_of(response) == (422, "from_warehouse")
    assert "alltid från lager 10" in response.get_json()["error"]["message"]
    assert orders_count() == 0 and stock_of(stocked.hoor_stock, stocked.pads) == 5


def test_a_stock_move_that_would_make_a_level_negative_moves_nothing(client, stocked):
    response = post_order(client, "johan", type="stock_move", to_warehouse=101,
                          lines=[{"article_number": "420001", "quantity": 10},
                                 {"article_number": "310001", "quantity": 101}])
    assert error_of(response) == (409, "lines[1].quantity")
    assert "Lager 10 har 100 st av artikel 310001" in response.get_json()["error"]["message"]
    assert orders_count() == 0
    assert stock_of(stocked.central, stocked.drink) == 50 and stock_of(stocked.eslov_stock, stocked.drink) is None


def test_customer_service_cannot_move_stock(client, stocked):
    assert post_order(client, "maria", type="stock_move", to_warehouse=101).status_code == 403


# ---------------------------------------------------------------- beställning


def test_an_order_from_own_stock_waits_for_its_outbound_delivery(client, stocked):
    created = post_order(client, "maria", type="order", unit_id=stocked.eslov.id, from_warehouse=101)
    assert created.status_code == 201 and created.get_json()["status"] == "awaiting_outbound"
    order_id = created.get_json()["id"]
    assert stock_of(stocked.eslov_stock, stocked.pads) == 8  # not yet out of the stock
    missing = client.get("/api/v1/orders?missing_outbound_delivery=true", headers=bearer(client, "johan"))
    assert [o["id"] for o in missing.get_json()["orders"]] == [order_id]

    delivered = client.post(f"/api/v1/orders/{order_id}/outbound-delivery", headers=bearer(client, "johan"))
    assert delivered.status_code == 201 and delivered.get_json()["status"] == "complete"
    assert stock_of(stocked.eslov_stock, stocked.pads) == 5
    again = client.post(f"/api/v1/orders/{order_id}/outbound-delivery", headers=bearer(client, "johan"))
    assert again.status_code == 409 and "redan en utleverans" in again.get_json()["error"]["message"]
    assert stock_of(stocked.eslov_stock, stocked.pads) == 5
    missing = client.get("/api/v1/orders?missing_outbound_delivery=true", headers=bearer(client, "johan"))
    assert missing.get_json()["orders"] == []


def test_an_order_from_warehouse_10_is_complete_at_once_and_needs_no_outbound_delivery(client, stocked):
    created = post_order(client, "johan", type="order", unit_id=stocked.north.id, from_warehouse=10)
    assert created.get_json()["status"] == "complete" and stock_of(stocked.central, stocked.pads) == 97
    refused = client.post(f"/api/v1/orders/{created.get_json()['id']}/outbound-delivery",
                          headers=bearer(client, "johan"))
    assert refused.status_code == 409 and "behöver ingen utleverans" in refused.get_json()["error"]["message"]
    assert scalar(select(func.count()).select_from(OutboundDelivery)) == 0


def test_an_order_typed_as_bestallning_to_a_patient_is_refused_and_nothing_saved(client, stocked):
    response = post_order(client, "maria", type="order", unit_id=stocked.north.id, from_warehouse=10,
                          patient_id=stocked.patient.id)
    assert error_of(response) == (422, "patient_id")
    assert "aldrig till en patient" in response.get_json()["error"]["message"]
    assert orders_count() == 0 and stock_of(stocked.central, stocked.pads) == 100


def test_an_order_from_another_units_stock_is_refused(client, stocked):
    response = post_order(client, "maria", type="order", unit_id=stocked.eslov.id, from_warehouse=102)
    assert error_of(response) == (422, "from_warehouse")


def test_an_order_from_own_stock_larger_than_the_stock_is_refused_at_once(client, stocked):
    response = post_order(client, "maria", type="order", unit_id=stocked.eslov.id, from_warehouse=101,
                          lines=[{"article_number": "310001", "quantity": 9}])
    assert error_of(response) == (409, "lines[0].quantity") and orders_count() == 0


def test_an_outbound_delivery_the_stock_can_no_longer_cover_is_refused_and_the_order_keeps_waiting(client, stocked):
    order_id = post_order(client, "maria", type="order", unit_id=stocked.eslov.id, from_warehouse=101,
                          lines=[{"article_number": "310001", "quantity": 6}]).get_json()["id"]
    second = post_order(client, "maria", type="order", unit_id=stocked.eslov.id, from_warehouse=101,
                        lines=[{"article_number": "310001", "quantity": 6}]).get_json()["id"]
    assert client.post(f"/api/v1/orders/{order_id}/outbound-delivery",
                       headers=bearer(client, "maria")).status_code == 201
    short = client.post(f"/api/v1/orders/{second}/outbound-delivery", headers=bearer(client, "maria"))
    assert error_of(short) == (409, "lines[0].quantity")
    assert stock_of(stocked.eslov_stock, stocked.pads) == 2
    assert scalar(select(Order.status).where(Order.id == second)) == "awaiting_outbound"


@pytest.mark.parametrize(("body", "field"), [
    ({"type": "gift"}, "type"),
    ({"type": "order", "unit_id": 1, "from_warehouse": 77}, "from_warehouse"),
    ({"type": "order", "from_warehouse": 10}, "unit_id"),
    ({"type": "order", "unit_id": 1, "from_warehouse": 10, "lines": [{"article_number": "999", "quantity": 1}]},
     "lines[0].article_number"),
    ({"type": "order", "unit_id": 1, "from_warehouse": 10, "lines": [{"article_number": "310001", "quantity": 0}]},
     "lines.0.quantity"),
    ({"type": "order", "unit_id": 1, "from_warehouse": 10, "lines": []}, "lines"),
    ({"type": "order", "unit_id": 1, "from_warehouse": 10, "pallet": True}, "pallet"),
])
def test_bad_orders_name_the_field_and_save_nothing(client, stocked, body, field):
    response = post_order(client, "maria", **body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["field"] == field
    assert orders_count() == 0


# ---------------------------------------------------------------- förskrivning, direktförskrivning


def test_a_prescription_to_a_patient_comes_from_warehouse_10_and_is_logged(client, stocked):
    response = post_order(client, "karin", type="prescription", unit_id=stocked.north.id,
                          patient_id=stocked.patient.id)
    assert response.status_code == 201 and response.get_json()["from_warehouse"] == 10
    assert stock_of(stocked.central, stocked.pads) == 97
    journal_moved()
    assert scalar(select(AccessLogEntry).where(AccessLogEntry.patient_id == stocked.patient.id,
                                               AccessLogEntry.context == "orders.create.prescription"))


def test_only_prescribers_prescribe_to_patients(client, stocked):
    for kind in ("prescription", "direct_prescription"):
        response = post_order(client, "maria", type=kind, unit_id=stocked.north.id, patient_id=stocked.patient.id)
        assert error_of(response) == (403, "type")
    assert orders_count() == 0


def test_a_prescription_needs_a_patient_and_a_unit_of_the_prescriber(client, stocked):
    assert error_of(post_order(client, "karin", type="prescription", unit_id=stocked.north.id)) == (422, "patient_id")
    foreign = post_order(client, "karin", type="prescription", unit_id=stocked.south.id,
                         patient_id=stocked.patient.id)
    assert error_of(foreign) == (403, "unit_id")


def test_a_direct_prescription_from_own_stock_is_delivered_by_its_prescriber(client, stocked):
    created = post_order(client, "karin", type="direct_prescription", unit_id=stocked.eslov.id, from_warehouse=101,
                         patient_id=stocked.patient.id, lines=[{"article_number": "310001", "quantity": 2}])
    assert created.status_code == 201 and created.get_json()["status"] == "awaiting_outbound"
    order_id = created.get_json()["id"]
    assert client.post(f"/api/v1/orders/{order_id}/outbound-delivery",
                       headers=bearer(client, "olle")).status_code == 403  # neither creator nor staff
    assert client.post(f"/api/v1/orders/{order_id}/outbound-delivery",
                       headers=bearer(client, "karin")).status_code == 201
    assert stock_of(stocked.eslov_stock, stocked.pads) == 6


def test_a_direct_prescription_must_leave_the_units_own_stock(client, stocked):
    central = post_order(client, "karin", type="direct_prescription", unit_id=stocked.eslov.id, from_warehouse=10,
                         patient_id=stocked.patient.id)
    assert error_of(central) == (422, "from_warehouse")
    foreign = post_order(client, "olle", type="direct_prescription", unit_id=stocked.south.id, from_warehouse=101,
                         patient_id=stocked.patient.id)
    assert error_of(foreign) == (422, "from_warehouse")


def test_a_prescriber_lists_only_orders_of_their_units_or_their_own(client, stocked):
    post_order(client, "maria", type="order", unit_id=stocked.south.id, from_warehouse=10)
    mine = post_order(client, "maria", type="order", unit_id=stocked.north.id, from_warehouse=10).get_json()["id"]
    listed = client.get("/api/v1/orders", headers=bearer(client, "karin")).get_json()["orders"]
    assert [o["id"] for o in listed] == [mine]
    assert len(client.get("/api/v1/orders", headers=bearer(client, "johan")).get_json()["orders"]) == 2


def test_stock_levels_are_listed_per_warehouse(client, stocked):
    body = client.get("/api/v1/stock-levels?warehouse=101", headers=bearer(client, "maria")).get_json()
    assert body["stock_levels"] == [{"article_number": "310001", "article_name": "Inkontinensskydd Maxi",
                                     "quantity": 8}]
    assert client.get("/api/v1/stock-levels?warehouse=999", headers=bearer(client, "maria")).status_code == 404
    assert error_of(client.get("/api/v1/stock-levels?lager=10", headers=bearer(client, "maria"))) == (422, "lager")


def test_the_database_itself_refuses_a_negative_stock_level(app, stocked):
    with app.app_context():
        with pytest.raises(IntegrityError):
            db.session.execute(update(StockLevel).values(quantity=StockLevel.quantity - 1000))
            db.session.flush()
        db.session.rollback()


# ---------------------------------------------------------------- in the browser


def form_post(client, path, **data):
    token = csrf_token_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def test_a_stock_move_in_the_browser(client, stocked):
    login(client, "johan")
    html = client.get("/order/ny/lagerflytt").get_data(as_text=True)
    assert "Ny lagerflytt" in html and "alltid från lager 10" in html
    response = form_post(client, "/order/ny/lagerflytt", from_warehouse="10", to_warehouse="101",
                         **{"lines-0-article_number": "310001", "lines-0-quantity": "20"})
    assert response.status_code == 303
    assert "Lagerflytt" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert stock_of(stocked.eslov_stock, stocked.pads) == 28
    saldo = client.get("/order/lager?lager=101").get_data(as_text=True)
    assert "Inkontinensskydd Maxi" in saldo and "<td>28</td>" in saldo


def test_an_order_form_shows_each_error_at_its_field(client, stocked):
    login(client, "maria")
    response = form_post(client, "/order/ny/bestallning", from_warehouse="102", unit=str(stocked.eslov.id),
                         **{"lines-0-article_number": "310001", "lines-0-quantity": "2",
                            "lines-2-article_number": "999999", "lines-2-quantity": "1"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Artikeln finns inte." in html and orders_count() == 0


def test_a_bestallning_posted_with_a_patient_is_refused_in_the_browser_too(client, stocked):
    login(client, "maria")
    response = form_post(client, "/order/ny/bestallning", from_warehouse="10", unit=str(stocked.north.id),
                         patient=stocked.patient.personnummer,
                         **{"lines-0-article_number": "310001", "lines-0-quantity": "2"})
    assert response.status_code == 422 and "aldrig till en patient" in response.get_data(as_text=True)
    assert orders_count() == 0


def test_the_missing_outbound_list_and_the_utleverans_button(client, stocked):
    login(client, "maria")
    response = form_post(client, "/order/ny/bestallning", from_warehouse="101", unit=str(stocked.eslov.id),
                         **{"lines-0-article_number": "310001", "lines-0-quantity": "2"})
    order_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "glöm inte att skapa utleverans" in order_page and "Skapa utleverans" in order_page
    order_id = int(response.headers["Location"].rsplit("/", 1)[1])
    listing = client.get("/order/?saknar_utleverans=1").get_data(as_text=True)
    assert "Ordrar där utleverans saknas" in listing and f'href="/order/{order_id}"' in listing
    token = csrf_token_from(order_page)
    done = client.post(f"/order/{order_id}/utleverans", data={"csrf_token": token})
    assert "Utleverans är registrerad" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert f'href="/order/{order_id}"' not in client.get("/order/?saknar_utleverans=1").get_data(as_text=True)
    assert stock_of(stocked.eslov_stock, stocked.pads) == 6


def test_a_prescription_form_finds_the_patient_by_personnummer(client, stocked):
    login(client, "karin")
    unknown = form_post(client, "/order/ny/forskrivning", from_warehouse="10", unit=str(stocked.north.id),
                        patient=factories.make_personnummer(1960, 2, 2),
                        **{"lines-0-article_number": "310001", "lines-0-quantity": "1"})
    assert unknown.status_code == 422 and "Ingen patient med det personnumret" in unknown.get_data(as_text=True)
    done = form_post(client, "/order/ny/forskrivning", from_warehouse="10", unit=str(stocked.north.id),
                     patient=stocked.patient.personnummer,
                     **{"lines-0-article_number": "310001", "lines-0-quantity": "1"})
    assert done.status_code == 303
    assert "Åke Öberg" in client.get(done.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize(("username", "slug"), [("maria", "lagerflytt"), ("maria", "forskrivning"),
                                                ("karin", "bestallning"), ("erik", "direktforskrivning")])
def test_order_forms_are_403_for_roles_without_the_right(client, stocked, username, slug):
    login(client, username)
    assert client.get(f"/order/ny/{slug}").status_code == 403
