"""Ids too large for the store are a 404 (path) or a 422 naming the field (query, body), never a 500."""
from __future__ import annotations

import pytest

from core.auth.roles import Role
from tests import factories
from tests.conftest import api_token, csrf_token_from, login

HUGE = (2**63, 10**20)


def _id_routes(app):
    for rule in app.url_map.iter_rules():
        if not rule.arguments or "filename" in rule.arguments:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


def _path(rule, value: int) -> str:
    path = rule.rule
    for name in rule.arguments:
        path = path.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
    return path


@pytest.fixture
def everyone(app):
    """A user holding every role, so no route stops at the permission check."""
    return factories.user("alla", roles=tuple(Role))


def test_every_route_with_an_id_answers_huge_ids_without_a_500(app, client, everyone):
    login(client, "alla")
    csrf = csrf_token_from(client.get("/min-sida/meddelanden/nytt").get_data(as_text=True))
    headers = {"Authorization": f"Bearer {api_token(client, 'alla')}"}
    checked = 0
    for rule, method in _id_routes(app):
        for value in HUGE:
            path = _path(rule, value)
            if path.startswith("/api/"):
                response = client.open(path, method=method, headers=headers, json={})
            else:
                response = client.open(path, method=method, data={"csrf_token": csrf})
            assert response.status_code != 500, (method, path)
            if "<int:" in rule.rule:
                assert response.status_code == 404, (method, path, response.status_code)
            checked += 1
    assert checked >= 100


def test_int_converter_is_bounded_for_every_rule(app):
    from core.web.bounds import IdConverter

    int_rules = [rule for rule in app.url_map.iter_rules() if "<int:" in rule.rule]
    assert int_rules
    for rule in int_rules:
        assert all(isinstance(c, IdConverter) for name, c in rule._converters.items()  # noqa: SLF001
                   if f"<int:{name}>" in rule.rule), rule.rule


@pytest.mark.parametrize("value", HUGE)
def test_huge_patient_id_in_the_api_path_is_404(client, everyone, value):
    headers = {"Authorization": f"Bearer {api_token(client, 'alla')}"}
    response = client.get(f"/api/v1/patients/{value}", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["status"] == 404


@pytest.mark.parametrize("value", HUGE)
def test_huge_typed_query_value_is_422_naming_the_field(client, everyone, value):
    headers = {"Authorization": f"Bearer {api_token(client, 'alla')}"}
    response = client.get(f"/api/v1/reserve/items?incident_id={value}", headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "incident_id"


def test_id_beyond_postgresqls_integer_in_a_typed_query_is_refused(client, everyone):
    headers = {"Authorization": f"Bearer {api_token(client, 'alla')}"}
    response = client.get(f"/api/v1/reserve/items?incident_id={2**31}", headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "incident_id"


@pytest.mark.parametrize("value", HUGE)
def test_huge_id_in_a_json_body_is_422_naming_the_field(client, everyone, value):
    headers = {"Authorization": f"Bearer {api_token(client, 'alla')}"}
    body = {"patient_id": value, "unit_id": 1, "row_ids": [1]}
    response = client.post("/api/v1/prescriptions/copy", headers=headers, json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "patient_id"


@pytest.mark.parametrize("value", [str(n) for n in HUGE] + ["9" * 5000], ids=["2^63", "10^20", "5000 digits"])
def test_huge_integer_in_an_html_query_gets_a_swedish_message(client, everyone, value):
    login(client, "alla")
    response = client.get(f"/admin/atkomstlogg?user={value}")
    assert response.status_code == 422
    assert "talet är för stort" in response.get_data(as_text=True)


def test_huge_integer_in_a_form_gets_a_swedish_message_naming_the_field(client, everyone):
    login(client, "alla")
    page = client.get("/min-sida/meddelanden/nytt").get_data(as_text=True)
    response = client.post("/min-sida/meddelanden/nytt", data={
        "csrf_token": csrf_token_from(page), "recipient_user": str(10**20), "subject": "Hej", "body": "Text",
    })
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "recipient_user" in text and "talet är för stort" in text
