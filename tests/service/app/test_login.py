"""Login and logout through the real form: hashing, CSRF, rate limiting, cookies."""
from __future__ import annotations

from datetime import datetime, timedelta

from freezegun import freeze_time

from core.auth.roles import Role
from tests import factories
from tests.conftest import csrf_token_from, login

MORNING = datetime(2026, 11, 2, 8, 0)


def test_login_page_never_lets_the_browser_store_the_password(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'name="password"' in html
    password_input = html[html.index('name="password"') - 200: html.index('name="password"') + 200]
    assert 'autocomplete="off"' in password_input
    assert 'name="csrf_token"' in html


def test_correct_password_logs_in_and_stores_only_a_hash(client, ctx):
    account = factories.user("karin", roles=(Role.PRESCRIBER,))
    assert factories.PASSWORD not in account.password_hash
    response = login(client, "karin")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Min sida" in client.get("/").get_data(as_text=True)


def test_wrong_password_and_unknown_user_get_the_same_message(client):
    factories.user("karin")
    wrong = login(client, "karin", "not the password")
    unknown = login(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Fel användarnamn eller lösenord." in wrong.get_data(as_text=True)
    assert "Fel användarnamn eller lösenord." in unknown.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still not logged in


def test_post_without_csrf_token_is_refused(client):
    factories.user("karin")
    response = client.post("/login", data={"username": "karin", "password": factories.PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_five_failures_lock_that_user_from_that_address_for_fifteen_minutes(client):
    factories.user("karin")
    with freeze_time(MORNING) as clock:
        for _ in range(5):
            assert login(client, "karin", "wrong").status_code == 401
        throttled = login(client, "karin")  # even the right password waits
        assert throttled.status_code == 429
        assert "För många misslyckade inloggningar" in throttled.get_data(as_text=True)

        other_address = client.application.test_client()
        other_address.environ_base["REMOTE_ADDR"] = "10.0.0.9"
        assert login(other_address, "karin").status_code == 302

        clock.tick(timedelta(minutes=15, seconds=1))
        assert login(client, "karin").status_code == 302


def test_session_cookie_is_httponly_and_samesite(client):
    factories.user("karin")
    response = login(client, "karin")
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("fp_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_inactive_user_cannot_log_in(client):
    factories.user("gone", active=False)
    assert login(client, "gone").status_code == 401


def test_logout_needs_post_with_csrf_and_ends_the_session(client):
    factories.user("karin")
    login(client, "karin")
    assert client.get("/logout").status_code == 405
    start = client.get("/").get_data(as_text=True)
    assert client.post("/logout").status_code == 400  # no CSRF token
    response = client.post("/logout", data={"csrf_token": csrf_token_from(start)})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_login_never_redirects_to_another_site(client):
    factories.user("karin")
    page = client.get("/login?next=//evil.example/steal")
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post("/login?next=//evil.example/steal",
                           data={"username": "karin", "password": factories.PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_login_redirects_back_to_the_page_asked_for(client):
    factories.user("karin")
    assert client.get("/min-sida/").headers["Location"].startswith("/login?next=")
    page = client.get("/login?next=/min-sida/")
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post("/login?next=/min-sida/",
                           data={"username": "karin", "password": factories.PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/min-sida/"


def test_password_policy_for_real_accounts():
    from core.auth.passwords import password_policy_problems

    assert password_policy_problems("demo") != []
    assert password_policy_problems("karinkarin1234", username="karin") == ["får inte innehålla användarnamnet"]
    assert password_policy_problems("lång-fras-med-42-tecken") == []
