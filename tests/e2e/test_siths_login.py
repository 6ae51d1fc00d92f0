"""SITHS login through the real demo provider process: the whole flow, and every refusal leaves no session.

The product is the Flask test client on the real store; the provider is oidc-provider-mock on loopback,
reached over HTTP for discovery, authorization, token, JWKS and end-session.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from freezegun import freeze_time
from sqlalchemy import func, select

from app.demo import idp
from core.auth import oidc
from core.auth.login_audit import LoginEvent
from core.extensions import db
from core.models import User
from tests import factories
from tests.conftest import csrf_token_from, login
from tests.e2e.siths_provider import forging_proxy, provider_process

HSA_ID = "SE2321000255-T0S1"


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with provider_process(tmp_path_factory.mktemp("idp")) as url:
        yield url


def _configure(app: Flask, issuer: str) -> None:
    app.config.update(idp.environment(0) | {"OIDC_ISSUER": issuer})
    oidc.register_client(app)


@pytest.fixture
def siths(app: Flask, issuer: str) -> Iterator[str]:
    """Point the app's SITHS login at the provider for one test; yield the issuer."""
    _configure(app, issuer)
    yield issuer
    app.extensions["siths_oauth"] = None


@pytest.fixture
def nurse(app: Flask) -> User:
    return factories.user("nurse", hsa_id=HSA_ID, name="Test Sjuksköterska")


def _sub(hsa_id: str) -> str:
    return next(person["sub"] for person in idp.demo_people() if person[idp.HSA_ID_CLAIM] == hsa_id)


def _authorize(client: FlaskClient) -> str:
    """Click "Logga in med SITHS": return the provider's authorization URL the product redirects to."""
    response = client.get("/login/siths")
    assert response.status_code == 302
    return response.headers["Location"]


def _pick(authorize_url: str, sub: str) -> str:
    """Pick a person on the provider's page; return the callback path with code and state."""
    answer = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    parts = urlsplit(answer.headers["Location"])
    return f"{parts.path}?{parts.query}"


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()} | changes
    return urlunsplit(parts._replace(query=urlencode(query)))


def _add_person(issuer: str, hsa_id: str) -> str:
    """Give the provider a person with this HSA-id (its PUT /users/<sub>); return the sub."""
    sub = f"test-{hsa_id}"
    assert requests.put(f"{issuer}/users/{sub}", json={idp.HSA_ID_CLAIM: hsa_id}, timeout=5).ok
    return sub


def _logged_in(client: FlaskClient) -> bool:
    with client.session_transaction() as session:
        return "_user_id" in session


VERIFY_FAILED = "Inloggningen med SITHS kunde inte verifieras"


def _refused_to_login_page(client: FlaskClient, response, reason: str, caplog: pytest.LogCaptureFixture,  # noqa: ANN001
                           message: str = VERIFY_FAILED) -> None:
    """The refusal is for `reason` (logged by class name, nothing personal), shown in Swedish, no session."""
    assert f"SITHS login refused: {reason}" in caplog.messages
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert not _logged_in(client)
    assert message in client.get("/login").get_data(as_text=True)


def _login_events(user: User) -> list[str]:
    return list(db.session.scalars(select(LoginEvent.method).where(LoginEvent.user_id == user.id)))


def test_the_login_page_offers_siths_when_a_provider_is_configured(app, client, siths):
    page = client.get("/login").get_data(as_text=True)
    assert "Logga in med SITHS" in page and 'href="/login/siths"' in page


def test_the_login_page_has_no_siths_button_without_a_provider(app, client):
    assert "Logga in med SITHS" not in client.get("/login").get_data(as_text=True)


def test_siths_login_maps_the_hsa_id_to_the_local_user_and_is_audited(app, client, siths, nurse):
    authorize_url = _authorize(client)
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0] and query["scope"] == ["openid"]
    response = client.get(_pick(authorize_url, _add_person(siths, HSA_ID)))
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert _logged_in(client)
    assert "Test Sjuksköterska" in client.get("/").get_data(as_text=True)
    with app.app_context():
        assert _login_events(nurse) == ["siths"]


def test_password_login_is_audited_as_password(app, client, nurse):
    assert login(client, "nurse").status_code == 302
    with app.app_context():
        assert _login_events(nurse) == ["password"]
        assert LoginEvent(method="password").method_label == "lösenord"


def test_a_forged_state_is_refused(app, client, siths, nurse, caplog):
    callback = _pick(_authorize(client), _add_person(siths, HSA_ID))
    response = client.get(_with_query(callback, state="forged-state"))
    _refused_to_login_page(client, response, "MismatchingStateError", caplog)


def test_a_replayed_code_is_refused(app, client, siths, nurse, caplog):
    sub = _add_person(siths, HSA_ID)
    first = _pick(_authorize(client), sub)
    assert client.get(first).status_code == 302 and _logged_in(client)
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})
    assert not _logged_in(client)
    # A fresh, valid state from a new attempt, with the code the provider already redeemed.
    fresh_state = parse_qs(urlsplit(_authorize(client)).query)["state"][0]
    old_code = parse_qs(urlsplit(first).query)["code"][0]
    response = client.get(f"/login/siths/callback?code={old_code}&state={fresh_state}")
    _refused_to_login_page(client, response, "OAuthError", caplog)


def test_an_id_token_with_another_nonce_is_refused(app, client, siths, nurse, caplog):
    # The provider is asked for a token bound to a nonce this session never made.
    authorize_url = _with_query(_authorize(client), nonce="someone-elses-nonce")
    response = client.get(_pick(authorize_url, _add_person(siths, HSA_ID)))
    _refused_to_login_page(client, response, "InvalidClaimError", caplog)


def test_an_expired_id_token_is_refused(app, client, siths, nurse, caplog, monkeypatch):
    # The session holding the login's state must outlive the token, or the state is what fails.
    monkeypatch.setitem(app.config, "SESSION_IDLE_TIMEOUT_MINUTES", 120)
    callback = _pick(_authorize(client), _add_person(siths, HSA_ID))
    # The demo provider's tokens live an hour; Authlib allows two minutes of clock skew.
    with freeze_time(timedelta(hours=1, minutes=5), tick=True):
        response = client.get(callback)
        _refused_to_login_page(client, response, "ExpiredTokenError", caplog)


def test_an_id_token_signed_by_another_key_is_refused(app, client, siths, nurse, caplog):
    sub = _add_person(siths, HSA_ID)
    with forging_proxy(siths) as proxy:
        _configure(app, proxy)
        response = client.get(_pick(_authorize(client), sub))
    _refused_to_login_page(client, response, "BadSignatureError", caplog)


def test_an_unknown_hsa_id_gets_the_access_application_and_nothing_is_created(app, client, siths):
    with app.app_context():
        users_before = db.session.scalar(select(func.count()).select_from(User))
    response = client.get(_pick(_authorize(client), _sub(idp.NO_ACCOUNT[0])))
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "inget konto" in page and 'href="/behorighet"' in page
    assert not _logged_in(client)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == users_before
        assert db.session.scalar(select(func.count()).select_from(LoginEvent)) == 0


def test_a_terminated_user_is_refused_like_an_unknown_one(app, client, siths):
    factories.user("gone", hsa_id=HSA_ID, active=False)
    response = client.get(_pick(_authorize(client), _add_person(siths, HSA_ID)))
    assert response.status_code == 403 and "inget konto" in response.get_data(as_text=True)
    assert not _logged_in(client)


def test_logout_after_siths_ends_the_provider_session_too(app, client, siths, nurse):
    assert client.get(_pick(_authorize(client), _add_person(siths, HSA_ID))).status_code == 302
    response = client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})
    assert not _logged_in(client)
    location = urlsplit(response.headers["Location"])
    assert response.status_code == 302 and f"{location.scheme}://{location.netloc}" == siths
    query = parse_qs(location.query)
    assert query["post_logout_redirect_uri"] == [app.config["APP_BASE_URL"] + "/login"]
    assert query["id_token_hint"][0].count(".") == 2
    # The provider's end-session page answers, and after confirming sends the browser back to the login page.
    assert requests.get(response.headers["Location"], timeout=5).ok


def test_logout_after_a_password_login_stays_local(app, client, siths, nurse):
    login(client, "nurse")
    response = client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})
    assert response.headers["Location"] == "/login"


def test_the_demo_provider_knows_every_demo_user_by_hsa_id():
    from app.demo.reference import DEMO_USERS

    known = {person[idp.HSA_ID_CLAIM] for person in idp.demo_people()}
    assert {user.hsa_id for user in DEMO_USERS} < known
    assert idp.NO_ACCOUNT[0] in known


@pytest.fixture
def no_password_login(app: Flask) -> Iterator[None]:
    app.config["PASSWORD_LOGIN_ENABLED"] = False
    yield
    app.config["PASSWORD_LOGIN_ENABLED"] = True


def test_password_login_off_hides_the_form_and_refuses_the_post(app, client, siths, nurse, no_password_login):
    page = client.get("/login").get_data(as_text=True)
    assert "Logga in med SITHS" in page and 'name="password"' not in page
    token = csrf_token_from(client.get("/glomt-losenord").get_data(as_text=True))  # a valid token from another form
    response = client.post("/login", data={"username": "nurse", "password": factories.PASSWORD, "csrf_token": token})
    assert response.status_code == 403 and not _logged_in(client)


def test_password_login_off_gives_api_tokens_by_password_only_to_service_accounts(app, client, nurse,
                                                                                 no_password_login):
    factories.user("integration", service_account=True)
    refused = client.post("/api/v1/tokens", json={"username": "nurse", "password": factories.PASSWORD})
    assert refused.status_code == 403 and refused.get_json()["error"]["field"] == "username"
    given = client.post("/api/v1/tokens", json={"username": "integration", "password": factories.PASSWORD})
    assert given.status_code == 201 and given.get_json()["token"]


def test_a_siths_session_gets_an_api_token_without_a_password(app, client, siths, nurse, no_password_login):
    assert client.post("/api/v1/tokens").status_code == 415  # no session yet: the JSON body is required
    client.get(_pick(_authorize(client), _add_person(siths, HSA_ID)))
    response = client.post("/api/v1/tokens")
    assert response.status_code == 201
    token = response.get_json()["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.get_json()["username"] == "nurse"
