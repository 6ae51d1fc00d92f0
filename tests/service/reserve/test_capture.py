"""Manual capture during the outage: POST /api/v1/reserve/items and the forms; bad input saves nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.auth.roles import Role
from core.extensions import db
from reserve.models import ReserveItem, ReserveNumber
from sync.models import OutboxItem
from sync.outbox import item_for_key
from tests import factories
from tests.conftest import api_token, csrf_token_from, login
from tests.service.reserve.conftest import bearer


def counts() -> tuple[int, int, int]:
    """Items, outbox items and used reserve numbers: what a refused capture must leave as it was."""
    return (db.session.scalar(select(func.count()).select_from(ReserveItem)),
            db.session.scalar(select(func.count()).select_from(OutboxItem)),
            db.session.scalar(select(func.count()).select_from(ReserveNumber).where(ReserveNumber.state == "used")))


def post(client, token, **body):  # noqa: ANN001, ANN201
    return client.post("/api/v1/reserve/items", headers=bearer(token), json=body)


def prescription(world, **changes) -> dict:  # noqa: ANN001
    body = {"kind": "prescription", "channel": "phone", "patient": world["patient"].personnummer,
            "unit": "410215", "article": "200101", "packages": 3, "responsible_prescriber": "anna",
            "note": "Akut, patienten skrivs ut i dag."}
    body.update(changes)
    return body


def stock_move(**changes) -> dict:
    body = {"kind": "stock_move", "channel": "email", "unit": "420107", "article": "200101", "packages": 40}
    body.update(changes)
    return body


def test_an_acute_prescription_is_captured_with_a_reserve_number_and_goes_to_the_outbox_for_review(
        reserve_active, world, client, agent_token):
    response = post(client, agent_token, **prescription(world))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["reserve_number"].startswith("R") and len(body["reserve_number"]) == 9
    assert (body["kind"], body["channel"], body["incident_id"]) == ("prescription", "phone", reserve_active.id)
    assert body["responsible_prescriber"] == "anna" and body["captured_by"] == "maria"
    item = db.session.scalar(select(ReserveItem).where(ReserveItem.number == int(body["reserve_number"][1:])))
    queued = item_for_key(item.outbox_key)
    assert (queued.kind, queued.state, queued.requires_review) == ("prescription", "review", True)
    assert queued.channel == "phone"
    assert queued.incident_id == reserve_active.id and queued.created_by_id == world["agent"].id
    assert queued.data["form_number"] == body["reserve_number"]
    assert queued.data["patient"] == {"personnummer": world["patient"].personnummer}
    assert queued.data["rows"] == [{"ref": body["reserve_number"], "article": "200101", "packages_per_withdrawal": 3,
                                    "withdrawals": 1}]
    assert queued.data["prescriber"] == {"username": "anna", "hsa_id": "SE2321000255-F7K2"}
    number = db.session.get(ReserveNumber, item.number)
    assert number.state == "used"  # taken from the range reserved in advance


@pytest.mark.parametrize(("body", "field"), [
    ({"article": "999999"}, "article"),
    ({"packages": 0}, "packages"),
    ({"packages": 10_000}, "packages"),
    ({"patient": "194103149807"}, "patient"),  # wrong check digit
    ({"patient": "193001019800"}, "patient"),  # valid but not in the local store
    ({"unit": "999999"}, "unit"),
    ({"responsible_prescriber": "maria"}, "responsible_prescriber"),  # not a prescriber
    ({"article": "400303"}, "responsible_prescriber"),  # stomi: Anna is not authorised
    ({"work_order_type": "repair"}, "work_order_type"),
    ({"channel": "email"}, "channel"),
    ({"kind": "lunch"}, "kind"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_saved(reserve_active, world, client, agent_token,
                                                                    body, field):
    before = counts()
    response = post(client, agent_token, **prescription(world, **body))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["field"] == field or field in [e["field"] for e in error.get("errors", [])], error
    assert counts() == before


def test_an_emailed_item_with_personal_data_is_refused_with_a_message_to_phone_it_in(
        reserve_active, world, client, agent_token):
    before = counts()
    response = post(client, agent_token, **stock_move(kind="order", patient=world["patient"].personnummer))
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "patient" and "ringa in" in response.get_json()["error"]["message"]
    response = post(client, agent_token, **stock_move(note=f"Till {world['patient'].personnummer}"))
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "note"
    assert counts() == before
    assert post(client, agent_token, **stock_move()).status_code == 201  # no personal data: fine by e-mail


def test_a_possible_duplicate_is_flagged_at_capture_not_merged(reserve_active, world, client, agent_token):
    first = post(client, agent_token, **prescription(world)).get_json()
    second = post(client, agent_token, **prescription(world, channel="paper", packages=2)).get_json()
    assert second["possible_duplicate_of"] == first["reserve_number"] and second["warnings"]
    assert second["reserve_number"] != first["reserve_number"]
    move = post(client, agent_token, **stock_move()).get_json()
    order = post(client, agent_token, **stock_move(kind="order", channel="phone", packages=5)).get_json()
    assert move["possible_duplicate_of"] is None and order["possible_duplicate_of"] == move["reserve_number"]
    other = post(client, agent_token, **stock_move(kind="order", unit="410215")).get_json()
    assert other["possible_duplicate_of"] is None  # another unit


def test_the_work_queue_shows_stock_moves_first(reserve_active, world, client, agent_token):
    post(client, agent_token, kind="work_order", channel="phone", responsible_prescriber="anna",
         work_order_type="repair", note="Rullstolens broms")
    post(client, agent_token, **prescription(world))
    post(client, agent_token, **stock_move(kind="order", channel="phone", article="300202"))
    post(client, agent_token, **stock_move())
    kinds = [i["kind"] for i in client.get("/api/v1/reserve/items", headers=bearer(agent_token)).get_json()["items"]]
    assert kinds == ["stock_move", "order", "prescription", "work_order"]
    stock_move_key = db.session.scalar(select(ReserveItem.outbox_key).where(ReserveItem.kind == "stock_move"))
    work_order_key = db.session.scalar(select(ReserveItem.outbox_key).where(ReserveItem.kind == "work_order"))
    assert item_for_key(stock_move_key).priority < item_for_key(work_order_key).priority  # sent first too


def test_the_work_order_type_cannot_be_changed_after_capture(reserve_active, world, client, agent_token):
    created = post(client, agent_token, kind="work_order", channel="paper", responsible_prescriber="anna",
                   work_order_type="repair", note="Sängens motor").get_json()
    url = f"/api/v1/reserve/items/{created['reserve_number']}"
    response = client.patch(url, headers=bearer(agent_token), json={"work_order_type": "pickup"})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["field"] == "work_order_type" and "Makulera" in error["message"]
    assert client.get(url, headers=bearer(agent_token)).get_json()["work_order_type"] == "repair"
    cancelled = client.post(url + "/cancel", headers=bearer(agent_token), json={"reason": "Fel typ"}).get_json()
    assert cancelled["status"] == "cancelled"
    item = db.session.scalar(select(ReserveItem).where(ReserveItem.number == int(created["reserve_number"][1:])))
    assert item_for_key(item.outbox_key).state == "cancelled"  # never sent


def test_capture_needs_the_reserve_routine_or_a_runbook_that_permits_it(outage, world, client, agent_token):
    before = counts()
    response = post(client, agent_token, **prescription(world))
    assert response.status_code == 409 and response.get_json()["error"]["field"] == "kind"
    assert "Reservrutinen gäller inte" in response.get_json()["error"]["message"]
    assert counts() == before
    # Seed 004: stock moves go first; the outage runbook lets HMS capture them before the four hours.
    hms = api_token(client, "johan")
    assert post(client, hms, **stock_move()).status_code == 201
    assert post(client, hms, **prescription(world)).status_code == 409


def test_no_capture_without_any_outage(ctx, world, client, agent_token):
    response = post(client, agent_token, **stock_move())
    assert response.status_code == 409 and "ingen driftstörning" in response.get_json()["error"]["message"]


def test_only_customer_service_and_hms_capture(reserve_active, world, client):
    assert post(client, api_token(client, "anna"), **stock_move()).status_code == 403
    assert post(client, api_token(client, "sara"), **stock_move()).status_code == 403


def test_a_paper_form_keeps_its_preprinted_number_once(reserve_active, world, client, agent_token):
    from reserve import numbers

    db.session.rollback()
    from core.store import begin_write
    from core.clock import utcnow

    begin_write()
    (printed,) = numbers.print_numbers(1, utcnow())
    db.session.commit()
    text = f"R{printed:08d}"
    first = post(client, agent_token, **stock_move(channel="paper", reserve_number=text))
    assert first.status_code == 201 and first.get_json()["reserve_number"] == text
    again = post(client, agent_token, **stock_move(channel="paper", reserve_number=text, article="300202"))
    assert again.status_code == 422 and again.get_json()["error"]["field"] == "reserve_number"
    unknown = post(client, agent_token, **stock_move(channel="paper", reserve_number="R99999999"))
    assert unknown.status_code == 422 and "utskriven blankett" in unknown.get_json()["error"]["message"]


def test_the_capture_form_shows_errors_by_field_and_saves_on_success(reserve_active, world, client):
    login(client, "maria")
    page = client.get("/reserv/registrera/forskrivning")
    assert page.status_code == 200 and "Registrera förskrivning" in page.get_data(as_text=True)
    data = {"csrf_token": csrf_token_from(page.get_data(as_text=True)), "channel": "phone",
            "patient": world["patient"].personnummer, "unit": "410215", "article": "200101", "packages": "0",
            "responsible_prescriber": "anna", "note": ""}
    refused = client.post("/reserv/registrera/forskrivning", data=data)
    assert refused.status_code == 422 and "Antal förpackningar ska vara 1–999" in refused.get_data(as_text=True)
    data["packages"] = "3"
    saved = client.post("/reserv/registrera/forskrivning", data=data)
    assert saved.status_code == 302 and "/reserv/arenden/R" in saved.headers["Location"]
    item_page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Förskrivning R" in item_page and "Anna Lindström" in item_page and "Telefon" in item_page


def test_a_wrong_item_is_cancelled_and_captured_again_from_its_page(reserve_active, world, client, agent_token):
    created = post(client, agent_token, kind="work_order", channel="phone", responsible_prescriber="anna",
                   work_order_type="repair", note="Lyftens batteri").get_json()
    login(client, "maria")
    page = client.get(f"/reserv/arenden/{created['reserve_number']}").get_data(as_text=True)
    answer = client.post(f"/reserv/arenden/{created['reserve_number']}/makulera", data={
        "csrf_token": csrf_token_from(page), "reason": "Fel arbetsordertyp", "recapture": "1"})
    assert answer.status_code == 302 and f"ersatter={created['reserve_number']}" in answer.headers["Location"]
    form = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Lyftens batteri" in form and f"Ersätter makulerat ärende {created['reserve_number']}" in form


def test_a_technician_sees_the_queue_but_cannot_capture(reserve_active, world, client):
    factories.user("tek", roles=(Role.TECHNICIAN,))
    login(client, "tek")
    assert client.get("/reserv/arenden").status_code == 200
    assert client.get("/reserv/registrera/lagerflytt").status_code == 403
