"""The JSON API: bearer tokens, 401/403 JSON, and bad input named by field."""
from __future__ import annotations

from datetime import datetime, timedelta

from freezegun import freeze_time

from core.auth.roles import Role
from tests import factories
from tests.conftest import api_token, login

NOON = datetime(2026, 11, 2, 12, 0)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_token_then_me_returns_roles_and_authorities(client):
    unit = factories.unit(payer_areas=("inkontinens",))
    factories.user("karin", roles=(Role.PRESCRIBER,), areas=("inkontinens", "stomi"), units=(unit,))
    token = api_token(client, "karin")
    body = client.get("/api/v1/me", headers=bearer(token)).get_json()
    assert body["roles"] == ["prescriber"]
    assert body["product_areas"] == ["inkontinens", "stomi"]
    assert body["unit_customer_numbers"] == [unit.customer_number]


def test_wrong_password_gives_401_json_naming_the_field(client):
    factories.user("karin")
    response = client.post("/api/v1/tokens", json={"username": "karin", "password": "nope"})
    assert response.status_code == 401
    assert response.get_json()["error"]["field"] == "password"


def test_missing_or_bad_token_is_401_json(client):
    assert client.get("/api/v1/me").status_code == 401
    response = client.get("/api/v1/me", headers=bearer("made-up"))
    assert response.status_code == 401
    assert response.is_json and response.get_json()["error"]["status"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_expires_after_its_lifetime(client):
    factories.user("karin")
    with freeze_time(NOON) as clock:
        token = api_token(client, "karin")
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
        clock.tick(timedelta(hours=12, seconds=1))
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_browser_session_cookie_does_not_authenticate_the_api(client):
    factories.user("karin")
    login(client, "karin")
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_wrong_role_is_403_json(client):
    factories.user("karin", roles=(Role.PRESCRIBER,))
    token = api_token(client, "karin")
    response = client.get("/api/v1/access-log", headers=bearer(token))
    assert response.status_code == 403
    assert response.get_json()["error"]["status"] == 403


def test_unknown_field_is_422_naming_it(client):
    response = client.post("/api/v1/tokens", json={"username": "a", "password": "b", "admin": True})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "admin"


def test_wrong_type_is_422_naming_the_field(client):
    response = client.post("/api/v1/tokens", json={"username": 12, "password": "b"})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "username"


def test_over_long_string_is_422_naming_the_field(client):
    response = client.post("/api/v1/tokens", json={"username": "x" * 65, "password": "b"})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "username"


def test_malformed_json_is_400(client):
    response = client.post("/api/v1/tokens", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "body"


def test_json_array_instead_of_object_is_422(client):
    response = client.post("/api/v1/tokens", json=["karin"])
    assert response.status_code == 422


def test_non_json_content_type_is_415(client):
    response = client.post("/api/v1/tokens", data={"username": "a", "password": "b"})
    assert response.status_code == 415


def test_body_over_one_megabyte_is_413_json_and_nothing_is_stored(client, ctx):
    from sqlalchemy import func, select

    from core.extensions import db
    from core.models import LoginFailure

    big = '{"username": "karin", "password": "' + "x" * (1024 * 1024) + '"}'
    response = client.post("/api/v1/tokens", data=big, content_type="application/json")
    assert response.status_code == 413
    assert response.is_json
    assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 0


def test_ten_megabyte_form_post_is_413(client):
    response = client.post("/login", data={"username": "k", "password": "x" * (10 * 1024 * 1024)})
    assert response.status_code == 413
    assert "för stort" in response.get_data(as_text=True)
