"""The back-registration JSON API: progress, item lists with their trace, review, conflicts, reconciliation."""
from __future__ import annotations

import pytest

from core.auth.roles import Role
from core.extensions import db
from core.store import begin_write
from sync import outbox
from sync.models import OutboxItem
from sync.rules import CANCELLED, CONFLICT, PENDING, RESOLVED, REVIEW
from tests import factories
from tests.conftest import api_token
from tests.client import FreshClient
from tests.service.sync.conftest import incident_with_items, payload_for

API = "/api/v1/sync"


@pytest.fixture
def client(app):
    """Every request with an empty `g`: the `world` fixture holds an app context, and several users take turns."""
    return FreshClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def as_user(client):
    """Return bearer headers for a user (one token each)."""
    tokens: dict[str, dict] = {}

    def headers(username: str) -> dict:
        if username not in tokens:
            tokens[username] = {"Authorization": f"Bearer {api_token(client, username)}"}
        return tokens[username]

    return headers


@pytest.fixture
def captured(world) -> tuple[int, list[OutboxItem]]:
    """An outage incident and what customer service captured by phone under it: three orders, one prescription."""
    return incident_with_items(world)


def in_conflict(problem: str = '{"type": "number_taken", "existing_id": "B1"}') -> OutboxItem:
    begin_write()
    item = outbox.enqueue("order", payload_for("order", 1) | {"form_number": "R00000017"})
    db.session.flush()
    db.session.execute(OutboxItem.__table__.update().where(OutboxItem.id == item.id)
                       .values(state=CONFLICT, conflict_server_id="B1", problem=problem))
    db.session.commit()
    return item


def error_of(response) -> tuple[int, str | None]:  # noqa: ANN001
    return response.status_code, response.get_json()["error"].get("field")


# --- Progress ------------------------------------------------------------------------------------------

def test_progress_gives_counts_rate_and_time_left_and_no_personal_data(client, as_user, world, captured):
    response = client.get(f"{API}/progress", headers=as_user("hanna"))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["backlog"], body["waiting_for_people"], body["active"]) == (0, 4, True)
    assert {"state": "review", "label": "Väntar på granskning", "count": 4} in body["counts"]
    assert {"rate_per_second", "seconds_left", "percent_done", "paused", "data_as_of"} <= set(body)
    assert world["patient"].personnummer not in response.get_data(as_text=True)


def test_progress_is_for_hms_it_and_business_owners_only(client, as_user, world):
    factories.user("boss", roles=(Role.ADMIN,))
    assert client.get(f"{API}/progress", headers=as_user("ivar")).status_code == 200
    assert client.get(f"{API}/progress", headers=as_user("boss")).status_code == 200
    assert client.get(f"{API}/progress", headers=as_user("karin")).status_code == 403
    assert client.get(f"{API}/progress").status_code == 401


# --- Item lists ---------------------------------------------------------------------------------------

def test_items_are_listed_with_who_when_how_and_under_which_incident(client, as_user, world, captured):
    incident_id, made = captured
    response = client.get(f"{API}/items?state=review&kind=order&per_page=5", headers=as_user("hanna"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["total"], body["page"], body["per_page"]) == (3, 1, 5)
    first = body["items"][0]
    assert first["key"] == made[0].key and (first["kind"], first["state"], first["channel"]) == ("order", REVIEW,
                                                                                                "phone")
    assert first["captured_by"] == "Kim Kundservice" and first["captured_at"].endswith(("+01:00", "+02:00"))
    assert first["incident_id"] == incident_id
    assert (first["approved_by"], first["registered_at"], first["server_id"]) == (None, None, None)
    assert "payload" not in first


def test_items_are_paged_and_filters_combine(client, as_user, world, captured):
    headers = as_user("hanna")
    both = client.get(f"{API}/items?state=review,pending&per_page=5&page=2", headers=headers).get_json()
    assert (both["total"], both["page"], len(both["items"])) == (4, 1, 4)  # page 2 of 1 shows the last page
    paged = client.get(f"{API}/items?state=review&state=pending&per_page=5&sort=kind&dir=desc", headers=headers)
    assert [i["kind"] for i in paged.get_json()["items"]] == ["prescription", "order", "order", "order"]
    prescriptions = client.get(f"{API}/items?kind=prescription", headers=headers).get_json()
    assert [i["kind"] for i in prescriptions["items"]] == ["prescription"]
    assert client.get(f"{API}/items?state=acked", headers=headers).get_json()["total"] == 0


@pytest.mark.parametrize(("query", "field"), [("state=lost", "state"), ("state=review,bogus", "state"),
                                              ("kind=invoice", "kind"), ("colour=red", "colour")])
def test_a_bad_list_filter_is_422_naming_the_field(client, as_user, world, query, field):
    assert error_of(client.get(f"{API}/items?{query}", headers=as_user("hanna"))) == (422, field)


def test_the_item_list_is_for_hms_staff(client, as_user, world, captured):
    for username in ("ivar", "karin", "kim", "teo"):
        assert client.get(f"{API}/items", headers=as_user(username)).status_code == 403, username
    assert client.get(f"{API}/items/{captured[1][0].key}", headers=as_user("ivar")).status_code == 403


# --- Review ------------------------------------------------------------------------------------------

def test_hms_staff_approve_an_item_through_the_api_once(client, as_user, world, captured):
    key = captured[1][0].key
    response = client.post(f"{API}/items/{key}/approve", headers=as_user("hanna"), json={"note": "Stämmer"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["state"], body["approved_by"]) == (PENDING, "Hanna Hjälpmedel") and body["approved_at"]
    again = client.post(f"{API}/items/{key}/approve", headers=as_user("hanna"), json={})
    assert again.status_code == 409
    assert client.post(f"{API}/items/no-such-key/approve", headers=as_user("hanna"), json={}).status_code == 404


def test_approving_is_refused_for_roles_that_may_not_approve_the_kind(client, as_user, world, captured):
    key = captured[1][0].key
    assert client.post(f"{API}/items/{key}/approve", headers=as_user("ivar"), json={}).status_code == 403
    assert client.post(f"{API}/items/{key}/approve", headers=as_user("teo"), json={}).status_code == 403
    assert outbox.item_for_key(key).state == REVIEW


def test_cancelling_needs_a_reason_and_names_the_field(client, as_user, world, captured):
    key = captured[1][1].key
    headers = as_user("hanna")
    assert error_of(client.post(f"{API}/items/{key}/cancel", headers=headers, json={})) == (422, "note")
    assert error_of(client.post(f"{API}/items/{key}/cancel", headers=headers, json={"note": " "})) == (422, "note")
    assert error_of(client.post(f"{API}/items/{key}/cancel", headers=headers, json={"note": 7})) == (422, "note")
    assert client.post(f"{API}/items/{key}/cancel", headers=headers, data="note=x").status_code == 415
    assert outbox.item_for_key(key).state == REVIEW
    response = client.post(f"{API}/items/{key}/cancel", headers=headers, json={"note": "Dubblett av samtal 3"})
    assert response.status_code == 200 and response.get_json()["state"] == CANCELLED


# --- Conflicts ---------------------------------------------------------------------------------------

def test_hms_staff_resolve_a_conflict_by_linking_to_the_servers_record(client, as_user, world):
    item = in_conflict()
    response = client.post(f"{API}/conflicts/{item.key}/resolve", headers=as_user("hanna"),
                           json={"resolution": "link", "note": "Samma beställning"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["conflict_key"], body["resolution"]) == (item.key, "link")
    assert (body["item"]["key"], body["item"]["state"], body["item"]["server_id"]) == (item.key, RESOLVED, "B1")
    again = client.post(f"{API}/conflicts/{item.key}/resolve", headers=as_user("hanna"),
                        json={"resolution": "cancel", "note": "x"})
    assert error_of(again) == (409, "resolution")


def test_sending_anew_returns_the_new_item_and_cancelling_withdraws_the_local_one(client, as_user, world):
    first, second = in_conflict(), in_conflict()
    sent = client.post(f"{API}/conflicts/{first.key}/resolve", headers=as_user("hanna"),
                       json={"resolution": "send_as_new", "note": "Blankettnumret var fel"}).get_json()
    assert sent["item"]["key"] != first.key and sent["item"]["state"] == PENDING
    assert sent["item"]["supersedes_key"] == first.key
    cancelled = client.post(f"{API}/conflicts/{second.key}/resolve", headers=as_user("hanna"),
                            json={"resolution": "cancel", "note": "Finns redan"}).get_json()
    assert cancelled["item"]["state"] == CANCELLED and cancelled["item"]["resolution"] == "cancelled_local"


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"resolution": "merge", "note": "x"}, 422, "resolution"),
    ({"resolution": "link"}, 422, "note"),
    ({"resolution": "link", "note": ""}, 422, "note"),
    ({"resolution": "link", "note": "x", "extra": 1}, 422, "extra"),
])
def test_a_bad_resolution_is_refused_naming_the_field(client, as_user, world, body, status, field):
    item = in_conflict()
    assert error_of(client.post(f"{API}/conflicts/{item.key}/resolve", headers=as_user("hanna"), json=body)) == (
        status, field)
    assert outbox.item_for_key(item.key).state == CONFLICT


def test_a_resolution_the_conflict_does_not_allow_names_the_resolution(client, as_user, world):
    item = in_conflict('{"type": "no_active_row", "existing_id": "B1"}')  # sending it again would meet the same
    response = client.post(f"{API}/conflicts/{item.key}/resolve", headers=as_user("hanna"),
                           json={"resolution": "send_as_new", "note": "x"})
    assert error_of(response) == (422, "resolution")


def test_only_hms_staff_resolve_conflicts(client, as_user, world):
    item = in_conflict()
    for username in ("kim", "ivar", "teo"):
        response = client.post(f"{API}/conflicts/{item.key}/resolve", headers=as_user(username),
                               json={"resolution": "link", "note": "x"})
        assert response.status_code == 403, username


# --- Reconciliation ----------------------------------------------------------------------------------

def test_the_reconciliation_balances_and_lists_every_captured_item(client, as_user, world, captured):
    incident_id, made = captured
    client.post(f"{API}/items/{made[0].key}/cancel", headers=as_user("hanna"), json={"note": "Dubblett"})
    response = client.get(f"{API}/reconciliation/{incident_id}", headers=as_user("ivar"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["balance"] == {"captured": 4, "registered": 0, "resolved": 0, "cancelled": 1, "outstanding": 3,
                               "balanced": False}
    assert [line["key"] for line in body["lines"]] == [item.key for item in made]
    assert body["lines"][0]["outcome"] == "cancelled" and body["lines"][1]["difference"]
    assert body["verified"] is False
    assert world["patient"].personnummer not in response.get_data(as_text=True)


def test_the_reconciliation_refuses_bad_input_and_unknown_incidents(client, as_user, world, captured):
    incident_id, _ = captured
    headers = as_user("hanna")
    assert error_of(client.get(f"{API}/reconciliation/{incident_id}?verify=ja", headers=headers)) == (422, "verify")
    assert client.get(f"{API}/reconciliation/999999", headers=headers).status_code == 404
    assert client.get(f"{API}/reconciliation/{incident_id}", headers=as_user("karin")).status_code == 403
