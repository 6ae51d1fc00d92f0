"""The reference main server's contract, over HTTP, against the real process."""
from __future__ import annotations

import threading

import pytest
import requests

from tests.service.sync.conftest import ReferenceServer, payload_for, random_key

SITE = "test-site"


def post(server: ReferenceServer, path: str, body: dict, timeout: float = 10) -> requests.Response:
    return requests.post(server.url + path, json=body, timeout=timeout)


def batch(server: ReferenceServer, *items: dict, site: str = SITE) -> list[dict]:
    response = post(server, "/api/v1/batch", {"site": site, "items": list(items)})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def item(kind: str, n: int, key: str | None = None, **changes) -> dict:
    return {"key": key or random_key(), "kind": kind, "payload": {**payload_for(kind, n), **changes}}


def test_health_answers_200(main_server):
    assert requests.get(main_server.url + "/health", timeout=5).json() == {"status": "ok"}


def test_one_result_per_item_in_order_with_created_duplicate_and_key_reused(main_server):
    first = item("stock_move", 1)
    results = batch(main_server, first, item("work_order", 2))
    assert [r["status"] for r in results] == ["created", "created"]
    assert [r["key"] for r in results][0] == first["key"] and results[0]["id"].startswith("L")
    again = batch(main_server, {**first, "payload": dict(reversed(list(first["payload"].items())))})
    assert again == [{"key": first["key"], "status": "duplicate", "id": results[0]["id"], "problem": None}]
    reused = batch(main_server, {**first, "payload": payload_for("stock_move", 99)})
    assert reused[0]["status"] == "key_reused" and reused[0]["problem"]["type"] == "key_reused"
    assert main_server.record_count() == 2


def test_deduplication_is_permanent_across_a_restart(main_server):
    first = item("order", 1)
    (created,) = batch(main_server, first)
    main_server.stop()
    main_server.start()
    assert batch(main_server, first)[0] == {**created, "status": "duplicate"}


def test_the_same_key_under_another_site_is_another_registration(main_server):
    first = item("order", 1)
    one = batch(main_server, first, site="region-a")[0]
    other = batch(main_server, first, site="region-b")[0]
    assert one["status"] == other["status"] == "created" and one["id"] != other["id"]


def test_an_active_row_for_the_patient_and_article_is_a_conflict_naming_the_servers_record(main_server):
    (created,) = batch(main_server, item("prescription", 5))
    conflicting = item("prescription", 5, number=999999999)
    (result,) = batch(main_server, conflicting)
    assert result["status"] == "conflict" and result["id"] is None
    problem = result["problem"]
    assert problem["type"] == "active_row_exists" and problem["existing_id"] == created["id"]
    assert problem["rows"] == [{"id": f"{created['id']}-1", "prescription_id": created["id"], "article": "A0000005"}]
    assert problem["existing"]["payload"]["rows"][0]["article"] == "A0000005"
    assert batch(main_server, conflicting)[0] == result  # the original answer, again


def test_sending_anew_with_replaces_closes_the_servers_row_and_registers(main_server):
    (created,) = batch(main_server, item("prescription", 5))
    (result,) = batch(main_server, item("prescription", 5, replaces=[f"{created['id']}-1"]))
    assert result["status"] == "created"
    assert requests.get(main_server.url + "/admin/stats", timeout=5).json()["active_prescription_rows"] == 1


def test_a_cancellation_closes_the_row_and_a_second_one_conflicts(main_server):
    prescription = item("prescription", 7)
    batch(main_server, prescription)
    cancel = item("prescription_cancel", 7, prescription_key=prescription["key"])
    assert batch(main_server, cancel)[0]["status"] == "created"
    second = batch(main_server, item("prescription_cancel", 7))[0]
    assert second["status"] == "conflict" and second["problem"]["type"] == "already_closed"
    unknown = batch(main_server, item("prescription_cancel", 8))[0]
    assert unknown["problem"]["type"] == "unknown_record"


def test_withdrawals_need_an_active_row_with_withdrawals_left_and_a_free_u_number(main_server):
    batch(main_server, item("prescription", 3))
    (first,) = batch(main_server, item("withdrawal", 3))
    assert first["status"] == "created"
    taken = batch(main_server, item("withdrawal", 3))[0]
    assert taken["problem"]["type"] == "number_taken"
    no_row = batch(main_server, item("withdrawal", 4))[0]
    assert no_row["problem"]["type"] == "no_active_row"


@pytest.mark.parametrize(("kind", "payload", "field"), [
    ("prescription", {"rows": [{"article": "1", "packages_per_withdrawal": 1}]}, "patient"),
    ("prescription", {"patient": {"personnummer": "1950"}, "rows": []}, "patient.personnummer"),
    ("prescription", {"patient": {"personnummer": "195001011234"}, "rows": [{"article": "1"}]},
     "packages_per_withdrawal"),
    ("order", {"lines": [{"article": "1", "quantity": 0}]}, "lines[0].quantity"),
    ("stock_move", {"lines": [{"article": "1", "quantity": 1}]}, "to_warehouse"),
    ("stock_move", {"lines": [{"article": "1", "quantity": 1}], "to_warehouse": "kommunlagret"}, "to_warehouse"),
    ("order", {"lines": [{"article": "1", "quantity": 1}], "from_warehouse": True}, "from_warehouse"),
    ("order", {"lines": [{"article": "1", "quantity": 1}], "unit": {"name": "VC Norr"}}, "unit.customer_number"),
    ("order", {"lines": [{"article": "1", "quantity": 1}], "patient": {"personnummer": "19380412"}},
     "patient.personnummer"),
    ("outbound_delivery", {"lines": [{"article": "1", "quantity": 1}, {"article": "1", "quantity": 2}]}, "lines"),
    ("outbound_delivery", {"lines": [{"quantity": 1}]}, "lines[0].article"),
    ("work_order", {"description": ""}, "description"),
    ("withdrawal", {"u_number": "U12", "patient": {"personnummer": "195001011234"}, "article": "1"}, "u_number"),
])
def test_invalid_payloads_name_the_field_and_are_not_remembered(main_server, kind, payload, field):
    key = random_key()
    (result,) = batch(main_server, {"key": key, "kind": kind, "payload": payload})
    assert result["status"] == "invalid" and result["problem"]["field"] == field
    assert key not in main_server.created() and not main_server.registrations()


def test_unknown_kinds_and_malformed_items_are_invalid_one_by_one(main_server):
    good = item("work_order", 1)
    results = batch(main_server, {"key": random_key(), "kind": "invoice", "payload": {}}, "nonsense", good)
    assert [r["status"] for r in results] == ["invalid", "invalid", "created"]


def test_a_reserved_form_number_is_registered_once(main_server):
    batch(main_server, item("work_order", 1, form_number="AO-1001"))
    (again,) = batch(main_server, item("work_order", 2, form_number="AO-1001"))
    assert again["status"] == "conflict" and again["problem"]["type"] == "number_taken"


def test_have_lists_the_keys_registered_for_the_site_but_not_conflicts(main_server):
    order, prescription, conflicting = item("order", 1), item("prescription", 2), item("prescription", 2)
    batch(main_server, order, prescription, conflicting)
    keys = [order["key"], prescription["key"], conflicting["key"], random_key()]
    known = post(main_server, "/api/v1/have", {"site": SITE, "keys": keys}).json()["known"]
    assert set(known) == {order["key"], prescription["key"]}
    assert post(main_server, "/api/v1/have", {"site": "other", "keys": keys}).json()["known"] == {}


def test_a_key_being_worked_on_is_answered_in_progress(main_server):
    main_server.faults(commit_delay_ms=400)
    same = item("order", 1)
    results: list = []

    def send() -> None:
        results.append(batch(main_server, same)[0]["status"])

    threads = [threading.Thread(target=send) for _ in range(2)]
    threads[0].start()
    threading.Event().wait(0.15)
    threads[1].start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == ["created", "in_progress"]


def test_commit_then_drop_registers_but_never_answers(main_server):
    main_server.faults(drop_after_commit_next=1)
    dropped = item("order", 1)
    with pytest.raises(requests.ConnectionError):
        post(main_server, "/api/v1/batch", {"site": SITE, "items": [dropped]})
    assert dropped["key"] in main_server.created()
    assert batch(main_server, dropped)[0]["status"] == "duplicate"


def test_down_answers_503_everywhere_but_administration(main_server):
    main_server.faults(down=True)
    assert requests.get(main_server.url + "/health", timeout=5).status_code == 503
    assert post(main_server, "/api/v1/batch", {"site": SITE, "items": [item("order", 1)]}).status_code == 503
    assert main_server.faults(down=False)["down"] is False
    assert requests.get(main_server.url + "/health", timeout=5).status_code == 200


def test_a_bad_request_is_refused_as_a_whole(main_server):
    assert post(main_server, "/api/v1/batch", {"items": []}).status_code == 400
    assert post(main_server, "/api/v1/batch", {"site": SITE, "items": [item("order", n) for n in range(501)]}
                ).status_code == 400
    response = requests.post(main_server.url + "/api/v1/batch", data=b"{not json", timeout=5)
    assert response.status_code == 400 and response.json()["error"]["status"] == 400


def test_the_changes_feed_pages_from_a_cursor(main_server):
    main_server.admin("POST", "/admin/master", {
        "articles": [{"number": f"9{n:05d}", "name": f"Artikel {n}", "package_size": 10, "unit_price": "12.50",
                      "product_area": "inkontinens"} for n in range(5)],
        "patients": [{"personnummer": "195001011234", "first_name": "Åke", "last_name": "Öberg"}]})
    first = requests.get(main_server.url + "/api/v1/changes?since=0&limit=4", timeout=5).json()
    assert len(first["articles"]) == 4 and first["more"] is True
    rest = requests.get(main_server.url + f"/api/v1/changes?since={first['cursor']}&limit=4", timeout=5).json()
    assert len(rest["articles"]) == 1 and rest["patients"][0]["first_name"] == "Åke" and rest["more"] is False
    batch(main_server, item("prescription", 3), item("withdrawal", 3))
    u_number = payload_for("withdrawal", 3)["u_number"]
    main_server.admin("POST", f"/admin/withdrawals/{u_number}", {"status": "delivered"})
    last = requests.get(main_server.url + f"/api/v1/changes?since={rest['cursor']}", timeout=5).json()
    assert [(w["u_number"], w["status"]) for w in last["withdrawals"]] == [(u_number, "delivered")]


def test_a_record_can_be_read_back_and_an_unknown_one_is_404(main_server):
    (created,) = batch(main_server, item("order", 1))
    record = requests.get(main_server.url + f"/api/v1/records/{created['id']}", timeout=5).json()
    assert record["kind"] == "order" and record["payload"]["lines"][0]["article"] == "A0000001"
    assert requests.get(main_server.url + "/api/v1/records/B99999999", timeout=5).status_code == 404


def test_a_bearer_token_is_required_when_configured(tmp_path):
    server = ReferenceServer(tmp_path, "guarded").start("--token", "s3cret")
    try:
        body = {"site": SITE, "items": [item("order", 1)]}
        assert requests.post(server.url + "/api/v1/batch", json=body, timeout=5).status_code == 401
        ok = requests.post(server.url + "/api/v1/batch", json=body, timeout=5,
                           headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert requests.get(server.url + "/health", timeout=5).status_code == 200
    finally:
        server.stop()
