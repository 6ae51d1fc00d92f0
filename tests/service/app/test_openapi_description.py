"""The OpenAPI description tells the truth about shapes, parameters and error codes."""
from __future__ import annotations

from core.api.docs import build_spec
from core.api.types import as_utc
from tests import factories
from tests.conftest import api_token


def _component(spec: dict, ref: dict) -> dict:
    return spec["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def _ok_schema(spec: dict, path: str) -> dict:
    return _component(spec, spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"])


def test_models_of_the_same_name_in_two_packages_keep_their_own_shapes(app):
    spec = build_spec(app)
    sync_item = _ok_schema(spec, "/api/v1/sync/items/{key}")
    reserve_item = _ok_schema(spec, "/api/v1/reserve/items/{number}")
    assert "key" in sync_item["properties"] and "reserve_number" not in sync_item["properties"]
    assert "reserve_number" in reserve_item["properties"] and "key" not in reserve_item["properties"]


def test_query_parameters_are_described(app):
    spec = build_spec(app)
    names = {p["name"] for p in spec["paths"]["/api/v1/patients"]["get"]["parameters"] if p["in"] == "query"}
    assert {"q", "article", "rows", "sort", "dir", "page", "per_page"} <= names
    withdrawals = {p["name"]: p for p in spec["paths"]["/api/v1/withdrawals"]["get"]["parameters"]}
    assert withdrawals["status"]["schema"]["enum"] == ["new", "sent", "delivered", "aborted"]
    assert "from" in withdrawals and "422" in spec["paths"]["/api/v1/withdrawals"]["get"]["responses"]


def test_every_operation_with_a_body_documents_415_and_ids_are_bounded_integers(app):
    spec = build_spec(app)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert "415" in operation["responses"], (method, path)
    patient_id = spec["paths"]["/api/v1/patients/{patient_id}"]["get"]["parameters"][0]["schema"]
    assert patient_id == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}


def test_a_json_body_sent_as_another_type_is_415(client):
    factories.user("karin")
    headers = {"Authorization": f"Bearer {api_token(client, 'karin')}", "Content-Type": "text/plain"}
    response = client.post("/api/v1/quantity", headers=headers, data="{}")
    assert response.status_code == 415
    assert response.get_json()["error"]["field"] == "body"


def test_stored_moments_leave_the_api_with_their_time_zone(client):
    from datetime import datetime

    assert as_utc(datetime(2026, 11, 2, 9, 0)).isoformat() == "2026-11-02T09:00:00+00:00"
    factories.user("karin")
    body = client.post("/api/v1/tokens", json={"username": "karin", "password": factories.PASSWORD}).get_json()
    assert body["expires_at"].endswith("Z")
